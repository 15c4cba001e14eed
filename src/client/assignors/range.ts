/**
 * Kafka's RangeAssignor: topic by topic, the members subscribed to the topic (sorted by id) get
 * contiguous ranges of its partitions; the first `partitions % members` of them get one more.
 * Balanced within one partition per topic; across topics the first members carry the extras.
 */
import { compareIds, emptyAssignment, finish, type AssignInput, type Assignor, type GroupAssignment } from './types.js';

export function rangeAssign(input: AssignInput): GroupAssignment {
  const out = emptyAssignment(input.members);
  for (const topic of [...input.partitions.keys()].sort(compareIds)) {
    const count = input.partitions.get(topic) ?? 0;
    const subscribers = input.members
      .filter((m) => m.topics.includes(topic))
      .map((m) => m.memberId)
      .sort(compareIds);
    if (subscribers.length === 0) continue;
    const each = Math.floor(count / subscribers.length);
    const extra = count % subscribers.length;
    subscribers.forEach((id, i) => {
      const start = each * i + Math.min(i, extra);
      const length = each + (i < extra ? 1 : 0);
      const list = out.get(id);
      for (let p = start; p < start + length; p++) list?.push({ topic, partition: p });
    });
  }
  return finish(out);
}

export const range: Assignor = { name: 'range', assign: rangeAssign };
