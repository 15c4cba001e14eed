import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConsumedMessage, Consumer, ConsumerEvents } from '../../src/client/index.js';
import { RaftlogError } from '../../src/client/index.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { FakeCluster } from './fake-broker.js';
import { clientFor, eventually } from './helpers.js';

let cluster: FakeCluster;
const consumers: Consumer[] = [];
beforeEach(async () => {
  cluster = await FakeCluster.start();
});
afterEach(async () => {
  for (const c of consumers.splice(0)) await c.disconnect();
  await cluster.stop();
});

const rec = (v: string): { key: Uint8Array; value: Uint8Array } => ({ key: Buffer.from(`k-${v}`), value: Buffer.from(v) });

/** A running consumer that collects what it reads. */
async function collect(
  assignment: { topic: string; partition: number; offset: string | bigint }[],
  opts: { maxWaitTimeInMs?: number } = {},
): Promise<{ consumer: Consumer; got: { partition: number; message: ConsumedMessage }[] }> {
  const consumer = clientFor(cluster).consumer({ maxWaitTimeInMs: opts.maxWaitTimeInMs ?? 200 });
  consumers.push(consumer);
  const got: { partition: number; message: ConsumedMessage }[] = [];
  consumer.assign(assignment);
  await consumer.run({ eachMessage: ({ partition, message }) => void got.push({ partition, message }) });
  return { consumer, got };
}

const values = (got: { message: ConsumedMessage }[]): (string | null)[] => got.map((g) => g.message.value?.toString() ?? null);

