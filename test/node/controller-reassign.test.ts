/**
 * The controller's side of a reassignment (issue 20, section 3): what it refuses, before anything
 * is proposed, with a code and a message that says what to do; one command per partition it
 * accepts, pinned to the topic's id; the outcome of each in the request's order.
 */
import { describe, expect, it } from 'vitest';
import { ServerError } from '../../src/errors.js';
import type { TopicRecord } from '../../src/meta/commands.js';
import type { MetaResult } from '../../src/meta/meta-state.js';
import { REASSIGN_REPLICAS_MAX } from '../../src/meta/placement.js';
import { DEFAULT_TOPIC_CONFIG, ErrorCode, type PartitionReassignment, type ReassignPartitionsResponse } from '../../src/wire/protocol.js';
import { fakeControllerHost, type FakeHost } from './controller-host.js';

const ORDERS: TopicRecord = {
  name: 'orders',
  id: 't7',
  partitions: 8,
  replicationFactor: 3,
  config: DEFAULT_TOPIC_CONFIG,
  assignments: Array.from({ length: 8 }, () => ['n1', 'n2', 'n3']),
};

type Setup = FakeHost;

/** A controller on node n1 of `nodes`, with the topic ORDERS; `connected` are the peers it is connected to; each proposal commits with `result`. */
function setup(opts: { nodes?: string[]; connected?: string[]; isController?: boolean; result?: MetaResult } = {}): Setup {
  return fakeControllerHost({ ...opts, topics: [ORDERS] });
}

const reassign = (s: Setup, partitions: PartitionReassignment[]): Promise<ReassignPartitionsResponse> => s.controller.reassignPartitions({ type: 'reassignPartitions', partitions, timeoutMs: 1000 });

