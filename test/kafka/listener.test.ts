/**
 * The Kafka listener on crafted bytes, over a fake node (fake-node.ts) whose requests run through
 * the real native handlers: framing, the request header, ApiVersions, ordering, acks=0, and bad
 * input ending only its own connection.
 */
import fc from 'fast-check';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaWriter } from '../../src/kafka/codec/writer.js';
import { KafkaReader } from '../../src/kafka/codec/reader.js';
import { brokerId } from '../../src/kafka/brokers.js';
import { answer } from '../../src/kafka/dispatch.js';
import { KAFKA_APIS } from '../../src/kafka/apis/index.js';
import { KAFKA_REQUEST_BYTES_MAX } from '../../src/kafka/frames.js';
import { KafkaListener } from '../../src/kafka/listener.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { fakeKafkaNode, listenOnFakeNode } from './fake-node.js';
import { RawClient, request } from './raw.js';
import { newSession } from '../../src/server/session.js';

/** ApiVersions' ranges from a v0-2 response body (after the correlation id). */
function apiRanges(r: KafkaReader): Map<number, [number, number]> {
  return new Map(r.array((x) => [x.int16(), [x.int16(), x.int16()]] as [number, [number, number]]));
}

const node = fakeKafkaNode();
const listener = new KafkaListener(node);
let port = 0;

beforeAll(async () => {
  await listener.listen('127.0.0.1:0');
  port = listener.port();
});
afterAll(async () => listener.close());

describe('ApiVersions', () => {
  it('advertises the versions both target clients need (KAFKA.md), v0 to v2 in the classic layout', async () => {
    const c = new RawClient(port);
    for (const v of [0, 1, 2]) {
      c.send(request(18, v, 100 + v));
      const r = new KafkaReader((await c.next())!);
      expect(r.int32()).toBe(100 + v);
      expect(r.int16()).toBe(0);
      const ranges = apiRanges(r);
      expect(Object.fromEntries(ranges)).toEqual({
        0: [3, 7],
        1: [4, 11],
        2: [0, 2],
        3: [0, 4],
        8: [0, 5],
        9: [0, 4],
        10: [0, 2],
        11: [0, 5],
        12: [0, 3],
        13: [0, 1],
        14: [0, 3],
        15: [0, 2],
        16: [0, 2],
        17: [0, 1],
        18: [0, 3],
        19: [0, 3],
        20: [0, 1],
        22: [0, 1],
        29: [0, 1],
        30: [0, 1],
        31: [0, 1],
        32: [0, 2],
        33: [0, 1],
        36: [0, 2],
        37: [0, 1],
        42: [0, 1],
        44: [0, 0],
      });
      if (v >= 1) expect(r.int32()).toBe(0);
      expect(r.remaining).toBe(0);
    }
    c.close();
  });

  it('answers the flexible v3 (request header v2, compact body) with a v0 response header and a compact body', async () => {
    const c = new RawClient(port);
    c.send(request(18, 3, 7, (w) => w.compactString('librdkafka').compactString('2.0.2').taggedFields(), true));
    const r = new KafkaReader((await c.next())!);
    expect(r.int32()).toBe(7);
    // No tagged fields after the correlation id: the error code follows at once.
    expect(r.int16()).toBe(0);
    const ranges = new Map(r.compactArray((x) => {
      const e = [x.int16(), x.int16(), x.int16()] as const;
      x.taggedFields();
      return [e[0], [e[1], e[2]]] as const;
    }));
    expect(ranges.get(0)).toEqual([3, 7]);
    expect(ranges.get(18)).toEqual([0, 3]);
    expect(r.int32()).toBe(0);
    r.taggedFields();
    expect(r.remaining).toBe(0);
    c.close();
  });

  it('answers a version it does not serve with UNSUPPORTED_VERSION in the v0 layout, and keeps the connection', async () => {
    const c = new RawClient(port);
    c.send(request(18, 9, 11, (w) => w.compactString('future').compactString('9').taggedFields(), true));
    const r = new KafkaReader((await c.next())!);
    expect(r.int32()).toBe(11);
    expect(r.int16()).toBe(35);
    expect(apiRanges(r).get(18)).toEqual([0, 3]);
    c.send(request(18, 0, 12));
    expect(new KafkaReader((await c.next())!).int32()).toBe(12);
    c.close();
  });
});

