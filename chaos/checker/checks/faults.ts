/**
 * Fault windows and failover times.
 *
 * Nemesis actions cut the run into windows: each window starts at an action (the first at the
 * start of the history) and lasts until the next. Faults stay active until healed: `kill` until a
 * `restart`, `pause` until a `resume`, `partition` until a `heal`; a heal that names nodes heals
 * those, one that names none heals every fault of its kind. `corrupt` and `transfer` are instant.
 * Each window counts the client operations that completed in it, by outcome.
 *
 * The failover time of a fault (kill, pause, partition, corrupt, transfer) is the time from the
 * fault to the completion of the first successful send invoked after it.
 */
import { unreachable } from '../errors.js';
import { show, type NemesisFn } from '../history.js';
import type { ClientOp, NemesisAction } from '../ops.js';

export interface FaultWindow {
  /** Nanoseconds. */
  readonly start: number;
  /** Null for the last window, which lasts until the end of the history. */
  readonly end: number | null;
  /** The action that opened the window; null for the first window. */
  readonly openedBy: string | null;
  /** The faults active during the window, e.g. `kill n1`; empty when all is healthy. */
  readonly active: readonly string[];
  ok: number;
  info: number;
  fail: number;
}

export interface FailoverTime {
  readonly fault: string;
  /** Event index of the fault. */
  readonly index: number;
  /** Nanoseconds from the fault to the first successful send invoked after it; null if none. */
  readonly recoveryNs: number | null;
}

export interface FailoverStats {
  readonly faults: readonly FailoverTime[];
  readonly p50Ns: number | null;
  readonly p99Ns: number | null;
  readonly maxNs: number | null;
  /** Faults after which no send succeeded. */
  readonly unrecovered: number;
}

type FaultKind = 'kill' | 'pause' | 'partition';

/** The faults active after each action, in action order. */
export function activeFaults(nemesis: readonly NemesisAction[]): string[][] {
  const active = new Map<FaultKind, Set<string>>([
    ['kill', new Set()],
    ['pause', new Set()],
    ['partition', new Set()],
  ]);
  const out: string[][] = [];
  for (const n of nemesis) {
    const nodes = targets(n.value);
    const start = (kind: FaultKind, label: string[]): void => {
      for (const t of label.length === 0 ? ['*'] : label) active.get(kind)!.add(t);
    };
    const heal = (kind: FaultKind): void => {
      const set = active.get(kind)!;
      if (nodes.length === 0) set.clear();
      else for (const t of nodes) set.delete(t);
      if (nodes.length > 0 && [...set].every((t) => t === '*')) set.clear();
    };
    const f: NemesisFn = n.f;
    switch (f) {
      case 'kill':
      case 'pause':
        start(f, nodes);
        break;
      case 'partition':
        start('partition', [show(n.value ?? '*')]);
        break;
      case 'restart':
        heal('kill');
        break;
      case 'resume':
        heal('pause');
        break;
      case 'heal':
        active.get('partition')!.clear();
        break;
      case 'corrupt':
      case 'transfer':
      case 'membership':
      case 'attack':
        break;
      default:
        unreachable(f);
    }
    out.push([...active].flatMap(([kind, set]) => [...set].map((t) => `${kind} ${t}`)));
  }
  return out;
}

export function faultWindows(ops: readonly ClientOp[], nemesis: readonly NemesisAction[]): FaultWindow[] {
  const active = activeFaults(nemesis);
  const windows: FaultWindow[] = [{ start: Number.NEGATIVE_INFINITY, end: null, openedBy: null, active: [], ok: 0, info: 0, fail: 0 }];
  nemesis.forEach((n, i) => {
    const prev = windows[windows.length - 1]!;
    windows[windows.length - 1] = { ...prev, end: n.time };
    windows.push({ start: n.time, end: null, openedBy: describeAction(n), active: active[i]!, ok: 0, info: 0, fail: 0 });
  });
  const first = ops[0]?.invoke.time;
  windows[0] = { ...windows[0]!, start: Math.min(first ?? 0, windows[1]?.start ?? Number.POSITIVE_INFINITY) };
  for (const op of ops) {
    if (op.completion === undefined || op.outcome === 'open') continue;
    windows[windowAt(windows, op.completion.time)]![op.outcome]++;
  }
  return windows;
}

/** The last window starting at or before `time` (windows are in start order). */
function windowAt(windows: readonly FaultWindow[], time: number): number {
  let lo = 0;
  let hi = windows.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (windows[mid]!.start <= time) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const FAULTS: ReadonlySet<NemesisFn> = new Set<NemesisFn>(['kill', 'pause', 'partition', 'corrupt', 'transfer']);

export function failoverTimes(ops: readonly ClientOp[], nemesis: readonly NemesisAction[]): FailoverStats {
  // For each send in invoke order, the earliest ok completion among it and every later-invoked send.
  const sends = ops.filter((o) => o.f === 'send');
  const earliestOk = new Array<number>(sends.length + 1).fill(Number.POSITIVE_INFINITY);
  for (let i = sends.length - 1; i >= 0; i--) {
    const s = sends[i]!;
    const t = s.outcome === 'ok' && s.completion !== undefined ? s.completion.time : Number.POSITIVE_INFINITY;
    earliestOk[i] = Math.min(t, earliestOk[i + 1]!);
  }
  const faults: FailoverTime[] = nemesis
    .filter((n) => FAULTS.has(n.f))
    .map((n) => {
      let lo = 0;
      let hi = sends.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sends[mid]!.invoke.index > n.index) hi = mid;
        else lo = mid + 1;
      }
      const t = earliestOk[lo]!;
      return { fault: describeAction(n), index: n.index, recoveryNs: Number.isFinite(t) ? t - n.time : null };
    });
  const times = faults.flatMap((f) => (f.recoveryNs === null ? [] : [f.recoveryNs])).sort((a, b) => a - b);
  return {
    faults,
    p50Ns: percentile(times, 0.5),
    p99Ns: percentile(times, 0.99),
    maxNs: times.length === 0 ? null : times[times.length - 1]!,
    unrecovered: faults.length - times.length,
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function describeAction(n: NemesisAction): string {
  return n.value === undefined || n.value === null ? n.f : `${n.f} ${show(n.value)}`;
}

/** The node names an action targets: a string, or the strings inside arrays and objects. */
function targets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(targets);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(targets);
  return [];
}
