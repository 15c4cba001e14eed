import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../chaos/cluster.js';
import { main as cli } from '../../src/cli/program.js';
import type { GroupConsumer } from '../../src/client/group-consumer.js';
import { eventually, startCluster, type TestCluster } from './helpers.js';
import { rawRequest } from './raw.js';

const WORKER = path.join(repoRoot(), 'dist', 'test', 'cluster', 'group-worker.js');
const FAST = { sessionTimeout: 3000, heartbeatInterval: 300 };

interface Seen {
  values: string[];
  byMember: Map<string, Set<number>>;
}

async function produce(t: TestCluster, topic: string, prefix: string, count: number): Promise<string[]> {
  const producer = t.client.producer();
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await producer.send({ topic, messages: values.map((v, i) => ({ key: `k${i}`, value: v })) });
  await producer.disconnect();
  return values;
}

/** An in-process group consumer that records what it processes and what it owns. */
async function member(t: TestCluster, groupId: string, topic: string, seen: Seen): Promise<GroupConsumer> {
  const c = t.client.consumer({ groupId, ...FAST }) as GroupConsumer;
  c.on('group.join', (e) => seen.byMember.set(e.memberId, new Set(e.memberAssignment.flatMap((a) => a.partitions))));
  c.subscribe({ topics: [topic], fromBeginning: true });
  await c.run({ autoCommitInterval: 200, eachMessage: async ({ message }) => void seen.values.push(message.value!.toString()) });
  return c;
}

async function describe1(t: TestCluster, groupId: string) {
  const admin = t.client.admin();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]!;
  } finally {
    await admin.disconnect();
  }
}

/** Member id → partitions, once the group is Stable with `members` members. */
async function stableAssignment(t: TestCluster, groupId: string, members: number): Promise<Map<string, number[]>> {
  let owners = new Map<string, number[]>();
  await eventually(
    async () => {
      const g = await describe1(t, groupId);
      if (g.state !== 'Stable' || g.members.length !== members) return false;
      owners = new Map(g.members.map((m) => [m.memberId, (m.assignment ?? []).flatMap((a) => a.partitions)]));
      return true;
    },
    20_000,
    `group ${groupId} stable with ${members} members`,
  );
  return owners;
}

