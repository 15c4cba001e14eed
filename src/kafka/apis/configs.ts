/**
 * DescribeConfigs (key 32) v0-2, AlterConfigs (key 33) v0-1 and IncrementalAlterConfigs (key 44)
 * v0: topics' configs under Kafka's names (../topic-configs.ts), as the native describeConfigs and
 * alterTopicConfig; and a node's own settings (Kafka's broker resource), read-only.
 *
 *   DescribeConfigs request v0      resources [resource_type int8, resource_name string,
 *                                     config_names nullable [string]]
 *   DescribeConfigs request v1-2    v0, include_synonyms boolean
 *   DescribeConfigs response v0     throttle_time_ms int32, results [error_code int16, error_message
 *                                     nullable_string, resource_type int8, resource_name string,
 *                                     configs [name string, value nullable_string, read_only boolean,
 *                                     is_default boolean, is_sensitive boolean]]
 *   DescribeConfigs response v1-2   as v0, but configs [name string, value nullable_string, read_only
 *                                     boolean, config_source int8, is_sensitive boolean, synonyms
 *                                     [name string, value nullable_string, source int8]]
 *   AlterConfigs request v0-1       resources [resource_type int8, resource_name string, configs
 *                                     [name string, value nullable_string]], validate_only boolean
 *   IncrementalAlterConfigs req v0  resources [resource_type int8, resource_name string, configs
 *                                     [name string, config_operation int8, value nullable_string]],
 *                                     validate_only boolean
 *   AlterConfigs response v0-1,     throttle_time_ms int32, responses [error_code int16, error_message
 *   IncrementalAlterConfigs v0        nullable_string, resource_type int8, resource_name string]
 *
 * Resource types: 2 TOPIC, 4 BROKER (named by its broker id, ../brokers.ts, or '' for the node
 * asked); any other is INVALID_REQUEST. Config sources: 1 TOPIC_CONFIG, 4 STATIC_BROKER_CONFIG,
 * 5 DEFAULT_CONFIG. Operations: 0 SET, 1 DELETE (back to the default), 2 APPEND and 3 SUBTRACT
 * (for Kafka's list configs, which a topic here has none of: INVALID_CONFIG).
 *
 * Describing is answered from this node's metadata (a topic it does not know is
 * UNKNOWN_TOPIC_OR_PARTITION in that resource). config_names null or empty lists every config;
 * otherwise those named that exist. A broker lists, read-only, what it runs with: broker.id and
 * auto.create.topics.enable (its flags: STATIC_BROKER_CONFIG), num.partitions,
 * default.replication.factor and the defaults of a new topic's configs (DEFAULT_CONFIG).
 *
 * AlterConfigs replaces a topic's configs, as Kafka's does: a config not named goes back to its
 * default. IncrementalAlterConfigs changes only those named. Both go to the controller (another
 * node answers NOT_CONTROLLER); `validate_only` checks without changing anything (the native dry
 * run). A config named twice in a resource is INVALID_REQUEST; an unknown config or a value out of
 * range INVALID_CONFIG with why; a broker's settings are read-only (INVALID_REQUEST). Resources
 * are answered each on its own, in the request's order.
 */
import { DEFAULT_TOPIC_CONFIG, type NodeSettings, type TopicConfig } from '../../wire/protocol.js';
import type { Session } from '../../server/session.js';
import { native, requestProblem, type KafkaApi, type KafkaNode } from '../api.js';
import { brokerId } from '../brokers.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, kafkaErrorOfApi, type KafkaError } from '../errors.js';
import { KAFKA_CONFIG_RESOURCE_BYTES, KAFKA_RESPONSE_BYTES, topicResultsBytes } from '../reply-bytes.js';
import { BROKER_DEFAULT_NAMES, ConfigSource, TOPIC_CONFIGS, describeTopicConfig, isTopicConfig, topicConfigEntries, topicConfigEntry, type ConfigEntry, type MutableTopicConfig } from '../topic-configs.js';
import { ADMIN_TIMEOUT_MS_DEFAULT } from './topics.js';

