/**
 * What every assignor shares: the group as the leader member sees it (each member's subscription
 * and the partitions it owned), and the assignment it computes. Assignors are pure functions of
 * their input: no clock, no randomness, the same answer for the same group on every leader.
 */

/** Partitions of one topic, in ascending order. */
export interface TopicPartitionList {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface GroupMember {
  readonly memberId: string;
  /** The topics it subscribes to. */
  readonly topics: readonly string[];
  /** The partitions it held in `generation` (the sticky assignor keeps them where it can). */
  readonly owned: readonly TopicPartitionList[];
  /** The generation `owned` comes from; -1 when it owned nothing. */
  readonly generation: number;
}

export interface AssignInput {
  readonly members: readonly GroupMember[];
  /** The partition count of each subscribed topic; a topic missing here (unknown) gets no owner. */
  readonly partitions: ReadonlyMap<string, number>;
}

/** Each member's partitions, by member id; every member of the input has an entry (maybe empty). */
export type GroupAssignment = Map<string, TopicPartitionList[]>;

/**
 * An assignment strategy; `name` is what members announce in joinGroup, and the coordinator
 * picks one name every member supports.
 */
export interface Assignor {
  readonly name: string;
  assign(input: AssignInput): GroupAssignment;
}

/** A topic-partition as a map key. */
export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** Per-partition entries (e.g. of a response) by tpKey; the first entry of a partition wins. */
export function byPartition<T extends { readonly topic: string; readonly partition: number }>(entries: readonly T[]): Map<string, T> {
  const out = new Map<string, T>();
  for (const e of entries) {
    const k = tpKey(e.topic, e.partition);
    if (!out.has(k)) out.set(k, e);
  }
  return out;
}

/** Code-unit order, as Kafka's String.compareTo (localeCompare would depend on the locale). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every partition of the topics in `partitions` that some member subscribes to, sorted. */
export function subscribedPartitions(input: AssignInput): { topic: string; partition: number }[] {
  const wanted = new Set(input.members.flatMap((m) => m.topics));
  const out: { topic: string; partition: number }[] = [];
  for (const topic of [...input.partitions.keys()].sort(compareIds)) {
    if (!wanted.has(topic)) continue;
    const count = input.partitions.get(topic) ?? 0;
    for (let p = 0; p < count; p++) out.push({ topic, partition: p });
  }
  return out;
}

/** Groups (topic, partition) pairs into sorted per-topic lists. */
export function toLists(pairs: Iterable<{ readonly topic: string; readonly partition: number }>): TopicPartitionList[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of pairs) {
    const list = byTopic.get(topic) ?? [];
    list.push(partition);
    byTopic.set(topic, list);
  }
  return [...byTopic.keys()].sort(compareIds).map((topic) => ({ topic, partitions: [...(byTopic.get(topic) ?? [])].sort((a, b) => a - b) }));
}

/** An assignment with an empty entry per member. */
export function emptyAssignment(members: readonly GroupMember[]): Map<string, { topic: string; partition: number }[]> {
  return new Map(members.map((m) => [m.memberId, []]));
}

export function finish(pairs: Map<string, { topic: string; partition: number }[]>): GroupAssignment {
  return new Map([...pairs].map(([id, list]) => [id, toLists(list)]));
}
