/**
 * The benchmark's workloads, written once against target.ts so raftlog and NATS JetStream run
 * exactly the same thing:
 *
 * - throughput: closed loop, each producer keeps `inFlight` one-record sends outstanding and
 *   starts another as each is acknowledged; records/s and MB/s over the measured window after a
 *   warm-up;
 * - latency: open loop at a fixed offered rate. Send i is due at start + i/rate and is sent then
 *   whether or not earlier sends were acknowledged; its latency is the consumer's receipt time
 *   minus its *due* time, not its actual send time, so a stall that delays sends is charged to
 *   every record that waited (no coordinated omission). A record never received by the end of the
 *   grace period counts as received at that moment and is reported as missing;
 * - warm-up: every fresh cluster first carries the latency workload's shape at a fixed rate, not
 *   measured. A new raftlog node spends its first ~10-20 s compiling its hot paths (V8's optimizing
 *   JIT, measured with `perf`: a fifth of the nodes' CPU in the compiler in the first seconds, almost
 *   none after 20 s), and a benchmark of a cold process measures the compiler, not the steady state
 *   a user's long-running cluster is in. NATS gets the same warm-up;
 * - failover: producers each with one send outstanding, so every acknowledgement is timed; the
 *   leader is SIGKILLed; the figure is the time from the kill to the acknowledgement of the first
 *   send begun after the leader's process is gone (so no answer already in flight counts). The
 *   node is restarted and the cluster settles before the next kill. Then planned transfers: the
 *   longest gap between acknowledgements around each.
 */
import { sleep } from '../../chaos/cluster.js';
import { percentile } from '../stats.js';
import type { Target, TargetProducer } from './target.js';

export interface Progress {
  (line: string): void;
}

export interface ThroughputResult {
  readonly producers: number;
  readonly recordBytes: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  /** Sends that failed (refused or timed out) during the measured window. */
  readonly errors: number;
  /** Acknowledgement latency of the closed loop (includes queueing behind `inFlight` sends). */
  readonly ackMs: { readonly p50: number; readonly p99: number };
}

export async function throughput(
  t: Target,
  o: { log: string; partitions: number; producers: number; recordBytes: number; inFlight: number; warmupMs: number; measureMs: number; progress: Progress },
): Promise<ThroughputResult> {
  await t.createLog(o.log, o.partitions);
  const value = new Uint8Array(o.recordBytes).fill(120);
  const producers = await Promise.all(Array.from({ length: o.producers }, () => t.producer()));
  let measuring = false;
  let stop = false;
  let acked = 0;
  let errors = 0;
  const ackMs: number[] = [];
  const loops = producers.flatMap((p) =>
    Array.from({ length: o.inFlight }, async () => {
      while (!stop) {
        const t0 = performance.now();
        try {
          await p.send(o.log, value);
          if (measuring) {
            acked++;
            if ((acked & 31) === 0) ackMs.push(performance.now() - t0);
          }
        } catch {
          if (measuring) errors++;
          await sleep(5);
        }
      }
    }),
  );
  await sleep(o.warmupMs);
  measuring = true;
  const t0 = performance.now();
  await sleep(o.measureMs);
  const elapsedSec = (performance.now() - t0) / 1000;
  const total = acked;
  measuring = false;
  stop = true;
  await Promise.all(loops);
  await Promise.all(producers.map((p) => p.close()));
  const r: ThroughputResult = {
    producers: o.producers,
    recordBytes: o.recordBytes,
    recordsPerSec: Math.round(total / elapsedSec),
    mbPerSec: round((total * o.recordBytes) / elapsedSec / 1e6, 2),
    errors,
    ackMs: { p50: round(percentile(ackMs, 50), 1), p99: round(percentile(ackMs, 99), 1) },
  };
  o.progress(`  ${t.label}: ${o.producers} producer(s), ${o.recordBytes} B: ${r.recordsPerSec} records/s, ${r.mbPerSec} MB/s${errors > 0 ? `, ${errors} failed sends` : ''}`);
  return r;
}

export interface LatencyResult {
  readonly offeredPerSec: number;
  readonly recordBytes: number;
  readonly sent: number;
  readonly received: number;
  /** Sent but never received within the grace period (counted at the grace period's end). */
  readonly missing: number;
  readonly errors: number;
  readonly ms: { readonly p50: number; readonly p99: number; readonly p999: number; readonly max: number };
}

