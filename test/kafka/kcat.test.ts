/**
 * kcat (librdkafka) against a 3-node cluster's Kafka listeners, the native client and the Kafka
 * clients on the same topics, and hostile bytes on a real node's Kafka port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerId } from '../../src/kafka/brokers.js';
import { KafkaReader } from '../../src/kafka/codec/reader.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { readPartition, type TestCluster } from '../cluster/helpers.js';
import { kcat, kcatPath, startKafkaCluster } from './helpers.js';
import { RawClient, request } from './raw.js';

interface KcatMessage {
  readonly partition: number;
  readonly offset: number;
  readonly ts: number;
  readonly key: string | null;
  readonly payload: string | null;
  readonly headers?: readonly string[];
}

/** Every record of `topic` as `kcat -C -o beginning -e -J` prints it, in partition and offset order. */
async function kcatRead(broker: string, topic: string): Promise<KcatMessage[]> {
  const out = await kcat(['-C', '-b', broker, '-t', topic, '-o', 'beginning', '-e', '-J', '-q']);
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as KcatMessage)
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

function port(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

describe('kcat against the Kafka listener', () => {
  let t: TestCluster;
  let broker: string;

  beforeAll(async () => {
    kcatPath();
    t = await startKafkaCluster(3);
    broker = t.cluster.kafkaBrokers[0]!;
    const admin = t.client.admin();
    await admin.createTopics({ topics: [{ topic: 'kc-orders', numPartitions: 3, replicationFactor: 3 }, { topic: 'kc-cross', numPartitions: 2, replicationFactor: 3 }] });
    await admin.disconnect();
  });
  afterAll(async () => {
    // Every node is still up after everything these tests sent (and the cluster is stopped whatever this finds).
    try {
      for (const n of t.cluster.nodes) expect(n.process, `${n.id} exited: ${n.exit}`).not.toBeNull();
    } finally {
      await t?.close();
    }
  });

  it('-L lists every node as a broker at its Kafka address, the controller, and each partition with its leader', async () => {
    const meta = JSON.parse(await kcat(['-L', '-b', broker, '-J'])) as { controllerid: number; brokers: { id: number; name: string }[]; topics: { topic: string; partitions: { partition: number; leader: number; replicas: { id: number }[] }[] }[] };
    expect(meta.brokers.map((b) => b.name).sort()).toEqual([...t.cluster.kafkaBrokers].sort());
    for (const n of t.cluster.nodes) expect(meta.brokers.find((b) => b.name === n.kafka)?.id).toBe(brokerId(n.id));
    expect(meta.brokers.map((b) => b.id)).toContain(meta.controllerid);
    const orders = meta.topics.find((x) => x.topic === 'kc-orders')!;
    expect(orders.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2]);
    for (const p of orders.partitions) {
      expect(p.replicas).toHaveLength(3);
      expect(meta.brokers.map((b) => b.id)).toContain(p.leader);
    }
  });

  it('-P with keys and acks=all, then -C -o beginning -e reads every record back, keyed, in order per partition', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `key-${i % 6}:value ${i}`);
    await kcat(['-P', '-b', broker, '-t', 'kc-orders', '-K:', '-X', 'acks=all'], `${lines.join('\n')}\n`);
    const got = await kcatRead(broker, 'kc-orders');
    expect(got.map((m) => `${m.key}:${m.payload}`).sort()).toEqual([...lines].sort());
    for (let p = 0; p < 3; p++) {
      const inP = got.filter((m) => m.partition === p);
      expect(inP.map((m) => m.offset)).toEqual(inP.map((_, i) => i));
      const order = inP.map((m) => Number(m.payload!.slice('value '.length)));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    // One key, one partition.
    for (let k = 0; k < 6; k++) expect(new Set(got.filter((m) => m.key === `key-${k}`).map((m) => m.partition)).size).toBe(1);
  });

  it('-G consumes the topic in a balanced group and commits: the group\'s next run starts past what it read', async () => {
    const first = await kcat(['-G', 'kc-group', '-b', broker, '-X', 'auto.offset.reset=earliest', '-e', '-J', '-q', 'kc-orders']);
    const read = first.split('\n').filter((l) => l.trim() !== '');
    expect(read).toHaveLength(30);
    await kcat(['-P', '-b', broker, '-t', 'kc-orders', '-K:', '-X', 'acks=all'], 'late:after the first run\n');
    const second = await kcat(['-G', 'kc-group', '-b', broker, '-X', 'auto.offset.reset=earliest', '-e', '-J', '-q', 'kc-orders']);
    expect(second.split('\n').filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as KcatMessage).payload)).toEqual(['after the first run']);
  });

  it('reads with kcat what the raftlog client wrote: keys, headers and timestamps intact', async () => {
    const producer = t.client.producer();
    const sent = Array.from({ length: 12 }, (_, i) => ({ key: `native-${i % 3}`, value: `from raftlog ${i}`, headers: { origin: 'raftlog', seq: String(i) }, timestamp: 1_750_000_000_000 + i * 1000 }));
    await producer.send({ topic: 'kc-cross', messages: sent });
    await producer.disconnect();
    const got = (await kcatRead(broker, 'kc-cross')).filter((m) => m.payload?.startsWith('from raftlog'));
    expect(got).toHaveLength(sent.length);
    for (const m of got) {
      const i = Number(m.payload!.slice('from raftlog '.length));
      expect(m.key).toBe(sent[i]!.key);
      expect(m.ts).toBe(sent[i]!.timestamp);
      expect(m.headers).toEqual(['origin', 'raftlog', 'seq', String(i)]);
    }
    // -Q: the first offset at or after a timestamp (ListOffsets), on the partition the key went to.
    const first = got.find((m) => m.payload === 'from raftlog 4')!;
    const q = await kcat(['-Q', '-b', broker, '-t', `kc-cross:${first.partition}:${sent[4]!.timestamp}`]);
    expect(q).toContain(`offset ${first.offset}`);
  });

  it('reads with the raftlog client what kcat wrote: keys, headers and timestamps intact', async () => {
    await kcat(['-P', '-b', broker, '-t', 'kc-cross', '-K:', '-H', 'origin=kcat', '-H', 'tool=librdkafka', '-X', 'acks=all'], 'k1:from kcat 1\nk2:from kcat 2\nk1:from kcat 3\n');
    const fromKcat = (await kcatRead(broker, 'kc-cross')).filter((m) => m.payload?.startsWith('from kcat'));
    expect(fromKcat).toHaveLength(3);
    const native = [...(await readPartition(t.client, 'kc-cross', 0)), ...(await readPartition(t.client, 'kc-cross', 1))].filter((m) => m.value?.toString().startsWith('from kcat'));
    expect(native.map((m) => m.value!.toString()).sort()).toEqual(['from kcat 1', 'from kcat 2', 'from kcat 3']);
    for (const m of native) {
      const k = fromKcat.find((x) => x.payload === m.value!.toString())!;
      expect(m.key?.toString()).toBe(k.key);
      expect(m.timestamp).toBe(String(k.ts));
      expect(Object.fromEntries(Object.entries(m.headers).map(([h, v]) => [h, v.toString()]))).toEqual({ origin: 'kcat', tool: 'librdkafka' });
    }
  });

  it('a partition\'s non-leader answers NOT_LEADER_OR_FOLLOWER, and its leader CORRUPT_MESSAGE for a batch whose CRC-32C is wrong', async () => {
    const meta = JSON.parse(await kcat(['-L', '-b', broker, '-J', '-t', 'kc-orders'])) as { topics: { partitions: { partition: number; leader: number }[] }[] };
    const leader = meta.topics[0]!.partitions.find((p) => p.partition === 0)!.leader;
    const leaderNode = t.cluster.nodes.find((n) => brokerId(n.id) === leader)!;
    const other = t.cluster.nodes.find((n) => n !== leaderNode)!;
    const produce = (to: string, batch: Uint8Array): Promise<number> => {
      const c = new RawClient(port(to));
      c.send(
        request(0, 7, 1, (w) => {
          w.nullableString(null).int16(-1).int32(5000);
          w.array(['kc-orders'], (x, topic) => x.string(topic).array([0], (y, p) => y.int32(p).bytes(batch)));
        }),
      );
      return c.next().then((frame) => {
        c.close();
        const r = new KafkaReader(frame!);
        r.int32();
        const [res] = r.array((x) => ({ name: x.string(), partitions: x.array((y) => ({ partition: y.int32(), error: y.int16() })) }));
        return res!.partitions[0]!.error;
      });
    };
    const good = encodeBatch([{ value: Buffer.from('raw') }]);
    expect(await produce(other.kafka!, good)).toBe(6);
    const bad = Buffer.from(good);
    bad[bad.length - 1]! ^= 0xff;
    expect(await produce(leaderNode.kafka!, bad)).toBe(2);
  });

  it('hostile bytes on a node\'s Kafka port end their connections; the node keeps serving Kafka clients', async () => {
    const target = t.cluster.nodes[1]!.kafka!;
    const hostile: Buffer[] = [
      Buffer.from([0x7f, 0xff, 0xff, 0xff]),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      request(99, 0, 1),
      request(1, 2, 1),
      request(3, 1, 1, (w) => w.int32(1_000_000)),
      Buffer.concat([Buffer.from([0, 0, 0, 64]), Buffer.alloc(64, 0xee)]),
    ];
    for (const bytes of hostile) {
      const c = new RawClient(port(target));
      c.send(bytes);
      expect(await c.next()).toBeNull();
      c.close();
    }
    const meta = JSON.parse(await kcat(['-L', '-b', target, '-J'])) as { brokers: unknown[] };
    expect(meta.brokers).toHaveLength(3);
  });
});
