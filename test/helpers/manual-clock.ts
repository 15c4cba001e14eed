/**
 * A Clock (src/wire/clock.ts) whose time moves only when the test moves it: advance(ms) runs, in
 * order, every timer that falls due by then, each at its time, and lets the turn end before the
 * next, so the promises a timer settled run at its time too (as test/sim/world.ts does). A test
 * can so say "nothing happened before the timeout" and "it happened after" without sleeping, and
 * without betting on how fast the machine is.
 *
 * soon() is not time: it runs at the end of the real event-loop turn (setImmediate), as on the
 * system clock. Sockets stay real too, so what a timer starts (a request) is awaited in the test
 * by its effect, not by moving the clock.
 */
import { repeatEvery, type Clock, type Timer } from '../../src/wire/clock.js';

const turnEnds = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Scheduled {
  readonly at: number;
  /** Timers due at the same time run in the order they were set. */
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private scheduled: Scheduled[] = [];

  /** Starts at a plausible epoch time, so timestamps taken from it look real. */
  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  elapsed(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): Timer {
    const s: Scheduled = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.scheduled.push(s);
    return { cancel: () => void (s.cancelled = true) };
  }

  every(ms: number, fn: () => void): Timer {
    if (!(ms > 0)) throw new Error(`every() needs a positive interval, not ${ms}`);
    return repeatEvery((after, f) => this.after(after, f), ms, fn);
  }

  soon(fn: () => void): void {
    setImmediate(fn);
  }

  /** Moves time on by `ms`, running each timer due by then (timers those set included) at its due time. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new Error(`time moves forward, not by ${ms} ms`);
    const end = this.time + ms;
    for (let due = this.nextDue(end); due !== null; due = this.nextDue(end)) {
      this.time = due.at;
      due.fn();
      await turnEnds();
    }
    this.time = end;
  }

  /** Timers set and neither run nor cancelled. */
  get pending(): number {
    return this.scheduled.filter((s) => !s.cancelled).length;
  }

  /** Takes the earliest timer due at or before `end` off the list. */
  private nextDue(end: number): Scheduled | null {
    this.scheduled = this.scheduled.filter((s) => !s.cancelled);
    let best: Scheduled | null = null;
    for (const s of this.scheduled) if (s.at <= end && (best === null || s.at < best.at || (s.at === best.at && s.seq < best.seq))) best = s;
    if (best !== null) this.scheduled.splice(this.scheduled.indexOf(best), 1);
    return best;
  }
}
