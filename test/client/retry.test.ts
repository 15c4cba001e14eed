import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/wire/protocol.js';
import { RaftlogError, fromApiError } from '../../src/client/errors.js';
import { Backoff, DEFAULT_RETRY, withRetry } from '../../src/client/retry.js';
import type { Clock } from '../../src/wire/clock.js';

/** A clock on which every wait is over at once: time jumps ahead by it, and each wait is noted. */
function jumpingClock(): Clock & { readonly waits: number[] } {
  let time = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => time,
    elapsed: () => time,
    after: (ms, fn) => {
      waits.push(ms);
      time += ms;
      queueMicrotask(fn);
      return { cancel: () => undefined };
    },
    every: () => {
      throw new Error('withRetry sets no interval');
    },
    soon: (fn) => queueMicrotask(fn),
  };
}

const retriable = (): RaftlogError => fromApiError({ code: ErrorCode.NotLeader, message: 'x' });
const fatal = (): RaftlogError => fromApiError({ code: ErrorCode.InvalidTopic, message: 'x' });

describe('retry', () => {
  it('backs off exponentially with ±20% jitter, capped at maxRetryTimeMs', () => {
    const low = new Backoff(DEFAULT_RETRY, () => 0);
    const high = new Backoff(DEFAULT_RETRY, () => 1);
    const mid = new Backoff({ ...DEFAULT_RETRY, maxRetryTimeMs: 1000 }, () => 0.5);
    expect([low.next(), low.next(), low.next()]).toEqual([240, 480, 960]);
    expect([high.next(), high.next()]).toEqual([360, 720]);
    expect([mid.next(), mid.next(), mid.next(), mid.next(), mid.next()]).toEqual([300, 600, 1000, 1000, 1000]);
    expect(mid.exhausted).toBe(true);
  });

  it('follows a leader hint at once, a few times, then backs off again', () => {
    const b = new Backoff(DEFAULT_RETRY, () => 0.5);
    const hinted = fromApiError({ code: ErrorCode.NotLeader, message: 'x', leader: { id: 'n2', address: 'h:2' } });
    expect([b.after(hinted), b.after(hinted), b.after(hinted), b.after(hinted)]).toEqual([0, 0, 0, 300]);
    const once = new Backoff({ ...DEFAULT_RETRY, retries: 1 }, () => 0.5);
    expect([once.after(retriable()), once.after(retriable())]).toEqual([300, null]);
  });

  it('retries retriable errors and unknown outcomes, not others', async () => {
    let n = 0;
    const clock = jumpingClock();
    const opts = { ...DEFAULT_RETRY, initialRetryTimeMs: 10 };
    const ok = await withRetry(
      async () => {
        n++;
        if (n === 1) throw retriable();
        if (n === 2) throw fromApiError({ code: ErrorCode.RequestTimedOut, message: 'lost' });
        return 'done';
      },
      opts,
      { clock },
    );
    expect(ok).toBe('done');
    expect(clock.waits).toHaveLength(2);
    let m = 0;
    await expect(
      withRetry(async () => {
        m++;
        throw fatal();
      }, opts, { clock }),
    ).rejects.toMatchObject({ code: ErrorCode.InvalidTopic });
    expect(m).toBe(1);
  });

  it('stops after `retries` retries and before the deadline, saying so', async () => {
    let n = 0;
    const err = await withRetry(
      async () => {
        n++;
        throw retriable();
      },
      { ...DEFAULT_RETRY, retries: 3 },
      { clock: jumpingClock() },
    ).catch((e: unknown) => e);
    expect(n).toBe(4);
    expect((err as RaftlogError).message).toMatch(/^gave up after 4 attempts/);
    expect((err as RaftlogError).code).toBe(ErrorCode.NotLeader);
    const clock = jumpingClock();
    let k = 0;
    await expect(
      withRetry(
        async () => {
          k++;
          throw retriable();
        },
        { ...DEFAULT_RETRY, retries: 100 },
        { deadline: 1000, clock },
      ),
    ).rejects.toBeInstanceOf(RaftlogError);
    expect(k).toBeLessThan(5);
    expect(clock.now()).toBeLessThanOrEqual(1000);
  });
});
