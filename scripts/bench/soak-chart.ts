/**
 * The soak's picture, as SVG (chaos/plot's writer): panels of lines over the soak's time, with
 * the leader transfers as thin vertical lines across every panel:
 *
 * - end-to-end latency per window, p50, p99 and p99.9 of each system, on a log scale;
 * - resident memory of each node over time;
 * - records deleted by retention so far, per system (where retention starts, and keeps up).
 *
 * Every line is a group titled `<panel>: <series>` (a viewer's tooltip).
 */
import { niceCeil } from '../../chaos/plot/chart.js';
import { Svg, textWidth, type Colour } from '../../chaos/plot/svg.js';
import type { SoakReport } from './soak.js';

export interface LineSeries {
  readonly label: string;
  readonly colour: Colour;
  /** [seconds from the start, value]; non-finite values break the line. */
  readonly points: readonly (readonly [number, number])[];
}

export interface LinePanel {
  readonly title: string;
  readonly unit: string;
  readonly log?: boolean;
  readonly series: readonly LineSeries[];
}

const WIDTH = 1400;
const PANEL_H = 240;
const TOP = 50;
const GAP = 80;
const LEFT = 80;
const RIGHT = 30;
const TITLE_SIZE = 18;
const LINE_WIDTH = 2;
const INK: Colour = '#282828';
const GRID: Colour = '#e1e1e1';
const TRANSFER: Colour = '#9467bd';
/** raftlog's series in blues and greens, NATS's in oranges and reds: one shade per quantile or node. */
const SHADES: readonly (readonly Colour[])[] = [
  ['#1f77b4', '#2ca02c', '#17becf'],
  ['#ff7f0e', '#d62728', '#e6b400'],
];

export function drawLines(title: string, spanSec: number, panels: readonly LinePanel[], markers: readonly { sec: number; label: string }[]): Svg {
  const height = TOP + panels.length * (PANEL_H + GAP) + 20;
  const c = new Svg(WIDTH, height);
  c.text(LEFT, 30, title, { colour: INK, size: TITLE_SIZE, bold: true });
  const plotW = WIDTH - LEFT - RIGHT;
  const x = (sec: number): number => LEFT + (Math.min(spanSec, Math.max(0, sec)) / Math.max(1, spanSec)) * plotW;
  panels.forEach((p, i) => {
    const top = TOP + 40 + i * (PANEL_H + GAP);
    const bottom = top + PANEL_H;
    c.text(LEFT, top - 26, `${p.title} (${p.unit})`, { colour: INK });
    // Legend, on the title's line.
    let lx = LEFT;
    for (const s of p.series) {
      c.rect(lx, top - 18, 14, 4, s.colour);
      c.text(lx + 18, top - 12, s.label, { colour: INK, size: 11 });
      lx += 18 + textWidth(s.label, 11) + 16;
    }
    const values = p.series.flatMap((s) => s.points.map(([, v]) => v)).filter((v) => Number.isFinite(v));
    const max = Math.max(...values, p.log === true ? 10 : 1);
    let y: (v: number) => number;
    if (p.log === true) {
      const lo = Math.min(0, Math.floor(Math.log10(Math.max(0.1, Math.min(...values.filter((v) => v > 0), max)))));
      const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
      y = (v) => bottom - ((Math.log10(Math.max(10 ** lo, v)) - lo) / (hi - lo)) * PANEL_H;
      for (let d = lo; d <= hi; d++) grid(c, y(10 ** d), fmt(10 ** d), plotW);
    } else {
      const ceil = niceCeil(max);
      y = (v) => bottom - (v / ceil) * PANEL_H;
      for (let k = 0; k <= 4; k++) grid(c, y((ceil * k) / 4), fmt((ceil * k) / 4), plotW);
    }
    for (const m of markers) c.group(m.label, () => c.line(x(m.sec), top, x(m.sec), bottom, TRANSFER, 1));
    for (const s of p.series) {
      c.group(`${p.title}: ${s.label}`, () => {
        for (const run of runs(s.points)) {
          const pts = run.map(([t, v]) => [x(t), y(v)] as const);
          if (pts.length === 1) c.dot(pts[0]![0], pts[0]![1], 2, s.colour);
          else c.polyline(pts, s.colour, LINE_WIDTH);
        }
      });
    }
    c.line(LEFT, top, LEFT, bottom, INK);
    c.line(LEFT, bottom, LEFT + plotW, bottom, INK);
    const step = niceCeil(spanSec / 10);
    for (let t = 0; t <= spanSec + 1e-9; t += step) c.text(x(t), bottom + 16, `${fmt(t)} s`, { colour: INK, anchor: 'middle', size: 11 });
  });
  return c;
}

/** The stretches of finite values. */
function runs(points: readonly (readonly [number, number])[]): (readonly [number, number])[][] {
  const out: (readonly [number, number])[][] = [];
  let cur: (readonly [number, number])[] = [];
  for (const p of points) {
    if (Number.isFinite(p[1])) cur.push(p);
    else if (cur.length > 0) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function grid(c: Svg, y: number, label: string, plotW: number): void {
  c.line(LEFT, y, LEFT + plotW, y, GRID);
  c.text(LEFT - 6, y + 4, label, { colour: INK, anchor: 'end' });
}

function fmt(v: number): string {
  if (v >= 10_000) return `${Math.round(v / 1000)}k`;
  if (v >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v < 1 ? String(Number(v.toPrecision(1))) : v.toFixed(1);
}

/** The soak's chart: latency per window, memory per node, records deleted, transfers marked. */
export function soakChart(r: SoakReport): Svg {
  const mid = (row: { startSec: number; endSec: number }): number => (row.startSec + row.endSec) / 2;
  const latency: LineSeries[] = r.systems.flatMap((s, i) =>
    (['p50', 'p99', 'p999'] as const).map((q, k) => ({
      label: `${s.label} ${q === 'p999' ? 'p99.9' : q}`,
      colour: SHADES[i % SHADES.length]![k]!,
      points: s.rows.map((row) => [mid(row), row.ms[q]] as const),
    })),
  );
  const memory: LineSeries[] = r.systems.flatMap((s, i) => Object.entries(s.memory).map(([node, pts], k) => ({ label: `${s.label} ${node}`, colour: SHADES[i % SHADES.length]![k % 3]!, points: pts })));
  const deleted: LineSeries[] = r.systems.map((s, i) => ({ label: s.label, colour: SHADES[i % SHADES.length]![0]!, points: s.rows.map((row) => [row.endSec, row.deleted ?? Number.NaN] as const) }));
  const markers = r.systems.flatMap((s) => s.transfers.map((t) => ({ sec: t.atSec, label: `${s.label}: leader transfer of partition ${t.partition} at ${t.atSec} s${t.error !== undefined ? ` (failed: ${t.error})` : ''}` })));
  return drawLines(
    `soak: ${r.durationSec} s at ${r.ratePerSec} records/s of 1 KB, retention ${r.retentionSec} s, a leader transfer every ${r.transferEverySec} s (purple lines)`,
    r.durationSec,
    [
      { title: `end-to-end latency per ${r.windowSec} s window`, unit: 'ms, log scale', log: true, series: latency },
      { title: 'resident memory of each node', unit: 'MB', series: memory },
      { title: "records deleted by retention (the load's log)", unit: 'records', series: deleted },
    ],
    markers,
  );
}
