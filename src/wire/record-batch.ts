/**
 * Kafka RecordBatch v2 (magic 2): the unit of data from producer to disk to consumer. The bytes a
 * producer encodes are the bytes stored and the bytes fetched, so real Kafka clients can be served
 * them unchanged. Integers are big-endian.
 *
 * ```
 * offset  size  field
 *      0     8  baseOffset            int64   written by the leader; not covered by the CRC
 *      8     4  batchLength           int32   bytes after this field (the batch is 12 + batchLength bytes)
 *     12     4  partitionLeaderEpoch  int32   written by the leader; not covered by the CRC
 *     16     1  magic                 int8    = 2
 *     17     4  crc                   uint32  CRC-32C (Castagnoli) of bytes 21 .. end
 *     21     2  attributes            int16   bits 0-2 compression (0 none, 1 gzip, 2 snappy, 3 lz4,
 *                                             4 zstd), bit 3 timestamp type (1 = log append time),
 *                                             bit 4 transactional, bit 5 control batch
 *     23     4  lastOffsetDelta       int32   offset of the last record minus baseOffset
 *     27     8  baseTimestamp         int64   ms since the epoch; record timestamps are deltas from it
 *     35     8  maxTimestamp          int64
 *     43     8  producerId            int64   -1 when not idempotent
 *     51     2  producerEpoch         int16   -1 when not idempotent
 *     53     4  baseSequence          int32   -1 when not idempotent
 *     57     4  recordCount           int32
 *     61        records               recordCount records, gzip-compressed as one stream when
 *                                             attributes say so
 *
 * record (varint = zigzag LEB128 of an int32, varlong = of an int64):
 *   length varint (bytes after this field), attributes int8 (unused, 0), timestampDelta varlong,
 *   offsetDelta varint, keyLength varint (-1 = null), key, valueLength varint (-1 = null), value,
 *   headerCount varint, then per header: keyLength varint, key (UTF-8), valueLength varint
 *   (-1 = null), value
 * ```
 *
 * Numbers, not bigints: offsets, timestamps and producer ids are JS numbers. Decoding a value
 * outside the safe-integer range is a RecordBatchError (BAD_RECORD); encoding one is a RangeError.
 * Malformed input always gives a RecordBatchError. Decoded keys and values are views into the
 * input (or into the decompressed records), not copies.
 */

import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32c } from './crc32c.js';

export const BATCH_HEADER_BYTES = 61;
export const RECORD_BATCH_MAGIC = 2;

/** baseOffset and batchLength: the bytes that batchLength does not count. */
const LOG_OVERHEAD_BYTES = 12;
/** The smallest batchLength: the header after the batchLength field. */
const BATCH_LENGTH_MIN = BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES;
/** The smallest record: seven one-byte fields (length, attributes, three deltas/lengths, headerCount). */
const RECORD_BYTES_MIN = 7;
/** A gzip batch that inflates past this is refused rather than exhausting memory. */
export const DECOMPRESSED_BYTES_MAX = 128 * 1024 * 1024;

const INT32_MAX = 0x7fffffff;
const TWO_POW_32 = 0x1_0000_0000;

// Field positions within a batch.
const BATCH_LENGTH_AT = 8;
const LEADER_EPOCH_AT = 12;
const MAGIC_AT = 16;
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;
const LAST_OFFSET_DELTA_AT = 23;
const BASE_TIMESTAMP_AT = 27;
const MAX_TIMESTAMP_AT = 35;
const PRODUCER_ID_AT = 43;
const PRODUCER_EPOCH_AT = 51;
const BASE_SEQUENCE_AT = 53;
const RECORD_COUNT_AT = 57;

/** Bits of the batch attributes. */
export const BatchAttributes = {
  CompressionMask: 0x07,
  LogAppendTime: 0x08,
  Transactional: 0x10,
  Control: 0x20,
} as const;

