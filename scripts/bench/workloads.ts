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
 *   grace period counts as received at that moment and is reported as missing. It runs in windows
 *   (openLatency), so that several systems can take turns on the machine (latencyInterleaved);
 * - warm-up: every fresh cluster first carries the latency workload's shape at a fixed rate, not
 *   measured. A new raftlog node spends its first ~10-20 s compiling its hot paths (V8's optimizing
 *   JIT, measured with `perf`: a fifth of the nodes' CPU in the compiler in the first seconds, almost
 *   none after 20 s), and a benchmark of a cold process measures the compiler, not the steady state
 *   a user's long-running cluster is in. NATS gets the same warm-up;
 * - failover: producers each with one send outstanding, so every acknowledgement is timed; the
 *   leader is SIGKILLed; the figure is the time from the kill to the acknowledgement of the first
 *   send begun after the leader's process is gone (so no answer already in flight counts). The
 *   node is restarted and the cluster settles before the next kill. A kill with no acknowledged
 *   write within RECOVERY_MS_MAX counts as that limit (a lower bound) and is reported as
 *   unrecovered; the run goes on once the node is back and writes are acknowledged again. Then planned transfers: the
 *   longest gap between acknowledgements around each.
 */
import { sleep } from '../../chaos/cluster.js';
import { percentile } from './stats.js';
import { cpuTimes, stealPercent, type CpuTimes } from './baseline.js';
import type { Target, TargetProducer } from './target.js';

export interface Progress {
  (line: string): void;
}

