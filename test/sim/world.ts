/**
 * Simulated time for the host simulation (host-simulation.ts): one seeded event queue, and a
 * storage/clock.ts Clock per node incarnation over it, so the real GroupHost, RaftGroup,
 * Partition, SyncLedger and SegmentLog run in simulated time.
 *
 * The run loop takes one event at a time, sets the time to it, runs it, and then lets every
 * promise it settled run to the end (one setImmediate: Node runs all queued microtasks first)
 * before it takes the next. Nothing in the simulated code waits on real I/O or real timers (its
 * disk is test/sim/sim-fs.ts, its clock this one), so the order of everything is fixed by the seed.
 *
 * A node's life ends at a crash: its timers and the settling of its disk's calls are dropped with
 * it (`Life.alive`), as a killed process's are.
 */
import { repeatEvery, type Clock, type Timer } from '../../src/wire/clock.js';
import { EventQueue } from './heap.js';

/** One incarnation of a simulated node. */
export class Life {
  alive = true;
}

interface Scheduled {
  readonly fn: () => void;
  readonly life: Life | null;
  cancelled: boolean;
}

const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class World {
  private readonly queue = new EventQueue<Scheduled>();
  /** Milliseconds of simulated time. */
  now = 0;
  events = 0;

  /** Runs `fn` at `at` (for `life`'s node only while it lives). */
  at(at: number, fn: () => void, life: Life | null = null): Timer {
    const s: Scheduled = { fn, life, cancelled: false };
    this.queue.push(Math.max(at, this.now), s);
    return { cancel: () => (s.cancelled = true) };
  }

  after(ms: number, fn: () => void, life: Life | null = null): Timer {
    return this.at(this.now + ms, fn, life);
  }

  /** A node's clock: wall time starts at `epoch` (record timestamps look real). */
  clock(life: Life, epoch = 1_700_000_000_000): Clock {
    return {
      now: () => epoch + Math.floor(this.now),
      elapsed: () => this.now,
      after: (ms, fn) => this.after(ms, fn, life),
      every: (ms, fn) => repeatEvery((after, f) => this.after(after, f, life), ms, fn),
      soon: (fn) => void this.after(0, fn, life),
    };
  }

  /** A promise that settles `ms` from now (for the simulated clients). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Runs events until `done()` or the queue is empty; `check` runs after each event and its promises. */
  async run(done: () => boolean, check: () => void): Promise<void> {
    while (!done()) {
      const ev = this.queue.pop();
      if (ev === undefined) return;
      const s = ev.item;
      if (s.cancelled || (s.life !== null && !s.life.alive)) continue;
      this.now = ev.time;
      this.events++;
      s.fn();
      await drain();
      check();
    }
  }
}
