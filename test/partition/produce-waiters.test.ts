import { afterEach, describe, expect, it } from 'vitest';
import { ServerError } from '../../src/errors.js';
import { idempotentBatch, pending, soloPartition, type SimulatedSolo } from './harness.js';

let solo: SimulatedSolo | null = null;
afterEach(async () => {
  await solo?.close();
  solo = null;
});

describe('a produce waiting for its commit', () => {
  it('a retry that times out leaves the first request waiting, and both get the offset of the one batch', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    expect(p.isReady()).toBe(true);
    const batch = idempotentBatch(7, 0);
    // A slow disk: the batch takes longer to commit than the retry waits.
    solo.node.diskLatency(50);
    const first = p.produce(batch, 'all', 60_000);
    // The producer gave up on the first answer and sent the same batch again, with a short timeout.
    const retry = p.produce(batch, 'all', 20);
    await expect(solo.settle(retry)).rejects.toThrow(ServerError);
    expect(await pending(first)).toBe(true);
    expect(await solo.settle(first)).toBe(0);
  });

  it('two retries still in flight are answered together when the batch commits', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    const batch = idempotentBatch(9, 0);
    const answers = [p.produce(batch, 'all', 60_000), p.produce(batch, 'all', 60_000), p.produce(batch, 'all', 60_000)];
    expect(await solo.settle(Promise.all(answers))).toEqual([0, 0, 0]);
    expect(p.highWatermark).toBe(1);
  });

  it('a waiter that times out is forgotten: nothing is kept for it once its batch commits', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    solo.node.diskLatency(50);
    const lone = p.produce(idempotentBatch(3, 0), 'all', 10);
    await expect(solo.settle(lone)).rejects.toThrow(/not replicated within 10 ms/);
    expect(p.waitingProduces()).toBe(0);
    await solo.until(() => p.highWatermark === 1);
    expect(p.waitingProduces()).toBe(0);
  });
});
