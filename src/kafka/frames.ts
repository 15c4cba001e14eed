/**
 * Kafka's framing on a TCP connection: each request and each response is an int32 size N, then N
 * bytes. The size is checked as soon as its four bytes arrive, before any of the frame is kept:
 * one over KAFKA_REQUEST_BYTES_MAX (or too small to hold a request header) ends the connection,
 * as Kafka's socket.request.max.bytes does.
 *
 * A large frame is assembled as it arrives: once FRAME_ASSEMBLE_BYTES of it are in, its buffer is
 * allocated and each chunk is copied into it on arrival, instead of copying all of it in the turn
 * its last byte comes (60 MB in one go stalled the event loop for tens of milliseconds, more with
 * the collection of the chunks it freed). The threshold keeps what a declared size alone makes the
 * node allocate small: a connection that declares 64 MiB and sends nothing costs nothing more.
 */

/** The largest request accepted (Kafka's socket.request.max.bytes is 100 MiB; the node's own client frames stop at 64 MiB). */
export const KAFKA_REQUEST_BYTES_MAX = 64 * 1024 * 1024;
/** The smallest request: api_key int16, api_version int16, correlation_id int32, client_id length int16. */
export const KAFKA_REQUEST_BYTES_MIN = 10;
const SIZE_BYTES = 4;
/** Bytes of a frame in, past which the rest is copied into the frame's own buffer as it arrives. */
export const FRAME_ASSEMBLE_BYTES = 1024 * 1024;

export class FrameSizeError extends Error {
  override readonly name = 'FrameSizeError';
}

/** Cuts a byte stream into frames. */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The size of the frame being read, once its size field is in. */
  private size = -1;
  /** The frame being assembled (FRAME_ASSEMBLE_BYTES), and how much of it is in. */
  private frame: Buffer | null = null;
  private filled = 0;

  /** The largest frame taken from now on (KAFKA_REQUEST_BYTES_MAX; less before the connection has authenticated, src/server/sasl.ts PRE_AUTH_FRAME_BYTES_MAX). */
  bytesMax = KAFKA_REQUEST_BYTES_MAX;

  constructor(private readonly assembleBytes = FRAME_ASSEMBLE_BYTES) {}

  /** The frames completed by `chunk`, in order; throws FrameSizeError for a size out of bounds. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.size === -1) {
        if (this.buffered < SIZE_BYTES) return frames;
        const size = this.take(SIZE_BYTES).readInt32BE(0);
        if (size > this.bytesMax) throw new FrameSizeError(`a request of ${size} bytes is over the limit of ${this.bytesMax}`);
        if (size < KAFKA_REQUEST_BYTES_MIN) throw new FrameSizeError(`a request of ${size} bytes cannot hold a request header`);
        this.size = size;
      }
      if (this.frame === null) {
        if (this.buffered >= this.size) {
          frames.push(this.take(this.size));
          this.size = -1;
          continue;
        }
        if (this.buffered < this.assembleBytes) return frames;
        this.frame = Buffer.allocUnsafe(this.size);
        this.filled = 0;
      }
      const k = Math.min(this.buffered, this.size - this.filled);
      this.copyInto(this.frame, this.filled, k);
      this.filled += k;
      if (this.filled < this.size) return frames;
      frames.push(this.frame);
      this.frame = null;
      this.size = -1;
    }
  }

  /** Bytes of frames begun and not complete yet, size fields included (0: between frames). */
  get pending(): number {
    return this.buffered + (this.frame !== null ? this.filled : 0) + (this.size !== -1 ? SIZE_BYTES : 0);
  }

  /** The next `n` buffered bytes (n <= buffered), copied only when they span chunks. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    this.copyInto(out, 0, n);
    return out;
  }

  /** Moves the next `n` buffered bytes (n <= buffered) into `out` at `at`. */
  private copyInto(out: Buffer, at: number, n: number): void {
    const end = at + n;
    while (at < end) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, end - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
  }
}
