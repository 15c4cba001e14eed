/**
 * How `raftlog consume` prints a record: its default line, one JSON object (--json), or a format
 * string (-f, kcat's): keys, values and header values as text, hex or base64 (--encoding).
 */
import type { ConsumedMessage } from '../client/index.js';
import { UsageError } from './errors.js';
import { printable } from './format.js';

export const ENCODINGS = ['text', 'hex', 'base64'] as const;
export type Encoding = (typeof ENCODINGS)[number];

export function toEncoding(v: string): Encoding {
  const e = ENCODINGS.find((x) => x === v);
  if (e === undefined) throw new UsageError(`--encoding must be one of ${ENCODINGS.join(', ')}, not '${v}'`);
  return e;
}

/** Bytes as the encoding shows them (text: UTF-8, as they are). */
function encode(b: Buffer, encoding: Encoding): string {
  return encoding === 'text' ? b.toString('utf8') : b.toString(encoding);
}

/** The fields of a format string, with what each prints: what `consume --help` lists. */
export const FORMAT_FIELDS: readonly (readonly [string, string])[] = [
  ['%t', 'topic'],
  ['%p', 'partition'],
  ['%o', 'offset'],
  ['%T', 'timestamp (ms since the epoch)'],
  ['%k', 'key (empty when null)'],
  ['%s', 'value (empty when null)'],
  ['%h', 'headers, as k1=v1,k2=v2'],
  ['%K', 'key length in bytes (-1 when null)'],
  ['%S', 'value length in bytes (-1 when null)'],
  ['%%', 'a %'],
];

/** The escapes a format string may hold (a shell passes them on as two characters). */
const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };

export const FORMAT_HELP = `print each record as FMT says, as kcat's -f does (no newline unless FMT has \\n): ${FORMAT_FIELDS.map(([f, what]) => `${f} ${what}`).join(', ')}; escapes \\n, \\t, \\r, \\\\`;

type Piece = string | ((r: RecordView) => string);

interface RecordView {
  readonly topic: string;
  readonly partition: number;
  readonly message: ConsumedMessage;
  readonly encoding: Encoding;
}

const FIELD: Readonly<Record<string, (r: RecordView) => string>> = {
  t: (r) => r.topic,
  p: (r) => String(r.partition),
  o: (r) => r.message.offset,
  T: (r) => r.message.timestamp,
  k: (r) => (r.message.key === null ? '' : encode(r.message.key, r.encoding)),
  s: (r) => (r.message.value === null ? '' : encode(r.message.value, r.encoding)),
  h: (r) => Object.entries(r.message.headers).map(([k, v]) => `${k}=${encode(v, r.encoding)}`).join(','),
  K: (r) => String(r.message.key === null ? -1 : r.message.key.length),
  S: (r) => String(r.message.value === null ? -1 : r.message.value.length),
};

/** A format string parsed once: a refused field or escape is a usage error before anything is read. */
export type RecordFormat = readonly Piece[];

export function parseFormat(fmt: string): RecordFormat {
  const pieces: Piece[] = [];
  let literal = '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    const next = fmt[i + 1];
    if (c === '%') {
      if (next === '%') literal += '%';
      else if (next !== undefined && FIELD[next] !== undefined) {
        if (literal !== '') pieces.push(literal);
        literal = '';
        pieces.push(FIELD[next]);
      } else throw new UsageError(`the format has '%${next ?? ''}', which is no field; the fields are ${FORMAT_FIELDS.map(([f]) => f).join(' ')}`);
      i++;
    } else if (c === '\\' && next !== undefined && ESCAPES[next] !== undefined) {
      literal += ESCAPES[next];
      i++;
    } else {
      literal += c;
    }
  }
  if (literal !== '') pieces.push(literal);
  return pieces;
}

/** How records are printed: one of the three outputs, and the encoding of keys, values and header values. */
export type RecordOutput = { readonly kind: 'line' | 'json'; readonly encoding: Encoding } | { readonly kind: 'format'; readonly format: RecordFormat; readonly encoding: Encoding };

/** One record as the output prints it (a line or a JSON object end with a newline; a format, as it says). */
export function renderRecord(topic: string, partition: number, m: ConsumedMessage, out: RecordOutput): string {
  const encoding = out.encoding;
  if (out.kind === 'format') {
    const view: RecordView = { topic, partition, message: m, encoding };
    return out.format.map((p) => (typeof p === 'string' ? p : p(view))).join('');
  }
  const enc = (b: Buffer | null): string | null => (b === null ? null : encode(b, encoding));
  if (out.kind === 'json') {
    const headers = Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, encode(v, encoding)]));
    return `${JSON.stringify({ topic, partition, offset: m.offset, timestamp: m.timestamp, key: enc(m.key), value: enc(m.value), headers, encoding })}\n`;
  }
  // Control characters escaped, so one record stays on one line.
  const key = m.key === null ? '(null)' : printable(enc(m.key)!);
  const value = m.value === null ? '(null)' : printable(enc(m.value)!);
  return `partition ${partition} offset ${m.offset} key ${key} value ${value}\n`;
}
