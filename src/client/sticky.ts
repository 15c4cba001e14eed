/**
 * Where a record goes: an explicit partition wins; a keyed record goes where Kafka's default
 * partitioner puts it (murmur2); a record without a key sticks to one partition per topic until
 * that partition's batch closes, then a new one is picked at random among those with a leader
 * (Kafka's sticky partitioner, KIP-480), so keyless records fill batches instead of spreading thin.
 */
import { invalidArgument } from './errors.js';
import type { CachedTopic } from './cluster.js';
import { partitionForKey } from './partitioner.js';

export class PartitionChooser {
  private readonly sticky = new Map<string, number>();

  constructor(private readonly random: () => number = Math.random) {}

  choose(topic: CachedTopic, key: Uint8Array | null, explicit: number | undefined): number {
    const n = topic.partitions.length;
    if (explicit !== undefined) {
      if (!Number.isInteger(explicit) || explicit < 0 || explicit >= n) {
        throw invalidArgument(`partition ${explicit} does not exist: topic '${topic.name}' has partitions 0..${n - 1}`);
      }
      return explicit;
    }
    if (key !== null) return partitionForKey(key, n);
    const current = this.sticky.get(topic.name);
    if (current !== undefined && current < n) return current;
    const next = this.pick(topic, undefined);
    this.sticky.set(topic.name, next);
    return next;
  }

  /** The batch of `partition` closed: keyless records of `topic` move on if they stuck there. */
  batchClosed(topic: CachedTopic | undefined, name: string, partition: number): void {
    if (this.sticky.get(name) !== partition) return;
    if (!topic) {
      this.sticky.delete(name);
      return;
    }
    this.sticky.set(name, this.pick(topic, partition));
  }

  private pick(topic: CachedTopic, previous: number | undefined): number {
    const withLeader = topic.partitions.filter((p) => p.leader !== null).map((p) => p.partition);
    const pool = withLeader.length > 0 ? withLeader : topic.partitions.map((p) => p.partition);
    const others = pool.length > 1 ? pool.filter((p) => p !== previous) : pool;
    return others[Math.floor(this.random() * others.length)] ?? 0;
  }
}