export const ResourceType = { Topic: 2, Broker: 4 } as const;

const Operation = { Set: 0, Delete: 1, Append: 2, Subtract: 3 } as const;

interface Resource {
  readonly type: number;
  readonly name: string;
}

// -------------------------------------------------------------------------------------------------
// DescribeConfigs

interface DescribeConfigsRequest {
  readonly resources: readonly (Resource & { readonly names: readonly string[] | null })[];
  readonly synonyms: boolean;
}

interface DescribedResource extends Resource {
  readonly error: KafkaError;
  readonly configs: readonly ConfigEntry[];
}

interface DescribeConfigsResponse {
  readonly resources: readonly DescribedResource[];
  readonly synonyms: boolean;
}

export const describeConfigs: KafkaApi<DescribeConfigsRequest, DescribeConfigsResponse> = {
  key: 32,
  name: 'DescribeConfigs',
  replyBytes: (req) => {
    let n = KAFKA_RESPONSE_BYTES;
    for (const r of req.resources) n += KAFKA_CONFIG_RESOURCE_BYTES + 2 * r.name.length;
    return n;
  },
  minVersion: 0,
  maxVersion: 2,
  decode(r: KafkaReader, version: number): DescribeConfigsRequest {
    const resources = r.array((x) => ({ type: x.int8('resource_type'), name: x.string('resource_name'), names: x.nullableArray((y) => y.string('config name'), 'config_names') }), 'resources');
    return { resources, synonyms: version >= 1 ? r.bool('include_synonyms') : false };
  },
  async serve(node: KafkaNode, req: DescribeConfigsRequest, _version: number, session: Session): Promise<DescribeConfigsResponse> {
    const errors = new Map<number, KafkaError>();
    const configs = new Map<number, readonly ConfigEntry[]>();
    const topics: { name: string; at: number }[] = [];
    const brokers: number[] = [];
    req.resources.forEach((res, at) => {
      if (res.type === ResourceType.Topic) {
        const problem = requestProblem({ type: 'describeConfigs', topics: [res.name] });
        if (problem !== null) errors.set(at, kafkaErrorOf(node.logger, problem));
        else topics.push({ name: res.name, at });
      } else if (res.type === ResourceType.Broker) {
        const error = brokerProblem(node, res.name);
        if (error !== null) errors.set(at, error);
        else brokers.push(at);
      } else {
        errors.set(at, unknownType(res.type));
      }
    });
    if (topics.length > 0) {
      try {
        const found = (await native(node, session, { type: 'describeConfigs', topics: topics.map((t) => t.name) }))!.topics;
        found.forEach((t, i) => (t.config !== undefined ? configs.set(topics[i]!.at, describeTopicConfig(t.config)) : errors.set(topics[i]!.at, kafkaErrorOfApi(t.error))));
      } catch (err) {
        for (const t of topics) errors.set(t.at, kafkaErrorOf(node.logger, err));
      }
    }
    if (brokers.length > 0) {
      try {
        const settings = (await native(node, session, { type: 'describeConfigs', topics: [], node: true }))!.node!;
        for (const at of brokers) configs.set(at, describeNode(settings));
      } catch (err) {
        for (const at of brokers) errors.set(at, kafkaErrorOf(node.logger, err));
      }
    }
    return {
      synonyms: req.synonyms,
      resources: req.resources.map((res, at) => {
        const error = errors.get(at) ?? NO_ERROR;
        const all = configs.get(at) ?? [];
        const wanted = res.names === null || res.names.length === 0 ? all : all.filter((c) => res.names!.includes(c.name));
        return { type: res.type, name: res.name, error, configs: error.code === KafkaErrorCode.None ? wanted : [] };
      }),
    };
  },
  encode(w: KafkaWriter, version: number, res: DescribeConfigsResponse): void {
    w.int32(0).array(res.resources, (x, r) => {
      x.int16(r.error.code).nullableString(r.error.code === KafkaErrorCode.None ? null : r.error.message).int8(r.type).string(r.name);
      x.array(r.configs, (y, c) => {
        y.string(c.name).nullableString(c.value).bool(c.readOnly);
        if (version === 0) y.bool(c.source === ConfigSource.DefaultConfig);
        else y.int8(c.source);
        y.bool(false);
        if (version >= 1) y.array(res.synonyms ? c.synonyms : [], (z, s) => z.string(s.name).nullableString(s.value).int8(s.source));
      });
    });
  },
};

