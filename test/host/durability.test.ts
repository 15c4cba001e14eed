/**
 * How the group host makes a pass durable is its DurabilityPolicy (group-host.ts): SYNC_THE_LOG on
 * every node. The sync ledger records a log's end only when the policy says it made it durable,
 * so a policy that leaves writes unsynced (the chaos entry point's ack-before-fsync) leaves no mark
 * that a restart would hold the disk to.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SYNC_THE_LOG, type DurabilityPolicy } from '../../src/host/group-host.js';
import type { RaftGroup } from '../../src/host/raft-group.js';
import { idempotentBatch, realTimeNode, type SoloNode, type SoloPartition } from '../partition/harness.js';

let node: SoloNode | null = null;
afterEach(async () => {
  await node?.close();
  node = null;
});

/** A solo partition on a node (the real disk, the system clock) whose host has `durability`; the groups the policy was asked about, in order. */
async function hosted(durability: DurabilityPolicy): Promise<{ solo: SoloPartition; asked: string[] }> {
  const asked: string[] = [];
  node = realTimeNode({
    disk: 'temp-folder',
    durability: {
      makeDurable: (g: RaftGroup) => {
        asked.push(g.id);
        return durability.makeDurable(g);
      },
    },
  });
  return { solo: await node.open(), asked };
}

describe('the host\'s durability policy', () => {
  it('SYNC_THE_LOG: the pass syncs the log, and the ledger records its end', async () => {
    const { solo: p, asked } = await hosted(SYNC_THE_LOG);
    asked.length = 0;
    expect(await p.partition.produce(idempotentBatch(1, 0), 'all', 5000)).toBe(0);
    expect(asked).toContain(p.group.id);
    expect(p.node.ledger.mark(p.group.id)?.index).toBe(p.group.log.lastIndex());
  });

  it('a policy that leaves the writes unsynced: the write is still answered, and the ledger records none of the log', async () => {
    const { solo: p, asked } = await hosted({ makeDurable: () => Promise.resolve(false) });
    expect(await p.partition.produce(idempotentBatch(1, 0), 'all', 5000)).toBe(0);
    expect(asked).toContain(p.group.id);
    // Only the mark at index 0 that the replica's first hard state leaves (raft-group.ts).
    expect(p.node.ledger.mark(p.group.id)).toEqual({ index: 0, term: 0 });
    expect(p.group.log.lastIndex()).toBeGreaterThan(0);
  });
});
