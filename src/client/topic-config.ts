/**
 * Topic configuration entries as kafkajs passes them (`[{ name, value }]` with Kafka's dotted
 * names) or as the protocol names them (camelCase), turned into a Partial<TopicConfig>.
 */
import { KAFKA_TOPIC_CONFIG_NAMES, type TopicConfig } from '../wire/protocol.js';
import { invalidArgument } from './errors.js';

export interface ConfigEntry {
  readonly name: string;
  readonly value: string;
}

const NAMES: Readonly<Record<string, keyof TopicConfig>> = {
  'retention.bytes': 'retentionBytes',
  'retention.ms': 'retentionMs',
  'segment.bytes': 'segmentBytes',
  'max.message.bytes': 'maxMessageBytes',
  retentionBytes: 'retentionBytes',
  retentionMs: 'retentionMs',
  segmentBytes: 'segmentBytes',
  maxMessageBytes: 'maxMessageBytes',
};

/** Kafka's name of a config field, for display. */
export const KAFKA_NAME = KAFKA_TOPIC_CONFIG_NAMES;

export function toTopicConfig(entries: readonly ConfigEntry[]): Partial<TopicConfig> {
  const config: { -readonly [K in keyof TopicConfig]?: number } = {};
  for (const e of entries) {
    const field = Object.prototype.hasOwnProperty.call(NAMES, e.name) ? NAMES[e.name] : undefined;
    if (field === undefined) throw invalidArgument(`unknown topic config '${e.name}'; known: ${Object.keys(KAFKA_NAME).map((k) => KAFKA_NAME[k as keyof TopicConfig]).join(', ')}`);
    const value = Number(String(e.value).trim());
    if (String(e.value).trim() === '' || !Number.isSafeInteger(value)) throw invalidArgument(`topic config ${e.name}=${e.value}: the value must be an integer`);
    config[field] = value;
  }
  return config;
}