describe('bad input ends its connection and nothing else', () => {
  async function closedBy(bytes: Buffer): Promise<void> {
    const c = new RawClient(port);
    c.send(bytes);
    expect(await c.next()).toBeNull();
    expect(c.closed).toBe(true);
    // A new connection is served.
    const d = new RawClient(port);
    d.send(request(18, 0, 1));
    expect(new KafkaReader((await d.next())!).int32()).toBe(1);
    d.close();
  }

  it('a frame size over the limit, closed on its four bytes alone', async () => {
    const size = Buffer.alloc(4);
    size.writeInt32BE(KAFKA_REQUEST_BYTES_MAX + 1);
    await closedBy(size);
    size.writeInt32BE(-5);
    await closedBy(size);
  });

  it('a frame too small for a request header', () => {
    return closedBy(Buffer.from([0, 0, 0, 3, 0, 18, 0]));
  });

  it('an unknown api key, and a version not served of a known one', async () => {
    await closedBy(request(47, 0, 1));
    await closedBy(request(3, 9, 1));
    await closedBy(request(0, 2, 1));
  });

  it('a truncated body or header', async () => {
    // Metadata v1 says 5 topics and holds none.
    await closedBy(request(3, 1, 1, (w) => w.int32(5)));
    // A client id longer than the frame.
    await closedBy(Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0x7f, 0xff]));
  });

  it('a frame whose body is any bytes at all: every API either answers or closes, and never throws', async () => {
    const keys = [...KAFKA_APIS.values()];
    await fc.assert(
      fc.asyncProperty(fc.nat(keys.length - 1), fc.nat(20), fc.uint8Array({ maxLength: 80 }), async (k, v, body) => {
        const api = keys[k]!;
        const version = api.minVersion + (v % (api.maxVersion - api.minVersion + 1));
        const frame = request(api.key, version, 5, (w) => w.raw(body)).subarray(4);
        const a = await answer(node, newSession('kafka', 'test'), frame);
        expect(['reply', 'none', 'close']).toContain(a.kind);
      }),
      { numRuns: 300 },
    );
  });
});