/** Percent of CPU time the hypervisor stole during a workload's measured windows (null: not measurable here). */
export interface Steal {
  readonly stealPct: number | null;
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

export interface ThroughputShape {
  readonly log: string;
  readonly partitions: number;
  readonly producers: number;
  readonly recordBytes: number;
  /** Sends each producer keeps outstanding. */
  readonly inFlight: number;
}

/** One window of the closed loop. */
export interface ThroughputWindow {
  readonly acked: number;
  readonly errors: number;
  readonly elapsedMs: number;
  /** Acknowledgement latency of every 32nd send. */
  readonly ackMs: readonly number[];
  readonly steal: CpuTimes | null;
}

/** The throughput workload on one system, opened once and run in windows (see LatencySession). */
export interface ThroughputSession {
  readonly target: Target;
  /** Runs the closed loop: `rampMs` unmeasured (the pipelines fill), then `ms` measured; then stops it. */
  window(ms: number, rampMs: number): Promise<ThroughputWindow>;
  close(): Promise<void>;
}

export async function openThroughput(t: Target, o: ThroughputShape): Promise<ThroughputSession> {
  await t.createLog(o.log, o.partitions);
  const value = new Uint8Array(o.recordBytes).fill(120);
  const producers = await Promise.all(Array.from({ length: o.producers }, () => t.producer()));
  const window = async (ms: number, rampMs: number): Promise<ThroughputWindow> => {
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
    await sleep(rampMs);
    const before = cpuTimes();
    measuring = true;
    const t0 = performance.now();
    await sleep(ms);
    const elapsedMs = performance.now() - t0;
    const total = acked;
    measuring = false;
    const steal = stealBetween(before, cpuTimes());
    stop = true;
    await Promise.all(loops);
    return { acked: total, errors, elapsedMs, ackMs, steal };
  };
  return {
    target: t,
    window,
    async close() {
      await Promise.all(producers.map((p) => p.close()));
    },
  };
}

/** Pools windows into one result: records acknowledged in all of them over the time they measured. */
export function throughputResult(o: { producers: number; recordBytes: number }, windows: readonly ThroughputWindow[]): ThroughputResult & Steal {
  const acked = windows.reduce((a, w) => a + w.acked, 0);
  const elapsedSec = windows.reduce((a, w) => a + w.elapsedMs, 0) / 1000;
  const ackMs = windows.flatMap((w) => w.ackMs);
  return {
    producers: o.producers,
    recordBytes: o.recordBytes,
    recordsPerSec: Math.round(acked / elapsedSec),
    mbPerSec: round((acked * o.recordBytes) / elapsedSec / 1e6, 2),
    errors: windows.reduce((a, w) => a + w.errors, 0),
    ackMs: { p50: round(percentile(ackMs, 50), 1), p99: round(percentile(ackMs, 99), 1) },
    stealPct: pooledSteal(windows.map((w) => w.steal)),
  };
}

function describeThroughput(label: string, r: ThroughputResult): string {
  return `  ${label}: ${r.producers} producer(s), ${r.recordBytes} B: ${r.recordsPerSec} records/s, ${r.mbPerSec} MB/s${r.errors > 0 ? `, ${r.errors} failed sends` : ''}`;
}

/**
 * The throughput workload on several systems taking turns (as latencyInterleaved): a first
 * window of `warmupMs` each, unmeasured, then `rounds` windows of `windowMs` after `rampMs`, in
 * the order A B C, C B A, ...
 */
export async function throughputInterleaved(
  sessions: readonly ThroughputSession[],
  o: { producers: number; recordBytes: number; warmupMs: number; rampMs: number; rounds: number; windowMs: number; progress: Progress },
): Promise<(ThroughputResult & Steal)[]> {
  for (const s of sessions) if (o.warmupMs > 0) await s.window(o.warmupMs, 0);
  const windows = await takeTurns(sessions.length, o.rounds, (i) => sessions[i]!.window(o.windowMs, o.rampMs));
  return sessions.map((s, i) => {
    const res = throughputResult(o, windows[i]!);
    o.progress(`${describeThroughput(s.target.label, res)}, CPU steal ${res.stealPct ?? 'n/a'}%`);
    return res;
  });
}

/**
 * Runs `rounds` rounds in which each of `n` systems takes one turn, in the order 0 1 2, 2 1 0,
 * 0 1 2, ... (so that neither goes first, or last, every time); the results of each system's turns,
 * in order. `onRound` hears each round's turns as they were taken.
 */
async function takeTurns<W>(n: number, rounds: number, turn: (i: number) => Promise<W>, onRound?: (round: number, turns: [number, W][]) => void): Promise<W[][]> {
  const results: W[][] = Array.from({ length: n }, () => []);
  for (let r = 0; r < rounds; r++) {
    const order = Array.from({ length: n }, (_, i) => i);
    if (r % 2 === 1) order.reverse();
    const turns: [number, W][] = [];
    for (const i of order) {
      const w = await turn(i);
      results[i]!.push(w);
      turns.push([i, w]);
    }
    onRound?.(r + 1, turns);
  }
  return results;
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

/** One window of the open loop: the latency of each record due in it, from its due time. */
export interface LatencyWindow {
  /** Milliseconds from due to receipt; a record never received counts up to the end of the grace period. */
  readonly samples: readonly number[];
  readonly missing: number;
  readonly errors: number;
  /** Sends acknowledged. */
  readonly acked: number;
  /** CPU steal over the window (null where /proc/stat is not readable). */
  readonly steal: CpuTimes | null;
}

/**
 * The latency workload on one system, opened once (log, consumer, producers) and run in windows,
 * so that several systems can take turns on the same machine (latencyInterleaved).
 */
export interface LatencySession {
  readonly target: Target;
  /** Offers `ratePerSec` for `ms`, then waits for the window's records (at most GRACE_MS). */
  window(ms: number): Promise<LatencyWindow>;
  close(): Promise<void>;
}

export interface LatencyShape {
  readonly log: string;
  readonly partitions: number;
  readonly producers: number;
  readonly recordBytes: number;
  readonly ratePerSec: number;
}

export async function openLatency(t: Target, o: LatencyShape): Promise<LatencySession> {
  await t.createLog(o.log, o.partitions);
  // Sequence numbers run on across windows; the receiver files each record under the window
  // being measured, and ignores a straggler of an earlier one.
  let nextSeq = 0;
  let cur: { base: number; total: number; receivedAt: Float64Array; received: number } | null = null;
  const sub = await t.subscribe(o.log, (v) => {
    const seq = new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0);
    const w = cur;
    if (w === null) return;
    const i = seq - w.base;
    if (i >= 0 && i < w.total && Number.isNaN(w.receivedAt[i]!)) {
      w.receivedAt[i] = performance.now();
      w.received++;
    }
  });
  const producers = await Promise.all(Array.from({ length: o.producers }, () => t.producer()));
  const window = async (ms: number): Promise<LatencyWindow> => {
    const before = cpuTimes();
    const total = Math.floor((o.ratePerSec * ms) / 1000);
    const w = { base: nextSeq, total, receivedAt: new Float64Array(total).fill(Number.NaN), received: 0 };
    nextSeq += total;
    cur = w;
    const due = new Float64Array(total);
    let errors = 0;
    let acked = 0;
    const start = performance.now() + TICK_MS;
    const pending: Promise<void>[] = [];
    let next = 0;
    while (next < total) {
      const dueNow = Math.min(total, Math.floor(((performance.now() - start) * o.ratePerSec) / 1000) + 1);
      for (; next < dueNow; next++) {
        due[next] = start + (next * 1000) / o.ratePerSec;
        const value = new Uint8Array(Math.max(o.recordBytes, SEQ_BYTES)).fill(120);
        new DataView(value.buffer).setUint32(0, w.base + next);
        const p: TargetProducer = producers[next % producers.length]!;
        pending.push(p.send(o.log, value).then(() => void acked++, () => void errors++));
      }
      await sleep(TICK_MS);
    }
    const graceEnd = performance.now() + GRACE_MS;
    while (w.received < total && performance.now() < graceEnd) await sleep(5);
    const end = performance.now();
    cur = null;
    await Promise.allSettled(pending);
    const samples = new Array<number>(total);
    let missing = 0;
    for (let i = 0; i < total; i++) {
      const at = w.receivedAt[i]!;
      if (Number.isNaN(at)) missing++;
      samples[i] = (Number.isNaN(at) ? end : at) - due[i]!;
    }
    return { samples, missing, errors, acked, steal: stealBetween(before, cpuTimes()) };
  };
  return {
    target: t,
    window,
    async close() {
      await sub.close();
      await Promise.all(producers.map((p) => p.close()));
    },
  };
}

/** Pools windows into one result: percentiles over every record of every window. */
export function latencyResult(ratePerSec: number, recordBytes: number, windows: readonly LatencyWindow[]): LatencyResult & Steal {
  const samples = windows.flatMap((w) => w.samples).sort((a, b) => a - b);
  const n = samples.length;
  const at = (p: number): number => round(samples[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))] ?? Number.NaN, 2);
  const missing = windows.reduce((a, w) => a + w.missing, 0);
  return {
    offeredPerSec: ratePerSec,
    recordBytes,
    sent: n,
    received: n - missing,
    missing,
    errors: windows.reduce((a, w) => a + w.errors, 0),
    ms: { p50: at(50), p99: at(99), p999: at(99.9), max: round(samples[n - 1] ?? Number.NaN, 2) },
    stealPct: pooledSteal(windows.map((w) => w.steal)),
  };
}

