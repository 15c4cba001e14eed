/**
 * Producer ids and epochs from InitProducerId (issue 18 item 6): a transactional id keeps its
 * producer id and fences the previous producer; a producer that re-initializes keeps its id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RaftlogError } from '../../src/client/index.js';
import { leaderOf, startCluster, type TestCluster } from './helpers.js';
import { rawRequest } from './raw.js';

let t: TestCluster;
beforeAll(async () => {
  t = await startCluster(3);
  await t.client.admin().createTopics({ topics: [{ topic: 'tx', numPartitions: 1, replicationFactor: 3 }] });
});
afterAll(async () => {
  await t.close();
});

async function init(body: Record<string, unknown>): Promise<{ producerId?: number; producerEpoch?: number; error?: { code: string } }> {
  const controller = await leaderOf(t, 'meta');
  return (await rawRequest(t.cluster.node(controller).address, { type: 'initProducerId', timeoutMs: 5000, ...body })) as never;
}

describe('InitProducerId', () => {
  it('gives a known transactional id its producer id again, one epoch later', async () => {
    const a = await init({ transactionalId: 'orders-writer' });
    const b = await init({ transactionalId: 'orders-writer' });
    expect(a.error).toBeUndefined();
    expect(b).toMatchObject({ producerId: a.producerId, producerEpoch: a.producerEpoch! + 1 });
    const other = await init({ transactionalId: 'other-writer' });
    expect(other.producerId).not.toBe(a.producerId);
  });

  it('re-initializes a producer at its next epoch, and refuses a stale epoch of it', async () => {
    const a = await init({});
    const again = await init({ producerId: a.producerId, producerEpoch: a.producerEpoch });
    expect(again).toMatchObject({ producerId: a.producerId, producerEpoch: a.producerEpoch! + 1 });
    const stale = await init({ producerId: a.producerId, producerEpoch: a.producerEpoch });
    expect(stale.error?.code).toBe('INVALID_PRODUCER_EPOCH');
    const never = await init({ producerId: 9_999_999, producerEpoch: 0 });
    expect(never.error?.code).toBe('INVALID_REQUEST');
  });

  it('a second producer with the same transactional id fences the first: the zombie\'s writes are refused', async () => {
    const first = t.client.producer({ transactionalId: 'fenced' });
    await first.send({ topic: 'tx', messages: [{ value: 'from the first' }] });
    const second = t.client.producer({ transactionalId: 'fenced' });
    await second.send({ topic: 'tx', messages: [{ value: 'from the second' }] });
    let err: unknown = null;
    try {
      await first.send({ topic: 'tx', messages: [{ value: 'from the zombie' }] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RaftlogError);
    expect((err as RaftlogError).code).toBe('INVALID_PRODUCER_EPOCH');
    // It stays fenced (it does not take the id back), and the second producer goes on writing.
    await expect(first.send({ topic: 'tx', messages: [{ value: 'again' }] })).rejects.toThrow(/was fenced/);
    await second.send({ topic: 'tx', messages: [{ value: 'still the second' }] });
    await first.disconnect();
    await second.disconnect();
  });
});
