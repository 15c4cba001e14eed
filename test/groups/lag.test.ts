/**
 * Consumer-group lag as the broker works it out (src/groups/lag.ts): in records, the high
 * watermark minus the committed offset; in seconds, the age of the first record not consumed;
 * both 0 when caught up, and each collection bounded by its named limits.
 */
import { describe, expect, it } from 'vitest';
import { ConsumerLag, lagRecords, lagSeconds, type CommittedOffset, type LagPartition } from '../../src/groups/lag.js';

/** A partition of `hw` records, record i written at `t0 + i` seconds, its log starting at `start`; counts its timestamp reads. */
function partition(hw: number, t0: number, start = 0): LagPartition & { reads: number } {
  const p = {
    highWatermark: hw,
    reads: 0,
    logStartOffset: () => start,
    timestampAt: (offset: number): number | null => {
      p.reads++;
      return offset < hw ? t0 + offset * 1000 : null;
    },
  };
  return p;
}

describe('lag in records and seconds', () => {
  it('records: the high watermark minus the committed offset, 0 at or past it', () => {
    expect(lagRecords(40, 100)).toBe(60);
    expect(lagRecords(100, 100)).toBe(0);
    expect(lagRecords(120, 100)).toBe(0);
  });

  it('seconds: the age of the first record not consumed, 0 when caught up, never negative, unknown without its timestamp', () => {
    expect(lagSeconds(5, 10_000, 25_000)).toBe(15);
    expect(lagSeconds(0, null, 25_000)).toBe(0);
    expect(lagSeconds(5, 30_000, 25_000)).toBe(0);
    expect(lagSeconds(5, null, 25_000)).toBeNull();
  });
});

describe('ConsumerLag', () => {
  const at = (group: string, offset: number, partitionNo = 0): CommittedOffset => ({ group, topic: 't', partition: partitionNo, offset });

  it('works out each committed offset of a partition led here, and skips the others', () => {
    const p = partition(100, 1_000_000);
    const lag = new ConsumerLag();
    const c = lag.collect([at('a', 40), at('b', 100), at('c', 7, 1)], (_, n) => (n === 0 ? p : undefined), 1_000_000 + 100_000);
    expect(c.rows).toEqual([
      { group: 'a', topic: 't', partition: 0, records: 60, seconds: 60 },
      { group: 'b', topic: 't', partition: 0, records: 0, seconds: 0 },
    ]);
    expect(c.omittedRecords).toBe(0);
    expect(c.omittedSeconds).toBe(0);
  });

  it('a committed offset that retention has passed: the first record not consumed is the log start', () => {
    const p = partition(100, 0, 30);
    const c = new ConsumerLag().collect([at('a', 10)], () => p, 50_000);
    expect(c.rows[0]).toEqual({ group: 'a', topic: 't', partition: 0, records: 90, seconds: 20 });
  });

  it('reads the timestamp again only when the committed offset moved', () => {
    const p = partition(100, 0);
    const lag = new ConsumerLag();
    lag.collect([at('a', 40)], () => p, 50_000);
    const again = lag.collect([at('a', 40)], () => p, 60_000);
    expect(p.reads).toBe(1);
    expect(again.rows[0]!.seconds).toBe(20);
    lag.collect([at('a', 45)], () => p, 60_000);
    expect(p.reads).toBe(2);
  });

  it('exports at most seriesMax pairs and reads at most readsMax timestamps per collection, and says how many it left out', () => {
    const p = partition(100, 0);
    const lag = new ConsumerLag({ seriesMax: 3, readsMax: 2 });
    const c = lag.collect(['a', 'b', 'c', 'd', 'e'].map((g) => at(g, 10)), () => p, 50_000);
    expect(c.rows.map((r) => r.group)).toEqual(['a', 'b', 'c']);
    expect(c.omittedRecords).toBe(2);
    expect(c.rows.map((r) => r.seconds)).toEqual([40, 40, null]);
    expect(c.omittedSeconds).toBe(1);
    // The next collection reads the one it could not, and reuses the two it read.
    const next = lag.collect(['a', 'b', 'c'].map((g) => at(g, 10)), () => p, 50_000);
    expect(next.rows.map((r) => r.seconds)).toEqual([40, 40, 40]);
    expect(p.reads).toBe(3);
  });
});
