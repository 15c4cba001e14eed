/**
 * The one pass over a log history that the log checks share (CHECKER.md, "Build once"): for each
 * key `log[key]: offset → values` from acknowledged sends and every poll, `writers[value]` (the
 * send that carried it), `readers[value]` (the polls that returned it), and the must-have-happened
 * writes: acknowledged, or `info`/open but read by someone.
 */
import type { Anomaly } from '../anomaly.js';
import { unreachable } from '../errors.js';
import { valueKey } from '../history.js';
import type { ClientOp } from '../ops.js';
import type { LogOp } from '../values.js';

export type SendOp = Extract<LogOp, { f: 'send' }>;
export type PollOp = Extract<LogOp, { f: 'poll' }>;
export type AssignOp = Extract<LogOp, { f: 'assign' }>;
export type CommitOp = Extract<LogOp, { f: 'commit' }>;
export type FetchCommittedOp = Extract<LogOp, { f: 'fetchCommitted' }>;

/** A value at an offset of a key, as an acknowledgement or a poll reported it. */
export interface Observation {
  readonly key: string;
  readonly offset: number;
  readonly value: unknown;
  readonly op: ClientOp;
  readonly by: 'ack' | 'read';
}

/** One record of one send. */
export interface Write {
  readonly key: string;
  readonly value: unknown;
  readonly send: ClientOp;
  /** The offset the acknowledgement gave, or null if the send was not acknowledged. */
  readonly ackOffset: number | null;
}

export interface LogIndex {
  readonly sends: readonly SendOp[];
  readonly polls: readonly PollOp[];
  readonly assigns: readonly AssignOp[];
  readonly commits: readonly CommitOp[];
  readonly fetches: readonly FetchCommittedOp[];
  /** key → offset → value key (`valueKey`) → observations. */
  readonly log: ReadonlyMap<string, ReadonlyMap<number, ReadonlyMap<string, readonly Observation[]>>>;
  /** value key → the write that carried it. */
  readonly writers: ReadonlyMap<string, Write>;
  /** value key → the polls' observations of it. */
  readonly readers: ReadonlyMap<string, readonly Observation[]>;
  readonly mustHaveHappened: readonly Write[];
  /** Values sent twice (the recorder's rule is that every value is unique). */
  readonly problems: readonly Anomaly[];
}

export function buildLogIndex(ops: readonly LogOp[]): LogIndex {
  const sends: SendOp[] = [];
  const polls: PollOp[] = [];
  const assigns: AssignOp[] = [];
  const commits: CommitOp[] = [];
  const fetches: FetchCommittedOp[] = [];
  const log = new Map<string, Map<number, Map<string, Observation[]>>>();
  const writers = new Map<string, Write>();
  const readers = new Map<string, Observation[]>();
  const problems: Anomaly[] = [];

  const observe = (o: Observation): void => {
    const offsets = getOrSet(log, o.key, () => new Map<number, Map<string, Observation[]>>());
    const values = getOrSet(offsets, o.offset, () => new Map<string, Observation[]>());
    getOrSet(values, valueKey(o.value), () => []).push(o);
    if (o.by === 'read') getOrSet(readers, valueKey(o.value), () => []).push(o);
  };

  for (const lop of ops) {
    switch (lop.f) {
      case 'send': {
        sends.push(lop);
        for (const r of lop.records) {
          const k = valueKey(r.value);
          const ack = lop.acked?.find((a) => a.key === r.key && valueKey(a.value) === k);
          const earlier = writers.get(k);
          if (earlier !== undefined) {
            problems.push({
              kind: 'malformed',
              reason: `value ${JSON.stringify(r.value)} is sent twice`,
              events: [earlier.send.invoke.index, lop.op.invoke.index],
            });
            continue;
          }
          writers.set(k, { key: r.key, value: r.value, send: lop.op, ackOffset: ack?.offset ?? null });
          if (ack !== undefined) observe({ key: r.key, offset: ack.offset, value: r.value, op: lop.op, by: 'ack' });
        }
        break;
      }
      case 'poll':
        polls.push(lop);
        for (const [key, msgs] of lop.result?.msgs ?? []) {
          for (const [offset, value] of msgs) observe({ key, offset, value, op: lop.op, by: 'read' });
        }
        break;
      case 'assign':
        assigns.push(lop);
        break;
      case 'commit':
        commits.push(lop);
        break;
      case 'fetchCommitted':
        fetches.push(lop);
        break;
      default:
        unreachable(lop);
    }
  }

  const mustHaveHappened = [...writers.values()].filter(
    (w) => w.send.outcome === 'ok' || (w.send.outcome !== 'fail' && readers.has(valueKey(w.value))),
  );
  return { sends, polls, assigns, commits, fetches, log, writers, readers, mustHaveHappened, problems };
}

/**
 * Where a write landed: its acknowledged offset, or else the lowest offset of its key at which a
 * poll read it; null if neither is known.
 */
export function offsetOf(index: LogIndex, w: Write): number | null {
  if (w.ackOffset !== null) return w.ackOffset;
  let lowest: number | null = null;
  for (const o of index.readers.get(valueKey(w.value)) ?? []) {
    if (o.key === w.key && (lowest === null || o.offset < lowest)) lowest = o.offset;
  }
  return lowest;
}

export function getOrSet<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}
