/**
 * The node's recent activity for the console's charts: every SAMPLE_EVERY_MS it notes its own
 * counters (produce and fetch requests and bytes since it started) and how far the followers of
 * the groups it leads are behind, in a ring of SAMPLES_KEPT. The page draws rates from the
 * differences between samples; nothing is sampled from other nodes, and nothing is kept on disk.
 */
import type { Counter } from 'prom-client';

/** How often the node takes a sample. */
export const SAMPLE_EVERY_MS = 2000;
/** Samples kept: 10 minutes of them. */
export const SAMPLES_KEPT = 300;

export interface Sample {
  /** ms since the epoch. */
  readonly t: number;
  /** Counts since the node started. */
  readonly produceRequests: number;
  readonly fetchRequests: number;
  readonly producedBytes: number;
  readonly fetchedBytes: number;
  /** Raft entries the followers of the groups this node leads lack, summed over followers. */
  readonly replicaLag: number;
}

/** What the sampler reads of the node. */
export interface SampledNode {
  readonly metrics: {
    readonly requests: Pick<Counter<'type' | 'outcome'>, 'get'>;
    readonly producedBytes: Pick<Counter, 'get'>;
    readonly fetchedBytes: Pick<Counter, 'get'>;
  };
  /** Per group this node leads: each follower's lag behind its log, in entries. */
  followerLag(): number;
}

async function total(c: Pick<Counter<string>, 'get'>, type?: string): Promise<number> {
  let n = 0;
  for (const v of (await c.get()).values) if (type === undefined || v.labels['type'] === type) n += v.value;
  return n;
}

export class MetricSamples {
  private readonly ring: Sample[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly node: SampledNode) {}

  start(): void {
    if (this.timer !== null) return;
    void this.take();
    this.timer = setInterval(() => void this.take(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The samples kept, oldest first. */
  samples(): readonly Sample[] {
    return this.ring;
  }

  private async take(): Promise<void> {
    const m = this.node.metrics;
    const [produceRequests, fetchRequests, producedBytes, fetchedBytes] = await Promise.all([total(m.requests, 'produce'), total(m.requests, 'fetch'), total(m.producedBytes), total(m.fetchedBytes)]);
    this.ring.push({ t: Date.now(), produceRequests, fetchRequests, producedBytes, fetchedBytes, replicaLag: this.node.followerLag() });
    if (this.ring.length > SAMPLES_KEPT) this.ring.splice(0, this.ring.length - SAMPLES_KEPT);
  }
}
