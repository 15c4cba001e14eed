/**
 * Reading Kafka's protocol primitives from one request frame (big-endian throughout):
 *
 *   int8 int16 int32 int64     fixed width, signed
 *   boolean                    int8, 0 false, anything else true
 *   string                     int16 length N >= 0, then N bytes of UTF-8 (malformed UTF-8 does not parse)
 *   nullable string            as string, length -1 for null
 *   bytes / nullable bytes     int32 length N (-1 null), then N bytes
 *   array / nullable array     int32 count N (-1 null), then N items
 *   unsigned varint            LEB128, at most 5 bytes (a uint32)
 *   compact string / bytes     unsigned varint N+1 (0 for null), then N bytes (flexible versions)
 *   compact array              unsigned varint N+1 (0 for null), then N items
 *   tagged fields              unsigned varint count, then per field: varint tag, varint size, size bytes
 *
 * Anything that does not fit (a length past the frame's end, a negative length where null is not
 * allowed, an int64 outside the safe-integer range, a varint longer than 5 bytes) is a
 * KafkaDecodeError, and nothing else is thrown: the listener answers it by closing the connection,
 * as a Kafka broker does with a request it cannot parse. An array's count is checked against the
 * bytes left before anything is allocated, so a hostile count cannot make the node allocate.
 * What a request may cost to read is bounded too: array items and tagged fields, all arrays
 * together, to KAFKA_REQUEST_ITEMS_MAX, and bytes of strings to KAFKA_REQUEST_STRING_BYTES_MAX.
 */

import { LIMITS } from '../../wire/protocol.js';

/** A request frame that does not parse. */
export class KafkaDecodeError extends Error {
  override readonly name = 'KafkaDecodeError';
}

/** Every item of every array we read takes at least this many bytes, so a count above the bytes left is a lie. */
const ARRAY_ITEM_BYTES_MIN = 1;
/**
 * Array items and tagged fields one request may hold, all together. Without it, a Metadata
 * request of 60 MB naming 30 million empty topic names was read, and answered topic by topic,
 * for 38 s of one stalled event loop. The largest requests the node serves stay well inside: a
 * fetch or a produce of 10,000 partitions (the native protocol's fetchPartitionsMax and
 * produceBatchesMax) is at most 20,000 items.
 */
