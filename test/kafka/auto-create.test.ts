/**
 * Topic auto-creation (`--auto-create-topics`, Kafka's auto.create.topics.enable) with real
 * clients: producing to a topic that does not exist creates it with the defaults, through any
 * node (one that is not the controller asks the controller). Off, an unknown topic stays unknown
 * (listener.test.ts: UNKNOWN_TOPIC_OR_PARTITION).
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerId } from '../../src/kafka/brokers.js';
import type { TestCluster } from '../cluster/helpers.js';
import { kcat, startKafkaCluster } from './helpers.js';

describe('topic auto-creation on the Kafka listener', () => {
  let t: TestCluster;
  /** The Kafka address of a node that is not the controller. */
  let follower: string;

  beforeAll(async () => {
    t = await startKafkaCluster(3, ['--auto-create-topics']);
    const admin = new Kafka({ brokers: t.cluster.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const { controller } = await admin.describeCluster();
    await admin.disconnect();
    follower = t.cluster.nodes.find((n) => brokerId(n.id) !== controller)!.kafka!;
  });
  afterAll(async () => t?.close());

  it('a kafkajs producer that knows only a node other than the controller creates a new topic by producing to it, with 1 partition and 3 replicas', async () => {
    const kafka = new Kafka({ clientId: 'auto-create', brokers: [follower], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const acks = await producer.send({ topic: 'auto-kjs', acks: -1, messages: [{ value: 'first' }, { value: 'second' }] });
    await producer.disconnect();
    expect(acks).toMatchObject([{ topicName: 'auto-kjs', partition: 0, errorCode: 0, baseOffset: '0' }]);

    const admin = kafka.admin();
    await admin.connect();
    try {
      const [meta] = (await admin.fetchTopicMetadata({ topics: ['auto-kjs'] })).topics;
      expect(meta!.partitions).toHaveLength(1);
      expect(meta!.partitions[0]!.replicas).toHaveLength(3);
      expect(await admin.fetchTopicOffsets('auto-kjs')).toMatchObject([{ partition: 0, low: '0', high: '2' }]);
    } finally {
      await admin.disconnect();
    }
  });

  it('kcat -P creates a new topic, and kcat -C reads it back', async () => {
    await kcat(['-P', '-b', follower, '-t', 'auto-kcat', '-K:', '-X', 'acks=all'], 'k1:one\nk2:two\n');
    const out = await kcat(['-C', '-b', follower, '-t', 'auto-kcat', '-o', 'beginning', '-e', '-q', '-f', '%k=%s\\n']);
    expect(out.trim().split('\n')).toEqual(['k1=one', 'k2=two']);
    const native = t.client.admin();
    const { topics } = await native.describeTopics({ topics: ['auto-kcat'] });
    await native.disconnect();
    expect(topics[0]!.partitions).toHaveLength(1);
  });

  it('a Metadata request that does not allow auto-creation creates nothing', async () => {
    const kafka = new Kafka({ brokers: [follower], logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // kafkajs's admin asks Metadata with allow_auto_topic_creation false.
      await expect(admin.fetchTopicMetadata({ topics: ['auto-never'] })).rejects.toThrow(/does not host this topic-partition|UNKNOWN_TOPIC/i);
      expect(await admin.listTopics()).not.toContain('auto-never');
    } finally {
      await admin.disconnect();
    }
  });
});
