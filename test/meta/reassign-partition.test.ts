/**
 * The metadata command that sets a partition's target replicas (issue 20, section 3), applied by
 * the real MetaStateMachine over a real state store: it changes that partition's assignment
 * only, tells the node the topics changed, and changes nothing when its topic is gone, was
 * created again under the same name, or lacks the partition. And the intents the controller
 * moves replicas for: a topic's new replication factor, a node leaving, a rebalance.
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../raft/types.js';
import type { MetaCommand, TopicRecord } from '../../src/meta/commands.js';
import type { MetaResult, MetaStateMachine } from '../../src/meta/meta-state.js';
import { DEFAULT_TOPIC_CONFIG, ErrorCode } from '../../src/wire/protocol.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { testMetas } from './meta-harness.js';

const tmp = tempDirs('raftlog-reassign-');

interface Meta {
  readonly meta: MetaStateMachine;
  /** How many apply rounds told the node that topics changed. */
  readonly changed: () => number;
  /** Proposes `cmd` and applies it as the next entry; resolves with its result. */
  run(cmd: MetaCommand): Promise<MetaResult>;
  /** Every entry applied so far, in order. */
  readonly log: Entry[];
}

const openTestMeta = testMetas();

/** A metadata state machine on its own store (meta-harness.ts). */
async function openMeta(): Promise<Meta> {
  const m = await openTestMeta(tmp());
  return { meta: m.meta, changed: m.topicsChanged, run: m.run, log: m.entries };
}

const createOrders = (assignments: string[][]): MetaCommand => ({ type: 'createTopic', name: 'orders', partitions: assignments.length, replicationFactor: 3, config: DEFAULT_TOPIC_CONFIG, assignments });
const reassign = (topicId: string, partition: number, replicas: string[]): MetaCommand => ({ type: 'reassignPartition', topic: 'orders', topicId, partition, replicas });