/** Bytes at the start of every latency record: the send's sequence number. */
const SEQ_BYTES = 4;
/** How often the open-loop scheduler wakes to send what is due. */
const TICK_MS = 1;
/** How long after the last due send the consumer may take to deliver everything. */
const GRACE_MS = 5000;

export async function latency(
  t: Target,
  o: { log: string; partitions: number; producers: number; recordBytes: number; ratePerSec: number; warmupMs: number; measureMs: number; progress: Progress },
): Promise<LatencyResult> {
  await t.createLog(o.log, o.partitions);
  // The first `warmup` sends run at the same rate but are not counted: the new log's leaders and
  // the connections to them settle first (the JIT warmed up before: warmUp).
  const warmup = Math.floor((o.ratePerSec * o.warmupMs) / 1000);
  const total = warmup + Math.floor((o.ratePerSec * o.measureMs) / 1000);
  const due = new Float64Array(total);
  const receivedAt = new Float64Array(total).fill(Number.NaN);
  let received = 0;
  const sub = await t.subscribe(o.log, (v) => {
    const i = new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0);
    if (i < total && Number.isNaN(receivedAt[i]!)) {
      receivedAt[i] = performance.now();
      received++;
    }
  });
  const producers = await Promise.all(Array.from({ length: o.producers }, () => t.producer()));
  let errors = 0;
  const start = performance.now() + 50;
  const pending: Promise<void>[] = [];
  let next = 0;
  while (next < total) {
    const now = performance.now();
    const dueNow = Math.min(total, Math.floor(((now - start) * o.ratePerSec) / 1000) + 1);
    for (; next < dueNow; next++) {
      due[next] = start + (next * 1000) / o.ratePerSec;
      const value = new Uint8Array(Math.max(o.recordBytes, SEQ_BYTES)).fill(120);
      new DataView(value.buffer).setUint32(0, next);
      const p: TargetProducer = producers[next % producers.length]!;
      pending.push(p.send(o.log, value).catch(() => void errors++));
    }
    await sleep(TICK_MS);
  }
  const graceEnd = performance.now() + GRACE_MS;
  while (received < total && performance.now() < graceEnd) await sleep(20);
  const end = performance.now();
  await Promise.allSettled(pending);
  await sub.close();
  await Promise.all(producers.map((p) => p.close()));
  const counted = total - warmup;
  const samples: number[] = new Array<number>(counted);
  let missing = 0;
  for (let i = warmup; i < total; i++) {
    if (Number.isNaN(receivedAt[i]!)) missing++;
    samples[i - warmup] = (Number.isNaN(receivedAt[i]!) ? end : receivedAt[i]!) - due[i]!;
  }
  samples.sort((a, b) => a - b);
  const at = (p: number): number => round(samples[Math.min(counted - 1, Math.max(0, Math.ceil((p / 100) * counted) - 1))] ?? Number.NaN, 2);
  const r: LatencyResult = {
    offeredPerSec: o.ratePerSec,
    recordBytes: o.recordBytes,
    sent: counted,
    received: counted - missing,
    missing,
    errors,
    ms: { p50: at(50), p99: at(99), p999: at(99.9), max: round(samples[counted - 1] ?? Number.NaN, 2) },
  };
  o.progress(`  ${t.label}: ${o.ratePerSec} records/s offered: p50 ${r.ms.p50} ms, p99 ${r.ms.p99} ms, p99.9 ${r.ms.p999} ms${r.missing > 0 ? `, ${r.missing} missing` : ''}${errors > 0 ? `, ${errors} failed sends` : ''}`);
  return r;
}

/** The warm-up's offered load: well within what either system sustains (NATS R3: ~8-14k 1 KB records/s here). */
const WARM_UP_RATE = 3000;

/** Carries the latency workload at WARM_UP_RATE for `ms` on a fresh cluster; nothing is measured. */
export async function warmUp(t: Target, o: { partitions: number; producers: number; ms: number; progress: Progress }): Promise<void> {
  if (o.ms <= 0) return;
  o.progress(`  ${t.label}: warming up for ${Math.round(o.ms / 1000)} s at ${WARM_UP_RATE} records/s (nothing measured)`);
  await latency(t, { log: 'warm-up', partitions: o.partitions, producers: o.producers, recordBytes: 1024, ratePerSec: WARM_UP_RATE, warmupMs: 0, measureMs: o.ms, progress: () => undefined });
}

