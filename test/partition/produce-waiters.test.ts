import { afterEach, describe, expect, it } from 'vitest';
import { ServerError } from '../../src/errors.js';
import { idempotentBatch, soloPartition, within, type SoloPartition } from './harness.js';

let solo: SoloPartition | null = null;
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
    const first = p.produce(batch, 'all', 60_000);
    // The producer gave up on the first answer and sent the same batch again, with a short timeout.
    const retry = p.produce(batch, 'all', 20);
    await expect(retry).rejects.toThrow(ServerError);
    await solo.drive();
    expect(await within(first, 2000)).toBe(0);
  });

  it('two retries still in flight are answered together when the batch commits', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    const batch = idempotentBatch(9, 0);
    const answers = [p.produce(batch, 'all', 60_000), p.produce(batch, 'all', 60_000), p.produce(batch, 'all', 60_000)];
    await solo.drive();
    expect(await within(Promise.all(answers), 2000)).toEqual([0, 0, 0]);
  });

  it('a waiter that times out is forgotten: nothing is kept for it once its batch commits', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    const lone = p.produce(idempotentBatch(3, 0), 'all', 10);
    await expect(lone).rejects.toThrow(/not replicated within 10 ms/);
    await solo.drive();
    expect(p.waitingProduces()).toBe(0);
  });
});
