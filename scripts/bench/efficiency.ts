/**
 * What each system's servers spend on the work they are given, at the same offered load: CPU
 * seconds of all server processes per GB and per million records acknowledged, and bytes written
 * to disk per byte acknowledged (procfs.ts says what the kernel counts), over the measured windows
 * of the fixed-rate phases (the latency phase's 1 KB loads, and 100 B records at one load). Each
 * window is one system's turn (workloads.ts latencyInterleaved), so its cost is read on that
 * system's processes only; the consumer reading the records back runs in every window, for
 * every system alike.
 *
 * And the event-loop delay of each raftlog node over the same windows, from what /metrics already
 * exposes: prom-client's default metrics keep a `perf_hooks.monitorEventLoopDelay` histogram
 * (10 ms resolution) and report its percentiles as nodejs_eventloop_lag_{p50,p90,p99,max}_seconds,
 * resetting it at every scrape. A scrape just before the window resets it; one just after reads
 * the window's. The histogram records the time between the monitor's 10 ms timer runs, so the
 * delay is that minus the 10 ms (measured on Node 20: an idle loop reports a minimum of 10.08 ms).
 */
import { costBetween, readAll, sumCosts, type ProcCost } from './procfs.js';
import type { Target } from './target.js';
import type { LatencyWindow } from './workloads.js';
import { round } from './workloads.js';

/** prom-client's eventLoopMonitoringPrecision default (ms): the monitor's timer interval, included in every value it records. */
export const EVENT_LOOP_RESOLUTION_MS = 10;

/** Event-loop delay of one node over one window, ms (the monitor's interval taken off). */
export interface EventLoopWindow {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** One measured window's cost on one system. */
export interface CostWindow {
  readonly cost: ProcCost;
  readonly acked: number;
  /** By node; empty for a system whose metrics the benchmark does not read. */
  readonly eventLoop: ReadonlyMap<string, EventLoopWindow>;
}

export interface EfficiencyResult {
  readonly recordBytes: number;
  readonly offeredPerSec: number;
  readonly windows: number;
  readonly ackedRecords: number;
  readonly ackedBytes: number;
  readonly cpuSec: number;
  readonly cpuSecPerGB: number | null;
  readonly cpuSecPerMillionRecords: number | null;
  readonly diskBytes: number;
  /** Disk bytes per acknowledged byte, all server processes together (each of 3 replicas writes its copy). */
  readonly diskPerAckedByte: number | null;
  /** A process restarted or exited during a window: the figures miss its part. */
  readonly incomplete: boolean;
}

export interface EventLoopResult {
  readonly node: string;
  readonly windows: number;
  /** Medians over the windows of each window's percentile, ms. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** The worst window's p99 and the longest delay of any window, ms. */
  readonly p99Worst: number;
  readonly max: number;
}

/** Event-loop delay percentiles of each node in the metrics texts, ms; nodes without them are left out. */
export function eventLoopFromMetrics(texts: ReadonlyMap<string, string>): Map<string, EventLoopWindow> {
  const out = new Map<string, EventLoopWindow>();
  for (const [node, text] of texts) {
    const v = (q: string): number | null => {
      const m = new RegExp(`^nodejs_eventloop_lag_${q}_seconds(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      const x = m === null ? Number.NaN : Number(m[1]);
      return Number.isFinite(x) ? Math.max(0, x * 1000 - EVENT_LOOP_RESOLUTION_MS) : null;
    };
    const [p50, p90, p99, max] = [v('p50'), v('p90'), v('p99'), v('max')];
    if (p50 !== null && p90 !== null && p99 !== null && max !== null) out.set(node, { p50, p90, p99, max });
  }
  return out;
}

/**
 * Runs one latency window of `t` and reads what its servers spent on it: processes read just
 * before and just after, the event-loop monitors reset by a scrape before and read by one after.
 */
export async function costOf(t: Target, run: () => Promise<LatencyWindow>): Promise<{ w: LatencyWindow; c: CostWindow }> {
  const scrape = t.scrapeMetrics?.bind(t);
  if (scrape !== undefined) await scrape().catch(() => undefined);
  const ps = t.processes?.() ?? [];
  const before = readAll(ps);
  const w = await run();
  const after = readAll(t.processes?.() ?? []);
  const loop = scrape !== undefined ? await scrape().then(eventLoopFromMetrics, () => new Map<string, EventLoopWindow>()) : new Map<string, EventLoopWindow>();
  return { w, c: { cost: costBetween(before, after), acked: w.acked, eventLoop: loop } };
}

export function efficiencyResult(recordBytes: number, offeredPerSec: number, windows: readonly CostWindow[]): EfficiencyResult {
  const cost = sumCosts(windows.map((w) => w.cost));
  const ackedRecords = windows.reduce((a, w) => a + w.acked, 0);
  const ackedBytes = ackedRecords * recordBytes;
  return {
    recordBytes,
    offeredPerSec,
    windows: windows.length,
    ackedRecords,
    ackedBytes,
    cpuSec: round(cost.cpuSec, 2),
    cpuSecPerGB: ackedBytes > 0 ? round(cost.cpuSec / (ackedBytes / 1e9), 1) : null,
    cpuSecPerMillionRecords: ackedRecords > 0 ? round(cost.cpuSec / (ackedRecords / 1e6), 2) : null,
    diskBytes: cost.diskBytes,
    diskPerAckedByte: ackedBytes > 0 ? round(cost.diskBytes / ackedBytes, 2) : null,
    incomplete: !cost.complete,
  };
}

export function eventLoopResults(windows: readonly CostWindow[]): EventLoopResult[] {
  const nodes = [...new Set(windows.flatMap((w) => [...w.eventLoop.keys()]))].sort();
  return nodes.map((node) => {
    const ws = windows.flatMap((w) => w.eventLoop.get(node) ?? []);
    const med = (f: (x: EventLoopWindow) => number): number => round(median(ws.map(f)), 2);
    return { node, windows: ws.length, p50: med((x) => x.p50), p90: med((x) => x.p90), p99: med((x) => x.p99), p99Worst: round(Math.max(...ws.map((x) => x.p99)), 2), max: round(Math.max(...ws.map((x) => x.max)), 2) };
  });
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** What the efficiency table says about its columns, printed under it. */
export const EFFICIENCY_NOTES = [
  'CPU: utime+stime of every server process (/proc/<pid>/stat, all threads), over the measured windows, divided by what was acknowledged in them; the consumer reading everything back runs in every window.',
  'Disk: /proc/<pid>/io write_bytes minus cancelled_write_bytes, summed over the server processes: bytes the processes dirtied in the page cache for the block layer, counted when dirtied (a page appended to and fsynced twice counts twice, as the disk writes it twice; a page dirtied again before writeback counts once; the file system journal is not counted). Three replicas on one disk: 3.0 is one copy per replica. A system that does not fsync (NATS) is charged when it writes, not when the kernel writes back.',
] as const;
