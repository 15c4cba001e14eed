/**
 * The quota math (src/server/quotas.ts) as a pure unit, on a clock the test moves: the rate over
 * the sliding window, the throttle that brings a principal back to its rate (Kafka's
 * X = (O − T) / T · W), which rate holds for whom, the fetch cap, and the bounds on what is kept.
 */
import { describe, expect, it } from 'vitest';
import { QUOTA_METRIC_PRINCIPALS_MAX, QUOTA_OTHERS_LABEL, QuotaEnforcer, RateMeter, throttleMs, type QuotaMetrics, type QuotaWindow } from '../../src/server/quotas.js';
import { QUOTA_DEFAULT_ENTITY, type QuotaEntry } from '../../src/wire/protocol.js';

const WINDOW: QuotaWindow = { sampleMs: 1000, samples: 11, throttleMsMax: 60_000, principalsMax: 1000, fetchWindowMs: 1000 };
const KB = 1000;

/** An enforcer over `quotas`, on a clock at `t.now`, counting its metrics. */
function enforcer(quotas: Record<string, Omit<QuotaEntry, 'entity'>>, w: QuotaWindow = WINDOW) {
  const t = { now: 0 };
  const counted = { bytes: new Map<string, number>(), throttleSeconds: new Map<string, number>(), throttled: new Map<string, number>() };
  const counter = (m: Map<string, number>): QuotaMetrics['bytes'] => ({
    inc: (labels: unknown, n?: number) => {
      const { principal, direction } = labels as { principal: string; direction: string };
      const k = `${principal} ${direction}`;
      m.set(k, (m.get(k) ?? 0) + (n ?? 1));
    },
  });
  const source = { quota: (entity: string): QuotaEntry | undefined => (entity in quotas ? { entity, ...quotas[entity] } : undefined) };
  const q = new QuotaEnforcer(source, () => t.now, { bytes: counter(counted.bytes), throttleSeconds: counter(counted.throttleSeconds), throttled: counter(counted.throttled) }, w);
  return { q, t, counted, quotas };
}

describe('throttleMs', () => {
  it('is the delay X that brings a rate O measured over W back to T: O·W / (W + X) = T', () => {
    // 300 KB/s over 10 s against 200 KB/s: 3 MB must take 15 s, so 5 s more.
    expect(throttleMs(300 * KB, 200 * KB, 10_000, 60_000)).toBe(5000);
    expect((300 * KB * 10_000) / (10_000 + 5000)).toBe(200 * KB);
  });

  it('is 0 at or under the rate, and at most the cap above it', () => {
    expect(throttleMs(200 * KB, 200 * KB, 10_000, 60_000)).toBe(0);
    expect(throttleMs(100 * KB, 200 * KB, 10_000, 60_000)).toBe(0);
    expect(throttleMs(1e12, 200 * KB, 10_000, 25_000)).toBe(25_000);
  });
});

describe('a RateMeter', () => {
  it('measures bytes per second over the samples in the window, from the oldest one to now', () => {
    const m = new RateMeter(WINDOW);
    for (let s = 0; s < 5; s++) m.record(s * 1000, 100 * KB);
    expect(m.measure(5000)).toEqual({ rate: 100 * KB, windowMs: 5000 });
  });

  it('counts a window as at least one sample long, so a first burst is measured over a second', () => {
    const m = new RateMeter(WINDOW);
    m.record(0, 400 * KB);
    expect(m.measure(0)).toEqual({ rate: 400 * KB, windowMs: 1000 });
    expect(m.measure(2000)).toEqual({ rate: 200 * KB, windowMs: 2000 });
  });

  it('forgets samples older than the window, and is idle once none is left', () => {
    const m = new RateMeter(WINDOW);
    m.record(0, 1000 * KB);
    m.record(10_500, 10 * KB);
    // At 11 s the first sample (started at 0) has left the 11-sample window.
    expect(m.measure(11_000)).toEqual({ rate: 10 * KB, windowMs: 1000 });
    expect(m.idle(21_000)).toBe(false);
    expect(m.idle(21_500)).toBe(true);
    expect(m.measure(21_500).rate).toBe(0);
  });

  it('keeps at most `samples` samples, reusing the oldest', () => {
    const m = new RateMeter(WINDOW);
    for (let s = 0; s < 30; s++) m.record(s * 1000, KB);
    // Samples started at 19..29 s are kept; the window runs from 19 s to now.
    expect(m.measure(29_500)).toEqual({ rate: (11 * KB * 1000) / 10_500, windowMs: 10_500 });
  });
});