/** Percent of CPU time stolen over all the windows together; null if any could not be measured. */
function pooledSteal(steals: readonly (CpuTimes | null)[]): number | null {
  if (steals.length === 0 || !steals.every((x): x is CpuTimes => x !== null)) return null;
  return stealPercent({ total: 0, steal: 0 }, steals.reduce((a, x) => ({ total: a.total + x.total, steal: a.steal + x.steal })));
}

function stealBetween(a: CpuTimes | null, b: CpuTimes | null): CpuTimes | null {
  return a === null || b === null ? null : { total: b.total - a.total, steal: b.steal - a.steal };
}

function describeLatency(label: string, r: LatencyResult): string {
  return `  ${label}: ${r.offeredPerSec} records/s offered: p50 ${r.ms.p50} ms, p99 ${r.ms.p99} ms, p99.9 ${r.ms.p999} ms${r.missing > 0 ? `, ${r.missing} missing` : ''}${r.errors > 0 ? `, ${r.errors} failed sends` : ''}`;
}

/** The latency workload on one system: a warm-up window (a new log's leaders and connections settle), then one measured window. */
export async function latency(t: Target, o: LatencyShape & { warmupMs: number; measureMs: number; progress: Progress }): Promise<LatencyResult> {
  const s = await openLatency(t, o);
  try {
    if (o.warmupMs > 0) await s.window(o.warmupMs);
    const r = latencyResult(o.ratePerSec, o.recordBytes, [await s.window(o.measureMs)]);
    o.progress(describeLatency(t.label, r));
    return r;
  } finally {
    await s.close();
  }
}

