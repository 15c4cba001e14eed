/**
 * Messages as callers write and read them (kafkajs shapes), and their conversion to and from the
 * records of a RecordBatch (src/wire/record-batch/).
 */
import type { DecodedRecord } from '../wire/record-batch/decode.js';
import type { RecordInput } from '../wire/record-batch/encode.js';
import type { Header } from '../wire/record-batch/header.js';
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

/** The bytes of a key, value or header value; null when `v` is none of the accepted types. */
function bytesOf(v: unknown): Uint8Array | null {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return v;
  return null;
}

function timestampOf(v: unknown): number | null {
  const n = typeof v === 'string' && /^-?\d{1,16}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/**
 * Message `index` of a send to `topic` as a batch record, with the bytes it adds to a batch. This
 * runs once per record sent, so the text naming the message is built only for an error.
 */
export function toRecord(m: Message, index: number, topic: string): { record: RecordInput; bytes: number } {
  if (typeof m !== 'object' || m === null) badMessage(index, topic, 'must be an object with a value');
  if (m.value === undefined) badMessage(index, topic, 'has no value (use null for a tombstone)');
  const key = m.key === undefined || m.key === null ? null : (bytesOf(m.key) ?? badMessage(index, topic, 'key must be a string, a Buffer or null'));
  const value = m.value === null ? null : (bytesOf(m.value) ?? badMessage(index, topic, 'value must be a string, a Buffer or null'));
  const headers: Header[] = [];
  let bytes = RECORD_OVERHEAD_BYTES + (key?.length ?? 0) + (value?.length ?? 0);
  if (m.headers !== undefined) {
    if (typeof m.headers !== 'object' || m.headers === null) badMessage(index, topic, 'headers must be an object');
    for (const [k, v] of Object.entries(m.headers)) {
      const hv = bytesOf(v) ?? badMessage(index, topic, `header '${k}' must be a string, a Buffer or null`);
      headers.push({ key: k, value: hv });
      bytes += Buffer.byteLength(k) + hv.length + 4;
    }
  }
  if (m.timestamp === undefined) return { record: { key, value, headers }, bytes };
  const timestamp = timestampOf(m.timestamp) ?? badMessage(index, topic, `has timestamp ${String(m.timestamp)}, which is not ms since the epoch`);
  return { record: { key, value, headers, timestamp }, bytes };
}

function badMessage(index: number, topic: string, problem: string): never {
  throw invalidArgument(`message ${index} to '${topic}' ${problem}`);
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
