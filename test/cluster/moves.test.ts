/**
 * Moving a partition's replicas on a running cluster (issue 20 §3): the target changes in the
 * metadata (`raftlog partitions reassign`), the partition's leader adds the new replica as a
 * learner, promotes it once caught up, hands over if it leaves itself, and removes the old one;
 * the node it left deletes its replica. Producers go on throughout, and every acknowledged record
 * is read back exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../chaos/cluster.js';
import { eventually, groupOn, keepProducing, leaderOf, readPartition, settledOn, startCluster, type TestCluster } from './helpers.js';

let t: TestCluster | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('moving a partition\'s replicas while producers write', () => {
  it('moves a partition off its leader onto a fourth node: the new replica joins as a learner and takes over, the old one is deleted, and every acknowledged record is read back once', async () => {
    t = await startCluster(4);
    const topic = 'mv';
    await t.client.admin().createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    const leader = await leaderOf(t, `${topic}/0`);
    const before = (await groupOn(t, leader, `${topic}/0`))!.voters!;
    const spare = t.cluster.nodes.map((n) => n.id).find((id) => !before.includes(id))!;
    // The new replica first, as the preferred leader; the old leader leaves.
    const target = [spare, ...before.filter((id) => id !== leader)];
    const writes = keepProducing(t, topic);
    await sleep(300);

    await t.client.admin().reassignPartitions([{ topic, partition: 0, replicas: target }]);
    await eventually(() => settledOn(t!, `${topic}/0`, target), 30_000, `${topic}/0 to move onto ${target.join(',')}`);
    await sleep(300);
    const acked = await writes.stop();

    expect(await groupOn(t, leader, `${topic}/0`)).toBeUndefined();
    expect(acked.length).toBeGreaterThan(10);
    const values = (await readPartition(t.client, topic, 0)).map((m) => m.value!.toString());
    expect(new Set(values).size).toBe(values.length);
    expect(values).toEqual(expect.arrayContaining(acked));
  }, 90_000);

  it('raising a partition\'s replication factor by reassignment adds the replica and keeps the others', async () => {
    t = await startCluster(4);
    const topic = 'rf';
    await t.client.admin().createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    const leader = await leaderOf(t, `${topic}/0`);
    const before = (await groupOn(t, leader, `${topic}/0`))!.voters!;
    const target = [...before, t.cluster.nodes.map((n) => n.id).find((id) => !before.includes(id))!];
    const producer = t.client.producer();
    await producer.send({ topic, messages: [{ value: 'before the move' }] });

    await t.client.admin().reassignPartitions([{ topic, partition: 0, replicas: target }]);
    await eventually(() => settledOn(t!, `${topic}/0`, target), 30_000, `${topic}/0 to have replicas ${target.join(',')}`);
    await producer.send({ topic, messages: [{ value: 'after the move' }] });
    await producer.disconnect();

    const values = (await readPartition(t.client, topic, 0)).map((m) => m.value!.toString());
    expect(values).toEqual(['before the move', 'after the move']);
  }, 90_000);
});

describe('a replica removed while its node was down', () => {
  it('is deleted when its node comes back, even when every member it knew has left the group or follows', async () => {
    t = await startCluster(5);
    const topic = 'stray';
    await t.client.admin().createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    const leader = await leaderOf(t, `${topic}/0`);
    const before = (await groupOn(t, leader, `${topic}/0`))!.voters!;
    const down = before.find((id) => id !== leader)!;
    const stays = before.find((id) => id !== leader && id !== down)!;
    const fresh = t.cluster.nodes.map((n) => n.id).filter((id) => !before.includes(id));
    // The new replicas lead (the first is preferred): the replica that stays follows, and the old leader leaves.
    const target = [...fresh, stays];
    const producer = t.client.producer();
    await producer.send({ topic, acks: 'all', messages: [{ value: 'before' }] });
    await t.cluster.kill(down);

    await t.client.admin().reassignPartitions([{ topic, partition: 0, replicas: target }]);
    await eventually(async () => {
      const g = await groupOn(t!, await leaderOf(t!, `${topic}/0`), `${topic}/0`);
      return g?.membershipCommitted === true && [...(g.voters ?? [])].sort().join(',') === [...target].sort().join(',');
    }, 30_000, `${topic}/0 to move onto ${target.join(',')}`);
    await t.cluster.restart(down);
    await eventually(() => settledOn(t!, `${topic}/0`, target), 30_000, `the replica on ${down} to be deleted`);
    await producer.send({ topic, acks: 'all', messages: [{ value: 'after' }] });
    await producer.disconnect();
    expect((await readPartition(t.client, topic, 0)).map((m) => m.value!.toString())).toEqual(['before', 'after']);
  }, 90_000);
});
