/**
 * Retries with exponential backoff and jitter, kafkajs style: the first wait is
 * initialRetryTimeMs ± factor, each next one `multiplier` times longer, capped at maxRetryTimeMs.
 * Only retriable errors and unknown outcomes are retried, at most `retries` times and never past
 * a deadline.
 */
import { sleep, type Clock } from '../wire/clock.js';
import { RaftlogError, shouldRetry } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first. */
  readonly retries: number;
  readonly initialRetryTimeMs: number;
  readonly maxRetryTimeMs: number;
  /** Jitter: each wait is randomised by ± this fraction. */
  readonly factor?: number;
  readonly multiplier?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  retries: 5,
  initialRetryTimeMs: 300,
  maxRetryTimeMs: 30_000,
  factor: 0.2,
  multiplier: 2,
};

export function retryOptions(opts: Partial<RetryOptions> | undefined): Required<RetryOptions> {
  return { ...DEFAULT_RETRY, ...opts };
}

/**
 * Retries that go straight to the leader an error names, before backoff applies again: a leader
 * change answered with a hint costs no wait, and a stale hint cannot cause a tight loop.
 */
export const HINT_FOLLOWS_MAX = 3;

/** The waits between attempts, one per call to next(). */
export class Backoff {
  private base: number;
  attempts = 0;
  private hintsFollowed = 0;

  constructor(
    private readonly opts: Required<RetryOptions>,
    private readonly random: () => number = Math.random,
  ) {
    this.base = opts.initialRetryTimeMs;
  }

  /** Whether another retry is allowed by the count. */
  get exhausted(): boolean {
    return this.attempts >= this.opts.retries;
  }

  /** The wait before the next attempt; counts it. */
  next(): number {
    this.attempts++;
    const jitter = 1 + this.opts.factor * (2 * this.random() - 1);
    const wait = Math.min(this.base * jitter, this.opts.maxRetryTimeMs);
    this.base = Math.min(this.base * this.opts.multiplier, this.opts.maxRetryTimeMs);
    return Math.max(0, Math.round(wait));
  }

  /**
   * The wait before retrying after `err`, or null when the retries are used up: none when the
   * error names a leader to go to (at most HINT_FOLLOWS_MAX times), else next().
   */
  after(err: RaftlogError): number | null {
    if (err.leader && this.hintsFollowed < HINT_FOLLOWS_MAX) {
      this.hintsFollowed++;
      return 0;
    }
    if (this.exhausted) return null;
    return this.next();
  }

  reset(): void {
    this.base = this.opts.initialRetryTimeMs;
    this.attempts = 0;
    this.hintsFollowed = 0;
  }
}

export interface RetryContext {
  /** Epoch ms after which no new attempt starts. */
  readonly deadline?: number;
  /** Called before each retry, e.g. to refresh metadata; may throw to stop retrying. */
  readonly onRetry?: (err: RaftlogError, attempt: number) => void | Promise<void>;
  /** What the deadline is read on and the waits are slept on. */
  readonly clock: Clock;
}

/** The error that ended a retry loop, saying how long it tried. */
export function gaveUp(err: RaftlogError, attempts: number, elapsedMs: number): RaftlogError {
  if (attempts <= 1) return err;
  return err.withContext(`gave up after ${attempts} attempts in ${elapsedMs} ms`);
}

/** Runs `fn` until it succeeds, fails for good, runs out of retries or would pass the deadline. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: Required<RetryOptions>,
  ctx: RetryContext,
): Promise<T> {
  const { clock } = ctx;
  const started = clock.now();
  const backoff = new Backoff(opts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!shouldRetry(err)) throw err;
      const delay = backoff.after(err);
      if (delay === null || (ctx.deadline !== undefined && clock.now() + delay > ctx.deadline)) {
        throw gaveUp(err, attempt, clock.now() - started);
      }
      await sleep(clock, delay);
      if (ctx.onRetry) await ctx.onRetry(err, attempt);
    }
  }
}
