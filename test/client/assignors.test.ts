import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ASSIGNORS,
  decodeAssignment,
  decodeMetadata,
  encodeAssignment,
  encodeMetadata,
  rangeAssign,
  roundRobinAssign,
  stickyAssign,
  type AssignInput,
  type GroupAssignment,
  type GroupMember,
} from '../../src/client/assignors/index.js';
import { encodeFrame } from '../../src/wire/codec.js';

const member = (memberId: string, topics: string[], owned: GroupMember['owned'] = [], generation = owned.length > 0 ? 1 : -1): GroupMember => ({ memberId, topics, owned, generation });
const input = (members: GroupMember[], partitions: Record<string, number>): AssignInput => ({ members, partitions: new Map(Object.entries(partitions)) });

/** member id -> ["topic/partition", ...] */
function flat(a: GroupAssignment): Record<string, string[]> {
  return Object.fromEntries([...a].map(([id, lists]) => [id, lists.flatMap((l) => l.partitions.map((p) => `${l.topic}/${p}`))]));
}

function checkExactlyOnce(a: GroupAssignment, partitions: Record<string, number>): void {
  const all = Object.values(flat(a)).flat().sort();
  const expected = Object.entries(partitions)
    .flatMap(([t, n]) => Array.from({ length: n }, (_, p) => `${t}/${p}`))
    .sort();
  expect(all).toEqual(expected);
}

function loads(a: GroupAssignment): number[] {
  return Object.values(flat(a)).map((l) => l.length);
}

/** Owned lists for the next round: what each member got. */
function ownedFrom(a: GroupAssignment, id: string): GroupMember['owned'] {
  return a.get(id) ?? [];
}

/** Partitions taken from an owner that is still in the group (those of departed members do not count). */
function moved(before: GroupAssignment, after: GroupAssignment): number {
  const owner = new Map<string, string>();
  for (const [id, ps] of Object.entries(flat(before))) for (const p of ps) owner.set(p, id);
  let n = 0;
  for (const [id, ps] of Object.entries(flat(after))) {
    for (const p of ps) {
      const was = owner.get(p);
      if (was !== undefined && was !== id && after.has(was)) n++;
    }
  }
  return n;
}

