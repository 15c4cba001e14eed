/**
 * What the efficiency and soak figures are computed from: the latency histogram's percentiles and
 * their pooling, the event-loop delay read from a node's /metrics text, and the cost of processes
 * between two readings of /proc.
 */
import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_RESOLUTION_MS, efficiencyResult, eventLoopFromMetrics } from '../../scripts/bench/efficiency.js';
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
  const reading = (pid: number, cpuTicks: number, writeBytes: number, cancelledWriteBytes = 0): ProcReading => ({ node: `n${pid}`, pid, cpuTicks, writeBytes, cancelledWriteBytes, rssBytes: 0 });

  it('adds CPU and disk bytes written over the processes, less what was cancelled', () => {
    const hz = clockTicksPerSec();
    const c = costBetween([reading(1, 100, 1e6), reading(2, 50, 0)], [reading(1, 100 + hz, 5e6, 5e5), reading(2, 50 + hz, 2e6)]);
    expect(c).toEqual({ cpuSec: 2, diskBytes: 5.5e6, complete: true });
    const e = efficiencyResult(1000, 100, [{ cost: c, acked: 2000, eventLoop: new Map() }]);
    // 2 CPU-s for 2 MB: 1000 CPU-s per GB, 1000 per million records; 5.5 MB written for 2 MB.
    expect(e.cpuSecPerGB).toBe(1000);
    expect(e.cpuSecPerMillionRecords).toBe(1000);
    expect(e.diskPerAckedByte).toBe(2.75);
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
