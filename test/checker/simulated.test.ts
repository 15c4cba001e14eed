/**
 * Histories recorded from a simulated correct log must pass every check. Each operation takes
 * effect atomically at some moment between its invoke and its completion; a `fail` completes
 * without effect, an `info` completes before or after its effect (or with none) and retires the
 * process. Seeded, so a failure names its seed.
 */
import { describe, expect, it } from 'vitest';
import { describeAnomaly } from '../../chaos/checker/anomaly.js';
import type { ClientFn } from '../../chaos/checker/history.js';
import { checkHistory } from '../../chaos/checker/report.js';
import { HistoryBuilder, type Pending } from './builder.js';

const KEYS = ['t/0', 't/1'];
const GROUP = 'g';
const SEEDS = 40;
const STEPS = 1000;
const WORKERS = 5;

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface InFlight {
  readonly p: Pending;
  /** Applies the effect and returns the ok value. */
  readonly effect: () => unknown;
  result: { value: unknown } | null;
  readonly outcome: 'ok' | 'fail' | 'info';
}

function simulate(seed: number): HistoryBuilder {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const h = new HistoryBuilder();
  const log = new Map<string, string[]>(KEYS.map((k) => [k, []]));
  const committed = new Map<string, number | null>(KEYS.map((k) => [k, null]));
  let nextProcess = WORKERS;
  let seq = 0;
  const workers = Array.from({ length: WORKERS }, (_, i) => ({
    process: i,
    positions: null as Map<string, number> | null,
    flight: null as InFlight | null,
  }));

  const start = (w: (typeof workers)[number]): void => {
    const roll = rnd();
    const outcome = roll < 0.1 ? 'fail' : roll < 0.2 ? 'info' : 'ok';
    let f: ClientFn;
    let value: unknown;
    let effect: () => unknown;
    if (w.positions === null) {
      const seek = rnd() < 0.5 ? 'committed' : 'beginning';
      f = 'assign';
      value = { group: GROUP, keys: KEYS, seek };
      effect = () => {
        const start = Object.fromEntries(KEYS.map((k) => [k, seek === 'committed' ? (committed.get(k) ?? 0) : 0]));
        if (outcome === 'ok') w.positions = new Map(Object.entries(start));
        return { start };
      };
    } else if (rnd() < 0.4) {
      const key = pick(KEYS);
      const v = `${w.process}-${seq++}`;
      f = 'send';
      value = [{ key, value: v }];
      effect = () => {
        const l = log.get(key)!;
        l.push(v);
        return [{ key, value: v, offset: l.length - 1 }];
      };
    } else if (rnd() < 0.6) {
      const pos = w.positions;
      const from = Object.fromEntries(pos);
      f = 'poll';
      value = { from };
      effect = () => {
        const msgs: Record<string, Array<[number, string]>> = {};
        const hw: Record<string, number> = {};
        for (const [key, at] of pos) {
          const l = log.get(key)!;
          const end = Math.min(l.length, at + 1 + Math.floor(rnd() * 3));
          msgs[key] = l.slice(at, end).map((v, i) => [at + i, v]);
          hw[key] = l.length;
          if (outcome === 'ok') pos.set(key, Math.max(at, end));
        }
        return { msgs, hw };
      };
    } else if (rnd() < 0.5) {
      const offsets = Object.fromEntries(w.positions);
      f = 'commit';
      value = { group: GROUP, offsets };
      effect = () => {
        for (const [k, o] of Object.entries(offsets)) committed.set(k, o);
        return null;
      };
    } else {
      f = 'fetchCommitted';
      value = { group: GROUP, keys: KEYS };
      effect = () => ({ offsets: Object.fromEntries(KEYS.map((k) => [k, committed.get(k) ?? null])) });
    }
    w.flight = { p: h.invoke(w.process, f, value), effect, result: null, outcome };
  };

  for (let step = 0; step < STEPS; step++) {
    const w = pick(workers);
    const fl = w.flight;
    if (fl === null) {
      start(w);
    } else if (fl.result === null && fl.outcome !== 'fail' && rnd() < 0.6) {
      fl.result = { value: fl.effect() };
    } else if (fl.outcome === 'fail' && fl.result === null) {
      h.fail(fl.p);
      w.flight = null;
    } else if (fl.outcome === 'info') {
      h.info(fl.p);
      Object.assign(w, { process: nextProcess++, positions: null, flight: null });
    } else if (fl.result !== null) {
      h.ok(fl.p, fl.result.value);
      w.flight = null;
    }
  }
  for (const w of workers) {
    const fl = w.flight;
    if (fl === null) continue;
    if (fl.outcome === 'ok') h.ok(fl.p, (fl.result ?? { value: fl.effect() }).value);
    else if (fl.outcome === 'fail' && fl.result === null) h.fail(fl.p);
    else h.info(fl.p);
  }
  h.nemesis('transfer', { key: 't/0' });
  for (const key of KEYS) {
    const l = log.get(key)!;
    h.poll(nextProcess++, { [key]: 0 }, { [key]: l.map((v, i) => [i, v]) }, { [key]: l.length });
  }
  return h;
}

describe('simulated correct runs', () => {
  it(`pass every check (${SEEDS} seeds)`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const report = checkHistory(simulate(seed).build());
      expect({ seed, anomalies: report.anomalies.map(describeAnomaly), unknown: report.unknown }).toEqual({
        seed,
        anomalies: [],
        unknown: [],
      });
      expect(report.counts.ops.ok).toBeGreaterThan(150);
    }
  });

  it('fail once a final read drops an acknowledged record', () => {
    const events = simulate(7).build();
    const last = events[events.length - 1]!;
    const value = last.value as { msgs: Record<string, Array<[number, string]>> };
    const msgs = Object.values(value.msgs)[0]!;
    msgs.splice(1, 1);
    const report = checkHistory(events);
    expect(report.verdict).toBe('invalid');
    expect(report.anomalyKinds).toContain('poll-order');
  });
});
