import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../raft/random.js';
import { EntryKind, type Entry } from '../../raft/types.js';
import { RING_BYTES_MIN, TailCache, TailCacheBudget } from '../../storage/tail-cache.js';

/** Info stored beside each entry: here just a label, to check it comes back with the right entry. */
type Info = string;

function entry(index: number, length: number, fill = index % 251): Entry {
  return { index, term: 1 + Math.floor(index / 10), kind: length === 0 ? EntryKind.Noop : EntryKind.Normal, data: Buffer.alloc(length, fill) };
}

/** Everything the cache holds, oldest first, as comparable values. */
function held(c: TailCache<Info>): { index: number; term: number; kind: number; hex: string; info: Info; endOffset: number }[] {
  const first = c.firstIndex();
  if (first === null) return [];
  const out: ReturnType<typeof held> = [];
  c.forEachFrom(first, ({ entry: e, info, endOffset }) => {
    out.push({ index: e.index, term: e.term, kind: e.kind, hex: Buffer.from(e.data).toString('hex'), info, endOffset });
    return true;
  });
  return out;
}

function expected(es: readonly Entry[]): ReturnType<typeof held> {
  return es.map((e) => ({ index: e.index, term: e.term, kind: e.kind, hex: Buffer.from(e.data).toString('hex'), info: `i${e.index}`, endOffset: e.index * 10 }));
}

describe('tail cache', () => {
  it('keeps the newest entries that fit, oldest evicted first, across many wraps of its ring', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rand = seededRandom(seed);
      const capacity = 64 + Math.floor(rand() * 2000);
      const maxLen = 1 + Math.floor(rand() * (capacity / 4));
      const c = new TailCache<Info>(capacity);
      const pushed: Entry[] = [];
      for (let i = 1; i <= 400; i++) {
        const e = entry(i, rand() < 0.1 ? 0 : 1 + Math.floor(rand() * maxLen));
        c.push(e, `i${i}`, i * 10);
        pushed.push(e);
        const got = held(c);
        // A run of the newest entries, in order, with their own bytes and info.
        expect(got, `seed ${seed} push ${i}`).toEqual(expected(pushed.slice(pushed.length - got.length)));
        // Nothing wasted beyond the slack of one wrap and one eviction: every entry of the newest
        // suffix that fits in capacity - 2 * maxLen is still held.
        let fits = 0;
        for (let bytes = 0, j = pushed.length - 1; j >= 0 && (bytes += pushed[j]!.data.byteLength) <= capacity - 2 * maxLen; j--) fits++;
        expect(got.length, `seed ${seed} push ${i}: holds ${got.length}, the newest ${fits} fit`).toBeGreaterThanOrEqual(fits);
        expect(got.reduce((s, x) => s + x.hex.length / 2, 0)).toBeLessThanOrEqual(capacity);
      }
    }
  });

  it('drops a tail or a head and goes on appending from there, against a model', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rand = seededRandom(seed);
      const capacity = 100 + Math.floor(rand() * 1000);
      const c = new TailCache<Info>(capacity);
      /** What the log holds: the cache must hold a run of its newest entries. */
      let log: Entry[] = [];
      let next = 1;
      for (let step = 0; step < 300; step++) {
        const r = rand();
        let what: string;
        if (r < 0.7 || log.length === 0) {
          const e = entry(next++, rand() < 0.1 ? 0 : 1 + Math.floor(rand() * capacity * 0.4), Math.floor(rand() * 256));
          c.push(e, `i${e.index}`, e.index * 10);
          log.push(e);
          what = `push ${e.index}`;
        } else if (r < 0.85) {
          // A Raft conflict: the log drops its tail from `at`, the next entry takes that index.
          const at = log[Math.floor(rand() * log.length)]!.index;
          c.dropFrom(at);
          log = log.filter((e) => e.index < at);
          next = at;
          what = `dropFrom ${at}`;
        } else if (r < 0.97) {
          const through = log[Math.floor(rand() * log.length)]!.index;
          c.dropThrough(through);
          log = log.filter((e) => e.index > through);
          what = `dropThrough ${through}`;
        } else {
          c.clear();
          what = 'clear';
        }
        const got = held(c);
        expect(got, `seed ${seed} step ${step} (${what})`).toEqual(expected(log.slice(log.length - got.length)));
        expect(c.firstIndex()).toBe(got[0]?.index ?? null);
      }
    }
  });

  it("holds its own copy: neither the pusher's buffer changing nor later pushes writing over the ring change what was read", () => {
    const c = new TailCache<Info>(100);
    const source = Buffer.alloc(40, 7);
    c.push({ index: 1, term: 1, kind: EntryKind.Normal, data: source.subarray(0, 30) }, 'a', 1);
    source.fill(9);
    let read: Uint8Array | null = null;
    c.forEachFrom(1, ({ entry: e }) => {
      read = e.data;
      return false;
    });
    expect(Buffer.from(read!).equals(Buffer.alloc(30, 7))).toBe(true);
    // Three more 30-byte entries wrap the 100-byte ring and write over entry 1's bytes.
    for (let i = 2; i <= 5; i++) c.push(entry(i, 30, 200 + i), `i${i}`, i);
    expect(c.firstIndex()).toBeGreaterThan(1);
    expect(Buffer.from(read!).equals(Buffer.alloc(30, 7))).toBe(true);
  });

  it('an entry larger than the whole capacity empties it; the entries after it are held again', () => {
    const c = new TailCache<Info>(100);
    for (let i = 1; i <= 3; i++) c.push(entry(i, 20), `i${i}`, i * 10);
    c.push(entry(4, 101), 'i4', 40);
    expect(c.size).toBe(0);
    expect(c.firstIndex()).toBeNull();
    c.push(entry(5, 20), 'i5', 50);
    expect(held(c)).toEqual(expected([entry(5, 20)]));
  });

  it('finds the first entry whose records reach past an offset, or says the cache does not reach back that far', () => {
    const c = new TailCache<Info>(1000);
    // Entry i holds offsets [i * 10 - 10, i * 10): it ends at i * 10.
    for (let i = 5; i <= 9; i++) c.push(entry(i, 10), `i${i}`, i * 10);
    const startOf = (_info: Info, endOffset: number): number => endOffset - 10;
    expect(c.indexForOffset(39, startOf)).toBeNull();
    expect(c.indexForOffset(40, startOf)).toBe(5);
    expect(c.indexForOffset(49, startOf)).toBe(5);
    expect(c.indexForOffset(50, startOf)).toBe(6);
    expect(c.indexForOffset(89, startOf)).toBe(9);
    expect(c.indexForOffset(90, startOf)).toBe(10);
  });

  it('refuses an entry that does not follow the newest it holds', () => {
    const c = new TailCache<Info>(100);
    c.push(entry(1, 10), 'i1', 10);
    expect(() => c.push(entry(3, 10), 'i3', 30)).toThrow(/entry 3 does not follow 1/);
  });
});

