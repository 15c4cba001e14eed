import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePartitionRef, parseReplicaList } from '../../src/cli/commands/partitions.js';
import { UsageError } from '../../src/cli/errors.js';
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

describe('raftlog CLI: partitions reassign', () => {
  it("sets the partition's replicas, says what changed, that the move runs in the background and how to watch it", async () => {
    cluster.createTopic('orders', 2, 3);
    expect(cluster.partition('orders', 1).replicas).toEqual(['n2', 'n3', 'n4']);

    const r = await cli('partitions reassign orders/1 --replicas n1,n2,n4');

    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const [changed, background, watch] = r.out.split('\n');
    expect(changed).toBe('reassigned orders/1: replicas n2,n3,n4 -> n1,n2,n4 (preferred leader n1)');
    expect(background).toMatch(/^The replicas move in the background/);
    expect(watch).toMatch(/raftlog topics describe orders .*raftlog status/);
    expect(cluster.requestsOf('reassignPartitions').map((x) => x.request.partitions)).toEqual([[{ topic: 'orders', partition: 1, replicas: ['n1', 'n2', 'n4'] }]]);
    expect(cluster.partition('orders', 1).replicas).toEqual(['n1', 'n2', 'n4']);
    expect(cluster.partition('orders', 0).replicas).toEqual(['n1', 'n2', 'n3']);
    const described = await cli('topics describe orders');
    expect(described.out.split('\n')[4]!.split(/\s+/)[3]).toBe('n1,n2,n4');
  });

  it('--json prints the change as one JSON value; setting the same list again says there is nothing to move', async () => {
    cluster.createTopic('orders', 1, 3);
    const r = await cli('partitions reassign orders/0 --replicas n4,n1 --json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ topic: 'orders', partition: 0, previous: ['n1', 'n2', 'n3'], replicas: ['n4', 'n1'], changed: true });
    const again = await cli('partitions reassign orders/0 --replicas n4,n1');
    expect(again).toEqual({ code: 0, out: 'orders/0 already has replicas n4,n1: nothing to move\n', err: '' });
    expect(JSON.parse((await cli('partitions reassign orders/0 --replicas n4,n1 --json')).out)).toMatchObject({ changed: false });
  });

  it('prints what the cluster refused, with its code and what to do, and exits 1', async () => {
    cluster.createTopic('orders', 1, 3);
    const unknown = await cli('partitions reassign orders/0 --replicas n1,n9');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('orders/0: INVALID_REPLICA_ASSIGNMENT');
    expect(unknown.err).toContain("'n9' is not a node of this cluster: name replicas among its nodes (n1, n2, n3, n4)");
    const twice = await cli('partitions reassign orders/0 --replicas n1,n2,n1');
    expect(twice.err).toContain("name node 'n1' more than once");
    const wide = await cli('partitions reassign orders/0 --replicas n1,n2,n3,n4,n5');
    expect(wide.err).toContain('INVALID_REPLICATION_FACTOR');
    const missing = await cli('partitions reassign orders/3 --replicas n1');
    expect(missing.err).toContain('there is no partition 3');
    const noTopic = await cli('partitions reassign nope/0 --replicas n1');
    expect(noTopic.code).toBe(1);
    expect(noTopic.err).toContain('UNKNOWN_TOPIC_OR_PARTITION');
    expect(cluster.partition('orders', 0).replicas).toEqual(['n1', 'n2', 'n3']);
  });

  it('refuses a malformed partition or replica list before asking the cluster (exit 2)', async () => {
    cluster.createTopic('orders', 1, 3);
    for (const args of ['partitions reassign orders --replicas n1', 'partitions reassign orders/x --replicas n1', 'partitions reassign /0 --replicas n1', 'partitions reassign orders/0 --replicas n1,,n2']) {
      const r = await cli(args);
      expect([args, r.code]).toEqual([args, 2]);
      expect(r.err).toMatch(/^raftlog: /);
    }
    const noReplicas = await cli('partitions reassign orders/0');
    expect(noReplicas.code).not.toBe(0);
    expect(noReplicas.err).toContain("required option '--replicas <ids>' not specified");
    expect(cluster.requestsOf('reassignPartitions')).toEqual([]);
  });
});

describe('the arguments of partitions reassign', () => {
  it('TOPIC/PARTITION splits at the last slash, with the topic name rules and the partition limit', () => {
    expect(parsePartitionRef('orders/0')).toEqual({ topic: 'orders', partition: 0 });
    expect(parsePartitionRef('a.b-c_d/17')).toEqual({ topic: 'a.b-c_d', partition: 17 });
    for (const bad of ['orders', 'orders/', '/3', 'orders/-1', 'orders/1.5', 'orders/0x1', 'or/ders/1', '../1', 'orders/10000']) {
      expect(() => parsePartitionRef(bad), bad).toThrow(UsageError);
    }
  });

  it('--replicas is comma-separated node ids, spaces around them dropped, none empty', () => {
    expect(parseReplicaList('n1,n2,n4')).toEqual(['n1', 'n2', 'n4']);
    expect(parseReplicaList(' n1 , n2')).toEqual(['n1', 'n2']);
    for (const bad of ['', 'n1,', ',n1', 'n1,,n2', ' ']) expect(() => parseReplicaList(bad), bad).toThrow(UsageError);
  });
});
