/**
 * OffsetCommit (key 8) v0-5 and OffsetFetch (key 9) v0-4: a group's committed offsets, kept by
 * the metadata group through the coordinator (a commit is answered once it is committed there,
 * and one from an old generation never lands).
 *
 *   OffsetCommit request v0    group_id string, topics [name string, partitions [partition_index int32,
 *                                committed_offset int64, committed_metadata nullable_string]]
 *   OffsetCommit request v1    group_id string, generation_id int32, member_id string, topics [name string,
 *                                partitions [partition_index int32, committed_offset int64,
 *                                commit_timestamp int64, committed_metadata nullable_string]]
 *   OffsetCommit request v2-4  group_id string, generation_id int32, member_id string, retention_time_ms int64,
 *                                topics as v0
 *   OffsetCommit request v5    group_id string, generation_id int32, member_id string, topics as v0
 *   OffsetCommit response v0-2 topics [name string, partitions [partition_index int32, error_code int16]]
 *   OffsetCommit response v3-5 throttle_time_ms int32, then v0
 *   OffsetFetch request v0-1   group_id string, topics [name string, partition_indexes [int32]]
 *   OffsetFetch request v2-4   group_id string, topics nullable [...]      (null: every committed partition)
 *   OffsetFetch response v0-1  topics [name string, partitions [partition_index int32, committed_offset int64,
 *                                metadata nullable_string, error_code int16]]
 *   OffsetFetch response v2    v0, error_code int16
 *   OffsetFetch response v3-4  throttle_time_ms int32, then v2
 *
 * A commit with no generation (v0, or generation -1) is a consumer's outside any group
 * membership, refused while the group has members. Offsets are kept until the group is deleted:
 * commit_timestamp and retention_time_ms are read and ignored. A partition with nothing committed
 * reads as offset -1 with no error, as Kafka's.
 */
import { LIMITS, topicNameProblem, type CommittedOffset } from '../../wire/protocol.js';
import { native, type KafkaApi, type KafkaNode } from '../api.js';
import { ALL_OFFSETS_BYTES_ESTIMATE } from '../../server/reply-bounds.js';
import { KAFKA_RESPONSE_BYTES, partitionsResponseBytes } from '../reply-bytes.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, kafkaErrorOfApi, type KafkaError } from '../errors.js';
import type { Session } from '../../server/session.js';

const COMMIT_TIMEOUT_MS = 30_000;

interface CommitRequest {
  readonly group: string;
  readonly generation: number;
  readonly memberId: string;
  readonly topics: readonly { readonly name: string; readonly partitions: readonly { readonly partition: number; readonly offset: number; readonly metadata: string | null }[] }[];
}

interface TopicErrors {
  readonly topics: readonly { readonly name: string; readonly partitions: readonly { readonly partition: number; error: KafkaError }[] }[];
}

/** Why one partition's commit is refused before it is sent, or null. */
function offsetProblem(topic: string, partition: number, offset: number, metadata: string | null): KafkaError | null {
  const nameProblem = topicNameProblem(topic);
  if (nameProblem !== null) return { code: KafkaErrorCode.InvalidTopicException, message: nameProblem };
  if (partition < 0 || partition >= LIMITS.partitionsPerTopicMax) return { code: KafkaErrorCode.UnknownTopicOrPartition, message: `there is no partition ${partition}` };
  if (offset < 0) return { code: KafkaErrorCode.InvalidRequest, message: `offset ${offset} is negative` };
  if (metadata !== null && metadata.length > LIMITS.offsetMetadataLengthMax) return { code: KafkaErrorCode.OffsetMetadataTooLarge, message: `offset metadata is longer than ${LIMITS.offsetMetadataLengthMax} characters` };
  return null;
}

export const offsetCommit: KafkaApi<CommitRequest, TopicErrors> = {
  key: 8,
  name: 'OffsetCommit',
  replyBytes: (req) => partitionsResponseBytes(req.topics, (t) => t.name, (t) => t.partitions.length),
  minVersion: 0,
  maxVersion: 5,
  decode(r: KafkaReader, version: number): CommitRequest {
    const group = r.string('group_id');
    const generation = version >= 1 ? r.int32('generation_id') : -1;
    const memberId = version >= 1 ? r.string('member_id') : '';
    if (version >= 2 && version <= 4) r.int64('retention_time_ms');
    const topics = r.array(
      (t) => ({
        name: t.string('topic name'),
        partitions: t.array((p) => {
          const partition = p.int32('partition_index');
          const offset = p.int64('committed_offset');
          if (version === 1) p.int64('commit_timestamp');
          return { partition, offset, metadata: p.nullableString('committed_metadata') };
        }, 'partitions'),
      }),
      'topics',
    );
    return { group, generation, memberId, topics };
  },
  async serve(node: KafkaNode, req: CommitRequest, _version: number, session: Session): Promise<TopicErrors> {
    const out = req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partition: p.partition, error: NO_ERROR })) }));
    const offsets: CommittedOffset[] = [];
    const owners: { error: KafkaError }[] = [];
    req.topics.forEach((t, ti) => {
      t.partitions.forEach((p, pi) => {
        const o = out[ti]!.partitions[pi]!;
        const problem = req.group === '' ? { code: KafkaErrorCode.InvalidGroupId, message: 'a group id must not be empty' } : offsetProblem(t.name, p.partition, p.offset, p.metadata);
        if (problem !== null) o.error = problem;
        else {
          offsets.push({ topic: t.name, partition: p.partition, offset: p.offset, metadata: p.metadata ?? '' });
          owners.push(o);
        }
      });
    });
    if (offsets.length > 0) {
      try {
        const res = (await native(node, session, { type: 'commitOffsets', group: req.group, generation: req.generation, memberId: req.memberId, offsets, timeoutMs: COMMIT_TIMEOUT_MS }))!;
        res.results.forEach((r, i) => (owners[i]!.error = kafkaErrorOfApi(r.error)));
      } catch (err) {
        const e = kafkaErrorOf(node.logger, err);
        for (const o of owners) o.error = e;
      }
    }
    return { topics: out };
  },
  encode(w: KafkaWriter, version: number, res: TopicErrors): void {
    if (version >= 3) w.int32(0);
    w.array(res.topics, (x, t) => {
      x.string(t.name);
      x.array(t.partitions, (y, p) => y.int32(p.partition).int16(p.error.code));
    });
  },
};

