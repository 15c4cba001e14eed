/**
 * A man in the middle of peer connections, for tests of what an attacker on the TCP stream can do
 * after the handshake: a TCP proxy that passes the HTTP upgrade through, then reads the WebSocket
 * frames (RFC 6455 §5.2) of each direction and forwards them whole, one by one. A test may replace
 * what it forwards of each frame (alter, hold back, drop) and write frames of its own into either
 * direction, masked as a client's must be on the way to the acceptor (with the all-zero mask the
 * peers use themselves, src/wire/ws-options.ts).
 */
import net from 'node:net';

/** 'up': dialler to acceptor (masked frames); 'down': acceptor to dialler. */
export type Direction = 'up' | 'down';

export interface WsFrame {
  readonly fin: boolean;
  readonly opcode: number;
  /** Unmasked. */
  readonly payload: Buffer;
  /** The frame as it came, header included. */
  readonly raw: Buffer;
}

/** What to forward in place of a data frame that came: the raw frames returned (none to hold it back or drop it). */
export type Tamper = (dir: Direction, frame: WsFrame) => Buffer[];

/** A whole frame (FIN set) of `payload`, masked with zeros when it goes up, as the dialler's are. */
export function wsFrame(dir: Direction, payload: Buffer, opcode = 0x2): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const mask = dir === 'up' ? 4 : 0;
  const h = Buffer.alloc(2 + ext + mask);
  h[0] = 0x80 | opcode;
  h[1] = (mask > 0 ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) h.writeUInt16BE(len, 2);
  if (ext === 8) h.writeBigUInt64BE(BigInt(len), 2);
  return Buffer.concat([h, payload]);
}

/** One proxied connection. */
export class Link {
  /** The data frames forwarded so far (after any tampering, not those a test wrote), per direction. */
  readonly frames: Record<Direction, WsFrame[]> = { up: [], down: [] };
  closed = false;
  tamper: Tamper | null = null;

  constructor(
    private readonly sides: Record<Direction, net.Socket>,
  ) {}

  /** Writes raw bytes into `dir` (a frame built with wsFrame, or one seen before). */
  inject(dir: Direction, raw: Buffer): void {
    this.sides[dir].write(raw);
  }

  /** Called by the proxy for each whole frame from the side `dir` leaves. */
  forward(dir: Direction, f: WsFrame): void {
    const data = f.opcode < 0x8;
    const out = data && this.tamper !== null ? this.tamper(dir, f) : [f.raw];
    for (const raw of out) {
      if (data) this.frames[dir].push(parse(raw)[0]!);
      this.sides[dir].write(raw);
    }
  }
}

/** Whole frames at the start of `buf`, and the bytes left after them. */
function parse(buf: Buffer): [WsFrame | null, Buffer] {
  if (buf.length < 2) return [null, buf];
  const masked = (buf[1]! & 0x80) !== 0;
  const len7 = buf[1]! & 0x7f;
  const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const head = 2 + ext + (masked ? 4 : 0);
  if (buf.length < head) return [null, buf];
  const len = len7 === 126 ? buf.readUInt16BE(2) : len7 === 127 ? Number(buf.readBigUInt64BE(2)) : len7;
  if (buf.length < head + len) return [null, buf];
  const payload = Buffer.from(buf.subarray(head, head + len));
  if (masked) {
    const key = buf.subarray(2 + ext, 2 + ext + 4);
    for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
  }
  const raw = Buffer.from(buf.subarray(0, head + len));
  return [{ fin: (buf[0]! & 0x80) !== 0, opcode: buf[0]! & 0x0f, payload, raw }, buf.subarray(head + len)];
}

export class TamperProxy {
  readonly links: Link[] = [];
  /** Applied to every new link. */
  tamper: Tamper | null = null;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {}

  /** A proxy on a free port of 127.0.0.1 to the acceptor on `upstreamPort`. */
  static async start(upstreamPort: number): Promise<TamperProxy> {
    const server = net.createServer();
    const proxy = new TamperProxy(server);
    server.on('connection', (down) => proxy.connect(down, upstreamPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The newest link. */
  get last(): Link | undefined {
    return this.links.at(-1);
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  private connect(down: net.Socket, upstreamPort: number): void {
    const up = net.connect({ host: '127.0.0.1', port: upstreamPort });
    // sides[dir] is where frames going `dir` are written.
    const link = new Link({ up, down });
    link.tamper = this.tamper;
    this.links.push(link);
    for (const s of [up, down]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        link.closed = true;
        up.destroy();
        down.destroy();
      });
    }
    this.pump(down, 'up', link);
    this.pump(up, 'down', link);
  }

  /** Reads `from`, passing its HTTP head through, then its frames to `link` going `dir`. */
  private pump(from: net.Socket, dir: Direction, link: Link): void {
    let buf: Buffer = Buffer.alloc(0);
    let upgraded = false;
    from.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        link.inject(dir, buf.subarray(0, end + 4));
        buf = buf.subarray(end + 4);
        upgraded = true;
      }
      for (;;) {
        const [f, rest] = parse(buf);
        if (f === null) break;
        buf = rest;
        link.forward(dir, f);
      }
    });
  }
}
