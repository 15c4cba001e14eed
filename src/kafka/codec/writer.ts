/**
 * Writing Kafka's protocol primitives (the grammar is in reader.ts) into a response. Small fields
 * go into a growing scratch buffer; large byte strings (fetched record batches) are kept as
 * chunks of their own, so a fetch response is written to the socket without copying its batches.
 */

/** A byte string at least this long is kept as its own chunk instead of being copied. */
const CHUNK_BYTES_MIN = 4096;
const SCRATCH_BYTES_INITIAL = 256;

export class KafkaWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch = Buffer.allocUnsafe(SCRATCH_BYTES_INITIAL);
  private at = 0;
  /** Bytes in `chunks`. */
  private sealed = 0;

  /** Bytes written so far. */
  get size(): number {
    return this.sealed + this.at;
  }

  private room(n: number): number {
    if (this.at + n > this.scratch.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.at + n));
      this.scratch.copy(grown, 0, 0, this.at);
      this.scratch = grown;
    }
    const at = this.at;
    this.at += n;
    return at;
  }

  // Every write takes its position (room() may replace the scratch buffer) before it names the buffer.

  int8(v: number): this {
    const at = this.room(1);
    this.scratch.writeInt8(v, at);
    return this;
  }

  int16(v: number): this {
    const at = this.room(2);
    this.scratch.writeInt16BE(v, at);
    return this;
  }

  int32(v: number): this {
    const at = this.room(4);
    this.scratch.writeInt32BE(v, at);
    return this;
  }

  int64(v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`int64 ${v} is not a safe integer`);
    const at = this.room(8);
    this.scratch.writeBigInt64BE(BigInt(v), at);
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  string(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 0x7fff) throw new RangeError(`a string of ${n} bytes does not fit a Kafka string`);
    this.int16(n);
    const at = this.room(n);
    this.scratch.write(s, at, n, 'utf8');
    return this;
  }

  nullableString(s: string | null): this {
    return s === null ? this.int16(-1) : this.string(s);
  }

  bytes(b: Uint8Array): this {
    this.int32(b.byteLength);
    return this.raw(b);
  }

  nullableBytes(b: Uint8Array | null): this {
    return b === null ? this.int32(-1) : this.bytes(b);
  }

  /** Bytes with no length before them (a length written by the caller, as for concatenated batches). */
  raw(b: Uint8Array): this {
    if (b.byteLength >= CHUNK_BYTES_MIN) {
      this.seal();
      this.chunks.push(b);
      this.sealed += b.byteLength;
    } else {
      const at = this.room(b.byteLength);
      this.scratch.set(b, at);
    }
    return this;
  }

  array<T>(items: readonly T[], item: (w: KafkaWriter, v: T) => void): this {
    this.int32(items.length);
    for (const v of items) item(this, v);
    return this;
  }

  uvarint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`unsigned varint ${v} is not a uint32`);
    let x = v;
    while (x >= 0x80) {
      const at = this.room(1);
      this.scratch[at] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    const at = this.room(1);
    this.scratch[at] = x;
    return this;
  }

  compactString(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.uvarint(n + 1);
    const at = this.room(n);
    this.scratch.write(s, at, n, 'utf8');
    return this;
  }

  compactNullableString(s: string | null): this {
    return s === null ? this.uvarint(0) : this.compactString(s);
  }

  compactBytes(b: Uint8Array): this {
    this.uvarint(b.byteLength + 1);
    return this.raw(b);
  }

  compactArray<T>(items: readonly T[], item: (w: KafkaWriter, v: T) => void): this {
    this.uvarint(items.length + 1);
    for (const v of items) item(this, v);
    return this;
  }

  /** An empty tagged-field section. */
  taggedFields(): this {
    return this.uvarint(0);
  }

  private seal(): void {
    if (this.at === 0) return;
    this.chunks.push(this.scratch.subarray(0, this.at));
    this.sealed += this.at;
    this.scratch = Buffer.allocUnsafe(SCRATCH_BYTES_INITIAL);
    this.at = 0;
  }

  /** What was written, as chunks to write in order (the writer must not be used afterwards). */
  finish(): Uint8Array[] {
    this.seal();
    return this.chunks;
  }

  /** What was written, in one buffer (tests, small messages). */
  toBuffer(): Buffer {
    return Buffer.concat(this.finish());
  }
}
