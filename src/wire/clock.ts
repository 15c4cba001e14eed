/**
 * Time, as the client and the code that runs a node's replicas see it: what time it is, and
 * "call me later". Production passes `systemClock` (Date.now, setTimeout, setImmediate). The
 * simulator passes one clock per simulated node over its seeded event queue (test/sim/world.ts), so
 * the same host, partition and storage code runs there, in simulated time, and a seed replays
 * exactly; client tests pass a manual one (test/helpers/manual-clock.ts), so "not before the
 * timeout, and after it" is checked without sleeping.
 *
 * Everything a node schedules goes through its clock: a node the simulator crashes has every timer
 * it set cancelled with it. The client's own schedule does too (linger, retry backoff, heartbeats,
 * auto-commits, metadata age); how long a request may wait for its answer is the connection's,
 * measured on the system's timers, since the answer comes over a real socket.
 *
 * It lives here, beside the protocol, because the client and the server both take it and the
 * client imports nothing outside src/wire and src/client; storage/clock.ts re-exports it.
 */

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds of wall-clock time (record timestamps, producer expiry, segment age). */
  now(): number;
  /** A fine-grained monotonic reading in milliseconds, for measuring how long something took. */
  elapsed(): number;
  /** Calls `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): Timer;
  /** Calls `fn` every `ms`. */
  every(ms: number, fn: () => void): Timer;
  /** Calls `fn` once the current turn's work, and the promises it settled, are done (setImmediate). */
  soon(fn: () => void): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  elapsed: () => performance.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
  every: (ms, fn) => {
    const t = setInterval(fn, ms);
    return { cancel: () => clearInterval(t) };
  },
  soon: (fn) => void setImmediate(fn),
};

/** A promise that settles `ms` from now on `clock`. */
/**
 * `every` for a clock whose only timer is a one-shot `after` (the simulator's, a test's): `fn`
 * runs every `ms`, each run arming the next before it calls `fn`, until cancelled.
 */
export function repeatEvery(after: (ms: number, fn: () => void) => Timer, ms: number, fn: () => void): Timer {
  let current: Timer | null = null;
  let stopped = false;
  const arm = (): void => {
    current = after(ms, () => {
      if (stopped) return;
      arm();
      fn();
    });
  };
  arm();
  return {
    cancel: () => {
      stopped = true;
      current?.cancel();
    },
  };
}

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.after(ms, resolve));
}
