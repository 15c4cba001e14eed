/**
 * The closed list of anomalies the checker reports, one kind per row of CHECKER.md's table plus
 * `nonlinearizable` for register and key-value histories. Each names the operations involved.
 */
import { unreachable } from './errors.js';
import { describeRef, show, type OpRef } from './history.js';
import type { Witness } from './lin/wgl.js';

export const ANOMALY_KINDS = [
  'malformed',
  'inconsistent-offsets',
  'duplicate',
  'garbage-read',
  'aborted-read',
  'lost-write',
  'unseen',
  'offset-gap',
  'poll-order',
  'send-order',
  'real-time-order',
  'stale-read',
  'committed-offsets',
  'resume-position',
  'replica-disagreement',
  'replica-set',
  'liveness',
  'nonlinearizable',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** A record placed at an offset of a key, and who put it there or saw it. */
export interface Placement {
  readonly key: string;
  readonly offset: number;
  readonly value: unknown;
}

export type Anomaly =
  /** The history breaks the recorder's rules; `events` are the event indices involved. */
  | { readonly kind: 'malformed'; readonly reason: string; readonly events: readonly number[] }
  /** One offset of a key holds two or more values; `ops` saw them. */
  | {
      readonly kind: 'inconsistent-offsets';
      readonly key: string;
      readonly offset: number;
      readonly values: readonly unknown[];
      readonly ops: readonly OpRef[];
    }
  /** One value at two or more positions. */
  | {
      readonly kind: 'duplicate';
      readonly value: unknown;
      readonly at: readonly Placement[];
      readonly ops: readonly OpRef[];
    }
  /** A polled value that no send of that key carried. */
  | { readonly kind: 'garbage-read'; readonly at: Placement; readonly readers: readonly OpRef[] }
  /** A polled value whose send failed. */
  | { readonly kind: 'aborted-read'; readonly at: Placement; readonly writer: OpRef; readonly readers: readonly OpRef[] }
  /** A must-have-happened value that no one read although a read reached a higher offset. */
  | {
      readonly kind: 'lost-write';
      readonly at: Placement;
      readonly writer: OpRef;
      readonly readOffset: number;
      readonly reachedBy: OpRef;
    }
  /** After final reads, an acknowledged value no one ever read. */
  | { readonly kind: 'unseen'; readonly at: Placement; readonly writer: OpRef }
  /** After final reads, offsets `from`..`to` of a key between log start and high watermark never observed. */
  | {
      readonly kind: 'offset-gap';
      readonly key: string;
      readonly from: number;
      readonly to: number;
      readonly logStart: number;
      readonly highWatermark: number;
    }
  /** A poll returned offset `actual` where `expected` was due; `previous` set the expectation. */
  | {
      readonly kind: 'poll-order';
      readonly key: string;
      readonly expected: number;
      readonly actual: number;
      readonly op: OpRef;
      readonly previous: OpRef | null;
    }
  /** One producer's later send to a key landed below its earlier one. */
  | {
      readonly kind: 'send-order';
      readonly key: string;
      readonly earlier: OpRef;
      readonly earlierOffset: number;
      readonly later: OpRef;
      readonly laterOffset: number;
    }
  /** Send `earlier` was acknowledged before `later` was invoked, yet landed at a higher offset. */
  | {
      readonly kind: 'real-time-order';
      readonly key: string;
      readonly earlier: OpRef;
      readonly earlierOffset: number;
      readonly later: OpRef;
      readonly laterOffset: number;
    }
  /** A poll's high watermark hides what `cause` made visible before the poll began. */
  | {
      readonly kind: 'stale-read';
      readonly key: string;
      readonly poll: OpRef;
      readonly highWatermark: number;
      readonly cause:
        | { readonly by: 'send'; readonly op: OpRef; readonly offset: number }
        | { readonly by: 'poll'; readonly op: OpRef; readonly highWatermark: number };
    }
  /** The committed offset of (group, key) is not a linearizable register. */
  | { readonly kind: 'committed-offsets'; readonly group: string; readonly key: string; readonly witness: Witness }
  /** A consumer resumed from the committed offset at a position no commit allows. */
  | {
      readonly kind: 'resume-position';
      readonly group: string;
      readonly key: string;
      readonly assign: OpRef;
      readonly start: number;
      readonly allowed: readonly number[];
      readonly commit: OpRef;
    }
  /** Replicas' committed logs differ at an offset below the lowest commit index. */
  | {
      readonly kind: 'replica-disagreement';
      readonly key: string;
      readonly offset: number;
      /** The value each replica holds there; null when it has no entry. */
      readonly values: Readonly<Record<string, unknown>>;
    }
  /** After a run that moved replicas, a partition is not held by exactly its target, or its replicas disagree on the configuration (checks/placement.ts). */
  | { readonly kind: 'replica-set'; readonly key: string; readonly target: readonly string[]; readonly reason: string }
  /** After the final heal, operations did not succeed again within the bound. */
  | { readonly kind: 'liveness'; readonly reason: string; readonly ops: readonly OpRef[] }
  /** A register or key-value history (or one key of it) is not linearizable. */
  | { readonly kind: 'nonlinearizable'; readonly partition: string; readonly witness: Witness };

/** One line saying what is wrong and which operations show it. */
export function describeAnomaly(a: Anomaly): string {
  switch (a.kind) {
    case 'malformed':
      return `${a.reason} (events ${a.events.join(', ')})`;
    case 'inconsistent-offsets':
      return `${a.key}@${a.offset} holds ${a.values.map(show).join(' and ')}; seen by ${refs(a.ops)}`;
    case 'duplicate':
      return `${show(a.value)} at ${a.at.map(place).join(' and ')}; seen by ${refs(a.ops)}`;
    case 'garbage-read':
      return `${show(a.at.value)} read at ${place(a.at)} was never sent there; read by ${refs(a.readers)}`;
    case 'aborted-read':
      return `${show(a.at.value)} read at ${place(a.at)} was sent by failed ${describeRef(a.writer)}; read by ${refs(a.readers)}`;
    case 'lost-write':
      return `${show(a.at.value)} at ${place(a.at)} (${describeRef(a.writer)}) never read, though ${describeRef(a.reachedBy)} read offset ${a.readOffset}`;
    case 'unseen':
      return `${show(a.at.value)} at ${place(a.at)} (${describeRef(a.writer)}) acknowledged but never read`;
    case 'offset-gap':
      return `${a.key} offsets ${a.from}..${a.to} never observed (log ${a.logStart}..${a.highWatermark})`;
    case 'poll-order':
      return `${describeRef(a.op)} read ${a.key}@${a.actual} where ${a.expected} was due${a.previous === null ? '' : ` after ${describeRef(a.previous)}`}`;
    case 'send-order':
      return `${describeRef(a.later)} landed at ${a.key}@${a.laterOffset}, below the same producer's earlier ${describeRef(a.earlier)} at ${a.earlierOffset}`;
    case 'real-time-order':
      return `${describeRef(a.earlier)} acknowledged at ${a.key}@${a.earlierOffset} before ${describeRef(a.later)} was invoked, which landed lower at ${a.laterOffset}`;
    case 'stale-read': {
      const cause =
        a.cause.by === 'send'
          ? `${describeRef(a.cause.op)} acknowledged offset ${a.cause.offset}`
          : `${describeRef(a.cause.op)} saw high watermark ${a.cause.highWatermark}`;
      return `${describeRef(a.poll)} saw ${a.key} high watermark ${a.highWatermark} after ${cause}`;
    }
    case 'committed-offsets':
      return `group ${a.group} ${a.key}: ${describeWitness(a.witness)}`;
    case 'resume-position':
      return `group ${a.group} ${a.key}: ${describeRef(a.assign)} resumed at ${a.start}, but after ${describeRef(a.commit)} only ${a.allowed.join(' or ')} could be committed`;
    case 'replica-disagreement':
      return `${a.key}@${a.offset}: ${Object.entries(a.values)
        .map(([node, v]) => `${node}=${v === null ? 'missing' : show(v)}`)
        .join(' ')}`;
    case 'replica-set':
      return `${a.key} (target ${a.target.join(',')}): ${a.reason}`;
    case 'liveness':
      return a.ops.length === 0 ? a.reason : `${a.reason}: ${refs(a.ops)}`;
    case 'nonlinearizable':
      return `${a.partition === '' ? '' : `key ${a.partition}: `}${describeWitness(a.witness)}`;
    default:
      return unreachable(a);
  }
}

export function describeWitness(w: Witness): string {
  const before = w.before.length === 0 ? 'nothing' : w.before.map(describeRef).join(', ');
  return `${describeRef(w.op)} cannot take effect; furthest linearization: ${w.linearized} of ${w.total} ops (last: ${before}), state ${w.state}`;
}

function refs(list: readonly OpRef[]): string {
  return list.map(describeRef).join(', ');
}

function place(p: Placement): string {
  return `${p.key}@${p.offset}`;
}
