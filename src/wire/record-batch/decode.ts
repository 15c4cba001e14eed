/**
 * Decoding the records of a RecordBatch v2 (the layout is in header.ts): lazily, one at a time,
 * with keys and values as views into the batch (or into its inflated records, for gzip).
 */

import { gunzipSync } from 'node:zlib';
import {
  ATTRIBUTES_AT,
  BATCH_HEADER_BYTES,
  BatchAttributes,
  CompressionCodec,
  LOG_OVERHEAD_BYTES,
  RECORD_BYTES_MIN,
  RECORD_COUNT_AT,
  RecordBatchError,
  RecordBatchErrorCode,
  readBatchHeader,
  type BatchHeader,
  type Header,
} from './header.js';
import { readVarint, readVarlong, type ByteCursor } from './integers.js';

/** A gzip batch that inflates past this is refused rather than exhausting memory. */
export const DECOMPRESSED_BYTES_MAX = 128 * 1024 * 1024;

const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Header[];
}

const utf8Decoder = new TextDecoder();

/** Reads the records of one batch, with positions mapped back to the caller's buffer for errors. */
class RecordReader implements ByteCursor {
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

  /** `length` bytes as a view, or null for -1. */
  nullableBytes(what: string): Uint8Array | null {
    const lengthAt = this.pos;
    const length = readVarint(this, `${what} length`);
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
    const length = readVarint(r, 'record length');
    if (length < RECORD_BYTES_MIN - 1) r.fail(`record length ${length} is below the minimum of ${RECORD_BYTES_MIN - 1}`, start);
    if (length > limit - r.pos) r.fail(`record length ${length} runs past the end of the batch`, start);
    const recordEnd = r.pos + length;
    r.end = recordEnd;

    r.byte('record attributes');
    const timestampDelta = readVarlong(r, 'timestampDelta');
    const offsetDeltaAt = r.pos;
    const offsetDelta = readVarint(r, 'offsetDelta');
    if (offsetDelta < 0 || offsetDelta > h.lastOffsetDelta) {
      r.fail(`offsetDelta ${offsetDelta} is outside 0..lastOffsetDelta ${h.lastOffsetDelta}`, offsetDeltaAt);
    }
    const key = r.nullableBytes('key');
    const value = r.nullableBytes('value');
    const countAt = r.pos;
    const headerCount = readVarint(r, 'header count');
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