describe('requests on one connection', () => {
  it('are answered in request order, even when the first takes longer', async () => {
    const c = new RawClient(port);
    // A fetch at the high watermark long-polls 300 ms; the ApiVersions behind it is ready at once.
    const hw = node.partition.highWatermark;
    c.send(
      Buffer.concat([
        request(1, 11, 1, (w) => {
          w.int32(-1).int32(300).int32(1).int32(1024 * 1024).int8(0).int32(0).int32(-1);
          w.array(['orders'], (x, t) => x.string(t).array([0], (y, p) => y.int32(p).int32(-1).int64(hw).int64(-1).int32(1024 * 1024)));
          w.int32(0).string('');
        }),
        request(18, 0, 2),
      ]),
    );
    const t0 = Date.now();
    const first = new KafkaReader((await c.next())!);
    expect(first.int32()).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(new KafkaReader((await c.next())!).int32()).toBe(2);
    c.close();
  });

  it('a produce with acks=0 gets no response, and its batch is stored', async () => {
    const c = new RawClient(port);
    const before = node.partition.batches.length;
    const batch = encodeBatch([{ key: Buffer.from('k'), value: Buffer.from('fire and forget') }]);
    c.send(Buffer.concat([produceRequest(0, 21, batch), request(18, 0, 22)]));
    expect(new KafkaReader((await c.next())!).int32()).toBe(22);
    expect(node.partition.batches.length).toBe(before + 1);
    c.close();
  });

  it('a produce with acks=1 answers each partition: its base offset, or CORRUPT_MESSAGE for records cut short', async () => {
    // (A batch whose CRC is wrong is the partition's to refuse: test/kafka/kafka-cluster.test.ts.)
    const c = new RawClient(port);
    const good = encodeBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }]);
    const bad = Buffer.from(encodeBatch([{ value: Buffer.from('cut') }])).subarray(0, 40);
    const hw = node.partition.highWatermark;
    c.send(produceRequest(1, 31, good));
    let r = produceResult(await c.next());
    expect(r).toEqual({ correlationId: 31, topic: 'orders', partition: 0, errorCode: 0, baseOffset: hw });
    c.send(produceRequest(1, 32, bad));
    r = produceResult(await c.next());
    expect(r).toMatchObject({ correlationId: 32, errorCode: 2, baseOffset: -1 });
    c.close();
  });

  it('a fetch past the high watermark is OFFSET_OUT_OF_RANGE, with the high watermark', async () => {
    const c = new RawClient(port);
    const hw = node.partition.highWatermark;
    c.send(
      request(1, 4, 41, (w) => {
        w.int32(-1).int32(100).int32(1).int32(1024 * 1024).int8(0);
        w.array(['orders'], (x, t) => x.string(t).array([0], (y, p) => y.int32(p).int64(hw + 5).int32(1024 * 1024)));
      }),
    );
    const r = new KafkaReader((await c.next())!);
    expect(r.int32()).toBe(41);
    r.int32(); // throttle
    const [topic] = r.array((x) => ({ name: x.string(), partitions: x.array((y) => ({ partition: y.int32(), error: y.int16(), hw: y.int64() })) }));
    expect(topic).toEqual({ name: 'orders', partitions: [{ partition: 0, error: 1, hw }] });
    c.close();
  });

  it('a fetch naming a partition twice answers it once, where first named, with what it was named with last (as a Kafka broker does)', async () => {
    const c = new RawClient(port);
    const hw = node.partition.highWatermark;
    expect(hw).toBeGreaterThan(0);
    const entries = [
      { partition: 0, offset: hw + 5 },
      { partition: 7, offset: 0 },
      { partition: 0, offset: 0 },
    ];
    c.send(
      request(1, 4, 61, (w) => {
        w.int32(-1).int32(0).int32(1).int32(1024 * 1024).int8(0);
        w.array(['orders'], (x, t) => x.string(t).array(entries, (y, p) => y.int32(p.partition).int64(p.offset).int32(1024 * 1024)));
      }),
    );
    const r = new KafkaReader((await c.next())!);
    expect(r.int32()).toBe(61);
    r.int32(); // throttle
    const topics = r.array((x) => ({
      name: x.string(),
      partitions: x.array((y) => {
        const p = { partition: y.int32(), error: y.int16(), hw: y.int64() };
        y.int64(); // last stable offset
        y.int32(); // aborted transactions (none)
        return { ...p, bytes: y.bytes().byteLength };
      }),
    }));
    // Partition 0 at offset 0 (the last entry's): no OFFSET_OUT_OF_RANGE, and its batches.
    expect(topics.map((t) => ({ ...t, partitions: t.partitions.map(({ bytes, ...p }) => ({ ...p, some: bytes > 0 })) }))).toEqual([
      {
        name: 'orders',
        partitions: [
          { partition: 0, error: 0, hw, some: true },
          { partition: 7, error: 3, hw: -1, some: false },
        ],
      },
    ]);
    c.close();
  });

  it('Metadata names the brokers by their ids, the controller, and each partition leader; an unknown topic is 3, an invalid name 17', async () => {
    const c = new RawClient(port);
    c.send(request(3, 4, 51, (w) => w.array(['orders', 'missing', 'bad name!'], (x, t) => x.string(t)).bool(true)));
    const r = new KafkaReader((await c.next())!);
    expect(r.int32()).toBe(51);
    r.int32(); // throttle
    const brokers = r.array((x) => ({ id: x.int32(), host: x.string(), port: x.int32(), rack: x.nullableString() }));
    expect(brokers).toEqual([{ id: brokerId('n1'), host: '127.0.0.1', port: 9092, rack: null }]);
    expect(r.nullableString()).toBe('fake-cluster');
    expect(r.int32()).toBe(brokerId('n1'));
    const topics = r.array((x) => ({
      error: x.int16(),
      name: x.string(),
      internal: x.bool(),
      partitions: x.array((y) => ({ error: y.int16(), partition: y.int32(), leader: y.int32(), replicas: y.array((z) => z.int32()), isr: y.array((z) => z.int32()) })),
    }));
    expect(topics).toEqual([
      { error: 0, name: 'orders', internal: false, partitions: [{ error: 0, partition: 0, leader: brokerId('n1'), replicas: [brokerId('n1')], isr: [brokerId('n1')] }] },
      { error: 3, name: 'missing', internal: false, partitions: [] },
      { error: 17, name: 'bad name!', internal: false, partitions: [] },
    ]);
    c.close();
  });
});

