/**
 * Commands of the metadata group's log. Each Normal entry is one command, msgpack-encoded. The
 * controller (the group's leader) makes every decision before proposing (placement included), so
 * applying a command is deterministic on every node.
 */
import { decodeFrame, encodeFrame } from '../wire/codec.js';
import type { TopicConfig } from '../wire/protocol.js';
import type { AclBinding, AclFilter } from '../auth/acl.js';
import type { SetQuotaCommand } from './quotas.js';

export type MetaCommand =
  | {
      readonly type: 'createTopic';
      readonly name: string;
      readonly partitions: number;
      readonly replicationFactor: number;
      readonly config: TopicConfig;
      /** Replica node ids per partition; the first of each is its preferred leader. */
      readonly assignments: readonly (readonly string[])[];
    }
  | { readonly type: 'deleteTopic'; readonly name: string }
  /**
   * A partition's new target replicas (the first its preferred leader), which its leader then
   * moves the Raft group to. `topicId` pins the topic: once it is deleted, or deleted and created
   * again under its name, the command changes nothing.
   */
  | { readonly type: 'reassignPartition'; readonly topic: string; readonly topicId: string; readonly partition: number; readonly replicas: readonly string[] }
  /** A new producer id, epoch 0 (written by earlier versions; initProducerId now). */
  | { readonly type: 'allocateProducerId' }
  /** A producer id and epoch (InitProducerIdRequest says which): new, or one epoch later than the last. */
  | { readonly type: 'initProducerId'; readonly transactionalId?: string; readonly producerId?: number; readonly producerEpoch?: number }
  /** A join phase completed: the group's next generation and its members (none: the group is empty). */
  | {
      readonly type: 'groupGeneration';
      readonly group: string;
      readonly generation: number;
      readonly protocolType: string;
      readonly protocol: string;
      readonly leader: string;
      readonly members: readonly GroupMemberRecord[];
    }
  /** The leader's assignment for a generation: the group becomes Stable. */
  | { readonly type: 'groupAssign'; readonly group: string; readonly generation: number; readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[] }
  /** Offsets committed by a member of `generation` (-1 and '' for a consumer outside membership). */
  | { readonly type: 'commitOffsets'; readonly group: string; readonly generation: number; readonly memberId: string; readonly offsets: readonly OffsetCommit[]; readonly at: number }
  /** Offsets set by an operator; only while the group has no members. */
  | { readonly type: 'resetOffsets'; readonly group: string; readonly offsets: readonly OffsetCommit[]; readonly at: number }
  | { readonly type: 'deleteGroup'; readonly group: string }
  /** The first controller names the cluster, with the metadata voters it was created with (key `cluster`). */
  | { readonly type: 'initCluster'; readonly clusterId: string; readonly metaVoters: readonly string[] }
  /**
   * A node's data folder incarnation and the address its peers and clients reach it at, as the
   * controller heard them: from a peer that connected, or from a node that asked to join
   * (key `node/<id>`). Entries of earlier versions have no address.
   */
  | { readonly type: 'registerNode'; readonly node: string; readonly incarnation: string; readonly address?: string }
  /**
   * A node starts leaving the cluster (`decommissioning`: the controller moves its replicas off it,
   * at most `maxMoves` at once, then removes it from the metadata group), or has left it
   * (`decommissioned`). Kept in its node record, so a new controller carries on (src/node/placer.ts).
   */
  | { readonly type: 'setNodeState'; readonly node: string; readonly state: NodeState; readonly maxMoves: number }
  /**
   * A node being decommissioned stays after all (an operator changed their mind, or picked the
   * wrong node): an ordinary member again. The replicas already moved off it stay where they are
   * (a rebalance evens them out). Refused for a node decommissioned already.
   */
  | { readonly type: 'recommissionNode'; readonly node: string }
  /**
   * A topic's new replication factor: the controller moves each partition to that many replicas,
   * at most `maxMoves` at once (TopicRecord.resizing until every target has it). Pinned to the
   * topic's id like reassignPartition.
   */
  | { readonly type: 'setReplicationFactor'; readonly topic: string; readonly topicId: string; readonly replicationFactor: number; readonly maxMoves: number }
  /** An operator asked for replicas and preferred leaders to be spread evenly again, at most `maxMoves` moves at once (key `rebalance`). */
  | { readonly type: 'startRebalance'; readonly maxMoves: number }
  /** The controller found nothing left to even out: the rebalance is over. */
  | { readonly type: 'finishRebalance' }
  /** ACL bindings added (keys `acl/...`, src/meta/acl-state.ts); one already held stays once. */
  | { readonly type: 'createAcls'; readonly bindings: readonly AclBinding[] }
  /** Every binding that each filter matches removed; the result lists them per filter (AclDeletion). */
  | { readonly type: 'deleteAcls'; readonly filters: readonly AclFilter[] }
  /** An entity's client quota rates set or removed (src/meta/quotas.ts, key `quota/<entity>`). */
  | SetQuotaCommand
  /** A topic's whole new config (the controller merged the change). Pinned to the topic's id like reassignPartition. */
  | { readonly type: 'setTopicConfig'; readonly topic: string; readonly topicId: string; readonly config: TopicConfig }
  /**
   * New partitions of a topic that had `from` (refused if it has another count by then, so two
   * additions at once never both apply), each with its replicas as the controller placed them.
   * Pinned to the topic's id like reassignPartition.
   */
  | { readonly type: 'addPartitions'; readonly topic: string; readonly topicId: string; readonly from: number; readonly assignments: readonly (readonly string[])[] };

