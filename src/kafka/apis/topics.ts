/**
 * CreateTopics (key 19), v0-3, and DeleteTopics (key 20), v0-1, answered by the controller (the
 * metadata group's leader) as the native admin requests are; another node answers NOT_CONTROLLER
 * and the client asks the controller that Metadata names.
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
 *
 * num_partitions and replication_factor -1 (kafkajs sends them when not given) are the node's
 * defaults, as in the native request. Configs named as Kafka names them map onto the topic
 * configuration (TOPIC_CONFIGS); any other is INVALID_CONFIG. Placing replicas by hand
 * (`assignments`) and `validate_only` are not served: INVALID_REQUEST, the topic is not created.
 * A timeout of 0 or less (Kafka's "do not wait") waits the default instead.
 */
import { KAFKA_TOPIC_CONFIG_NAMES, LIMITS, type CreateTopicSpec, type TopicConfig } from '../../wire/protocol.js';
import { clamp, native, requestProblem, type KafkaApi, type KafkaNode } from '../api.js';
import { topicResultsBytes } from '../reply-bytes.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, kafkaErrorOfApi, type KafkaError } from '../errors.js';
import type { Session } from '../../server/session.js';

/** How long a topic change with no (or a non-positive) timeout waits for the controller. */
const ADMIN_TIMEOUT_MS_DEFAULT = 30_000;

/** Kafka's topic config names, and the topic configuration field each sets. */
const TOPIC_CONFIGS: ReadonlyMap<string, keyof TopicConfig> = new Map((Object.keys(KAFKA_TOPIC_CONFIG_NAMES) as (keyof TopicConfig)[]).map((k) => [KAFKA_TOPIC_CONFIG_NAMES[k], k]));

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
  const config: { -readonly [K in keyof TopicConfig]?: number } = {};
  for (const c of t.configs) {
    const key = TOPIC_CONFIGS.get(c.name);
    if (key === undefined) return { code: KafkaErrorCode.InvalidConfig, message: `topic config '${c.name}' is not supported; supported: ${[...TOPIC_CONFIGS.keys()].join(', ')}` };
    const v = c.value === null ? NaN : Number(c.value);
    if (!Number.isSafeInteger(v)) return { code: KafkaErrorCode.InvalidConfig, message: `topic config '${c.name}' must be an integer, not ${c.value === null ? 'null' : `'${c.value}'`}` };
    config[key] = v;
  }
  return { name: t.name, partitions: t.partitions, replicationFactor: t.replicationFactor, ...(t.configs.length > 0 ? { config } : {}) };
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
