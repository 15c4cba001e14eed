/**
 * Client quotas, enforced by each node on what it serves (Kafka's client quotas: KIP-13, with
 * KIP-219's throttling). A principal (src/server/session.ts) may have a produce rate and a fetch
 * rate, bytes per second of record batches, of its own or the default's (src/meta/quotas.ts). Each
 * node measures what every principal with a rate sends it and fetches from it, and when a request
 * puts a principal over its rate, the node throttles: the reply goes out whole (nothing is refused
 * or dropped), it carries the throttle time, and the connection it came on is not read for that
 * long (the listener's `session.mute`). A client that honours the throttle time waits before its
 * next request to that node; one that does not finds its requests unread until then. So a
 * principal's rate holds per node, as Kafka's holds per broker: a producer writing to three
 * leaders may write three times its rate to the cluster.
 *
 * The rate is measured over a sliding window of QUOTA_SAMPLES samples of QUOTA_SAMPLE_MS each, as
 * Kafka's quota.window.num (11) and quota.window.size.seconds (1): bytes recorded in the samples
 * still in the window, divided by the time the window covers, from the start of its oldest
 * sample to now, and at least one sample long. A principal over its rate T, measured at O over a
 * window of W, is throttled for X such that O·W / (W + X) = T: X = (O − T) / T · W (Kafka's
 * QuotaUtils.throttleTime), so that by the time it may send again, its rate over the window is
 * back to T. One difference from Kafka: Kafka counts a window as at least `samples − 1` samples
 * long, which lets a principal new to a broker send ten seconds of its rate at once before it is
 * throttled; here a new principal may send one sample's worth, so a producer of 2 MB at 200 KB/s
 * takes about ten seconds from its first request.
 *
 * A fetch under a fetch rate is cut to QUOTA_FETCH_WINDOW_MS of that rate (its first batch still
 * comes, whatever its size), as Kafka bounds a throttled consumer's fetch by its quota window:
 * one fetch of 16 MiB at 200 KB/s would otherwise be throttled for 80 seconds in one go.
 *
 * Memory is bounded: a node measures at most QUOTA_PRINCIPALS_MAX principals per direction (past
 * it, the one idle longest is forgotten), and forgets a principal once nothing it did is left in
 * the window. A principal without any rate is not measured at all.
 *
 * Pure but for the clock it is given: no timers, no sockets.
 */
import type { Counter } from 'prom-client';
import { QUOTA_DEFAULT_ENTITY, type QuotaEntry } from '../wire/protocol.js';

export type QuotaDirection = 'produce' | 'fetch';

/** Length of one sample of a principal's rate (Kafka's quota.window.size.seconds: 1). */
export const QUOTA_SAMPLE_MS = 1000;
/** Samples a rate is measured over (Kafka's quota.window.num: 11), so the window covers up to 11 s. */
export const QUOTA_SAMPLES = 11;
/**
 * The longest one reply is throttled. Time a connection is not read is not counted as its
 * silence (src/wire/ws-guard.ts), but a Kafka client older than KIP-219 (which does not wait by
 * itself) has its next request unread for that long, and gives up on it after request.timeout.ms,
 * 30 s by default: a throttle stays under it. A produce of a whole request frame (20 MiB) at a
 * low rate would need more; it gets this, and the next request is throttled again, as the bytes
 * are still in the window.
 */
export const QUOTA_THROTTLE_MS_MAX = 25_000;
/** Principals measured per direction on one node; past it the one idle longest is forgotten (it starts again from nothing). */
export const QUOTA_PRINCIPALS_MAX = 10_000;
/** A fetch under a fetch rate returns at most this long's worth of the rate (its first batch excepted). */
export const QUOTA_FETCH_WINDOW_MS = 1000;
/** Principals with their own quota that get a metric label of their own; the others are counted under QUOTA_OTHERS_LABEL. */
export const QUOTA_METRIC_PRINCIPALS_MAX = 100;
/** The metric label of the principals without a label of their own. */
export const QUOTA_OTHERS_LABEL = '<others>';

export interface QuotaWindow {
  readonly sampleMs: number;
  readonly samples: number;
  readonly throttleMsMax: number;
  readonly principalsMax: number;
  readonly fetchWindowMs: number;
}

export const DEFAULT_QUOTA_WINDOW: QuotaWindow = {
  sampleMs: QUOTA_SAMPLE_MS,
  samples: QUOTA_SAMPLES,
  throttleMsMax: QUOTA_THROTTLE_MS_MAX,
  principalsMax: QUOTA_PRINCIPALS_MAX,
  fetchWindowMs: QUOTA_FETCH_WINDOW_MS,
};

/**
 * How long a principal measured at `observed` bytes/s over a window of `windowMs` must wait to be
 * back at `bound` bytes/s: (observed − bound) / bound · windowMs, rounded, at most `maxMs`; 0 when
 * it is not over.
 */
export function throttleMs(observed: number, bound: number, windowMs: number, maxMs: number): number {
  if (!(observed > bound) || bound <= 0) return 0;
  return Math.min(maxMs, Math.round(((observed - bound) / bound) * windowMs));
}

/**
 * Bytes recorded in a ring of samples, each `sampleMs` long from its first record: what a rate is
 * measured over. A sample older than the window (samples × sampleMs) no longer counts.
 */