/** A small seeded generator (mulberry32) so failures replay. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('range assignor (Kafka semantics)', () => {
  it('gives each member a contiguous range per topic, the first members one more', () => {
    const a = rangeAssign(input([member('b', ['t', 'u']), member('a', ['t', 'u']), member('c', ['t'])], { t: 7, u: 3 }));
    expect(flat(a)).toEqual({
      b: ['t/3', 't/4', 'u/2'],
      a: ['t/0', 't/1', 't/2', 'u/0', 'u/1'],
      c: ['t/5', 't/6'],
    });
    checkExactlyOnce(a, { t: 7, u: 3 });
  });

  it('is balanced within one per topic, and every partition has exactly one owner', () => {
    for (const [n, m] of [[1, 3], [6, 2], [6, 4], [10, 3], [3, 3]]) {
      const members = Array.from({ length: m }, (_, i) => member(`m${i}`, ['t']));
      const a = rangeAssign(input(members, { t: n }));
      checkExactlyOnce(a, { t: n });
      expect(Math.max(...loads(a)) - Math.min(...loads(a))).toBeLessThanOrEqual(1);
    }
  });
});

describe('round-robin assignor (Kafka semantics)', () => {
  it('deals partitions in (topic, partition) order over members in id order, skipping non-subscribers', () => {
    const a = roundRobinAssign(input([member('m2', ['t', 'u']), member('m1', ['t']), member('m3', ['u'])], { t: 3, u: 3 }));
    // t/0 m1, t/1 m2, t/2 m1 (m3 does not read t), u/0 m2, u/1 m3, u/2 m2
    expect(flat(a)).toEqual({ m2: ['t/1', 'u/0', 'u/2'], m1: ['t/0', 't/2'], m3: ['u/1'] });
  });

  it('balances over all topics within one with equal subscriptions', () => {
    const members = ['a', 'b', 'c'].map((id) => member(id, ['t', 'u', 'v']));
    const a = roundRobinAssign(input(members, { t: 4, u: 1, v: 2 }));
    checkExactlyOnce(a, { t: 4, u: 1, v: 2 });
    expect(loads(a).sort()).toEqual([2, 2, 3]);
  });
});

describe('sticky assignor', () => {
  const six = { t: 6 };

  it('starts balanced, every partition owned once', () => {
    const a = stickyAssign(input([member('a', ['t']), member('b', ['t'])], six));
    expect(flat(a)).toEqual({ a: ['t/0', 't/2', 't/4'], b: ['t/1', 't/3', 't/5'] });
  });

  it('6 partitions, 2 -> 3 members: exactly 2 move, and 3 -> 2: none of the kept ones move', () => {
    const first = stickyAssign(input([member('a', ['t']), member('b', ['t'])], six));
    const grown = stickyAssign(input([member('a', ['t'], ownedFrom(first, 'a')), member('b', ['t'], ownedFrom(first, 'b')), member('c', ['t'])], six));
    checkExactlyOnce(grown, six);
    expect(loads(grown)).toEqual([2, 2, 2]);
    expect(moved(first, grown)).toBe(2);
    const shrunk = stickyAssign(input([member('a', ['t'], ownedFrom(grown, 'a')), member('c', ['t'], ownedFrom(grown, 'c'))], six));
    checkExactlyOnce(shrunk, six);
    expect(loads(shrunk)).toEqual([3, 3]);
    expect(moved(grown, shrunk)).toBe(0);
  });

  it('two, then five members over six partitions: balanced, and only the excess moves', () => {
    const two = stickyAssign(input([member('m1', ['t']), member('m2', ['t'])], six));
    const ids = ['m1', 'm2', 'm3', 'm4', 'm5'];
    const five = stickyAssign(input(ids.map((id) => member(id, ['t'], ownedFrom(two, id))), six));
    checkExactlyOnce(five, six);
    expect(loads(five).sort()).toEqual([1, 1, 1, 1, 2]);
    // m1 and m2 held 3 each; one of them may keep 2, the other 1: 3 moves.
    expect(moved(two, five)).toBe(3);
  });

  it('settles two claims on one partition by the newer generation', () => {
    const a = stickyAssign(input([member('a', ['t'], [{ topic: 't', partitions: [0, 1] }], 4), member('b', ['t'], [{ topic: 't', partitions: [1, 2] }], 5)], { t: 4 }));
    checkExactlyOnce(a, { t: 4 });
    expect(flat(a).b).toEqual(expect.arrayContaining(['t/1', 't/2']));
    expect(flat(a).a).toContain('t/0');
  });

  it('drops owned partitions of topics no longer subscribed or partitions that are gone', () => {
    const a = stickyAssign(input([member('a', ['t'], [{ topic: 'u', partitions: [0] }, { topic: 't', partitions: [0, 9] }]), member('b', ['t', 'u'])], { t: 2, u: 1 }));
    checkExactlyOnce(a, { t: 2, u: 1 });
    // u/0 has one subscriber and is placed first; t/1 then goes to the least loaded (a tie: the lower id).
    expect(flat(a)).toEqual({ a: ['t/0', 't/1'], b: ['u/0'] });
  });

  it('balances unequal subscriptions as far as single moves can', () => {
    // c reads only u; a and b read both. u's partitions should prefer c.
    const a = stickyAssign(input([member('a', ['t', 'u']), member('b', ['t', 'u']), member('c', ['u'])], { t: 4, u: 2 }));
    checkExactlyOnce(a, { t: 4, u: 2 });
    expect(loads(a)).toEqual([2, 2, 2]);
    expect(flat(a).c).toEqual(['u/0', 'u/1']);
  });

  it('random groups (seeded): exactly once, balanced within one, and moves = the excess above each share', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const topics: Record<string, number> = { t: 1 + Math.floor(r() * 12), u: Math.floor(r() * 5) };
      const ids = Array.from({ length: 1 + Math.floor(r() * 6) }, (_, i) => `m${i}`);
      const first = stickyAssign(input(ids.map((id) => member(id, ['t', 'u'])), topics));
      // Some members leave, some join.
      const stay = ids.filter(() => r() < 0.7);
      const joined = Array.from({ length: Math.floor(r() * 3) }, (_, i) => `n${i}`);
      const members = [...stay.map((id) => member(id, ['t', 'u'], ownedFrom(first, id))), ...joined.map((id) => member(id, ['t', 'u']))];
      if (members.length === 0) continue;
      const next = stickyAssign(input(members, topics));
      const where = `seed ${seed}`;
      checkExactlyOnce(next, topics);
      const l = loads(next);
      expect(Math.max(...l) - Math.min(...l), where).toBeLessThanOrEqual(1);
      // The fewest moves any balanced assignment needs: members keeping the most get the larger shares.
      const total = topics.t + topics.u;
      const kept = members.map((m) => m.owned.reduce((n, x) => n + x.partitions.length, 0)).sort((a, b) => b - a);
      const floor = Math.floor(total / members.length);
      const bigger = total % members.length;
      const minimum = kept.reduce((n, k, i) => n + Math.max(0, k - (i < bigger ? floor + 1 : floor)), 0);
      expect(moved(first, next), where).toBe(minimum);
      // Deterministic: the same input, the same answer, whatever the member order.
      expect(flat(stickyAssign(input([...members].reverse(), topics))), where).toEqual(flat(next));
    }
  });
});

describe('consumer protocol bytes', () => {
  it('round-trips metadata and assignments, and names the default assignors in order', () => {
    const meta = encodeMetadata({ topics: ['b', 'a'], owned: [{ topic: 'a', partitions: [0, 2] }], generation: 3 });
    expect(decodeMetadata(meta)).toEqual({ version: 1, topics: ['a', 'b'], owned: [{ topic: 'a', partitions: [0, 2] }], generation: 3 });
    const asg = encodeAssignment([{ topic: 'a', partitions: [1] }]);
    expect(decodeAssignment(asg)).toEqual({ version: 1, partitions: [{ topic: 'a', partitions: [1] }] });
    expect(decodeAssignment(new Uint8Array())).toEqual({ version: 1, partitions: [] });
    expect(DEFAULT_ASSIGNORS.map((a) => a.name)).toEqual(['sticky', 'range', 'roundrobin']);
  });

  it('is a msgpack map with the documented fields (fixed bytes)', () => {
    expect(Buffer.from(encodeAssignment([{ topic: 't', partitions: [0] }])).toString('hex')).toBe(
      Buffer.from(encodeFrame({ version: 1, partitions: [{ topic: 't', partitions: [0] }] })).toString('hex'),
    );
    // map16(2) "version" 1 "partitions" fixarray(1) map16(2) "topic" "t" "partitions" fixarray(1) 0
    expect(Buffer.from(encodeAssignment([{ topic: 't', partitions: [0] }])).toString('hex')).toBe(
      'de0002a776657273696f6e01aa706172746974696f6e7391de0002a5746f706963a174aa706172746974696f6e739100',
    );
  });

  it('accepts newer versions with extra fields, refuses what it cannot read', () => {
    expect(decodeAssignment(encodeFrame({ version: 2, partitions: [], extra: 'x' })).partitions).toEqual([]);
    expect(() => decodeAssignment(encodeFrame({ version: 0, partitions: [] }))).toThrow(/version 0/);
    expect(() => decodeAssignment(Buffer.from([0xc1]))).toThrow(/cannot be decoded/);
    expect(() => decodeMetadata(encodeFrame({ version: 1, topics: [1] }))).toThrow(/'topics'/);
    expect(() => decodeAssignment(encodeFrame({ version: 1, partitions: [{ topic: 't', partitions: [-1] }] }))).toThrow(/non-negative/);
  });
});
