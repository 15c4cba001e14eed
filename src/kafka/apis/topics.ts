/**
 * CreateTopics (key 19), v0-3, DeleteTopics (key 20), v0-1, and CreatePartitions (key 37), v0-1,
 * answered by the controller (the metadata group's leader) as the native admin requests are;
 * another node answers NOT_CONTROLLER and the client asks the controller that Metadata names.
 *
 *   CreateTopics request v0    topics [name string, num_partitions int32, replication_factor int16,
 *                                assignments [partition_index int32, broker_ids [int32]],
 *                                configs [name string, value nullable_string]], timeout_ms int32
 *   CreateTopics request v1-3  v0, validate_only boolean
 *   CreateTopics response v0   topics [name string, error_code int16]
 *   CreateTopics response v1   topics [name string, error_code int16, error_message nullable_string]
 *   CreateTopics response v2-3 throttle_time_ms int32, then v1
 *   DeleteTopics request v0-1  topic_names [string], timeout_ms int32
 *   DeleteTopics response v0   responses [name string, error_code int16]
 *   DeleteTopics response v1   throttle_time_ms int32, then v0
 *   CreatePartitions request v0-1   topics [name string, count int32, assignments nullable
 *                                     [broker_ids nullable [int32]]], timeout_ms int32, validate_only boolean
 *   CreatePartitions response v0-1  throttle_time_ms int32, results [name string, error_code int16,
 *                                     error_message nullable_string]
 *
 * num_partitions and replication_factor -1 (kafkajs sends them when not given) are the node's
 * defaults, as in the native request. Configs named as Kafka names them map onto the topic
 * configuration (../topic-configs.ts); any other, or a value out of range, is INVALID_CONFIG.
 * Placing replicas by hand (`assignments`) is not served: INVALID_REQUEST, the topic is not
 * created or grown. CreateTopics' `validate_only` is not served either (INVALID_REQUEST);
 * CreatePartitions' is, as the native createPartitions' dry run: checked and placed, not made.
 * CreatePartitions' `count` is the new total (INVALID_PARTITIONS if it is not more than the topic
 * has, or past the most a topic may have); a topic named twice is INVALID_REQUEST, both times.
 * A timeout of 0 or less (Kafka's "do not wait") waits the default instead.
 */
import { LIMITS, type CreateTopicSpec } from '../../wire/protocol.js';
import { clamp, native, requestProblem, type KafkaApi, type KafkaNode } from '../api.js';
import { topicResultsBytes } from '../reply-bytes.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, kafkaErrorOfApi, type KafkaError } from '../errors.js';
import type { Session } from '../../server/session.js';
import { topicConfigEntries } from '../topic-configs.js';

/** How long a topic change with no (or a non-positive) timeout waits for the controller. */
export const ADMIN_TIMEOUT_MS_DEFAULT = 30_000;

interface NewTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly assignments: number;
  readonly configs: readonly { readonly name: string; readonly value: string | null }[];
}

interface CreateTopicsRequest {
  readonly topics: readonly NewTopic[];
  readonly timeoutMs: number;
  readonly validateOnly: boolean;
}

interface TopicsResponse {
  readonly topics: readonly { readonly name: string; readonly error: KafkaError }[];
}

function timeout(ms: number): number {
  return ms <= 0 ? ADMIN_TIMEOUT_MS_DEFAULT : clamp(ms, 1, LIMITS.requestTimeoutMsMax);
}

