import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, RaftlogError, type GroupConsumer, type GroupConsumerEvents, type GroupConsumerOptions, type GroupRunOptions } from '../../src/client/index.js';
import { decodeAssignment, decodeMetadata, encodeAssignment, encodeMetadata, stickyAssign, type TopicPartitionList } from '../../src/client/assignors/index.js';
import { Connection } from '../../src/client/connection.js';
import type { JoinGroupResponse } from '../../src/wire/protocol.js';
import { FakeCluster } from './fake-broker.js';
import { clientFor, eventually } from './helpers.js';

let cluster: FakeCluster;
const running: GroupConsumer[] = [];
beforeEach(async () => {
  cluster = await FakeCluster.start();
});
afterEach(async () => {
  for (const c of running.splice(0)) await c.disconnect();
  await cluster.stop();
});

/** Quick timings: rebalances take tens of milliseconds. */
const FAST: Omit<GroupConsumerOptions, 'groupId'> = { heartbeatInterval: 50, sessionTimeout: 1000, rebalanceTimeout: 2000, maxWaitTimeInMs: 100 };

interface Member {
  readonly consumer: GroupConsumer;
  /** "partition:offset" of every record handled, in order. */
  readonly handled: string[];
  readonly joins: GroupConsumerEvents['group.join'][];
  readonly commits: GroupConsumerEvents['commit.offsets'][];
  memberId(): string;
  owns(): number[];
}

function member(groupId: string, topics: string[] | RegExp, opts: Partial<GroupConsumerOptions> = {}, run: Partial<GroupRunOptions> = {}, fromBeginning = true): Promise<Member> & { started: Member } {
  const consumer = clientFor(cluster).consumer({ groupId, ...FAST, ...opts });
  running.push(consumer);
  const m: Member = {
    consumer,
    handled: [],
    joins: [],
    commits: [],
    memberId: () => consumer.membershipInfo().memberId,
    owns: () => consumer.assignment().map((a) => a.partition).sort((a, b) => a - b),
  };
  consumer.on('group.join', (e) => m.joins.push(e));
  consumer.on('commit.offsets', (e) => m.commits.push(e));
  consumer.subscribe({ topics, fromBeginning });
  const started = consumer.run({ autoCommitInterval: 100, eachMessage: ({ partition, message }) => void m.handled.push(`${partition}:${message.offset}`), ...run }).then(() => m);
  return Object.assign(started, { started: m });
}

function fill(topic: string, partitions: number, perPartition: number, tag: string): void {
  for (let p = 0; p < partitions; p++) cluster.append(topic, p, Array.from({ length: perPartition }, (_, i) => ({ key: null, value: Buffer.from(`${tag}-${p}-${i}`) })));
}

/** Every "partition:offset" of the topic. */
function everything(topic: string, partitions: number): string[] {
  return Array.from({ length: partitions }, (_, p) => cluster.records(topic, p).map((r) => `${p}:${r.offset}`)).flat();
}

const sorted = (xs: string[]): string[] => [...xs].sort();

