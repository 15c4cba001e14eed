/** The reply budget of one connection (src/server/reply-budget.ts), on its own. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReplyBudget, type Reservation } from '../../src/server/reply-budget.js';

const MAX = 1000;

function budget(passBytesMax = 0): { b: ReplyBudget; events: string[]; gauge: () => number } {
  const events: string[] = [];
  let bytes = 0;
  const b = new ReplyBudget(
    { bytesMax: MAX, stallMs: 5000 },
    {
      pressure: (over) => events.push(over ? 'pause' : 'resume'),
      stalled: () => events.push('stalled'),
      bytes: (d) => (bytes += d),
    },
    passBytesMax,
  );
  return { b, events, gauge: () => bytes };
}

/** Whether `p` has settled once queued work has run; its value if so. */
async function settled<T>(p: Promise<T>): Promise<{ value: T } | null> {
  let out: { value: T } | null = null;
  void p.then((value) => (out = { value }));
  await vi.advanceTimersByTimeAsync(0);
  return out;
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('a reply budget', () => {
  it('admits reservations while they fit, and then in order: a smaller one does not pass a larger one waiting, a request reserving nothing does', async () => {
    const { b } = budget();
    const first = (await b.reserve(600))!;
    const big = b.reserve(600);
    const small = b.reserve(100);
    const free = b.reserve(0);
    expect(await settled(big)).toBeNull();
    expect(await settled(small)).toBeNull();
    expect(await settled(free)).not.toBeNull();
    first.release();
    expect(await settled(big)).not.toBeNull();
    expect(await settled(small)).not.toBeNull();
  });

  it('lets a small reservation pass a larger one waiting, where the connection allows it, when it fits', async () => {
    const { b } = budget(100);
    const first = (await b.reserve(600))!;
    const big = b.reserve(600);
    const small = b.reserve(100);
    const tooMany = b.reserve(400);
    expect(await settled(big)).toBeNull();
    expect(await settled(small)).not.toBeNull();
    expect(await settled(tooMany)).toBeNull();
    first.release();
    expect(await settled(big)).not.toBeNull();
  });

  it('lets a reservation larger than the limit through alone, and only alone', async () => {
    const { b } = budget();
    const small = (await b.reserve(10))!;
    const huge = b.reserve(5 * MAX);
    expect(await settled(huge)).toBeNull();
    small.release();
    expect(await settled(huge)).not.toBeNull();
    expect(b.bytes).toBe(5 * MAX);
  });

  it('counts a reply handed to the socket in place of its room, and lets it go once written out', async () => {
    const { b, gauge } = budget();
    const room = (await b.reserve(400))!;
    const written = room.handed(300);
    room.release();
    expect([b.bytes, gauge()]).toEqual([300, 300]);
    written();
    written();
    expect([b.bytes, gauge()]).toEqual([0, 0]);
  });

  it('stops reading at the limit and reads again under half of it', async () => {
    const { b, events } = budget();
    const a = (await b.reserve(0))!.handed(MAX);
    expect(events).toEqual(['pause']);
    const c = b.handed(100);
    a();
    expect(events).toEqual(['pause', 'resume']);
    c();
  });

  it('calls a connection stalled only when its unwritten replies stay at the limit with none written out for the stall time', async () => {
    const { b, events } = budget();
    const done: (() => void)[] = [];
    for (let i = 0; i < 4; i++) done.push(b.handed(MAX / 2));
    await vi.advanceTimersByTimeAsync(4000);
    // One reply written out: the client reads, slowly; the clock starts again.
    done.shift()!();
    await vi.advanceTimersByTimeAsync(4000);
    expect(events).not.toContain('stalled');
    await vi.advanceTimersByTimeAsync(1000);
    expect(events).toContain('stalled');
  });

  it('answers what waits with null once closed, and counts nothing after', async () => {
    const { b, gauge } = budget();
    const held: Reservation = (await b.reserve(MAX))!;
    const waiting = b.reserve(10);
    b.close();
    expect(await settled(waiting)).toEqual({ value: null });
    expect(await b.reserve(1)).toBeNull();
    held.release();
    expect(gauge()).toBe(0);
  });
});