describe('reassignPartition', () => {
  it("sets that partition's target replicas, in the order given, and nothing else of the topic; the node is told the topics changed", async () => {
    const m = await openMeta();
    await m.run(createOrders([['n1', 'n2', 'n3'], ['n2', 'n3', 'n1']]));
    const before = m.meta.topic('orders')!;
    expect(m.changed()).toBe(1);

    const r = await m.run(reassign(before.id, 1, ['n4', 'n2']));

    expect(r.ok).toBe(true);
    const after = m.meta.topic('orders')!;
    // Partition 1 is marked moved: a replica created for it from now on joins its running group.
    expect(after).toEqual({ ...before, assignments: [['n1', 'n2', 'n3'], ['n4', 'n2']], moved: [false, true] });
    expect(m.changed()).toBe(2);
  });

  it('setting the list a partition already has changes nothing and tells no one', async () => {
    const m = await openMeta();
    await m.run(createOrders([['n1', 'n2', 'n3']]));
    const t = m.meta.topic('orders')!;
    const r = await m.run(reassign(t.id, 0, ['n1', 'n2', 'n3']));
    expect(r.ok).toBe(true);
    expect(m.changed()).toBe(1);
    // The same nodes in another order is another preferred leader: a change.
    await m.run(reassign(t.id, 0, ['n2', 'n1', 'n3']));
    expect(m.meta.topic('orders')!.assignments).toEqual([['n2', 'n1', 'n3']]);
    expect(m.changed()).toBe(2);
  });

  it('for a topic deleted and created again under its name, changes nothing of the new one (the command names the old id)', async () => {
    const m = await openMeta();
    await m.run(createOrders([['n1', 'n2', 'n3']]));
    const old = m.meta.topic('orders')!;
    await m.run({ type: 'deleteTopic', name: 'orders' });
    await m.run(createOrders([['n3', 'n1', 'n2']]));
    const fresh = m.meta.topic('orders')!;
    expect(fresh.id).not.toBe(old.id);
    const changed = m.changed();

    const r = await m.run(reassign(old.id, 0, ['n4']));

    expect(r).toMatchObject({ ok: false, code: ErrorCode.UnknownTopicOrPartition, message: expect.stringMatching(/deleted and created again .*nothing changed/) });
    expect(m.meta.topic('orders')).toEqual(fresh);
    expect(m.changed()).toBe(changed);
  });

  it('for a deleted topic, or a partition the topic does not have, changes nothing', async () => {
    const m = await openMeta();
    await m.run(createOrders([['n1', 'n2', 'n3']]));
    const t = m.meta.topic('orders')!;
    const past = await m.run(reassign(t.id, 1, ['n2']));
    expect(past).toMatchObject({ ok: false, code: ErrorCode.UnknownTopicOrPartition, message: expect.stringMatching(/has no partition 1; nothing changed/) });
    expect(m.meta.topic('orders')).toEqual(t);
    await m.run({ type: 'deleteTopic', name: 'orders' });
    const gone = await m.run(reassign(t.id, 0, ['n2']));
    expect(gone).toMatchObject({ ok: false, code: ErrorCode.UnknownTopicOrPartition, message: expect.stringMatching(/was deleted before/) });
    expect(m.meta.topics()).toEqual([]);
  });

  it('an empty list, or one naming a node twice, changes nothing (the controller refuses them; one in the log anyway is a bug that must not spread)', async () => {
    const m = await openMeta();
    await m.run(createOrders([['n1', 'n2', 'n3']]));
    const t = m.meta.topic('orders')!;
    for (const replicas of [[], ['n1', 'n2', 'n1']]) {
      const r = await m.run(reassign(t.id, 0, replicas));
      expect(r).toMatchObject({ ok: false, code: ErrorCode.InvalidReplicaAssignment });
    }
    expect(m.meta.topic('orders')).toEqual(t);
    expect(m.changed()).toBe(1);
  });

  it('is deterministic: two replicas applying the same log hold the same topics', async () => {
    const a = await openMeta();
    await a.run(createOrders([['n1', 'n2', 'n3'], ['n2', 'n3', 'n1'], ['n3', 'n1', 'n2']]));
    const id = a.meta.topic('orders')!.id;
    await a.run(reassign(id, 0, ['n4', 'n1', 'n2']));
    await a.run(reassign(id, 2, ['n3']));
    await a.run(reassign(id, 0, ['n1', 'n4', 'n2']));
    await a.run(reassign('t99', 1, ['n1']));

    const b = await openMeta();
    await b.meta.apply(a.log);

    const expected: TopicRecord = { ...a.meta.topic('orders')!, assignments: [['n1', 'n4', 'n2'], ['n2', 'n3', 'n1'], ['n3']] };
    expect(a.meta.topics()).toEqual([expected]);
    expect(b.meta.topics()).toEqual([expected]);
  });
});