describe('group consumer', () => {
  it('two consumers share six partitions, one owner each, and handle every record exactly once', async () => {
    cluster.createTopic('orders', 6);
    fill('orders', 6, 5, 'a');
    const a = await member('g1', ['orders']);
    await eventually(() => a.owns().length === 6 && a.handled.length === 30);
    const b = await member('g1', ['orders']);
    await eventually(() => a.owns().length === 3 && b.owns().length === 3);
    fill('orders', 6, 5, 'b');
    await eventually(() => a.handled.length + b.handled.length === 60);
    // Both hold the same generation, and their partitions do not overlap.
    const lastA = a.joins.at(-1);
    const lastB = b.joins.at(-1);
    expect(lastA?.generation).toBe(lastB?.generation);
    expect(sorted([...a.owns(), ...b.owns()].map(String))).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(sorted([...a.handled, ...b.handled])).toEqual(sorted(everything('orders', 6)));
    expect(lastA?.protocol).toBe('sticky');
    expect([lastA?.isLeader, lastB?.isLeader]).toEqual([true, false]);
    // Sticky: a kept three of its six.
    expect(a.joins[0].memberAssignment[0].partitions).toEqual([0, 1, 2, 3, 4, 5]);
    expect(b.joins.at(-1)?.memberAssignment[0].partitions).toHaveLength(3);
  });

  it('a consumer that stops commits, leaves, and the other takes over from its offsets', async () => {
    cluster.createTopic('t', 4);
    const a = await member('g2', ['t']);
    const b = await member('g2', ['t']);
    await eventually(() => a.owns().length === 2 && b.owns().length === 2);
    fill('t', 4, 3, 'x');
    await eventually(() => a.handled.length + b.handled.length === 12);
    const left: string[] = [];
    b.consumer.on('group.leave', (e) => left.push(e.memberId));
    const bId = b.memberId();
    const bOwned = b.owns();
    await b.consumer.stop();
    expect(left).toEqual([bId]);
    for (const p of bOwned) expect(cluster.coordinator.committed('g2', 't', p)).toBe(3);
    await eventually(() => a.owns().length === 4);
    fill('t', 4, 2, 'y');
    await eventually(() => a.handled.length + b.handled.length === 20);
    await new Promise((r) => setTimeout(r, 100));
    expect(sorted([...a.handled, ...b.handled])).toEqual(sorted(everything('t', 4)));
    expect(cluster.coordinator.groups.get('g2')?.members.size).toBe(1);
  });

  it('a member killed without leaving loses its partitions after the session timeout; nothing is skipped', async () => {
    cluster.createTopic('k', 2);
    fill('k', 2, 4, 'z');
    const raw = await RawMember.join(cluster, 'g3', ['k']);
    expect(raw.assignment).toEqual([{ topic: 'k', partitions: [0, 1] }]);
    // It processed two records of each partition, committed, and then dies (no heartbeat, no leave).
    await raw.commit([0, 1].map((partition) => ({ topic: 'k', partition, offset: 2 })));
    const b = await member('g3', ['k']);
    // The raw member rejoins once b's join has started the rebalance, as a live member would.
    await eventually(() => cluster.requestsOf('joinGroup').length === 2);
    await raw.rejoin();
    await eventually(() => b.owns().length === 1);
    expect(raw.assignment.flatMap((l) => l.partitions)).toHaveLength(1);
    const died = Date.now();
    await eventually(() => b.owns().length === 2, 3000);
    expect(Date.now() - died).toBeGreaterThanOrEqual(900);
    await eventually(() => b.handled.length === 4);
    expect(sorted(b.handled)).toEqual(['0:2', '0:3', '1:2', '1:3']);
    raw.close();
  });

  it('a commit from an old generation is refused with ILLEGAL_GENERATION', async () => {
    cluster.createTopic('s', 2);
    const a = await member('g4', ['s']);
    await eventually(() => a.joins.length === 1);
    const old = a.joins[0].generation;
    const b = await member('g4', ['s']);
    await eventually(() => b.joins.length === 1 && a.joins.length === 2);
    const c = new Connection({ address: cluster.node('n1').address, connectTimeoutMs: 1000 });
    const resp = await c.request({ type: 'commitOffsets', group: 'g4', generation: old, memberId: a.memberId(), offsets: [{ topic: 's', partition: 0, offset: 1, metadata: '' }], timeoutMs: 1000 }, 2000);
    expect(resp.results[0].error?.code).toBe(ErrorCode.IllegalGeneration);
    c.close();
    // The consumer's own commit refused that way rejects with a typed error and rejoins.
    const rebalances: string[] = [];
    a.consumer.on('rebalancing', (e) => rebalances.push(e.reason));
    cluster.inject({ type: 'commitOffsets', action: { kind: 'error', code: ErrorCode.IllegalGeneration } });
    const err = await a.consumer.commitOffsets([{ topic: 's', partition: a.owns()[0], offset: '0' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftlogError);
    expect((err as RaftlogError).code).toBe(ErrorCode.IllegalGeneration);
    expect((err as RaftlogError).message).toContain("group 'g4'");
    await eventually(() => rebalances.length === 1 && a.joins.length === 3);
  });

  it('heartbeats keep going while a slow handler runs', async () => {
    cluster.createTopic('slow', 1);
    cluster.append('slow', 0, [{ value: Buffer.from('one') }]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered = false;
    const a = await member('g5', ['slow'], {}, {
      eachMessage: async () => {
        entered = true;
        await gate;
      },
    });
    const beats: number[] = [];
    a.consumer.on('heartbeat', () => beats.push(Date.now()));
    await eventually(() => entered);
    await new Promise((r) => setTimeout(r, 1500));
    // Longer than the session timeout, yet the member is still in the group.
    expect(beats.length).toBeGreaterThanOrEqual(10);
    expect(cluster.coordinator.groups.get('g5')?.members.has(a.memberId())).toBe(true);
    release();
    await eventually(() => cluster.coordinator.committed('g5', 'slow', 0) === 1);
  });

  it('auto-commits processed offsets on the interval and on the threshold, never ahead of the handler', async () => {
    cluster.createTopic('ac', 1);
    fill('ac', 1, 5, 'r');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    await member('g6', ['ac'], {}, {
      autoCommitInterval: 50,
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === '2') await gate;
      },
    });
    await eventually(() => seen.includes('2'));
    await new Promise((r) => setTimeout(r, 200));
    // 0 and 1 are done; 2 is in its handler.
    expect(cluster.coordinator.committed('g6', 'ac', 0)).toBe(2);
    release();
    await eventually(() => cluster.coordinator.committed('g6', 'ac', 0) === 5);

    cluster.createTopic('th', 1);
    fill('th', 1, 6, 'q');
    const b = await member('g7', ['th'], {}, { autoCommitInterval: null, autoCommitThreshold: 2 });
    await eventually(() => b.handled.length === 6);
    await eventually(() => cluster.coordinator.committed('g7', 'th', 0) === 6);
    // The coordinator holds the offset before its answer reaches the member's commit event.
    await eventually(() => b.commits.length >= 3);
    expect(b.commits.map((c) => c.offsets[0].offset)).toEqual(['2', '4', '6']);
  });

  it('starts at the committed offset, else earliest with fromBeginning, else latest', async () => {
    cluster.createTopic('st', 3);
    fill('st', 3, 4, 's');
    const c = new Connection({ address: cluster.node('n1').address, connectTimeoutMs: 1000 });
    // Only partition 0 has a committed offset (a standalone commit, accepted while the group is empty).
    await c.request({ type: 'commitOffsets', group: 'g8', generation: -1, memberId: '', offsets: [{ topic: 'st', partition: 0, offset: 3, metadata: '' }], timeoutMs: 1000 }, 2000);
    c.close();
    const latest = await member('g8', ['st'], {}, {}, false);
    await eventually(() => latest.owns().length === 3 && latest.consumer.position('st', 1) === '4');
    await eventually(() => latest.handled.length === 1);
    expect(latest.handled).toEqual(['0:3']);
    await latest.consumer.stop();
    // Its stop committed the positions, including the latest ones it started at.
    expect(cluster.coordinator.committed('g8', 'st', 1)).toBe(4);

    const early = await member('g9', ['st']);
    await eventually(() => early.handled.length === 12);
  });

  it('subscribes by RegExp, and joins a topic created later', async () => {
    cluster.createTopic('metrics.cpu', 1);
    cluster.createTopic('other', 1);
    cluster.append('metrics.cpu', 0, [{ value: Buffer.from('c') }]);
    const a = await member('g10', /^metrics\./g, { metadataMaxAge: 100 });
    await eventually(() => a.handled.length === 1);
    expect(a.consumer.assignment()).toEqual([{ topic: 'metrics.cpu', partition: 0 }]);
    cluster.createTopic('metrics.mem', 1);
    cluster.append('metrics.mem', 0, [{ value: Buffer.from('m') }]);
    await eventually(() => a.consumer.assignment().length === 2, 3000);
    await eventually(() => a.handled.length === 2);
  });

  it('pause and resume hold across a rebalance; seek moves a position', async () => {
    cluster.createTopic('pr', 2);
    const a = await member('g11', ['pr']);
    await eventually(() => a.owns().length === 2);
    a.consumer.pause([{ topic: 'pr' }]);
    const b = await member('g11', ['pr']);
    await eventually(() => a.owns().length === 1 && b.owns().length === 1);
    fill('pr', 2, 1, 'p');
    await eventually(() => b.handled.length === 1);
    await new Promise((r) => setTimeout(r, 150));
    expect(a.handled).toEqual([]);
    expect(a.consumer.paused()).toEqual([{ topic: 'pr', partitions: a.owns() }]);
    a.consumer.resume([{ topic: 'pr' }]);
    await eventually(() => a.handled.length === 1);
    a.consumer.seek({ topic: 'pr', partition: a.owns()[0], offset: '0' });
    await eventually(() => a.handled.length === 2);
    expect(() => a.consumer.seek({ topic: 'pr', partition: b.owns()[0], offset: '0' })).toThrow(/not assigned/);
  });

  it('stops from inside a handler: the record it handled is committed, the rest is not', async () => {
    cluster.createTopic('mv', 1);
    fill('mv', 1, 3, 'm');
    const seen: string[] = [];
    let self: GroupConsumer | null = null;
    const a = await member('g12', ['mv'], {}, {
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === '1') await self?.stop();
      },
    });
    self = a.consumer;
    const stopped = new Promise<void>((r) => a.consumer.on('stop', () => r()));
    await stopped;
    expect(seen).toEqual(['0', '1']);
    expect(cluster.coordinator.committed('g12', 'mv', 0)).toBe(2);
    expect(cluster.coordinator.groups.get('g12')?.members.size).toBe(0);
    const b = await member('g12', ['mv']);
    await eventually(() => b.handled.length === 1);
    expect(b.handled).toEqual(['0:2']);
  });

  it('follows NOT_COORDINATOR to the coordinator it names', async () => {
    cluster.createTopic('nc', 1);
    const a = await member('g14', ['nc']);
    await eventually(() => a.joins.length === 1);
    expect(cluster.requestsOf('joinGroup').map((r) => r.node)).toEqual(['n1']);
    cluster.controller = 'n2';
    await eventually(() => cluster.requestsOf('heartbeat').some((r) => r.node === 'n2'));
    const wrong = cluster.requestsOf('heartbeat').filter((r) => r.node === 'n1');
    expect(wrong.length).toBeGreaterThan(0);
    cluster.append('nc', 0, [{ value: Buffer.from('v') }]);
    await eventually(() => cluster.requestsOf('commitOffsets').some((r) => r.node === 'n2'));
  });

  it('crashes with a message a person can act on when the group uses other assignors', async () => {
    cluster.createTopic('x', 1);
    const raw = await RawMember.join(cluster, 'g13', ['x']);
    const consumer = clientFor(cluster).consumer({ groupId: 'g13', ...FAST, partitionAssigners: [{ name: 'mine', assign: stickyAssign }] });
    running.push(consumer);
    const crashes: RaftlogError[] = [];
    consumer.on('crash', (e) => crashes.push(e.error));
    consumer.subscribe({ topics: ['x'] });
    await consumer.run({ eachMessage: () => undefined });
    await eventually(() => crashes.length === 1);
    expect(crashes[0].code).toBe(ErrorCode.InconsistentGroupProtocol);
    expect(crashes[0].message).toContain('offers the assignors mine');
    raw.close();
  });

  it('checks its options and its subscription', async () => {
    const client = clientFor(cluster);
    expect(() => client.consumer({ groupId: '' })).toThrow(/groupId/);
    expect(() => client.consumer({ groupId: 'g', sessionTimeout: 10 })).toThrow(/sessionTimeout must be 1000\.\.300000/);
    expect(() => client.consumer({ groupId: 'g', sessionTimeout: 1000, heartbeatInterval: 1000 })).toThrow(/below the session timeout/);
    const c = client.consumer({ groupId: 'g' });
    await expect(c.run({ eachMessage: () => undefined })).rejects.toThrow(/subscribe\(\) to at least one topic/);
    expect(() => c.subscribe({ topics: ['bad topic'] })).toThrow(RaftlogError);
    c.subscribe({ topics: ['ghost'] });
    await expect(c.run({ eachMessage: () => undefined })).rejects.toMatchObject({ code: ErrorCode.UnknownTopicOrPartition });
    await c.disconnect();
  });
});

