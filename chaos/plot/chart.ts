/**
 * The run's picture, as SVG: two panels over the run's time, with each fault window shaded in its
 * kind's colour across both:
 *
 * - throughput: successful sends and polls per second, and operations ending fail or info;
 * - latency of successful sends, p50 and p99 per bucket, on a log scale.
 *
 * Every series and fault window is a group titled with its name (a viewer's tooltip).
 */
import type { Series } from '../stats.js';
import { Svg, textWidth, type Colour } from './svg.js';

export interface ShadedWindow {
  readonly kind: string;
  /** Seconds from the series' origin. */
  readonly startSec: number;
  readonly endSec: number;
}

/** The house style every chart of the project shares (this one, and scripts/bench's): width, right margin, title size, line width, ink and grid colours. */
export const WIDTH = 1400;
const HEIGHT = 820;
const LEFT = 80;
export const RIGHT = 30;
const PLOT_W = WIDTH - LEFT - RIGHT;
const THROUGHPUT = { top: 70, height: 290 };
const LATENCY = { top: 420, height: 290 };
export const TITLE_SIZE = 18;
export const LINE_WIDTH = 2;

export const INK: Colour = '#282828';
export const GRID: Colour = '#e1e1e1';
const SEND: Colour = '#1f77b4';
const POLL: Colour = '#2ca02c';
const BAD: Colour = '#d62728';
const P99: Colour = '#ff7f0e';

export const FAULT_COLOURS: Readonly<Record<string, Colour>> = {
  kill: '#d62728',
  pause: '#e6b400',
  partition: '#1f77b4',
  corrupt: '#9467bd',
  bitflip: '#9467bd',
  'disk-loss': '#8c564b',
  membership: '#17becf',
};
const OTHER_FAULT: Colour = '#7f7f7f';
const FAULT_OPACITY = 0.16;
const LEGEND_BOX_OPACITY = 0.35;

/** Legend names of the series, as the chart's groups are titled. */
export const SERIES = {
  okSend: 'sends ok/s',
  okPoll: 'polls ok/s',
  bad: 'fail + info /s',
  sendP50: 'send p50',
  sendP99: 'send p99',
} as const;

