/**
 * A partition keeps the rules of its PartitionPolicy: the strict one every node runs, and each
 * weaker one the chaos entry point's mutants (chaos/mutants.ts) rely on breaking exactly one rule.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { STRICT_PARTITION_POLICY, type PartitionPolicy } from '../../src/partition/partition.js';
import { idempotentBatch, pending, soloPartition, type SimulatedSolo } from './harness.js';

let solo: SimulatedSolo | null = null;
afterEach(async () => {
  await solo?.close();
  solo = null;
});

const weaker = (change: Partial<PartitionPolicy>): PartitionPolicy => ({ ...STRICT_PARTITION_POLICY, ...change });

describe('the partition policy', () => {
  it('strict: a producer\'s retry of a written batch gets the first offset, and nothing is written twice', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    expect(await solo.settle(p.produce(idempotentBatch(5, 0), 'all', 5000))).toBe(0);
    expect(await solo.settle(p.produce(idempotentBatch(5, 0), 'all', 5000))).toBe(0);
    expect(p.highWatermark).toBe(1);
  });

  it('idempotence ignored: the same retry is written again, at the next offset', async () => {
    solo = await soloPartition({ policy: weaker({ idempotence: 'ignored' }) });
    const p = solo.partition;
    expect(await solo.settle(p.produce(idempotentBatch(5, 0), 'all', 5000))).toBe(0);
    expect(await solo.settle(p.produce(idempotentBatch(5, 0), 'all', 5000))).toBe(1);
    expect(p.highWatermark).toBe(2);
  });

  it('strict: acks=all is answered once the batch is committed, not when the leader has stored it', async () => {
    solo = await soloPartition();
    const answer = solo.partition.produce(idempotentBatch(1, 0), 'all', 5000);
    // The host's first pass stores the entry; its commit comes with the next. The answer comes
    // with the commit, in the same step of the node.
    expect(await solo.settle(answer)).toBe(0);
    expect(solo.partition.highWatermark).toBe(1);
  });

  it('acks=all persisted-here: answered once the leader has stored the batch, before it is committed', async () => {
    solo = await soloPartition({ policy: weaker({ acksAll: 'persisted-here' }) });
    const answer = solo.partition.produce(idempotentBatch(1, 0), 'all', 5000);
    expect(await solo.settle(answer)).toBe(0);
    expect(solo.partition.highWatermark).toBe(0);
    await solo.until(() => solo!.partition.highWatermark === 1);
  });

  it('strict: a read waits for a quorum to confirm the leader; any-replica reads at once', async () => {
    solo = await soloPartition();
    const confirmed = solo.partition.confirmLeadership();
    // No time passes for the node until the test lets it: no quorum has answered yet.
    expect(await pending(confirmed)).toBe(true);
    expect(await solo.settle(confirmed)).toBeUndefined();
    await solo.close();

    solo = await soloPartition({ policy: weaker({ reads: 'any-replica' }) });
    expect(await pending(solo.partition.confirmLeadership())).toBe(false);
  });
});