export const KAFKA_REQUEST_ITEMS_MAX = 100_000;
/** Bytes of strings one request may hold (UTF-8 decoding costs about 3.5 ms a MiB): the native protocol's frameStringBytesMax. */
export const KAFKA_REQUEST_STRING_BYTES_MAX = LIMITS.frameStringBytesMax;
/** An unsigned varint of a uint32 takes at most 5 bytes. */
const UVARINT_BYTES_MAX = 5;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class KafkaReader {
  private at: number;
  /** What has been read of the request's budgets. */
  private itemsRead = 0;
  private stringBytesRead = 0;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.at = start;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.end - this.at;
  }

  get position(): number {
    return this.at;
  }

  private need(n: number, what: string): number {
    if (n > this.end - this.at) throw new KafkaDecodeError(`${what}: needs ${n} bytes at ${this.at}, the frame has ${this.end - this.at} left`);
    const at = this.at;
    this.at += n;
    return at;
  }

  int8(what = 'int8'): number {
    return this.buf.readInt8(this.need(1, what));
  }

  int16(what = 'int16'): number {
    return this.buf.readInt16BE(this.need(2, what));
  }

  int32(what = 'int32'): number {
    return this.buf.readInt32BE(this.need(4, what));
  }

  /** An int64 as a number; outside the safe-integer range it is a decode error (offsets, ids and timestamps all fit). */
  int64(what = 'int64'): number {
    const v = this.buf.readBigInt64BE(this.need(8, what));
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new KafkaDecodeError(`${what}: ${v} is outside the range this node handles (±2^53)`);
    return Number(v);
  }

  bool(what = 'boolean'): boolean {
    return this.int8(what) !== 0;
  }

  string(what = 'string'): string {
    const s = this.nullableString(what);
    if (s === null) throw new KafkaDecodeError(`${what}: null where a string is required`);
    return s;
  }

  nullableString(what = 'string'): string | null {
    const n = this.int16(what);
    if (n === -1) return null;
    if (n < 0) throw new KafkaDecodeError(`${what}: length ${n}`);
    const at = this.need(n, what);
    return this.utf8(at, at + n, what);
  }

  private utf8(from: number, to: number, what: string): string {
    this.stringBytesRead += to - from;
    if (this.stringBytesRead > KAFKA_REQUEST_STRING_BYTES_MAX) throw new KafkaDecodeError(`${what}: the request holds more than ${KAFKA_REQUEST_STRING_BYTES_MAX} bytes of strings, the most one may`);
    try {
      return utf8.decode(this.buf.subarray(from, to));
    } catch {
      throw new KafkaDecodeError(`${what}: not UTF-8`);
    }
  }

  /** A view into the frame, not a copy. */
  bytes(what = 'bytes'): Buffer {
    const b = this.nullableBytes(what);
    if (b === null) throw new KafkaDecodeError(`${what}: null where bytes are required`);
    return b;
  }

  nullableBytes(what = 'bytes'): Buffer | null {
    const n = this.int32(what);
    if (n === -1) return null;
    if (n < 0) throw new KafkaDecodeError(`${what}: length ${n}`);
    const at = this.need(n, what);
    return this.buf.subarray(at, at + n);
  }

  array<T>(item: (r: KafkaReader) => T, what = 'array'): T[] {
    const a = this.nullableArray(item, what);
    if (a === null) throw new KafkaDecodeError(`${what}: null where an array is required`);
    return a;
  }

  nullableArray<T>(item: (r: KafkaReader) => T, what = 'array'): T[] | null {
    const n = this.int32(what);
    if (n === -1) return null;
    return this.items(n, item, what);
  }

  private items<T>(n: number, item: (r: KafkaReader) => T, what: string): T[] {
    if (n < 0) throw new KafkaDecodeError(`${what}: count ${n}`);
    if (n * ARRAY_ITEM_BYTES_MIN > this.remaining) throw new KafkaDecodeError(`${what}: count ${n} cannot fit in the ${this.remaining} bytes left`);
    this.spendItems(n, what);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this));
    return out;
  }

  private spendItems(n: number, what: string): void {
    this.itemsRead += n;
    if (this.itemsRead > KAFKA_REQUEST_ITEMS_MAX) throw new KafkaDecodeError(`${what}: the request holds more than ${KAFKA_REQUEST_ITEMS_MAX} array items and tagged fields, the most one may`);
  }

  uvarint(what = 'varint'): number {
    let v = 0;
    for (let i = 0; i < UVARINT_BYTES_MAX; i++) {
      const b = this.buf[this.need(1, what)]!;
      v += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (v > 0xffffffff) throw new KafkaDecodeError(`${what}: ${v} does not fit in 32 bits`);
        return v;
      }
    }
    throw new KafkaDecodeError(`${what}: an unsigned varint longer than ${UVARINT_BYTES_MAX} bytes`);
  }

  compactString(what = 'compact string'): string {
    const s = this.compactNullableString(what);
    if (s === null) throw new KafkaDecodeError(`${what}: null where a string is required`);
    return s;
  }

  compactNullableString(what = 'compact string'): string | null {
    const n = this.uvarint(what);
    if (n === 0) return null;
    const at = this.need(n - 1, what);
    return this.utf8(at, at + n - 1, what);
  }

  /** A view into the frame, not a copy. */
  compactBytes(what = 'compact bytes'): Buffer {
    const n = this.uvarint(what);
    if (n === 0) throw new KafkaDecodeError(`${what}: null where bytes are required`);
    const at = this.need(n - 1, what);
    return this.buf.subarray(at, at + n - 1);
  }

  compactArray<T>(item: (r: KafkaReader) => T, what = 'compact array'): T[] {
    const n = this.uvarint(what);
    if (n === 0) throw new KafkaDecodeError(`${what}: null where an array is required`);
    return this.items(n - 1, item, what);
  }

  /** Skips a tagged-field section (this node knows no tags). */
  taggedFields(what = 'tagged fields'): void {
    const n = this.uvarint(what);
    this.spendItems(n, what);
    for (let i = 0; i < n; i++) {
      this.uvarint(`${what}: tag`);
      this.need(this.uvarint(`${what}: size`), `${what}: value`);
    }
  }
}
