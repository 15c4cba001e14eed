import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, RaftlogError, type GroupConsumer, type GroupConsumerEvents, type GroupConsumerOptions, type GroupRunOptions } from '../../src/client/index.js';
import { decodeAssignment, decodeMetadata, encodeAssignment, encodeMetadata, stickyAssign, type TopicPartitionList } from '../../src/client/assignors/index.js';
import { Connection } from '../../src/client/connection.js';
import type { JoinGroupResponse } from '../../src/wire/protocol.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { FakeCluster } from './fake-broker.js';
import { clientFor, eventually } from './helpers.js';

let cluster: FakeCluster;
/** Set by onManualClock(): the clock of the coordinator and of the members made since. */
let manual: ManualClock | null = null;
const running: GroupConsumer[] = [];
/** Handlers held by a test; let go before the consumers stop, even when a check failed. */
const releases: (() => void)[] = [];
beforeEach(async () => {
  manual = null;
  cluster = await FakeCluster.start();
});
afterEach(async () => {
  for (const release of releases.splice(0)) release();
  for (const c of running.splice(0)) await c.disconnect();
  await cluster.stop();
});

/** Quick timings: rebalances take tens of milliseconds. */
const FAST = { heartbeatInterval: 50, sessionTimeout: 1000, rebalanceTimeout: 2000, maxWaitTimeInMs: 100 } as const satisfies Omit<GroupConsumerOptions, 'groupId'>;
/** The auto-commit interval of member(). */
const AUTO_COMMIT_MS = 100;

/**
 * Starts the test over on a fake cluster whose coordinator times sessions and rebalances on a
 * clock the test moves, as do the members made after this: a session times out when the test
 * says so, to the millisecond, however slow the machine.
 */
async function onManualClock(): Promise<ManualClock> {
  await cluster.stop();
  const clock = new ManualClock();
  cluster = await FakeCluster.start({ clock });
  manual = clock;
  return clock;
}

/** Ends an empty group's initial rebalance delay on `clock` once its first join waits in it. */
async function passInitialDelay(clock: ManualClock, groupId: string): Promise<void> {
  await eventually(() => cluster.coordinator.groups.get(groupId)?.state === 'PreparingRebalance');
  await clock.advance(cluster.coordinator.initialRebalanceDelayMs);
}

/**
 * Moves `clock` on by `ms`, one heartbeat interval at a time, each step once `m`'s heartbeat of
 * that step is answered: the coordinator hears from the member as often as it would in real time.
 */
async function beatThrough(clock: ManualClock, m: Member, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= FAST.heartbeatInterval) {
    const before = m.beats;
    await clock.advance(FAST.heartbeatInterval);
    await eventually(() => m.beats === before + 1);
  }
}

interface Member {
  readonly consumer: GroupConsumer;
  /** "partition:offset" of every record handled, in order. */
  readonly handled: string[];
  readonly joins: GroupConsumerEvents['group.join'][];
  readonly commits: GroupConsumerEvents['commit.offsets'][];
  /** Heartbeats answered. */
  beats: number;
  memberId(): string;
  owns(): number[];
}

