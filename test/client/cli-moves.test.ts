/**
 * The CLI commands that start replica moves, against the fake broker: `nodes decommission`,
 * `topics alter --replication-factor`, `partitions rebalance`. What each sends to the controller,
 * what it prints (text and --json), and the option checks made before anything is sent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-broker.js';
import { runCli } from './helpers.js';

let cluster: FakeCluster;
beforeEach(async () => {
  cluster = await FakeCluster.start({ nodes: 4 });
});
afterEach(async () => {
  await cluster.stop();
});

const cli = (args: string): ReturnType<typeof runCli> => runCli(cluster, args);

describe('raftlog nodes recommission', () => {
  it('asks the controller to stop the decommission, and says what stays where', async () => {
    cluster.createTopic('orders', 4, 3);
    await cli('nodes decommission n3');
    const r = await cli('nodes recommission n3');
    expect(r.code).toBe(0);
    expect(r.out).toContain('n3 is an active node: it holds 3 replicas and takes new ones. Replicas already moved off it stay where they are; to spread them again: raftlog partitions rebalance');
    expect(cluster.requestsOf('recommissionNode').map((x) => x.request)).toMatchObject([{ node: 'n3' }]);
    expect(cluster.decommissioning.has('n3')).toBe(false);
    expect(JSON.parse((await cli('nodes recommission n3 --json')).out)).toEqual({ node: 'n3', state: 'active', partitions: 3 });
    const unknown = await cli('nodes recommission n9');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("'n9' is not a node of this cluster");
  });
});

describe('raftlog nodes decommission', () => {
  it('asks the controller, says how many partitions move and how to watch', async () => {
    cluster.createTopic('orders', 4, 3);
    const r = await cli('nodes decommission n3 --max-moves 3');
    expect(r.code).toBe(0);
    expect(r.out).toContain('decommissioning n3: 3 partitions to move off it, 3 at once; then it leaves the metadata group');
    expect(r.out).toContain('Watch it with: raftlog nodes status n3');
    expect(cluster.requestsOf('decommissionNode').map((x) => x.request)).toMatchObject([{ node: 'n3', maxMoves: 3 }]);
    const json = await cli('nodes decommission n3 --json');
    expect(JSON.parse(json.out)).toEqual({ node: 'n3', state: 'decommissioning', partitions: 3 });
  });

  it('prints what the controller refused, and checks --max-moves before sending anything', async () => {
    const unknown = await cli('nodes decommission n9');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("'n9' is not a node of this cluster");
    const bad = await cli('nodes decommission n3 --max-moves 65');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('--max-moves is at most 64');
    const zero = await cli('nodes decommission n3 --max-moves 0');
    expect(zero.err).toContain('--max-moves must be an integer of at least 1');
    expect(cluster.requestsOf('decommissionNode')).toHaveLength(1);
  });
});

describe('raftlog topics alter', () => {
  it('sets the replication factor and says what moves', async () => {
    cluster.createTopic('orders', 2, 1);
    const r = await cli('topics alter orders --replication-factor 3 --max-moves 1');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('replication factor of orders: 1 -> 3; 2 partitions to move');
    expect(cluster.requestsOf('alterReplicationFactor').map((x) => x.request)).toMatchObject([{ topic: 'orders', replicationFactor: 3, maxMoves: 1 }]);
    expect(JSON.parse((await cli('topics alter orders --replication-factor 3 --json')).out)).toEqual({ topic: 'orders', previous: 3, replicationFactor: 3, partitions: 2 });
  });
});

describe('raftlog partitions rebalance', () => {
  it('--dry-run lists the moves the planner would make and starts nothing; without it, the rebalance starts', async () => {
    // Every replica on n1..n3: n4 holds nothing.
    cluster.createTopic('orders', 3, 3);
    expect((await cli('partitions reassign orders/1 --replicas n2,n3,n1')).code).toBe(0);
    expect((await cli('partitions reassign orders/2 --replicas n3,n1,n2')).code).toBe(0);
    const dry = await cli('partitions rebalance --dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/^a rebalance would make \d+ moves?:/);
    expect(dry.out).toMatch(/orders\/\d+ +\S+ +\S*n4\S* +replica/);
    expect(cluster.requestsOf('rebalancePartitions').map((x) => x.request)).toMatchObject([{ dryRun: true }]);
    const started = await cli('partitions rebalance --max-moves 1');
    expect(started.out).toMatch(/^rebalance started: \d+ moves?, 1 at once:/);
    const json = JSON.parse((await cli('partitions rebalance --json')).out) as { started: boolean; total: number };
    expect(json.started).toBe(true);
  });

  it('says when there is nothing to even out', async () => {
    cluster.createTopic('orders', 4, 3);
    const r = await cli('partitions rebalance');
    expect(r).toEqual({ code: 0, out: 'nothing to rebalance: replicas and preferred leaders are as even as the partitions allow\n', err: '' });
  });
});
