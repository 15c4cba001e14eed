/**
 * The benchmark's picture, as SVG: grouped bar charts, one panel per question (throughput of 1 KB
 * and of 100 B records per producer count, end-to-end latency percentiles per offered load,
 * failover times), one bar per system in every group, written with the chaos chart's SVG writer
 * (chaos/plot). Each panel's bars of one system are a group titled `<panel title>: <system>`.
 */
import { WIDTH, RIGHT, TITLE_SIZE, INK, GRID, niceCeil } from '../../chaos/plot/chart.js';
import { Svg, textWidth, type Colour } from '../../chaos/plot/svg.js';

export interface BarSeries {
  readonly label: string;
  /** One value per group; null where the system was not measured. */
  readonly values: readonly (number | null)[];
}

export interface BarPanel {
  readonly title: string;
  readonly groups: readonly string[];
  readonly series: readonly BarSeries[];
  /** Log scale (for latencies that span decades). */
  readonly log?: boolean;
  readonly unit: string;
}

const PANEL_H = 260;
const TOP = 60;
const GAP = 70;
const LEFT = 90;
const BAR_W_MAX = 60;
const MISSING: Colour = '#a0a0a0';
const PALETTE: readonly Colour[] = ['#1f77b4', '#78b4e6', '#ff7f0e', '#2ca02c', '#9467bd'];

export function drawBars(title: string, panels: readonly BarPanel[]): Svg {
  const height = TOP + panels.length * (PANEL_H + GAP) + 40;
  const c = new Svg(WIDTH, height);
  c.text(LEFT, 30, title, { colour: INK, size: TITLE_SIZE, bold: true });
  // One legend for every panel: the systems, by series position.
  const labels = [...new Set(panels.flatMap((p) => p.series.map((s) => s.label)))];
  let lx = LEFT;
  for (const [i, l] of labels.entries()) {
    c.rect(lx, 42, 16, 9, PALETTE[i % PALETTE.length]!);
    c.text(lx + 22, 51, l, { colour: INK });
    lx += 22 + textWidth(l) + 24;
  }
  panels.forEach((p, i) => drawPanel(c, p, TOP + 20 + i * (PANEL_H + GAP), labels));
  return c;
}

function drawPanel(c: Svg, p: BarPanel, top: number, labels: readonly string[]): void {
  const plotW = WIDTH - LEFT - RIGHT;
  const bottom = top + PANEL_H;
  const values = p.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const max = Math.max(...values, p.log === true ? 10 : 1);
  c.text(LEFT, top - 8, `${p.title} (${p.unit})`, { colour: INK });
  let y: (v: number) => number;
  if (p.log === true) {
    const decades = Math.max(1, Math.ceil(Math.log10(max)));
    y = (v) => bottom - (Math.log10(Math.max(1, v)) / decades) * PANEL_H;
    for (let d = 0; d <= decades; d++) grid(c, y(10 ** d), fmt(10 ** d), plotW);
  } else {
    const ceil = niceCeil(max);
    y = (v) => bottom - (v / ceil) * PANEL_H;
    for (let k = 0; k <= 4; k++) grid(c, y((ceil * k) / 4), fmt((ceil * k) / 4), plotW);
  }
  const groupW = plotW / p.groups.length;
  const barW = Math.min(BAR_W_MAX, (groupW * 0.8) / Math.max(1, p.series.length));
  const groupX = (gi: number): number => LEFT + gi * groupW + (groupW - barW * p.series.length) / 2;
  p.series.forEach((s, si) => {
    const colour = PALETTE[labels.indexOf(s.label) % PALETTE.length]!;
    c.group(`${p.title}: ${s.label}`, () => {
      p.groups.forEach((_, gi) => {
        const v = s.values[gi];
        const x = groupX(gi) + si * barW;
        if (v === null || v === undefined || !Number.isFinite(v)) {
          c.text(x + barW / 2, bottom - 4, 'n/a', { colour: MISSING, anchor: 'middle' });
          return;
        }
        const yy = y(v);
        c.rect(x + 2, yy, barW - 4, bottom - yy, colour);
        c.text(x + barW / 2, yy - 4, fmt(v), { colour: INK, anchor: 'middle' });
      });
    });
  });
  p.groups.forEach((g, gi) => c.text(LEFT + gi * groupW + groupW / 2, bottom + 18, g, { colour: INK, anchor: 'middle' }));
  c.line(LEFT, top, LEFT, bottom, INK);
  c.line(LEFT, bottom, LEFT + plotW, bottom, INK);
}

function grid(c: Svg, y: number, label: string, plotW: number): void {
  c.line(LEFT, y, LEFT + plotW, y, GRID);
  c.text(LEFT - 6, y + 4, label, { colour: INK, anchor: 'end' });
}

function fmt(v: number): string {
  if (v >= 10_000) return `${Math.round(v / 1000)}k`;
  if (v >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v.toFixed(1);
}
