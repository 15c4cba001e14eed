import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/codec.js';
import { RaftlogError } from '../../src/client/index.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { AUTH_FAILED } from '../../src/transport/peer-transport.js';
import { readPartition, startCluster, type TestCluster } from './helpers.js';
import { Raw } from './raw.js';

describe('bad input gets a typed error or a closed connection, and the node keeps running with its data', () => {
  let t: TestCluster;
  let leaderAddress: string;
  let before: string[];

  beforeAll(async () => {
    t = await startCluster(3);
    const admin = t.client.admin();
    await admin.createTopics({ topics: [{ topic: 'safe', numPartitions: 1, replicationFactor: 3 }] });
    const producer = t.client.producer();
    await producer.send({ topic: 'safe', messages: Array.from({ length: 20 }, (_, i) => ({ value: `kept ${i}` })) });
    await producer.disconnect();
    before = (await readPartition(t.client, 'safe', 0)).map((m) => `${m.offset}:${m.value}`);
    const { topics } = await admin.describeTopics({ topics: ['safe'] });
    const leader = topics[0]!.partitions[0]!.leader!;
    leaderAddress = t.cluster.node(leader).address;
    await admin.disconnect();
  });

  afterAll(async () => {
    // Every node is still up, and the data is exactly what it was (and the cluster is stopped whatever this finds).
    try {
      for (const n of t.cluster.nodes) expect(n.process, `${n.id} exited: ${n.exit}`).not.toBeNull();
      expect((await readPartition(t.client, 'safe', 0)).map((m) => `${m.offset}:${m.value}`)).toEqual(before);
    } finally {
      await t?.close();
    }
  });

  it('refuses invalid topic names with INVALID_TOPIC', async () => {
    const admin = t.client.admin();
    for (const name of ['', 'has space', 'a'.repeat(250), 'slash/name', '..']) {
      await expect(admin.createTopics({ topics: [{ topic: name, numPartitions: 1, replicationFactor: 1 }] })).rejects.toMatchObject({ code: 'INVALID_TOPIC' });
    }
    await admin.disconnect();
    const raw = new Raw(leaderAddress);
    await raw.open;
    raw.send(encodeFrame({ id: 1, type: 'produce', acks: 'all', timeoutMs: 1000, batches: [{ topic: 'no such name!', partition: 0, records: encodeBatch([{ value: Buffer.from('x') }]) }] }));
    expect((await raw.next()).error?.code).toBe('INVALID_TOPIC');
    raw.close();
  });

  it('refuses oversized and corrupt record batches with RECORD_TOO_LARGE and CORRUPT_MESSAGE', async () => {
    const producer = t.client.producer();
    const err = await producer.send({ topic: 'safe', messages: [{ value: Buffer.alloc(2 * 1024 * 1024, 1) }] }).catch((e: unknown) => e);
    await producer.disconnect();
    expect(err).toBeInstanceOf(RaftlogError);
    expect((err as RaftlogError).code).toBe('RECORD_TOO_LARGE');

    const raw = new Raw(leaderAddress);
    await raw.open;
    const batch = Buffer.from(encodeBatch([{ value: Buffer.from('flipped') }]));
    batch[batch.length - 1] = batch[batch.length - 1]! ^ 0xff;
    raw.send(encodeFrame({ id: 7, type: 'produce', acks: 'all', timeoutMs: 1000, batches: [{ topic: 'safe', partition: 0, records: batch }] }));
    const r = await raw.next();
    expect((r['results'] as { error: { code: string } }[])[0]!.error.code).toBe('CORRUPT_MESSAGE');
    raw.send(encodeFrame({ id: 8, type: 'produce', acks: 'all', timeoutMs: 1000, batches: [{ topic: 'safe', partition: 0, records: Buffer.from('not a batch') }] }));
    expect(((await raw.next())['results'] as { error: { code: string } }[])[0]!.error.code).toBe('CORRUPT_MESSAGE');
    raw.close();
  });

  it('answers malformed frames and unknown or ill-typed requests with INVALID_REQUEST / UNSUPPORTED_REQUEST', async () => {
    const raw = new Raw(leaderAddress);
    await raw.open;
    raw.send(Buffer.from([0xd9, 0xff, 0x01])); // a msgpack string that claims 255 bytes and has 1
    expect(await raw.next()).toMatchObject({ id: -1, error: { code: 'INVALID_REQUEST' } });
    raw.send('{"id": 1, "type": "metadata"}'); // text, not binary msgpack
    expect(await raw.next()).toMatchObject({ id: -1, error: { code: 'INVALID_REQUEST' } });
    raw.send(encodeFrame({ id: 2, type: 'teleport' }));
    expect(await raw.next()).toMatchObject({ id: 2, error: { code: 'UNSUPPORTED_REQUEST' } });
    raw.send(encodeFrame({ id: 3, type: 'fetch', partitions: 'all of them' }));
    expect(await raw.next()).toMatchObject({ id: 3, error: { code: 'INVALID_REQUEST' } });
    raw.send(encodeFrame({ id: 4, type: 'fetch', maxWaitMs: -5, partitions: [] }));
    expect(await raw.next()).toMatchObject({ id: 4, error: { code: 'INVALID_REQUEST' } });
    raw.send(encodeFrame([1, 2, 3]));
    expect(await raw.next()).toMatchObject({ id: -1, error: { code: 'INVALID_REQUEST' } });
    // The connection still works after all that.
    raw.send(encodeFrame({ id: 5, type: 'metadata', topics: ['safe'] }));
    expect((await raw.next()).id).toBe(5);
    raw.close();
  });

  it('closes the connection on a frame over the size limit (1009)', async () => {
    const raw = new Raw(leaderAddress);
    await raw.open;
    raw.send(Buffer.alloc(65 * 1024 * 1024, 0x90));
    expect((await raw.closedWith(20_000)).code).toBe(1009);
  });

  it('refuses a peer that does not know the cluster secret', async () => {
    // n1 dials n3, so claiming to be n1 at n3 gets as far as the secret check.
    const raw = new Raw(t.cluster.node('n3').address, '/raft');
    await raw.open;
    const challenge = (await raw.next()) as unknown as { t: string; id: string; nonce: string };
    expect(challenge).toMatchObject({ t: 'challenge', id: 'n3' });
    raw.send(encodeFrame({ t: 'auth', id: 'n1', nonce: 'abc', cluster: '', inc: 'x', member: false, mac: 'not-the-right-mac' }));
    expect((await raw.closedWith()).code).toBe(AUTH_FAILED);
    // A stranger's Raft traffic without a handshake is refused too.
    const raw2 = new Raw(leaderAddress, '/raft');
    await raw2.open;
    await raw2.next();
    raw2.send(encodeFrame({ t: 'raft', m: [['meta', { type: 'timeoutNow', from: 'x', to: 'y', term: 99 }]] }));
    expect((await raw2.closedWith()).code).toBe(AUTH_FAILED);
  });
});
