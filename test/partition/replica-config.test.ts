/**
 * A replica's first configuration is part of the replica: written when it is created, read back
 * on every open, whatever the node passes then. Found by a chaos run: a partition reassigned to
 * the same replicas in another order is marked moved, and each replica restarted afterwards was
 * opened as a joining learner; with no configuration entry in the log to say otherwise, every
 * replica took itself for a learner, none campaigned, and the partition had no leader for good.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { simulatedNode, soloTopic, type SimulatedNode } from './harness.js';

let node: SimulatedNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

describe('a replica\'s first configuration', () => {
  it('is the one it was created with after a restart, not the one the node passes then', async () => {
    node = simulatedNode();
    const topic = soloTopic('t', 't1', 1, {}, 'n1');
    const three = { ...topic, assignments: [['n1', 'n2', 'n3']] };
    const first = node.openReplica({ topic: three });
    expect(first.group.raft.membership).toEqual({ voters: ['n1', 'n2', 'n3'], learners: [] });
    await first.close();

    // What the node passes for a partition that was reassigned (here to the same replicas): a joining learner.
    const again = node.openReplica({ topic: three, membership: { voters: ['n2', 'n3'], learners: ['n1'] } });
    expect(again.group.raft.membership).toEqual({ voters: ['n1', 'n2', 'n3'], learners: [] });
    await again.close();
  });

  it('of a replica added to a running group is the joining one, until its leader tells it the group\'s', async () => {
    node = simulatedNode();
    const topic = { ...soloTopic('t', 't1', 1, {}, 'n1'), assignments: [['n2', 'n3', 'n1']] };
    const joining = node.openReplica({ topic, membership: { voters: ['n2', 'n3'], learners: ['n1'] } });
    expect(joining.group.raft.membership).toEqual({ voters: ['n2', 'n3'], learners: ['n1'] });
    await joining.close();
    const again = node.openReplica({ topic });
    expect(again.group.raft.membership).toEqual({ voters: ['n2', 'n3'], learners: ['n1'] });
    await again.close();
  });
});
