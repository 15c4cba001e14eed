/**
 * Gauge families of many series (one per partition, per consumer group and partition) written
 * straight into the Prometheus text exposition, after prom-client's metrics: prom-client wrote the
 * 15,000 partition series of a node of 2,000 replicas in 100-300 ms a scrape, on the event loop
 * that ticks every Raft group; written here they take under 10 ms (`formatFamilies`).
 *
 * The format (Prometheus text exposition 0.0.4), per family:
 *
 *   # HELP <name> <help, with \ and newline escaped>
 *   # TYPE <name> gauge
 *   <name>{<label>="<value, with \ " and newline escaped>",...,node="<node>"} <value>
 *
 * A family with no series has its HELP and TYPE lines only, as prom-client writes an empty gauge.
 */
import { Registry } from 'prom-client';

export interface GaugeFamily {
  readonly name: string;
  readonly help: string;
  /**
   * Calls `emit` once per series at each collection, with its labels already written
   * (`labels`: `topic="orders",partition="0"`, '' for none): a partition's labels are written
   * once per collection and shared by its families.
   */
  collect(emit: (labels: string, value: number) => void): void;
}

/** A label value, escaped. */
function escapeValue(s: string): string {
  return /[\\"\n]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : s;
}

/** Labels as a series writes them: `name="value",...`, values escaped. */
export function labelText(labels: Readonly<Record<string, string>>): string {
  let out = '';
  for (const [k, v] of Object.entries(labels)) out += `${out === '' ? '' : ','}${k}="${escapeValue(v)}"`;
  return out;
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function number(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The exposition of `families`, each series with the labels of `constant` after its own. */
export function formatFamilies(families: readonly GaugeFamily[], constant: Readonly<Record<string, string>>): string {
  const tail = labelText(constant);
  const lines: string[] = [];
  for (const f of families) {
    const name = f.name;
    if (lines.length > 0) lines.push('');
    lines.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} gauge`);
    f.collect((labels, value) => {
      const l = labels === '' ? tail : tail === '' ? labels : `${labels},${tail}`;
      lines.push(l === '' ? `${name} ${number(value)}` : `${name}{${l}} ${number(value)}`);
    });
  }
  return lines.join('\n');
}

/** A prom-client registry whose exposition ends with `families` (not in its JSON forms, which nothing here uses). */
export class FamilyRegistry extends Registry {
  constructor(
    private readonly families: readonly GaugeFamily[],
    private readonly constant: () => Readonly<Record<string, string>>,
  ) {
    super();
  }

  override async metrics(): Promise<string> {
    const own = await super.metrics();
    if (this.families.length === 0) return own;
    return `${own}\n${formatFamilies(this.families, this.constant())}\n`;
  }
}
