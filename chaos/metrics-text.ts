/**
 * Reading a node's /metrics (the Prometheus text exposition, src/node/metrics.ts and
 * src/node/exposition.ts) in tests and benchmarks: each sample line as its name, labels and value.
 * Comment lines (# HELP, # TYPE) are skipped; label values keep their escapes.
 */

/** One sample of an exposition. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of `text`, in order. */
export function parseMetricsText(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    const m = SAMPLE_LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples of `name` whose labels include every one of `labels`. */
export function samplesOf(samples: readonly MetricSample[], name: string, labels: Readonly<Record<string, string>> = {}): MetricSample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the first sample of `name` with `labels`, or undefined when there is none. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  return samplesOf(parseMetricsText(text), name, labels)[0]?.value;
}