export interface FailoverResult {
  readonly kills: readonly number[];
  readonly transfers: readonly number[];
  readonly killMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly transferMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

/** Longest time to wait for an acknowledgement after a fault before calling the run broken. */
const RECOVERY_MS_MAX = 30_000;
/** Calm time after a planned transfer before the next. */
const TRANSFER_GAP_MS = 500;

export async function failover(
  t: Target,
  o: { log: string; producers: number; recordBytes: number; kills: number; transfers: number; settleMs: number; progress: Progress },
): Promise<FailoverResult> {
  await t.createLog(o.log, 1);
  const value = new Uint8Array(o.recordBytes).fill(120);
  const producers = await Promise.all(Array.from({ length: o.producers }, () => t.producer()));
  const ackTimes: number[] = [];
  /** Acknowledgements of sends begun after `watchFrom`: the first is the failover's end. */
  let watchFrom = Number.POSITIVE_INFINITY;
  let firstAckAfterWatch = Number.POSITIVE_INFINITY;
  let stop = false;
  const loops = producers.map(async (p) => {
    while (!stop) {
      const begun = performance.now();
      try {
        await p.send(o.log, value, 0);
        const acked = performance.now();
        ackTimes.push(acked);
        if (begun >= watchFrom) firstAckAfterWatch = Math.min(firstAckAfterWatch, acked);
      } catch {
        await sleep(5);
      }
    }
  });
  /**
   * Waits for the acknowledgement of a send begun after `from` (a write the old leader, dead by
   * then, cannot have committed; answers already on their way when it died do not count) and
   * returns its time from `since`.
   */
  const ackAfter = async (since: number, from: number): Promise<number> => {
    watchFrom = from;
    firstAckAfterWatch = Number.POSITIVE_INFINITY;
    while (firstAckAfterWatch === Number.POSITIVE_INFINITY) {
      if (performance.now() - since > RECOVERY_MS_MAX) throw new Error(`${t.label}: no acknowledged write within ${RECOVERY_MS_MAX} ms of a leader kill`);
      await sleep(1);
    }
    watchFrom = Number.POSITIVE_INFINITY;
    return firstAckAfterWatch - since;
  };
  const longestGap = (from: number, to: number): number => {
    let prev = from;
    let gap = 0;
    for (const a of ackTimes) {
      if (a < from) continue;
      if (a > to) break;
      gap = Math.max(gap, a - prev);
      prev = a;
    }
    return Math.max(gap, to - prev);
  };
  try {
    const warm = performance.now();
    await ackAfter(warm, warm);
    const kills: number[] = [];
    for (let i = 0; i < o.kills; i++) {
      const victim = await t.leader(o.log);
      const at = performance.now();
      await t.kill(victim);
      const ms = await ackAfter(at, performance.now());
      kills.push(ms);
      o.progress(`  ${t.label}: kill ${i + 1}/${o.kills} (${victim}): next acknowledged write after ${ms.toFixed(0)} ms`);
      await t.restart(victim);
      await sleep(o.settleMs);
    }
    const transfers: number[] = [];
    for (let i = 0; i < o.transfers; i++) {
      const at = performance.now();
      await t.transfer(o.log);
      await sleep(TRANSFER_GAP_MS);
      const ms = longestGap(at, performance.now() - 100);
      transfers.push(ms);
      o.progress(`  ${t.label}: transfer ${i + 1}/${o.transfers}: longest pause in acknowledgements ${ms.toFixed(0)} ms`);
    }
    ackTimes.length = 0;
    return { kills, transfers, killMs: summary(kills), transferMs: summary(transfers) };
  } finally {
    stop = true;
    await Promise.all(loops);
    await Promise.all(producers.map((p) => p.close()));
  }
}

function summary(xs: readonly number[]): { p50: number; p99: number; max: number } {
  return { p50: round(percentile(xs, 50), 0), p99: round(percentile(xs, 99), 0), max: round(xs.length === 0 ? Number.NaN : Math.max(...xs), 0) };
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