/** The cluster's identity (key `cluster`). */
export interface ClusterRecord {
  readonly clusterId: string;
  readonly metaVoters: readonly string[];
  /** The metadata index of the entry that named it. */
  readonly since: number;
}

/** Where a node is in leaving the cluster: absent from its record while it is an ordinary member. */
export type NodeState = 'decommissioning' | 'decommissioned';

/**
 * A node as the metadata group knows it (key `node/<id>`): its data folder's incarnation since
 * index `since` ('' when a node never heard from was decommissioned), and, once it is leaving
 * the cluster, since which index and how many moves at once.
 */
export interface NodeRecord {
  readonly node: string;
  readonly incarnation: string;
  readonly since: number;
  /** host:port (absent in records of earlier versions: the node's --peers address holds). */
  readonly address?: string;
  readonly decommission?: { readonly state: NodeState; readonly since: number; readonly maxMoves: number };
}

/** A rebalance asked for and not finished yet (key `rebalance`). */
export interface RebalanceRecord {
  readonly maxMoves: number;
  /** The metadata index of the entry that asked for it. */
  readonly since: number;
}

export const REBALANCE_KEY = 'rebalance';

export const CLUSTER_KEY = 'cluster';

/** The producer id and epoch last given for a transactional id, or a producer id's last epoch. */
export interface ProducerEpochRecord {
  readonly producerId: number;
  readonly epoch: number;
}

export function transactionalKey(transactionalId: string): string {
  return `producer/txn/${encodeURIComponent(transactionalId)}`;
}

export function producerEpochKey(producerId: number): string {
  return `producer/epoch/${producerId}`;
}

export const NODE_PREFIX = 'node/';

export function nodeKey(node: string): string {
  return `${NODE_PREFIX}${encodeURIComponent(node)}`;
}

export interface OffsetCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string;
}

export interface GroupMemberRecord {
  readonly memberId: string;
  readonly clientId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** The member's metadata for the chosen protocol. */
  readonly metadata: Uint8Array;
}

/** A consumer group as the metadata group holds it (key `group/<id>`). */
export interface GroupRecord {
  readonly group: string;
  /** Replicated states; PreparingRebalance exists only in the coordinator's memory. */
  readonly state: 'Empty' | 'CompletingRebalance' | 'Stable';
  readonly generation: number;
  readonly protocolType: string;
  readonly protocol: string;
  readonly leader: string;
  readonly members: readonly GroupMemberRecord[];
  /** memberId → assignment, once the leader's sync is committed. */
  readonly assignments: Readonly<Record<string, Uint8Array>>;
}

/** A committed offset (key `offset/<group>/<topic>/<partition>`, each part URI-encoded). */
export interface OffsetRecord {
  readonly offset: number;
  readonly metadata: string;
  readonly committedAt: number;
}

export function groupKey(group: string): string {
  return `group/${encodeURIComponent(group)}`;
}

export function offsetKey(group: string, topic: string, partition: number): string {
  return `${offsetPrefix(group)}${encodeURIComponent(topic)}/${partition}`;
}

export function offsetPrefix(group: string): string {
  return `offset/${encodeURIComponent(group)}/`;
}

export function encodeCommand(c: MetaCommand): Uint8Array {
  return encodeFrame(c);
}

export function decodeCommand(data: Uint8Array): MetaCommand {
  const v = decodeFrame(data) as MetaCommand;
  if (typeof v !== 'object' || v === null || typeof (v as { type?: unknown }).type !== 'string') {
    throw new Error('a metadata log entry is not a command');
  }
  return v;
}

/** A topic as the metadata group holds it (key `topic/<name>`). */
export interface TopicRecord {
  readonly name: string;
  /** Unique for the life of the cluster (`t<index of its createTopic entry>`), so a topic deleted and created again never shares data or groups with its namesake. */
  readonly id: string;
  readonly partitions: number;
  /**
   * The replication factor it was created with, or last set to (setReplicationFactor); a
   * reassignment may give a partition another count (its assignment's length).
   */
  readonly replicationFactor: number;
  /**
   * Set while the controller moves the partitions to `replicationFactor` replicas each, at most
   * `maxMoves` at once; cleared when the last target has that many (absent: no change runs).
   */
  readonly resizing?: { readonly maxMoves: number };
  readonly config: TopicConfig;
  /**
   * Each partition's target replicas (the first preferred to lead). At creation, the replicas its
   * group starts with; after a reassignment, what its leader moves the group toward
   * (src/partition/moves.ts): the group's own log holds what it is.
   */
  readonly assignments: readonly (readonly string[])[];
  /**
   * Per partition, true once it has been reassigned: a replica created for it from then on joins
   * a running group, as a learner, instead of founding it (absent: none has been).
   */
  readonly moved?: readonly boolean[];
}

/** The Raft group of one partition. */
export function partitionGroupId(topicId: string, partition: number): string {
  return `p:${topicId}:${partition}`;
}

export const META_GROUP = 'meta';
