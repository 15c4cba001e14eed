/**
 * kafkajs 2.2.4, unchanged, against a 3-node cluster's Kafka listeners: admin, an idempotent
 * producer with acks -1, consumers in groups.
 */
import { Readable } from 'node:stream';
import { ConfigResourceTypes, Kafka, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/program.js';
import { eventually, type TestCluster } from '../cluster/helpers.js';
import { startKafkaCluster } from './helpers.js';

describe('kafkajs against the Kafka listener', () => {
  let t: TestCluster;
  let kafka: Kafka;

  beforeAll(async () => {
    t = await startKafkaCluster(3);
    kafka = new Kafka({ clientId: 'kafkajs-test', brokers: t.cluster.kafkaBrokers, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  });
  afterAll(async () => t?.close());

  it('creates a topic, produces with acks -1 and idempotence, and consumes it in a group with eachMessage, keys and headers intact', async () => {
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: 'kjs-orders', numPartitions: 3 }] })).toBe(true);
    // Already there: kafkajs reads TOPIC_ALREADY_EXISTS as false.
    expect(await admin.createTopics({ topics: [{ topic: 'kjs-orders', numPartitions: 3 }] })).toBe(false);
    const [meta] = (await admin.fetchTopicMetadata({ topics: ['kjs-orders'] })).topics;
    expect(meta!.partitions.map((p) => p.replicas.length)).toEqual([3, 3, 3]);
    await admin.disconnect();

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 30 }, (_, i) => ({ key: `customer-${i % 5}`, value: `order ${i}`, headers: { seq: String(i) } }));
    const acks = await producer.send({ topic: 'kjs-orders', acks: -1, messages: sent });
    expect(acks.every((a) => a.errorCode === 0)).toBe(true);
    await producer.disconnect();

    const got = await consumeAll(kafka, 'kjs-group', 'kjs-orders', sent.length);
    expect(got.map((m) => m.value).sort()).toEqual(sent.map((m) => m.value).sort());
    for (const m of got) expect(m.headers['seq']).toBe(m.value.slice('order '.length));
    // One key, one partition; offsets dense from 0 within each partition, in the order sent.
    for (const key of new Set(sent.map((m) => m.key))) expect(new Set(got.filter((m) => m.key === key).map((m) => m.partition)).size).toBe(1);
    for (let p = 0; p < 3; p++) {
      const inP = got.filter((m) => m.partition === p).sort((a, b) => Number(a.offset) - Number(b.offset));
      expect(inP.map((m) => m.offset)).toEqual(inP.map((_, i) => String(i)));
      const order = inP.map((m) => Number(m.value.slice('order '.length)));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }

    // The group's offsets were committed: a consumer of the same group starts past them.
    const admin2 = kafka.admin();
    await admin2.connect();
    const [committed] = await admin2.fetchOffsets({ groupId: 'kjs-group', topics: ['kjs-orders'] });
    const high = await admin2.fetchTopicOffsets('kjs-orders');
    expect(committed!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset)).toEqual(high.sort((a, b) => a.partition - b.partition).map((p) => p.high));
    const groups = await admin2.describeGroups(['kjs-group']);
    expect(groups.groups[0]).toMatchObject({ groupId: 'kjs-group', state: 'Empty' });
    await admin2.disconnect();
  });

  it('creates topics with Kafka config names, refuses one it does not support, finds offsets by timestamp, lists groups and deletes topics', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'kjs-configured', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] })).toBe(true);
      const native = t.client.admin();
      const { topics } = await native.describeTopics({ topics: ['kjs-configured'] });
      await native.disconnect();
      expect(topics[0]!.config.retentionMs).toBe(3_600_000);
      await expect(admin.createTopics({ topics: [{ topic: 'kjs-compacted', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] })).rejects.toThrow();
      expect(await admin.listTopics()).not.toContain('kjs-compacted');

      const producer = kafka.producer();
      await producer.connect();
      const base = 1_800_000_000_000;
      await producer.send({ topic: 'kjs-configured', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `at ${i}`, timestamp: String(base + i * 1000) })) });
      await producer.disconnect();
      expect(await admin.fetchTopicOffsetsByTimestamp('kjs-configured', base + 3500)).toEqual([{ partition: 0, offset: '4' }]);
      expect(await admin.fetchTopicOffsetsByTimestamp('kjs-configured', base)).toEqual([{ partition: 0, offset: '0' }]);

      expect((await admin.listGroups()).groups).toContainEqual({ groupId: 'kjs-group', protocolType: 'consumer' });
      await admin.deleteTopics({ topics: ['kjs-configured'] });
      expect(await admin.listTopics()).not.toContain('kjs-configured');
    } finally {
      await admin.disconnect();
    }
  });

  it("admin grows a topic, describes and alters its configs (the native CLI agrees), and deletes an empty group but not an active one", async () => {
    const admin = kafka.admin();
    await admin.connect();
    const active = kafka.consumer({ groupId: 'kjs-admin-active', maxWaitTimeInMs: 100, heartbeatInterval: 300 });
    try {
      await admin.createTopics({ topics: [{ topic: 'kjs-admin', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });

      // CreatePartitions: three partitions, the new ones take records; shrinking is INVALID_PARTITIONS.
      await admin.createPartitions({ topicPartitions: [{ topic: 'kjs-admin', count: 3 }] });
      await admin.createPartitions({ validateOnly: true, topicPartitions: [{ topic: 'kjs-admin', count: 5 }] });
      const [meta] = (await admin.fetchTopicMetadata({ topics: ['kjs-admin'] })).topics;
      expect(meta!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
      await expect(admin.createPartitions({ topicPartitions: [{ topic: 'kjs-admin', count: 2 }] })).rejects.toMatchObject({ type: 'INVALID_PARTITIONS' });
      await expect(admin.createPartitions({ topicPartitions: [{ topic: 'kjs-nosuch', count: 2 }] })).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });
      const producer = kafka.producer();
      await producer.connect();
      const [sent] = await producer.send({ topic: 'kjs-admin', acks: -1, messages: [{ value: 'on a new partition', partition: 2 }] });
      await producer.disconnect();
      expect(sent).toMatchObject({ partition: 2, errorCode: 0, baseOffset: '0' });

      // DescribeConfigs: retention.ms as created, set by the topic; the others the defaults.
      const configOf = async (): Promise<Map<string, { configValue: string; isDefault: boolean; readOnly: boolean; configSource: number }>> => {
        const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-admin' }], includeSynonyms: false });
        expect(resources).toHaveLength(1);
        expect(resources[0]).toMatchObject({ errorCode: 0, resourceName: 'kjs-admin', resourceType: ConfigResourceTypes.TOPIC });
        return new Map(resources[0]!.configEntries.map((e) => [e.configName, e]));
      };
      const before = await configOf();
      expect(before.get('retention.ms')).toMatchObject({ configValue: '7200000', isDefault: false, readOnly: false, configSource: 1 });
      expect(before.get('segment.bytes')).toMatchObject({ configValue: String(64 * 1024 * 1024), isDefault: true, configSource: 5 });
      expect([...before.keys()]).toEqual(expect.arrayContaining(['retention.ms', 'retention.bytes', 'segment.bytes', 'max.message.bytes']));
      await expect(admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-nosuch' }], includeSynonyms: false })).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });

      // AlterConfigs: retention.ms changes, as describeConfigs and the native CLI then say; a bad value is INVALID_CONFIG and changes nothing.
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-admin', configEntries: [{ name: 'retention.ms', value: '60000' }] }] });
      await admin.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-admin', configEntries: [{ name: 'retention.ms', value: '1' }] }] });
      expect((await configOf()).get('retention.ms')).toMatchObject({ configValue: '60000', isDefault: false });
      const described = JSON.parse((await cli(t, ['topics', 'describe', 'kjs-admin', '--json'])).out) as { config: Record<string, number> }[];
      expect(described[0]!.config['retention.ms']).toBe(60_000);
      await expect(admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-admin', configEntries: [{ name: 'segment.bytes', value: '5' }] }] })).rejects.toMatchObject({ type: 'INVALID_CONFIG' });
      expect((await configOf()).get('segment.bytes')).toMatchObject({ configValue: String(64 * 1024 * 1024) });

      // DeleteGroups: a group with only committed offsets goes (ListGroups no longer lists it); one with a member is NON_EMPTY_GROUP; one never seen GROUP_ID_NOT_FOUND.
      await consumeAll(kafka, 'kjs-admin-empty', 'kjs-admin', 1);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain('kjs-admin-empty');
      expect(await admin.deleteGroups(['kjs-admin-empty'])).toEqual([expect.objectContaining({ groupId: 'kjs-admin-empty', errorCode: 0 })]);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain('kjs-admin-empty');
      let joined = false;
      active.on(active.events.GROUP_JOIN, () => void (joined = true));
      await active.connect();
      await active.subscribe({ topic: 'kjs-admin', fromBeginning: true });
      await active.run({ eachMessage: async () => undefined });
      await eventually(() => joined, 20_000, 'the consumer to join kjs-admin-active');
      const refused = (await admin.deleteGroups(['kjs-admin-active', 'kjs-admin-never']).catch((e: unknown) => e)) as { name: string; groups: { groupId: string; errorCode: number }[] };
      expect(refused.name).toBe('KafkaJSDeleteGroupsError');
      expect(refused.groups.map((g) => [g.groupId, g.errorCode])).toEqual([
        ['kjs-admin-active', 68],
        ['kjs-admin-never', 69],
      ]);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain('kjs-admin-active');
    } finally {
      await active.disconnect();
      await admin.disconnect();
    }
  });

  it('two consumers of one group split the partitions, and each gets the records of its own', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kjs-split', numPartitions: 4 }] });
    await admin.disconnect();

    const owned = [new Set<number>(), new Set<number>()];
    const got: { consumer: number; partition: number; value: string }[] = [];
    const consumers: Consumer[] = [];
    for (let c = 0; c < 2; c++) {
      const consumer = kafka.consumer({ groupId: 'kjs-split-group', maxWaitTimeInMs: 100, heartbeatInterval: 300, sessionTimeout: 10_000 });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        owned[c] = new Set(e.payload.memberAssignment['kjs-split'] ?? []);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: 'kjs-split', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ partition, message }: EachMessagePayload) => void got.push({ consumer: c, partition, value: message.value!.toString() }) });
      consumers.push(consumer);
    }
    try {
      // Once the second has joined and the first has rejoined: two disjoint halves of the four.
      await eventually(() => owned[0]!.size === 2 && owned[1]!.size === 2 && [...owned[0]!].every((p) => !owned[1]!.has(p)), 20_000, 'the group to split the partitions 2 and 2');
      const producer = kafka.producer();
      await producer.connect();
      const values = Array.from({ length: 40 }, (_, i) => `split ${i}`);
      await producer.send({ topic: 'kjs-split', acks: -1, messages: values.map((value, i) => ({ value, partition: i % 4 })) });
      await producer.disconnect();
      await eventually(() => got.length >= values.length, 20_000, 'every record to be consumed');
      expect(got.map((g) => g.value).sort()).toEqual([...values].sort());
      for (const g of got) expect(owned[g.consumer]!.has(g.partition), `${g.value} on partition ${g.partition} went to consumer ${g.consumer}`).toBe(true);
    } finally {
      await Promise.all(consumers.map((c) => c.disconnect()));
    }
  });

  it('reads back, once each, every record acknowledged while the leader of its partition is SIGKILLed mid-produce', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kjs-failover', numPartitions: 1, replicationFactor: 3 }] });
    const leaderId = (await admin.fetchTopicMetadata({ topics: ['kjs-failover'] })).topics[0]!.partitions[0]!.leader;
    await admin.disconnect();
    // The node the partition's leader is: its Kafka broker id is the one Metadata named.
    const { brokerId } = await import('../../src/kafka/brokers.js');
    const victim = t.cluster.nodes.find((n) => brokerId(n.id) === leaderId)!;

    // Brokers other than the victim, so the client can bootstrap again once it is gone.
    const client = new Kafka({ clientId: 'kafkajs-failover', brokers: t.cluster.nodes.filter((n) => n !== victim).map((n) => n.kafka!), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const acked: string[] = [];
    let killed = false;
    for (let i = 0; i < 120; i++) {
      const value = `f${i}`;
      try {
        await producer.send({ topic: 'kjs-failover', acks: -1, messages: [{ value }] });
        acked.push(value);
      } catch {
        // Not acknowledged: it may or may not be there, but at most once.
      }
      if (i === 40) {
        await t.cluster.kill(victim.id, 'SIGKILL');
        killed = true;
      }
    }
    await producer.disconnect();
    expect(killed).toBe(true);
    // The client found the new leader by itself: nearly every send after the kill was acknowledged.
    expect(acked.length).toBeGreaterThan(100);
    const after = client.admin();
    await after.connect();
    const newLeader = (await after.fetchTopicMetadata({ topics: ['kjs-failover'] })).topics[0]!.partitions[0]!.leader;
    await after.disconnect();
    expect(newLeader).not.toBe(leaderId);
    expect(t.cluster.nodes.map((n) => brokerId(n.id))).toContain(newLeader);

    const got = await consumeAll(client, 'kjs-failover-group', 'kjs-failover', acked.length, (m) => m.value.startsWith('f'));
    const values = got.map((m) => m.value);
    expect(new Set(values).size, 'no record is read twice').toBe(values.length);
    for (const v of acked) expect(values).toContain(v);
    // Acknowledged in order, read in order.
    const order = values.filter((v) => acked.includes(v));
    expect(order).toEqual(acked);
  });
});

/** The native CLI against the cluster's own listeners. */
async function cli(t: TestCluster, argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...argv], {
    out: (x) => void out.push(x),
    err: (x) => void err.push(x),
    stdin: Readable.from(['']),
    env: { RAFTLOG_BROKERS: t.cluster.brokers.join(',') },
    clientOptions: { retry: { retries: 10, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 } },
  });
  return { code, out: out.join(''), err: err.join('') };
}

interface Got {
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** Consumes `topic` in group `groupId` from the beginning until `count` records have come (and a moment more, to see any extra), then leaves. */
async function consumeAll(kafka: Kafka, groupId: string, topic: string, count: number, keep: (m: Got) => boolean = () => true): Promise<Got[]> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: Got[] = [];
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const m: Got = {
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
      };
      if (keep(m)) got.push(m);
    },
  });
  try {
    await eventually(() => got.length >= count, 30_000, `${count} records of ${topic}`);
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await consumer.disconnect();
  }
  return got;
}
