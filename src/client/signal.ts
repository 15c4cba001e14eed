import type { Clock } from '../wire/clock.js';

/** A wake-up for a loop that sleeps: wait() resolves on wake() or after a timeout on `clock`. */
export class Signal {
  private woken = false;
  private waiter: (() => void) | null = null;

  constructor(private readonly clock: Clock) {}

  wake(): void {
    this.woken = true;
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Resolves at once if woken since the last wait, else on wake() or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = Number.isFinite(ms) ? this.clock.after(Math.max(0, ms), done) : null;
      const self = this;
      function done(): void {
        timer?.cancel();
        if (self.waiter === done) self.waiter = null;
        self.woken = false;
        resolve();
      }
      this.waiter = done;
    });
  }
}

/** Listeners by event name, typed by an event map. */
export class Emitter<E> {
  private readonly listeners: { [K in keyof E]?: Set<(e: E[K]) => void> } = {};

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: (e: E[K]) => void): () => void {
    const set = this.listeners[event] ?? new Set<(e: E[K]) => void>();
    set.add(listener);
    this.listeners[event] = set;
    return () => set.delete(listener);
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    for (const l of this.listeners[event] ?? []) l(payload);
  }
}