describe('a QuotaEnforcer', () => {
  it('throttles a producer over its rate so that, waiting out each throttle, it moves its rate', () => {
    const { q, t, counted } = enforcer({ [QUOTA_DEFAULT_ENTITY]: { producerByteRate: 200 * KB } });
    // 2 MB in 100 KB requests, each sent once the last throttle has passed.
    let throttled = 0;
    for (let i = 0; i < 20; i++) {
      const ms = q.record('User:ANONYMOUS', 'produce', 100 * KB);
      throttled += ms;
      t.now += ms;
    }
    // 2 MB at 200 KB/s is 10 s; the first second's worth comes at once, and the last request's throttle is waited out too.
    expect(t.now).toBeGreaterThanOrEqual(9000);
    expect(t.now).toBeLessThanOrEqual(10_000);
    expect(counted.throttleSeconds.get(`${QUOTA_OTHERS_LABEL} produce`)).toBeCloseTo(throttled / 1000, 6);
    expect(counted.bytes.get(`${QUOTA_OTHERS_LABEL} produce`)).toBe(2000 * KB);
    // The first second's worth (two requests) went through unthrottled.
    expect(counted.throttled.get(`${QUOTA_OTHERS_LABEL} produce`)).toBe(18);
  });

  it("measures each principal apart: one over its rate does not throttle another", () => {
    const { q } = enforcer({ [QUOTA_DEFAULT_ENTITY]: { producerByteRate: 200 * KB } });
    expect(q.record('User:alice', 'produce', 1000 * KB)).toBeGreaterThan(0);
    expect(q.record('User:bob', 'produce', 100 * KB)).toBe(0);
    // Nor does one direction throttle the other.
    expect(q.record('User:alice', 'fetch', 1000 * KB)).toBe(0);
  });

  it("holds a principal to its own rate in a direction where it has one, else to the default's, else to none", () => {
    const { q } = enforcer({
      [QUOTA_DEFAULT_ENTITY]: { producerByteRate: 200 * KB, consumerByteRate: 300 * KB },
      'User:alice': { producerByteRate: 10_000 * KB },
      'User:carol': { consumerByteRate: 50 * KB },
    });
    expect(q.rateOf('User:alice', 'produce')).toBe(10_000 * KB);
    expect(q.rateOf('User:alice', 'fetch')).toBe(300 * KB);
    expect(q.rateOf('User:carol', 'produce')).toBe(200 * KB);
    expect(q.rateOf('User:carol', 'fetch')).toBe(50 * KB);
    expect(q.rateOf('User:ANONYMOUS', 'fetch')).toBe(300 * KB);
    const none = enforcer({ 'User:alice': { producerByteRate: KB } }).q;
    expect(none.rateOf('User:bob', 'produce')).toBeNull();
    expect(none.record('User:bob', 'produce', 1e9)).toBe(0);
    expect(none.tracked('produce')).toBe(0);
  });

  it('applies a rate changed or removed from the next request on', () => {
    const { q, quotas } = enforcer({ 'User:alice': { producerByteRate: 1000 * KB } });
    expect(q.record('User:alice', 'produce', 500 * KB)).toBe(0);
    quotas['User:alice'] = { producerByteRate: 100 * KB };
    // 600 KB over one second, against 100 KB/s: 5 s more.
    expect(q.record('User:alice', 'produce', 100 * KB)).toBe(5000);
    delete quotas['User:alice'];
    expect(q.record('User:alice', 'produce', 100 * KB)).toBe(0);
    expect(q.tracked('produce')).toBe(0);
  });

  it('cuts a fetch to the fetch window of the rate, and not one without a fetch rate', () => {
    const { q } = enforcer({ [QUOTA_DEFAULT_ENTITY]: { consumerByteRate: 200 * KB }, 'User:bob': { producerByteRate: KB } });
    expect(q.fetchBytesMax('User:alice')).toBe(200 * KB);
    expect(q.fetchBytesMax('User:bob')).toBe(200 * KB);
    expect(enforcer({ 'User:bob': { producerByteRate: KB } }).q.fetchBytesMax('User:bob')).toBeNull();
  });

  it('measures at most principalsMax principals, forgetting the one idle longest, and forgets the idle', () => {
    const { q, t } = enforcer({ [QUOTA_DEFAULT_ENTITY]: { producerByteRate: 200 * KB } }, { ...WINDOW, principalsMax: 3 });
    for (const p of ['a', 'b', 'c']) q.record(`User:${p}`, 'produce', KB);
    t.now += 500;
    q.record('User:a', 'produce', KB);
    q.record('User:d', 'produce', KB);
    // b was idle longest: it is the one forgotten; a, recorded again, is kept.
    expect(q.tracked('produce')).toBe(3);
    expect(q.record('User:a', 'produce', 1000 * KB)).toBeGreaterThan(0);
    // Once nothing of theirs is left in the window, all are forgotten.
    t.now += 11_000;
    q.record('User:e', 'produce', KB);
    expect(q.tracked('produce')).toBe(1);
  });

  it('labels its metrics by principal only for principals with a quota of their own, up to a named cap', () => {
    const own = Object.fromEntries(Array.from({ length: QUOTA_METRIC_PRINCIPALS_MAX + 5 }, (_, i) => [`User:u${i}`, { producerByteRate: KB }]));
    const { q, counted } = enforcer({ [QUOTA_DEFAULT_ENTITY]: { producerByteRate: KB }, ...own });
    q.record('User:nobody', 'produce', 10);
    for (let i = 0; i < QUOTA_METRIC_PRINCIPALS_MAX + 5; i++) q.record(`User:u${i}`, 'produce', 10);
    const labels = new Set([...counted.bytes.keys()].map((k) => k.split(' ')[0]));
    expect(labels.size).toBe(QUOTA_METRIC_PRINCIPALS_MAX + 1);
    expect(labels.has('User:u0')).toBe(true);
    expect(labels.has(`User:u${QUOTA_METRIC_PRINCIPALS_MAX}`)).toBe(false);
    expect(counted.bytes.get(`${QUOTA_OTHERS_LABEL} produce`)).toBe(10 * 6);
  });
});