function member(groupId: string, topics: string[] | RegExp, opts: Partial<GroupConsumerOptions> = {}, run: Partial<GroupRunOptions> = {}, fromBeginning = true): Promise<Member> & { started: Member } {
  const consumer = clientFor(cluster, manual ? { clock: manual } : {}).consumer({ groupId, ...FAST, ...opts });
  running.push(consumer);
  const m: Member = {
    consumer,
    handled: [],
    joins: [],
    commits: [],
    beats: 0,
    memberId: () => consumer.membershipInfo().memberId,
    owns: () => consumer.assignment().map((a) => a.partition).sort((a, b) => a - b),
  };
  consumer.on('group.join', (e) => m.joins.push(e));
  consumer.on('commit.offsets', (e) => m.commits.push(e));
  consumer.on('heartbeat', () => void m.beats++);
  consumer.subscribe({ topics, fromBeginning });
  const started = consumer.run({ autoCommitInterval: AUTO_COMMIT_MS, eachMessage: ({ partition, message }) => void m.handled.push(`${partition}:${message.offset}`), ...run }).then(() => m);
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
    // Once the group has committed the end of every partition nothing can be handled again (a
    // replay starts at the commits), so what was handled by then is all there will be.
    await eventually(() => [0, 1, 2, 3].every((p) => cluster.coordinator.committed('g2', 't', p) === 5));
    expect(sorted([...a.handled, ...b.handled])).toEqual(sorted(everything('t', 4)));
    expect(cluster.coordinator.groups.get('g2')?.members.size).toBe(1);
  });

  it('a member killed without leaving loses its partitions after the session timeout; nothing is skipped', async () => {
    const clock = await onManualClock();
    cluster.createTopic('k', 2);
    fill('k', 2, 4, 'z');
    const joining = RawMember.join(cluster, 'g3', ['k']);
    await passInitialDelay(clock, 'g3');
    const raw = await joining;
    expect(raw.assignment).toEqual([{ topic: 'k', partitions: [0, 1] }]);
    // It processed two records of each partition, committed, and then dies (no heartbeat, no leave).
    await raw.commit([0, 1].map((partition) => ({ topic: 'k', partition, offset: 2 })));
    const b = await member('g3', ['k']);
    // The raw member rejoins once b's join has started the rebalance, as a live member would.
    await eventually(() => cluster.requestsOf('joinGroup').length === 2);
    await raw.rejoin();
    await eventually(() => b.owns().length === 1);
    expect(raw.assignment.flatMap((l) => l.partitions)).toHaveLength(1);
    // The raw member's last word was its sync, at the clock's present; b heartbeats on. A whole
    // session timeout later the raw member is still in (only longer silences expire)...
    await beatThrough(clock, b, FAST.sessionTimeout);
    expect(cluster.coordinator.groups.get('g3')?.members.has(raw.memberId)).toBe(true);
    expect(b.owns()).toHaveLength(1);
    // ...and the next sweep removes it. b hears of the rebalance at its next heartbeat, rejoins
    // alone and takes both partitions.
    await clock.advance(cluster.coordinator.sweepMs);
    expect(cluster.coordinator.groups.get('g3')?.members.has(raw.memberId)).toBe(false);
    await clock.advance(FAST.heartbeatInterval);
    await eventually(() => b.owns().length === 2);
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
    const clock = await onManualClock();
    cluster.createTopic('slow', 1);
    cluster.append('slow', 0, [{ value: Buffer.from('one') }]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    releases.push(release);
    let entered = false;
    const a = await member('g5', ['slow'], {}, {
      eachMessage: async () => {
        entered = true;
        await gate;
      },
    });
    await passInitialDelay(clock, 'g5');
    await eventually(() => entered);
    const rebalances: string[] = [];
    a.consumer.on('rebalancing', (e) => rebalances.push(e.reason));
    // Half as long again as the session timeout, every heartbeat answered while the handler
    // waits: the member is still in the group, in its first generation, and means to stay.
    await beatThrough(clock, a, 1.5 * FAST.sessionTimeout);
    expect(a.beats).toBe(30);
    expect(cluster.coordinator.groups.get('g5')?.members.has(a.memberId())).toBe(true);
    expect(a.joins).toHaveLength(1);
    expect(rebalances).toEqual([]);
    release();
    await eventually(() => a.consumer.position('slow', 0) === '1');
    await clock.advance(AUTO_COMMIT_MS);
    await eventually(() => cluster.coordinator.committed('g5', 'slow', 0) === 1);
  });

  it('auto-commits processed offsets on the interval, never ahead of the handler', async () => {
    const clock = await onManualClock();
    cluster.createTopic('ac', 1);
    fill('ac', 1, 5, 'r');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    releases.push(release);
    const seen: string[] = [];
    const a = await member('g6', ['ac'], {}, {
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === '2') await gate;
      },
    });
    await passInitialDelay(clock, 'g6');
    await eventually(() => seen.includes('2'));
    // No interval has passed yet: nothing is committed.
    expect(cluster.coordinator.committed('g6', 'ac', 0)).toBe(-1);
    // One passes while the handler of offset 2 runs: 0 and 1 are done, 2 is not.
    await clock.advance(AUTO_COMMIT_MS);
    await eventually(() => a.commits.length === 1);
    expect(a.commits[0].offsets).toEqual([{ topic: 'ac', partition: 0, offset: '2' }]);
    expect(cluster.coordinator.committed('g6', 'ac', 0)).toBe(2);
    release();
    await eventually(() => a.consumer.position('ac', 0) === '5');
    await clock.advance(AUTO_COMMIT_MS);
    await eventually(() => cluster.coordinator.committed('g6', 'ac', 0) === 5);
  });

  it('auto-commits on the threshold of records handled', async () => {
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
    cluster.createTopic('live', 1);
    // One leader for every partition: a fetch by a carries all it reads that are not paused.
    cluster.moveLeader('pr', 1, cluster.partition('pr', 0).leader);
    cluster.moveLeader('live', 0, cluster.partition('pr', 0).leader);
    const seenByA: string[] = [];
    const a = await member('g11', ['pr', 'live'], {}, { eachMessage: ({ topic, partition, message }) => void seenByA.push(`${topic}/${partition}:${message.offset}`) });
    await eventually(() => a.consumer.assignment().length === 3);
    a.consumer.pause([{ topic: 'pr' }]);
    // b reads 'pr' only, so a keeps 'live' and one partition of 'pr' (paused) in the next generation.
    const b = await member('g11', ['pr']);
    await eventually(() => a.joins.length === 2 && b.owns().length === 1);
    const mine = a.consumer.assignment().find((x) => x.topic === 'pr')!.partition;
    const theirs = b.owns()[0];
    expect(a.consumer.paused()).toEqual([{ topic: 'pr', partitions: [mine] }]);
    // A record for a's paused partition, then one for its live one: a fetch that still asked
    // for the paused one would have brought its record with the live one or before.
    cluster.append('pr', mine, [{ value: Buffer.from('paused') }]);
    cluster.append('live', 0, [{ value: Buffer.from('live') }]);
    cluster.append('pr', theirs, [{ value: Buffer.from('theirs') }]);
    await eventually(() => seenByA.length >= 1 && b.handled.length === 1);
    expect(seenByA).toEqual(['live/0:0']);
    expect(() => a.consumer.seek({ topic: 'pr', partition: theirs, offset: '0' })).toThrow(/not assigned/);

    // b leaves: a is assigned its partition, and the topic's pause covers that one too.
    await b.consumer.stop();
    await eventually(() => a.joins.length === 3);
    expect(a.consumer.paused().map((p) => ({ ...p, partitions: [...p.partitions].sort() }))).toEqual([{ topic: 'pr', partitions: [0, 1] }]);
    cluster.append('pr', theirs, [{ value: Buffer.from('later') }]);
    cluster.append('live', 0, [{ value: Buffer.from('live again') }]);
    await eventually(() => seenByA.length >= 2);
    expect(seenByA).toEqual(['live/0:0', 'live/0:1']);

    // Resumed, a reads both from where they stand: its own from the start, b's after what b committed.
    a.consumer.resume([{ topic: 'pr' }]);
    await eventually(() => seenByA.length === 4);
    expect(sorted(seenByA.slice(2))).toEqual(sorted([`pr/${mine}:0`, `pr/${theirs}:1`]));
    a.consumer.seek({ topic: 'pr', partition: mine, offset: '0' });
    await eventually(() => seenByA.length === 5);
    expect(seenByA[4]).toBe(`pr/${mine}:0`);
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
