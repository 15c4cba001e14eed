/**
 * Nodes joining a running cluster (issue 20 §2, src/node/join.ts): a node started with --join on
 * an empty folder is recorded by the controller, dialled by every node, made a metadata learner
 * and then a voter, and becomes a placement target; a replica moves onto it while producers
 * write; it restarts from its own metadata; a dead node is replaced under its old id on an empty
 * folder and rejoins. A node without the cluster's secret is refused for good.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../chaos/cluster.js';
import { askToJoin } from '../../src/node/join.js';
import { eventually, groupOn, keepProducing, leaderOf, readPartition, settledOn, startCluster, type TestCluster } from './helpers.js';

let t: TestCluster | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The metadata group's committed voters and learners, as its leader has them. */
async function metaMembers(tc: TestCluster): Promise<{ voters: string[]; learners: string[] } | null> {
  const leader = await leaderOf(tc, 'meta');
  const g = await groupOn(tc, leader, 'meta');
  if (g?.membershipCommitted !== true) return null;
  return { voters: [...(g.voters ?? [])].sort(), learners: [...(g.learners ?? [])].sort() };
}

describe('a node joins a running cluster', () => {
  it('joins with --join, becomes a metadata voter and a placement target, takes a replica while producers write, and restarts from its own metadata', async () => {
    t = await startCluster(3);
    await t.client.admin().createTopics({ topics: [{ topic: 'before', numPartitions: 1, replicationFactor: 3 }] });
    const writes = keepProducing(t, 'before');
    await sleep(200);

    await t.cluster.join('n4');
    await eventually(async () => (await metaMembers(t!))?.voters.join(',') === 'n1,n2,n3,n4', 20_000, 'n4 to become a voter of the metadata group');
    const n4meta = await groupOn(t, 'n4', 'meta');
    expect(n4meta?.role).toBe('follower');
    const described = await t.client.admin().describeCluster();
    expect(described.nodes.map((b) => b.id).sort()).toEqual(['n1', 'n2', 'n3', 'n4']);

    // A replica of a running partition moves onto it.
    const leader = await leaderOf(t, 'before/0');
    const before = (await groupOn(t, leader, 'before/0'))!.voters!;
    const target = ['n4', ...before.filter((id) => id !== leader)];
    await t.client.admin().reassignPartitions([{ topic: 'before', partition: 0, replicas: target }]);
    await eventually(() => settledOn(t!, 'before/0', target), 30_000, `before/0 to move onto ${target.join(',')}`);
    const acked = await writes.stop();
    const values = (await readPartition(t.client, 'before', 0)).map((m) => m.value!.toString());
    expect(new Set(values).size).toBe(values.length);
    expect(values).toEqual(expect.arrayContaining(acked));

    // New topics are placed on it too, evening out the replicas per node (15 over 4: 3 or 4 each).
    await t.client.admin().createTopics({ topics: [{ topic: 'after', numPartitions: 4, replicationFactor: 3 }] });
    const topics = await t.client.admin().fetchTopicMetadata({ topics: ['before', 'after'] });
    const perNode = new Map<string, number>();
    for (const tp of topics.topics) for (const p of tp.partitions) for (const r of p.replicas) perNode.set(r, (perNode.get(r) ?? 0) + 1);
    expect([...perNode.keys()].sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(Math.max(...perNode.values()) - Math.min(...perNode.values())).toBeLessThanOrEqual(1);

    // Restarted, it starts from its metadata and does not ask to join again.
    await t.cluster.restart('n4');
    await eventually(async () => (await groupOn(t!, 'n4', 'meta'))?.leader !== null, 10_000, 'n4 to hear its metadata leader after a restart');
    expect((await metaMembers(t))?.voters).toEqual(['n1', 'n2', 'n3', 'n4']);
    const producer = t.client.producer();
    await producer.send({ topic: 'before', acks: 'all', messages: [{ value: 'after the restart' }] });
    await producer.disconnect();
    expect((await readPartition(t.client, 'before', 0)).at(-1)!.value!.toString()).toBe('after the restart');
  }, 120_000);

  it('replaces a dead node under its old id on an empty folder: it rejoins, its replicas catch up, and the records are all there', async () => {
    t = await startCluster(3);
    await t.client.admin().createTopics({ topics: [{ topic: 'r', numPartitions: 1, replicationFactor: 3 }] });
    const producer = t.client.producer({ idempotent: true });
    for (let i = 0; i < 50; i++) await producer.send({ topic: 'r', acks: 'all', messages: [{ value: `a${i}` }] });
    await t.cluster.kill('n3');
    for (let i = 0; i < 50; i++) await producer.send({ topic: 'r', acks: 'all', messages: [{ value: `b${i}` }] });

    await t.cluster.replace('n3');
    // Its partition replica rejoins and catches up: the leader shows it caught up and no longer rejoining.
    await eventually(
      async () => {
        const leader = await leaderOf(t!, 'r/0');
        const g = await groupOn(t!, leader, 'r/0');
        const r3 = g?.replicas.find((r) => r.id === 'n3');
        return r3 !== undefined && r3.rejoining !== true && r3.match >= g!.commit;
      },
      30_000,
      'the new n3 to catch up on r/0',
    );
    const s3 = await t.cluster.status('n3');
    expect(s3.incarnation).not.toBeUndefined();
    // With n1 down, n2 and the new n3 hold a majority: everything acknowledged is still there.
    await t.cluster.kill('n1');
    await producer.send({ topic: 'r', acks: 'all', messages: [{ value: 'c' }] });
    await producer.disconnect();
    const values = (await readPartition(t.client, 'r', 0)).map((m) => m.value!.toString());
    expect(values).toEqual([...Array.from({ length: 50 }, (_, i) => `a${i}`), ...Array.from({ length: 50 }, (_, i) => `b${i}`), 'c']);
  }, 120_000);

  it('refuses a node that does not know the secret, for good', async () => {
    t = await startCluster(3);
    const r = await askToJoin(t.cluster.brokers[0]!, { self: 'n9', address: '127.0.0.1:1', inc: 'x', secret: 'not the secret' });
    expect(r.kind).toBe('refused');
    expect(r.kind === 'refused' && r.retriable).toBe(false);
    expect((await t.cluster.status('n1')).peers.map((p) => p.id)).not.toContain('n9');
  }, 60_000);
});
