/**
 * Encoding a RecordBatch v2 (the layout is in header.ts): what a producer does once per batch,
 * uncompressed or gzip, into one allocation.
 */

import { gzipSync } from 'node:zlib';
import { crc32c } from '../crc32c.js';
import {
  ATTRIBUTES_AT,
  BASE_SEQUENCE_AT,
  BASE_TIMESTAMP_AT,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_AT,
  BATCH_LENGTH_MIN,
  CRC_AT,
  CompressionCodec,
  LAST_OFFSET_DELTA_AT,
  LEADER_EPOCH_AT,
  LOG_OVERHEAD_BYTES,
  MAGIC_AT,
  MAX_TIMESTAMP_AT,
  PRODUCER_EPOCH_AT,
  PRODUCER_ID_AT,
  RECORD_BATCH_MAGIC,
  RECORD_COUNT_AT,
  type Header,
} from './header.js';
import {
  INT32_MAX,
  isInt16,
  isInt32,
  varintBytes,
  varlongBytes,
  writeInt16,
  writeInt32,
  writeInt64,
  writeVarint,
  writeVarlong,
} from './integers.js';

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

function checkBytes(v: unknown, what: string): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array or null`);
  return v;
}

const utf8Encoder = new TextEncoder();

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
