/**
 * The controller's side of alter-config and add-partitions (issue 23 §3): what it proposes (the
 * whole merged config; the new partitions placed over the nodes up and not leaving, pinned to the
 * count it saw) and what it refuses before anything is proposed.
 */
import { describe, expect, it } from 'vitest';
import { ServerError } from '../../src/errors.js';
import type { TopicRecord } from '../../src/meta/commands.js';
import { DEFAULT_TOPIC_CONFIG, ErrorCode } from '../../src/wire/protocol.js';
import { fakeControllerHost } from './controller-host.js';

const ORDERS: TopicRecord = { name: 'orders', id: 't7', partitions: 2, replicationFactor: 2, config: DEFAULT_TOPIC_CONFIG, assignments: [['n1', 'n2'], ['n2', 'n3']] };

async function refusal(p: Promise<unknown>): Promise<ServerError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof ServerError)) throw new Error(`expected a ServerError, got ${String(err)}`);
  return err;
}

describe('Controller.alterTopicConfig', () => {
  it('proposes the config with the change merged in, pinned to the topic, and answers before and after', async () => {
    const s = fakeControllerHost({ topics: [ORDERS] });
    const r = await s.controller.alterTopicConfig({ type: 'alterTopicConfig', topic: 'orders', config: { retentionMs: 5000 }, timeoutMs: 1000 });
    const config = { ...DEFAULT_TOPIC_CONFIG, retentionMs: 5000 };
    expect(r).toEqual({ topic: 'orders', previous: DEFAULT_TOPIC_CONFIG, config });
    expect(s.proposed).toEqual([{ type: 'setTopicConfig', topic: 'orders', topicId: 't7', config }]);
  });

  it('a dry run answers the config it would make and proposes nothing', async () => {
    const s = fakeControllerHost({ topics: [ORDERS] });
    const r = await s.controller.alterTopicConfig({ type: 'alterTopicConfig', topic: 'orders', config: { retentionMs: 5000 }, dryRun: true, timeoutMs: 1000 });
    expect(r).toEqual({ topic: 'orders', previous: DEFAULT_TOPIC_CONFIG, config: { ...DEFAULT_TOPIC_CONFIG, retentionMs: 5000 } });
    expect((await refusal(s.controller.alterTopicConfig({ type: 'alterTopicConfig', topic: 'nosuch', config: {}, dryRun: true, timeoutMs: 1000 }))).code).toBe(ErrorCode.UnknownTopicOrPartition);
    expect(s.proposed).toEqual([]);
  });

  it('refuses a topic that does not exist', async () => {
    const s = fakeControllerHost({ topics: [ORDERS] });
    const err = await refusal(s.controller.alterTopicConfig({ type: 'alterTopicConfig', topic: 'nosuch', config: { retentionMs: 1 }, timeoutMs: 1000 }));
    expect(err.code).toBe(ErrorCode.UnknownTopicOrPartition);
    expect(s.proposed).toEqual([]);
  });
});

describe('Controller.createPartitions', () => {
  it('places the new partitions on the nodes up and not leaving, with the topic\'s replication factor, pinned to the count it saw', async () => {
    const s = fakeControllerHost({ topics: [ORDERS], nodes: ['n1', 'n2', 'n3', 'n4'], connected: ['n2', 'n3'] });
    const r = await s.controller.createPartitions({ type: 'createPartitions', topic: 'orders', partitions: 4, timeoutMs: 100 });
    expect(r.previous).toBe(2);
    expect(r.partitions).toBe(4);
    expect(r.assignments).toHaveLength(2);
    for (const a of r.assignments) {
      expect(a).toHaveLength(2);
      expect(a.every((n) => ['n1', 'n2', 'n3'].includes(n))).toBe(true);
    }
    expect(s.proposed).toEqual([{ type: 'addPartitions', topic: 'orders', topicId: 't7', from: 2, assignments: r.assignments }]);
  });

  it('a dry run places the new partitions and proposes nothing; it is refused as the real one would be', async () => {
    const s = fakeControllerHost({ topics: [ORDERS], nodes: ['n1', 'n2', 'n3'], connected: ['n2', 'n3'] });
    const r = await s.controller.createPartitions({ type: 'createPartitions', topic: 'orders', partitions: 5, dryRun: true, timeoutMs: 100 });
    expect(r).toMatchObject({ topic: 'orders', previous: 2, partitions: 5 });
    expect(r.assignments).toHaveLength(3);
    expect((await refusal(s.controller.createPartitions({ type: 'createPartitions', topic: 'orders', partitions: 2, dryRun: true, timeoutMs: 100 }))).code).toBe(ErrorCode.InvalidPartitions);
    expect(s.proposed).toEqual([]);
  });

  it('refuses to shrink or stay, a topic that does not exist, and too few nodes up, proposing nothing', async () => {
    const s = fakeControllerHost({ topics: [ORDERS], nodes: ['n1', 'n2', 'n3'], connected: [] });
    const same = await refusal(s.controller.createPartitions({ type: 'createPartitions', topic: 'orders', partitions: 2, timeoutMs: 100 }));
    expect(same.code).toBe(ErrorCode.InvalidPartitions);
    expect(same.message).toContain('it can only grow');
    expect((await refusal(s.controller.createPartitions({ type: 'createPartitions', topic: 'nosuch', partitions: 3, timeoutMs: 100 }))).code).toBe(ErrorCode.UnknownTopicOrPartition);
    const few = await refusal(s.controller.createPartitions({ type: 'createPartitions', topic: 'orders', partitions: 3, timeoutMs: 100 }));
    expect(few.code).toBe(ErrorCode.NotEnoughReplicas);
    expect(s.proposed).toEqual([]);
  });
});
