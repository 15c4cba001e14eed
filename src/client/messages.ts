/**
 * Messages as callers write and read them (kafkajs shapes), and their conversion to and from the
 * records of a RecordBatch (storage/record-batch.ts).
 */
import type { DecodedRecord, Header, RecordInput } from '../../storage/record-batch.js';
import { invalidArgument } from './errors.js';
import { formatOffset } from './offsets.js';

export type MessageBytes = string | Buffer | Uint8Array;

/** A record to produce. */
export interface Message {
  readonly key?: MessageBytes | null;
  readonly value: MessageBytes | null;
  readonly headers?: Readonly<Record<string, MessageBytes>>;
  /** ms since the epoch (a decimal string like kafkajs, or a number); defaults to now. */
  readonly timestamp?: string | number;
  /** An explicit partition wins over the key. */
  readonly partition?: number;
}

export interface TopicMessages {
  readonly topic: string;
  readonly messages: readonly Message[];
}

/** Where one produced record landed. offset is "-1" with acks "none". */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** A record as a consumer sees it. */
export interface ConsumedMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Header values by key; a repeated key keeps its last value, a null value is left out. */
  readonly headers: Record<string, Buffer>;
  /** ms since the epoch, as a decimal string. */
  readonly timestamp: string;
  readonly offset: string;
}

/** Bytes a record takes in a batch beyond its key, value and headers (varints, attributes). */
const RECORD_OVERHEAD_BYTES = 24;

export function toBytes(v: MessageBytes, what: string): Uint8Array {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return v;
  throw invalidArgument(`${what} must be a string, a Buffer or null`);
}

function toTimestamp(v: string | number | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^-?\d{1,16}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw invalidArgument(`${what}: timestamp ${String(v)} is not ms since the epoch`);
  return n;
}

/** A message as a batch record, with the bytes it adds to a batch. */
export function toRecord(m: Message, what: string): { record: RecordInput; bytes: number } {
  if (typeof m !== 'object' || m === null) throw invalidArgument(`${what} must be an object with a value`);
  if (m.value === undefined) throw invalidArgument(`${what} has no value (use null for a tombstone)`);
  const key = m.key === undefined || m.key === null ? null : toBytes(m.key, `${what} key`);
  const value = m.value === null ? null : toBytes(m.value, `${what} value`);
  const headers: Header[] = [];
  let bytes = RECORD_OVERHEAD_BYTES + (key?.length ?? 0) + (value?.length ?? 0);
  if (m.headers !== undefined) {
    if (typeof m.headers !== 'object' || m.headers === null) throw invalidArgument(`${what} headers must be an object`);
    for (const [k, v] of Object.entries(m.headers)) {
      const hv = toBytes(v, `${what} header '${k}'`);
      headers.push({ key: k, value: hv });
      bytes += Buffer.byteLength(k) + hv.length + 4;
    }
  }
  const timestamp = toTimestamp(m.timestamp, what);
  const record: RecordInput = timestamp === undefined ? { key, value, headers } : { key, value, headers, timestamp };
  return { record, bytes };
}

/** A Buffer over the same bytes (no copy). */
export function asBuffer(v: Uint8Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.length);
}

export function toConsumedMessage(r: DecodedRecord): ConsumedMessage {
  const headers: Record<string, Buffer> = {};
  for (const h of r.headers) if (h.value !== null) headers[h.key] = asBuffer(h.value);
  return {
    key: r.key === null ? null : asBuffer(r.key),
    value: r.value === null ? null : asBuffer(r.value),
    headers,
    timestamp: String(r.timestamp),
    offset: formatOffset(r.offset),
  };
}
