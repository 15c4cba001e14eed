import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, RaftlogError } from '../../src/client/index.js';
import { FakeCluster } from './fake-broker.js';
import { clientFor, eventually } from './helpers.js';

let cluster: FakeCluster;
beforeEach(async () => {
  cluster = await FakeCluster.start();
});
afterEach(async () => {
  await cluster.stop();
});

describe('admin', () => {
  it('creates, lists, describes and deletes topics', async () => {
    const admin = clientFor(cluster).admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: 'a', numPartitions: 3, replicationFactor: 2, configEntries: [{ name: 'retention.ms', value: '1000' }] }] })).toBe(true);
    expect(await admin.createTopics({ topics: [{ topic: 'a' }] })).toBe(false);
    expect(await admin.createTopics({ topics: [{ topic: 'a' }, { topic: 'b' }] })).toBe(true);
    const sent = cluster.requestsOf('createTopics')[0].request;
    expect(sent.topics[0]).toEqual({ name: 'a', partitions: 3, replicationFactor: 2, config: { retentionMs: 1000 } });
    expect(await admin.listTopics()).toEqual(['a', 'b']);
    const { topics } = await admin.describeTopics({ topics: ['a'] });
    expect(topics[0].name).toBe('a');
    expect(topics[0].replicationFactor).toBe(2);
    expect(topics[0].config.retentionMs).toBe(1000);
    expect(topics[0].partitions.map((p) => [p.partitionId, p.leader, p.replicas])).toEqual([
      [0, 'n1', ['n1', 'n2']],
      [1, 'n2', ['n2', 'n3']],
      [2, 'n3', ['n3', 'n1']],
    ]);
    await admin.deleteTopics({ topics: ['a'] });
    expect(await admin.listTopics()).toEqual(['b']);
    const err = await admin.deleteTopics({ topics: ['a'] }).catch((e: unknown) => e);
    expect((err as RaftlogError).code).toBe(ErrorCode.UnknownTopicOrPartition);
    await admin.disconnect();
  });

  // The 20 s limit is the assertion: without the per-node bound the request would wait out its
  // 10-minute request timeout on the silent node.
  it('asks the next node for metadata when the one that answered last goes silent (paused), instead of waiting out the request timeout', { timeout: 20_000 }, async () => {
    const admin = clientFor(cluster, { requestTimeoutMs: 600_000 }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'a' }] });
    expect(cluster.requestsOf('metadata').at(-1)?.node).toBe('n1');
    cluster.inject({ type: 'metadata', node: 'n1', times: 1000, action: { kind: 'drop', apply: false } });

    expect(await admin.listTopics()).toEqual(['a']);
    expect(await admin.listTopics()).toEqual(['a']);
    const asked = cluster.requestsOf('metadata').slice(-3).map((r) => r.node);
    expect(asked).toEqual(['n1', 'n2', 'n2']); // n1 once, then the node that answered first
    await admin.disconnect();
  });

  it('rejects what the cluster refuses, with the code and the topic', async () => {
    const admin = clientFor(cluster).admin();
    const err = await admin.createTopics({ topics: [{ topic: 'wide', replicationFactor: 5 }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftlogError);
    expect((err as RaftlogError).code).toBe(ErrorCode.InvalidReplicationFactor);
    expect((err as RaftlogError).message).toContain("'wide'");
    await expect(admin.createTopics({ topics: [{ topic: 'x', numPartitions: 0 }] })).rejects.toMatchObject({ code: ErrorCode.InvalidPartitions });
    await expect(admin.createTopics({ topics: [{ topic: '..' }] })).rejects.toMatchObject({ code: ErrorCode.InvalidTopic });
    await expect(admin.createTopics({ topics: [{ topic: 'c', configEntries: [{ name: 'colour', value: '1' }] }] })).rejects.toThrow(/unknown topic config 'colour'/);
    await expect(admin.describeTopics({ topics: ['ghost'] })).rejects.toMatchObject({ code: ErrorCode.UnknownTopicOrPartition });
    await admin.disconnect();
  });

  it('sends admin requests to the controller and follows NOT_LEADER to a new one', async () => {
    cluster.controller = 'n3';
    cluster.reportedController = 'n2';
    const admin = clientFor(cluster).admin();
    await admin.createTopics({ topics: [{ topic: 'ctl' }] });
    expect(cluster.requestsOf('createTopics').map((r) => r.node)).toEqual(['n2', 'n3']);
    await admin.disconnect();
  });

  it('reassigns partitions through the controller: describeTopics then shows the new targets; a refused partition rejects with its code, topic and partition', async () => {
    cluster.createTopic('moves', 2, 3);
    cluster.controller = 'n2';
    const admin = clientFor(cluster).admin();
    await admin.reassignPartitions([{ topic: 'moves', partition: 0, replicas: ['n3', 'n1'] }, { topic: 'moves', partition: 1, replicas: ['n2'] }]);
    expect(cluster.requestsOf('reassignPartitions').at(-1)).toMatchObject({ node: 'n2', request: { partitions: [{ topic: 'moves', partition: 0, replicas: ['n3', 'n1'] }, { topic: 'moves', partition: 1, replicas: ['n2'] }] } });
    const { topics } = await admin.describeTopics({ topics: ['moves'] });
    expect(topics[0].partitions.map((p) => p.replicas)).toEqual([['n3', 'n1'], ['n2']]);

    const err = await admin.reassignPartitions([{ topic: 'moves', partition: 0, replicas: ['n1'] }, { topic: 'moves', partition: 1, replicas: ['n7'] }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftlogError);
    expect(err).toMatchObject({ code: ErrorCode.InvalidReplicaAssignment, topic: 'moves', partition: 1, retriable: false });
    expect((err as RaftlogError).message).toContain("'n7' is not a node of this cluster");
    // The partition the cluster took was set; the request is one.
    expect(cluster.partition('moves', 0).replicas).toEqual(['n1']);
    expect(cluster.requestsOf('reassignPartitions')).toHaveLength(2);

    const sent = cluster.requestsOf('reassignPartitions').length;
    await expect(admin.reassignPartitions([])).rejects.toThrow(/name at least one partition/);
    await expect(admin.reassignPartitions([{ topic: '..', partition: 0, replicas: ['n1'] }])).rejects.toMatchObject({ code: ErrorCode.InvalidTopic });
    await expect(admin.reassignPartitions([{ topic: 'moves', partition: -1, replicas: ['n1'] }])).rejects.toThrow(/partition must be an integer/);
    await expect(admin.reassignPartitions([{ topic: 'moves', partition: 0, replicas: [''] }])).rejects.toThrow(/replicas must be a list of node ids/);
    expect(cluster.requestsOf('reassignPartitions')).toHaveLength(sent);
    await admin.disconnect();
  });

  it('retries an admin request that timed out', async () => {
    const admin = clientFor(cluster).admin();
    await admin.connect();
    cluster.inject({ type: 'createTopics', action: { kind: 'drop', apply: false } });
    expect(await admin.createTopics({ topics: [{ topic: 'slow' }], timeoutMs: 100 })).toBe(true);
    expect(cluster.requestsOf('createTopics')).toHaveLength(2);
    await admin.disconnect();
  });

  it('fetches each partition\'s high watermark and log start as strings', async () => {
    cluster.createTopic('offs', 2);
    cluster.append('offs', 0, [{ value: Buffer.from('a') }, { value: Buffer.from('b') }]);
    cluster.append('offs', 0, [{ value: Buffer.from('c') }]);
    cluster.truncateFront('offs', 0, 2);
    const admin = clientFor(cluster).admin();
    expect(await admin.fetchTopicOffsets('offs')).toEqual([
      { partition: 0, offset: '3', high: '3', low: '2' },
      { partition: 1, offset: '0', high: '0', low: '0' },
    ]);
    const nodes = new Set(cluster.requestsOf('listOffsets').map((r) => r.node));
    expect(nodes).toEqual(new Set(['n1', 'n2']));
    await admin.disconnect();
  });

  it('describes the cluster and each node\'s status', async () => {
    cluster.createTopic('st', 1);
    const admin = clientFor(cluster).admin();
    const d = await admin.describeCluster();
    expect(d.controller).toBe('n1');
    expect(d.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    const s = await admin.nodeStatus(d.nodes[0].address);
    expect(s.node).toBe('n1');
    expect(s.groups.map((g) => g.group)).toEqual(['meta', 'st/0']);
    await admin.disconnect();
  });

  it('lists, describes, fetches, resets and deletes consumer groups', async () => {
    cluster.createTopic('gt', 3);
    cluster.append('gt', 0, [{ value: Buffer.from('a') }, { value: Buffer.from('b') }]);
    const client = clientFor(cluster);
    const admin = client.admin();
    const consumer = client.consumer({ groupId: 'ga', heartbeatInterval: 50, sessionTimeout: 1000, maxWaitTimeInMs: 100 });
    consumer.subscribe({ topics: ['gt'], fromBeginning: true });
    let handled = 0;
    await consumer.run({ autoCommitInterval: 50, eachMessage: () => void handled++ });
    await eventually(() => handled === 2 && cluster.coordinator.committed('ga', 'gt', 0) === 2);
    expect(await admin.listGroups()).toEqual({ groups: [{ groupId: 'ga', protocolType: 'consumer', state: 'Stable', members: 1 }] });
    const [d] = (await admin.describeGroups(['ga'])).groups;
    expect(d).toMatchObject({ groupId: 'ga', state: 'Stable', generation: 1, protocolType: 'consumer', protocol: 'sticky', error: null });
    expect(d.members[0]).toMatchObject({ clientId: 'raftlog', subscription: ['gt'], assignment: [{ topic: 'gt', partitions: [0, 1, 2] }] });
    expect(d.leader).toBe(d.members[0].memberId);
    expect(await admin.fetchOffsets({ groupId: 'ga', topics: ['gt'] })).toEqual([
      { topic: 'gt', partitions: [0, 1, 2].map((partition) => ({ partition, offset: partition === 0 ? '2' : '0', metadata: '' })) },
    ]);
    const busy = await admin.resetOffsets({ groupId: 'ga', topic: 'gt', to: 'earliest' }).catch((e: unknown) => e);
    expect((busy as RaftlogError).code).toBe(ErrorCode.GroupNotEmpty);
    expect((busy as RaftlogError).message).toContain('stop its consumers first');
    await expect(admin.deleteGroups(['ga'])).rejects.toMatchObject({ code: ErrorCode.GroupNotEmpty });
    await consumer.disconnect();
    expect(await admin.resetOffsets({ groupId: 'ga', topic: 'gt', to: { offset: 9n } })).toEqual([
      { partition: 0, offset: '2' },
      { partition: 1, offset: '0' },
      { partition: 2, offset: '0' },
    ]);
    const [missing] = (await admin.describeGroups(['nope'])).groups;
    expect(missing.state).toBe('Dead');
    expect(missing.error?.code).toBe(ErrorCode.UnknownGroup);
    await admin.deleteGroups(['ga']);
    expect((await admin.listGroups()).groups).toEqual([]);
    await admin.disconnect();
  });

  it('says which brokers it could not reach', async () => {
    await cluster.stop();
    const admin = clientFor(cluster, { retry: { retries: 1, initialRetryTimeMs: 10, maxRetryTimeMs: 10 } }).admin();
    const err = await admin.listTopics().catch((e: unknown) => e);
    expect((err as RaftlogError).code).toBe('CONNECTION_ERROR');
    expect((err as RaftlogError).message).toContain(`cannot reach any broker at ${cluster.brokers.join(', ')}`);
  });
});
