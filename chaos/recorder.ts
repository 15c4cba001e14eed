/**
 * Records a chaos run's history in the JSON Lines format of CHECKER.md (and chaos/checker/history.ts):
 *
 *     {"index":0,"time":1000,"process":3,"type":"invoke","f":"send","value":[{"key":"chaos/0","value":"3-0"}],"node":"n1"}
 *
 * One recorder per run: `index` is the event's position in the file and `time` nanoseconds since
 * the recorder was created, on one monotonic clock (process.hrtime), so event order in the file is
 * real-time order. The run is one Node.js process, so events are appended in the order they happen.
 *
 * Clients open an operation with `invoke` and close it with exactly one of `ok`, `fail` or `info`
 * (see outcome.ts for which). Process ids come from `newProcess()`: a worker whose operation ended
 * in `info` must take a new one. Nemesis events use process -1 (`NEMESIS`).
 */
import fs from 'node:fs';
import type { ClientFn, EventType, Fn, HistoryEvent, NemesisFn } from './checker/history.js';

export const NEMESIS = -1;

/** An operation that was invoked and not yet completed. */
export interface OpenOp {
  readonly process: number;
  readonly f: ClientFn;
  /** Nanoseconds on the run's clock. */
  readonly time: number;
  readonly node: string | undefined;
  done: boolean;
}

/** What a completed client operation looked like, for live statistics and the picture. */
export interface Completion {
  readonly f: ClientFn;
  readonly type: Exclude<EventType, 'invoke'>;
  readonly invokeNs: number;
  readonly completeNs: number;
}

export class Recorder {
  private readonly start = process.hrtime.bigint();
  private readonly fd: number;
  private index = 0;
  private nextProcess = 0;
  private closed = false;
  private readonly listeners: ((c: Completion) => void)[] = [];
  /** Events written, by type, for progress output. */
  readonly counts = { invoke: 0, ok: 0, fail: 0, info: 0 };

  /** Writes to `file` (created or truncated). */
  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w');
  }

  /** Nanoseconds since the recorder was created. */
  now(): number {
    return Number(process.hrtime.bigint() - this.start);
  }

  newProcess(): number {
    return this.nextProcess++;
  }

  onCompletion(listener: (c: Completion) => void): void {
    this.listeners.push(listener);
  }

  invoke(process: number, f: ClientFn, value: unknown, node?: string): OpenOp {
    const e = this.write(process, 'invoke', f, value, node, undefined);
    return { process, f, time: e.time, node, done: false };
  }

  ok(op: OpenOp, value: unknown = null, node?: string): void {
    this.complete(op, 'ok', value, node ?? op.node, undefined);
  }

  fail(op: OpenOp, error: string, node?: string): void {
    this.complete(op, 'fail', null, node ?? op.node, error);
  }

  info(op: OpenOp, error: string, node?: string): void {
    this.complete(op, 'info', null, node ?? op.node, error);
  }

  /** A nemesis event: `invoke` when a fault starts to be put in place, `ok`/`fail` when it is (or is not). */
  nemesis(type: EventType, f: NemesisFn, value: unknown, error?: string): void {
    this.write(NEMESIS, type, f, value, undefined, error);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }

  private complete(op: OpenOp, type: 'ok' | 'fail' | 'info', value: unknown, node: string | undefined, error: string | undefined): void {
    if (op.done) throw new Error(`recorder: operation ${op.f} of process ${op.process} completed twice (a bug in the workload)`);
    op.done = true;
    const e = this.write(op.process, type, op.f, value, node, error);
    const c: Completion = { f: op.f, type, invokeNs: op.time, completeNs: e.time };
    for (const l of this.listeners) l(c);
  }

  private write(process: number, type: EventType, f: Fn, value: unknown, node: string | undefined, error: string | undefined): HistoryEvent {
    if (this.closed) throw new Error(`recorder: ${type} ${f} of process ${process} after the history was closed (a worker outlived the run)`);
    const event: HistoryEvent = {
      index: this.index++,
      time: this.now(),
      process,
      type,
      f,
      value: value === undefined ? null : value,
      ...(node !== undefined ? { node } : {}),
      ...(error !== undefined ? { error } : {}),
    };
    fs.writeSync(this.fd, `${JSON.stringify(event)}\n`);
    this.counts[type]++;
    return event;
  }
}
