import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClientErrorCode, ErrorCode, RaftlogError } from '../../src/client/index.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { readBatchHeader } from '../../src/wire/record-batch/header.js';
import { FakeCluster } from './fake-broker.js';
import { clientFor, eventually, text } from './helpers.js';

let cluster: FakeCluster;
beforeEach(async () => {
  cluster = await FakeCluster.start();
});
afterEach(async () => {
  await cluster.stop();
});

describe('producer', () => {
  it('sends records with keys, headers and timestamps, answering offsets in message order', async () => {
    cluster.createTopic('orders', 1);
    const producer = clientFor(cluster).producer();
    const result = await producer.send({
      topic: 'orders',
      messages: [
        { key: 'k1', value: 'v1', headers: { trace: 'abc', bin: Buffer.from([1, 2]) }, timestamp: '1700000000000' },
        { key: null, value: Buffer.from('v2'), timestamp: 1700000000001 },
        { value: null },
      ],
    });
    expect(result).toEqual([
      { topic: 'orders', partition: 0, offset: '0' },
      { topic: 'orders', partition: 0, offset: '1' },
      { topic: 'orders', partition: 0, offset: '2' },
    ]);
    const stored = cluster.records('orders', 0);
    expect(stored.map((r) => [text(r.key), text(r.value), r.timestamp < 1700000000002 ? r.timestamp : 'now'])).toEqual([
      ['k1', 'v1', 1700000000000],
      [null, 'v2', 1700000000001],
      [null, null, 'now'],
    ]);
    expect(stored[0].headers.map((h) => [h.key, [...(h.value ?? [])]])).toEqual([
      ['trace', [...Buffer.from('abc')]],
      ['bin', [1, 2]],
    ]);
    await producer.disconnect();
  });

  it('refuses a malformed message with a rejection that names it, and sends nothing of that call', async () => {
    cluster.createTopic('orders', 1);
    const producer = clientFor(cluster).producer();
    const bad: [unknown, string][] = [
      [null, "message 1 to 'orders' must be an object with a value"],
      [{ key: 'k' }, "message 1 to 'orders' has no value (use null for a tombstone)"],
      [{ value: 42 }, "message 1 to 'orders' value must be a string, a Buffer or null"],
      [{ key: {}, value: 'v' }, "message 1 to 'orders' key must be a string, a Buffer or null"],
      [{ value: 'v', headers: 'h' }, "message 1 to 'orders' headers must be an object"],
      [{ value: 'v', headers: { trace: 7 } }, "message 1 to 'orders' header 'trace' must be a string, a Buffer or null"],
      [{ value: 'v', timestamp: 'yesterday' }, "message 1 to 'orders' has timestamp yesterday, which is not ms since the epoch"],
    ];
    for (const [message, why] of bad) {
      const sent = producer.send({ topic: 'orders', messages: [{ value: 'fine' }, message as never] });
      await expect(sent).rejects.toThrow(why);
      await expect(sent).rejects.toMatchObject({ code: ClientErrorCode.InvalidArgument });
    }
    await expect(producer.send(null as never)).rejects.toMatchObject({ code: ClientErrorCode.InvalidArgument, message: 'send() takes { topic, messages, acks? }' });
    await expect(producer.sendBatch({ topicMessages: 'x' as never })).rejects.toThrow('topicMessages must be an array');
    await expect(producer.sendBatch(undefined as never)).rejects.toMatchObject({ code: ClientErrorCode.InvalidArgument, message: 'sendBatch() takes { topicMessages, acks? }' });
    await producer.flush();
    expect(cluster.records('orders', 0)).toEqual([]);
    await producer.disconnect();
  });

  it('puts a keyed record on the partition Kafka would pick (murmur2)', async () => {
    cluster.createTopic('keys', 6);
    const producer = clientFor(cluster).producer();
    const keys = Array.from({ length: 30 }, (_, i) => `user-${i}`);
    const result = await producer.send({ topic: 'keys', messages: keys.map((k) => ({ key: k, value: 'x' })) });
    for (const [i, k] of keys.entries()) expect(result[i].partition).toBe(partitionForKey(Buffer.from(k), 6));
    // Known value from Kafka's partitioner: murmur2("foobar") = -790332482.
    expect(partitionForKey(Buffer.from('foobar'), 6)).toBe((-790332482 & 0x7fffffff) % 6);
    await producer.disconnect();
  });

  it('sticks keyless records to one partition per batch, moving on after the batch is sent', async () => {
    cluster.createTopic('sticky', 4);
    const producer = clientFor(cluster).producer({ lingerMs: 20 });
    const first = await producer.send({ topic: 'sticky', messages: Array.from({ length: 20 }, (_, i) => ({ value: `a${i}` })) });
    expect(new Set(first.map((r) => r.partition)).size).toBe(1);
    const second = await producer.send({ topic: 'sticky', messages: [{ value: 'b' }] });
    expect(second[0].partition).not.toBe(first[0].partition);
    const explicit = await producer.send({ topic: 'sticky', messages: [{ value: 'c', partition: 3, key: 'ignored' }] });
    expect(explicit[0].partition).toBe(3);
    await producer.disconnect();
  });

  it('batches many sends within one linger window into one batch and one request', async () => {
    cluster.createTopic('batched', 1);
    const producer = clientFor(cluster).producer({ lingerMs: 30 });
    await producer.connect();
    const sends = Array.from({ length: 50 }, (_, i) => producer.send({ topic: 'batched', messages: [{ value: `m${i}` }] }));
    const results = await Promise.all(sends);
    expect(results.map((r) => r[0].offset)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(cluster.batches('batched', 0)).toHaveLength(1);
    expect(cluster.requestsOf('produce')).toHaveLength(1);
    await producer.disconnect();
  });

  it('closes a batch at batchBytes and carries batches of several partitions in one request', async () => {
    cluster.createTopic('multi', 3, 1); // partition p led by node p+1... make all led by n1
    for (let p = 0; p < 3; p++) cluster.partition('multi', p).leader = 'n1';
    const producer = clientFor(cluster).producer({ lingerMs: 30 });
    await producer.connect();
    // One send: the three batches open in the same turn, so their linger times end together.
    await producer.send({ topic: 'multi', messages: [0, 1, 2].map((p) => ({ value: 'x', partition: p })) });
    const produce = cluster.requestsOf('produce');
    expect(produce).toHaveLength(1);
    expect(produce[0].request.batches.map((b) => b.partition).sort()).toEqual([0, 1, 2]);

    const small = clientFor(cluster).producer({ lingerMs: 200, batchBytes: 1000 });
    const big = 'y'.repeat(400);
    await small.send({ topic: 'multi', messages: [0, 1, 2, 3, 4].map(() => ({ value: big, partition: 0 })) });
    expect(cluster.batches('multi', 0).length).toBeGreaterThanOrEqual(3);
    await Promise.all([producer.disconnect(), small.disconnect()]);
  });

  it('sends a batch that reached eagerBatchBytes at the end of the turn, with every record sent in that turn; small batches keep lingering', async () => {
    cluster.createTopic('eager', 2, 1);
    for (let p = 0; p < 2; p++) cluster.partition('eager', p).leader = 'n1';
    const producer = clientFor(cluster).producer({ lingerMs: 60_000, eagerBatchBytes: 2000 });
    await producer.connect();
    const small = producer.send({ topic: 'eager', messages: [{ value: 'x', partition: 0 }] });
    const big = 'y'.repeat(500);
    // Seven sends in one turn: the batch passes 2000 bytes at the fourth, and all seven go together.
    const burst = await Promise.all(Array.from({ length: 7 }, () => producer.send({ topic: 'eager', messages: [{ value: big, partition: 1 }] })));
    expect(burst.map((r) => r[0].offset)).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(cluster.batches('eager', 1)).toHaveLength(1);
    // The one-record batch is still lingering (its 60 s are not up); disconnect flushes it.
    expect(cluster.batches('eager', 0)).toHaveLength(0);
    await producer.disconnect();
    expect((await small)[0].offset).toBe('0');
  });

  it('stamps producer id, epoch and sequence numbers; sequences continue across batches', async () => {
    cluster.createTopic('idem', 1);
    const producer = clientFor(cluster).producer();
    await producer.send({ topic: 'idem', messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.send({ topic: 'idem', messages: [{ value: 'c' }] });
    const headers = cluster.batches('idem', 0).map((b) => readBatchHeader(b));
    expect(headers.map((h) => [h.producerId, h.producerEpoch, h.baseSequence])).toEqual([
      [1000, 0, 0],
      [1000, 0, 2],
    ]);
    const plain = clientFor(cluster).producer({ idempotent: false });
    await plain.send({ topic: 'idem', messages: [{ value: 'd' }] });
    expect(readBatchHeader(cluster.batches('idem', 0)[2]).producerId).toBe(-1);
    await Promise.all([producer.disconnect(), plain.disconnect()]);
  });

  it('follows a NOT_LEADER hint straight to the new leader', async () => {
    cluster.createTopic('moved', 1);
    const producer = clientFor(cluster).producer();
    await producer.send({ topic: 'moved', messages: [{ value: 'before' }] });
    cluster.moveLeader('moved', 0, 'n2');
    const metadataBefore = cluster.requestsOf('metadata').length;
    const r = await producer.send({ topic: 'moved', messages: [{ value: 'after' }] });
    expect(cluster.requestsOf('metadata').length).toBe(metadataBefore); // no refresh was needed
    expect(r[0].offset).toBe('1');
    const nodes = cluster.requestsOf('produce').map((x) => x.node);
    expect(nodes).toEqual(['n1', 'n1', 'n2']);
    expect(cluster.values('moved', 0)).toEqual(['before', 'after']);
    await producer.disconnect();
  });

  it('refreshes metadata after NOT_LEADER without a hint', async () => {
    cluster.createTopic('nohint', 1);
    const producer = clientFor(cluster).producer();
    await producer.connect();
    await producer.send({ topic: 'nohint', messages: [{ value: 'a' }] });
    const before = cluster.requestsOf('metadata').length;
    cluster.partition('nohint', 0).leader = 'n3';
    cluster.partition('nohint', 0).leaderTerm++;
    cluster.inject({ type: 'produce', node: 'n1', action: { kind: 'partitionError', code: ErrorCode.NotLeader } });
    await producer.send({ topic: 'nohint', messages: [{ value: 'b' }] });
    expect(cluster.requestsOf('metadata').length).toBeGreaterThan(before);
    expect(cluster.requestsOf('produce').at(-1)?.node).toBe('n3');
    await producer.disconnect();
  });

  // The 20 s limit is the assertion: before, every drain waited for the metadata refresh (each
  // silent node costs the 1.5 s any-node bound), so the 20 sends below took minutes.
  it('keeps sending to the leaders it knows while a metadata refresh hangs; only the partition that lost its leader waits for it', { timeout: 20_000 }, async () => {
    cluster.createTopic('split', 2); // partition 0 led by n1, partition 1 by n2
    const producer = clientFor(cluster, { requestTimeoutMs: 10_000 }).producer({ lingerMs: 0 });
    await producer.connect();
    await producer.send({ topic: 'split', messages: [{ value: 'p0', partition: 0 }, { value: 'p1', partition: 1 }] });

    // Every node stops answering metadata; partition 1's leader answers once without a hint.
    cluster.inject({ type: 'metadata', times: 1_000_000, action: { kind: 'drop', apply: false } });
    cluster.inject({ type: 'produce', node: 'n2', action: { kind: 'partitionError', code: ErrorCode.LeaderNotAvailable } });
    const before = cluster.requests.length;
    const metadataBefore = cluster.requestsOf('metadata').length;
    const waiting = producer.send({ topic: 'split', messages: [{ value: 'after', partition: 1 }] });
    await eventually(() => cluster.requestsOf('metadata').length > metadataBefore);

    for (let i = 0; i < 20; i++) {
      const [r] = await producer.send({ topic: 'split', messages: [{ value: `n${i}`, partition: 0 }] });
      expect(r.offset).toBe(String(i + 1));
    }
    expect(cluster.values('split', 1)).toEqual(['p1']);

    cluster.faults.length = 0;
    expect((await waiting)[0].offset).toBe('1');
    // Partition 1 was retried only after a metadata request that followed its failure.
    const toP1 = cluster.requests.flatMap((r, i) => (i >= before && r.request.type === 'produce' && r.request.batches.some((b) => b.partition === 1) ? [i] : []));
    const refreshAt = cluster.requests.findIndex((r, i) => i >= before && r.type === 'metadata');
    expect(toP1).toHaveLength(2);
    expect(refreshAt).toBeGreaterThan(toP1[0]!);
    expect(toP1[1]).toBeGreaterThan(refreshAt);
    expect(cluster.values('split', 1)).toEqual(['p1', 'after']);
    await producer.disconnect();
  });

  it('resends the same batch after a dropped response, and the leader drops the duplicate', async () => {
    cluster.createTopic('dup', 1);
    const producer = clientFor(cluster, { requestTimeoutMs: 300 }).producer({ requestTimeoutMs: 200 });
    await producer.connect();
    cluster.inject({ type: 'produce', action: { kind: 'drop', apply: true } });
    const r = await producer.send({ topic: 'dup', messages: [{ value: 'once' }, { value: 'twice?' }] });
    expect(r.map((x) => x.offset)).toEqual(['0', '1']);
    const sent = cluster.requestsOf('produce');
    expect(sent).toHaveLength(2);
    expect(Buffer.from(sent[1].request.batches[0].records).equals(Buffer.from(sent[0].request.batches[0].records))).toBe(true);
    expect(cluster.values('dup', 0)).toEqual(['once', 'twice?']);
    await producer.disconnect();
  });

  it('retries after a connection closed mid-request without duplicating', async () => {
    cluster.createTopic('closed', 1);
    const producer = clientFor(cluster).producer();
    await producer.connect();
    cluster.inject({ type: 'produce', action: { kind: 'close', apply: true } });
    await producer.send({ topic: 'closed', messages: [{ value: 'x' }] });
    expect(cluster.values('closed', 0)).toEqual(['x']);
    await producer.disconnect();
  });

  it('keeps order per partition while batches are retried', async () => {
    cluster.createTopic('ordered', 1);
    const producer = clientFor(cluster).producer({ lingerMs: 0, requestTimeoutMs: 150 });
    await producer.connect();
    cluster.inject({ type: 'produce', times: 2, action: { kind: 'partitionError', code: ErrorCode.NotEnoughReplicas } });
    cluster.inject({ type: 'produce', action: { kind: 'drop', apply: true } });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      sends.push(producer.send({ topic: 'ordered', messages: [{ value: String(i) }] }));
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(sends);
    expect(cluster.values('ordered', 0)).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    // At most one produce request was in flight for the partition: every request holds one batch.
    expect(cluster.requestsOf('produce').every((r) => r.request.batches.length === 1)).toBe(true);
    await producer.disconnect();
  });

  it('rejects with a typed error once the delivery deadline passes', async () => {
    cluster.createTopic('stuck', 1);
    const producer = clientFor(cluster, { retry: { retries: 1000, initialRetryTimeMs: 20, maxRetryTimeMs: 40 } }).producer({ deliveryTimeoutMs: 300 });
    await producer.connect();
    cluster.inject({ type: 'produce', times: 1000, action: { kind: 'partitionError', code: ErrorCode.LeaderNotAvailable } });
    const err = await producer.send({ topic: 'stuck', messages: [{ value: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftlogError);
    expect((err as RaftlogError).code).toBe(ErrorCode.LeaderNotAvailable);
    expect((err as RaftlogError).retriable).toBe(true);
    // The deadline, not the 1000 retries, ended it: retries at least 20 ms apart fit at most
    // 300 / 20 + 1 attempts in 300 ms.
    const attempts = Number(/gave up after (\d+) attempts/.exec((err as RaftlogError).message)?.[1]);
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(16);
    expect(cluster.requestsOf('produce').length).toBe(attempts);
    await producer.disconnect();
  });

  it('rejects at once on an error that cannot be retried, and carries on with later batches', async () => {
    cluster.createTopic('large', 1, 3, { maxMessageBytes: 200 });
    const producer = clientFor(cluster).producer();
    const err = await producer.send({ topic: 'large', messages: [{ value: 'z'.repeat(500) }] }).catch((e: unknown) => e);
    expect((err as RaftlogError).code).toBe(ErrorCode.RecordTooLarge);
    expect((err as RaftlogError).retriable).toBe(false);
    expect(cluster.requestsOf('produce')).toHaveLength(1);
    const ok = await producer.send({ topic: 'large', messages: [{ value: 'small' }] });
    expect(ok[0].offset).toBe('0');
    const tooBig = await producer.send({ topic: 'large', messages: [{ value: Buffer.alloc(2 * 1024 * 1024) }] }).catch((e: unknown) => e);
    expect((tooBig as RaftlogError).code).toBe(ErrorCode.RecordTooLarge);
    await producer.disconnect();
  });

  it('rejects a send to a topic that does not exist, saying how to create it', async () => {
    const producer = clientFor(cluster, { retry: { retries: 1, initialRetryTimeMs: 10, maxRetryTimeMs: 10 } }).producer();
    const err = await producer.send({ topic: 'nope', messages: [{ value: 'x' }] }).catch((e: unknown) => e);
    expect((err as RaftlogError).code).toBe(ErrorCode.UnknownTopicOrPartition);
    expect((err as RaftlogError).message).toContain('raftlog topics create nope');
    const bad = await producer.send({ topic: 'bad name', messages: [{ value: 'x' }] }).catch((e: unknown) => e);
    expect((bad as RaftlogError).code).toBe(ErrorCode.InvalidTopic);
    await producer.disconnect();
  });

  it('with acks none resolves once written, with offset -1', async () => {
    cluster.createTopic('fire', 1);
    const producer = clientFor(cluster).producer({ acks: 'none' });
    const r = await producer.send({ topic: 'fire', messages: [{ value: 'a' }, { value: 'b' }] });
    expect(r).toEqual([
      { topic: 'fire', partition: 0, offset: '-1' },
      { topic: 'fire', partition: 0, offset: '-1' },
    ]);
    await producer.flush();
    // Nothing answers acks=none: the records are there once the partition has committed them.
    await eventually(() => cluster.values('fire', 0).length === 2);
    expect(cluster.values('fire', 0)).toEqual(['a', 'b']);
    expect(cluster.requestsOf('produce')[0].request.acks).toBe('none');
    expect(readBatchHeader(cluster.batches('fire', 0)[0]).producerId).toBe(-1);
    await producer.disconnect();
  });

  it('sendBatch sends to several topics, results in topic then message order', async () => {
    cluster.createTopic('t1', 1);
    cluster.createTopic('t2', 2);
    const producer = clientFor(cluster).producer();
    const r = await producer.sendBatch({
      topicMessages: [
        { topic: 't1', messages: [{ value: 'a' }, { value: 'b' }] },
        { topic: 't2', messages: [{ value: 'c', partition: 1 }] },
      ],
    });
    expect(r).toEqual([
      { topic: 't1', partition: 0, offset: '0' },
      { topic: 't1', partition: 0, offset: '1' },
      { topic: 't2', partition: 1, offset: '0' },
    ]);
    await producer.disconnect();
  });

  it('takes its producer id from the controller, following NOT_LEADER', async () => {
    cluster.createTopic('pid', 1);
    cluster.controller = 'n2';
    cluster.reportedController = 'n1';
    const producer = clientFor(cluster).producer();
    await producer.send({ topic: 'pid', messages: [{ value: 'x' }] });
    expect(cluster.requestsOf('initProducerId').map((r) => r.node)).toEqual(['n1', 'n2']);
    await producer.disconnect();
  });

  it('takes a new producer id after giving up on a batch whose outcome is unknown', async () => {
    cluster.createTopic('lost', 1);
    const producer = clientFor(cluster, { retry: { retries: 1, initialRetryTimeMs: 10, maxRetryTimeMs: 10 } }).producer({ requestTimeoutMs: 100 });
    await producer.connect();
    cluster.inject({ type: 'produce', times: 2, action: { kind: 'drop', apply: false } });
    const err = await producer.send({ topic: 'lost', messages: [{ value: 'lost' }] }).catch((e: unknown) => e);
    expect((err as RaftlogError).code).toBe(ErrorCode.RequestTimedOut);
    expect((err as RaftlogError).outcomeUnknown).toBe(true);
    await producer.send({ topic: 'lost', messages: [{ value: 'next' }] });
    expect(cluster.values('lost', 0)).toEqual(['next']);
    expect(cluster.requestsOf('initProducerId')).toHaveLength(2);
    const h = readBatchHeader(cluster.batches('lost', 0)[0]);
    expect([h.producerId, h.baseSequence]).toEqual([1001, 0]);
    await producer.disconnect();
  });
});
