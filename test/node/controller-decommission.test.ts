/**
 * The controller's side of decommissions, replication factor changes and rebalances (issue 20
 * §2, §3), over a fake node: what each request refuses before anything is proposed, with a code
 * and what to do; and the placer's rounds (src/node/placer.ts): it waits for the partition
 * leaders' reports after taking over, starts no more moves than asked for at once, counts a move
 * as running until its leader reports it at target, then takes the drained node out of the
 * metadata group and records it as decommissioned.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServerError } from '../../src/errors.js';
import { partitionGroupId, type MetaCommand, type TopicRecord } from '../../src/meta/commands.js';
import type { MetaResult } from '../../src/meta/meta-state.js';
import { REPORTS_SETTLE_MS } from '../../src/node/placer.js';
import { DEFAULT_TOPIC_CONFIG, ErrorCode } from '../../src/wire/protocol.js';
import { fakeControllerHost, type FakeHost, type FakeMetaState } from './controller-host.js';

/** The metadata's effect of each command the placer and the controller propose, on the fake's state. */
function apply(cmd: MetaCommand, state: FakeMetaState): MetaResult {
  switch (cmd.type) {
    case 'reassignPartition':
      state.topics = state.topics.map((t) => (t.id === cmd.topicId ? { ...t, assignments: t.assignments.map((a, p) => (p === cmd.partition ? [...cmd.replicas] : a)) } : t));
      return { ok: true };
    case 'setNodeState':
      state.records.set(cmd.node, { node: cmd.node, incarnation: 'i', since: 1, decommission: { state: cmd.state, since: 1, maxMoves: cmd.maxMoves } });
      return { ok: true };
    case 'startRebalance':
      state.rebalance = { maxMoves: cmd.maxMoves, since: 1 };
      return { ok: true };
    case 'finishRebalance':
      state.rebalance = undefined;
      return { ok: true };
    default:
      return { ok: true };
  }
}

interface Fake extends FakeHost {
  /** Runs the placer's round (private; its timer is not started in these tests). */
  round(): Promise<void>;
}

/** A controller on n1 of n1..n4 (`down` not connected, all four metadata voters), whose metadata applies what it proposes. */
function fake(topics: TopicRecord[], o: { down?: string[] } = {}): Fake {
  const ids = ['n1', 'n2', 'n3', 'n4'];
  const f = fakeControllerHost({ nodes: ids, connected: ids.filter((id) => !(o.down ?? []).includes(id)), topics, apply, applyMembership: true, metaMembership: { voters: ids, learners: [] } });
  f.controller.onControllerChange(true);
  const placer = (f.controller as unknown as { placer: { round(): Promise<void> } }).placer;
  return { ...f, round: () => placer.round() };
}

function topic(assignments: string[][], extra: Partial<TopicRecord> = {}): TopicRecord {
  return { name: 'orders', id: 't7', partitions: assignments.length, replicationFactor: assignments[0]!.length, config: DEFAULT_TOPIC_CONFIG, assignments, ...extra };
}

