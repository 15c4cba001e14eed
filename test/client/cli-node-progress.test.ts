/**
 * `raftlog nodes status <id>` (src/cli/commands/node-progress.ts): which partitions it lists for
 * a node being decommissioned, and what it says blocks each, from the status answers of the
 * nodes (one of them the controller's) and the topics' targets.
 */
import { describe, expect, it } from 'vitest';
import { nodeProgress } from '../../src/cli/commands/node-progress.js';
import type { NodeAnswer } from '../../src/cli/commands/status.js';
import type { TopicDescription } from '../../src/client/index.js';
import { DEFAULT_TOPIC_CONFIG, type ControllerStatus, type GroupStatus, type StatusResponse } from '../../src/wire/protocol.js';

function group(name: string, o: Partial<GroupStatus>): GroupStatus {
  return { group: `${name} (p:t1:${name.split('/')[1]})`, role: 'leader', term: 2, leader: null, commit: 10, applied: 10, firstIndex: 1, lastIndex: 10, replicas: [], ...o };
}

function answer(id: string, groups: GroupStatus[], controller?: ControllerStatus): NodeAnswer {
  const status: StatusResponse = { node: id, address: `${id}:1`, uptimeMs: 1, peers: [], groups, ...(controller !== undefined ? { controller } : {}) };
  return { id, address: `${id}:1`, status };
}

const down = (id: string): NodeAnswer => ({ id, address: `${id}:1`, error: 'connection refused' });

const CONTROLLER: ControllerStatus = {
  nodes: ['n1', 'n2', 'n3', 'n4'].map((id) => ({ id, state: id === 'n3' ? 'decommissioning' : 'active', live: true, dead: false, meta: 'voter' })),
  moving: ['orders/0'],
  waiting: 1,
  blocked: [],
  decommissions: [{ node: 'n3', step: 'moving 3 partitions off n3 (orders/1, orders/2, orders/3)' }],
  nodeDeadAfterMs: 0,
};

const TOPIC: TopicDescription = {
  name: 'orders',
  replicationFactor: 3,
  config: DEFAULT_TOPIC_CONFIG,
  partitions: [
    { partitionId: 0, leader: 'n1', leaderTerm: 2, replicas: ['n1', 'n2', 'n4'] },
    { partitionId: 1, leader: 'n2', leaderTerm: 2, replicas: ['n2', 'n3', 'n4'] },
    { partitionId: 2, leader: 'n4', leaderTerm: 2, replicas: ['n4', 'n1', 'n3'] },
    { partitionId: 3, leader: null, leaderTerm: 0, replicas: ['n3', 'n1', 'n2'] },
    { partitionId: 4, leader: 'n1', leaderTerm: 2, replicas: ['n1', 'n2', 'n4'] },
  ],
};

describe('nodeProgress', () => {
  it("lists the partitions whose target or group holds the node, each with its leader's view and what blocks it", () => {
    const answers = [
      answer('n1', [
        group('orders/0', { leader: 'n1', voters: ['n1', 'n2', 'n3'], learners: ['n4'], move: 'waiting: learner n4 is catching up (1200 of 5000)' }),
        group('orders/4', { leader: 'n1', voters: ['n1', 'n2', 'n4'], learners: [] }),
      ], CONTROLLER),
      answer('n2', [group('orders/1', { leader: 'n2', voters: ['n2', 'n3', 'n4'], learners: [] })]),
      answer('n3', []),
      answer('n4', [group('orders/2', { leader: 'n4', voters: ['n4', 'n1', 'n3'], learners: [] })]),
    ];
    const p = nodeProgress('n3', answers, [TOPIC]);
    expect(p).toMatchObject({ node: 'n3', state: 'decommissioning', up: true, meta: 'voter', step: 'moving 3 partitions off n3 (orders/1, orders/2, orders/3)', movesRunning: 1 });
    expect(p.partitions).toEqual([
      { partition: 'orders/0', target: ['n1', 'n2', 'n4'], leader: 'n1', voters: ['n1', 'n2', 'n3'], learners: ['n4'], move: 'waiting: learner n4 is catching up (1200 of 5000)', blockedBy: 'learner n4 is catching up (1200 of 5000)' },
      { partition: 'orders/1', target: ['n2', 'n3', 'n4'], leader: 'n2', voters: ['n2', 'n3', 'n4'], learners: [], blockedBy: 'waiting for a move slot (1 move running)' },
      { partition: 'orders/2', target: ['n4', 'n1', 'n3'], leader: 'n4', voters: ['n4', 'n1', 'n3'], learners: [], blockedBy: 'waiting for a move slot (1 move running)' },
      { partition: 'orders/3', target: ['n3', 'n1', 'n2'], leader: null, blockedBy: 'no leader answers' },
    ]);
  });

  it('says which node is down when a learner that should catch up does not answer, and marks what the controller cannot do as stuck', () => {
    const controller: ControllerStatus = { ...CONTROLLER, blocked: [{ topic: 'orders', partition: 1, why: 'orders/1 has no live majority (n2, n4 are down of n2, n3, n4): it has no leader to move it; start those nodes again' }] };
    const answers = [
      answer('n1', [group('orders/0', { leader: 'n1', voters: ['n1', 'n2', 'n3'], learners: ['n4'], move: 'waiting: learner n4 is catching up (0 of 5000)' })], controller),
      down('n2'),
      answer('n3', []),
      down('n4'),
    ];
    const p = nodeProgress('n3', answers, [TOPIC]);
    expect(p.partitions.find((x) => x.partition === 'orders/0')?.blockedBy).toBe('n4 is down');
    expect(p.partitions.find((x) => x.partition === 'orders/1')).toMatchObject({ stuck: true, blockedBy: expect.stringMatching(/no live majority/) });
    expect(p.partitions.find((x) => x.partition === 'orders/3')?.blockedBy).toBe('no leader answers (n2 is down)');
  });

  it('without the controller, says the state is unknown', () => {
    const p = nodeProgress('n3', [answer('n1', []), down('n2')], [TOPIC]);
    expect(p).toMatchObject({ state: 'unknown', meta: 'unknown' });
    expect(p.movesRunning).toBeUndefined();
  });

  it('a node done leaving is listed with no partition', () => {
    const controller: ControllerStatus = { ...CONTROLLER, nodes: CONTROLLER.nodes.map((n) => (n.id === 'n3' ? { ...n, state: 'decommissioned', meta: 'none' } : n)), decommissions: [], moving: [] };
    const topic: TopicDescription = { ...TOPIC, partitions: TOPIC.partitions.map((p) => ({ ...p, replicas: ['n1', 'n2', 'n4'] })) };
    const p = nodeProgress('n3', [answer('n1', [], controller), answer('n3', [])], [topic]);
    expect(p).toEqual({ node: 'n3', state: 'decommissioned', up: true, meta: 'none', movesRunning: 0, partitions: [] });
  });
});