/** Why this node cannot answer for broker `name` (null: it is this node, or '' for the node asked). */
function brokerProblem(node: KafkaNode, name: string): KafkaError | null {
  const own = String(brokerId(node.config.id));
  if (name === '' || name === own) return null;
  return { code: KafkaErrorCode.InvalidRequest, message: `this is broker ${own} (node ${node.config.id}), not broker '${name}': ask that broker for its configs` };
}

function unknownType(type: number): KafkaError {
  return { code: KafkaErrorCode.InvalidRequest, message: `resource type ${type} has no configs on this node (topics ${ResourceType.Topic} and brokers ${ResourceType.Broker} do)` };
}

/** A node's settings under Kafka's broker config names, read-only. */
function describeNode(s: NodeSettings): ConfigEntry[] {
  const entry = (name: string, value: string, source: ConfigSource): ConfigEntry => ({ name, value, readOnly: true, source, synonyms: [{ name, value, source }] });
  return [
    entry('broker.id', String(brokerId(s.node)), ConfigSource.StaticBrokerConfig),
    entry('auto.create.topics.enable', String(s.autoCreateTopics), ConfigSource.StaticBrokerConfig),
    entry('num.partitions', String(s.defaultPartitions), ConfigSource.DefaultConfig),
    entry('default.replication.factor', String(s.defaultReplicationFactor), ConfigSource.DefaultConfig),
    ...[...TOPIC_CONFIGS.values()].map((k) => entry(BROKER_DEFAULT_NAMES[k], String(s.topicDefaults[k]), ConfigSource.DefaultConfig)),
  ];
}

// -------------------------------------------------------------------------------------------------
// AlterConfigs and IncrementalAlterConfigs

interface Change {
  readonly name: string;
  readonly op: number;
  readonly value: string | null;
}

interface AlterConfigsRequest {
  readonly resources: readonly (Resource & { readonly changes: readonly Change[] })[];
  readonly validateOnly: boolean;
}

interface AlterConfigsResponse {
  readonly resources: readonly (Resource & { readonly error: KafkaError })[];
}

/** The two alter APIs: one grammar but for the operation, and one serve but for what a resource's changes make of its config. */
function alterApi(key: number, name: string, maxVersion: number, incremental: boolean): KafkaApi<AlterConfigsRequest, AlterConfigsResponse> {
  return {
    key,
    name,
    replyBytes: (req) => topicResultsBytes(req.resources.map((r) => r.name)),
    minVersion: 0,
    maxVersion,
    decode(r: KafkaReader): AlterConfigsRequest {
      const resources = r.array(
        (x) => ({
          type: x.int8('resource_type'),
          name: x.string('resource_name'),
          changes: x.array((y): Change => ({ name: y.string('config name'), op: incremental ? y.int8('config_operation') : Operation.Set, value: y.nullableString('config value') }), 'configs'),
        }),
        'resources',
      );
      return { resources, validateOnly: r.bool('validate_only') };
    },
    async serve(node: KafkaNode, req: AlterConfigsRequest, _version: number, session: Session): Promise<AlterConfigsResponse> {
      const resources: (Resource & { error: KafkaError })[] = [];
      // One at a time, in order: a resource named twice ends as the last one says.
      for (const res of req.resources) resources.push({ type: res.type, name: res.name, error: await alter(node, session, res, incremental, req.validateOnly) });
      return { resources };
    },
    encode(w: KafkaWriter, _version: number, res: AlterConfigsResponse): void {
      w.int32(0).array(res.resources, (x, r) => x.int16(r.error.code).nullableString(r.error.code === KafkaErrorCode.None ? null : r.error.message).int8(r.type).string(r.name));
    },
  };
}