export const CompressionCodec = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;
const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export const RecordBatchErrorCode = {
  Truncated: 'TRUNCATED',
  BadLength: 'BAD_LENGTH',
  BadMagic: 'BAD_MAGIC',
  BadCrc: 'BAD_CRC',
  BadRecord: 'BAD_RECORD',
  Unsupported: 'UNSUPPORTED',
} as const;
export type RecordBatchErrorCode = (typeof RecordBatchErrorCode)[keyof typeof RecordBatchErrorCode];

/**
 * Malformed or incomplete batch bytes. `at` is the byte position in the caller's buffer where the
 * fault was found (the batch's start when the fault is inside compressed records).
 */
export class RecordBatchError extends Error {
  override name = 'RecordBatchError';
  readonly code: RecordBatchErrorCode;
  readonly at: number | undefined;

  constructor(code: RecordBatchErrorCode, message: string, at?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.at = at;
  }
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface Header {
  key: string;
  value: Uint8Array | null;
}

export interface RecordInput {
  key?: Uint8Array | null;
  value: Uint8Array | null;
  headers?: readonly Header[];
  /** ms since the epoch; defaults to EncodeOptions.now. */
  timestamp?: number;
}

export interface EncodeOptions {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Timestamp of records that carry none; defaults to Date.now(). */
  now?: number;
  compression?: 'none' | 'gzip';
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Header[];
}

// ---------------------------------------------------------------------------------------------
// Fixed-width big-endian integers

function readInt32(b: Uint8Array, p: number): number {
  return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}

function readInt16(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16)) >> 16;
}

/** An int64 as a number; exact whenever the result is a safe integer, which callers check. */
function readInt64(b: Uint8Array, p: number): number {
  return readInt32(b, p) * TWO_POW_32 + (readInt32(b, p + 4) >>> 0);
}

function writeInt32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

function writeInt16(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 8;
  b[p + 1] = v;
}

/** `v` must be a safe integer. */
function writeInt64(b: Uint8Array, p: number, v: number): void {
  const hi = Math.floor(v / TWO_POW_32);
  writeInt32(b, p, hi);
  writeInt32(b, p + 4, v - hi * TWO_POW_32);
}

// ---------------------------------------------------------------------------------------------
// Zigzag varints

function varintBytes(v: number): number {
  const u = ((v << 1) ^ (v >> 31)) >>> 0;
  return u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5;
}