describe('consumer', () => {
  it('reads from earliest what the producer wrote: keys, headers, timestamps, string offsets', async () => {
    cluster.createTopic('rt', 1);
    const producer = clientFor(cluster).producer();
    await producer.send({ topic: 'rt', messages: [{ key: 'a', value: 'one', headers: { h: 'x' }, timestamp: '1600000000000' }, { value: 'two' }] });
    await producer.disconnect();
    const { got } = await collect([{ topic: 'rt', partition: 0, offset: 'earliest' }]);
    await eventually(() => got.length === 2);
    const [first, second] = got.map((g) => g.message);
    expect(first.key?.toString()).toBe('a');
    expect(first.value?.toString()).toBe('one');
    expect(first.headers.h.toString()).toBe('x');
    expect(first.timestamp).toBe('1600000000000');
    expect(first.offset).toBe('0');
    expect(second.key).toBeNull();
    expect(second.offset).toBe('1');
  });

  it('starts at latest: only records written after it starts', async () => {
    cluster.createTopic('late', 1);
    cluster.append('late', 0, [rec('old')]);
    const { consumer, got } = await collect([{ topic: 'late', partition: 0, offset: 'latest' }]);
    await eventually(() => consumer.position('late', 0) === '1');
    cluster.append('late', 0, [rec('new')]);
    await eventually(() => got.length === 1);
    expect(values(got)).toEqual(['new']);
  });

  it('starts at an exact offset, skipping earlier records of the first batch', async () => {
    cluster.createTopic('exact', 1);
    cluster.append('exact', 0, [rec('0'), rec('1'), rec('2')]);
    cluster.append('exact', 0, [rec('3')]);
    const { got } = await collect([{ topic: 'exact', partition: 0, offset: 1n }]);
    await eventually(() => got.length === 3);
    expect(got.map((g) => g.message.offset)).toEqual(['1', '2', '3']);
  });

  it('long-polls: a record appended while the fetch waits arrives without a new request', async () => {
    cluster.createTopic('poll', 1);
    const { got } = await collect([{ topic: 'poll', partition: 0, offset: '0' }], { maxWaitTimeInMs: 5000 });
    await eventually(() => cluster.waitingFetches === 1);
    cluster.append('poll', 0, [rec('hello')]);
    await eventually(() => got.length === 1);
    // The fetch that waited carried the record; the next one waits in its turn.
    await eventually(() => cluster.waitingFetches === 1);
    expect(cluster.requestsOf('fetch')).toHaveLength(2);
    expect(cluster.requestsOf('fetch')[0].request.maxWaitMs).toBe(5000);
  });

  it('follows a leader move while reading', async () => {
    cluster.createTopic('move', 1);
    cluster.append('move', 0, [rec('a')]);
    const { got } = await collect([{ topic: 'move', partition: 0, offset: 'earliest' }]);
    await eventually(() => got.length === 1);
    cluster.moveLeader('move', 0, 'n3');
    cluster.append('move', 0, [rec('b')]);
    await eventually(() => got.length === 2);
    expect(values(got)).toEqual(['a', 'b']);
    expect(cluster.requestsOf('fetch').some((r) => r.node === 'n3')).toBe(true);
  });

  it('leaves a replica that answers STORAGE_ERROR for the leader that fresh metadata names', async () => {
    cluster.createTopic('sick', 1);
    cluster.append('sick', 0, [rec('a')]);
    const { got } = await collect([{ topic: 'sick', partition: 0, offset: 'earliest' }], { maxWaitTimeInMs: 50 });
    await eventually(() => got.length === 1);
    const old = cluster.partition('sick', 0).leader!;
    const sickFetches = (): number => cluster.requestsOf('fetch').filter((r) => r.node === old).length;
    // The replica on `old` stopped (a storage failure): it answers every fetch so, and names no leader.
    cluster.inject({ type: 'fetch', node: old, topic: 'sick', partition: 0, times: 100_000, action: { kind: 'partitionError', code: ErrorCode.StorageError } });
    const before = sickFetches();
    await eventually(() => sickFetches() >= before + 2);
    const next = cluster.brokers.length > 1 ? ['n1', 'n2', 'n3'].find((n) => n !== old)! : old;
    cluster.moveLeader('sick', 0, next);
    cluster.append('sick', 0, [rec('b')]);
    await eventually(() => got.length === 2, 5000);
    expect(values(got)).toEqual(['a', 'b']);
  });

  it('refreshes metadata older than metadataMaxAgeMs, and so finds a leader that moved without telling it', async () => {
    cluster.createTopic('aged', 1);
    const clock = new ManualClock();
    const admin = clientFor(cluster, { metadataMaxAgeMs: 100, clock }).admin();
    await admin.fetchTopicOffsets('aged');
    const asked = (): number => cluster.requestsOf('metadata').length;
    const before = asked();
    // 100 ms old is not older than the limit: the cache serves.
    await clock.advance(100);
    await admin.fetchTopicOffsets('aged');
    expect(asked()).toBe(before);
    await clock.advance(1);
    await admin.fetchTopicOffsets('aged');
    expect(asked()).toBeGreaterThan(before);
    await admin.disconnect();
  });

  it('resets an out-of-range offset to the earliest and says so', async () => {
    cluster.createTopic('range', 1);
    cluster.append('range', 0, [rec('a'), rec('b')]);
    cluster.append('range', 0, [rec('c')]);
    cluster.truncateFront('range', 0, 2);
    const consumer = clientFor(cluster).consumer({ maxWaitTimeInMs: 100 });
    consumers.push(consumer);
    const resets: ConsumerEvents['offsetReset'][] = [];
    consumer.on('offsetReset', (e) => resets.push(e));
    const got: string[] = [];
    consumer.assign([{ topic: 'range', partition: 0, offset: '0' }]);
    await consumer.run({ eachMessage: ({ message }) => void got.push(message.value?.toString() ?? '') });
    await eventually(() => got.length === 1);
    expect(got).toEqual(['c']);
    expect(resets).toEqual([{ topic: 'range', partition: 0, from: '0', to: '2' }]);
  });

  it('reads several partitions, pauses and resumes one, seeks back', async () => {
    cluster.createTopic('pp', 2);
    // One leader for both: a fetch carries both partitions unless one is paused.
    cluster.moveLeader('pp', 1, cluster.partition('pp', 0).leader);
    cluster.append('pp', 0, [rec('p0-a')]);
    cluster.append('pp', 1, [rec('p1-a')]);
    const { consumer, got } = await collect([
      { topic: 'pp', partition: 0, offset: 'earliest' },
      { topic: 'pp', partition: 1, offset: 'earliest' },
    ]);
    await eventually(() => got.length === 2);
    consumer.pause([{ topic: 'pp', partitions: [1] }]);
    expect(consumer.paused()).toEqual([{ topic: 'pp', partitions: [1] }]);
    cluster.append('pp', 1, [rec('p1-b')]);
    cluster.append('pp', 0, [rec('p0-b')]);
    await eventually(() => got.length >= 3);
    // p1-b was written first, to the same leader: a fetch that still asked for p1 would have
    // brought it with p0-b or before, and it would be handled by now.
    expect(values(got).slice(2)).toEqual(['p0-b']);
    consumer.resume([{ topic: 'pp' }]);
    await eventually(() => got.length === 4);
    expect(values(got)[3]).toBe('p1-b');
    consumer.seek({ topic: 'pp', partition: 0, offset: '0' });
    await eventually(() => got.length === 6);
    expect(values(got).slice(4)).toEqual(['p0-a', 'p0-b']);
  });

  it('hands whole batches to eachBatch with the high watermark', async () => {
    cluster.createTopic('eb', 1);
    cluster.append('eb', 0, [rec('a'), rec('b')]);
    cluster.append('eb', 0, [rec('c')]);
    const consumer = clientFor(cluster).consumer({ maxWaitTimeInMs: 100 });
    consumers.push(consumer);
    const seen: { hw: string; offsets: string[]; last: string }[] = [];
    consumer.assign([{ topic: 'eb', partition: 0, offset: '1' }]);
    await consumer.run({ eachBatch: ({ batch }) => void seen.push({ hw: batch.highWatermark, offsets: batch.messages.map((m) => m.offset), last: batch.lastOffset() }) });
    await eventually(() => seen.length === 1);
    expect(seen).toEqual([{ hw: '3', offsets: ['1', '2'], last: '2' }]);
  });

  it('stops from inside a handler, and a throwing handler crashes the loop with a typed error', async () => {
    cluster.createTopic('stop', 1);
    cluster.append('stop', 0, [rec('a'), rec('b'), rec('c')]);
    const consumer = clientFor(cluster).consumer({ maxWaitTimeInMs: 100 });
    consumers.push(consumer);
    const got: string[] = [];
    consumer.assign([{ topic: 'stop', partition: 0, offset: 'earliest' }]);
    let stopped = false;
    consumer.on('stop', () => (stopped = true));
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.offset);
        if (got.length === 2) await consumer.stop();
      },
    });
    await eventually(() => stopped);
    expect(got).toEqual(['0', '1']);
    expect(consumer.position('stop', 0)).toBe('2');

    const crashes: RaftlogError[] = [];
    consumer.on('crash', (e) => crashes.push(e.error));
    await consumer.run({ eachMessage: () => Promise.reject(new Error('boom')) });
    await eventually(() => crashes.length === 1);
    expect(crashes[0].code).toBe('HANDLER_ERROR');
    expect(consumer.position('stop', 0)).toBe('2');
  });

  it('refuses a partition that does not exist', async () => {
    cluster.createTopic('small', 1);
    const consumer = clientFor(cluster).consumer();
    consumers.push(consumer);
    consumer.assign([{ topic: 'small', partition: 4, offset: 'earliest' }]);
    await expect(consumer.run({ eachMessage: () => undefined })).rejects.toThrow(/partition 4 does not exist/);
  });
});