function produceRequest(acks: number, correlationId: number, batch: Uint8Array): Buffer {
  return request(0, 7, correlationId, (w) => {
    w.nullableString(null).int16(acks).int32(5000);
    w.array(['orders'], (x, t) => x.string(t).array([0], (y, p) => y.int32(p).bytes(batch)));
  });
}

function produceResult(frame: Buffer | null): { correlationId: number; topic: string; partition: number; errorCode: number; baseOffset: number } {
  const r = new KafkaReader(frame!);
  const correlationId = r.int32();
  const [t] = r.array((x) => ({ topic: x.string(), partitions: x.array((y) => ({ partition: y.int32(), errorCode: y.int16(), baseOffset: y.int64(), appendTime: y.int64(), logStart: y.int64() })) }));
  const p = t!.partitions[0]!;
  return { correlationId, topic: t!.topic, partition: p.partition, errorCode: p.errorCode, baseOffset: p.baseOffset };
}

describe('Metadata on a node whose metadata cannot be trusted yet (it has just joined, or is starting)', () => {
  let problem: string | null = null;
  let joining: KafkaListener;
  let joiningPort = 0;
  beforeAll(async () => {
    ({ listener: joining, port: joiningPort } = await listenOnFakeNode({ metadataProblem: () => problem }));
  });
  afterAll(async () => joining.close());

  it('closes the connection at a request for every topic, unanswered: an empty list would say the cluster has no topic', async () => {
    problem = 'its metadata replica has received none of the metadata yet (it has just joined the cluster)';
    for (const [version, body] of [
      [0, (w: KafkaWriter) => w.array([], (x, t: string) => x.string(t))],
      [1, (w: KafkaWriter) => w.int32(-1)],
      [4, (w: KafkaWriter) => w.int32(-1).bool(false)],
    ] as const) {
      const c = new RawClient(joiningPort);
      c.send(request(3, version, 7, body));
      expect(await c.next()).toBeNull();
      expect(c.closed).toBe(true);
    }
  });

  it('answers a request for named topics, each LEADER_NOT_AVAILABLE (retriable), on the same connection', async () => {
    problem = 'its metadata replica has received none of the metadata yet (it has just joined the cluster)';
    const c = new RawClient(joiningPort);
    c.send(request(3, 1, 8, (w) => w.array(['orders'], (x, t) => x.string(t))));
    const r = new KafkaReader((await c.next())!);
    expect(r.int32()).toBe(8);
    r.array((x) => [x.int32(), x.string(), x.int32(), x.nullableString()]);
    r.int32();
    const topics = r.array((x) => {
      const t = { error: x.int16(), name: x.string() };
      x.bool();
      x.array(() => undefined);
      return t;
    });
    expect(topics).toEqual([{ error: 5, name: 'orders' }]);
    expect(c.closed).toBe(false);
  });

  it('kafkajs: listing the topics fails retriably meanwhile, where it would have listed none, and lists them once the node can', async () => {
    problem = 'its metadata replica has received none of the metadata yet (it has just joined the cluster)';
    const admin = new Kafka({ clientId: 'metadata-joining', brokers: [`127.0.0.1:${joiningPort}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await admin.connect();
    await expect(admin.listTopics()).rejects.toMatchObject({ retriable: true });
    problem = null;
    expect(await admin.listTopics()).toEqual(['orders']);
    await admin.disconnect();
  });
});
