/**
 * A partition keeps the rules of its PartitionPolicy: the strict one every node runs, and each
 * weaker one the chaos entry point's mutants (chaos/mutants.ts) rely on breaking exactly one rule.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { STRICT_PARTITION_POLICY, type PartitionPolicy } from '../../src/partition/partition.js';
import { idempotentBatch, soloPartition, within, type SoloPartition } from './harness.js';

let solo: SoloPartition | null = null;
afterEach(async () => {
  await solo?.close();
  solo = null;
});

const weaker = (change: Partial<PartitionPolicy>): PartitionPolicy => ({ ...STRICT_PARTITION_POLICY, ...change });

describe('the partition policy', () => {
  it('strict: a producer\'s retry of a written batch gets the first offset, and nothing is written twice', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    const first = p.produce(idempotentBatch(5, 0), 'all', 5000);
    await solo.drive();
    expect(await first).toBe(0);
    expect(await p.produce(idempotentBatch(5, 0), 'all', 5000)).toBe(0);
    expect(p.highWatermark).toBe(1);
  });

  it('idempotence ignored: the same retry is written again, at the next offset', async () => {
    solo = await soloPartition({ policy: weaker({ idempotence: 'ignored' }) });
    const p = solo.partition;
    const first = p.produce(idempotentBatch(5, 0), 'all', 5000);
    await solo.drive();
    expect(await first).toBe(0);
    const retry = p.produce(idempotentBatch(5, 0), 'all', 5000);
    await solo.drive();
    expect(await retry).toBe(1);
    expect(p.highWatermark).toBe(2);
  });

  it('strict: acks=all is answered once the batch is committed, not when the leader has stored it', async () => {
    solo = await soloPartition();
    const answer = solo.partition.produce(idempotentBatch(1, 0), 'all', 5000);
    // The first Ready stores the entry; its commit comes with the next.
    await solo.driveOne();
    expect(solo.partition.highWatermark).toBe(0);
    expect(await within(answer, 50)).toBe('pending');
    await solo.drive();
    expect(await within(answer, 2000)).toBe(0);
  });

  it('acks=all persisted-here: answered once the leader has stored the batch, before it is committed', async () => {
    solo = await soloPartition({ policy: weaker({ acksAll: 'persisted-here' }) });
    const answer = solo.partition.produce(idempotentBatch(1, 0), 'all', 5000);
    await solo.driveOne();
    expect(solo.partition.highWatermark).toBe(0);
    expect(await within(answer, 2000)).toBe(0);
  });

  it('strict: a read waits for a quorum to confirm the leader; any-replica reads at once', async () => {
    solo = await soloPartition();
    const confirmed = solo.partition.confirmLeadership();
    expect(await within(confirmed, 50)).toBe('pending');
    await solo.drive();
    expect(await within(confirmed, 2000)).toBeUndefined();
    await solo.close();

    solo = await soloPartition({ policy: weaker({ reads: 'any-replica' }) });
    expect(await within(solo.partition.confirmLeadership(), 50)).toBeUndefined();
  });
});
