/**
 * Proposals waiting for their entry (src/host/proposal-waiters.ts): the entry at a proposal's
 * index tells whether it was the proposal's (same term) or another leader's; timeouts are per
 * waiter, on an injected clock.
 */
import { describe, expect, it } from 'vitest';
import { ProposalWaiters } from '../../src/host/proposal-waiters.js';
import type { Clock, Timer } from '../../storage/clock.js';

/** A clock whose time moves only when the test says: `advance` fires the timers that are due; `timers` counts those set. */
function manualClock(): Clock & { advance(ms: number): void; timers(): number } {
  let now = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  return {
    now: () => now,
    elapsed: () => now,
    after: (ms, fn): Timer => {
      const t = { at: now + ms, fn };
      timers.add(t);
      return { cancel: () => void timers.delete(t) };
    },
    every: () => {
      throw new Error('not used');
    },
    soon: (fn) => void setImmediate(fn),
    timers: () => timers.size,
    advance(ms) {
      now += ms;
      for (const t of [...timers].sort((a, b) => a.at - b.at)) {
        if (t.at > now) continue;
        timers.delete(t);
        t.fn();
      }
    },
  };
}

/** How a proposal's promise settled, so far: 'waiting', or its value, or its error's message. */
type Outcome<T> = { state: 'waiting' } | { state: 'resolved'; value: T } | { state: 'rejected'; message: string };

function track<T>(p: Promise<T>): { now: Outcome<T> } {
  const o: { now: Outcome<T> } = { now: { state: 'waiting' } };
  p.then(
    (value) => (o.now = { state: 'resolved', value }),
    (e: Error) => (o.now = { state: 'rejected', message: e.message }),
  );
  return o;
}

const settled = (): Promise<void> => new Promise((r) => setImmediate(r));
const replaced = (): Error => new Error('another leader took the index');

describe('proposal waiters', () => {
  it("resolve a proposal with the applied entry's value when the entry at its index has its term", async () => {
    const w = new ProposalWaiters<string>(manualClock());
    const p = track(w.wait(5, 2));

    w.settle(4, 2, replaced, 'not mine');
    await settled();
    expect(p.now).toEqual({ state: 'waiting' });

    w.settle(5, 2, replaced, 'created');
    await settled();
    expect(p.now).toEqual({ state: 'resolved', value: 'created' });
    expect(w.size).toBe(0);
  });

  it("§5.3: fail a proposal whose index holds another term's entry; it can never commit", async () => {
    const w = new ProposalWaiters<string>(manualClock());
    const p = track(w.wait(5, 2));

    w.settle(5, 3, replaced, 'the new leader wrote this');
    await settled();

    expect(p.now).toEqual({ state: 'rejected', message: 'another leader took the index' });
  });

  it("answer every proposal waiting on one index: the one of the entry's term succeeds, an older one fails", async () => {
    const w = new ProposalWaiters(manualClock());
    const old = track(w.wait(7, 1));
    const current = track(w.wait(7, 2));
    expect(w.size).toBe(2);

    w.settle(7, 2, replaced);
    await settled();

    expect(old.now).toEqual({ state: 'rejected', message: 'another leader took the index' });
    expect(current.now).toEqual({ state: 'resolved', value: undefined });
  });

  it("settle every proposal up to a stored index against that index's term, and leave the later ones waiting", async () => {
    const w = new ProposalWaiters(manualClock());
    const a = track(w.wait(3, 4));
    const b = track(w.wait(4, 3));
    const later = track(w.wait(6, 4));

    w.settleUpTo(5, 4, replaced);
    await settled();

    expect(a.now.state).toBe('resolved');
    expect(b.now.state).toBe('rejected');
    expect(later.now.state).toBe('waiting');
    expect(w.size).toBe(1);
  });

  it('time out one waiter and forget only it: a second on the same index still gets its answer', async () => {
    const clock = manualClock();
    const w = new ProposalWaiters<number>(clock);
    const patient = track(w.wait(9, 1, { ms: 60_000, error: () => new Error('patient timed out') }));
    const hasty = track(w.wait(9, 1, { ms: 20, error: () => new Error('hasty timed out') }));

    clock.advance(20);
    await settled();
    expect(hasty.now).toEqual({ state: 'rejected', message: 'hasty timed out' });
    expect(patient.now.state).toBe('waiting');
    expect(w.size).toBe(1);

    w.settle(9, 1, replaced, 42);
    await settled();
    expect(patient.now).toEqual({ state: 'resolved', value: 42 });
  });

  it('cancel the timeout of an answered proposal, whether it succeeded or failed', async () => {
    const clock = manualClock();
    const w = new ProposalWaiters<number>(clock);
    const ok = track(w.wait(2, 1, { ms: 10, error: () => new Error('timed out') }));
    const failed = track(w.wait(3, 1, { ms: 10, error: () => new Error('timed out') }));
    expect(clock.timers()).toBe(2);

    w.settle(2, 1, replaced, 1);
    w.settle(3, 2, replaced, 0);
    expect(clock.timers()).toBe(0);
    clock.advance(10);
    await settled();

    expect(ok.now).toEqual({ state: 'resolved', value: 1 });
    expect(failed.now).toEqual({ state: 'rejected', message: 'another leader took the index' });
  });

  it('fail every waiting proposal when the group closes', async () => {
    const w = new ProposalWaiters(manualClock());
    const ps = [track(w.wait(1, 1)), track(w.wait(2, 1)), track(w.wait(2, 1))];

    w.failAll(new Error('shutting down'));
    await settled();

    expect(ps.map((p) => p.now)).toEqual(Array(3).fill({ state: 'rejected', message: 'shutting down' }));
    expect(w.size).toBe(0);
  });
});
