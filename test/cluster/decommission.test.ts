/**
 * Taking nodes out and reshaping placement on a running cluster (issue 20 §2, §3): decommission
 * a node while a producer writes (its replicas move off, it leaves the metadata group, every
 * acknowledged record reads back once), decommission a node that is down, rebalance onto a
 * fourth node that holds nothing, and change a topic's replication factor 1 -> 3 -> 1. The
 * controller does the moves by itself (src/node/placer.ts); the tests only ask and watch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../chaos/cluster.js';
import type { TopicDescription } from '../../src/client/index.js';
import { controllerStatus, eventually, groupOn, keepProducing, readPartition, settledOn, startCluster, type TestCluster } from './helpers.js';

let t: TestCluster | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function describe1(tc: TestCluster, topic: string): Promise<TopicDescription> {
  const admin = tc.client.admin();
  try {
    return (await admin.describeTopics({ topics: [topic] })).topics[0]!;
  } finally {
    await admin.disconnect();
  }
}

/** Every partition of `topic` has settled on its target replicas (as the metadata has them), and those name none of `gone`. */
async function topicSettled(tc: TestCluster, topic: string, gone: readonly string[] = []): Promise<boolean> {
  const d = await describe1(tc, topic);
  for (const p of d.partitions) {
    if (p.replicas.some((id) => gone.includes(id))) return false;
    if (!(await settledOn(tc, `${topic}/${p.partitionId}`, p.replicas))) return false;
  }
  return true;
}

/** Every record of every partition of `topic`, as values. */
async function readTopic(tc: TestCluster, topic: string, partitions: number): Promise<string[]> {
  const values: string[] = [];
  for (let p = 0; p < partitions; p++) values.push(...(await readPartition(tc.client, topic, p)).map((m) => m.value!.toString()));
  return values;
}

/** `node` is recorded as decommissioned and is in the metadata group's configuration neither as voter nor learner. */
async function decommissioned(tc: TestCluster, node: string): Promise<boolean> {
  const c = await controllerStatus(tc);
  const n = c?.nodes.find((x) => x.id === node);
  return n?.state === 'decommissioned' && n.meta === 'none';
}

