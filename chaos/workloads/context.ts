/**
 * What every workload shares: the recorder, the topic and its keys (`<topic>/<partition>`, the
 * history's key), the nodes, a seeded random source, the stop signal, and a single-request view
 * of the cluster for raw requests (one fetch = one poll, with no retries above the library).
 */
import { systemClock } from '../../src/wire/clock.js';
import { Cluster } from '../../src/client/cluster.js';
import { silentLogger, type Logger } from '../../src/client/logger.js';
import { retryOptions, type RetryOptions } from '../../src/client/retry.js';
import type { Recorder } from '../recorder.js';

export interface NodeAddress {
  readonly id: string;
  readonly address: string;
  /** host:port of its Kafka listener, when the run's clients speak Kafka (run.ts `client`). */
  readonly kafka?: string;
}

export interface WorkloadTimeouts {
  /** Server-side timeout of a produce (how long the leader may wait for replication). */
  readonly produceRequestMs: number;
  /** The producer's delivery timeout: send() to giving up, retries included. */
  readonly deliveryMs: number;
  /** Local timeout of one fetch, list-offsets or offset request. */
  readonly requestMs: number;
}

export const DEFAULT_TIMEOUTS: WorkloadTimeouts = { produceRequestMs: 1500, deliveryMs: 6000, requestMs: 3000 };

/** The client library's retry policy in chaos runs: short waits, so a send fits its delivery timeout. */
export const CHAOS_RETRY: Partial<RetryOptions> = { retries: 8, initialRetryTimeMs: 50, maxRetryTimeMs: 800 };

/** Resolves sleeps early once the run is told to stop. */
export class Stopper {
  private stopped = false;
  private readonly wakers = new Set<() => void>();

  get isStopped(): boolean {
    return this.stopped;
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.wakers) w();
    this.wakers.clear();
  }

  /** Waits `ms`, or less if the run stops first. */
  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}

export interface WorkloadContext {
  readonly recorder: Recorder;
  readonly topic: string;
  readonly partitions: number;
  readonly nodes: readonly NodeAddress[];
  readonly random: () => number;
  readonly stopper: Stopper;
  readonly timeouts: WorkloadTimeouts;
  /** The highest high watermark any poll saw, per key (probes and new readers start below it). */
  readonly knownHw: Map<string, number>;
  /** Problems worth a line in the run's notes (e.g. a workload the cluster does not support). */
  readonly notes: string[];
  readonly logger?: Logger;
}

export function keyOf(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export function keys(ctx: WorkloadContext): string[] {
  return Array.from({ length: ctx.partitions }, (_, p) => keyOf(ctx.topic, p));
}

export function pick<T>(random: () => number, list: readonly T[]): T {
  if (list.length === 0) throw new Error('pick from an empty list');
  return list[Math.floor(random() * list.length)]!;
}

/** The list in a random order (Fisher-Yates with `random`). */
export function shuffle<T>(random: () => number, list: readonly T[]): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The node id of an address, for the history's `node` field. */
export function nodeId(ctx: WorkloadContext, address: string): string {
  return ctx.nodes.find((n) => n.address === address)?.id ?? address;
}

/** A client-library cluster view for raw requests: its own connections and metadata cache. */
export function rawCluster(ctx: WorkloadContext): Cluster {
  return new Cluster({
    brokers: ctx.nodes.map((n) => n.address),
    connectionTimeoutMs: 1000,
    requestTimeoutMs: ctx.timeouts.requestMs,
    retry: retryOptions(CHAOS_RETRY),
    metadataMaxAgeMs: 5 * 60 * 1000,
    logger: ctx.logger ?? silentLogger,
    clock: systemClock,
  });
}

export function noteHw(ctx: WorkloadContext, key: string, hw: number): void {
  if (hw > (ctx.knownHw.get(key) ?? 0)) ctx.knownHw.set(key, hw);
}
