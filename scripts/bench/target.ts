/**
 * What the benchmark drives: a replicated log system under test, raftlog or its peer NATS
 * JetStream, behind one interface, so that every workload (workloads.ts) is written once and
 * runs the same way against both.
 *
 * A "log" is what a producer appends to and a consumer reads: a raftlog topic, or a NATS
 * JetStream stream with one subject. Every log is replicated on three nodes; an append is
 * acknowledged only once a quorum has it (raftlog acks=all; a JetStream publish acknowledgement).
 */
import type { ServerProcess } from './procfs.js';

export interface Target {
  /** For tables and charts, e.g. "raftlog (fsync)" or "NATS JetStream R3". */
  readonly label: string;
  /** Node ids, for kill and restart. */
  readonly nodes: readonly string[];
  /** Creates a log replicated on three nodes; `partitions` is a hint (NATS streams have one). */
  createLog(name: string, partitions: number, o?: LogOptions): Promise<void>;
  /** A producer with its own connection. Many sends may be outstanding at once. */
  producer(): Promise<TargetProducer>;
  /**
   * Calls `onRecord` for every record appended to `log` after this resolves, as the consumer
   * receives it (a long-polling fetch for raftlog, a push/ordered consumer for NATS).
   */
  subscribe(log: string, onRecord: (value: Uint8Array) => void, o?: SubscribeOptions): Promise<Closeable>;
  /** The node that leads `log` now (raftlog: its partition 0; NATS: the stream leader). */
  leader(log: string): Promise<string>;
  /** SIGKILL. */
  kill(node: string): Promise<void>;
  /** Starts a killed node again and waits until it serves. */
  restart(node: string): Promise<void>;
  /** Asks for a planned leadership change of `log` (`partition`, default 0 / the stream) to another node. */
  transfer(log: string, partition?: number): Promise<void>;
  /** Stops every node and removes their data folders. */
  stop(): Promise<void>;
  /** The server processes running now, for their CPU, disk and memory (procfs.ts); absent for a target of no processes of its own. */
  processes?(): readonly ServerProcess[];
  /** Records removed from the start of `log` so far (by retention), all partitions together; absent where unknown. */
  deletedRecords?(log: string): Promise<number>;
  /** Each node's Prometheus metrics text (GET /metrics), by node id; absent where the system has none the benchmark reads. */
  scrapeMetrics?(): Promise<ReadonlyMap<string, string>>;
}

/** How a log keeps its records (the soak's retention, scripts/bench/soak.ts). */
export interface LogOptions {
  /** Records older than this are deleted (raftlog: retention.ms, whole segments; NATS: max_age). */
  readonly retentionMs?: number;
  /** raftlog's segment.bytes, so that segments roll (and retention can delete them) within the run; ignored by NATS. */
  readonly segmentBytes?: number;
}

export interface SubscribeOptions {
  /**
   * Read as a member of this consumer group, committing what it read (raftlog: a group consumer
   * with auto-commit; NATS: a durable consumer of this name, acknowledging as it goes), instead
   * of a consumer of its own that keeps no position on the servers.
   */
  readonly group?: string;
}

export interface TargetProducer {
  /**
   * Appends one record and resolves when it is acknowledged; rejects if the system refused it or
   * did not answer in time (the workload decides whether to retry). `partition` is honoured by
   * raftlog and ignored by NATS (one stream).
   */
  send(log: string, value: Uint8Array, partition?: number): Promise<void>;
  close(): Promise<void>;
}

export interface Closeable {
  close(): Promise<void>;
}
