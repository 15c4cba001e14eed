/**
 * Every default of a node's settings, defined once: the flags of `node cluster.js` show and take
 * these (options.ts), and a NodeConfig built in code that leaves an optional field out gets the
 * same (node.ts). The limits that bound these settings are in limits.ts.
 */
import { PRODUCER_ID_EXPIRATION_MS } from '../partition/partition.js';

export const NODE_DEFAULTS = Object.freeze({
  logLevel: 'info',
  /** Raft tick length. */
  tickMs: 50,
  /** Ticks without a leader before an election (randomized up to twice this). */
  electionTicks: 8,
  /** Ticks between a leader's heartbeats. */
  heartbeatTicks: 2,
  syncMode: 'fsync',
  /** The fsync period of the RELAXED `--sync interval` mode. */
  syncIntervalMs: 100,
  /** How often retention runs over every partition. */
  retentionCheckMs: 30_000,
  /**
   * Voters of the metadata group, at most: the first of --peers at creation, then nodes that
   * join, promoted by the controller while there are fewer (etcd and KRaft advise 3 or 5).
   */
  metaVotersMax: 5,
  /** Metadata entries applied between metadata snapshots. */
  metaSnapshotEvery: 10_000,
  /** Segment size of the metadata log. */
  metaSegmentBytes: 8 * 1024 * 1024,
  /**
   * Bytes per second this node may spend streaming partition logs to replicas that catch up by
   * files (src/host/log-recovery.ts), shared by all its partitions; 0: unlimited (the transfer
   * goes at the disk's pace, at most a few chunks in flight per follower).
   */
  recoveryBytesPerSec: 0,
  /** A producer id with no write for this long is forgotten (Kafka's producer.id.expiration.ms, a day). */
  producerIdExpirationMs: PRODUCER_ID_EXPIRATION_MS,
  /**
   * Off: replicas of a node that is down stay until an operator decommissions it. Automatic
   * re-replication copies every replica the node held, which a node that is only restarting or
   * being upgraded should not cost; an operator who wants it chooses how long is too long.
   */
  nodeDeadAfterMs: 0,
  /**
   * Memory for the tail caches of all the node's partitions together (storage/tail-cache.ts): each
   * partition's ring grows to an even share of it while the partition is busy, at most 8 MiB, so
   * 32 busy partitions have all they can use and 2,000 quiet ones hold about nothing. Like Kafka
   * and Redpanda, the node leaves older reads to the operating system's page cache.
   */
  cacheBytes: 256 * 1024 * 1024,
} as const);