/**
 * The latency workload on several systems taking turns, all running at once: each gets a warm-up
 * window, then `rounds` measured windows of `windowMs`, in the order A B C, C B A, A B C, ...
 * The figures of systems measured one after the other differ by whatever else the machine did
 * in between (CPU steal from other guests varies by the minute here); taking turns within seconds
 * gives every system the same share of it, and the same offered load.
 */
export async function latencyInterleaved(
  sessions: readonly LatencySession[],
  o: {
    ratePerSec: number;
    recordBytes: number;
    warmupMs: number;
    rounds: number;
    windowMs: number;
    progress: Progress;
    /** Runs each measured window (not the warm-ups), e.g. to read what the servers spent on it (efficiency.ts). */
    measure?: (i: number, window: () => Promise<LatencyWindow>) => Promise<LatencyWindow>;
  },
): Promise<(LatencyResult & Steal)[]> {
  for (const s of sessions) if (o.warmupMs > 0) await s.window(o.warmupMs);
  const measure = o.measure ?? ((_i: number, w: () => Promise<LatencyWindow>) => w());
  const windows = await takeTurns(
    sessions.length,
    o.rounds,
    (i) => measure(i, () => sessions[i]!.window(o.windowMs)),
    (r, turns) => o.progress(`    round ${r}/${o.rounds}: ${turns.map(([i, w]) => `${sessions[i]!.target.label} p99 ${round(percentile(w.samples, 99), 1)} ms`).join(', ')}`),
  );
  return sessions.map((s, i) => {
    const res = latencyResult(o.ratePerSec, o.recordBytes, windows[i]!);
    o.progress(`${describeLatency(s.target.label, res)}, CPU steal ${res.stealPct ?? 'n/a'}%`);
    return res;
  });
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
  /** Milliseconds from each kill to the next acknowledged write; an unrecovered kill counts as the recovery limit. */
  readonly kills: readonly number[];
  /** Kills after which no write was acknowledged within the recovery limit (RECOVERY_MS_MAX). */
  readonly unrecovered: number;
  readonly transfers: readonly number[];
  readonly killMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly transferMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

/** Longest time to wait for an acknowledgement after a fault before calling the run broken. */
export const RECOVERY_MS_MAX = 30_000;
/** Calm time after a planned transfer before the next. */
const TRANSFER_GAP_MS = 500;

export async function failover(
  t: Target,
  o: { log: string; producers: number; recordBytes: number; kills: number; transfers: number; settleMs: number; progress: Progress; recoveryMsMax?: number },
): Promise<FailoverResult> {
  const recoveryMsMax = o.recoveryMsMax ?? RECOVERY_MS_MAX;
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
   * returns its time from `since`; null if none comes within the recovery limit.
   */
  const ackAfter = async (since: number, from: number): Promise<number | null> => {
    watchFrom = from;
    firstAckAfterWatch = Number.POSITIVE_INFINITY;
    while (firstAckAfterWatch === Number.POSITIVE_INFINITY) {
      if (performance.now() - since > recoveryMsMax) {
        watchFrom = Number.POSITIVE_INFINITY;
        return null;
      }
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
    const serving = async (why: string): Promise<void> => {
      const now = performance.now();
      if ((await ackAfter(now, now)) === null) throw new Error(`${t.label}: no acknowledged write within ${recoveryMsMax} ms ${why}`);
    };
    await serving('of the start');
    const kills: number[] = [];
    let unrecovered = 0;
    for (let i = 0; i < o.kills; i++) {
      const victim = await t.leader(o.log);
      const at = performance.now();
      await t.kill(victim);
      const ms = await ackAfter(at, performance.now());
      // A kill the system did not recover from in time counts as the limit (a lower bound), and
      // the run goes on once the killed node is back and writes are acknowledged again.
      kills.push(ms ?? recoveryMsMax);
      if (ms === null) unrecovered++;
      o.progress(`  ${t.label}: kill ${i + 1}/${o.kills} (${victim}): ${ms === null ? `no acknowledged write within ${recoveryMsMax} ms` : `next acknowledged write after ${ms.toFixed(0)} ms`}`);
      await t.restart(victim);
      if (ms === null) await serving(`after the killed node ${victim} came back`);
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
    return { kills, unrecovered, transfers, killMs: summary(kills), transferMs: summary(transfers) };
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