describe('Controller.reassignPartitions', () => {
  it("proposes one command per partition, pinned to its topic's id, with the replicas in the order given, and answers each", async () => {
    const s = setup();
    const r = await reassign(s, [
      { topic: 'orders', partition: 1, replicas: ['n4', 'n2', 'n3'] },
      { topic: 'orders', partition: 0, replicas: ['n2'] },
    ]);
    expect(r).toEqual({ partitions: [{ topic: 'orders', partition: 1 }, { topic: 'orders', partition: 0 }] });
    expect(s.proposed).toEqual([
      { type: 'reassignPartition', topic: 'orders', topicId: 't7', partition: 1, replicas: ['n4', 'n2', 'n3'] },
      { type: 'reassignPartition', topic: 'orders', topicId: 't7', partition: 0, replicas: ['n2'] },
    ]);
  });

  it('refuses, proposing nothing for it, each partition whose topic, partition or replicas are wrong, with a code and what to do; the others go ahead', async () => {
    const s = setup();
    const entries: [PartitionReassignment, ErrorCode, RegExp][] = [
      [{ topic: 'nope', partition: 0, replicas: ['n1'] }, ErrorCode.UnknownTopicOrPartition, /topic 'nope' does not exist \(list the topics with: raftlog topics list\)/],
      [{ topic: 'orders', partition: 8, replicas: ['n1'] }, ErrorCode.UnknownTopicOrPartition, /has 8 partitions \(0\.\.7\); there is no partition 8/],
      [{ topic: 'orders', partition: 0, replicas: [] }, ErrorCode.InvalidReplicationFactor, /orders\/0 needs at least 1 replica: name the nodes that should hold it \(of n1, n2, n3, n4\)/],
      [{ topic: 'orders', partition: 2, replicas: ['n1', 'n2', 'n3', 'n4', 'n5'] }, ErrorCode.InvalidReplicationFactor, /cannot have 5 replicas: the cluster has 4 nodes \(n1, n2, n3, n4\); name at most 4/],
      [{ topic: 'orders', partition: 3, replicas: ['n1', 'n2', 'n1'] }, ErrorCode.InvalidReplicaAssignment, /name node 'n1' more than once: name each node once/],
      [{ topic: 'orders', partition: 4, replicas: ['n1', 'n9', 'x'] }, ErrorCode.InvalidReplicaAssignment, /'n9', 'x' are not nodes of this cluster: name replicas among its nodes \(n1, n2, n3, n4\)/],
    ];
    const ok: PartitionReassignment = { topic: 'orders', partition: 1, replicas: ['n1', 'n4'] };
    const r = await reassign(s, [...entries.map(([e]) => e), ok]);
    expect(r.partitions).toHaveLength(entries.length + 1);
    entries.forEach(([e, code, message], i) => {
      expect(r.partitions[i]).toMatchObject({ topic: e.topic, partition: e.partition, error: { code } });
      expect(r.partitions[i]!.error!.message).toMatch(message);
    });
    expect(r.partitions.at(-1)).toEqual({ topic: 'orders', partition: 1 });
    expect(s.proposed).toEqual([{ type: 'reassignPartition', topic: 'orders', topicId: 't7', partition: 1, replicas: ['n1', 'n4'] }]);
  });

  it('refuses a partition named twice in one request, every time it is named', async () => {
    const s = setup();
    const r = await reassign(s, [
      { topic: 'orders', partition: 0, replicas: ['n1'] },
      { topic: 'orders', partition: 1, replicas: ['n1'] },
      { topic: 'orders', partition: 0, replicas: ['n2'] },
    ]);
    expect(r.partitions.map((p) => p.error?.code)).toEqual([ErrorCode.InvalidRequest, undefined, ErrorCode.InvalidRequest]);
    expect(r.partitions[0]!.error!.message).toMatch(/orders\/0 is named 2 times in one request: name each partition once/);
    expect(s.proposed.map((c) => (c.type === 'reassignPartition' ? c.partition : -1))).toEqual([1]);
  });

  it('takes any node the cluster has, up or down (a replica moving onto a node that is down waits for it)', async () => {
    const s = setup({ connected: ['n2'] });
    const r = await reassign(s, [{ topic: 'orders', partition: 0, replicas: ['n3', 'n4'] }]);
    expect(r.partitions[0]!.error).toBeUndefined();
    expect(s.proposed).toHaveLength(1);
  });

  it(`refuses more replicas than a partition may have (${REASSIGN_REPLICAS_MAX}: a Raft group's members, less the one a move adds before it removes)`, async () => {
    const nodes = Array.from({ length: REASSIGN_REPLICAS_MAX + 2 }, (_, i) => `n${i + 1}`);
    const s = setup({ nodes });
    const r = await reassign(s, [
      { topic: 'orders', partition: 0, replicas: nodes.slice(0, REASSIGN_REPLICAS_MAX + 1) },
      { topic: 'orders', partition: 1, replicas: nodes.slice(0, REASSIGN_REPLICAS_MAX) },
    ]);
    expect(r.partitions[0]!.error).toMatchObject({ code: ErrorCode.InvalidReplicationFactor, message: expect.stringMatching(new RegExp(`a partition has at most ${REASSIGN_REPLICAS_MAX}; name fewer`)) });
    expect(r.partitions[1]!.error).toBeUndefined();
  });

  it('passes on what the metadata answered when a command changed nothing (its topic was deleted meanwhile)', async () => {
    const s = setup({ result: { ok: false, code: ErrorCode.UnknownTopicOrPartition, message: "topic 'orders' was deleted before the reassignment of orders/0 was committed; nothing changed" } });
    const r = await reassign(s, [{ topic: 'orders', partition: 0, replicas: ['n2'] }]);
    expect(r.partitions).toEqual([{ topic: 'orders', partition: 0, error: { code: ErrorCode.UnknownTopicOrPartition, message: expect.stringMatching(/was deleted before/) } }]);
  });

  it('is refused with NOT_LEADER, naming the controller, on a node that is not the controller', async () => {
    const s = setup({ isController: false });
    const err = await reassign(s, [{ topic: 'orders', partition: 0, replicas: ['n2'] }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ code: ErrorCode.NotLeader, leaderHint: 'n2' });
    expect(s.proposed).toEqual([]);
  });
});
