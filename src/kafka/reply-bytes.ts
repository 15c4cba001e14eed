/**
 * What a Kafka connection reserves in its reply budget (src/server/reply-budget.ts) before it
 * serves a request: each API's `replyBytes` (api.ts), built from these. Kafka's responses are
 * arrays of fixed-size records besides their names, so a bound is so many entries of a named size
 * plus the names they repeat; where the node's state or the group coordinator's decides the size,
 * the native bounds apply (src/server/reply-bounds.ts: metadata from the node's metadata, group
 * replies' named estimates), which hold Kafka's tighter encoding of the same answers too.
 */

/**
 * Bytes of a response's envelope and of one small record in it: size, correlation id, throttle
 * time, a top-level error code, and a coordinator's or producer id's fields (a host name of up
 * to 255 bytes at most), or an ApiVersions list (six bytes for each of under thirty APIs).
 */
export const KAFKA_RESPONSE_BYTES = 512;
/** Bytes of one partition of a response besides its records: its index, error code, offsets and timestamps (int64s), and an empty array or two. */
export const KAFKA_PARTITION_BYTES = 64;
/** Bytes of one topic of a response besides its name and partitions: the name's length and the array's. */
export const KAFKA_TOPIC_BYTES = 8;
/** Bytes of one result of a response that lists one per name (CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs, DeleteGroups) besides the name: its error code and message (which names it again), a resource type. */
export const KAFKA_TOPIC_RESULT_BYTES = 768;

/**
 * Bytes of one resource of a DescribeConfigs response besides its name: its error code and
 * message, or its configs: at most nine (a node's settings are eight), each a name, a value of a number,
 * flags and two synonyms, under 200 bytes with their lengths.
 */
export const KAFKA_CONFIG_RESOURCE_BYTES = 768 + 9 * 200;

/** A response of KAFKA_RESPONSE_BYTES and one entry of `partitionBytes` per partition of `topics`, grouped by topic as Kafka's are. */
export function partitionsResponseBytes<T>(topics: readonly T[], name: (t: T) => string, partitions: (t: T) => number, partitionBytes = KAFKA_PARTITION_BYTES): number {
  let n = KAFKA_RESPONSE_BYTES;
  for (const t of topics) n += KAFKA_TOPIC_BYTES + name(t).length + partitions(t) * partitionBytes;
  return n;
}

/** A response of one result per topic (or group, or config resource) named. */
export function topicResultsBytes(names: readonly string[]): number {
  let n = KAFKA_RESPONSE_BYTES;
  for (const name of names) n += KAFKA_TOPIC_RESULT_BYTES + 2 * name.length;
  return n;
}
