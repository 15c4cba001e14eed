/**
 * Decodes the `value` of each client operation into a typed operation (CHECKER.md):
 *
 * - send:  invoke `[{ key, value }, ...]` → ok `[{ key, value, offset }, ...]` (same records);
 * - poll:  invoke `{ from: { key: offset } }` → ok `{ msgs: { key: [[offset, value], ...] }, hw: { key: hw } }`;
 * - assign: invoke `{ group?, keys, seek: "committed" | "beginning" | { key: offset } }` → ok `{ start: { key: offset } }`;
 * - commit: invoke `{ group, offsets: { key: nextOffsetToRead } }` → ok;
 * - fetchCommitted: invoke `{ group, keys }` → ok `{ offsets: { key: offset | null } }`.
 *
 * Offsets must be non-negative safe integers. An operation whose value does not decode is reported
 * `malformed` and left out of the other checks. The completion's value is only read for `ok`.
 */
import type { Anomaly } from './anomaly.js';
import { unreachable } from './errors.js';
import { valueKey } from './history.js';
import type { ClientOp } from './ops.js';

export interface SentRecord {
  readonly key: string;
  readonly value: unknown;
}

export interface AckedRecord extends SentRecord {
  readonly offset: number;
}

export type Seek = 'committed' | 'beginning' | ReadonlyMap<string, number>;

export interface PollResult {
  readonly msgs: ReadonlyMap<string, ReadonlyArray<readonly [number, unknown]>>;
  readonly hw: ReadonlyMap<string, number>;
}

/** A client operation with its decoded values; `ok`-only results are null unless the outcome is ok. */
export type LogOp =
  | { readonly f: 'send'; readonly op: ClientOp; readonly records: readonly SentRecord[]; readonly acked: readonly AckedRecord[] | null }
  | { readonly f: 'poll'; readonly op: ClientOp; readonly from: ReadonlyMap<string, number>; readonly result: PollResult | null }
  | {
      readonly f: 'assign';
      readonly op: ClientOp;
      readonly group: string | null;
      readonly keys: readonly string[];
      readonly seek: Seek;
      readonly start: ReadonlyMap<string, number> | null;
    }
  | { readonly f: 'commit'; readonly op: ClientOp; readonly group: string; readonly offsets: ReadonlyMap<string, number> }
  | {
      readonly f: 'fetchCommitted';
      readonly op: ClientOp;
      readonly group: string;
      readonly keys: readonly string[];
      readonly offsets: ReadonlyMap<string, number | null> | null;
    };

class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

export function decodeOps(ops: readonly ClientOp[]): { decoded: LogOp[]; problems: Anomaly[] } {
  const decoded: LogOp[] = [];
  const problems: Anomaly[] = [];
  for (const op of ops) {
    try {
      decoded.push(decodeOp(op));
    } catch (e) {
      if (!(e instanceof ShapeError)) throw e;
      const events = op.completion === undefined ? [op.invoke.index] : [op.invoke.index, op.completion.index];
      problems.push({ kind: 'malformed', reason: `${op.f} by process ${op.process}: ${e.message}`, events });
    }
  }
  return { decoded, problems };
}

function decodeOp(op: ClientOp): LogOp {
  const inv = op.invoke.value;
  const ok = op.outcome === 'ok' ? op.completion?.value : undefined;
  const isOk = op.outcome === 'ok';
  switch (op.f) {
    case 'send': {
      const records = array(inv, 'send value').map((r) => {
        const o = object(r, 'record');
        return { key: string(o['key'], 'record key'), value: o['value'] };
      });
      if (records.length === 0) throw new ShapeError('a send carries no records');
      return { f: 'send', op, records, acked: isOk ? acks(ok, records) : null };
    }
    case 'poll':
      return {
        f: 'poll',
        op,
        from: offsets(object(inv, 'poll value')['from'], 'from'),
        result: isOk ? pollResult(ok) : null,
      };
    case 'assign': {
      const o = object(inv, 'assign value');
      const group = o['group'] === undefined || o['group'] === null ? null : string(o['group'], 'group');
      const seek = o['seek'];
      return {
        f: 'assign',
        op,
        group,
        keys: strings(o['keys'], 'keys'),
        seek: seek === 'committed' || seek === 'beginning' ? seek : offsets(seek, 'seek'),
        start: isOk ? offsets(object(ok, 'assign result')['start'], 'start') : null,
      };
    }
    case 'commit': {
      const o = object(inv, 'commit value');
      return { f: 'commit', op, group: string(o['group'], 'group'), offsets: offsets(o['offsets'], 'offsets') };
    }
    case 'fetchCommitted': {
      const o = object(inv, 'fetchCommitted value');
      return {
        f: 'fetchCommitted',
        op,
        group: string(o['group'], 'group'),
        keys: strings(o['keys'], 'keys'),
        offsets: isOk ? nullableOffsets(object(ok, 'fetchCommitted result')['offsets'], 'offsets') : null,
      };
    }
    default:
      return unreachable(op.f);
  }
}

function acks(raw: unknown, sent: readonly SentRecord[]): AckedRecord[] {
  const list = array(raw, 'send result').map((r) => {
    const o = object(r, 'acknowledged record');
    return { key: string(o['key'], 'record key'), value: o['value'], offset: offset(o['offset'], 'offset') };
  });
  const expected = new Set(sent.map((r) => `${r.key}\u0000${valueKey(r.value)}`));
  const got = new Set(list.map((r) => `${r.key}\u0000${valueKey(r.value)}`));
  if (list.length !== sent.length || got.size !== expected.size || [...got].some((k) => !expected.has(k))) {
    throw new ShapeError('the acknowledged records are not the records sent');
  }
  return list;
}

function pollResult(raw: unknown): PollResult {
  const o = object(raw, 'poll result');
  const msgs = new Map<string, Array<readonly [number, unknown]>>();
  for (const [key, list] of Object.entries(object(o['msgs'], 'msgs'))) {
    msgs.set(
      key,
      array(list, `msgs of ${key}`).map((pair) => {
        const p = array(pair, 'message');
        if (p.length !== 2) throw new ShapeError(`a message of ${key} is not [offset, value]`);
        return [offset(p[0], 'message offset'), p[1]] as const;
      }),
    );
  }
  return { msgs, hw: offsets(o['hw'], 'hw') };
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ShapeError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function array(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new ShapeError(`${what} must be an array`);
  return v;
}

function string(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new ShapeError(`${what} must be a string`);
  return v;
}

function strings(v: unknown, what: string): string[] {
  return array(v, what).map((s) => string(s, what));
}

function offset(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ShapeError(`${what} must be a non-negative integer, not ${JSON.stringify(v)}`);
  }
  return v;
}

function offsets(v: unknown, what: string): Map<string, number> {
  return new Map(Object.entries(object(v, what)).map(([k, n]) => [k, offset(n, `${what}.${k}`)]));
}

function nullableOffsets(v: unknown, what: string): Map<string, number | null> {
  return new Map(Object.entries(object(v, what)).map(([k, n]) => [k, n === null ? null : offset(n, `${what}.${k}`)]));
}
