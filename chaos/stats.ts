/**
 * Time series of a history for the run's picture and summary: per time bucket, the operations
 * that completed ok (sends, polls, the rest), those that ended fail or info, and the latency
 * (invoke to completion) percentiles of successful sends.
 */
import type { HistoryEvent } from './checker/history.js';

export interface Bucket {
  /** Start of the bucket, seconds since the history's first event. */
  readonly t: number;
  okSend: number;
  okPoll: number;
  okOther: number;
  failed: number;
  unknown: number;
  /** Milliseconds; null when no send succeeded in the bucket. */
  sendP50Ms: number | null;
  sendP99Ms: number | null;
}

export interface Series {
  readonly bucketSec: number;
  readonly buckets: readonly Bucket[];
  /** Seconds from the first event to the last. */
  readonly durationSec: number;
  /** Nanoseconds of the first event (the origin of `t`). */
  readonly originNs: number;
}

/** Buckets of one second, or longer so that there are at most `bucketsMax`. */
export function timeSeries(events: readonly HistoryEvent[], bucketsMax = 600): Series {
  const originNs = events[0]?.time ?? 0;
  const endNs = events[events.length - 1]?.time ?? originNs;
  const durationSec = (endNs - originNs) / 1e9;
  const bucketSec = Math.max(1, Math.ceil(durationSec / bucketsMax));
  const n = Math.max(1, Math.ceil(durationSec / bucketSec) + 1);
  const buckets: Bucket[] = Array.from({ length: n }, (_, i) => ({ t: i * bucketSec, okSend: 0, okPoll: 0, okOther: 0, failed: 0, unknown: 0, sendP50Ms: null, sendP99Ms: null }));
  const latencies: number[][] = Array.from({ length: n }, () => []);
  const open = new Map<number, HistoryEvent>();
  for (const e of events) {
    if (e.process < 0) continue;
    if (e.type === 'invoke') {
      open.set(e.process, e);
      continue;
    }
    const inv = open.get(e.process);
    open.delete(e.process);
    const i = Math.min(n - 1, Math.floor((e.time - originNs) / 1e9 / bucketSec));
    const b = buckets[i]!;
    if (e.type === 'fail') b.failed++;
    else if (e.type === 'info') b.unknown++;
    else if (e.f === 'send') {
      b.okSend++;
      if (inv !== undefined) latencies[i]!.push((e.time - inv.time) / 1e6);
    } else if (e.f === 'poll') b.okPoll++;
    else b.okOther++;
  }
  buckets.forEach((b, i) => {
    const l = latencies[i]!.sort((x, y) => x - y);
    b.sendP50Ms = quantile(l, 0.5);
    b.sendP99Ms = quantile(l, 0.99);
  });
  return { bucketSec, buckets, durationSec, originNs };
}

/** Nearest-rank quantile of sorted values; null when empty. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
