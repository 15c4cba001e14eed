/**
 * The benchmark's bar chart (scripts/bench/chart.ts): a well-formed SVG with one bar per measured
 * value, bar heights in proportion on a niceCeil axis, decades on a log axis, and labels escaped.
 */
import { describe, expect, it } from 'vitest';
import { drawBars, type BarPanel } from '../../scripts/bench/chart.js';
import { findAll, groupTitled, parseXml, type XmlElement } from '../helpers/svg.js';

const SYSTEM = 'raftlog <fsync> & "co"';
const throughput: BarPanel = {
  title: 'throughput',
  unit: 'MB/s',
  groups: ['1 producer', '4 producers', '16 producers'],
  series: [
    { label: SYSTEM, values: [125, 250, 430] },
    { label: 'NATS', values: [100, null, 200] },
  ],
};
const latency: BarPanel = {
  title: 'latency',
  unit: 'ms, log scale',
  log: true,
  groups: ['p50', 'p99'],
  series: [{ label: SYSTEM, values: [9, 900] }],
};

const draw = (): XmlElement => parseXml(drawBars('bench <&> run', [throughput, latency]).toString());
const texts = (e: XmlElement): string[] => findAll(e, (x) => x.name === 'text').map((t) => t.text);
const bars = (e: XmlElement): XmlElement[] => findAll(e, (x) => x.name === 'rect');

describe('the benchmark chart (SVG)', () => {
  it('draws a bar per measured value of each system, and n/a where one was not measured', () => {
    const svg = draw();
    expect(svg.name).toBe('svg');
    const ours = groupTitled(svg, `throughput: ${SYSTEM}`);
    const nats = groupTitled(svg, 'throughput: NATS');
    expect(bars(ours)).toHaveLength(3);
    expect(bars(nats)).toHaveLength(2);
    expect(texts(nats)).toEqual(['100', 'n/a', '200']);
    expect(new Set(bars(ours).map((r) => r.attrs.fill)).size).toBe(1);
    expect(bars(ours)[0]!.attrs.fill).not.toBe(bars(nats)[0]!.attrs.fill);
  });

  it('scales a linear panel to niceCeil of its largest value, in quarters', () => {
    const svg = draw();
    // The largest value is 430: the axis tops out at niceCeil(430) = 500.
    for (const tick of ['0', '125', '250', '375', '500']) expect(texts(svg)).toContain(tick);
    const h = bars(groupTitled(svg, `throughput: ${SYSTEM}`)).map((r) => Number(r.attrs.height));
    expect(h[1]! / h[0]!).toBeCloseTo(2, 1);
    expect(h[2]! / h[1]!).toBeCloseTo(430 / 250, 1);
  });

  it('puts a log panel on whole decades, bars in proportion to their logarithm', () => {
    const svg = draw();
    for (const tick of ['1', '10', '100', '1000']) expect(texts(svg)).toContain(tick);
    const h = bars(groupTitled(svg, `latency: ${SYSTEM}`)).map((r) => Number(r.attrs.height));
    expect(h[1]! / h[0]!).toBeCloseTo(Math.log10(900) / Math.log10(9), 1);
  });

  it('escapes the title and the system labels', () => {
    const doc = drawBars('bench <&> run', [throughput, latency]).toString();
    expect(doc).toContain('bench &lt;&amp;&gt; run');
    expect(doc).toContain('raftlog &lt;fsync&gt; &amp; &quot;co&quot;');
    expect(doc).not.toContain('<fsync>');
    expect(texts(draw())).toEqual(expect.arrayContaining(['bench <&> run', SYSTEM, 'throughput (MB/s)']));
  });
});