async function refusal(p: Promise<unknown>): Promise<ServerError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServerError);
  return err as ServerError;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Controller.decommissionNode', () => {
  it('refuses an unknown node, a node whose partitions the rest cannot hold, and one whose leaving would cost the metadata group its live majority; proposing nothing', async () => {
    const unknown = fake([topic([['n1', 'n2', 'n3']])]);
    expect(await refusal(unknown.controller.decommissionNode({ type: 'decommissionNode', node: 'n9', timeoutMs: 1000 }))).toMatchObject({ code: ErrorCode.InvalidRequest, message: expect.stringMatching(/'n9' is not a node of this cluster \(n1, n2, n3, n4\)/) });

    const full = fake([topic([['n1', 'n2', 'n3', 'n4']])]);
    const e1 = await refusal(full.controller.decommissionNode({ type: 'decommissionNode', node: 'n3', timeoutMs: 1000 }));
    expect(e1.code).toBe(ErrorCode.InvalidReplicationFactor);
    expect(e1.message).toMatch(/cannot decommission n3: the 3 nodes left after n3 \(n1, n2, n4\) cannot hold orders\/0 \(4 replicas\): add a node first, or lower the replication factor \(raftlog topics alter orders --replication-factor 3\)/);

    const quorum = fake([topic([['n1', 'n2', 'n3']])], { down: ['n2', 'n4'] });
    const e2 = await refusal(quorum.controller.decommissionNode({ type: 'decommissionNode', node: 'n3', timeoutMs: 1000 }));
    expect(e2.code).toBe(ErrorCode.NotEnoughReplicas);
    expect(e2.message).toMatch(/removing n3 from the metadata group would leave voters n1, n2, n4 with 1 up, short of a majority \(2 of 3\): start n2, n4 first/);
    expect([...unknown.proposed, ...full.proposed, ...quorum.proposed]).toEqual([]);
  });

  it('records a node that may be down as decommissioning, with its moves at once; asking again changes nothing', async () => {
    const f = fake([topic([['n1', 'n2', 'n3'], ['n2', 'n4', 'n1']])], { down: ['n3'] });
    expect(await f.controller.decommissionNode({ type: 'decommissionNode', node: 'n3', maxMoves: 3, timeoutMs: 1000 })).toEqual({ node: 'n3', state: 'decommissioning', partitions: 1 });
    expect(f.proposed).toEqual([{ type: 'setNodeState', node: 'n3', state: 'decommissioning', maxMoves: 3 }]);
    expect(await f.controller.decommissionNode({ type: 'decommissionNode', node: 'n3', timeoutMs: 1000 })).toEqual({ node: 'n3', state: 'decommissioning', partitions: 1 });
    expect(f.proposed).toHaveLength(1);
  });
});

describe('Controller.alterReplicationFactor and rebalancePartitions', () => {
  it('refuses a factor the nodes cannot hold, or cannot copy to now; takes one they can', async () => {
    const f = fake([topic([['n1'], ['n2']])], { down: ['n4'] });
    const alter = (rf: number) => f.controller.alterReplicationFactor({ type: 'alterReplicationFactor', topic: 'orders', replicationFactor: rf, timeoutMs: 1000 });
    expect(await refusal(alter(5))).toMatchObject({ code: ErrorCode.InvalidReplicationFactor, message: expect.stringMatching(/needs 5 nodes, but the cluster has 4 not leaving it/) });
    expect(await refusal(alter(4))).toMatchObject({ code: ErrorCode.NotEnoughReplicas, message: expect.stringMatching(/only 3 are \(n1, n2, n3\); retry when more are up/) });
    expect(await refusal(f.controller.alterReplicationFactor({ type: 'alterReplicationFactor', topic: 'nope', replicationFactor: 1, timeoutMs: 1000 }))).toMatchObject({ code: ErrorCode.UnknownTopicOrPartition });
    expect(await alter(3)).toEqual({ topic: 'orders', previous: 1, replicationFactor: 3, partitions: 2 });
    expect(f.proposed).toEqual([{ type: 'setReplicationFactor', topic: 'orders', topicId: 't7', replicationFactor: 3, maxMoves: 2 }]);
  });

  it('a dry run only says the moves; a rebalance records itself; nothing to even out records nothing', async () => {
    const f = fake([topic([['n1', 'n2', 'n3'], ['n2', 'n3', 'n1'], ['n3', 'n1', 'n2'], ['n1', 'n3', 'n2']])]);
    const dry = await f.controller.rebalancePartitions({ type: 'rebalancePartitions', dryRun: true, timeoutMs: 1000 });
    expect(dry.started).toBe(false);
    expect(dry.moves.filter((m) => !m.leaderOnly)).toHaveLength(3);
    expect(dry.moves.every((m) => m.leaderOnly || m.replicas.includes('n4'))).toBe(true);
    expect(f.proposed).toEqual([]);
    expect((await f.controller.rebalancePartitions({ type: 'rebalancePartitions', maxMoves: 1, timeoutMs: 1000 })).started).toBe(true);
    expect(f.proposed).toEqual([{ type: 'startRebalance', maxMoves: 1 }]);
    const even = fake([topic([['n1', 'n2'], ['n3', 'n4']])]);
    expect(await even.controller.rebalancePartitions({ type: 'rebalancePartitions', timeoutMs: 1000 })).toEqual({ moves: [], total: 0, started: false });
    expect(even.proposed).toEqual([]);
  });
});

