/**
 * A client that sends requests and never reads the replies (issue 22): what the node holds for it
 * stays near its connection's reply limit (src/server/reply-budget.ts) however many it sends,
 * fetches or metadata requests (whose replies the node's topics make large), the
 * connection is closed once the replies have sat unread for the stall time, and other clients are
 * served meanwhile. On both client listeners, in process, over a fake node whose requests run
 * through the real handlers (test/kafka/fake-node.ts).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { KafkaReader } from '../../src/kafka/codec/reader.js';
import { KafkaListener } from '../../src/kafka/listener.js';
import { ClientServer } from '../../src/server/client-server.js';
import type { ReplyLimits } from '../../src/server/reply-budget.js';
import { decodeFrame, encodeFrame } from '../../src/wire/codec.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { DEFAULT_TOPIC_CONFIG } from '../../src/wire/protocol.js';
import type { TopicRecord } from '../../src/meta/commands.js';
import { fakeKafkaNode } from '../kafka/fake-node.js';
import { RawClient, request } from '../kafka/raw.js';

const LIMITS: ReplyLimits = { bytesMax: 256 * 1024, stallMs: 300 };
/** Each fetch asks for this much, and gets a little less (three of the batches below). */
const FETCH_BYTES = 64 * 1024;
/** Far more replies than the limit holds, and than the kernel's socket buffers take. */
const REQUESTS = 600;

/** A node whose one partition holds a few 16 KiB batches, and which counts the connections it closes as slow. */
async function nodeWithData(): Promise<{ node: ReturnType<typeof fakeKafkaNode>; closed: string[] }> {
  const base = fakeKafkaNode();
  for (let i = 0; i < 4; i++) await base.partition.produce(encodeBatch([{ value: Buffer.alloc(16 * 1024, 97 + i) }]), 'all');
  const closed: string[] = [];
  const node = { ...base, metrics: { ...base.metrics, slowClientsClosed: { inc: (l: { listener: string }) => void closed.push(l.listener) } } };
  return { node: node as typeof base, closed };
}

/** A node that knows TOPICS topics of PARTITIONS partitions each: a metadata reply of every topic is about 100 KB. */
const TOPICS = 100;
const PARTITIONS = 10;
function nodeWithTopics(): { node: ReturnType<typeof fakeKafkaNode>; closed: string[] } {
  const base = fakeKafkaNode();
  const topics: TopicRecord[] = Array.from({ length: TOPICS }, (_, i) => ({
    name: `topic-with-a-long-enough-name-${String(i).padStart(4, '0')}`,
    id: `t${i + 10}`,
    partitions: PARTITIONS,
    replicationFactor: 3,
    config: DEFAULT_TOPIC_CONFIG,
    assignments: Array.from({ length: PARTITIONS }, () => ['n1', 'n2', 'n3']),
  }));
  const byName = new Map(topics.map((t) => [t.name, t]));
  const closed: string[] = [];
  const node = {
    ...base,
    meta: { ...base.meta, topics: () => topics, topic: (name: string) => byName.get(name) },
    nodeIds: () => ['n1', 'n2', 'n3'],
    nodeRef: (id: string | null) => (id === null ? undefined : { id, address: `127.0.0.1:${7000 + Number(id.slice(1))}` }),
    kafkaAddresses: () => new Map([['n1', '127.0.0.1:9092'], ['n2', '127.0.0.1:9093'], ['n3', '127.0.0.1:9094']]),
    metrics: { ...base.metrics, slowClientsClosed: { inc: (l: { listener: string }) => void closed.push(l.listener) } },
  };
  return { node: node as unknown as typeof base, closed };
}

