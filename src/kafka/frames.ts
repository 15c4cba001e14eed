/**
 * Kafka's framing on a TCP connection: each request and each response is an int32 size N, then N
 * bytes. The size is checked as soon as its four bytes arrive, before any of the frame is kept:
 * one over KAFKA_REQUEST_BYTES_MAX (or too small to hold a request header) ends the connection,
 * as Kafka's socket.request.max.bytes does.
 */

/** The largest request accepted (Kafka's socket.request.max.bytes is 100 MiB; the node's own client frames stop at 64 MiB). */
export const KAFKA_REQUEST_BYTES_MAX = 64 * 1024 * 1024;
/** The smallest request: api_key int16, api_version int16, correlation_id int32, client_id length int16. */
export const KAFKA_REQUEST_BYTES_MIN = 10;
const SIZE_BYTES = 4;

export class FrameSizeError extends Error {
  override readonly name = 'FrameSizeError';
}

/** Cuts a byte stream into frames. */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The size of the frame being read, once its size field is in. */
  private size = -1;

  /** The frames completed by `chunk`, in order; throws FrameSizeError for a size out of bounds. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.size === -1) {
        if (this.buffered < SIZE_BYTES) return frames;
        const size = this.take(SIZE_BYTES).readInt32BE(0);
        if (size > KAFKA_REQUEST_BYTES_MAX) throw new FrameSizeError(`a request of ${size} bytes is over the limit of ${KAFKA_REQUEST_BYTES_MAX}`);
        if (size < KAFKA_REQUEST_BYTES_MIN) throw new FrameSizeError(`a request of ${size} bytes cannot hold a request header`);
        this.size = size;
      }
      if (this.buffered < this.size) return frames;
      frames.push(this.take(this.size));
      this.size = -1;
    }
  }

  /** Bytes held for a frame not complete yet. */
  get pending(): number {
    return this.buffered;
  }

  /** The next `n` buffered bytes (n <= buffered), copied only when they span chunks. */
  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}
