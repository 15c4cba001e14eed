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
    const raw = new Raw(address);
    await raw.open;
    raw.send(encodeFrame({ id: 1, type: 'fetch', maxWaitMs: 1500, minBytes: 1024 * 1024, maxBytes: 4 * 1024 * 1024, partitions: all('quiet', 20) }));
    let waiting = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
      waiting = Math.max(waiting, cluster.waitingFetches);
    }, 10);
    try {
      // Data short of minBytes arrives in one partition, again and again.
      for (let i = 0; i < 5; i++) {
        cluster.append('quiet', 0, [{ value: Buffer.from(`small ${i}`) }]);
        const before = ticks;
        await new Promise((r) => setTimeout(r, 100));
        // Other work (this test's timer) runs while the fetch waits.
        expect(ticks - before).toBeGreaterThan(1);
      }
      const r = await raw.next(10_000);
      const parts = r['partitions'] as Fetched[];
      expect(parts[0]!.batches.length).toBe(5);
      expect(cluster.waitingFetches).toBe(0);
    } finally {
      clearInterval(timer);
      raw.close();
    }
    // One wait per partition at a time, however often the fetch woke.
    expect(waiting).toBeLessThanOrEqual(20);
  });
});
