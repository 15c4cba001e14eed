/**
 * The sticky assignor (the default): balanced, and moving as few partitions as it can from the
 * members that own them (each member names its owned partitions in its metadata).
 *
 *  1. Keep: every member keeps the owned partitions that still exist and that it still
 *     subscribes to. Two members claiming one partition (one missed a rebalance) are settled by the
 *     newer generation, then the lower member id.
 *  2. Place: each unowned partition (new, or its owner left), the most constrained first (fewest
 *     subscribers), goes to the least-loaded subscriber.
 *  3. Balance: while some member holds two partitions more than a subscriber of one of them,
 *     move one from the most-loaded member to the least-loaded subscriber.
 *
 * Ties break by member id and (topic, partition), so every leader computes the same answer. Each
 * move in step 3 lowers the sum of squared loads, so the loop ends; when it ends no single move
 * can even the loads out further. With equal subscriptions this is balanced within one, and the
 * moves are the minimum: only the excess of members above their share moves
 * (6 partitions, 2 → 3 members: exactly 2 move).
 */
import { compareIds, emptyAssignment, finish, subscribedPartitions, tpKey, type AssignInput, type Assignor, type GroupAssignment } from './types.js';

interface Tp {
  readonly topic: string;
  readonly partition: number;
}

function compareTp(a: Tp, b: Tp): number {
  return compareIds(a.topic, b.topic) || a.partition - b.partition;
}

export function stickyAssign(input: AssignInput): GroupAssignment {
  const members = [...input.members].sort((a, b) => compareIds(a.memberId, b.memberId));
  const held = emptyAssignment(members);
  const subscribers = new Map<string, string[]>();
  for (const m of members) {
    for (const t of new Set(m.topics)) {
      const list = subscribers.get(t) ?? [];
      list.push(m.memberId);
      subscribers.set(t, list);
    }
  }
  const all = subscribedPartitions(input);
  const exists = new Set(all.map((tp) => tpKey(tp.topic, tp.partition)));
  const owner = new Map<string, string>();

  // 1. Keep what each member owns, newest claim first.
  const claimants = [...members].sort((a, b) => b.generation - a.generation || compareIds(a.memberId, b.memberId));
  for (const m of claimants) {
    const topics = new Set(m.topics);
    for (const list of m.owned) {
      if (!topics.has(list.topic)) continue;
      for (const partition of list.partitions) {
        const k = tpKey(list.topic, partition);
        if (!exists.has(k) || owner.has(k)) continue;
        owner.set(k, m.memberId);
        held.get(m.memberId)?.push({ topic: list.topic, partition });
      }
    }
  }
  const load = (id: string): number => held.get(id)?.length ?? 0;
  const leastLoaded = (ids: readonly string[]): string | null => {
    let best: string | null = null;
    for (const id of ids) if (best === null || load(id) < load(best)) best = id;
    return best;
  };

  // 2. Place what nobody owns, the partitions with the fewest subscribers first.
  const unowned = all
    .filter((tp) => !owner.has(tpKey(tp.topic, tp.partition)))
    .sort((a, b) => (subscribers.get(a.topic)?.length ?? 0) - (subscribers.get(b.topic)?.length ?? 0) || compareTp(a, b));
  for (const tp of unowned) {
    const to = leastLoaded(subscribers.get(tp.topic) ?? []);
    if (to === null) continue;
    owner.set(tpKey(tp.topic, tp.partition), to);
    held.get(to)?.push(tp);
  }

  // 3. Even out, one move at a time, from the most-loaded member that can give.
  for (;;) {
    const byLoad = [...members].sort((a, b) => load(b.memberId) - load(a.memberId) || compareIds(a.memberId, b.memberId));
    let moved = false;
    for (const from of byLoad) {
      const mine = held.get(from.memberId) ?? [];
      // The highest partitions move first, so a member keeps its lowest ones.
      const order = [...mine].sort((a, b) => compareTp(b, a));
      for (const tp of order) {
        const to = leastLoaded(subscribers.get(tp.topic) ?? []);
        if (to === null || load(to) >= load(from.memberId) - 1) continue;
        mine.splice(mine.indexOf(tp), 1);
        held.get(to)?.push(tp);
        moved = true;
        break;
      }
      if (moved) break;
    }
    if (!moved) break;
  }
  return finish(held);
}

export const sticky: Assignor = { name: 'sticky', assign: stickyAssign };
