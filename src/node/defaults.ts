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
  /** A producer id with no write for this long is forgotten (Kafka's producer.id.expiration.ms, a day). */
  producerIdExpirationMs: PRODUCER_ID_EXPIRATION_MS,
  /**
   * Off: replicas of a node that is down stay until an operator decommissions it. Automatic
   * re-replication copies every replica the node held, which a node that is only restarting or
   * being upgraded should not cost; an operator who wants it chooses how long is too long.
   */
  nodeDeadAfterMs: 0,
} as const);
