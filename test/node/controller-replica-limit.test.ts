/**
 * Topic creation within the nodes' open-files limit (issue 22 §1): a topic whose replicas would
 * take a node past what its `ulimit -n` leaves room for is refused before anything is proposed,
 * with INVALID_PARTITIONS and a message that names the node, the limit and what to raise; a topic
 * that fits goes ahead.
 */
import { describe, expect, it } from 'vitest';
import type { TopicRecord } from '../../src/meta/commands.js';
import { FILES_RESERVED, replicaLimit } from '../../src/node/limits.js';
import { DEFAULT_TOPIC_CONFIG, ErrorCode, type CreateTopicsResponse } from '../../src/wire/protocol.js';
import { fakeControllerHost, type FakeHost } from './controller-host.js';

/** 40 partitions on n1, n2, n3: 40 replicas on each. */
const EXISTING: TopicRecord = {
  name: 'existing',
  id: 't1',
  partitions: 40,
  replicationFactor: 3,
  config: DEFAULT_TOPIC_CONFIG,
  assignments: Array.from({ length: 40 }, () => ['n1', 'n2', 'n3']),
};

function create(s: FakeHost, name: string, partitions: number): Promise<CreateTopicsResponse> {
  return s.controller.createTopics({ type: 'createTopics', topics: [{ name, partitions, replicationFactor: 3 }], timeoutMs: 1000 });
}

describe('Controller.createTopics within the open-files limit', () => {
  // ulimit -n 256 leaves room for 256 - FILES_RESERVED replicas a node.
  const limit = replicaLimit(256)!;

  it('refuses a topic that would put more replicas on a node than its open-files limit allows, proposing nothing, and says what to raise', async () => {
    expect(limit.replicas).toBe(256 - FILES_RESERVED);
    const s = fakeControllerHost({ nodes: ['n1', 'n2', 'n3'], topics: [EXISTING], replicaLimit: limit });
    const r = await create(s, 'many', 300);
    expect(s.proposed).toEqual([]);
    expect(r.topics).toHaveLength(1);
    expect(r.topics[0]!.error?.code).toBe(ErrorCode.InvalidPartitions);
    const message = r.topics[0]!.error!.message;
    expect(message).toMatch(/topic 'many' would put 340 partition replicas on node n\d \(it holds 40\)/);
    expect(message).toMatch(/raise ulimit -n \(now 256; needs about \d+\)/);
    expect(message).toContain('or create fewer partitions');
  });

  it('creates a topic that fits beside the replicas the nodes hold', async () => {
    const s = fakeControllerHost({ nodes: ['n1', 'n2', 'n3'], topics: [EXISTING], replicaLimit: limit });
    const r = await create(s, 'few', limit.replicas - 40);
    expect(r.topics).toEqual([{ name: 'few' }]);
    expect(s.proposed.map((c) => c.type)).toEqual(['createTopic']);
    const one = await create(fakeControllerHost({ nodes: ['n1', 'n2', 'n3'], topics: [EXISTING], replicaLimit: limit }), 'one-too-many', limit.replicas - 40 + 1);
    expect(one.topics[0]!.error?.code).toBe(ErrorCode.InvalidPartitions);
  });

  it('refuses nothing when the limit is not known', async () => {
    const s = fakeControllerHost({ nodes: ['n1', 'n2', 'n3'], topics: [EXISTING] });
    const r = await create(s, 'many', 5000);
    expect(r.topics).toEqual([{ name: 'many' }]);
  });
});
