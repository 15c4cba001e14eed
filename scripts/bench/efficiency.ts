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
import { metricValue, parseMetricsText, samplesOf } from '../../chaos/metrics-text.js';
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

/** Bytes written and syncs made, by kind of file, all nodes together (raftlog's raftlog_disk_* metrics, storage/disk-accounting.ts). */
export type DiskByKind = ReadonlyMap<string, { readonly bytes: number; readonly syncs: number }>;

/** One measured window's cost on one system. */
export interface CostWindow {
  readonly cost: ProcCost;
  readonly acked: number;
  /** By node; empty for a system whose metrics the benchmark does not read. */
  readonly eventLoop: ReadonlyMap<string, EventLoopWindow>;
  /** What the nodes wrote over the window by kind of file; null for a system that does not say (NATS). */
  readonly disk?: DiskByKind | null;
}

/** Where the disk bytes of a window went: per acknowledged byte, all replicas together, by kind of file. */
export interface DiskBreakdown {
  /** Written through the node's storage code, by kind (segment, sync-ledger, ...). */
  readonly byKind: Readonly<Record<string, number>>;
  /**
   * The kernel's count (diskPerAckedByte) minus everything written through the storage code: the
   * pages a sync made the disk write again (an append to a page already synced dirties all of it
   * again) and LevelDB's writes (the metadata store).
   */
  readonly rewrittenAndUncounted: number;
  /** fsyncs and fdatasyncs per thousand acknowledged records, all nodes together, by kind. */
  readonly syncsPerThousandRecords: Readonly<Record<string, number>>;
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
  /** The share of cpuSec spent in the kernel (stime), 0-1. */
  readonly cpuSystemShare: number | null;
  readonly diskBytes: number;
  /** Disk bytes per acknowledged byte, all server processes together (each of 3 replicas writes its copy). */
  readonly diskPerAckedByte: number | null;
  /** Where diskPerAckedByte went (raftlog only: null for a system whose metrics do not say). */
  readonly diskBreakdown: DiskBreakdown | null;
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
      const x = metricValue(text, `nodejs_eventloop_lag_${q}_seconds`) ?? Number.NaN;
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
  const textsBefore = scrape !== undefined ? await scrape().catch(() => null) : null;
  const ps = t.processes?.() ?? [];
  const before = readAll(ps);
  const w = await run();
  const after = readAll(t.processes?.() ?? []);
  const textsAfter = scrape !== undefined ? await scrape().catch(() => null) : null;
  const loop = textsAfter !== null ? eventLoopFromMetrics(textsAfter) : new Map<string, EventLoopWindow>();
  const disk = textsBefore !== null && textsAfter !== null ? diskBetween(diskFromMetrics(textsBefore), diskFromMetrics(textsAfter)) : null;
  return { w, c: { cost: costBetween(before, after), acked: w.acked, eventLoop: loop, disk } };
}

/** raftlog_disk_written_bytes and raftlog_disk_syncs by kind of file, summed over the nodes; null when no node has them. */
export function diskFromMetrics(texts: ReadonlyMap<string, string>): DiskByKind | null {
  const out = new Map<string, { bytes: number; syncs: number }>();
  for (const text of texts.values()) {
    const samples = parseMetricsText(text);
    for (const [name, field] of [['raftlog_disk_written_bytes', 'bytes'], ['raftlog_disk_syncs', 'syncs']] as const) {
      for (const x of samplesOf(samples, name)) {
        const kind = x.labels['file'] ?? 'other';
        const cur = out.get(kind) ?? { bytes: 0, syncs: 0 };
        cur[field] += x.value;
        out.set(kind, cur);
      }
    }
  }
  return out.size > 0 ? out : null;
}

/** What was written between two readings; null when either is missing (or a node restarted: a count went down). */
export function diskBetween(before: DiskByKind | null, after: DiskByKind | null): DiskByKind | null {
  if (before === null || after === null) return null;
  const out = new Map<string, { bytes: number; syncs: number }>();
  for (const [kind, a] of after) {
    const b = before.get(kind) ?? { bytes: 0, syncs: 0 };
    if (a.bytes < b.bytes || a.syncs < b.syncs) return null;
    out.set(kind, { bytes: a.bytes - b.bytes, syncs: a.syncs - b.syncs });
  }
  return out;
}

function diskBreakdown(windows: readonly CostWindow[], diskBytes: number, ackedBytes: number, ackedRecords: number): DiskBreakdown | null {
  if (ackedBytes === 0 || windows.length === 0 || windows.some((w) => w.disk === undefined || w.disk === null)) return null;
  const bytes = new Map<string, number>();
  const syncs = new Map<string, number>();
  for (const w of windows) {
    for (const [kind, x] of w.disk!) {
      bytes.set(kind, (bytes.get(kind) ?? 0) + x.bytes);
      syncs.set(kind, (syncs.get(kind) ?? 0) + x.syncs);
    }
  }
  const counted = [...bytes.values()].reduce((a, x) => a + x, 0);
  const perByte = (x: number): number => round(x / ackedBytes, 3);
  return {
    byKind: Object.fromEntries([...bytes].filter(([, x]) => x > 0).map(([k, x]) => [k, perByte(x)])),
    rewrittenAndUncounted: perByte(diskBytes - counted),
    syncsPerThousandRecords: Object.fromEntries([...syncs].filter(([, x]) => x > 0).map(([k, x]) => [k, round((x / ackedRecords) * 1000, 1)])),
  };
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
    cpuSystemShare: cost.cpuSec > 0 ? round(cost.systemSec / cost.cpuSec, 2) : null,
    diskBytes: cost.diskBytes,
    diskPerAckedByte: ackedBytes > 0 ? round(cost.diskBytes / ackedBytes, 2) : null,
    diskBreakdown: diskBreakdown(windows, cost.diskBytes, ackedBytes, ackedRecords),
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
  'Kernel: the share of that CPU in stime (system calls: writes, fdatasyncs, sockets), the rest in user space.',
  'Disk: /proc/<pid>/io write_bytes minus cancelled_write_bytes, summed over the server processes: bytes the processes dirtied in the page cache for the block layer, counted when dirtied (a page appended to and fsynced twice counts twice, as the disk writes it twice; a page dirtied again before writeback counts once; the file system journal is not counted). Three replicas on one disk: 3.0 is one copy per replica. A system that does not fsync (NATS) is charged when it writes, not when the kernel writes back.',
  'Where the disk bytes go (raftlog): what its storage code wrote, by kind of file (raftlog_disk_written_bytes; segment = the log entries, record batches in their frames), per acknowledged byte, all replicas together; "rewritten" is the kernel\'s count minus those: pages a sync had the disk write again (an append to a page already synced dirties the whole page again) and LevelDB\'s writes. Syncs: fsync and fdatasync calls per thousand acknowledged records, all nodes.',
] as const;
