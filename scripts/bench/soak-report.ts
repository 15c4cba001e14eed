/**
 * The soak's tables (Markdown): the summary (whole-run percentiles, the trend check, memory at
 * the start and the end, the checker's verdict, raftlog against NATS window by window) and the
 * per-window table; and the headline figures of the JSON line the bench ends with.
 */
import type { SoakReport, SoakSystem } from './soak.js';
import { TREND_RATIO_MAX } from './soak.js';
import { DELIVERY_MS_MAX, GRACE_MS } from './soak-load.js';

/** Issue 24's goal for p99 end-to-end at half load (the producer's 5 ms linger included). */
export const P99_GOAL_MS = 15;

export function renderSoak(r: SoakReport): string {
  const lines: string[] = [];
  lines.push(`### Soak: ${r.durationSec} s at ${r.ratePerSec} records/s of 1 KB (${r.rateOf})`, '');
  lines.push(
    `Retention ${r.retentionSec} s (deletion from about ${r.retentionSec} s on), a consumer group reading along, a leader transfer every ${r.transferEverySec} s (partitions in turn)` +
      (r.turnSec !== null ? `; the systems take turns of ${r.turnSec} s, so each carries the load half the time, on the same machine in every window.` : '.'),
    '',
  );
  lines.push('| system | windows | records sent | missing | sends given up | sends retried | late | duplicates | p50 ms | p99 ms | p99.9 ms | max ms | trend: first p99 | last p99 | last / first | trend ok | RSS MB at start → end (max) |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of r.systems) {
    const o = s.overall;
    const t = s.trend;
    lines.push(
      `| ${s.label} | ${s.rows.length} | ${sum(s, 'sent')} | ${sum(s, 'missing')} | ${sum(s, 'errors')} | ${sum(s, 'retries')} | ${s.late} | ${s.duplicates} | ${o?.p50 ?? 'n/a'} | ${o?.p99 ?? 'n/a'} | ${o?.p999 ?? 'n/a'} | ${o?.max ?? 'n/a'} | ${t?.firstP99 ?? 'n/a'} | ${t?.lastP99 ?? 'n/a'} | ${t?.ratio ?? 'n/a'} | ${t === null ? 'n/a' : t.pass ? 'pass' : 'FAIL'} | ${memory(s)} |`,
    );
  }
  const span = r.systems[0]?.trend?.windows;
  lines.push('');
  lines.push(`- Trend: the pooled p99 of the last ${span ?? '?'} windows against the first ${span ?? '?'} (a sixth of the run each: ten minutes of an hour); passes at most ${TREND_RATIO_MAX}x (within 20%).`);
  const raftlog = r.systems[0];
  if (raftlog?.overall !== null && raftlog?.overall !== undefined) lines.push(`- ${raftlog.label} p99 over the whole run: ${raftlog.overall.p99} ms (goal: at most ${P99_GOAL_MS} ms): ${raftlog.overall.p99 <= P99_GOAL_MS ? 'met' : 'NOT met'}.`);
  if (r.raftlogBelowNats !== null) lines.push(`- raftlog's p99 below NATS's in ${r.raftlogBelowNats.windows} of ${r.raftlogBelowNats.of} windows (goal: every one).`);
  const c = r.checked;
  if (c !== null) {
    lines.push(`- The checker on the recorded topic's history (chaos/checker, ${c.events} events: ${c.sent} values sent, ${c.acknowledged} acknowledged, ${c.read} read, ${c.deleted ?? 'n/a'} deleted by retention before the final reads; ${c.transfers} transfers as nemesis events; replica agreement from the replicas' files): **${c.summary}**. History ${c.historyFile}, report ${c.reportFile}.`);
    for (const n of c.notes) lines.push(`  - note: ${n}`);
  } else lines.push('- The checker did not run (the soak stopped early).');
  for (const s of r.systems) {
    for (const p of s.problems) lines.push(`- ${s.label}: ${p}`);
    const failed = s.transfers.filter((t) => t.error !== undefined);
    if (failed.length > 0) lines.push(`- ${s.label}: ${failed.length} of ${s.transfers.length} transfers failed: ${failed.map((t) => `${t.atSec} s: ${t.error}`).join('; ')}`);
  }
  lines.push(`- A failed send is sent again until ${DELIVERY_MS_MAX / 1000} s after its due time (soak-load.ts), as raftlog's client retries by itself. A record not received within ${GRACE_MS / 1000} s of its window's end counts as received then, and as missing; "late" ones came after that. CPU-s: all server processes over the window (idle turns included). RSS: the largest reading of each node in the window. Event loop: each node's p99 delay over the window (monitorEventLoopDelay via /metrics, its 10 ms interval taken off). Deleted: records removed from the start of the load's log by retention, all partitions.`);
  lines.push('', `#### Per ${r.windowSec} s window`, '');
  const head = ['window', 's'];
  for (const s of r.systems) head.push(`${s.label} p50 ms`, 'p99', 'p99.9', 'max', 'missing', 'retried', 'CPU-s', 'RSS MB', 'event-loop p99 ms', 'deleted');
  if (r.raftlogBelowNats !== null) head.push('raftlog p99 < NATS');
  head.push('transfers');
  lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  const windows = Math.max(0, ...r.systems.map((s) => s.rows.length));
  for (let w = 0; w < windows; w++) {
    const rows = r.systems.map((s) => s.rows.find((x) => x.window === w));
    const first = rows.find((x) => x !== undefined);
    const cells = [String(w + 1), first === undefined ? '' : `${first.startSec}-${first.endSec}`];
    for (const x of rows) {
      if (x === undefined) cells.push('', '', '', '', '', '', '', '', '', '');
      else cells.push(String(x.ms.p50), String(x.ms.p99), String(x.ms.p999), String(x.ms.max), String(x.missing), String(x.retries), x.cpuSec === null ? 'n/a' : String(x.cpuSec), Object.values(x.rssMB).map((v) => Math.round(v)).join('/'), Object.keys(x.eventLoopP99).length === 0 ? 'n/a' : Object.values(x.eventLoopP99).join('/'), x.deleted === null ? 'n/a' : String(x.deleted));
    }
    if (r.raftlogBelowNats !== null) {
      const [a, b] = rows;
      cells.push(a === undefined || b === undefined ? 'n/a' : a.ms.p99 < b.ms.p99 ? 'yes' : 'NO');
    }
    cells.push(rows.map((x) => x?.transfers ?? 0).join(' / '));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function soakHeadline(r: SoakReport): Record<string, unknown> {
  const [a, b] = r.systems;
  return {
    bench: 'soak',
    durationSec: r.durationSec,
    ratePerSec: r.ratePerSec,
    p99Ms: { raftlog: a?.overall?.p99 ?? null, nats: b?.overall?.p99 ?? null },
    p999Ms: { raftlog: a?.overall?.p999 ?? null, nats: b?.overall?.p999 ?? null },
    trend: { raftlog: a?.trend ?? null, nats: b?.trend ?? null },
    raftlogP99BelowNats: r.raftlogBelowNats,
    missing: { raftlog: a === undefined ? null : sum(a, 'missing'), nats: b === undefined ? null : sum(b, 'missing') },
    checker: r.checked?.summary ?? null,
  };
}

function sum(s: SoakSystem, k: 'sent' | 'missing' | 'errors' | 'retries'): number {
  return s.rows.reduce((a, x) => a + x[k], 0);
}

/** Each node's memory at the first and the last reading, and its largest: `n1 80 → 95 (97)`. */
function memory(s: SoakSystem): string {
  return Object.entries(s.memory)
    .map(([node, pts]) => `${node} ${Math.round(pts[0]?.[1] ?? 0)} → ${Math.round(pts.at(-1)?.[1] ?? 0)} (${Math.round(Math.max(...pts.map((p) => p[1])))})`)
    .join(', ');
}
