/**
 * The families of many series written straight into the Prometheus text exposition
 * (src/node/exposition.ts): the lines prom-client would write for the same gauges, label values
 * and help escaped as the format requires, after the registry's own metrics.
 */
import { Gauge } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FamilyRegistry, formatFamilies, labelText, type GaugeFamily } from '../../src/node/exposition.js';

const family = (name: string, series: [Record<string, string>, number][], help = 'help'): GaugeFamily => ({
  name,
  help,
  collect: (emit) => {
    for (const [labels, v] of series) emit(labelText(labels), v);
  },
});

describe('formatFamilies', () => {
  it('writes HELP, TYPE and one line per series, the constant labels last', () => {
    const text = formatFamilies([family('a', [[{ topic: 't', partition: '0' }, 5], [{ topic: 't', partition: '1' }, 0.25]]), family('b', [])], { node: 'n1' });
    expect(text).toBe(['# HELP a help', '# TYPE a gauge', 'a{topic="t",partition="0",node="n1"} 5', 'a{topic="t",partition="1",node="n1"} 0.25', '', '# HELP b help', '# TYPE b gauge'].join('\n'));
  });

  it('escapes backslashes, quotes and newlines in label values, and backslashes and newlines in help', () => {
    const text = formatFamilies([family('g', [[{ group: 'a"b\\c\nd' }, 1]], 'two\nlines \\ here')], {});
    expect(text.split('\n')).toEqual(['# HELP g two\\nlines \\\\ here', '# TYPE g gauge', 'g{group="a\\"b\\\\c\\nd"} 1']);
  });

  it('writes a series without labels bare, and NaN and infinities as the format spells them', () => {
    expect(formatFamilies([family('x', [[{}, NaN], [{}, Infinity], [{}, -Infinity]])], {}).split('\n').slice(2)).toEqual(['x NaN', 'x +Inf', 'x -Inf']);
  });

  it('in a FamilyRegistry, follows the registry\'s own metrics and matches what prom-client writes for the same gauge', async () => {
    const registry = new FamilyRegistry([family('fast', [[{ topic: 'o"rders', partition: '3' }, 42]])], () => ({ node: 'n1' }));
    registry.setDefaultLabels({ node: 'n1' });
    const slow = new Gauge({ name: 'slow', help: 'help', labelNames: ['topic', 'partition'], registers: [registry] });
    slow.set({ topic: 'o"rders', partition: '3' }, 42);
    const text = await registry.metrics();
    const line = (name: string): string => text.split('\n').find((l) => l.startsWith(`${name}{`))!;
    expect(line('fast').slice('fast'.length)).toBe(line('slow').slice('slow'.length));
    expect(text.indexOf('# HELP slow')).toBeLessThan(text.indexOf('# HELP fast'));
    expect(text.endsWith('\n')).toBe(true);
  });
});