export const createTopics: KafkaApi<CreateTopicsRequest, TopicsResponse> = {
  key: 19,
  name: 'CreateTopics',
  replyBytes: (req) => topicResultsBytes(req.topics.map((t) => t.name)),
  minVersion: 0,
  maxVersion: 3,
  decode(r: KafkaReader, version: number): CreateTopicsRequest {
    const topics = r.array(
      (t): NewTopic => ({
        name: t.string('topic name'),
        partitions: t.int32('num_partitions'),
        replicationFactor: t.int16('replication_factor'),
        assignments: t.array((a) => {
          a.int32('partition_index');
          a.array((b) => b.int32('broker id'), 'broker_ids');
        }, 'assignments').length,
        configs: t.array((c) => ({ name: c.string('config name'), value: c.nullableString('config value') }), 'configs'),
      }),
      'topics',
    );
    const timeoutMs = r.int32('timeout_ms');
    return { topics, timeoutMs, validateOnly: version >= 1 ? r.bool('validate_only') : false };
  },
  async serve(node: KafkaNode, req: CreateTopicsRequest, _version: number, session: Session): Promise<TopicsResponse> {
    const timeoutMs = timeout(req.timeoutMs);
    const errors = new Map<number, KafkaError>();
    const specs: { spec: CreateTopicSpec; at: number }[] = [];
    req.topics.forEach((t, at) => {
      const r = toSpec(t, req.validateOnly);
      if ('code' in r) {
        errors.set(at, r);
        return;
      }
      const problem = requestProblem({ type: 'createTopics', topics: [r], timeoutMs });
      if (problem !== null) errors.set(at, kafkaErrorOf(node.logger, problem));
      else specs.push({ spec: r, at });
    });
    if (specs.length > 0) {
      try {
        const res = (await native(node, session, { type: 'createTopics', topics: specs.map((s) => s.spec), timeoutMs }))!;
        res.topics.forEach((t, i) => errors.set(specs[i]!.at, kafkaErrorOfApi(t.error)));
      } catch (err) {
        const e = kafkaErrorOf(node.logger, err, KafkaErrorCode.NotController);
        for (const s of specs) errors.set(s.at, e);
      }
    }
    return { topics: req.topics.map((t, at) => ({ name: t.name, error: errors.get(at) ?? NO_ERROR })) };
  },
  encode(w: KafkaWriter, version: number, res: TopicsResponse): void {
    if (version >= 2) w.int32(0);
    w.array(res.topics, (x, t) => {
      x.string(t.name).int16(t.error.code);
      if (version >= 1) x.nullableString(t.error.code === KafkaErrorCode.None ? null : t.error.message);
    });
  },
};

/** The native form of a Kafka topic to create, or why it cannot be one. */
function toSpec(t: NewTopic, validateOnly: boolean): CreateTopicSpec | KafkaError {
  if (validateOnly) return { code: KafkaErrorCode.InvalidRequest, message: 'validate_only is not supported: this node creates topics or refuses them' };
  if (t.assignments > 0) return { code: KafkaErrorCode.InvalidRequest, message: 'placing replicas by hand is not supported: leave assignments empty, then move them with `raftlog partitions reassign`' };
  const config = topicConfigEntries(t.configs);
  if ('code' in config) return config;
  return { name: t.name, partitions: t.partitions, replicationFactor: t.replicationFactor, ...(Object.keys(config).length > 0 ? { config } : {}) };
}

interface DeleteTopicsRequest {
  readonly names: readonly string[];
  readonly timeoutMs: number;
}

export const deleteTopics: KafkaApi<DeleteTopicsRequest, TopicsResponse> = {
  key: 20,
  name: 'DeleteTopics',
  replyBytes: (req) => topicResultsBytes(req.names),
  minVersion: 0,
  maxVersion: 1,
  decode(r: KafkaReader): DeleteTopicsRequest {
    return { names: r.array((t) => t.string('topic name'), 'topic_names'), timeoutMs: r.int32('timeout_ms') };
  },
  async serve(node: KafkaNode, req: DeleteTopicsRequest, _version: number, session: Session): Promise<TopicsResponse> {
    const timeoutMs = timeout(req.timeoutMs);
    const errors = new Map<number, KafkaError>();
    const names: { name: string; at: number }[] = [];
    req.names.forEach((name, at) => {
      const problem = requestProblem({ type: 'deleteTopics', topics: [name], timeoutMs });
      if (problem !== null) errors.set(at, kafkaErrorOf(node.logger, problem));
      else names.push({ name, at });
    });
    if (names.length > 0) {
      try {
        const res = (await native(node, session, { type: 'deleteTopics', topics: names.map((n) => n.name), timeoutMs }))!;
        res.topics.forEach((t, i) => errors.set(names[i]!.at, kafkaErrorOfApi(t.error)));
      } catch (err) {
        const e = kafkaErrorOf(node.logger, err, KafkaErrorCode.NotController);
        for (const n of names) errors.set(n.at, e);
      }
    }
    return { topics: req.names.map((name, at) => ({ name, error: errors.get(at) ?? NO_ERROR })) };
  },
  encode(w: KafkaWriter, version: number, res: TopicsResponse): void {
    if (version >= 1) w.int32(0);
    w.array(res.topics, (x, t) => x.string(t.name).int16(t.error.code));
  },
};

