/**
 * The producer's accumulator (src/client/accumulator.ts) on a clock the test moves: when a batch
 * closes is decided by linger, size and whether its partition is busy, so each rule is checked
 * at the millisecond it applies, and just before.
 */
import { describe, expect, it } from 'vitest';
import { Accumulator, SendOp, type PartitionQueue } from '../../src/client/accumulator.js';
import { DEFAULT_RETRY } from '../../src/client/retry.js';
import { ManualClock } from '../helpers/manual-clock.js';

const LINGER_MS = 5;
const EAGER_BYTES = 1000;

function accumulator(clock: ManualClock): { acc: Accumulator; closed: string[] } {
  const closed: string[] = [];
  const acc = new Accumulator({ lingerMs: LINGER_MS, batchBytes: 100_000, eagerBytes: EAGER_BYTES, retry: DEFAULT_RETRY, clock, onReady: (q: PartitionQueue) => void closed.push(`${q.topic}/${q.partition}`) });
  return { acc, closed };
}

/** Appends one record of about `bytes` bytes. */
function append(acc: Accumulator, partition: number, bytes = 10): void {
  acc.append('t', partition, 'all', { record: { value: new Uint8Array(bytes) }, bytes, op: new SendOp(1), index: 0 }, Infinity);
}

const turnEnds = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('accumulator', () => {
  it('a batch lingers lingerMs, and batches opened in one turn end their linger together', async () => {
    const clock = new ManualClock();
    const { acc, closed } = accumulator(clock);
    append(acc, 0);
    append(acc, 1);
    await clock.advance(LINGER_MS - 1);
    expect(closed).toEqual([]);
    await clock.advance(1);
    expect(closed).toEqual(['t/0', 't/1']);
  });

  it('a batch that reaches eagerBytes goes at the end of the turn, without waiting out its linger', async () => {
    const clock = new ManualClock();
    const { acc, closed } = accumulator(clock);
    append(acc, 0, EAGER_BYTES / 2);
    append(acc, 0, EAGER_BYTES / 2);
    // A record sent later in the same turn still joins it.
    append(acc, 0);
    expect(closed).toEqual([]);
    await turnEnds();
    expect(closed).toEqual(['t/0']);
    expect(acc.queue('t', 0).ready[0]?.records).toHaveLength(3);
  });

  it('a batch whose linger ends while its partition is busy stays open until the partition is free', async () => {
    const clock = new ManualClock();
    const { acc, closed } = accumulator(clock);
    const q = acc.queue('t', 0);
    q.inFlight = true;
    append(acc, 0);
    await clock.advance(LINGER_MS);
    expect(closed).toEqual([]);
    append(acc, 0);
    expect(q.open?.records).toHaveLength(2);
    q.inFlight = false;
    acc.release(q);
    expect(closed).toEqual(['t/0']);
  });
});
