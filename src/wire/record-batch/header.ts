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
 * This file holds the layout's constants, the errors and the batch header (read, verified,
 * patched in place); encode.ts writes a batch, decode.ts reads its records, integers.ts has the
 * fixed-width integers and varints.
 *
 * Numbers, not bigints: offsets, timestamps and producer ids are JS numbers. Decoding a value
 * outside the safe-integer range is a RecordBatchError (BAD_RECORD); encoding one is a RangeError.
 * Malformed input always gives a RecordBatchError. Decoded keys and values are views into the
 * input (or into the decompressed records), not copies.
 */

import { crc32c } from '../crc32c.js';
import { isInt32, readInt16, readInt32, readInt64, writeInt32, writeInt64 } from './integers.js';

export const BATCH_HEADER_BYTES = 61;
export const RECORD_BATCH_MAGIC = 2;

/** baseOffset and batchLength: the bytes that batchLength does not count. */
export const LOG_OVERHEAD_BYTES = 12;
/** The smallest batchLength: the header after the batchLength field. */
export const BATCH_LENGTH_MIN = BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES;
/** The smallest record: seven one-byte fields (length, attributes, three deltas/lengths, headerCount). */
export const RECORD_BYTES_MIN = 7;

// Field positions within a batch.
export const BATCH_LENGTH_AT = 8;
export const LEADER_EPOCH_AT = 12;
export const MAGIC_AT = 16;
export const CRC_AT = 17;
export const ATTRIBUTES_AT = 21;
export const LAST_OFFSET_DELTA_AT = 23;
export const BASE_TIMESTAMP_AT = 27;
export const MAX_TIMESTAMP_AT = 35;
export const PRODUCER_ID_AT = 43;
export const PRODUCER_EPOCH_AT = 51;
export const BASE_SEQUENCE_AT = 53;
export const RECORD_COUNT_AT = 57;

/** Bits of the batch attributes. */
export const BatchAttributes = {
  CompressionMask: 0x07,
  LogAppendTime: 0x08,
  Transactional: 0x10,
  Control: 0x20,
} as const;

export const CompressionCodec = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;

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

/** A record header: a string key and a nullable value (not the batch header). */
export interface Header {
  key: string;
  value: Uint8Array | null;
}

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
