/**
 * Quotas throttle, never drop (issue 22 §3): a node, in process, over the real handlers, client
 * listener and Kafka listener (test/kafka/fake-node.ts), with the real enforcer
 * (src/server/quotas.ts) at a 200 KB/s produce rate for the default principal. A producer
 * pushing 2 MB is throttled for about the time 2 MB takes at that rate, by the node's own
 * accounting (the throttle metric, and the throttleMs its replies carry), every record is
 * acknowledged and read back intact, and another principal pushing as much beside it is never
 * throttled. kafkajs, throttled the same way through throttle_time_ms, delivers everything.
 * No assertion is on wall-clock time.
 */
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { KafkaListener } from '../../src/kafka/listener.js';
import { ClientServer } from '../../src/server/client-server.js';
import { QUOTA_OTHERS_LABEL, QuotaEnforcer, type QuotaMetrics } from '../../src/server/quotas.js';
import { encodeFrame } from '../../src/wire/codec.js';
import { QUOTA_DEFAULT_ENTITY, type QuotaEntry } from '../../src/wire/protocol.js';
import { records } from '../../src/wire/record-batch/decode.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { Raw, type Reply } from '../cluster/raw.js';
import { fakeKafkaNode } from '../kafka/fake-node.js';

const KB = 1000;
const RATE = 200 * KB;
/** 2 MB in requests of 100 KB, each one batch of ten 10 KB records. */
const REQUESTS = 20;
const RECORDS_PER_REQUEST = 10;
const VALUE_BYTES = 10 * KB;

const QUOTAS: Record<string, QuotaEntry> = {
  [QUOTA_DEFAULT_ENTITY]: { entity: QUOTA_DEFAULT_ENTITY, producerByteRate: RATE },
  // A principal with its own rates: far above what it sends here, and a fetch rate for reading back.
  'User:bob': { entity: 'User:bob', producerByteRate: 1000 * 1000 * KB },
  'User:dave': { entity: 'User:dave', consumerByteRate: 1000 * KB },
};

/** Counts a metric by its labels, as `principal direction`. */
function counter(): { inc: QuotaMetrics['bytes']['inc']; get: (principal: string, direction: string) => number } {
  const m = new Map<string, number>();
  return {
    inc: (labels: unknown, n?: number) => {
      const { principal, direction } = labels as { principal: string; direction: string };
      m.set(`${principal} ${direction}`, (m.get(`${principal} ${direction}`) ?? 0) + (n ?? 1));
    },
    get: (principal, direction) => m.get(`${principal} ${direction}`) ?? 0,
  };
}

