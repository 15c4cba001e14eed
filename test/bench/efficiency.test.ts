/**
 * What the efficiency and soak figures are computed from: the latency histogram's percentiles and
 * their pooling, the event-loop delay read from a node's /metrics text, and the cost of processes
 * between two readings of /proc.
 */
import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_RESOLUTION_MS, diskBetween, diskFromMetrics, efficiencyResult, eventLoopFromMetrics } from '../../scripts/bench/efficiency.js';
import { LatencyHistogram } from '../../scripts/bench/histogram.js';
import { clockTicksPerSec, costBetween, readProc, type ProcReading } from '../../scripts/bench/procfs.js';
import { percentile } from '../../scripts/bench/stats.js';

describe('the latency histogram', () => {
  it('gives each percentile within 1% above the exact one, never above the largest sample', () => {
    const xs = Array.from({ length: 10_000 }, (_, i) => 0.5 + ((i * 7919) % 10_000) / 37);
    const h = new LatencyHistogram();
    for (const x of xs) h.record(x);
    for (const p of [50, 90, 99, 99.9, 100]) {
      const exact = percentile(xs, p);
      expect(h.percentile(p)).toBeGreaterThanOrEqual(exact);
      expect(h.percentile(p)).toBeLessThanOrEqual(exact * 1.01);
    }
    expect(h.max).toBe(Math.max(...xs));
    expect(h.count).toBe(xs.length);
  });

  it('pools windows into the histogram of their union', () => {
    const [a, b, all] = [new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram()];
    for (let i = 1; i <= 1000; i++) {
      (i % 3 === 0 ? a : b).record(i / 10);
      all.record(i / 10);
    }
    const pooled = new LatencyHistogram().add(a).add(b);
    for (const p of [1, 50, 99, 99.9]) expect(pooled.percentile(p)).toBe(all.percentile(p));
    expect(new LatencyHistogram().percentile(99)).toBeNaN();
  });
});

describe('event-loop delay from /metrics', () => {
  it("reads prom-client's percentiles and takes the monitor's interval off", () => {
    const text = [
      '# HELP nodejs_eventloop_lag_p50_seconds The 50th percentile of the recorded event loop delays.',
      '# TYPE nodejs_eventloop_lag_p50_seconds gauge',
      'nodejs_eventloop_lag_p50_seconds{node="n1"} 0.010123',
      'nodejs_eventloop_lag_p90_seconds{node="n1"} 0.012',
      'nodejs_eventloop_lag_p99_seconds{node="n1"} 0.0305',
      'nodejs_eventloop_lag_max_seconds{node="n1"} 0.05',
      'nodejs_eventloop_lag_seconds{node="n1"} 0.001',
    ].join('\n');
    const got = eventLoopFromMetrics(new Map([['n1', text], ['n2', 'no such metrics']]));
    expect([...got.keys()]).toEqual(['n1']);
    const n1 = got.get('n1')!;
    expect(n1.p50).toBeCloseTo(10.123 - EVENT_LOOP_RESOLUTION_MS, 6);
    expect(n1.p99).toBeCloseTo(30.5 - EVENT_LOOP_RESOLUTION_MS, 6);
    expect(n1.max).toBeCloseTo(40, 6);
  });
});

describe('what the servers spent', () => {
  const reading = (pid: number, cpuTicks: number, writeBytes: number, cancelledWriteBytes = 0, systemTicks = 0): ProcReading => ({ node: `n${pid}`, pid, cpuTicks, systemTicks, writeBytes, cancelledWriteBytes, rssBytes: 0 });

  it('adds CPU and disk bytes written over the processes, less what was cancelled', () => {
    const hz = clockTicksPerSec();
    const c = costBetween([reading(1, 100, 1e6, 0, 10), reading(2, 50, 0)], [reading(1, 100 + hz, 5e6, 5e5, 10 + hz / 2), reading(2, 50 + hz, 2e6)]);
    expect(c).toEqual({ cpuSec: 2, systemSec: 0.5, diskBytes: 5.5e6, complete: true });
    const e = efficiencyResult(1000, 100, [{ cost: c, acked: 2000, eventLoop: new Map() }]);
    // 2 CPU-s for 2 MB: 1000 CPU-s per GB, 1000 per million records; 5.5 MB written for 2 MB.
    expect(e.cpuSecPerGB).toBe(1000);
    expect(e.cpuSecPerMillionRecords).toBe(1000);
    expect(e.diskPerAckedByte).toBe(2.75);
    expect(e.cpuSystemShare).toBe(0.25);
    // A system whose metrics do not say where its bytes went has no breakdown.
    expect(e.diskBreakdown).toBeNull();
  });

  it('breaks the disk bytes down by kind of file from the nodes\' metrics, the rest as rewritten', () => {
    const text = (segment: number, ledger: number, syncs: number): string =>
      [
        '# TYPE raftlog_disk_written_bytes gauge',
        `raftlog_disk_written_bytes{file="segment",node="n1"} ${segment}`,
        `raftlog_disk_written_bytes{file="sync-ledger",node="n1"} ${ledger}`,
        'raftlog_disk_written_bytes{file="hard-state",node="n1"} 0',
        `raftlog_disk_syncs{file="segment",node="n1"} ${syncs}`,
        `raftlog_disk_syncs{file="sync-ledger",node="n1"} ${syncs}`,
      ].join('\n');
    const before = diskFromMetrics(new Map([['n1', text(1000, 64, 1)], ['n2', text(500, 0, 0)]]));
    expect(before?.get('segment')).toEqual({ bytes: 1500, syncs: 1 });
    const after = diskFromMetrics(new Map([['n1', text(3_001_000, 64 + 64 * 500, 501)], ['n2', text(3_000_500, 64 * 500, 500)]]));
    const disk = diskBetween(before, after);
    expect(disk?.get('segment')).toEqual({ bytes: 6e6, syncs: 1000 });
    // A node restarted between the readings (its counts went down): no difference to give.
    expect(diskBetween(after, before)).toBeNull();
    expect(diskFromMetrics(new Map([['nats', 'gnatsd_varz 1']]))).toBeNull();

    // 2,000 records of 1,000 B acknowledged; the kernel counted 8.064 MB.
    const hz = clockTicksPerSec();
    const c = costBetween([reading(1, 0, 0)], [reading(1, hz, 8.064e6)]);
    const e = efficiencyResult(1000, 100, [{ cost: c, acked: 2000, eventLoop: new Map(), disk }]);
    expect(e.diskBreakdown).toEqual({
      byKind: { segment: 3, 'sync-ledger': 0.032 },
      rewrittenAndUncounted: 1,
      syncsPerThousandRecords: { segment: 500, 'sync-ledger': 500 },
    });
  });

  it('says a difference is incomplete when a process restarted between the readings', () => {
    const c = costBetween([reading(1, 0, 0), reading(2, 0, 0)], [reading(1, 10, 0), reading(3, 10, 0)]);
    expect(c.complete).toBe(false);
  });

  it('reads this very process from /proc', () => {
    const r = readProc({ node: 'me', pid: process.pid });
    expect(r).not.toBeNull();
    expect(r!.cpuTicks).toBeGreaterThan(0);
    expect(r!.rssBytes).toBeGreaterThan(0);
  });
});