export class RateMeter {
  private readonly starts: Float64Array;
  private readonly bytes: Float64Array;
  /** The sample being filled, and how many of the ring are in use. */
  private current = 0;
  private used = 0;
  /** When the last bytes were recorded. */
  lastAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly w: Pick<QuotaWindow, 'sampleMs' | 'samples'>) {
    this.starts = new Float64Array(w.samples);
    this.bytes = new Float64Array(w.samples);
  }

  record(now: number, n: number): void {
    if (this.used === 0 || now >= this.starts[this.current]! + this.w.sampleMs) {
      this.current = this.used === 0 ? 0 : (this.current + 1) % this.w.samples;
      this.starts[this.current] = now;
      this.bytes[this.current] = 0;
      this.used = Math.min(this.used + 1, this.w.samples);
    }
    this.bytes[this.current] = this.bytes[this.current]! + n;
    this.lastAt = now;
  }

  /** The rate at `now`, bytes per second, and the window it is measured over (ms). */
  measure(now: number): { rate: number; windowMs: number } {
    const oldestKept = now - this.w.samples * this.w.sampleMs;
    let total = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.used; i++) {
      const start = this.starts[i]!;
      if (start <= oldestKept) continue;
      total += this.bytes[i]!;
      if (start < oldest) oldest = start;
    }
    if (total === 0) return { rate: 0, windowMs: this.w.sampleMs };
    const windowMs = Math.max(now - oldest, this.w.sampleMs);
    return { rate: (total * 1000) / windowMs, windowMs };
  }

  /** Nothing recorded is left in the window at `now`: the meter can be forgotten. */
  idle(now: number): boolean {
    return this.lastAt <= now - this.w.samples * this.w.sampleMs;
  }
}

/** Where the rates come from: the metadata's quota records (src/meta/quotas.ts). */
export interface QuotaSource {
  /** The rates of `entity` (a principal, or QUOTA_DEFAULT_ENTITY), if it has any. */
  quota(entity: string): QuotaEntry | undefined;
}

type Labels = 'principal' | 'direction';

export interface QuotaMetrics {
  /** Bytes of record batches produced and fetched, by principal and direction. */
  readonly bytes: Pick<Counter<Labels>, 'inc'>;
  /** Seconds of throttle given, by principal and direction. */
  readonly throttleSeconds: Pick<Counter<Labels>, 'inc'>;
  /** Replies throttled, by principal and direction. */
  readonly throttled: Pick<Counter<Labels>, 'inc'>;
}

const RATE_OF: Readonly<Record<QuotaDirection, 'producerByteRate' | 'consumerByteRate'>> = { produce: 'producerByteRate', fetch: 'consumerByteRate' };

export class QuotaEnforcer {
  /** One meter per principal with a rate, per direction, the one recorded longest ago first. */
  private readonly meters: Record<QuotaDirection, Map<string, RateMeter>> = { produce: new Map(), fetch: new Map() };
  private readonly labelled = new Set<string>();
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly source: QuotaSource,
    /** Milliseconds, monotonic (performance.now on a node). */
    private readonly now: () => number,
    private readonly metrics: QuotaMetrics,
    private readonly w: QuotaWindow = DEFAULT_QUOTA_WINDOW,
  ) {}

  /** The rate `principal` is held to in `direction`, bytes per second: its own, else the default's; null for none. */
  rateOf(principal: string, direction: QuotaDirection): number | null {
    const k = RATE_OF[direction];
    return this.source.quota(principal)?.[k] ?? this.source.quota(QUOTA_DEFAULT_ENTITY)?.[k] ?? null;
  }

  /**
   * Records `bytes` that `principal` produced or fetched just now, and returns how long to
   * throttle it for (0: it is within its rate, or has none).
   */
  record(principal: string, direction: QuotaDirection, bytes: number): number {
    const labels = { principal: this.label(principal), direction };
    if (bytes > 0) this.metrics.bytes.inc(labels, bytes);
    const rate = this.rateOf(principal, direction);
    const now = this.now();
    this.sweep(now);
    const meters = this.meters[direction];
    let meter = meters.get(principal);
    if (rate === null) {
      // A rate removed: what was measured under it no longer matters.
      if (meter !== undefined) meters.delete(principal);
      return 0;
    }
    if (meter === undefined) {
      if (meters.size >= this.w.principalsMax) meters.delete(meters.keys().next().value!);
      meter = new RateMeter(this.w);
    } else {
      meters.delete(principal);
    }
    meters.set(principal, meter);
    meter.record(now, bytes);
    const { rate: observed, windowMs } = meter.measure(now);
    const ms = throttleMs(observed, rate, windowMs, this.w.throttleMsMax);
    if (ms > 0) {
      this.metrics.throttled.inc(labels);
      this.metrics.throttleSeconds.inc(labels, ms / 1000);
    }
    return ms;
  }

  /** The most a fetch of `principal` may return now (its first batch excepted), or null when it has no fetch rate. */
  fetchBytesMax(principal: string): number | null {
    const rate = this.rateOf(principal, 'fetch');
    return rate === null ? null : Math.max(1, Math.floor((rate * this.w.fetchWindowMs) / 1000));
  }

  /** Principals measured now in `direction`. */
  tracked(direction: QuotaDirection): number {
    return this.meters[direction].size;
  }

  /** The metric label of `principal`: its own when it has a quota of its own (up to QUOTA_METRIC_PRINCIPALS_MAX of them). */
  private label(principal: string): string {
    if (this.labelled.has(principal)) return principal;
    if (this.labelled.size >= QUOTA_METRIC_PRINCIPALS_MAX || this.source.quota(principal) === undefined) return QUOTA_OTHERS_LABEL;
    this.labelled.add(principal);
    return principal;
  }

  /** Forgets, once per window, the principals with nothing left in it (they are first in each map). */
  private sweep(now: number): void {
    const span = this.w.samples * this.w.sampleMs;
    if (now - this.sweptAt < span) return;
    this.sweptAt = now;
    for (const meters of Object.values(this.meters)) {
      for (const [principal, meter] of meters) {
        if (!meter.idle(now)) break;
        meters.delete(principal);
      }
    }
  }
}