interface FetchOffsetsRequest {
  readonly group: string;
  /** null: every committed partition. */
  readonly topics: readonly { readonly name: string; readonly partitions: readonly number[] }[] | null;
}

interface FetchedOffset {
  readonly partition: number;
  offset: number;
  metadata: string;
  error: KafkaError;
}

interface FetchOffsetsResponse {
  readonly error: KafkaError;
  readonly topics: readonly { readonly name: string; readonly partitions: readonly FetchedOffset[] }[];
}

export const offsetFetch: KafkaApi<FetchOffsetsRequest, FetchOffsetsResponse> = {
  key: 9,
  name: 'OffsetFetch',
  // Committed offsets carry their metadata strings (mostly empty): an estimate, as every committed offset is.
  replyBytes: (req) => (req.topics === null ? KAFKA_RESPONSE_BYTES + ALL_OFFSETS_BYTES_ESTIMATE : partitionsResponseBytes(req.topics, (t) => t.name, (t) => t.partitions.length)),
  minVersion: 0,
  maxVersion: 4,
  decode(r: KafkaReader, version: number): FetchOffsetsRequest {
    const group = r.string('group_id');
    const topic = (t: KafkaReader): { name: string; partitions: number[] } => ({ name: t.string('topic name'), partitions: t.array((p) => p.int32('partition index'), 'partition_indexes') });
    return { group, topics: version >= 2 ? r.nullableArray(topic, 'topics') : r.array(topic, 'topics') };
  },
  async serve(node: KafkaNode, req: FetchOffsetsRequest, _version: number, session: Session): Promise<FetchOffsetsResponse> {
    if (req.group === '') return { error: { code: KafkaErrorCode.InvalidGroupId, message: 'a group id must not be empty' }, topics: [] };
    const out = (req.topics ?? []).map((t) => ({ name: t.name, partitions: t.partitions.map((partition): FetchedOffset => ({ partition, offset: -1, metadata: '', error: NO_ERROR })) }));
    const wanted: { topic: string; partition: number }[] = [];
    const owners: FetchedOffset[] = [];
    (req.topics ?? []).forEach((t, ti) => {
      t.partitions.forEach((partition, pi) => {
        const o = out[ti]!.partitions[pi]!;
        const problem = offsetProblem(t.name, partition, 0, null);
        if (problem !== null) o.error = problem;
        else {
          wanted.push({ topic: t.name, partition });
          owners.push(o);
        }
      });
    });
    let res;
    try {
      res = (await native(node, session, req.topics === null ? { type: 'fetchOffsets', group: req.group } : { type: 'fetchOffsets', group: req.group, partitions: wanted }))!;
    } catch (err) {
      const e = kafkaErrorOf(node.logger, err);
      for (const o of owners) o.error = e;
      return { error: e, topics: out };
    }
    if (req.topics !== null) {
      res.offsets.forEach((c, i) => Object.assign(owners[i]!, { offset: c.offset, metadata: c.metadata, error: kafkaErrorOfApi(c.error) }));
      return { error: NO_ERROR, topics: out };
    }
    const byTopic = new Map<string, FetchedOffset[]>();
    for (const c of res.offsets) {
      const list = byTopic.get(c.topic) ?? [];
      list.push({ partition: c.partition, offset: c.offset, metadata: c.metadata, error: NO_ERROR });
      byTopic.set(c.topic, list);
    }
    return { error: NO_ERROR, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
  },
  encode(w: KafkaWriter, version: number, res: FetchOffsetsResponse): void {
    if (version >= 3) w.int32(0);
    // From v2 a whole-request error has a field of its own; before, each partition carries it.
    const topics = version >= 2 && res.error.code !== KafkaErrorCode.None ? [] : res.topics;
    w.array(topics, (x, t) => {
      x.string(t.name);
      x.array(t.partitions, (y, p) => y.int32(p.partition).int64(p.offset).nullableString(p.metadata).int16(p.error.code));
    });
    if (version >= 2) w.int16(res.error.code);
  },
};