interface TopicGrowth {
  readonly name: string;
  readonly count: number;
  /** Replica lists given by hand (none served). */
  readonly assignments: number;
}

interface CreatePartitionsRequest {
  readonly topics: readonly TopicGrowth[];
  readonly timeoutMs: number;
  readonly validateOnly: boolean;
}

export const createPartitions: KafkaApi<CreatePartitionsRequest, TopicsResponse> = {
  key: 37,
  name: 'CreatePartitions',
  replyBytes: (req) => topicResultsBytes(req.topics.map((t) => t.name)),
  minVersion: 0,
  maxVersion: 1,
  decode(r: KafkaReader): CreatePartitionsRequest {
    const topics = r.array(
      (t): TopicGrowth => ({
        name: t.string('topic name'),
        count: t.int32('count'),
        assignments: t.nullableArray((a) => a.nullableArray((b) => b.int32('broker id'), 'broker_ids'), 'assignments')?.length ?? 0,
      }),
      'topics',
    );
    return { topics, timeoutMs: r.int32('timeout_ms'), validateOnly: r.bool('validate_only') };
  },
  async serve(node: KafkaNode, req: CreatePartitionsRequest, _version: number, session: Session): Promise<TopicsResponse> {
    const timeoutMs = timeout(req.timeoutMs);
    const named = new Map<string, number>();
    for (const t of req.topics) named.set(t.name, (named.get(t.name) ?? 0) + 1);
    const topics: { name: string; error: KafkaError }[] = [];
    // One at a time: each topic's new partitions are placed knowing where the last one's went.
    for (const t of req.topics) topics.push({ name: t.name, error: await grow(node, session, t, named.get(t.name)! > 1, req.validateOnly, timeoutMs) });
    return { topics };
  },
  encode(w: KafkaWriter, _version: number, res: TopicsResponse): void {
    w.int32(0).array(res.topics, (x, t) => x.string(t.name).int16(t.error.code).nullableString(t.error.code === KafkaErrorCode.None ? null : t.error.message));
  },
};

/** Grows one topic as CreatePartitions asks (or, `validateOnly`, checks that it could). */
async function grow(node: KafkaNode, session: Session, t: TopicGrowth, duplicate: boolean, validateOnly: boolean, timeoutMs: number): Promise<KafkaError> {
  if (duplicate) return { code: KafkaErrorCode.InvalidRequest, message: `topic '${t.name}' is named more than once in the request` };
  if (t.assignments > 0) return { code: KafkaErrorCode.InvalidRequest, message: 'placing replicas by hand is not supported: leave assignments empty, then move them with `raftlog partitions reassign`' };
  if (t.count < 1 || t.count > LIMITS.partitionsPerTopicMax) return { code: KafkaErrorCode.InvalidPartitions, message: `a topic has 1 to ${LIMITS.partitionsPerTopicMax} partitions, not ${t.count}` };
  const req = { type: 'createPartitions', topic: t.name, partitions: t.count, ...(validateOnly ? { dryRun: true } : {}), timeoutMs } as const;
  const problem = requestProblem(req);
  if (problem !== null) return kafkaErrorOf(node.logger, problem);
  try {
    await native(node, session, req);
    return NO_ERROR;
  } catch (err) {
    return kafkaErrorOf(node.logger, err, KafkaErrorCode.NotController);
  }
}
