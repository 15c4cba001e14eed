/**
 * Builds small log histories for tests, one event at a time, with `index` and `time` filled in:
 * every event is 1 ms after the previous one unless `at(ns)` moves the clock.
 *
 *     const h = new HistoryBuilder();
 *     h.send(0, 't/0', 'a', 0);                  // invoke + ok at offset 0
 *     const p = h.invoke(1, 'poll', { from: { 't/0': 0 } });
 *     h.ok(p, { msgs: { 't/0': [[0, 'a']] }, hw: { 't/0': 1 } });
 */
import type { ClientFn, HistoryEvent, NemesisFn } from '../../chaos/checker/history.js';

export const STEP_NS = 1_000_000;

export interface Pending {
  readonly process: number;
  readonly f: ClientFn;
}

type Msgs = Record<string, Array<[number, unknown]>>;

export class HistoryBuilder {
  private readonly events: HistoryEvent[] = [];
  private clock = 0;

  /** Moves the clock to `ns` for the next event (it may go back, to build ill-formed histories). */
  at(ns: number): this {
    this.clock = ns - STEP_NS;
    return this;
  }

  get now(): number {
    return this.clock;
  }

  raw(e: Omit<HistoryEvent, 'index' | 'time'> & { time?: number }): this {
    const { time, ...rest } = e;
    this.clock = time ?? this.clock + STEP_NS;
    this.events.push({ index: this.events.length, time: this.clock, ...rest });
    return this;
  }

  invoke(process: number, f: ClientFn, value: unknown): Pending {
    this.raw({ process, type: 'invoke', f, value });
    return { process, f };
  }

  ok(p: Pending, value: unknown = null): this {
    return this.raw({ process: p.process, type: 'ok', f: p.f, value });
  }

  fail(p: Pending, error = 'not leader'): this {
    return this.raw({ process: p.process, type: 'fail', f: p.f, value: null, error });
  }

  info(p: Pending, error = 'timeout'): this {
    return this.raw({ process: p.process, type: 'info', f: p.f, value: null, error });
  }

  /** A send of one record acknowledged at `offset`. */
  send(process: number, key: string, value: string, offset: number): this {
    return this.ok(this.invoke(process, 'send', [{ key, value }]), [{ key, value, offset }]);
  }

  /** A send of one record with outcome `info` or `fail`. */
  sendUnsure(process: number, key: string, value: string, outcome: 'info' | 'fail'): this {
    const p = this.invoke(process, 'send', [{ key, value }]);
    return outcome === 'info' ? this.info(p) : this.fail(p);
  }

  poll(process: number, from: Record<string, number>, msgs: Msgs, hw: Record<string, number>): this {
    return this.ok(this.invoke(process, 'poll', { from }), { msgs, hw });
  }

  assign(process: number, group: string | null, seek: unknown, start: Record<string, number>): this {
    const keys = Object.keys(start);
    return this.ok(this.invoke(process, 'assign', { ...(group === null ? {} : { group }), keys, seek }), { start });
  }

  commit(process: number, group: string, offsets: Record<string, number>, outcome: 'ok' | 'info' | 'fail' = 'ok'): this {
    const p = this.invoke(process, 'commit', { group, offsets });
    return outcome === 'ok' ? this.ok(p) : outcome === 'info' ? this.info(p) : this.fail(p);
  }

  fetchCommitted(process: number, group: string, offsets: Record<string, number | null>): this {
    return this.ok(this.invoke(process, 'fetchCommitted', { group, keys: Object.keys(offsets) }), { offsets });
  }

  /** A nemesis action as Jepsen records it: an invoke, then an info once the fault is in place. */
  nemesis(f: NemesisFn, value: unknown = null): this {
    this.raw({ process: -1, type: 'invoke', f, value });
    return this.raw({ process: -1, type: 'info', f, value });
  }

  build(): HistoryEvent[] {
    return [...this.events];
  }

  jsonl(): string {
    return this.events.map((e) => JSON.stringify(e)).join('\n') + '\n';
  }
}