/** A group member driven by hand over the protocol, which can die without leaving. */
class RawMember {
  memberId = '';
  generation = -1;
  assignment: TopicPartitionList[] = [];
  private constructor(
    private readonly conn: Connection,
    private readonly group: string,
    private readonly topics: string[],
    private readonly partitions: Map<string, number>,
  ) {}

  static async join(c: FakeCluster, group: string, topics: string[]): Promise<RawMember> {
    const conn = new Connection({ address: c.node('n1').address, connectTimeoutMs: 1000 });
    const partitions = new Map(topics.map((t) => [t, c.topics.get(t)?.partitions.length ?? 0]));
    const m = new RawMember(conn, group, topics, partitions);
    await m.rejoin();
    return m;
  }

  /** Joins (again) and syncs, assigning with the sticky assignor when it leads. */
  async rejoin(): Promise<void> {
    const metadata = encodeMetadata({ topics: this.topics, owned: this.assignment, generation: this.generation });
    const join: JoinGroupResponse = await this.conn.request(
      { type: 'joinGroup', group: this.group, memberId: this.memberId, clientId: 'raw', protocolType: 'consumer', protocols: [{ name: 'sticky', metadata }], sessionTimeoutMs: 1000, rebalanceTimeoutMs: 2000 },
      5000,
    );
    this.memberId = join.memberId;
    this.generation = join.generation;
    let assignments: { memberId: string; assignment: Uint8Array }[] = [];
    if (join.leader === join.memberId) {
      const members = join.members.map((x) => ({ memberId: x.memberId, ...decodeMetadata(x.metadata) }));
      const result = stickyAssign({ members, partitions: this.partitions });
      assignments = members.map((x) => ({ memberId: x.memberId, assignment: encodeAssignment(result.get(x.memberId) ?? []) }));
    }
    const sync = await this.conn.request({ type: 'syncGroup', group: this.group, generation: this.generation, memberId: this.memberId, assignments }, 5000);
    this.assignment = [...decodeAssignment(sync.assignment).partitions];
  }

  async commit(offsets: { topic: string; partition: number; offset: number }[]): Promise<void> {
    const resp = await this.conn.request(
      { type: 'commitOffsets', group: this.group, generation: this.generation, memberId: this.memberId, offsets: offsets.map((o) => ({ ...o, metadata: '' })), timeoutMs: 1000 },
      2000,
    );
    expect(resp.results.every((r) => r.error === undefined)).toBe(true);
  }

  close(): void {
    this.conn.close();
  }
}
