/**
 * What the benchmark drives: a replicated log system under test, raftlog or its peer NATS
 * JetStream, behind one interface, so that every workload (workloads.ts) is written once and
 * runs the same way against both.
 *
 * A "log" is what a producer appends to and a consumer reads: a raftlog topic, or a NATS
 * JetStream stream with one subject. Every log is replicated on three nodes; an append is
 * acknowledged only once a quorum has it (raftlog acks=all; a JetStream publish acknowledgement).
 */

export interface Target {
  /** For tables and charts, e.g. "raftlog (fsync)" or "NATS JetStream R3". */
  readonly label: string;
  /** Node ids, for kill and restart. */
  readonly nodes: readonly string[];
  /** Creates a log replicated on three nodes; `partitions` is a hint (NATS streams have one). */
  createLog(name: string, partitions: number): Promise<void>;
  /** A producer with its own connection. Many sends may be outstanding at once. */
  producer(): Promise<TargetProducer>;
  /**
   * Calls `onRecord` for every record appended to `log` after this resolves, as the consumer
   * receives it (a long-polling fetch for raftlog, a push/ordered consumer for NATS).
   */
  subscribe(log: string, onRecord: (value: Uint8Array) => void): Promise<Closeable>;
  /** The node that leads `log` now (raftlog: its partition 0; NATS: the stream leader). */
  leader(log: string): Promise<string>;
  /** SIGKILL. */
  kill(node: string): Promise<void>;
  /** Starts a killed node again and waits until it serves. */
  restart(node: string): Promise<void>;
  /** Asks for a planned leadership change of `log` (partition 0 / the stream) to another node. */
  transfer(log: string): Promise<void>;
  /** Stops every node and removes their data folders. */
  stop(): Promise<void>;
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