describe('tail cache: a ring sized by traffic and by a node-wide budget', () => {
  it('allocates nothing before its first entry and a small ring for a few small ones, not its whole capacity', () => {
    const c = new TailCache<Info>(8 * 1024 * 1024);
    expect(c.ringBytes).toBe(0);
    for (let i = 1; i <= 3; i++) c.push(entry(i, 100), `i${i}`, i * 10);
    expect(c.ringBytes).toBe(RING_BYTES_MIN);
    expect(held(c)).toEqual(expected([1, 2, 3].map((i) => entry(i, 100))));
  });

  it('grows while entries would evict others, up to its capacity, keeping every entry across each growth', () => {
    const capacity = 20 * RING_BYTES_MIN;
    const c = new TailCache<Info>(capacity);
    const pushed: Entry[] = [];
    for (let i = 1; i <= 400; i++) {
      const e = entry(i, 1000);
      c.push(e, `i${i}`, i * 10);
      pushed.push(e);
      // Until the ring reaches its capacity, nothing is evicted.
      if (c.ringBytes < capacity) expect(c.size, `push ${i}`).toBe(i);
      expect(held(c)).toEqual(expected(pushed.slice(pushed.length - c.size)));
    }
    expect(c.ringBytes).toBe(capacity);
    expect(c.size).toBeGreaterThanOrEqual(capacity / 1000 - 2);
  });

  it('a ring never outgrows its share of the budget: the share shrinks as logs join and the next push moves the newest entries into a smaller ring', () => {
    const budget = new TailCacheBudget(8 * RING_BYTES_MIN);
    const a = new TailCache<Info>(1024 * 1024, budget);
    const pushed: Entry[] = [];
    for (let i = 1; i <= 200; i++) {
      pushed.push(entry(i, 1000));
      a.push(pushed[i - 1]!, `i${i}`, i * 10);
    }
    expect(a.ringBytes).toBe(8 * RING_BYTES_MIN);
    expect(budget.allocatedBytes).toBe(8 * RING_BYTES_MIN);
    const others = Array.from({ length: 3 }, () => new TailCache<Info>(1024 * 1024, budget));
    expect(budget.shareBytes()).toBe(2 * RING_BYTES_MIN);
    pushed.push(entry(201, 1000));
    a.push(pushed[200]!, 'i201', 2010);
    expect(a.ringBytes).toBe(2 * RING_BYTES_MIN);
    expect(held(a)).toEqual(expected(pushed.slice(pushed.length - a.size)));
    expect(a.size).toBeGreaterThanOrEqual(Math.floor((2 * RING_BYTES_MIN) / 1000) - 1);
    for (const o of others) for (let i = 1; i <= 200; i++) o.push(entry(i, 1000), `i${i}`, i * 10);
    expect(budget.allocatedBytes).toBeLessThanOrEqual(budget.totalBytes);
    // A share never falls below the smallest ring, however many logs.
    const many = Array.from({ length: 100 }, () => new TailCache<Info>(1024 * 1024, budget));
    expect(budget.shareBytes()).toBe(RING_BYTES_MIN);
    for (const m of [...many, ...others]) m.close();
    expect(budget.logs).toBe(1);
    expect(budget.shareBytes()).toBe(8 * RING_BYTES_MIN);
  });

  it('release frees the ring and forgets what it held; the next entry starts a small ring again', () => {
    const budget = new TailCacheBudget(64 * RING_BYTES_MIN);
    const c = new TailCache<Info>(1024 * 1024, budget);
    for (let i = 1; i <= 100; i++) c.push(entry(i, 1000), `i${i}`, i * 10);
    expect(c.ringBytes).toBeGreaterThan(RING_BYTES_MIN);
    c.release();
    expect([c.ringBytes, c.size, budget.allocatedBytes]).toEqual([0, 0, 0]);
    c.push(entry(101, 1000), 'i101', 1010);
    expect(c.ringBytes).toBe(RING_BYTES_MIN);
    expect(held(c)).toEqual(expected([entry(101, 1000)]));
    c.close();
    expect([budget.allocatedBytes, budget.logs]).toEqual([0, 0]);
  });

  it('against a model, with the ring growing and shrinking as other logs come and go', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const rand = seededRandom(seed);
      const budget = new TailCacheBudget(RING_BYTES_MIN * (4 + Math.floor(rand() * 12)));
      const c = new TailCache<Info>(RING_BYTES_MIN * (1 + Math.floor(rand() * 16)), budget);
      const others: TailCache<Info>[] = [];
      let log: Entry[] = [];
      let next = 1;
      for (let step = 0; step < 600; step++) {
        const r = rand();
        const pushing = r < 0.8 || log.length === 0;
        if (pushing) {
          const e = entry(next++, rand() < 0.05 ? 0 : 1 + Math.floor(rand() * 3000), Math.floor(rand() * 256));
          c.push(e, `i${e.index}`, e.index * 10);
          log.push(e);
        } else if (r < 0.85) {
          const at = log[Math.floor(rand() * log.length)]!.index;
          c.dropFrom(at);
          log = log.filter((e) => e.index < at);
          next = at;
        } else if (r < 0.9) {
          const through = log[Math.floor(rand() * log.length)]!.index;
          c.dropThrough(through);
          log = log.filter((e) => e.index > through);
        } else if (r < 0.95) {
          others.push(new TailCache<Info>(RING_BYTES_MIN * 16, budget));
        } else if (others.length > 0) {
          others.pop()!.close();
        } else {
          c.release();
        }
        const got = held(c);
        expect(got, `seed ${seed} step ${step}`).toEqual(expected(log.slice(log.length - got.length)));
        // A push fits the ring to the share it finds (a share shrunk by a log joining takes effect at the next push).
        if (pushing) expect(c.ringBytes, `seed ${seed} step ${step}`).toBeLessThanOrEqual(c.capacity());
      }
    }
  });
});
