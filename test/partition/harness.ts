/**
 * One partition replica on a real segment log in a temporary folder, as the only voter of its
 * group, driven by hand: the test decides when a Ready is persisted, synced and applied, so it can
 * hold a produce in flight while other things happen.
 */
import { systemClock } from '../../storage/clock.js';
import { nodeFileSystem } from '../../storage/file-system.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { seededRandom } from '../../raft/random.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { SyncLedger } from '../../storage/sync-ledger.js';
import { DEFAULT_TOPIC_CONFIG } from '../../src/wire/protocol.js';
import { RaftGroup } from '../../src/host/raft-group.js';
import { openReplica } from '../../src/host/replica-trust.js';
import type { TopicRecord } from '../../src/meta/commands.js';
import { Partition, type PartitionPolicy } from '../../src/partition/partition.js';

export const quiet = pino({ level: 'silent' });

export interface SoloPartition {
  readonly partition: Partition;
  readonly group: RaftGroup;
  readonly dir: string;
  readonly ledger: SyncLedger;
  /** Persists, syncs and applies Readys until the group has nothing more to do. */
  drive(): Promise<void>;
  /** Persists, syncs and applies one Ready, if the group has one. */
  driveOne(): Promise<void>;
  close(): Promise<void>;
}

export async function soloPartition(o: { producerIdExpirationMs?: number; clock?: () => number; policy?: PartitionPolicy } = {}): Promise<SoloPartition> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-partition-'));
  const topic: TopicRecord = { name: 't', id: 't1', partitions: 1, replicationFactor: 1, config: DEFAULT_TOPIC_CONFIG, assignments: [['n1']] };
  const ledger = SyncLedger.open(dir);
  const { log, hardState } = openReplica({ group: 'p:t1:0', name: 't/0', dir, fs: nodeFileSystem, log: { dir: path.join(dir, 'log'), recordBatches: true }, ledger, fresh: 'voter', random: seededRandom(1), logger: quiet });
  const partition = new Partition(topic, 0, log, dir, quiet, o.policy, o.producerIdExpirationMs, o.clock !== undefined ? { ...systemClock, now: o.clock } : systemClock, nodeFileSystem);
  const group = new RaftGroup({ id: 'p:t1:0', self: 'n1', voters: ['n1'], dir, fs: nodeFileSystem, log, hardState, ledger, applied: partition.loadProducerState(), limits: {}, random: seededRandom(1), logger: quiet });
  group.sm = partition;
  partition.group = group;
  partition.start();
  const driveOne = async (): Promise<void> => {
    if (!group.raft.hasReady()) return;
    const rd = group.raft.ready();
    await group.persist(rd);
    await log.sync();
    group.synced();
    await group.marksDurable();
    await group.finish(rd);
  };
  const drive = async (): Promise<void> => {
    while (group.raft.hasReady()) await driveOne();
  };
  group.raft.campaign();
  await drive();
  return {
    partition,
    group,
    dir,
    ledger,
    drive,
    driveOne,
    close: async () => {
      partition.close('test over');
      group.close();
      await ledger.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A batch of one record from idempotent producer `producerId`, sequence `seq`. */
export function idempotentBatch(producerId: number, seq: number, value = `v${seq}`, producerEpoch = 0): Uint8Array {
  return encodeBatch([{ value: Buffer.from(value) }], { producerId, producerEpoch, baseSequence: seq });
}

/** Settles with 'pending' if `p` has not settled within `ms`. */
export function within<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
}
