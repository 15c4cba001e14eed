/**
 * The run's picture: two panels over the run's time, with each fault window shaded in its
 * kind's colour across both:
 *
 * - throughput: successful sends and polls per second, and operations ending fail or info;
 * - latency of successful sends, p50 and p99 per bucket, on a log scale.
 */
import type { Series } from '../stats.js';
import { Canvas, type Rgb } from './raster.js';

export interface ShadedWindow {
  readonly kind: string;
  /** Seconds from the series' origin. */
  readonly startSec: number;
  readonly endSec: number;
}

const WIDTH = 1400;
const HEIGHT = 820;
const LEFT = 80;
const RIGHT = 30;
const PLOT_W = WIDTH - LEFT - RIGHT;
const THROUGHPUT = { top: 70, height: 290 };
const LATENCY = { top: 420, height: 290 };

const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];
const SEND: Rgb = [31, 119, 180];
const POLL: Rgb = [44, 160, 44];
const BAD: Rgb = [214, 39, 40];
const P99: Rgb = [255, 127, 14];

export const FAULT_COLOURS: Readonly<Record<string, Rgb>> = {
  kill: [214, 39, 40],
  pause: [230, 180, 0],
  partition: [31, 119, 180],
  corrupt: [148, 103, 189],
};
const OTHER_FAULT: Rgb = [127, 127, 127];

export function drawChart(series: Series, windows: readonly ShadedWindow[], title: string): Canvas {
  const c = new Canvas(WIDTH, HEIGHT);
  c.text(LEFT, 18, title, INK, 2);
  const span = Math.max(series.durationSec, 1);
  const x = (sec: number): number => LEFT + (sec / span) * PLOT_W;

  for (const panel of [THROUGHPUT, LATENCY]) {
    for (const w of windows) {
      const colour = FAULT_COLOURS[w.kind] ?? OTHER_FAULT;
      const x0 = x(w.startSec);
      c.fillRect(x0, panel.top, Math.max(2, x(w.endSec) - x0), panel.height, colour, 0.16);
    }
  }
  for (const w of windows) {
    const x0 = x(w.startSec);
    if (x(w.endSec) - x0 > Canvas.textWidth(w.kind) + 4) c.text(x0 + 2, THROUGHPUT.top + 3, w.kind, FAULT_COLOURS[w.kind] ?? OTHER_FAULT);
  }

  const per = (n: number): number => n / series.bucketSec;
  const b = series.buckets;
  // Throughput.
  const top = niceCeil(Math.max(1, ...b.map((k) => Math.max(per(k.okSend), per(k.okPoll), per(k.failed + k.unknown)))));
  const yT = (v: number): number => THROUGHPUT.top + THROUGHPUT.height - (v / top) * THROUGHPUT.height;
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    c.line(LEFT, yT(v), LEFT + PLOT_W, yT(v), GRID);
    label(c, LEFT - 6, yT(v) - 3, fmt(v));
  }
  polyline(c, b.map((k) => [x(k.t + series.bucketSec / 2), yT(per(k.okSend))]), SEND);
  polyline(c, b.map((k) => [x(k.t + series.bucketSec / 2), yT(per(k.okPoll))]), POLL);
  polyline(c, b.map((k) => [x(k.t + series.bucketSec / 2), yT(per(k.failed + k.unknown))]), BAD);
  frame(c, THROUGHPUT);
  c.text(LEFT, THROUGHPUT.top - 14, 'operations per second', INK);

  // Latency, log scale from 1 ms.
  const maxMs = Math.max(10, ...b.map((k) => k.sendP99Ms ?? 0));
  const decades = Math.max(2, Math.ceil(Math.log10(maxMs)));
  const yL = (ms: number): number => LATENCY.top + LATENCY.height - (Math.log10(Math.max(1, ms)) / decades) * LATENCY.height;
  for (let d = 0; d <= decades; d++) {
    const v = 10 ** d;
    c.line(LEFT, yL(v), LEFT + PLOT_W, yL(v), GRID);
    label(c, LEFT - 6, yL(v) - 3, v >= 1000 ? `${v / 1000}s` : `${v}ms`);
  }
  const pts = (f: (k: (typeof b)[number]) => number | null): Array<[number, number] | null> =>
    b.map((k) => {
      const v = f(k);
      return v === null ? null : [x(k.t + series.bucketSec / 2), yL(v)];
    });
  polyline(c, pts((k) => k.sendP50Ms), SEND);
  polyline(c, pts((k) => k.sendP99Ms), P99);
  frame(c, LATENCY);
  c.text(LEFT, LATENCY.top - 14, 'send latency (successful sends)', INK);

  // Time axis.
  const step = niceStep(span / 10);
  for (let s = 0; s <= span + 1e-9; s += step) {
    c.line(x(s), LATENCY.top + LATENCY.height, x(s), LATENCY.top + LATENCY.height + 4, INK);
    const t = `${fmt(s)}s`;
    c.text(x(s) - Canvas.textWidth(t) / 2, LATENCY.top + LATENCY.height + 8, t, INK);
  }

  // Legend.
  let lx = LEFT;
  const ly = HEIGHT - 60;
  const item = (colour: Rgb, text: string, box = false): void => {
    if (box) c.fillRect(lx, ly, 16, 9, colour, 0.35);
    else c.fillRect(lx, ly + 3, 16, 3, colour);
    lx += 22;
    lx += c.text(lx, ly + 1, text, INK) + 18;
  };
  item(SEND, 'sends ok/s');
  item(POLL, 'polls ok/s');
  item(BAD, 'fail + info /s');
  item(SEND, 'send p50');
  item(P99, 'send p99');
  lx = LEFT;
  const ly2 = HEIGHT - 40;
  for (const [kind, colour] of Object.entries(FAULT_COLOURS)) {
    c.fillRect(lx, ly2, 16, 9, colour, 0.35);
    lx += 22;
    lx += c.text(lx, ly2 + 1, kind, INK) + 18;
  }
  return c;
}

function polyline(c: Canvas, points: ReadonlyArray<readonly [number, number] | null>, colour: Rgb): void {
  let prev: readonly [number, number] | null = null;
  for (const p of points) {
    if (p !== null && prev !== null) c.line(prev[0], prev[1], p[0], p[1], colour, 2);
    else if (p !== null) c.plot(p[0], p[1], colour);
    prev = p;
  }
}

function frame(c: Canvas, panel: { top: number; height: number }): void {
  c.line(LEFT, panel.top, LEFT, panel.top + panel.height, INK);
  c.line(LEFT, panel.top + panel.height, LEFT + PLOT_W, panel.top + panel.height, INK);
}

function label(c: Canvas, right: number, y: number, s: string): void {
  c.text(right - Canvas.textWidth(s), y, s, INK);
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