async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The largest value `read` takes, sampled every few ms until `done`. */
async function peakUntil(read: () => number, done: () => boolean, ms: number, what: string): Promise<number> {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, read())), 2);
  try {
    await until(done, ms, what);
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, read());
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** `node`'s native client connections (ClientServer, at LIMITS) on a port of their own; what it accepts, in order. Closed after the test. */
async function serveNative(node: ConstructorParameters<typeof ClientServer>[0]): Promise<{ url: string; accepted: WebSocket[] }> {
  const server = new ClientServer(node, LIMITS);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/client' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const accepted: WebSocket[] = [];
  wss.on('connection', (ws) => {
    accepted.push(ws);
    server.accept(ws, 'test');
  });
  cleanups.push(() => new Promise<void>((resolve) => {
    server.closeAll();
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => resolve());
  }));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/client`, accepted };
}

describe('a native client that never reads its replies', () => {
  it('is held to about the reply limit, then disconnected, while other clients are served', async () => {
    const { node, closed } = await nodeWithData();
    const { url, accepted } = await serveNative(node);

    const slow = new WebSocket(url);
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) => slow.once('open', () => resolve()));
    cleanups.push(() => slow.terminate());
    // Stops reading: replies pile up in the kernel's buffers, then in the node.
    (slow as unknown as { _socket: net.Socket })._socket.pause();
    const fetchFrame = (id: number): Buffer =>
      encodeFrame({ id, type: 'fetch', maxWaitMs: 0, maxBytes: FETCH_BYTES, partitions: [{ topic: 'orders', partition: 0, offset: 0, maxBytes: FETCH_BYTES }] });
    for (let id = 1; id <= REQUESTS; id++) slow.send(fetchFrame(id));
    await until(() => accepted.length === 1, 5000, 'the connection to be accepted');
    const held = accepted[0]!;

    const peak = await peakUntil(() => held.bufferedAmount, () => held.readyState === WebSocket.CLOSED, 3000, 'the unread connection to be closed').catch(() => -1);
    expect(peak).toBeLessThanOrEqual(LIMITS.bytesMax + 2 * FETCH_BYTES);
    expect(closed).toEqual(['client']);

    // Another client is served as ever.
    const other = new WebSocket(url);
    cleanups.push(() => other.terminate());
    const reply = new Promise<Record<string, unknown>>((resolve) => other.once('message', (d) => resolve(decodeFrame(d as Buffer) as Record<string, unknown>)));
    await new Promise<void>((resolve) => other.once('open', () => resolve()));
    other.send(fetchFrame(1));
    const r = await reply;
    expect((r['partitions'] as { batches: unknown[] }[])[0]!.batches.length).toBeGreaterThan(0);
  });
});

describe('a Kafka client that never reads its responses', () => {
  it('is held to about the reply limit, then disconnected, while other clients are served', async () => {
    const { node, closed } = await nodeWithData();
    const listener = new KafkaListener(node, LIMITS);
    await listener.listen('127.0.0.1:0');
    cleanups.push(() => listener.close());
    const sockets = (listener as unknown as { sockets: Set<net.Socket> }).sockets;

    const slow = net.connect({ host: '127.0.0.1', port: listener.port() });
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    cleanups.push(() => void slow.destroy());
    slow.pause();
    const fetch = (correlationId: number): Buffer =>
      request(1, 4, correlationId, (w) => {
        w.int32(-1).int32(0).int32(1).int32(FETCH_BYTES).int8(0);
        w.array(['orders'], (x, t) => x.string(t).array([0], (y, p) => y.int32(p).int64(0).int32(FETCH_BYTES)));
      });
    slow.write(Buffer.concat(Array.from({ length: REQUESTS }, (_, i) => fetch(i + 1))));
    await until(() => sockets.size === 1, 5000, 'the connection to be accepted');
    const held = [...sockets][0]!;

    const peak = await peakUntil(() => held.writableLength, () => held.destroyed, 3000, 'the unread connection to be closed').catch(() => -1);
    expect(peak).toBeLessThanOrEqual(LIMITS.bytesMax + 2 * FETCH_BYTES);
    expect(closed).toEqual(['kafka']);

    const other = new RawClient(listener.port());
    cleanups.push(() => other.close());
    other.send(fetch(7));
    expect(new KafkaReader((await other.next())!).int32()).toBe(7);
  });
});

describe('a client that floods metadata requests and never reads the replies', () => {
  it('is held to about the reply limit on the native listener, as a fetching one is', async () => {
    const { node, closed } = nodeWithTopics();
    const { url, accepted } = await serveNative(node);

    // One reply's size, read by a client that reads.
    const reader = new WebSocket(url);
    cleanups.push(() => reader.terminate());
    const one = new Promise<Buffer>((resolve) => reader.once('message', (d) => resolve(d as Buffer)));
    await new Promise<void>((resolve) => reader.once('open', () => resolve()));
    reader.send(encodeFrame({ id: 1, type: 'metadata' }));
    const replyBytes = (await one).byteLength;
    expect((decodeFrame(await one) as { topics: unknown[] }).topics).toHaveLength(TOPICS);

    const slow = new WebSocket(url);
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) => slow.once('open', () => resolve()));
    cleanups.push(() => slow.terminate());
    (slow as unknown as { _socket: net.Socket })._socket.pause();
    for (let id = 1; id <= REQUESTS; id++) slow.send(encodeFrame({ id, type: 'metadata' }));
    await until(() => accepted.length === 2, 5000, 'the connection to be accepted');
    const held = accepted[1]!;

    const peak = await peakUntil(() => held.bufferedAmount, () => held.readyState === WebSocket.CLOSED, 5000, 'the unread connection to be closed').catch(() => -1);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(LIMITS.bytesMax + 2 * replyBytes);
    expect(closed).toEqual(['client']);
  });

  it('is held to about the reply limit on the Kafka listener', async () => {
    const { node, closed } = nodeWithTopics();
    const listener = new KafkaListener(node, LIMITS);
    await listener.listen('127.0.0.1:0');
    cleanups.push(() => listener.close());
    const sockets = (listener as unknown as { sockets: Set<net.Socket> }).sockets;
    // Metadata v0 of every topic (an empty list).
    const metadata = (correlationId: number): Buffer => request(3, 0, correlationId, (w) => w.array([], (x, t: string) => x.string(t)));

    const reader = new RawClient(listener.port());
    cleanups.push(() => reader.close());
    reader.send(metadata(1));
    const replyBytes = (await reader.next())!.byteLength;

    const slow = net.connect({ host: '127.0.0.1', port: listener.port() });
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    cleanups.push(() => void slow.destroy());
    slow.pause();
    slow.write(Buffer.concat(Array.from({ length: REQUESTS }, (_, i) => metadata(i + 1))));
    await until(() => sockets.size === 2, 5000, 'the connection to be accepted');
    const held = [...sockets].at(-1)!;

    const peak = await peakUntil(() => held.writableLength, () => held.destroyed, 5000, 'the unread connection to be closed').catch(() => -1);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(LIMITS.bytesMax + 2 * replyBytes);
    expect(closed).toEqual(['kafka']);
  });
});