export const alterConfigs = alterApi(33, 'AlterConfigs', 1, false);
export const incrementalAlterConfigs = alterApi(44, 'IncrementalAlterConfigs', 0, true);

/** Changes one resource's configs (or, `validateOnly`, checks that it could). */
async function alter(node: KafkaNode, session: Session, res: Resource & { readonly changes: readonly Change[] }, incremental: boolean, validateOnly: boolean): Promise<KafkaError> {
  if (res.type === ResourceType.Broker) return brokerProblem(node, res.name) ?? { code: KafkaErrorCode.InvalidRequest, message: `a broker's configs are its node's flags, read-only over Kafka; restart the node with other flags to change them` };
  if (res.type !== ResourceType.Topic) return unknownType(res.type);
  const seen = new Set<string>();
  for (const c of res.changes) {
    if (seen.has(c.name)) return { code: KafkaErrorCode.InvalidRequest, message: `config '${c.name}' is named more than once for topic '${res.name}'` };
    seen.add(c.name);
  }
  const config = incremental ? incrementalChange(res.changes) : replacement(res.changes);
  if ('code' in config) return config;
  // Nothing to change (an incremental request of no configs, or only fixed ones): checked as a dry run, so that nothing is written.
  const dryRun = validateOnly || Object.keys(config).length === 0;
  const req = { type: 'alterTopicConfig', topic: res.name, config, ...(dryRun ? { dryRun } : {}), timeoutMs: ADMIN_TIMEOUT_MS_DEFAULT } as const;
  const problem = requestProblem(req);
  if (problem !== null) return kafkaErrorOf(node.logger, problem);
  try {
    await native(node, session, req);
    return NO_ERROR;
  } catch (err) {
    return kafkaErrorOf(node.logger, err, KafkaErrorCode.NotController);
  }
}

/** AlterConfigs: the configs named, every other back to its default. */
function replacement(changes: readonly Change[]): TopicConfig | KafkaError {
  const set = topicConfigEntries(changes);
  return 'code' in set ? set : { ...DEFAULT_TOPIC_CONFIG, ...set };
}

/** IncrementalAlterConfigs: the fields its operations set, the others as they are. */
function incrementalChange(changes: readonly Change[]): MutableTopicConfig | KafkaError {
  const config: MutableTopicConfig = {};
  for (const c of changes) {
    switch (c.op) {
      case Operation.Set: {
        const e = topicConfigEntry(c.name, c.value);
        if (e === null) break;
        if ('code' in e) return e;
        config[e.key] = e.value;
        break;
      }
      case Operation.Delete: {
        // An unknown name is refused as setting it would be.
        if (!isTopicConfig(c.name)) return topicConfigEntry(c.name, null) as KafkaError;
        const key = TOPIC_CONFIGS.get(c.name);
        if (key !== undefined) config[key] = DEFAULT_TOPIC_CONFIG[key];
        break;
      }
      case Operation.Append:
      case Operation.Subtract:
        return { code: KafkaErrorCode.InvalidConfig, message: `config '${c.name}' is not a list: ${c.op === Operation.Append ? 'APPEND' : 'SUBTRACT'} applies to none of a topic's configs here; use SET` };
      default:
        return { code: KafkaErrorCode.InvalidRequest, message: `config operation ${c.op} is not SET 0, DELETE 1, APPEND 2 or SUBTRACT 3` };
    }
  }
  return config;
}
