/**
 * The benchmark's picture: grouped bar charts, one panel per question (throughput of 1 KB and of
 * 100 B records per producer count, end-to-end latency percentiles per offered load, failover
 * times), one bar per system in every group, drawn with the chaos chart's canvas (chaos/plot).
 */
import { niceCeil } from '../../chaos/plot/chart.js';
import { Canvas, type Rgb } from '../../chaos/plot/raster.js';

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

const WIDTH = 1400;
const PANEL_H = 260;
const TOP = 60;
const GAP = 70;
const LEFT = 90;
const RIGHT = 30;
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];
const PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [120, 180, 230],
  [255, 127, 14],
  [44, 160, 44],
  [148, 103, 189],
];

export function drawBars(title: string, panels: readonly BarPanel[]): Canvas {
  const height = TOP + panels.length * (PANEL_H + GAP) + 40;
  const c = new Canvas(WIDTH, height);
  c.text(LEFT, 18, title, INK, 2);
  // One legend for every panel: the systems, by series position.
  const labels = [...new Set(panels.flatMap((p) => p.series.map((s) => s.label)))];
  let lx = LEFT;
  for (const [i, l] of labels.entries()) {
    c.fillRect(lx, 42, 16, 9, PALETTE[i % PALETTE.length]!);
    lx += 22;
    lx += c.text(lx, 43, l, INK) + 24;
  }
  panels.forEach((p, i) => drawPanel(c, p, TOP + 20 + i * (PANEL_H + GAP), labels));
  return c;
}

function drawPanel(c: Canvas, p: BarPanel, top: number, labels: readonly string[]): void {
  const plotW = WIDTH - LEFT - RIGHT;
  const values = p.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const max = Math.max(...values, p.log === true ? 10 : 1);
  c.text(LEFT, top - 14, `${p.title} (${p.unit})`, INK);
  let y: (v: number) => number;
  if (p.log === true) {
    const decades = Math.max(1, Math.ceil(Math.log10(max)));
    y = (v) => top + PANEL_H - (Math.log10(Math.max(1, v)) / decades) * PANEL_H;
    for (let d = 0; d <= decades; d++) grid(c, y(10 ** d), fmt(10 ** d), plotW);
  } else {
    const ceil = niceCeil(max);
    y = (v) => top + PANEL_H - (v / ceil) * PANEL_H;
    for (let k = 0; k <= 4; k++) grid(c, y((ceil * k) / 4), fmt((ceil * k) / 4), plotW);
  }
  const groupW = plotW / p.groups.length;
  const barW = Math.min(60, (groupW * 0.8) / Math.max(1, p.series.length));
  p.groups.forEach((g, gi) => {
    const x0 = LEFT + gi * groupW + (groupW - barW * p.series.length) / 2;
    p.series.forEach((s, si) => {
      const v = s.values[gi];
      const colour = PALETTE[labels.indexOf(s.label) % PALETTE.length]!;
      const x = x0 + si * barW;
      if (v === null || v === undefined || !Number.isFinite(v)) {
        c.text(x + 2, top + PANEL_H - 12, 'n/a', GRID);
        return;
      }
      const yy = y(v);
      c.fillRect(x + 2, yy, barW - 4, top + PANEL_H - yy, colour);
      const t = fmt(v);
      c.text(x + barW / 2 - Canvas.textWidth(t) / 2, yy - 10, t, INK);
    });
    c.text(LEFT + gi * groupW + groupW / 2 - Canvas.textWidth(g) / 2, top + PANEL_H + 8, g, INK);
  });
  c.line(LEFT, top, LEFT, top + PANEL_H, INK);
  c.line(LEFT, top + PANEL_H, LEFT + plotW, top + PANEL_H, INK);
}

function grid(c: Canvas, y: number, label: string, plotW: number): void {
  c.line(LEFT, y, LEFT + plotW, y, GRID);
  c.text(LEFT - 6 - Canvas.textWidth(label), y - 3, label, INK);
}

function fmt(v: number): string {
  if (v >= 10_000) return `${Math.round(v / 1000)}k`;
  if (v >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v.toFixed(1);
}
