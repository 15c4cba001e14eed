/**
 * Renders a report as text for people: the verdict, the anomalies (one line each, grouped by
 * kind), searches that gave up, counts, the fault windows and the failover times.
 */
import { describeAnomaly } from './anomaly.js';
import type { FaultWindow } from './checks/faults.js';
import type { Report } from './report.js';

/** `valid`, `unknown`, or `invalid (kind, kind, ...)`: the CLI's one-line summary. */
export function summarize(report: Report): string {
  switch (report.verdict) {
    case 'valid':
    case 'unknown':
      return report.verdict;
    case 'invalid':
      return `invalid (${report.anomalyKinds.join(', ')})`;
  }
}

export function renderReport(report: Report, title = 'history'): string {
  const lines: string[] = [`${title}: ${summarize(report)} [${report.format}]`];
  for (const kind of report.anomalyKinds) {
    const total = report.anomalyCounts[kind] ?? 0;
    const shown = report.anomalies.filter((a) => a.kind === kind);
    lines.push(`  ${kind} (${total}${shown.length < total ? `, first ${shown.length} shown` : ''}):`);
    for (const a of shown) lines.push(`    - ${describeAnomaly(a)}`);
  }
  for (const u of report.unknown) {
    lines.push(`  unknown: ${u.check} ${u.partition === '' ? '' : `${u.partition} `}gave up after ${u.steps} steps (${u.ops} ops)`);
  }
  const c = report.counts;
  lines.push(`  events ${c.events}; ops ok ${c.ops.ok}, fail ${c.ops.fail}, info ${c.ops.info}, open ${c.ops.open}`);
  for (const [f, n] of Object.entries(c.byF)) {
    lines.push(`    ${f}: ok ${n.ok}, fail ${n.fail}, info ${n.info}, open ${n.open}`);
  }
  if (c.log !== undefined) {
    lines.push(`  keys ${c.log.keys}; values sent ${c.log.sent}, acknowledged ${c.log.acknowledged}, read ${c.log.read}`);
  }
  if (report.windows.length > 1) {
    lines.push('  fault windows:');
    for (const w of report.windows) lines.push(`    ${renderWindow(w)}`);
  }
  const fo = report.failover;
  if (fo !== null && fo.faults.length > 0) {
    lines.push(
      `  failover: ${fo.faults.length} faults, p50 ${ms(fo.p50Ns)}, p99 ${ms(fo.p99Ns)}, max ${ms(fo.maxNs)}, unrecovered ${fo.unrecovered}`,
    );
  }
  for (const n of report.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

function renderWindow(w: FaultWindow): string {
  const opened = w.openedBy === null ? 'start' : w.openedBy;
  const state = w.active.length === 0 ? 'healthy' : w.active.join(', ');
  return `${ms(w.start)}–${w.end === null ? 'end' : ms(w.end)} after ${opened} [${state}]: ok ${w.ok}, info ${w.info}, fail ${w.fail}`;
}

function ms(ns: number | null): string {
  return ns === null ? '-' : `${(ns / 1e6).toFixed(1)} ms`;
}