describe('the placer', () => {
  it('drains a decommissioning node at most maxMoves at a time, counting a move until its leader reports it at target, then removes the node from the metadata group and records it', async () => {
    const f = fake([topic([['n1', 'n2', 'n3'], ['n3', 'n1', 'n2'], ['n2', 'n4', 'n1']])]);
    await f.controller.decommissionNode({ type: 'decommissionNode', node: 'n3', maxMoves: 1, timeoutMs: 1000 });
    const reassigned = (): number[] => f.proposed.flatMap((c) => (c.type === 'reassignPartition' ? [c.partition] : []));

    await f.round();
    expect(reassigned()).toEqual([]); // a new controller first hears from the leaders
    vi.setSystemTime(Date.now() + REPORTS_SETTLE_MS);
    await f.round();
    expect(reassigned()).toEqual([0]);
    await f.round();
    expect(reassigned()).toEqual([0]); // partition 0 still moving
    f.state.atTarget.add(partitionGroupId('t7', 0));
    await f.round();
    expect(reassigned()).toEqual([0, 1]);
    expect(f.metaChanges).toEqual([]);
    f.state.atTarget.add(partitionGroupId('t7', 1));
    expect(f.state.topics[0]!.assignments.flat()).not.toContain('n3');

    await f.round();
    expect(f.metaChanges).toEqual([{ type: 'remove', node: 'n3' }]);
    expect(f.controller.status().decommissions).toEqual([{ node: 'n3', step: 'leaving the metadata group' }]);
    await f.round();
    expect(f.state.records.get('n3')?.decommission?.state).toBe('decommissioned');
    expect(f.controller.status().nodes.find((n) => n.id === 'n3')).toMatchObject({ state: 'decommissioned', meta: 'none' });
  });

  it('reports a partition it cannot move, and moves nothing for it', async () => {
    const f = fake([topic([['n2', 'n3']])], { down: ['n2'] });
    f.state.records.set('n3', { node: 'n3', incarnation: 'i', since: 1, decommission: { state: 'decommissioning', since: 1, maxMoves: 2 } });
    vi.setSystemTime(Date.now() + REPORTS_SETTLE_MS);
    await f.round();
    expect(f.proposed).toEqual([]);
    expect(f.controller.status().blocked).toEqual([{ topic: 'orders', partition: 0, why: expect.stringMatching(/orders\/0 has no live majority \(n2 is down of n2, n3\)/) }]);
    expect(f.controller.status().decommissions[0]!.step).toMatch(/moving 1 partition off n3 \(orders\/0\)/);
  });
});

describe('a node that leaves, and the metadata group', () => {
  const gone = (node: string, state: 'decommissioning' | 'decommissioned') => ({ node, incarnation: `i-${node}`, since: 2, address: `127.0.0.1:70${node.slice(1)}`, decommission: { state, since: 3, maxMoves: 2 } });

  it('is not brought into the metadata group, as learner or voter, while it leaves or once it has left', async () => {
    const f = fakeControllerHost({
      nodes: ['n1', 'n2', 'n3', 'n4', 'n5'],
      cluster: { clusterId: 'c1', metaVoters: ['n1', 'n2', 'n3'], since: 1 },
      records: [gone('n4', 'decommissioned'), gone('n5', 'decommissioning')],
      peerIncarnations: new Map([['n4', 'i-n4'], ['n5', 'i-n5']]),
      metaMembership: { voters: ['n1', 'n2', 'n3'], learners: ['n5'] },
    });
    f.controller.onControllerChange(true);
    // The controller's registration round (private; its timer is not started here).
    await (f.controller as unknown as { register(): Promise<void> }).register();
    expect(f.metaChanges).toEqual([]);
  });

  it('asking to join under a decommissioned id is refused for good', async () => {
    const f = fakeControllerHost({ cluster: { clusterId: 'c1', metaVoters: ['n1', 'n2', 'n3'], since: 1 }, records: [gone('n3', 'decommissioned')], connected: ['n2'] });
    const err = await f.controller.admitJoin({ id: 'n3', address: '127.0.0.1:7013', inc: 'new' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ retriable: false, message: expect.stringMatching(/node id 'n3' was decommissioned and cannot come back: choose another --id/) });
    expect(f.proposed).toEqual([]);
  });
});