describe('decommissioning a node', () => {
  it('moves every replica off the controller itself while a producer writes, then takes it out of the metadata group; every acknowledged record reads back once', async () => {
    t = await startCluster(4);
    const topic = 'dc';
    await t.client.admin().createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 3 }] });
    // The controller drains itself, removes itself from the metadata group and steps down; the next one records it.
    const leaving = (await t.cluster.status('n1')).groups.find((g) => g.group === 'meta')!.leader!;
    expect((await describe1(t, topic)).partitions.filter((p) => p.replicas.includes(leaving)).length).toBeGreaterThan(0);
    const writes = keepProducing(t, topic);
    await sleep(300);

    const r = await t.client.admin().decommissionNode(leaving, { maxMoves: 2 });
    expect(r).toMatchObject({ node: leaving, state: 'decommissioning' });
    expect(r.partitions).toBeGreaterThan(0);
    await eventually(() => decommissioned(t!, leaving), 60_000, `${leaving} to be decommissioned`);
    await sleep(300);
    const acked = await writes.stop();

    expect(await topicSettled(t, topic, [leaving])).toBe(true);
    // Told by its peers, the node that left stops by itself (exit 0, the end of a decommission).
    await eventually(async () => t!.cluster.node(leaving).exit !== null, 30_000, `${leaving} to stop by itself`);
    expect(t.cluster.node(leaving).exit).toMatch(/^code 0: /);
    const controller = (await t.cluster.status(['n1', 'n2', 'n3', 'n4'].find((id) => id !== leaving)!)).groups.find((g) => g.group === 'meta')!.leader!;
    expect(controller).not.toBe(leaving);
    expect((await groupOn(t, controller, 'meta'))!.voters).not.toContain(leaving);
    expect(acked.length).toBeGreaterThan(10);
    const values = await readTopic(t, topic, 4);
    expect(new Set(values).size).toBe(values.length);
    expect(values).toEqual(expect.arrayContaining(acked));
    // A node that left takes no new replicas, and stays out of the metadata group (seconds later).
    await t.client.admin().createTopics({ topics: [{ topic: 'after', numPartitions: 4, replicationFactor: 3 }] });
    expect((await describe1(t, 'after')).partitions.flatMap((p) => p.replicas)).not.toContain(leaving);
    expect(await decommissioned(t, leaving)).toBe(true);
  }, 120_000);

  it('works for a node that is down: its replicas are rebuilt on the others from the replicas left, and it leaves the metadata group', async () => {
    t = await startCluster(4);
    const topic = 'down';
    await t.client.admin().createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }] });
    const producer = t.client.producer();
    for (let p = 0; p < 3; p++) await producer.send({ topic, messages: [{ value: `before ${p}`, partition: p }] });
    const victim = 'n2';
    await t.cluster.kill(victim);

    await t.client.admin().decommissionNode(victim);
    await eventually(() => decommissioned(t!, victim), 60_000, `${victim} to be decommissioned`);
    expect(await topicSettled(t, topic, [victim])).toBe(true);
    await producer.send({ topic, messages: [{ value: 'after' }] });
    await producer.disconnect();
    const values = await readTopic(t, topic, 3);
    expect(values.sort()).toEqual(['after', 'before 0', 'before 1', 'before 2']);

    // Started again on its old folder, it has not heard of its decommission: its metadata says it
    // is a voter of groups that moved on. Its peers tell it, and it stops by itself; from then on
    // its folder refuses to start, saying what to do.
    await t.cluster.restart(victim).catch(() => undefined);
    await eventually(async () => t!.cluster.node(victim).exit !== null, 30_000, `${victim} to be told it was decommissioned and stop`);
    expect(t.cluster.node(victim).exit).toMatch(/^code 0: /);
    const again = (await t.cluster.restart(victim).catch((e: unknown) => e)) as Error;
    expect(again).toBeInstanceOf(Error);
    expect(again.message).toMatch(/code 2: raftlog: node n2 was decommissioned from cluster \S+ \(n\d said so at [^)]+\): it holds no replica and is not a member any more, so it does not run\. To use this machine in the cluster again, move \S+ away and start with an empty --data folder, --join and an id the cluster has not used/);
    // The others never took it back.
    expect(await decommissioned(t, victim)).toBe(true);
  }, 120_000);

  it("goes on after the controller is killed in the middle: the next controller resumes from the metadata", async () => {
    t = await startCluster(4);
    const topic = 'fo';
    await t.client.admin().createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 2 }] });
    const controller = (await t.cluster.status('n1')).groups.find((g) => g.group === 'meta')!.leader!;
    const leaving = ['n1', 'n2', 'n3', 'n4'].find((id) => id !== controller)!;
    const holding = async (): Promise<number> => (await describe1(t!, topic)).partitions.filter((p) => p.replicas.includes(leaving)).length;
    const before = await holding();
    expect(before).toBeGreaterThan(1);

    await t.client.admin().decommissionNode(leaving, { maxMoves: 1 });
    await eventually(async () => (await holding()) < before, 30_000, 'the first move to start');
    await t.cluster.kill(controller);
    await eventually(async () => {
      const c = await controllerStatus(t!);
      return c !== undefined && c.nodes.length > 0;
    }, 20_000, 'another controller');
    // The partitions it held with the old controller need it back to have a majority.
    await t.cluster.restart(controller);
    await eventually(() => decommissioned(t!, leaving), 60_000, `${leaving} to be decommissioned by the next controller`);
    expect(await topicSettled(t, topic, [leaving])).toBe(true);
  }, 120_000);

  it('stops when recommissioned midway: the node stays in the metadata group, keeps the replicas not moved yet, and takes new ones', async () => {
    t = await startCluster(4);
    const topic = 'rc';
    await t.client.admin().createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 2 }] });
    const leaving = 'n3';
    const holding = async (): Promise<number> => (await describe1(t!, topic)).partitions.filter((p) => p.replicas.includes(leaving)).length;
    const before = await holding();
    expect(before).toBeGreaterThan(1);
    await t.client.admin().decommissionNode(leaving, { maxMoves: 1 });
    await eventually(async () => (await holding()) < before, 30_000, 'the first move to start');
    const r = await t.client.admin().recommissionNode(leaving);
    expect(r).toMatchObject({ node: leaving, state: 'active' });
    const kept = await holding();
    await sleep(3000);
    // No move starts off it any more; the node is active and still a metadata member, running.
    // (A placer round already under way when the answer came may have started one more.)
    expect(await holding()).toBeGreaterThanOrEqual(kept - 1);
    expect(await holding()).toBeGreaterThan(0);
    const c = await controllerStatus(t);
    expect(c?.nodes.find((n) => n.id === leaving)).toMatchObject({ state: 'active' });
    expect(c?.nodes.find((n) => n.id === leaving)?.meta).not.toBe('none');
    expect(t.cluster.node(leaving).exit).toBeNull();
    // It takes new replicas again: a topic of replication factor 4 needs every node.
    await t.client.admin().createTopics({ topics: [{ topic: 'all4', numPartitions: 1, replicationFactor: 4 }] });
    expect((await describe1(t, 'all4')).partitions[0]!.replicas).toContain(leaving);
  }, 120_000);

  it('is refused, changing nothing, when the nodes left cannot hold a partition, saying which and what to do', async () => {
    t = await startCluster(3);
    await t.client.admin().createTopics({ topics: [{ topic: 'full', numPartitions: 1, replicationFactor: 3 }] });
    const err = (await t.client.admin().decommissionNode('n3').catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('INVALID_REPLICATION_FACTOR');
    expect(err.message).toMatch(/cannot decommission n3: the 2 nodes left after n3 \(n1, n2\) cannot hold full\/0 \(3 replicas\): add a node first, or lower the replication factor \(raftlog topics alter full --replication-factor 2\)/);
    await eventually(async () => ((await controllerStatus(t!))?.nodes.length ?? 0) > 0, 10_000, "the controller's first round");
    expect((await controllerStatus(t))?.nodes.find((n) => n.id === 'n3')?.state).toBe('active');
  }, 60_000);
});