describe('the intents the controller moves replicas for (src/node/placer.ts)', () => {
  it('setReplicationFactor records the factor and a resize, which the reassignment giving the last partition that many replicas ends', async () => {
    const m = await openMeta();
    await m.run(createOrders([['n1', 'n2', 'n3'], ['n2', 'n3', 'n1']]));
    const t = m.meta.topic('orders')!;
    expect((await m.run({ type: 'setReplicationFactor', topic: 'orders', topicId: t.id, replicationFactor: 1, maxMoves: 3 })).ok).toBe(true);
    expect(m.meta.topic('orders')).toMatchObject({ replicationFactor: 1, resizing: { maxMoves: 3 }, assignments: t.assignments });
    await m.run(reassign(t.id, 0, ['n1']));
    expect(m.meta.topic('orders')!.resizing).toEqual({ maxMoves: 3 });
    await m.run(reassign(t.id, 1, ['n2']));
    expect(m.meta.topic('orders')!.resizing).toBeUndefined();
    // The factor every partition has already is no resize.
    await m.run({ type: 'setReplicationFactor', topic: 'orders', topicId: t.id, replicationFactor: 1, maxMoves: 3 });
    expect(m.meta.topic('orders')!.resizing).toBeUndefined();
    const stale = await m.run({ type: 'setReplicationFactor', topic: 'orders', topicId: 'other', replicationFactor: 3, maxMoves: 3 });
    expect(stale).toMatchObject({ ok: false, code: ErrorCode.UnknownTopicOrPartition, message: expect.stringMatching(/deleted and created again before its replication factor change was committed; nothing changed/) });
  });

  it('recommissionNode: a node being decommissioned becomes an ordinary member again; one decommissioned already cannot', async () => {
    const m = await openMeta();
    await m.run({ type: 'registerNode', node: 'n3', incarnation: 'a', address: '127.0.0.1:7003' });
    expect(await m.run({ type: 'recommissionNode', node: 'n3' })).toMatchObject({ ok: true });
    expect(m.meta.node('n3')).toMatchObject({ node: 'n3', incarnation: 'a', address: '127.0.0.1:7003' });
    await m.run({ type: 'setNodeState', node: 'n3', state: 'decommissioning', maxMoves: 2 });
    expect(await m.run({ type: 'recommissionNode', node: 'n3' })).toMatchObject({ ok: true });
    expect(m.meta.node('n3')!.decommission).toBeUndefined();
    expect(m.meta.node('n3')).toMatchObject({ incarnation: 'a', address: '127.0.0.1:7003' });
    // Once recommissioned, the decommission cannot be finished by a placer that was about to.
    expect(await m.run({ type: 'setNodeState', node: 'n3', state: 'decommissioned', maxMoves: 2 })).toMatchObject({ ok: false, message: 'node n3 is not being decommissioned; nothing changed' });
    await m.run({ type: 'setNodeState', node: 'n3', state: 'decommissioning', maxMoves: 2 });
    await m.run({ type: 'setNodeState', node: 'n3', state: 'decommissioned', maxMoves: 2 });
    const late = await m.run({ type: 'recommissionNode', node: 'n3' });
    expect(late).toMatchObject({ ok: false, code: ErrorCode.InvalidRequest, message: expect.stringMatching(/^node n3 was decommissioned already and cannot come back: join a new node/) });
    expect(m.meta.node('n3')!.decommission!.state).toBe('decommissioned');
  });

  it('setNodeState: a node starts leaving once, has left only after it started, and a new data folder does not bring it back', async () => {
    const m = await openMeta();
    await m.run({ type: 'registerNode', node: 'n3', incarnation: 'a' });
    const early = await m.run({ type: 'setNodeState', node: 'n3', state: 'decommissioned', maxMoves: 2 });
    expect(early).toMatchObject({ ok: false, code: ErrorCode.InvalidRequest, message: 'node n3 is not being decommissioned; nothing changed' });
    await m.run({ type: 'setNodeState', node: 'n3', state: 'decommissioning', maxMoves: 2 });
    const since = m.meta.node('n3')!.decommission!.since;
    await m.run({ type: 'setNodeState', node: 'n3', state: 'decommissioning', maxMoves: 5 });
    expect(m.meta.node('n3')!.decommission).toEqual({ state: 'decommissioning', since, maxMoves: 2 });
    await m.run({ type: 'registerNode', node: 'n3', incarnation: 'b' });
    expect(m.meta.node('n3')).toMatchObject({ incarnation: 'b', decommission: { state: 'decommissioning' } });
    await m.run({ type: 'setNodeState', node: 'n3', state: 'decommissioned', maxMoves: 2 });
    await m.run({ type: 'setNodeState', node: 'n3', state: 'decommissioning', maxMoves: 2 });
    expect(m.meta.node('n3')!.decommission!.state).toBe('decommissioned');
    // A node never heard from can be decommissioned: its record has no incarnation yet.
    await m.run({ type: 'setNodeState', node: 'n5', state: 'decommissioning', maxMoves: 2 });
    expect(m.meta.node('n5')).toMatchObject({ node: 'n5', incarnation: '' });
    expect(m.meta.nodes().map((n) => n.node)).toEqual(['n3', 'n5']);
  });

  it('startRebalance records a rebalance until finishRebalance', async () => {
    const m = await openMeta();
    expect(m.meta.rebalance()).toBeUndefined();
    await m.run({ type: 'startRebalance', maxMoves: 4 });
    expect(m.meta.rebalance()).toEqual({ maxMoves: 4, since: 1 });
    await m.run({ type: 'finishRebalance' });
    expect(m.meta.rebalance()).toBeUndefined();
  });
});