/** `v` must be an int32. */
function writeVarint(b: Uint8Array, p: number, v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  while (u >= 0x80) {
    b[p++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  b[p++] = u;
  return p;
}

function varlongBytes(v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return varintBytes(v);
  // zigzag(v) = 2h + sign with h = |v| or |v| - 1; the first byte holds 6 bits of h.
  let h = Math.floor((v >= 0 ? v : -v - 1) / 64);
  let n = 1;
  while (h > 0) {
    h = Math.floor(h / 128);
    n++;
  }
  return n;
}

/** `v` must be a safe integer. Computed on h = zigzag(v) >> 1 so every step stays exact. */
function writeVarlong(b: Uint8Array, p: number, v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return writeVarint(b, p, v);
  let h = v >= 0 ? v : -v - 1;
  let byte = (h % 64) * 2 + (v < 0 ? 1 : 0);
  h = Math.floor(h / 64);
  while (h > 0) {
    b[p++] = byte | 0x80;
    byte = h % 128;
    h = Math.floor(h / 128);
  }
  b[p++] = byte;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Batch header

function truncated(message: string, at: number): RecordBatchError {
  return new RecordBatchError(RecordBatchErrorCode.Truncated, message, at);
}

/** A position past the end is an incomplete batch (TRUNCATED); a negative one is a caller's bug. */
function checkAt(at: number): void {
  if (!Number.isInteger(at) || at < 0) throw new RangeError(`batch position ${at} is not a non-negative integer`);
}

/**
 * Size of the batch at `at`: 12 + batchLength. Needs only the first 12 bytes; throws TRUNCATED
 * without them and BAD_LENGTH if batchLength is below the header's 49.
 */
export function batchBytes(buf: Uint8Array, at = 0): number {
  checkAt(at);
  if (buf.length - at < LOG_OVERHEAD_BYTES) {
    throw truncated(`batch at ${at}: ${Math.max(buf.length - at, 0)} bytes, need ${LOG_OVERHEAD_BYTES} for offset and length`, at);
  }
  const batchLength = readInt32(buf, at + BATCH_LENGTH_AT);
  if (batchLength < BATCH_LENGTH_MIN) {
    throw new RecordBatchError(
      RecordBatchErrorCode.BadLength,
      `batch at ${at}: batchLength ${batchLength} is below the header's ${BATCH_LENGTH_MIN}`,
      at + BATCH_LENGTH_AT,
    );
  }
  return LOG_OVERHEAD_BYTES + batchLength;
}

function safeInt64(buf: Uint8Array, at: number, field: number, name: string): number {
  const v = readInt64(buf, at + field);
  if (!Number.isSafeInteger(v)) {
    throw new RecordBatchError(
      RecordBatchErrorCode.BadRecord,
      `batch at ${at}: ${name} is outside the safe-integer range`,
      at + field,
    );
  }
  return v;
}

/**
 * Checks that a whole batch is at `at`: the magic byte (as soon as it is there, so a legacy
 * message set is BAD_MAGIC rather than TRUNCATED), batchLength (BAD_LENGTH), and that all of it
 * is within `buf` (TRUNCATED). Returns its size.
 */
function checkFrame(buf: Uint8Array, at: number): number {
  checkAt(at);
  const available = buf.length - at;
  if (available > MAGIC_AT && buf[at + MAGIC_AT] !== RECORD_BATCH_MAGIC) {
    throw new RecordBatchError(
      RecordBatchErrorCode.BadMagic,
      `batch at ${at}: magic ${buf[at + MAGIC_AT]}, expected ${RECORD_BATCH_MAGIC}`,
      at + MAGIC_AT,
    );
  }
  const size = batchBytes(buf, at);
  if (available < size) throw truncated(`batch at ${at}: ${available} of its ${size} bytes present`, at);
  return size;
}

function parseHeader(buf: Uint8Array, at: number, size: number): BatchHeader {
  return {
    baseOffset: safeInt64(buf, at, 0, 'baseOffset'),
    batchLength: size - LOG_OVERHEAD_BYTES,
    partitionLeaderEpoch: readInt32(buf, at + LEADER_EPOCH_AT),
    magic: RECORD_BATCH_MAGIC,
    crc: readInt32(buf, at + CRC_AT) >>> 0,
    attributes: readInt16(buf, at + ATTRIBUTES_AT),
    lastOffsetDelta: readInt32(buf, at + LAST_OFFSET_DELTA_AT),
    firstTimestamp: safeInt64(buf, at, BASE_TIMESTAMP_AT, 'baseTimestamp'),
    maxTimestamp: safeInt64(buf, at, MAX_TIMESTAMP_AT, 'maxTimestamp'),
    producerId: safeInt64(buf, at, PRODUCER_ID_AT, 'producerId'),
    producerEpoch: readInt16(buf, at + PRODUCER_EPOCH_AT),
    baseSequence: readInt32(buf, at + BASE_SEQUENCE_AT),
    recordCount: readInt32(buf, at + RECORD_COUNT_AT),
  };
}

/**
 * The header of the batch at `at`. Checks the magic byte (as soon as it is there, so a legacy
 * message set is BAD_MAGIC rather than TRUNCATED), batchLength (BAD_LENGTH), that the whole batch
 * is within `buf` (TRUNCATED), and that its int64 fields are safe integers (BAD_RECORD); not the
 * CRC.
 */
export function readBatchHeader(buf: Uint8Array, at = 0): BatchHeader {
  return parseHeader(buf, at, checkFrame(buf, at));
}

/**
 * readBatchHeader plus the CRC-32C (BAD_CRC, checked before the fields it covers) and header
 * sanity (BAD_RECORD): recordCount >= 0,
 * lastOffsetDelta >= recordCount - 1 (compaction may leave it larger), and for an uncompressed
 * batch, room for recordCount records of at least 7 bytes and no records bytes when it has none.
 */
export function verifyBatch(buf: Uint8Array, at = 0): BatchHeader {
  const size = checkFrame(buf, at);
  // The CRC comes before the fields it covers are parsed, so damage to them reads as BAD_CRC.
  const stored = readInt32(buf, at + CRC_AT) >>> 0;
  const crc = crc32c(buf, at + ATTRIBUTES_AT, at + size);
  if (crc !== stored) {
    throw new RecordBatchError(
      RecordBatchErrorCode.BadCrc,
      `batch at ${at}: CRC-32C is 0x${crc.toString(16)}, header says 0x${stored.toString(16)}`,
      at + CRC_AT,
    );
  }
  const h = parseHeader(buf, at, size);
  const bad = (message: string, field: number): RecordBatchError =>
    new RecordBatchError(RecordBatchErrorCode.BadRecord, `batch at ${at}: ${message}`, at + field);
  if (h.recordCount < 0) throw bad(`recordCount ${h.recordCount} is negative`, RECORD_COUNT_AT);
  if (h.lastOffsetDelta < h.recordCount - 1) {
    throw bad(`lastOffsetDelta ${h.lastOffsetDelta} is below recordCount ${h.recordCount} - 1`, LAST_OFFSET_DELTA_AT);
  }
  if ((h.attributes & BatchAttributes.CompressionMask) === CompressionCodec.None) {
    const recordsBytes = h.batchLength - BATCH_LENGTH_MIN;
    if (h.recordCount > recordsBytes / RECORD_BYTES_MIN) {
      throw bad(`recordCount ${h.recordCount} cannot fit in ${recordsBytes} bytes of records`, RECORD_COUNT_AT);
    }
    if (h.recordCount === 0 && recordsBytes > 0) {
      throw bad(`recordCount is 0 but ${recordsBytes} bytes of records follow`, RECORD_COUNT_AT);
    }
  }
  return h;
}

/** Sets the base offset of the batch at `at` in place; the CRC does not cover it. */
export function writeBaseOffset(buf: Uint8Array, at: number, baseOffset: number): void {
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) {
    throw new RangeError(`baseOffset ${baseOffset} is not a non-negative safe integer`);
  }
  checkAt(at);
  if (buf.length - at < LEADER_EPOCH_AT) throw truncated(`batch at ${at}: no room for baseOffset`, at);
  writeInt64(buf, at, baseOffset);
}

/** Sets the partition leader epoch of the batch at `at` in place; the CRC does not cover it. */
export function writePartitionLeaderEpoch(buf: Uint8Array, at: number, epoch: number): void {
  if (!isInt32(epoch)) throw new RangeError(`partitionLeaderEpoch ${epoch} is not an int32`);
  checkAt(at);
  if (buf.length - at < MAGIC_AT) throw truncated(`batch at ${at}: no room for partitionLeaderEpoch`, at);
  writeInt32(buf, at + LEADER_EPOCH_AT, epoch);
}

/**
 * The batches laid end to end in `buf`, each with its position and header (read with
 * readBatchHeader: the CRC is not checked). Stops silently before a trailing partial batch, as a
 * Kafka fetch response may end with one; throws on any other fault.
 */
export function* batches(buf: Uint8Array): Generator<{ at: number; header: BatchHeader }> {
  let at = 0;
  while (at < buf.length) {
    let header: BatchHeader;
    try {
      header = readBatchHeader(buf, at);
    } catch (err) {
      if (err instanceof RecordBatchError && err.code === RecordBatchErrorCode.Truncated) return;
      throw err;
    }
    yield { at, header };
    at += LOG_OVERHEAD_BYTES + header.batchLength;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

function isInt32(v: number): boolean {
  return Number.isInteger(v) && v >= -0x80000000 && v <= INT32_MAX;
}

function isInt16(v: number): boolean {
  return Number.isInteger(v) && v >= -0x8000 && v <= 0x7fff;
}

function checkBytes(v: unknown, what: string): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array or null`);
  return v;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * Encodes `records` as one batch with offset deltas 0..n-1. The batch's base timestamp is the
 * smallest record timestamp, so every delta is >= 0. producerId, producerEpoch, baseSequence and
 * partitionLeaderEpoch default to -1 (Kafka's "none"), baseOffset to 0.
 */
export function encodeBatch(records: readonly RecordInput[], opts: EncodeOptions = {}): Uint8Array {
  const n = records.length;
  const baseOffset = opts.baseOffset ?? 0;
  const epoch = opts.partitionLeaderEpoch ?? -1;
  const producerId = opts.producerId ?? -1;
  const producerEpoch = opts.producerEpoch ?? -1;
  const baseSequence = opts.baseSequence ?? -1;
  const compression = opts.compression ?? 'none';
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0 || !Number.isSafeInteger(baseOffset + Math.max(n - 1, 0))) {
    throw new RangeError(`baseOffset ${baseOffset} is not a non-negative safe integer for ${n} records`);
  }
  if (n > INT32_MAX) throw new RangeError(`${n} records do not fit in one batch`);
  if (!isInt32(epoch)) throw new RangeError(`partitionLeaderEpoch ${epoch} is not an int32`);
  if (!Number.isSafeInteger(producerId)) throw new RangeError(`producerId ${producerId} is not a safe integer`);
  if (!isInt16(producerEpoch)) throw new RangeError(`producerEpoch ${producerEpoch} is not an int16`);
  if (!isInt32(baseSequence)) throw new RangeError(`baseSequence ${baseSequence} is not an int32`);
  if (compression !== 'none' && compression !== 'gzip') throw new RangeError(`unknown compression '${String(compression)}'`);

  // Timestamps: the smallest is the base, every delta is from it.
  let now = opts.now;
  const timestamps = new Array<number>(n);
  let minTs = Infinity;
  let maxTs = -Infinity;
  for (let i = 0; i < n; i++) {
    let ts = records[i].timestamp;
    if (ts === undefined) ts = now ??= Date.now();
    if (!Number.isSafeInteger(ts)) throw new RangeError(`record ${i}: timestamp ${ts} is not a safe integer`);
    timestamps[i] = ts;
    if (ts < minTs) minTs = ts;
    if (ts > maxTs) maxTs = ts;
  }
  if (n === 0) {
    minTs = maxTs = now ?? Date.now();
    if (!Number.isSafeInteger(minTs)) throw new RangeError(`now ${minTs} is not a safe integer`);
  }
  if (!Number.isSafeInteger(maxTs - minTs)) throw new RangeError(`timestamps ${minTs} and ${maxTs} are too far apart`);

  // Sizes, so the batch is written into one allocation. Header keys are encoded once here.
  const bodySizes = new Array<number>(n);
  const headerKeys: Uint8Array[] = [];
  let recordsSize = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i];
    const key = checkBytes(r.key, `record ${i}: key`);
    const value = checkBytes(r.value, `record ${i}: value`);
    let body = 1 + varlongBytes(timestamps[i] - minTs) + varintBytes(i);
    body += key === null ? 1 : varintBytes(key.length) + key.length;
    body += value === null ? 1 : varintBytes(value.length) + value.length;
    const headers = r.headers ?? [];
    body += varintBytes(headers.length);
    for (let j = 0; j < headers.length; j++) {
      const h = headers[j];
      if (typeof h.key !== 'string') throw new TypeError(`record ${i}: header ${j} key must be a string`);
      const hk = utf8Encoder.encode(h.key);
      headerKeys.push(hk);
      const hv = checkBytes(h.value, `record ${i}: header ${j} value`);
      body += varintBytes(hk.length) + hk.length + (hv === null ? 1 : varintBytes(hv.length) + hv.length);
    }
    if (body > INT32_MAX) throw new RangeError(`record ${i}: ${body} bytes is too large`);
    bodySizes[i] = body;
    recordsSize += varintBytes(body) + body;
  }

  let attributes = 0;
  let out: Uint8Array;
  if (compression === 'gzip') {
    const plain = new Uint8Array(recordsSize);
    writeRecords(plain, 0, records, timestamps, minTs, bodySizes, headerKeys);
    const packed = gzipSync(plain);
    out = new Uint8Array(BATCH_HEADER_BYTES + packed.length);
    out.set(packed, BATCH_HEADER_BYTES);
    attributes = CompressionCodec.Gzip;
  } else {
    if (recordsSize > INT32_MAX - BATCH_LENGTH_MIN) throw new RangeError(`${recordsSize} bytes of records is too large`);
    out = new Uint8Array(BATCH_HEADER_BYTES + recordsSize);
    writeRecords(out, BATCH_HEADER_BYTES, records, timestamps, minTs, bodySizes, headerKeys);
  }
  if (out.length - LOG_OVERHEAD_BYTES > INT32_MAX) throw new RangeError(`batch of ${out.length} bytes is too large`);

  writeInt64(out, 0, baseOffset);
  writeInt32(out, BATCH_LENGTH_AT, out.length - LOG_OVERHEAD_BYTES);
  writeInt32(out, LEADER_EPOCH_AT, epoch);
  out[MAGIC_AT] = RECORD_BATCH_MAGIC;
  writeInt16(out, ATTRIBUTES_AT, attributes);
  writeInt32(out, LAST_OFFSET_DELTA_AT, n - 1);
  writeInt64(out, BASE_TIMESTAMP_AT, minTs);
  writeInt64(out, MAX_TIMESTAMP_AT, maxTs);
  writeInt64(out, PRODUCER_ID_AT, producerId);
  writeInt16(out, PRODUCER_EPOCH_AT, producerEpoch);
  writeInt32(out, BASE_SEQUENCE_AT, baseSequence);
  writeInt32(out, RECORD_COUNT_AT, n);
  writeInt32(out, CRC_AT, crc32c(out, ATTRIBUTES_AT, out.length));
  return out;
}

/** Writes the records whose sizes encodeBatch computed; returns the position after them. */
function writeRecords(
  b: Uint8Array,
  p: number,
  records: readonly RecordInput[],
  timestamps: readonly number[],
  baseTimestamp: number,
  bodySizes: readonly number[],
  headerKeys: readonly Uint8Array[],
): number {
  let k = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    p = writeVarint(b, p, bodySizes[i]);
    b[p++] = 0; // record attributes
    p = writeVarlong(b, p, timestamps[i] - baseTimestamp);
    p = writeVarint(b, p, i);
    p = writeNullableBytes(b, p, r.key ?? null);
    p = writeNullableBytes(b, p, r.value);
    const headers = r.headers ?? [];
    p = writeVarint(b, p, headers.length);
    for (let j = 0; j < headers.length; j++) {
      p = writeNullableBytes(b, p, headerKeys[k++]);
      p = writeNullableBytes(b, p, headers[j].value);
    }
  }
  return p;
}

function writeNullableBytes(b: Uint8Array, p: number, v: Uint8Array | null): number {
  if (v === null) {
    b[p] = 1; // zigzag(-1)
    return p + 1;
  }
  p = writeVarint(b, p, v.length);
  if (v.length < 16) {
    for (let i = 0; i < v.length; i++) b[p + i] = v[i];
  } else {
    b.set(v, p);
  }
  return p + v.length;
}

// ---------------------------------------------------------------------------------------------
// Decoding records

/** Reads the records of one batch, with positions mapped back to the caller's buffer for errors. */
class RecordReader {
  pos: number;
  end: number;

  constructor(
    readonly buf: Uint8Array,
    pos: number,
    end: number,
    /** Batch start in the caller's buffer. */
    readonly batchAt: number,
    /** Whether `buf` is the caller's buffer (uncompressed) or decompressed records. */
    readonly direct: boolean,
  ) {
    this.pos = pos;
    this.end = end;
  }

  fail(message: string, pos: number = this.pos): never {
    const where = this.direct ? `at byte ${pos}` : `at byte ${pos} of the decompressed records`;
    throw new RecordBatchError(
      RecordBatchErrorCode.BadRecord,
      `batch at ${this.batchAt}: ${message} (${where})`,
      this.direct ? pos : this.batchAt,
    );
  }

  byte(what: string): number {
    if (this.pos >= this.end) this.fail(`${what} runs past the end of the record`);
    return this.buf[this.pos++];
  }

  /** A zigzag varint of at most 5 bytes, as an int32. */
  varint(what: string): number {
    const start = this.pos;
    let b = this.byte(what);
    let u = b & 0x7f;
    for (let shift = 7; b >= 0x80; shift += 7) {
      b = this.byte(what);
      // The fifth byte may hold only the top 4 bits, and no continuation.
      if (shift === 28 && b > 0x0f) this.fail(`${what} varint is longer than 32 bits`, start);
      u |= (b & 0x7f) << shift;
    }
    return (u >>> 1) ^ -(u & 1);
  }

  /** A zigzag varlong of at most 10 bytes; BAD_RECORD outside the safe-integer range. */
  varlong(what: string): number {
    const start = this.pos;
    let b = this.byte(what);
    if (b < 0x80) return (b >>> 1) ^ -(b & 1);
    // h = zigzag >> 1, summed exactly while it stays below 2^53.
    const negative = (b & 1) === 1;
    let h = (b & 0x7f) >>> 1;
    let scale = 64;
    for (let i = 1; b >= 0x80; i++) {
      if (i === 10) this.fail(`${what} varlong is longer than 10 bytes`, start);
      b = this.byte(what);
      h += (b & 0x7f) * scale;
      scale *= 128;
    }
    const v = negative ? -h - 1 : h;
    if (!Number.isSafeInteger(v)) this.fail(`${what} is outside the safe-integer range`, start);
    return v;
  }

  /** `length` bytes as a view, or null for -1. */
  nullableBytes(what: string): Uint8Array | null {
    const lengthAt = this.pos;
    const length = this.varint(`${what} length`);
    if (length === -1) return null;
    if (length < -1) this.fail(`${what} length ${length} is negative`, lengthAt);
    if (length > this.end - this.pos) this.fail(`${what} length ${length} runs past the end of the record`, lengthAt);
    const v = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return v;
  }
}

function decompress(h: BatchHeader, batch: Uint8Array, at: number): Uint8Array {
  const codec = h.attributes & BatchAttributes.CompressionMask;
  if (codec !== CompressionCodec.Gzip) {
    const name = CODEC_NAMES[codec] ?? `unknown codec ${codec}`;
    throw new RecordBatchError(
      RecordBatchErrorCode.Unsupported,
      `batch at ${at}: ${name} compression is not supported (only gzip)`,
      at + ATTRIBUTES_AT,
    );
  }
  const packed = batch.subarray(at + BATCH_HEADER_BYTES, at + LOG_OVERHEAD_BYTES + h.batchLength);
  try {
    return gunzipSync(packed, { maxOutputLength: DECOMPRESSED_BYTES_MAX });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new RecordBatchError(
      RecordBatchErrorCode.BadRecord,
      `batch at ${at}: gzip records cannot be inflated (limit ${DECOMPRESSED_BYTES_MAX} bytes): ${why}`,
      at + BATCH_HEADER_BYTES,
      { cause: err },
    );
  }
}

/**
 * The records of the batch at `at`, decoded lazily: an error surfaces when the record holding it
 * is reached (the check for bytes after the last declared record comes after the last one is
 * yielded). Does not check the CRC: call verifyBatch first for untrusted bytes. gzip batches are
 * inflated with node:zlib; snappy, lz4 and zstd are UNSUPPORTED.
 */
export function* records(batch: Uint8Array, at = 0): Generator<DecodedRecord> {
  const h = readBatchHeader(batch, at);
  const end = at + LOG_OVERHEAD_BYTES + h.batchLength;
  const compressed = (h.attributes & BatchAttributes.CompressionMask) !== CompressionCodec.None;
  const source = compressed ? decompress(h, batch, at) : batch;
  const limit = compressed ? source.length : end;
  const r: RecordReader = new RecordReader(source, compressed ? 0 : at + BATCH_HEADER_BYTES, limit, at, !compressed);
  if (h.recordCount < 0) {
    throw new RecordBatchError(
      RecordBatchErrorCode.BadRecord,
      `batch at ${at}: recordCount ${h.recordCount} is negative`,
      at + RECORD_COUNT_AT,
    );
  }
  const logAppendTime = (h.attributes & BatchAttributes.LogAppendTime) !== 0;

  for (let i = 0; i < h.recordCount; i++) {
    if (r.pos >= limit) r.fail(`batch declares ${h.recordCount} records but holds ${i}`);
    const start = r.pos;
    const length = r.varint('record length');
    if (length < RECORD_BYTES_MIN - 1) r.fail(`record length ${length} is below the minimum of ${RECORD_BYTES_MIN - 1}`, start);
    if (length > limit - r.pos) r.fail(`record length ${length} runs past the end of the batch`, start);
    const recordEnd = r.pos + length;
    r.end = recordEnd;

    r.byte('record attributes');
    const timestampDelta = r.varlong('timestampDelta');
    const offsetDeltaAt = r.pos;
    const offsetDelta = r.varint('offsetDelta');
    if (offsetDelta < 0 || offsetDelta > h.lastOffsetDelta) {
      r.fail(`offsetDelta ${offsetDelta} is outside 0..lastOffsetDelta ${h.lastOffsetDelta}`, offsetDeltaAt);
    }
    const key = r.nullableBytes('key');
    const value = r.nullableBytes('value');
    const countAt = r.pos;
    const headerCount = r.varint('header count');
    // A header takes at least 2 bytes, which bounds the loop before a huge count allocates anything.
    if (headerCount < 0 || headerCount * 2 > recordEnd - r.pos) {
      r.fail(`header count ${headerCount} does not fit the record`, countAt);
    }
    const headers = new Array<Header>(headerCount);
    for (let j = 0; j < headerCount; j++) {
      const keyAt = r.pos;
      const hk = r.nullableBytes('header key');
      if (hk === null) r.fail('header key is null', keyAt);
      headers[j] = { key: utf8Decoder.decode(hk), value: r.nullableBytes('header value') };
    }
    if (r.pos !== recordEnd) {
      r.fail(`record length ${length} disagrees with its contents (${r.pos - (recordEnd - length)} bytes)`, start);
    }
    r.end = limit;

    const timestamp = logAppendTime ? h.maxTimestamp : h.firstTimestamp + timestampDelta;
    if (!Number.isSafeInteger(timestamp)) r.fail(`record ${i}: timestamp is outside the safe-integer range`, start);
    const offset = h.baseOffset + offsetDelta;
    if (!Number.isSafeInteger(offset)) r.fail(`record ${i}: offset is outside the safe-integer range`, start);
    yield { offset, timestamp, key, value, headers };
  }
  if (r.pos !== limit) r.fail(`${limit - r.pos} bytes follow the last of ${h.recordCount} declared records`);
}