describe('a node down for longer than --node-dead-after-ms', () => {
  it('has its replicas moved to the other nodes by the controller, and is shown as dead', async () => {
    t = await startCluster(4, ['--node-dead-after-ms', '2000']);
    const topic = 'dead';
    await t.client.admin().createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 3 }] });
    const controller = (await t.cluster.status('n1')).groups.find((g) => g.group === 'meta')!.leader!;
    const victim = ['n4', 'n3'].find((id) => id !== controller)!;
    await t.cluster.kill(victim);
    await eventually(async () => (await controllerStatus(t!))?.nodes.find((n) => n.id === victim)?.dead === true, 20_000, `${victim} to be taken for dead`);
    await eventually(() => topicSettled(t!, topic, [victim]), 60_000, `${victim}'s replicas to move`);
    expect((await controllerStatus(t))?.nodes.find((n) => n.id === victim)).toMatchObject({ state: 'active', live: false, dead: true });
  }, 120_000);
});

describe('rebalancing and replication factor changes', () => {
  it('a rebalance moves replicas onto a fourth node that holds nothing, at most --max-moves at once', async () => {
    t = await startCluster(4);
    await t.cluster.kill('n4');
    const topic = 'rb';
    await t.client.admin().createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 3 }] });
    expect((await describe1(t, topic)).partitions.flatMap((p) => p.replicas)).not.toContain('n4');
    await t.cluster.restart('n4');
    await eventually(async () => (await controllerStatus(t!))?.nodes.find((n) => n.id === 'n4')?.live === true, 20_000, 'n4 to be connected to the controller');

    const r = await t.client.admin().rebalancePartitions({ maxMoves: 1 });
    expect(r.started).toBe(true);
    expect(r.moves.some((m) => m.replicas.includes('n4'))).toBe(true);
    const counts = async (): Promise<number[]> => {
      const replicas = (await describe1(t!, topic)).partitions.flatMap((p) => p.replicas);
      return ['n1', 'n2', 'n3', 'n4'].map((id) => replicas.filter((x) => x === id).length);
    };
    let most = 0;
    await eventually(
      async () => {
        const c = await controllerStatus(t!);
        most = Math.max(most, c?.moving.length ?? 0);
        if (c === undefined || c.rebalance !== undefined) return false;
        return (await counts()).join() === '3,3,3,3' && topicSettled(t!, topic);
      },
      60_000,
      'the rebalance to finish with 3 replicas on each node',
    );
    expect(most).toBeLessThanOrEqual(1);
  }, 120_000);

  it("a topic's replication factor goes 1 -> 3 -> 1 while a producer writes; every acknowledged record reads back once", async () => {
    t = await startCluster(3);
    const topic = 'rf';
    await t.client.admin().createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }] });
    const writes = keepProducing(t, topic);
    await sleep(300);

    const up = await t.client.admin().alterReplicationFactor(topic, 3);
    expect(up).toEqual({ topic, previous: 1, replicationFactor: 3, partitions: 2 });
    await eventually(async () => (await describe1(t!, topic)).partitions.every((p) => p.replicas.length === 3) && topicSettled(t!, topic), 60_000, `${topic} to have 3 replicas`);
    expect((await describe1(t, topic)).replicationFactor).toBe(3);

    await t.client.admin().alterReplicationFactor(topic, 1);
    await eventually(async () => (await describe1(t!, topic)).partitions.every((p) => p.replicas.length === 1) && topicSettled(t!, topic), 60_000, `${topic} to have 1 replica`);
    await sleep(300);
    const acked = await writes.stop();
    expect(acked.length).toBeGreaterThan(10);
    const values = await readTopic(t, topic, 2);
    expect(new Set(values).size).toBe(values.length);
    expect(values).toEqual(expect.arrayContaining(acked));
  }, 120_000);
});
