/**
 * What a hostile client does to a node, by hand on raw sockets, shared by the junk-frame benchmark
 * (scripts/bench/junk.ts) and the hostile chaos nemesis (chaos/hostile.ts): TCP connections,
 * WebSocket upgrades and frames written byte by byte (so that a frame may lie about its length,
 * stop halfway, or never be read back), and floods of junk frames.
 *
 * Junk floods (`flood`), each a connection sending one junk frame after another as fast as the
 * node reads them, reconnecting whenever the node closes it:
 *
 * - client-random:  /client, random bytes under a random WebSocket mask (what a browser sends; one mask per flood)
 * - client-msgpack: /client, a msgpack array32 of zeros (tens of millions of values to decode)
 * - peer-random:    /raft before any handshake, random bytes
 * - peer-msgpack:   /raft before any handshake, the msgpack array
 * - kafka-metadata: the Kafka listener, a Metadata v0 request naming millions of empty topic names
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { sleep } from './cluster.js';

export const JUNK_FLOODS = ['client-random', 'client-msgpack', 'peer-random', 'peer-msgpack', 'kafka-metadata'] as const;
export type JunkFlood = (typeof JUNK_FLOODS)[number];

/** One junk frame of each kind, `n` bytes each. */
export interface Junk {
  readonly random: Buffer;
  readonly msgpack: Buffer;
  readonly kafka: Buffer;
}

export function junkFrames(n: number): Junk {
  const random = randomBytes(n);
  // 0xdd: array32, then its count, then that many 0x00 (positive fixint zero).
  const msgpack = Buffer.alloc(n);
  msgpack[0] = 0xdd;
  msgpack.writeUInt32BE(n - 5, 1);
  // Kafka: int32 size, api_key 3 (Metadata), version 0, correlation id, client id null, then
  // an array of int16-length strings, each empty.
  const kafka = Buffer.alloc(4 + n);
  const body = n;
  kafka.writeInt32BE(body, 0);
  kafka.writeInt16BE(3, 4);
  kafka.writeInt16BE(0, 6);
  kafka.writeInt32BE(1, 8);
  kafka.writeInt16BE(-1, 12);
  const topics = Math.floor((body - 14) / 2);
  kafka.writeInt32BE(topics, 14);
  return { random, msgpack, kafka };
}

/**
 * A junk payload as one masked WebSocket frame, masked once and sent again and again: masking
 * 60 MB byte by byte takes the attacker a second or more, which would be a second less of attack.
 */
function maskedJunk(junk: Junk, kind: 'random' | 'msgpack'): Buffer[] {
  let frames = maskedFrames.get(junk);
  if (frames === undefined) maskedFrames.set(junk, (frames = {}));
  return (frames[kind] ??= wsFrame(junk[kind]));
}
const maskedFrames = new WeakMap<Junk, { random?: Buffer[]; msgpack?: Buffer[] }>();

/** What one flood connection's life came to. */
export interface FloodCounts {
  /** Junk frames begun (the node may have closed the connection before the rest was written). */
  frames: number;
  connections: number;
  /** Connections the node ended (the rest were still open when the flood stopped). */
  closedByNode: number;
}

/** One attacking connection: sends junk frames until `stop` (a Date.now() time), reconnecting whenever the node closes it. */
export async function flood(attack: JunkFlood, address: string, junk: Junk, stop: number, counts: FloodCounts): Promise<void> {
  while (Date.now() < stop) {
    const socket = await connect(address).catch(() => null);
    if (socket === null) {
      await sleep(50);
      continue;
    }
    counts.connections++;
    let ours = false;
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        if (!ours) counts.closedByNode++;
        resolve();
      }),
    );
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    try {
      let frame: Buffer[];
      if (attack === 'kafka-metadata') {
        frame = [junk.kafka];
      } else {
        await upgrade(socket, address, attack.startsWith('peer') ? '/raft' : '/client');
        frame = maskedJunk(junk, attack.endsWith('random') ? 'random' : 'msgpack');
      }
      while (Date.now() < stop && !socket.destroyed) {
        counts.frames++;
        if (!(await writeAll(socket, frame))) break;
      }
    } catch {
      // closed by the node mid-handshake or mid-frame: connect again
    }
    if (!socket.destroyed) ours = true;
    socket.destroy();
    await closed;
  }
}

export function connect(address: string): Promise<net.Socket> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(address.slice(i + 1)), address.slice(0, i), () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * The HTTP upgrade to a WebSocket, by hand; resolves with the bytes that came after the
 * response's head (the server's first frames, if it sent any at once).
 */
export function upgrade(socket: net.Socket, address: string, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const status = head.subarray(0, end).toString('latin1');
      if (!status.startsWith('HTTP/1.1 101')) reject(new Error(status.split('\r\n')[0]));
      else resolve(head.subarray(end + 4));
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed during the upgrade')));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}

/** The header of a masked binary WebSocket frame declaring `length` bytes, and its (non-zero) mask. */
export function wsHeader(length: number): { header: Buffer; mask: Buffer } {
  const header = Buffer.alloc(14);
  header[0] = 0x82;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  const mask = randomBytes(4);
  mask[0] |= 1;
  mask.copy(header, 10);
  return { header, mask };
}

/** `payload` masked with `mask`, as RFC 6455 says a client must send it. */
export function masked(payload: Buffer, mask: Buffer): Buffer {
  const out = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** One binary WebSocket frame of `payload`, masked with a random (non-zero) key. */
export function wsFrame(payload: Buffer): Buffer[] {
  const { header, mask } = wsHeader(payload.length);
  return [header, masked(payload, mask)];
}

/** Writes the buffers; false when the socket closed first. */
export async function writeAll(socket: net.Socket, bufs: readonly Buffer[]): Promise<boolean> {
  for (const b of bufs) {
    const ok = await new Promise<boolean>((resolve) => {
      if (socket.destroyed) return resolve(false);
      const onClose = (): void => resolve(false);
      socket.once('close', onClose);
      socket.write(b, (err) => {
        socket.off('close', onClose);
        resolve(err === undefined || err === null);
      });
    });
    if (!ok) return false;
  }
  return true;
}

/** A frame from the server (server frames are not masked). */
export interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** Cuts the frames out of a server's bytes as they come; `feed` returns the whole frames so far. */
export class ServerFrames {
  private buf: Buffer = Buffer.alloc(0);

  feed(d: Buffer): ServerFrame[] {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    const out: ServerFrame[] = [];
    for (;;) {
      if (this.buf.length < 2) return out;
      const len7 = this.buf[1]! & 0x7f;
      const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      if (this.buf.length < 2 + ext) return out;
      const len = len7 === 126 ? this.buf.readUInt16BE(2) : len7 === 127 ? Number(this.buf.readBigUInt64BE(2)) : len7;
      if (this.buf.length < 2 + ext + len) return out;
      out.push({ opcode: this.buf[0]! & 0x0f, payload: this.buf.subarray(2 + ext, 2 + ext + len) });
      this.buf = this.buf.subarray(2 + ext + len);
    }
  }
}
