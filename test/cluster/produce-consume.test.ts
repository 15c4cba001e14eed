import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../src/client/partitioner.js';
import { readPartition, startCluster, type TestCluster } from './helpers.js';
import { rawRequest } from './raw.js';

describe('a 3-node cluster: produce and consume', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await startCluster(3);
    const admin = t.client.admin();
    expect(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 4, replicationFactor: 3 }] })).toBe(true);
    await admin.disconnect();
  });
  afterAll(async () => t?.close());

  it("seals the frames between its nodes with ChaCha20-Poly1305, as each node's /status says", async () => {
    for (const id of ['n1', 'n2', 'n3']) {
      const s = await t.cluster.status(id);
      expect(s.peers.map((p) => [p.connected, p.frameMac])).toEqual([
        [true, 'chacha20-poly1305'],
        [true, 'chacha20-poly1305'],
      ]);
    }
  });

  it('keeps keys, values, headers and timestamps, in order within a partition, and puts a key where Kafka would', async () => {
    const producer = t.client.producer();
    const sent = Array.from({ length: 40 }, (_, i) => ({ key: `customer-${i % 7}`, value: `order ${i}`, headers: { source: 'test', seq: String(i) }, timestamp: 1_700_000_000_000 + i }));
    const acks = await producer.send({ topic: 'orders', messages: sent });
    await producer.disconnect();
    expect(acks).toHaveLength(40);
    // Same key, same partition: the one Kafka's murmur2 partitioner picks.
    acks.forEach((a, i) => expect(a.partition).toBe(partitionForKey(Buffer.from(sent[i]!.key), 4)));
    for (let p = 0; p < 4; p++) {
      const got = await readPartition(t.client, 'orders', p);
      const expected = sent.filter((_, i) => acks[i]!.partition === p);
      expect(got.map((m) => m.value?.toString())).toEqual(expected.map((m) => m.value));
      expect(got.map((m) => m.key?.toString())).toEqual(expected.map((m) => m.key));
      expect(got.map((m) => m.headers['seq']?.toString())).toEqual(expected.map((m) => m.headers.seq));
      expect(got.map((m) => m.timestamp)).toEqual(expected.map((m) => String(m.timestamp)));
      // Offsets are dense and match the acknowledgements.
      expect(got.map((m) => m.offset)).toEqual(acks.filter((a) => a.partition === p).map((a) => a.offset));
      got.forEach((m, i) => expect(m.offset).toBe(String(i)));
    }
  });

  it('lists offsets: earliest, latest (the high watermark), and the first record at or after a timestamp', async () => {
    const admin = t.client.admin();
    await admin.createTopics({ topics: [{ topic: 'timed', numPartitions: 1, replicationFactor: 3 }] });
    const producer = t.client.producer();
    const base = 1_800_000_000_000;
    const acks = await producer.send({ topic: 'timed', messages: Array.from({ length: 10 }, (_, i) => ({ value: `at ${i}`, timestamp: base + i * 1000, partition: 0 })) });
    await producer.disconnect();
    const [offsets] = await admin.fetchTopicOffsets('timed');
    expect(offsets).toMatchObject({ partition: 0, low: '0', high: String(acks.length) });
    const raw = await rawRequest(t.cluster.brokers[0]!, { type: 'metadata', topics: ['timed'] });
    const leader = (raw['topics'] as { partitions: { leader: string }[] }[])[0]!.partitions[0]!.leader;
    const listed = await rawRequest(t.cluster.node(leader).address, {
      type: 'listOffsets',
      partitions: [
        { topic: 'timed', partition: 0, spec: { timestamp: base + 3500 } },
        { topic: 'timed', partition: 0, spec: { timestamp: base } },
        { topic: 'timed', partition: 0, spec: { timestamp: base + 60_000 } },
      ],
    });
    expect((listed['partitions'] as { offset: number }[]).map((p) => p.offset)).toEqual([4, 0, -1]);
    await admin.disconnect();
  });

  it("times on each node's /metrics the fdatasyncs that acknowledged writes wait on", async () => {
    const syncRounds = async (): Promise<number[]> =>
      Promise.all(
        t.cluster.nodes.map(async (n) => {
          const text = await (await fetch(`http://${n.address}/metrics`)).text();
          const m = /^raftlog_log_sync_seconds_count\{[^}]*\} (\d+)$/m.exec(text);
          expect(m, `raftlog_log_sync_seconds on ${n.id}`).not.toBeNull();
          return Number(m![1]);
        }),
      );
    const before = await syncRounds();
    const producer = t.client.producer();
    for (let i = 0; i < 5; i++) await producer.send({ topic: 'orders', messages: [{ key: 'synced', value: `write ${i}` }] });
    await producer.disconnect();
    const after = await syncRounds();
    // Each acknowledged write waited for the leader's sync and a follower's: two rounds at least.
    const rounds = after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0);
    expect(rounds).toBeGreaterThanOrEqual(10);
  });

  it('keeps every acknowledged record, at the same offset, across a stop and restart of the whole cluster', async () => {
    const producer = t.client.producer();
    const acks = await producer.send({ topic: 'orders', messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `before restart ${i}` })) });
    await producer.disconnect();
    const before = await Promise.all([0, 1, 2, 3].map((p) => readPartition(t.client, 'orders', p)));
    await t.cluster.stop(true);
    for (const n of t.cluster.nodes) await t.cluster.restart(n.id);
    const after = await Promise.all([0, 1, 2, 3].map((p) => readPartition(t.client, 'orders', p)));
    const view = (ms: typeof before) => ms.map((list) => list.map((m) => `${m.offset}:${m.key?.toString()}:${m.value?.toString()}`));
    expect(view(after)).toEqual(view(before));
    for (const a of acks) {
      const m = after[a.partition]!.find((x) => x.offset === a.offset);
      expect(m?.value?.toString()).toMatch(/^before restart/);
    }
  });
});
