/** Crafted Kafka requests over a raw TCP connection, for tests of the listener. */
import net from 'node:net';
import { KafkaWriter } from '../../src/kafka/codec/writer.js';

/** A request frame: size, header v1 (v2 when `flexible`), body. */
export function request(key: number, version: number, correlationId: number, body: (w: KafkaWriter) => void = () => undefined, flexible = false): Buffer {
  const w = new KafkaWriter().int16(key).int16(version).int32(correlationId).nullableString('test-client');
  if (flexible) w.taggedFields();
  body(w);
  const b = w.toBuffer();
  const size = Buffer.alloc(4);
  size.writeInt32BE(b.length);
  return Buffer.concat([size, b]);
}

/** A raw connection to the listener that collects response frames (size removed). */
export class RawClient {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private wake: (() => void) | null = null;
  closed = false;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const n = this.buf.readInt32BE(0);
        this.frames.push(this.buf.subarray(4, 4 + n));
        this.buf = this.buf.subarray(4 + n);
      }
      this.wake?.();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    this.socket.on('error', () => undefined);
  }

  send(b: Buffer): void {
    this.socket.write(b);
  }

  /** The next response frame, or null once the connection is closed with none left. */
  async next(timeoutMs = 5000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0 && !this.closed) {
      if (Date.now() > deadline) throw new Error('no response in time');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.frames.shift() ?? null;
  }

  close(): void {
    this.socket.destroy();
  }
}

