/**
 * Opening one partition replica on this node: its log and hard state from disk (judged by
 * host/replica-trust.ts), the partition state machine over them, and the Raft group that feeds it,
 * added to the node's group host. The node (src/node/node.ts) opens every replica placed on it this
 * way, and the simulator (test/sim/) opens its replicas through the same function, on its own disk
 * and clock, so what it proves holds for the code a node runs.
 */
import path from 'node:path';
import type { RaftLimits, UnsafeMutations } from '../../raft/config.js';
import type { Membership } from '../../raft/membership.js';
import type { NodeId } from '../../raft/types.js';
import type { Clock } from '../../storage/clock.js';
import type { FileSystem } from '../../storage/file-system.js';
import type { SegmentFiles } from '../../storage/segment-files.js';
import type { TailCacheBudget } from '../../storage/tail-cache.js';
import type { SyncLedger } from '../../storage/sync-ledger.js';
import type { GroupHost } from '../host/group-host.js';
import { RaftGroup } from '../host/raft-group.js';
import { openReplica, type DamagePolicy } from '../host/replica-trust.js';
import type { Logger } from '../log.js';
import type { TopicRecord } from '../meta/commands.js';
import { Partition, type PartitionPolicy } from './partition.js';

export interface PartitionReplicaOptions {
  /** The group's id (partitionGroupId) and where the replica keeps its files. */
  readonly group: string;
  readonly dir: string;
  readonly topic: TopicRecord;
  readonly partition: number;
  readonly self: NodeId;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly ledger: SyncLedger;
  readonly host: GroupHost;
  /** What a replica with no state on disk is (replica-trust.ts). */
  readonly fresh: 'voter' | 'rejoin';
  /**
   * The configuration a replica added to a running group starts from (its leader's, with this
   * node among the learners) until its log holds one, or its leader's first append says another
   * is in effect at the log start (the log start is then written again with that one). Default:
   * the topic's assignment, for a replica of a new group. Used only when the replica is created:
   * it is then written into the log start, and read back from there on every later open. Either
   * way, once the log holds a configuration it is the truth (raft/membership.ts).
   */
  readonly membership?: Membership;
  /** The most the log's tail cache holds (storage/tail-cache.ts); less when its share of `cacheBudget` is less. */
  readonly tailCacheBytes: number;
  /** The node's budget for tail caches, shared by its replicas (default: none, tailCacheBytes alone). */
  readonly cacheBudget?: TailCacheBudget;
  /** Where the log opens its sealed segments, shared by the node's logs (default: the log's own). */
  readonly files?: SegmentFiles;
  readonly limits: Partial<RaftLimits>;
  readonly producerIdExpirationMs: number;
  /** The rules the partition keeps (default STRICT_PARTITION_POLICY). */
  readonly policy?: PartitionPolicy;
  /** Test-only, never set by a node: a replica in doubt that does not rejoin (replica-trust.ts DamagePolicy; default REJOIN_WHEN_IN_DOUBT). */
  readonly onDamage?: DamagePolicy;
  /** Test-only, never set by a node: the core broken in a named way (RaftGroupOptions.unsafeMutations). */
  readonly unsafeMutations?: UnsafeMutations;
  readonly random: () => number;
  readonly logger: Logger;
}

/** Opens the replica and adds its group to the host; throws what openReplica throws (a replica that cannot start). */
export function openPartitionReplica(o: PartitionReplicaOptions): Partition {
  const { log, hardState } = openReplica({
    group: o.group,
    name: `partition ${o.topic.name}/${o.partition}`,
    dir: o.dir,
    fs: o.fs,
    log: { dir: path.join(o.dir, 'log'), recordBatches: true, limits: { segmentBytes: o.topic.config.segmentBytes, tailCacheBytes: o.tailCacheBytes },
      clock: o.clock,
      ...(o.cacheBudget !== undefined ? { cacheBudget: o.cacheBudget } : {}),
      ...(o.files !== undefined ? { files: o.files } : {}),
    },
    ledger: o.ledger,
    fresh: o.fresh,
    onDamage: o.onDamage,
    random: o.random,
    logger: o.logger,
  });
  const p = new Partition(o.topic, o.partition, log, o.dir, o.logger, o.policy, o.producerIdExpirationMs, o.clock, o.fs);
  const replicas = o.topic.assignments[o.partition]!;
  const initial: Membership = o.membership ?? { voters: replicas, learners: [] };
  // A new replica's first configuration is written into its log start now: every later open
  // reads it back from there, whatever the node passes then (the topic's assignment may have
  // been reassigned since, and a replica of a moved partition is passed a joining learner's).
  if (log.lastIndex() === 0 && log.firstIndex() === 1 && log.configurations().length === 0) log.resetTo(0, 0, 0, initial);
  const group = new RaftGroup({
    id: o.group,
    self: o.self,
    voters: initial.voters,
    learners: initial.learners,
    dir: o.dir,
    fs: o.fs,
    log,
    hardState,
    ledger: o.ledger,
    applied: p.loadProducerState(),
    limits: o.limits,
    // Consumers read from the leader; followers need the commit index only to keep up, so it
    // rides on the next append or heartbeat instead of costing a message of its own per commit.
    // (The metadata group keeps the eager default: every node serves what it applies.)
    commitBroadcast: 'piggyback',
    unsafeMutations: o.unsafeMutations,
    random: o.random,
    logger: o.logger,
  });
  group.sm = p;
  p.group = group;
  p.start();
  o.host.add(group);
  // A brand-new partition: its preferred replica campaigns at once instead of every replica
  // waiting out an election timeout (an early election is always safe in Raft).
  if (o.membership === undefined && replicas[0] === o.self && group.raft.term === 0 && log.lastIndex() === 0) {
    group.raft.campaign();
    o.host.schedule();
  }
  return p;
}

/**
 * Deletes a replica this node no longer holds (its topic deleted, or a committed configuration
 * that leaves this node out, raft/membership.ts): out of the host, closed, its ledger slot and
 * folder gone. A disk that fails meanwhile leaves the folder or the slot behind, which is safe
 * (a slot without its folder makes a replica created here again rejoin, replica-trust.ts): the
 * failure is logged, not thrown, so the node goes on serving its other replicas.
 */
export function deletePartitionReplica(p: Partition, o: { readonly host: GroupHost; readonly ledger: SyncLedger; readonly fs: FileSystem; readonly logger: Logger }, why: string): void {
  o.host.remove(p.group.id);
  p.close(why);
  p.group.discard();
  try {
    o.ledger.forget(p.group.id);
    o.fs.rmSync(p.dir, { recursive: true, force: true });
  } catch (err) {
    o.logger.warn({ partition: p.name, err: (err as Error).message }, `deleting the replica of ${p.name} left files behind (${(err as Error).message}); they are not used, and can be removed by hand once the disk works`);
  }
}
