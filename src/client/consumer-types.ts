/** The consumer's options, handler payloads and events (kafkajs shapes). */
import type { RaftlogError } from './errors.js';
import type { ConsumedMessage } from './messages.js';
import type { RetryOptions } from './retry.js';

export interface ConsumerOptions {
  /** A plain consumer has none; with one, client.consumer() makes a group consumer (GroupConsumerOptions). */
  readonly groupId?: undefined;
  /** Longest wait of a fetch for new records (default 5000 ms). */
  readonly maxWaitTimeInMs?: number;
  readonly minBytes?: number;
  /** Bytes of one fetch (default 10 MiB; its first batch comes regardless). */
  readonly maxBytes?: number;
  /** Bytes of one partition in one fetch (default 1 MiB; its first batch comes if it fits in maxBytes). */
  readonly maxBytesPerPartition?: number;
  readonly requestTimeoutMs?: number;
  readonly retry?: Partial<RetryOptions>;
}

/** Where to start: the log start, the end (only new records), or an exact offset. */
export type StartOffset = 'earliest' | 'latest' | string | bigint;

export interface PartitionAssignment {
  readonly topic: string;
  readonly partition: number;
  readonly offset: StartOffset;
}

export interface EachMessagePayload {
  readonly topic: string;
  readonly partition: number;
  readonly message: ConsumedMessage;
}

export interface Batch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  readonly messages: readonly ConsumedMessage[];
  isEmpty(): boolean;
  firstOffset(): string | null;
  /** The last offset of the fetched batches (high watermark - 1 when none). */
  lastOffset(): string;
}

export interface EachBatchPayload {
  readonly batch: Batch;
  isRunning(): boolean;
  /** Whether a seek since the fetch made this batch out of date. */
  isStale(): boolean;
}

export interface RunOptions {
  readonly eachMessage?: (p: EachMessagePayload) => Promise<void> | void;
  readonly eachBatch?: (p: EachBatchPayload) => Promise<void> | void;
}

export interface ConsumerEvents {
  /** The offset was out of range (e.g. removed by retention) and was reset to the earliest. */
  offsetReset: { topic: string; partition: number; from: string; to: string };
  /** The loop stopped on an error it cannot retry; run() must be called again. */
  crash: { error: RaftlogError };
  stop: Record<string, never>;
}

export interface TopicPartitions {
  readonly topic: string;
  /** All assigned partitions of the topic when absent. */
  readonly partitions?: readonly number[];
}
