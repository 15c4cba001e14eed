/**
 * What a connection reserves before serving a request (src/server/reply-bounds.ts) holds the
 * reply it then sends: replies whose size the request or the node's state decides, made by the
 * real handlers over a fake node, are no larger than their bound, errors included.
 */
import { describe, expect, it } from 'vitest';
import { handle } from '../../src/server/handlers.js';
import { replyBytesBound } from '../../src/server/reply-bounds.js';
import { newSession } from '../../src/server/session.js';
import { encodeFrame } from '../../src/wire/codec.js';
import { DEFAULT_TOPIC_CONFIG, type Request } from '../../src/wire/protocol.js';
import type { TopicRecord } from '../../src/meta/commands.js';
import { fakeKafkaNode } from '../kafka/fake-node.js';
import { apiError } from '../../src/server/handlers.js';

const LONG = 'x'.repeat(249);

function node(): ReturnType<typeof fakeKafkaNode> {
  const base = fakeKafkaNode();
  const topics: TopicRecord[] = Array.from({ length: 50 }, (_, i) => ({
    name: `${LONG.slice(0, 200)}-${i}`,
    id: `t${i + 10}`,
    partitions: 20,
    replicationFactor: 5,
    config: DEFAULT_TOPIC_CONFIG,
    assignments: Array.from({ length: 20 }, () => ['node-one', 'node-two', 'node-three', 'node-four', 'node-five']),
  }));
  const byName = new Map(topics.map((t) => [t.name, t]));
  const ids = ['node-one', 'node-two', 'node-three', 'node-four', 'node-five'];
  return {
    ...base,
    meta: { ...base.meta, topics: () => topics, topic: (name: string) => byName.get(name) ?? base.meta.topic(name) },
    nodeIds: () => ids,
    nodeRef: (id: string | null) => (id === null ? undefined : { id, address: `a-host-name.example.com:${7000 + ids.indexOf(id)}` }),
    leaderOf: () => ({ leader: 'node-three', term: 123_456 }),
  } as ReturnType<typeof fakeKafkaNode>;
}

/** The reply `req` gets, as the client server encodes it (an error reply if it fails). */
async function replyBytes(n: ReturnType<typeof fakeKafkaNode>, req: Request): Promise<number> {
  try {
    return encodeFrame({ id: 2 ** 31, ...(await handle(n, req, newSession('client', 'test'))) }).byteLength;
  } catch (err) {
    return encodeFrame({ id: 2 ** 31, error: apiError(n, err) }).byteLength;
  }
}

describe('the bound reserved for a reply', () => {
  const n = node();
  const unknown = Array.from({ length: 300 }, (_, i) => ({ topic: `${LONG.slice(0, 240)}-${i}`, partition: i }));
  const cases: Request[] = [
    { type: 'metadata' },
    { type: 'metadata', topics: ['orders', ...unknown.map((u) => u.topic)] },
    { type: 'status' },
    { type: 'produce', acks: 'all', timeoutMs: 1000, batches: unknown.map((u) => ({ ...u, records: new Uint8Array(0) })) },
    { type: 'listOffsets', partitions: unknown.map((u) => ({ ...u, spec: 'latest' as const })) },
    { type: 'fetch', maxWaitMs: 0, minBytes: 1, maxBytes: 1024, partitions: unknown.map((u) => ({ ...u, offset: 0, maxBytes: 1 })) },
    { type: 'createTopics', timeoutMs: 1000, topics: unknown.map((u) => ({ name: u.topic, partitions: 1, replicationFactor: 1 })) },
    { type: 'transferLeadership', topic: LONG, partition: 0, to: 'node-two', timeoutMs: 1000 },
    { type: 'heartbeat', group: LONG.slice(0, 255), generation: 1, memberId: LONG.slice(0, 255) },
  ];
  for (const req of cases) {
    it(`holds the reply to ${req.type}${req.type === 'metadata' && req.topics !== undefined ? ' of named topics' : ''}`, async () => {
      const bytes = await replyBytes(n, req);
      expect(bytes).toBeGreaterThan(0);
      expect(bytes).toBeLessThanOrEqual(replyBytesBound(n, req));
    });
  }

  it('is there for a node that has not opened its metadata yet, whose answer is an error', async () => {
    const opening = { ...node(), meta: undefined, metadataProblem: () => 'its metadata group is not open yet' } as unknown as ReturnType<typeof fakeKafkaNode>;
    for (const req of [{ type: 'metadata' }, { type: 'metadata', topics: ['orders'] }] as const) {
      const bound = replyBytesBound(opening, req);
      expect(await replyBytes(opening, req)).toBeLessThanOrEqual(bound);
    }
  });

  it('is not far above a metadata reply of many topics (it is not a worst case of the limits)', async () => {
    const bytes = await replyBytes(n, { type: 'metadata' });
    expect(replyBytesBound(n, { type: 'metadata' })).toBeLessThan(3 * bytes);
  });
});
