/**
 * How the group host makes a pass durable is its DurabilityPolicy (group-host.ts): SYNC_THE_LOG on
 * every node. The sync ledger records a log's end only when the policy says it made it durable,
 * so a policy that leaves writes unsynced (the chaos entry point's ack-before-fsync) leaves no mark
 * that a restart would hold the disk to.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../storage/clock.js';
import { GroupHost, SYNC_THE_LOG, type DurabilityPolicy } from '../../src/host/group-host.js';
import type { RaftGroup } from '../../src/host/raft-group.js';
import { idempotentBatch, quiet, soloPartition, type SoloPartition } from '../partition/harness.js';

let solo: SoloPartition | null = null;
let host: GroupHost | null = null;
afterEach(async () => {
  await host?.stop();
  await solo?.close();
  host = null;
  solo = null;
});

/** A solo partition's group on a host with `durability`; the groups it was asked about, in order. */
async function hosted(durability: DurabilityPolicy): Promise<{ solo: SoloPartition; asked: string[] }> {
  const p = await soloPartition();
  solo = p;
  const asked: string[] = [];
  host = new GroupHost({
    clock: systemClock,
    tickMs: 50,
    syncMode: 'fsync',
    syncIntervalMs: 100,
    logger: quiet,
    send: () => undefined,
    durability: {
      makeDurable: (g: RaftGroup) => {
        asked.push(g.id);
        return durability.makeDurable(g);
      },
    },
  });
  host.add(p.group);
  return { solo: p, asked };
}

describe('the host\'s durability policy', () => {
  it('SYNC_THE_LOG: the pass syncs the log, and the ledger records its end', async () => {
    const { solo: p, asked } = await hosted(SYNC_THE_LOG);
    expect(await p.partition.produce(idempotentBatch(1, 0), 'all', 5000)).toBe(0);
    expect(asked).toContain(p.group.id);
    expect(p.ledger.mark(p.group.id)?.index).toBe(p.group.log.lastIndex());
  });

  it('a policy that leaves the writes unsynced: the write is still answered, and the ledger records nothing new', async () => {
    const { solo: p, asked } = await hosted({ makeDurable: () => Promise.resolve(false) });
    const before = p.ledger.mark(p.group.id)?.index ?? 0;
    expect(await p.partition.produce(idempotentBatch(1, 0), 'all', 5000)).toBe(0);
    expect(asked).toContain(p.group.id);
    expect(p.ledger.mark(p.group.id)?.index ?? 0).toBe(before);
    expect(before).toBeLessThan(p.group.log.lastIndex());
  });
});
