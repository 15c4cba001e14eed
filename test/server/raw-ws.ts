/** A WebSocket client by hand over a raw socket, for tests that must send what `ws` would not: partial frames, lies about lengths, no pongs. */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

export class RawWs {
  readonly frames: ServerFrame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private upgraded = false;
  private readonly closedP: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    this.closedP = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      if (!this.upgraded) return;
      this.parse();
    });
  }

  /** Connects and upgrades to a WebSocket on `path`. */
  static async open(port: number, path: string): Promise<RawWs> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawWs(socket);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    for (let i = 0; i < 200; i++) {
      const end = c.buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = c.buf.subarray(0, end).toString('latin1');
        if (!head.startsWith('HTTP/1.1 101')) throw new Error(`no upgrade: ${head.split('\r\n')[0]}`);
        c.buf = c.buf.subarray(end + 4);
        c.upgraded = true;
        c.parse();
        return c;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no answer to the upgrade');
  }

  /** The header of a masked binary frame (FIN set unless `fin` is false) declaring `length` bytes, with an all-zero mask. */
  static header(length: number, fin = true, opcode = 0x2): Buffer {
    const h = Buffer.alloc(14);
    h[0] = (fin ? 0x80 : 0) | opcode;
    h[1] = 0x80 | 127;
    h.writeBigUInt64BE(BigInt(length), 2);
    return h;
  }

  /** A whole masked binary frame (zero mask) of `payload`. */
  static frame(payload: Buffer, fin = true, opcode = 0x2): Buffer {
    return Buffer.concat([RawWs.header(payload.length, fin, opcode), payload]);
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  /** Resolves once the node has closed the connection, or rejects after `ms`. */
  async whenClosed(ms = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closedP, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the connection was still open after ${ms} ms`)), ms)))]);
    clearTimeout(timer);
  }

  /** The close code the node sent, if it sent a close frame. */
  closeCode(): number | null {
    const f = this.frames.find((x) => x.opcode === 0x8);
    return f !== undefined && f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Server frames are not masked. */
  private parse(): void {
    for (;;) {
      if (this.buf.length < 2) return;
      const len7 = this.buf[1]! & 0x7f;
      const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      if (this.buf.length < 2 + ext) return;
      const len = len7 === 126 ? this.buf.readUInt16BE(2) : len7 === 127 ? Number(this.buf.readBigUInt64BE(2)) : len7;
      if (this.buf.length < 2 + ext + len) return;
      this.frames.push({ opcode: this.buf[0]! & 0x0f, payload: this.buf.subarray(2 + ext, 2 + ext + len) });
      this.buf = this.buf.subarray(2 + ext + len);
    }
  }
}
