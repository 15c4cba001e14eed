/** The group consumer's options, subscription, run options and events (kafkajs shapes). */
import type { Assignor, TopicPartitionList } from './assignors/types.js';
import type { ConsumerEvents, ConsumerOptions, RunOptions } from './consumer-types.js';

export interface GroupConsumerOptions extends Omit<ConsumerOptions, 'groupId'> {
  readonly groupId: string;
  /** Without a heartbeat for this long the coordinator drops the member (default 30000 ms, 1 s..300 s). */
  readonly sessionTimeout?: number;
  /** How long the coordinator waits for every member to rejoin in a rebalance (default 60000 ms). */
  readonly rebalanceTimeout?: number;
  /** Time between heartbeats (default 3000 ms; below the session timeout, ideally a third of it). */
  readonly heartbeatInterval?: number;
  /** Assignors in order of preference (default [sticky, range, roundrobin]); the group uses one all members offer. */
  readonly partitionAssigners?: readonly Assignor[];
  /**
   * How often to look for new topics matching a RegExp subscription and, on the group's leader,
   * for partition counts that changed; either starts a rebalance (default 300000 ms, Kafka's
   * metadata.max.age.ms).
   */
  readonly metadataMaxAge?: number;
}

export interface SubscribeOptions {
  /** Topic names and patterns; a pattern matches topics existing now and those created later. */
  readonly topics: readonly (string | RegExp)[] | RegExp;
  /** Where to start a partition the group has no committed offset for: earliest (true) or latest (default). */
  readonly fromBeginning?: boolean;
}

export interface GroupRunOptions extends RunOptions {
  /** Commit processed offsets on an interval, at rebalances and on stop (default true). */
  readonly autoCommit?: boolean;
  /** ms between auto-commits (default 5000; 0 or null: none on a timer). */
  readonly autoCommitInterval?: number | null;
  /** Also commit once this many records were processed since the last commit (default: off). */
  readonly autoCommitThreshold?: number | null;
}

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read (Kafka's rule: one past the last record processed). */
  readonly offset: string | bigint;
}

export interface GroupConsumerEvents extends ConsumerEvents {
  /** The member joined a generation of the group and got its partitions. */
  'group.join': {
    groupId: string;
    memberId: string;
    leaderId: string;
    isLeader: boolean;
    generation: number;
    protocol: string;
    memberAssignment: TopicPartitionList[];
    /** From sending joinGroup to having the assignment. */
    durationMs: number;
  };
  /** The member stops fetching, commits what it processed and rejoins the group. */
  rebalancing: { groupId: string; memberId: string; reason: string };
  heartbeat: { groupId: string; memberId: string; generation: number };
  /** Offsets the member committed (next offsets to read). */
  'commit.offsets': { groupId: string; memberId: string; generation: number; offsets: { topic: string; partition: number; offset: string }[] };
  /** The member left the group (stop, disconnect or crash). */
  'group.leave': { groupId: string; memberId: string };
}
