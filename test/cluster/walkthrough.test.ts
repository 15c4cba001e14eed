/**
 * Issue 20's "done when", as a user would do it with `cluster.js` itself: three nodes, a fourth
 * joined with --join, a topic moved onto it, then n1 decommissioned while producers send; every
 * acknowledged record is read back exactly once, and n1 holds nothing and votes in no group.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../chaos/cluster.js';
import { controllerStatus, eventually, groupOn, keepProducing, readPartition, settledOn, startCluster, type TestCluster } from './helpers.js';

let t: TestCluster | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('growing and shrinking a cluster under load', () => {
  it('joins n4, moves a topic onto it, decommissions n1 while producers send, and every acknowledged record is read back once', async () => {
    t = await startCluster(3, [], 'production');
    const topic = 'orders';
    await t.client.admin().createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }] });
    const writers = [keepProducing(t, topic, 'a'), keepProducing(t, topic, 'b')];

    await t.cluster.join('n4');
    await eventually(async () => (await t!.client.admin().describeCluster()).nodes.some((n) => n.id === 'n4'), 20_000, 'n4 to be recorded');
    // Partition 0 moves onto n4, off n1.
    await t.client.admin().reassignPartitions([{ topic, partition: 0, replicas: ['n4', 'n2', 'n3'] }]);
    await eventually(() => settledOn(t!, `${topic}/0`, ['n4', 'n2', 'n3']), 30_000, `${topic}/0 to move onto n4`);

    await t.client.admin().decommissionNode('n1');
    await eventually(async () => (await controllerStatus(t!))?.nodes.find((n) => n.id === 'n1')?.state === 'decommissioned', 60_000, 'n1 to be decommissioned');
    await sleep(300);
    const acked = (await Promise.all(writers.map((w) => w.stop()))).flat();

    // Told by its peers, n1 stops by itself: the end of a decommission. No group names it any more.
    await eventually(async () => t!.cluster.node('n1').exit !== null, 30_000, 'n1 to stop by itself');
    expect(t.cluster.node('n1').exit).toMatch(/^code 0: .*n1 was decommissioned/);
    for (let p = 0; p < 3; p++) {
      const g = await groupOn(t, 'n2', `${topic}/${p}`);
      expect(g).toBeDefined();
      expect([...(g?.voters ?? []), ...(g?.learners ?? [])]).not.toContain('n1');
    }
    const meta = await groupOn(t, 'n2', 'meta');
    expect([...(meta?.voters ?? []), ...(meta?.learners ?? [])]).not.toContain('n1');
    const values: string[] = [];
    for (let p = 0; p < 3; p++) values.push(...(await readPartition(t.client, topic, p)).map((m) => m.value!.toString()));
    expect(acked.length).toBeGreaterThan(20);
    expect(new Set(values).size).toBe(values.length);
    expect([...values].sort()).toEqual([...acked].sort());
  }, 150_000);
});
