/**
 * Deleting a replica this node no longer holds (src/partition/replica.ts deletePartitionReplica):
 * the topic was deleted, or a committed configuration moved the partition off this node. Before,
 * the node closed the group as for a shutdown, which writes the hard state: on a disk that failed
 * that write, the error escaped from the metadata callback that deletes replicas.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deletePartitionReplica } from '../../src/partition/replica.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { quiet, simulatedNode, soloTopic, type SimulatedNode } from './harness.js';

let node: SimulatedNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

describe('deleting a replica', () => {
  it('takes the group out of the host, its folder and its ledger slot off the disk', async () => {
    node = simulatedNode();
    const solo = await node.open();
    const dir = solo.partition.dir;
    const id = solo.group.id;
    expect(node.ledger.mark(id)).not.toBeNull();

    deletePartitionReplica(solo.partition, { host: node.host, ledger: node.ledger, fs: node.fs, logger: quiet }, 'the partition moved off this node');

    expect([...node.host.all()].some((g) => g.id === id)).toBe(false);
    expect(node.fs.existsSync(dir)).toBe(false);
    expect(node.ledger.mark(id)).toBeNull();
  });

  it('on a disk whose next writes fail, does not throw and leaves the node serving its other replicas', async () => {
    node = simulatedNode();
    const topic = soloTopic('t', 't1', 2);
    const gone = await node.open({ topic, partition: 0 });
    const kept = await node.open({ topic, partition: 1 });
    node.disk.failNext('write');

    expect(() => deletePartitionReplica(gone.partition, { host: node!.host, ledger: node!.ledger, fs: node!.fs, logger: quiet }, 'the topic was deleted')).not.toThrow();

    expect([...node.host.all()].map((g) => g.id)).toEqual([kept.group.id]);
    expect(kept.group.failed).toBeNull();
  });

  it('mid-sync, leaves no ledger slot behind: a replica created here again later starts clean, not as a damaged one', async () => {
    node = simulatedNode();
    node.diskLatency(20);
    const solo = await node.open();
    const id = solo.group.id;
    // A write whose sync is still on the disk when the replica goes.
    void solo.partition.produce(encodeBatch([{ value: Buffer.from('x') }]), 'leader', 60_000).catch(() => undefined);
    await node.until(() => solo.group.raft.lastIndex() > 1, 1000);
    // The host's pass has written the entry and waits on the disk for its sync.
    await node.until(() => false, 5).catch(() => undefined);
    deletePartitionReplica(solo.partition, { host: node.host, ledger: node.ledger, fs: node.fs, logger: quiet }, 'the partition moved off this node');
    await node.until(() => false, 500).catch(() => undefined);
    expect(node.ledger.mark(id)).toBeNull();
  });
});
