/**
 * A running topic's changes as the metadata group applies them (src/meta/topic-changes.ts): a
 * new config, and new partitions, each pinned to the topic's id and, for partitions, to the count
 * the controller planned for, so a stale or doubled command changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG, ErrorCode, LIMITS } from '../../src/wire/protocol.js';
import type { TopicRecord } from '../../src/meta/commands.js';
import { changeTopic } from '../../src/meta/topic-changes.js';

const topic: TopicRecord = { name: 'orders', id: 't7', partitions: 2, replicationFactor: 2, config: DEFAULT_TOPIC_CONFIG, assignments: [['n1', 'n2'], ['n2', 'n3']], moved: [true, false] };

describe('changeTopic', () => {
  it('sets the whole new config, nothing else', () => {
    const config = { ...DEFAULT_TOPIC_CONFIG, retentionMs: 1000 };
    expect(changeTopic(topic, { type: 'setTopicConfig', topic: 'orders', topicId: 't7', config })).toEqual({ ok: true, value: { ...topic, config } });
  });

  it('adds partitions after the existing ones, founded by their replicas (not moved)', () => {
    const r = changeTopic(topic, { type: 'addPartitions', topic: 'orders', topicId: 't7', from: 2, assignments: [['n3', 'n1']] });
    expect(r).toEqual({ ok: true, value: { ...topic, partitions: 3, assignments: [['n1', 'n2'], ['n2', 'n3'], ['n3', 'n1']], moved: [true, false, false] } });
  });

  it('changes nothing for a topic deleted, or deleted and created again, since', () => {
    const config = DEFAULT_TOPIC_CONFIG;
    expect(changeTopic(undefined, { type: 'setTopicConfig', topic: 'orders', topicId: 't7', config })).toMatchObject({ ok: false, code: ErrorCode.UnknownTopicOrPartition });
    const again = changeTopic({ ...topic, id: 't9' }, { type: 'addPartitions', topic: 'orders', topicId: 't7', from: 2, assignments: [['n1', 'n2']] });
    expect(again).toMatchObject({ ok: false, code: ErrorCode.UnknownTopicOrPartition });
    expect(!again.ok && again.message).toContain('deleted and created again');
  });

  it('refuses an addition planned for another count (two at once: the second), none at all, too many, or a bad replica list', () => {
    const add = (from: number, assignments: string[][]) => changeTopic(topic, { type: 'addPartitions', topic: 'orders', topicId: 't7', from, assignments });
    expect(add(1, [['n1', 'n2']])).toMatchObject({ ok: false, code: ErrorCode.InvalidPartitions });
    expect(add(2, [])).toMatchObject({ ok: false, code: ErrorCode.InvalidPartitions });
    expect(add(2, Array.from({ length: LIMITS.partitionsPerTopicMax - 1 }, () => ['n1']))).toMatchObject({ ok: false, code: ErrorCode.InvalidPartitions });
    expect(add(2, [['n1', 'n1']])).toMatchObject({ ok: false, code: ErrorCode.InvalidReplicaAssignment });
    expect(add(2, [[]])).toMatchObject({ ok: false, code: ErrorCode.InvalidReplicaAssignment });
  });
});