export function drawChart(series: Series, windows: readonly ShadedWindow[], title: string): Svg {
  const c = new Svg(WIDTH, HEIGHT);
  c.text(LEFT, 30, title, { colour: INK, size: TITLE_SIZE, bold: true });
  const span = Math.max(series.durationSec, 1);
  const x = (sec: number): number => LEFT + (sec / span) * PLOT_W;

  for (const w of windows) {
    const colour = FAULT_COLOURS[w.kind] ?? OTHER_FAULT;
    const x0 = x(w.startSec);
    const width = Math.max(2, x(w.endSec) - x0);
    c.group(`${w.kind} ${fmt(w.startSec)}-${fmt(w.endSec)} s`, () => {
      for (const panel of [THROUGHPUT, LATENCY]) c.rect(x0, panel.top, width, panel.height, colour, FAULT_OPACITY);
      if (width > textWidth(w.kind) + 4) c.text(x0 + 2, THROUGHPUT.top + 12, w.kind, { colour });
    });
  }

  const per = (n: number): number => n / series.bucketSec;
  const b = series.buckets;
  const mid = (k: (typeof b)[number]): number => x(k.t + series.bucketSec / 2);
  // Throughput.
  const top = niceCeil(Math.max(1, ...b.map((k) => Math.max(per(k.okSend), per(k.okPoll), per(k.failed + k.unknown)))));
  const yT = (v: number): number => THROUGHPUT.top + THROUGHPUT.height - (v / top) * THROUGHPUT.height;
  for (let i = 0; i <= 4; i++) grid(c, yT((top * i) / 4), fmt((top * i) / 4));
  trace(c, SERIES.okSend, b.map((k) => [mid(k), yT(per(k.okSend))]), SEND);
  trace(c, SERIES.okPoll, b.map((k) => [mid(k), yT(per(k.okPoll))]), POLL);
  trace(c, SERIES.bad, b.map((k) => [mid(k), yT(per(k.failed + k.unknown))]), BAD);
  frame(c, THROUGHPUT);
  c.text(LEFT, THROUGHPUT.top - 8, 'operations per second', { colour: INK });

  // Latency, log scale from 1 ms.
  const maxMs = Math.max(10, ...b.map((k) => k.sendP99Ms ?? 0));
  const decades = Math.max(2, Math.ceil(Math.log10(maxMs)));
  const yL = (ms: number): number => LATENCY.top + LATENCY.height - (Math.log10(Math.max(1, ms)) / decades) * LATENCY.height;
  for (let d = 0; d <= decades; d++) {
    const v = 10 ** d;
    grid(c, yL(v), v >= 1000 ? `${v / 1000}s` : `${v}ms`);
  }
  const pts = (f: (k: (typeof b)[number]) => number | null): Array<[number, number] | null> =>
    b.map((k) => {
      const v = f(k);
      return v === null ? null : [mid(k), yL(v)];
    });
  trace(c, SERIES.sendP50, pts((k) => k.sendP50Ms), SEND);
  trace(c, SERIES.sendP99, pts((k) => k.sendP99Ms), P99);
  frame(c, LATENCY);
  c.text(LEFT, LATENCY.top - 8, 'send latency (successful sends)', { colour: INK });

  // Time axis.
  const bottom = LATENCY.top + LATENCY.height;
  const step = niceStep(span / 10);
  for (let s = 0; s <= span + 1e-9; s += step) {
    c.line(x(s), bottom, x(s), bottom + 4, INK);
    c.text(x(s), bottom + 18, `${fmt(s)}s`, { colour: INK, anchor: 'middle' });
  }

  // Legend: the series, then the fault kinds.
  let lx = LEFT;
  const ly = HEIGHT - 60;
  const item = (colour: Colour, text: string): void => {
    c.rect(lx, ly + 3, 16, 3, colour);
    c.text(lx + 22, ly + 9, text, { colour: INK });
    lx += 22 + textWidth(text) + 18;
  };
  item(SEND, SERIES.okSend);
  item(POLL, SERIES.okPoll);
  item(BAD, SERIES.bad);
  item(SEND, SERIES.sendP50);
  item(P99, SERIES.sendP99);
  lx = LEFT;
  for (const [kind, colour] of Object.entries(FAULT_COLOURS)) {
    c.rect(lx, ly + 20, 16, 9, colour, LEGEND_BOX_OPACITY);
    c.text(lx + 22, ly + 29, kind, { colour: INK });
    lx += 22 + textWidth(kind) + 18;
  }
  return c;
}

/** One series: its runs of consecutive points as lines, a point alone (between gaps) as a dot. */
function trace(c: Svg, name: string, points: ReadonlyArray<readonly [number, number] | null>, colour: Colour): void {
  c.group(name, () => {
    let run: Array<readonly [number, number]> = [];
    const flush = (): void => {
      if (run.length === 1) c.dot(run[0]![0], run[0]![1], LINE_WIDTH, colour);
      else if (run.length > 1) c.polyline(run, colour, LINE_WIDTH);
      run = [];
    };
    for (const p of points) {
      if (p === null) flush();
      else run.push(p);
    }
    flush();
  });
}

function grid(c: Svg, y: number, label: string): void {
  c.line(LEFT, y, LEFT + PLOT_W, y, GRID);
  c.text(LEFT - 6, y + 4, label, { colour: INK, anchor: 'end' });
}

function frame(c: Svg, panel: { top: number; height: number }): void {
  c.line(LEFT, panel.top, LEFT, panel.top + panel.height, INK);
  c.line(LEFT, panel.top + panel.height, LEFT + PLOT_W, panel.top + panel.height, INK);
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) at or above `v`. */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function niceStep(v: number): number {
  const candidates = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];
  return candidates.find((s) => s >= v) ?? niceCeil(v);
}
