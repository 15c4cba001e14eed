/**
 * Pairs the events of a history into operations and checks that the history is well formed:
 * indices are positions, time never goes back, every invoke has a completion of the same `f`,
 * a process has at most one open operation and issues nothing after an `info`. Problems become
 * `malformed` anomalies; the operations are still built as well as possible (an invoke without
 * completion is an `open` operation: it may have happened) so the other checks can run.
 *
 * Nemesis events (process -1) are not paired strictly: an invoke followed by a completion of the
 * same `f` is one action at the completion's time (when the fault is in place), a lone event is
 * an action at its own time, and a `fail` means the fault was not injected.
 */
import type { Anomaly } from './anomaly.js';
import {
  isClientFn,
  isNemesisFn,
  NEMESIS_PROCESS,
  type ClientFn,
  type HistoryEvent,
  type NemesisFn,
  type OpRef,
  type Outcome,
} from './history.js';

export interface ClientOp {
  readonly process: number;
  readonly f: ClientFn;
  readonly invoke: HistoryEvent;
  readonly completion: HistoryEvent | undefined;
  readonly outcome: Outcome;
}

export interface NemesisAction {
  readonly f: NemesisFn;
  readonly time: number;
  /** Index of the event that put the fault in place. */
  readonly index: number;
  readonly value: unknown;
}

export interface PairedHistory {
  /** Client operations in invoke order. */
  readonly ops: readonly ClientOp[];
  /** Nemesis actions in time order. */
  readonly nemesis: readonly NemesisAction[];
  readonly problems: readonly Anomaly[];
}

export function pairOperations(events: readonly HistoryEvent[]): PairedHistory {
  const ops: ClientOp[] = [];
  const nemesis: NemesisAction[] = [];
  const problems: Anomaly[] = [];
  const malformed = (reason: string, ...indices: number[]): void => {
    problems.push({ kind: 'malformed', reason, events: indices });
  };
  const open = new Map<number, { invoke: HistoryEvent; f: ClientFn }>();
  const ended = new Map<number, number>();
  const nemesisOpen = new Map<NemesisFn, HistoryEvent>();
  let lastTime = Number.NEGATIVE_INFINITY;

  events.forEach((e, position) => {
    if (e.index !== position) malformed(`event at position ${position} has index ${e.index}`, e.index);
    if (e.time < lastTime) malformed(`time goes back from ${lastTime} to ${e.time}`, e.index);
    lastTime = Math.max(lastTime, e.time);

    if (e.process === NEMESIS_PROCESS) {
      if (!isNemesisFn(e.f)) return malformed(`the nemesis issues client operation ${e.f}`, e.index);
      if (e.type === 'invoke') {
        nemesisOpen.set(e.f, e);
        return;
      }
      const invoke = nemesisOpen.get(e.f);
      nemesisOpen.delete(e.f);
      if (e.type === 'fail') return;
      nemesis.push({ f: e.f, time: e.time, index: e.index, value: e.value ?? invoke?.value });
      return;
    }
    const f = e.f;
    if (!isClientFn(f)) return malformed(`client process ${e.process} issues nemesis operation ${f}`, e.index);

    if (e.type === 'invoke') {
      const infoAt = ended.get(e.process);
      if (infoAt !== undefined) malformed(`process ${e.process} invokes after its info`, infoAt, e.index);
      const previous = open.get(e.process);
      if (previous !== undefined) {
        malformed(`process ${e.process} has two open operations`, previous.invoke.index, e.index);
        ops.push(op(previous.f, previous.invoke, undefined));
      }
      open.set(e.process, { invoke: e, f });
      return;
    }
    const pending = open.get(e.process);
    if (pending === undefined) return malformed(`${e.type} ${f} of process ${e.process} without an invoke`, e.index);
    open.delete(e.process);
    if (pending.f !== f) {
      malformed(`invoke of ${pending.f} completed as ${f}`, pending.invoke.index, e.index);
      ops.push(op(pending.f, pending.invoke, undefined));
      return;
    }
    ops.push(op(f, pending.invoke, e));
    if (e.type === 'info') ended.set(e.process, e.index);
  });

  for (const { invoke, f } of open.values()) {
    malformed(`invoke of ${f} by process ${invoke.process} never completes`, invoke.index);
    ops.push(op(f, invoke, undefined));
  }
  for (const [f, invoke] of nemesisOpen) {
    nemesis.push({ f, time: invoke.time, index: invoke.index, value: invoke.value });
  }
  ops.sort((a, b) => a.invoke.index - b.invoke.index);
  nemesis.sort((a, b) => a.time - b.time || a.index - b.index);
  return { ops, nemesis, problems };
}

function op(f: ClientFn, invoke: HistoryEvent, completion: HistoryEvent | undefined): ClientOp {
  const outcome: Outcome = completion === undefined || completion.type === 'invoke' ? 'open' : completion.type;
  return { process: invoke.process, f, invoke, completion, outcome };
}

/** Index of the event after which the operation is over: its completion, or never. */
export function completedAt(op: ClientOp): number {
  return op.completion?.index ?? Number.POSITIVE_INFINITY;
}

export function refOf(op: ClientOp, value?: string): OpRef {
  return {
    index: op.invoke.index,
    ...(op.completion !== undefined ? { completionIndex: op.completion.index } : {}),
    process: op.process,
    f: op.outcome === 'ok' ? op.f : `${op.f}(${op.outcome})`,
    ...(value !== undefined ? { value } : {}),
  };
}
