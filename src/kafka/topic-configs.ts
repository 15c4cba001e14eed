/**
 * A topic's configuration under Kafka's names, one mapping for every Kafka API that reads or sets
 * it (CreateTopics, DescribeConfigs, AlterConfigs, IncrementalAlterConfigs):
 *
 *   retention.ms  retention.bytes  segment.bytes  max.message.bytes   the topic's config fields
 *                                                                     (KAFKA_TOPIC_CONFIG_NAMES), integers
 *   cleanup.policy                                                    always `delete`: raftlog has no
 *                                                                     compaction; setting it to `delete` changes
 *                                                                     nothing, to anything else is INVALID_CONFIG
 *
 * Any other name is INVALID_CONFIG, naming the ones there are. A value is checked as the native
 * request checks it (src/wire/validate.ts topicConfigProblem), and refused INVALID_CONFIG with
 * that check's message.
 */
import { DEFAULT_TOPIC_CONFIG, KAFKA_TOPIC_CONFIG_NAMES, type TopicConfig } from '../wire/protocol.js';
import { topicConfigProblem } from '../wire/validate.js';
import { KafkaErrorCode, type KafkaError } from './errors.js';

/** Kafka's topic config names, and the topic configuration field each sets. */
export const TOPIC_CONFIGS: ReadonlyMap<string, keyof TopicConfig> = new Map((Object.keys(KAFKA_TOPIC_CONFIG_NAMES) as (keyof TopicConfig)[]).map((k) => [KAFKA_TOPIC_CONFIG_NAMES[k], k]));

/** Topic configs Kafka has that are fixed here: the one value each may take. */
export const FIXED_TOPIC_CONFIGS: ReadonlyMap<string, string> = new Map([['cleanup.policy', 'delete']]);

/** Every topic config name a Kafka client may use. */
const ALL_NAMES = [...TOPIC_CONFIGS.keys(), ...FIXED_TOPIC_CONFIGS.keys()];

export type MutableTopicConfig = { -readonly [K in keyof TopicConfig]?: number };

/** The field `name` = `value` sets, nothing (a fixed config set to its value), or why neither. */
export function topicConfigEntry(name: string, value: string | null): { readonly key: keyof TopicConfig; readonly value: number } | null | KafkaError {
  const fixed = FIXED_TOPIC_CONFIGS.get(name);
  if (fixed !== undefined) {
    if (value === fixed) return null;
    return invalid(`topic config '${name}' is always '${fixed}' here (${name === 'cleanup.policy' ? 'raftlog has no log compaction' : 'it cannot change'}), not ${value === null ? 'null' : `'${value}'`}`);
  }
  const key = TOPIC_CONFIGS.get(name);
  if (key === undefined) return invalid(`topic config '${name}' is not supported; supported: ${ALL_NAMES.join(', ')}`);
  const v = value === null || value.trim() === '' ? NaN : Number(value);
  if (!Number.isSafeInteger(v)) return invalid(`topic config '${name}' must be an integer, not ${value === null ? 'null' : `'${value}'`}`);
  const problem = topicConfigProblem({ [key]: v });
  if (problem !== null) return invalid(`topic config '${name}' = ${v} is refused: ${problem}`);
  return { key, value: v };
}

/** The config fields `entries` set, or the first entry's refusal. */
export function topicConfigEntries(entries: readonly { readonly name: string; readonly value: string | null }[]): MutableTopicConfig | KafkaError {
  const config: MutableTopicConfig = {};
  for (const e of entries) {
    const r = topicConfigEntry(e.name, e.value);
    if (r === null) continue;
    if ('code' in r) return r;
    config[r.key] = r.value;
  }
  return config;
}

/** Whether `name` is a topic config a client may name (to delete, to describe). */
export function isTopicConfig(name: string): boolean {
  return TOPIC_CONFIGS.has(name) || FIXED_TOPIC_CONFIGS.has(name);
}

/** Where a config's value comes from (Kafka's ConfigSource, DescribeConfigs v1 and later). */
export const ConfigSource = {
  TopicConfig: 1,
  StaticBrokerConfig: 4,
  DefaultConfig: 5,
} as const;
export type ConfigSource = (typeof ConfigSource)[keyof typeof ConfigSource];

/** One config of a resource, as DescribeConfigs lists it. */
export interface ConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly readOnly: boolean;
  readonly source: ConfigSource;
  /** Where else the value could come from, lowest precedence last (Kafka's config_synonyms): listed when asked for. */
  readonly synonyms: readonly { readonly name: string; readonly value: string; readonly source: ConfigSource }[];
}

/** The broker-wide name of each topic config's default (what Kafka lists as its synonym). */
export const BROKER_DEFAULT_NAMES: Readonly<Record<keyof TopicConfig, string>> = {
  retentionBytes: 'log.retention.bytes',
  retentionMs: 'log.retention.ms',
  segmentBytes: 'log.segment.bytes',
  maxMessageBytes: 'message.max.bytes',
};

/**
 * A topic's configs under Kafka's names. The node keeps every field's value, not which were set:
 * a value equal to the default is reported as the default (DEFAULT_CONFIG), any other as set on
 * the topic (TOPIC_CONFIG), as Kafka reports an override.
 */
export function describeTopicConfig(config: TopicConfig): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  for (const [name, key] of TOPIC_CONFIGS) {
    const value = String(config[key]);
    const dflt = { name: BROKER_DEFAULT_NAMES[key], value: String(DEFAULT_TOPIC_CONFIG[key]), source: ConfigSource.DefaultConfig };
    const isDefault = config[key] === DEFAULT_TOPIC_CONFIG[key];
    out.push({ name, value, readOnly: false, source: isDefault ? ConfigSource.DefaultConfig : ConfigSource.TopicConfig, synonyms: isDefault ? [dflt] : [{ name, value, source: ConfigSource.TopicConfig }, dflt] });
  }
  for (const [name, value] of FIXED_TOPIC_CONFIGS) out.push({ name, value, readOnly: true, source: ConfigSource.DefaultConfig, synonyms: [] });
  return out;
}

function invalid(message: string): KafkaError {
  return { code: KafkaErrorCode.InvalidConfig, message };
}
