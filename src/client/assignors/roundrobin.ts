/**
 * Kafka's RoundRobinAssignor: every subscribed partition in (topic, partition) order goes to the
 * next member in id order, going round, skipping members not subscribed to its topic. With equal
 * subscriptions it is balanced within one partition over all topics.
 */
import { compareIds, emptyAssignment, finish, subscribedPartitions, type AssignInput, type Assignor, type GroupAssignment } from './types.js';

export function roundRobinAssign(input: AssignInput): GroupAssignment {
  const out = emptyAssignment(input.members);
  const members = [...input.members].sort((a, b) => compareIds(a.memberId, b.memberId));
  const topicsOf = members.map((m) => new Set(m.topics));
  let next = 0;
  for (const tp of subscribedPartitions(input)) {
    for (let k = 0; k < members.length; k++) {
      const i = (next + k) % members.length;
      if (!topicsOf[i].has(tp.topic)) continue;
      out.get(members[i].memberId)?.push(tp);
      next = (i + 1) % members.length;
      break;
    }
  }
  return finish(out);
}

export const roundRobin: Assignor = { name: 'roundrobin', assign: roundRobinAssign };
