/**
 * What one fetch may cost a node (issue 22): its `maxBytes` bounds the whole response, however many
 * partitions it names, and its long poll neither stops the node's other work nor leaves waits
 * behind it. Served by the node's own handlers over real partitions (the client tests' fake
 * cluster, test/client/fake-broker.ts), through a raw connection. The fake does not validate
 * requests (src/wire/validate.ts fills in defaults, and refuses a partition named twice: see
 * test/wire/validate.test.ts), so these name every field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/codec.js';
import { FakeCluster } from '../client/fake-broker.js';
import { Raw, type Reply } from '../cluster/raw.js';

const PARTITIONS = 6;
const BATCHES = 4;
/** Bytes of each record's value: each batch is a little more. */
const VALUE_BYTES = 5000;

interface Fetched {
  topic: string;
  partition: number;
  error?: { code: string };
  highWatermark: number;
  batches: Uint8Array[];
}

let cluster: FakeCluster;
let address: string;

beforeAll(async () => {
  cluster = await FakeCluster.start({ nodes: 1 });
  address = cluster.brokers[0]!;
  cluster.createTopic('full', PARTITIONS, 1);
  for (let p = 0; p < PARTITIONS; p++) {
    for (let b = 0; b < BATCHES; b++) cluster.append('full', p, [{ value: Buffer.alloc(VALUE_BYTES, 65 + b) }]);
  }
  cluster.createTopic('quiet', 20, 1);
});

afterAll(async () => cluster.stop());

async function fetchOnce(body: Record<string, unknown>): Promise<Fetched[]> {
  const raw = new Raw(address);
  await raw.open;
  raw.send(encodeFrame({ id: 1, type: 'fetch', ...body }));
  try {
    const r: Reply = await raw.next(10_000);
    expect(r.error).toBeUndefined();
    return r['partitions'] as Fetched[];
  } finally {
    raw.close();
  }
}

const all = (topic: string, n: number, maxBytes = 1024 * 1024): { topic: string; partition: number; offset: number; maxBytes: number }[] =>
  Array.from({ length: n }, (_, partition) => ({ topic, partition, offset: 0, maxBytes }));

const sizes = (parts: Fetched[]): number[] => parts.flatMap((p) => p.batches.map((b) => b.byteLength));

describe("a fetch's maxBytes", () => {
  it('bounds the whole response: the partitions reached once it is used up get no batches, only their high watermark', async () => {
    const maxBytes = 2 * VALUE_BYTES + 2000;
    const parts = await fetchOnce({ maxWaitMs: 0, minBytes: 1, maxBytes, partitions: all('full', PARTITIONS) });
    const got = sizes(parts);
    expect(got.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(maxBytes);
    expect(got.length).toBe(2);
    expect(parts.map((p) => p.error)).toEqual(new Array(PARTITIONS).fill(undefined));
    expect(parts.map((p) => p.highWatermark)).toEqual(new Array(PARTITIONS).fill(BATCHES));
    expect(parts.slice(1).every((p) => p.batches.length <= 1)).toBe(true);
  });

  it('lets only the first batch of the response exceed it, so that a consumer still progresses', async () => {
    const parts = await fetchOnce({ maxWaitMs: 0, minBytes: 1, maxBytes: 1, partitions: all('full', PARTITIONS, 1) });
    expect(parts.map((p) => p.batches.length)).toEqual([1, 0, 0, 0, 0, 0]);
  });

  it("lets a partition's first batch exceed that partition's maxBytes while it fits in the response's", async () => {
    const parts = await fetchOnce({ maxWaitMs: 0, minBytes: 1, maxBytes: 3 * VALUE_BYTES + 3000, partitions: all('full', PARTITIONS, 1) });
    expect(parts.map((p) => p.batches.length)).toEqual([1, 1, 1, 0, 0, 0]);
  });
});

describe("a fetch's long poll", () => {
  it('waits without stopping the node, and each time data arrives short of minBytes it leaves no wait behind', async () => {
    // The wait is long enough never to end by itself: the data that reaches minBytes ends it.
    const minBytes = 64 * 1024;
    const raw = new Raw(address);
    await raw.open;
    raw.send(encodeFrame({ id: 1, type: 'fetch', maxWaitMs: 60_000, minBytes, maxBytes: 4 * 1024 * 1024, partitions: all('quiet', 20) }));
    let waiting = 0;
    const timer = setInterval(() => (waiting = Math.max(waiting, cluster.waitingFetches)), 5);
    let answered = false;
    const reply = raw.next(60_000);
    reply.then(() => (answered = true), () => undefined);
    try {
      // Data short of minBytes arrives in one partition, again and again.
      for (let i = 0; i < 5; i++) {
        cluster.append('quiet', 0, [{ value: Buffer.from(`small ${i}`) }]);
        // The node serves another client meanwhile: a fetch that does not wait is answered.
        const other = await fetchOnce({ maxWaitMs: 0, minBytes: 1, maxBytes: 1024 * 1024, partitions: all('quiet', 1) });
        expect(other[0]!.batches.length).toBe(i + 1);
        expect(answered).toBe(false);
      }
      cluster.append('quiet', 1, [{ value: Buffer.alloc(minBytes, 66) }]);
      const r = await reply;
      const parts = r['partitions'] as Fetched[];
      expect(parts[0]!.batches.length).toBe(5);
      expect(parts[1]!.batches.length).toBe(1);
      expect(cluster.waitingFetches).toBe(0);
    } finally {
      clearInterval(timer);
      raw.close();
    }
    // One wait per partition at a time, however often the fetch woke.
    expect(waiting).toBeLessThanOrEqual(20);
  });
});
