/**
 * Kafka's default key partitioner: `toPositive(murmur2(key)) % partitions`, the same choice as the
 * Java client's `BuiltInPartitioner.partitionForKey`, kafkajs's `DefaultPartitioner` and
 * librdkafka's `murmur2_random`, so a key lands on the same partition whichever client wrote it.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Kafka's `Utils.murmur2`: MurmurHash2, 32-bit, seed 0x9747b28c; a signed 32-bit result. */
export function murmur2(key: Uint8Array): number {
  const length = key.length;
  let h = SEED ^ length;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = key[i] | (key[i + 1] << 8) | (key[i + 2] << 16) | (key[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= key[length4 + 2] << 16;
    if (rest >= 2) h ^= key[length4 + 1] << 8;
    h ^= key[length4];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs, which differs for -2^31). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition for a keyed record among `partitions` partitions. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 0x7fffffff) {
    throw new RangeError(`partition count ${partitions} is not a positive int32`);
  }
  return toPositive(murmur2(key)) % partitions;
}