function quotaNode() {
  const metrics = { bytes: counter(), throttleSeconds: counter(), throttled: counter() };
  const quotas = new QuotaEnforcer({ quota: (entity) => QUOTAS[entity] }, () => performance.now(), metrics);
  return { node: fakeKafkaNode('127.0.0.1:0', quotas), metrics };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The node's end of each connection, by its `?as=` ('' for none). */
const nodeEnds = new Map<string, WebSocket>();

/** A client listener on a free port; a connection's principal is its `?as=` (set as authentication will set it). */
async function clientListener(node: ReturnType<typeof quotaNode>['node']): Promise<string> {
  const server = new ClientServer(node);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/client' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws, req) => {
    const session = server.accept(ws, 'test');
    const as = new URL(req.url ?? '', 'ws://x').searchParams.get('as');
    if (as !== null) session.principal = `User:${as}`;
    nodeEnds.set(as ?? '', ws);
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAll();
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  );
  return `127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

async function connect(address: string, as?: string): Promise<Raw> {
  const raw = new Raw(address, as === undefined ? '/client' : `/client?as=${as}`);
  await raw.open;
  cleanups.push(() => raw.close());
  return raw;
}

const value = (who: string, i: number, r: number): Buffer => Buffer.alloc(VALUE_BYTES, `${who}:${i}:${r};`);

/**
 * Sends REQUESTS produce requests one after the other, as a client that honours throttles does
 * (it waits out each throttleMs before the next): the replies.
 */
async function produce(raw: Raw, who: string, as = ''): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const batch = encodeBatch(Array.from({ length: RECORDS_PER_REQUEST }, (_, r) => ({ value: value(who, i, r) })));
    raw.send(encodeFrame({ id: i + 1, type: 'produce', acks: 'all', timeoutMs: 10_000, batches: [{ topic: 'orders', partition: 0, records: batch }] }));
    const reply = await raw.next(60_000);
    // Muted: the node does not read the connection (a throttle of a few ms may be over already).
    mutedSeen.set(as, (mutedSeen.get(as) ?? 0) + (nodeEnds.get(as)?.isPaused === true ? 1 : 0));
    replies.push(reply);
    const ms = reply['throttleMs'];
    if (typeof ms === 'number') await new Promise((r) => setTimeout(r, ms));
  }
  return replies;
}

/** Replies after which the node's end of their connection was found not read, by `?as=`. */
const mutedSeen = new Map<string, number>();

const throttleOf = (replies: readonly Reply[]): number[] => replies.map((r) => (typeof r['throttleMs'] === 'number' ? r['throttleMs'] : 0));

describe('a produce quota on the native listener', () => {
  it('throttles a producer pushing 2 MB at 200 KB/s for about 9 s by its own accounting, drops nothing, and leaves another principal unthrottled', async () => {
    const { node, metrics } = quotaNode();
    const address = await clientListener(node);
    const [anonymous, bob] = await Promise.all([connect(address), connect(address, 'bob')]);
    const [mine, theirs] = await Promise.all([produce(anonymous, 'anon'), produce(bob, 'bob', 'bob')]);

    // Throttled: 2 MB at 200 KB/s is 10 s, less the first second's worth, which goes at once.
    const throttled = throttleOf(mine);
    const total = throttled.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(8500);
    expect(throttled.filter((ms) => ms > 0).length).toBeGreaterThanOrEqual(REQUESTS - 3);
    // The node's metric says the same.
    expect(metrics.throttleSeconds.get(QUOTA_OTHERS_LABEL, 'produce') * 1000).toBeCloseTo(total, 3);
    expect(metrics.bytes.get(QUOTA_OTHERS_LABEL, 'produce')).toBeGreaterThanOrEqual(REQUESTS * RECORDS_PER_REQUEST * VALUE_BYTES);
    // Its connection was muted after its throttled replies.
    expect(mutedSeen.get('')).toBeGreaterThan(REQUESTS / 2);
    // Another principal, beside it on the same node, is not throttled, and its connection is read throughout.
    expect(throttleOf(theirs).every((ms) => ms === 0)).toBe(true);
    expect(mutedSeen.get('bob')).toBe(0);
    expect(metrics.throttled.get('User:bob', 'produce')).toBe(0);
    // A third, held to the default's rate but measured on its own, sends a little and is not throttled.
    const carol = await connect(address, 'carol');
    carol.send(encodeFrame({ id: 1, type: 'produce', acks: 'all', timeoutMs: 10_000, batches: [{ topic: 'orders', partition: 0, records: encodeBatch([{ value: Buffer.from('carol') }]) }] }));
    const one = await carol.next();
    expect([one.error, one['throttleMs']]).toEqual([undefined, undefined]);

    // Not dropped: every record acknowledged...
    for (const r of [...mine, ...theirs]) {
      expect(r.error).toBeUndefined();
      expect((r['results'] as { error?: unknown; baseOffset?: number }[]).map((x) => [x.error, typeof x.baseOffset])).toEqual([[undefined, 'number']]);
    }
    // ...and read back intact, by a principal under a fetch quota of its own (1 MB/s), which is throttled too.
    const dave = await connect(address, 'dave');
    const read: Buffer[] = [];
    const fetchThrottles: number[] = [];
    for (let offset = 0, id = 1; offset < 2 * REQUESTS * RECORDS_PER_REQUEST + 1; id++) {
      dave.send(encodeFrame({ id, type: 'fetch', maxWaitMs: 0, minBytes: 1, maxBytes: 16 * 1024 * 1024, partitions: [{ topic: 'orders', partition: 0, offset, maxBytes: 16 * 1024 * 1024 }] }));
      const r = await dave.next(60_000);
      const [p] = r['partitions'] as { batches: Uint8Array[]; error?: unknown }[];
      expect(p!.error).toBeUndefined();
      const bytes = p!.batches.reduce((n, b) => n + b.byteLength, 0);
      // Cut to one second of its rate, but for the first batch.
      expect(bytes <= 1000 * KB || p!.batches.length === 1).toBe(true);
      for (const b of p!.batches) for (const rec of records(b)) read.push(Buffer.from(rec.value!));
      offset = read.length;
      const ms = typeof r['throttleMs'] === 'number' ? r['throttleMs'] : 0;
      fetchThrottles.push(ms);
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    }
    const sent = new Set<string>();
    for (const who of ['anon', 'bob']) for (let i = 0; i < REQUESTS; i++) for (let r = 0; r < RECORDS_PER_REQUEST; r++) sent.add(value(who, i, r).toString('latin1'));
    sent.add('carol');
    expect(read.length).toBe(sent.size);
    expect(new Set(read.map((b) => b.toString('latin1')))).toEqual(sent);
    expect(fetchThrottles.some((ms) => ms > 0)).toBe(true);
    expect(metrics.throttleSeconds.get('User:dave', 'fetch') * 1000).toBeCloseTo(
      fetchThrottles.reduce((a, b) => a + b, 0),
      3,
    );
  }, 60_000);
});

describe('a produce quota on the Kafka listener', () => {
  it('reaches kafkajs as throttle_time_ms, which it waits out, and every message is delivered', async () => {
    const { node, metrics } = quotaNode();
    const listener = new KafkaListener(node);
    await listener.listen('127.0.0.1:0');
    cleanups.push(() => listener.close());
    const address = `127.0.0.1:${listener.port()}`;
    // The fake node names this listener as its own in Metadata.
    (node as { kafkaAddresses: () => ReadonlyMap<string, string> }).kafkaAddresses = () => new Map([['n1', address]]);
    const throttleLogs: string[] = [];
    const kafka = new Kafka({
      clientId: 'quota-test',
      brokers: [address],
      logLevel: logLevel.DEBUG,
      logCreator: () => (entry) => {
        if (entry.log.message.includes('Client side throttling')) throttleLogs.push(entry.log.message);
      },
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const SENDS = 6;
    for (let i = 0; i < SENDS; i++) {
      await producer.send({ topic: 'orders', acks: -1, messages: Array.from({ length: RECORDS_PER_REQUEST }, (_, r) => ({ value: value('kafkajs', i, r) })) });
    }
    // 600 KB at 200 KB/s: throttled, and kafkajs said it waited.
    expect(metrics.throttled.get(QUOTA_OTHERS_LABEL, 'produce')).toBeGreaterThan(0);
    expect(metrics.throttleSeconds.get(QUOTA_OTHERS_LABEL, 'produce')).toBeGreaterThan(1);
    expect(throttleLogs.length).toBeGreaterThan(0);
    // Delivered: every message is in the partition, once.
    const stored = node.partition.batches.flatMap((b) => [...records(b)].map((r) => Buffer.from(r.value!).toString('latin1')));
    const expected = Array.from({ length: SENDS }, (_, i) => Array.from({ length: RECORDS_PER_REQUEST }, (_, r) => value('kafkajs', i, r).toString('latin1'))).flat();
    expect(stored).toEqual(expected);
  }, 60_000);
});
