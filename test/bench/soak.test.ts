/**
 * The soak's machinery (scripts/bench/soak.ts) on a real 3-node raftlog cluster, briefly and at a
 * low rate: what its report holds (a row per window, memory readings of every node, the checker's
 * verdict on the recorded topic, records deleted by retention, the transfers), not how fast
 * anything is. NATS is left out (nats-server need not be installed here).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSoak } from '../../scripts/bench/soak.js';
import { renderSoak } from '../../scripts/bench/soak-report.js';
import { soakChart } from '../../scripts/bench/soak-chart.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-soak-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the soak', () => {
  it('reports every window, every node\'s memory, the transfers, retention and a valid history', async () => {
    // 4 windows of 5 s; retention of 4 s on segments of 64 KiB (at 150 records/s of 1 KB, one
    // rolls about every 1.3 s per partition); one transfer, 10 s in.
    const report = await runSoak({ durationMs: 20_000, windowMs: 5_000, ratePerSec: 150, retentionMs: 4_000, transferEveryMs: 10_000, warmupMs: 0, nats: false, dir, progress: () => undefined });

    expect(report.systems).toHaveLength(1);
    const s = report.systems[0]!;
    expect(s.rows.map((r) => r.window)).toEqual([0, 1, 2, 3]);
    for (const r of s.rows) {
      expect(r.sent).toBeGreaterThan(0);
      expect(Number.isFinite(r.ms.p99)).toBe(true);
    }
    expect(Object.keys(s.memory).sort()).toEqual(['n1', 'n2', 'n3']);
    for (const pts of Object.values(s.memory)) expect(pts.length).toBeGreaterThan(0);
    expect(s.transfers.filter((t) => t.error === undefined)).toHaveLength(1);
    expect(s.rows.at(-1)!.deleted).toBeGreaterThan(0);
    expect(s.rows.some((r) => Object.keys(r.eventLoopP99).length === 3)).toBe(true);
    expect(s.trend).not.toBeNull();

    expect(report.checked?.verdict).toBe('valid');
    expect(report.checked?.transfers).toBe(1);
    expect(report.checked?.acknowledged).toBeGreaterThan(0);
    expect(fs.existsSync(report.checked!.historyFile)).toBe(true);

    expect(renderSoak(report)).toContain('| 4 | 15-20 |');
    expect(soakChart(report).toString()).toContain('<polyline');
  });
});
