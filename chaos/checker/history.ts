/**
 * The history of a chaos run, as CHECKER.md defines it: one event per line of a JSON Lines file,
 *
 *     {"index":0,"time":1000,"process":3,"type":"invoke","f":"send","value":[{"key":"t1/0","value":"3-0"}]}
 *
 * `index` is the event's position in the file, `time` nanoseconds from one monotonic clock,
 * `process` one single-threaded client (-1 for the nemesis). A client operation is an `invoke`
 * Offsets and times are JSON numbers; offsets must be safe integers (checked on decoding), which
 * holds for any run a test can record. A client operation is an `invoke`
 * followed by its completion in the same process: `ok`, `fail` (certainly did not happen) or
 * `info` (may have happened, at any time after its invoke). Event order in the file is real-time
 * order: "A completed before B was invoked" means A's completion has a lower index than B's invoke.
 */

export const EventType = { Invoke: 'invoke', Ok: 'ok', Fail: 'fail', Info: 'info' } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];
export const EVENT_TYPES: readonly EventType[] = Object.values(EventType);

export const CLIENT_FNS = ['send', 'poll', 'assign', 'commit', 'fetchCommitted'] as const;
export type ClientFn = (typeof CLIENT_FNS)[number];

export const NEMESIS_FNS = [
  'kill',
  'restart',
  'pause',
  'resume',
  'partition',
  'heal',
  'corrupt',
  'transfer',
  // Beyond CHECKER.md's list: a membership change (raft/membership.ts), value { key, type, node }.
  'membership',
  // Beyond CHECKER.md's list: a hostile client's attack on a node (chaos/hostile.ts), value { attack, node, ... }; no fault of Raft's model.
  'attack',
] as const;
export type NemesisFn = (typeof NEMESIS_FNS)[number];

export type Fn = ClientFn | NemesisFn;

/** The process id of the nemesis, the actor that injects faults. */
export const NEMESIS_PROCESS = -1;

export interface HistoryEvent {
  readonly index: number;
  /** Nanoseconds on the run's one monotonic clock. */
  readonly time: number;
  readonly process: number;
  readonly type: EventType;
  readonly f: Fn;
  readonly value: unknown;
  /** The node the client talked to. */
  readonly node?: string;
  /** Why the operation failed, or why its outcome is unknown. */
  readonly error?: string;
}

export function isClientFn(f: string): f is ClientFn {
  return (CLIENT_FNS as readonly string[]).includes(f);
}

export function isNemesisFn(f: string): f is NemesisFn {
  return (NEMESIS_FNS as readonly string[]).includes(f);
}

export function isEventType(t: string): t is EventType {
  return (EVENT_TYPES as readonly string[]).includes(t);
}

/**
 * How an operation ended: `open` means the history ends before its completion (ill-formed, but
 * treated like `info` by the other checks: it may have happened).
 */
export type Outcome = 'ok' | 'fail' | 'info' | 'open';

/** A reference to one operation in a report: where it is and who ran it. */
export interface OpRef {
  /** Index of the operation's invoke event (for text logs: 0-based among the event lines). */
  readonly index: number;
  /** Index of its completion event, if it has one. */
  readonly completionIndex?: number;
  readonly process: number;
  readonly f: string;
  /** 1-based line in the input file, for text formats where lines and events differ. */
  readonly line?: number;
  /** A short rendering of the operation's value, e.g. `write 3` or `send t1/0=3-0`. */
  readonly value?: string;
}

/** Renders a JSON-like value for humans: strings bare, others as JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'undefined';
  return JSON.stringify(value);
}

/** The identity of a record value: values are unique in a run, so this keys writers and readers. */
export function valueKey(value: unknown): string {
  return typeof value === 'string' ? `s${value}` : `j${JSON.stringify(value)}`;
}

export function describeRef(ref: OpRef): string {
  const where = ref.line !== undefined ? `line ${ref.line}` : `#${ref.index}`;
  const what = ref.value !== undefined ? ` ${ref.value}` : '';
  return `${where} p${ref.process} ${ref.f}${what}`;
}