async function highWatermarks(t: TestCluster, topic: string): Promise<Map<number, string>> {
  const admin = t.client.admin();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((e) => [e.partition, e.high]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Whether `c` stands at the high watermark of every partition of `topic`. A member moves past a
 * record only once it processed it, so whatever it was to process (again) it has by then.
 */
function readToEnd(c: GroupConsumer, topic: string, ends: Map<number, string>): boolean {
  return [...ends].every(([p, high]) => c.position(topic, p) === high);
}

/** Whether the group has committed the high watermark of every partition of `topic`. */
async function committedToEnd(t: TestCluster, groupId: string, topic: string): Promise<boolean> {
  const admin = t.client.admin();
  try {
    const [offsets, ends] = await Promise.all([admin.fetchOffsets({ groupId, topics: [topic] }), admin.fetchTopicOffsets(topic)]);
    const committed = new Map((offsets[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
    return ends.every((e) => committed.get(e.partition) === e.high);
  } finally {
    await admin.disconnect();
  }
}

function expectOneOwnerEach(owners: Map<string, number[]>, partitions: number): void {
  const all = [...owners.values()].flat().sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: partitions }, (_, i) => i));
  const sizes = [...owners.values()].map((p) => p.length);
  expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
}

describe('consumer groups on a real cluster', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await startCluster(3);
    const admin = t.client.admin();
    for (const topic of ['shared', 'killed', 'sticky', 'once', 'commits', 'lag']) {
      await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 3 }] });
    }
    await admin.disconnect();
  });
  afterAll(async () => t?.close());

  it('two, then five consumers share six partitions: every partition has exactly one owner, every record is processed', async () => {
    const seen: Seen = { values: [], byMember: new Map() };
    const first = await produce(t, 'shared', 'a', 300);
    const consumers = [await member(t, 'g-shared', 'shared', seen), await member(t, 'g-shared', 'shared', seen)];
    expectOneOwnerEach(await stableAssignment(t, 'g-shared', 2), 6);
    await eventually(() => first.every((v) => seen.values.includes(v)), 20_000, 'the first 300 records');
    for (let i = 0; i < 3; i++) consumers.push(await member(t, 'g-shared', 'shared', seen));
    expectOneOwnerEach(await stableAssignment(t, 'g-shared', 5), 6);
    const second = await produce(t, 'shared', 'b', 300);
    await eventually(() => second.every((v) => seen.values.includes(v)), 20_000, 'the next 300 records');
    for (const c of consumers) await c.stop();
    for (const c of consumers) await c.disconnect();
  });

  it('a consumer killed without leaving: after its session times out the others take its partitions, and nothing is skipped', async () => {
    const values = await produce(t, 'killed', 'v', 600);
    const processed = new Map<string, number>();
    const joins: { at: number; partitions: number[] }[] = [];
    const workers: ChildProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const w = fork(WORKER, [], { env: { ...process.env, RAFTLOG_WORKER: JSON.stringify({ brokers: t.cluster.brokers, groupId: 'g-killed', topic: 'killed', autoCommitInterval: 200, ...FAST }) }, stdio: 'ignore' });
      w.on('message', (m: { type: string; value?: string; partitions?: number[] }) => {
        if (m.type === 'record') processed.set(m.value!, (processed.get(m.value!) ?? 0) + 1);
        if (m.type === 'join') joins.push({ at: Date.now(), partitions: m.partitions! });
      });
      workers.push(w);
    }
    await stableAssignment(t, 'g-killed', 3);
    await eventually(() => values.every((v) => processed.has(v)), 30_000, 'the first 600 records');
    workers[0]!.kill('SIGKILL');
    const killedAt = Date.now();
    const more = await produce(t, 'killed', 'w', 600);
    const owners = await stableAssignment(t, 'g-killed', 2);
    expectOneOwnerEach(owners, 6);
    await eventually(() => more.every((v) => processed.has(v)), 30_000, 'every record produced after the kill');
    // The survivors rejoined only after the session timeout noticed the missing member.
    expect(joins.filter((j) => j.at > killedAt).length).toBeGreaterThanOrEqual(2);
    for (const w of workers.slice(1)) w.kill('SIGTERM');
  });

  it('a consumer joining causes a rebalance, and the sticky assignor moves only the partitions it must', async () => {
    const seen: Seen = { values: [], byMember: new Map() };
    const a = await member(t, 'g-sticky', 'sticky', seen);
    const b = await member(t, 'g-sticky', 'sticky', seen);
    const before = await stableAssignment(t, 'g-sticky', 2);
    const c = await member(t, 'g-sticky', 'sticky', seen);
    const after = await stableAssignment(t, 'g-sticky', 3);
    expectOneOwnerEach(after, 6);
    let moved = 0;
    for (const [m, parts] of before) for (const p of parts) if (!(after.get(m) ?? []).includes(p)) moved++;
    // 6 partitions over 2 members (3 + 3) to 3 members (2 + 2 + 2): exactly 2 must move.
    expect(moved).toBe(2);
    for (const x of [a, b, c]) await x.stop();
    for (const x of [a, b, c]) await x.disconnect();
  });

  it('processes every record exactly once when a consumer stops cleanly and another resumes from the committed offsets', async () => {
    const values = await produce(t, 'once', 'x', 400);
    const seen: Seen = { values: [], byMember: new Map() };
    const first = await member(t, 'g-once', 'once', seen);
    await eventually(() => seen.values.length >= 150, 20_000, '150 records');
    await first.stop();
    await first.disconnect();
    // The first has left once the group is Empty again (its generation without members is
    // committed); the second joins after that.
    await eventually(async () => (await describe1(t, 'g-once')).state === 'Empty', 10_000, 'g-once empty');
    const second = await member(t, 'g-once', 'once', seen);
    await eventually(() => values.every((v) => seen.values.includes(v)), 20_000, 'all 400 records');
    const ends = await highWatermarks(t, 'once');
    await eventually(() => readToEnd(second, 'once', ends), 20_000, 'the second member at the end of every partition');
    await second.stop();
    await second.disconnect();
    expect(seen.values.length).toBe(400);
    expect(new Set(seen.values).size).toBe(400);
  });

  it('refuses a commit from an old generation', async () => {
    const coord = (await rawRequest(t.cluster.brokers[0]!, { type: 'findCoordinator', group: 'g-old' }))['coordinator'] as { address: string };
    const proto = [{ name: 'range', metadata: Buffer.from('m') }];
    const join = { type: 'joinGroup', group: 'g-old', clientId: 'x', protocolType: 'consumer', protocols: proto, sessionTimeoutMs: 5000, rebalanceTimeoutMs: 5000 };
    const j1 = (await rawRequest(coord.address, { ...join, memberId: '' })) as unknown as { generation: number; memberId: string };
    await rawRequest(coord.address, { type: 'syncGroup', group: 'g-old', generation: j1.generation, memberId: j1.memberId, assignments: [] });
    // A second member joins, which starts a rebalance (the group shows it); the first rejoins: generation 2.
    const j2 = rawRequest(coord.address, { ...join, memberId: '' });
    await eventually(async () => (await describe1(t, 'g-old')).state === 'PreparingRebalance', 10_000, 'g-old rebalancing');
    await rawRequest(coord.address, { ...join, memberId: j1.memberId });
    expect(((await j2) as unknown as { generation: number }).generation).toBe(j1.generation + 1);
    const stale = await rawRequest(coord.address, { type: 'commitOffsets', group: 'g-old', generation: j1.generation, memberId: j1.memberId, offsets: [{ topic: 'commits', partition: 0, offset: 7 }], timeoutMs: 5000 });
    expect((stale['results'] as { error?: { code: string } }[])[0]!.error?.code).toBe('ILLEGAL_GENERATION');
    const fetched = await rawRequest(coord.address, { type: 'fetchOffsets', group: 'g-old', partitions: [{ topic: 'commits', partition: 0 }] });
    expect((fetched['offsets'] as { offset: number }[])[0]!.offset).toBe(-1);
  });

  it('killing the metadata leader while commits are in flight loses no committed offset, and the group resumes from them', async () => {
    const values = await produce(t, 'commits', 'c', 600);
    const seen: Seen = { values: [], byMember: new Map() };
    const consumer = await member(t, 'g-commits', 'commits', seen);
    await eventually(() => seen.values.length >= 200, 20_000, '200 records');
    const status = await Promise.all(t.cluster.nodes.map(async (n) => ({ id: n.id, s: await t.cluster.status(n.id) })));
    const controller = status.find((x) => x.s.groups.some((g) => g.group === 'meta' && g.role === 'leader'))!.id;
    await t.cluster.kill(controller);
    await eventually(() => values.every((v) => seen.values.includes(v)), 30_000, 'all 600 records despite the controller kill');
    await eventually(() => committedToEnd(t, 'g-commits', 'commits'), 30_000, 'the end of every partition committed');
    await consumer.stop();
    await consumer.disconnect();
    // Committed offsets are still at the end of every partition, and a new member reads nothing again.
    const admin = t.client.admin();
    const offsets = await admin.fetchOffsets({ groupId: 'g-commits', topics: ['commits'] });
    const ends = await admin.fetchTopicOffsets('commits');
    for (const p of offsets[0]!.partitions) expect(p.offset).toBe(ends.find((e) => e.partition === p.partition)!.high);
    await admin.disconnect();
    const again: Seen = { values: [], byMember: new Map() };
    await eventually(async () => (await describe1(t, 'g-commits')).state === 'Empty', 10_000, 'g-commits empty');
    const next = await member(t, 'g-commits', 'commits', again);
    await stableAssignment(t, 'g-commits', 1);
    // It starts at the commits, the ends; had it started before them, it would have processed
    // records on its way there.
    await eventually(() => readToEnd(next, 'commits', new Map(ends.map((e) => [e.partition, e.high]))), 20_000, 'the new member at the end of every partition');
    expect(again.values).toEqual([]);
    await next.stop();
    await next.disconnect();
    await t.cluster.restart(controller);
  });

  it('groups describe reports the committed offset, the high watermark and the lag of each partition', async () => {
    await produce(t, 'lag', 'l', 120);
    const admin = t.client.admin();
    // Commit 5 + p on each partition p, as a consumer that has left would have.
    await admin.resetOffsets({ groupId: 'g-lag', topic: 'lag', to: { offset: '0' } });
    const ends = await admin.fetchTopicOffsets('lag');
    const committed = new Map(ends.map((e) => [e.partition, Math.min(Number(e.high), 5 + e.partition)]));
    for (const [p, o] of committed) await admin.resetOffsets({ groupId: 'g-lag', topic: 'lag', partitions: [p], to: { offset: String(o) } });
    await admin.disconnect();
    let out = '';
    const code = await cli(['groups', 'describe', 'g-lag', '--brokers', t.cluster.brokers.join(',')], { out: (s) => void (out += s), err: (s) => void (out += s), stdin: process.stdin, env: {} });
    expect(code).toBe(0);
    for (const e of ends) {
      const lag = Number(e.high) - committed.get(e.partition)!;
      const row = out.split('\n').find((l) => new RegExp(`^\\s*lag\\s+${e.partition}\\s`).test(l));
      expect(row, out).toBeDefined();
      // TOPIC PARTITION COMMITTED HIGH-WATERMARK LAG MEMBER
      const cells = row!.trim().split(/\s+/);
      expect(cells.slice(2, 5)).toEqual([String(committed.get(e.partition)), e.high, String(lag)]);
    }
  });
});
