/**
 * Rejoining replicas (DESIGN.md §9): a replica that may have lost data it acknowledged comes back
 * as a learner of its own group, under a new incarnation, and is promoted to voter again only by
 * an entry its group commits.
 *
 * Raft's proofs assume that what a voter acknowledged, and the vote it cast, survive it. A replica
 * whose folder came back empty under its old id, whose log ends below what it had synced, or whose
 * hard state is damaged breaks that: counted as a voter, it can elect a leader that lacks an
 * acknowledged entry (KIP-853's lesson; the NATS 2.12.1 Jepsen report). Such a replica is
 * *rejoining* (`HardState.rejoin` holds its incarnation, a random id):
 *
 * - it never campaigns and rejects every vote and pre-vote;
 * - its answers to the leader carry the incarnation (`rejoin`), and a leader counts it in no
 *   quorum (commit, read rounds, check-quorum) while they do; it takes such an answer as news that
 *   this follower's log is what the answer says, whatever it acknowledged before, and probes it
 *   from there;
 * - once it holds the leader's log up to the commit index, the leader proposes a promotion entry
 *   naming the replica and its incarnation;
 * - the replica becomes a voter again when it applies that entry, committed: not before. Its
 *   answers then carry no incarnation, and leaders count it again.
 *
 * Why committed, and committed by the others: the promotion entry is committed by a majority that
 * excludes the rejoining replica, in some term Tp. Its earlier incarnation may have granted a vote
 * in a term T that the new one cannot remember. If a leader of T won with that vote, a member of
 * its majority also belongs to the promotion's majority (two majorities of the other n - 1
 * members meet when one of them lacks one vote: q + (q - 1) > n - 1), and that member accepted
 * the promotion after voting in T, so Tp > T. A candidate of T that has not won yet cannot win
 * once the promotion is committed: the promotion's majority rejects its log, which lacks the
 * entry, and what remains is too few. The replica learns Tp before it applies the entry, so it
 * never votes in a term its earlier incarnation may have voted in. And it holds everything
 * committed when it starts to count: it applies the promotion from its own log, which then holds
 * the leader's log up to the promotion.

 * The promotion entry (EntryKind.Config): UTF-8 JSON `{"promote":"<node id>","rejoin":"<incarnation>"}`.
 * An incarnation names one attempt: a replica that loses its data again rejoins under a new one,
 * so an old promotion in its log does not promote it.
 */
import type { NodeId } from './types.js';

export interface Promotion {
  readonly promote: NodeId;
  readonly rejoin: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodePromotion(p: Promotion): Uint8Array {
  return enc.encode(JSON.stringify({ promote: p.promote, rejoin: p.rejoin }));
}

/** The promotion a configuration entry carries, or null if it carries something else. */
export function decodePromotion(data: Uint8Array): Promotion | null {
  try {
    const v = JSON.parse(dec.decode(data)) as { promote?: unknown; rejoin?: unknown };
    if (typeof v.promote === 'string' && typeof v.rejoin === 'string') return { promote: v.promote, rejoin: v.rejoin };
  } catch {
    // not a promotion
  }
  return null;
}

/** Whether a configuration entry's `data` promotes replica `id` rejoining under `incarnation`. */
export function promotes(data: Uint8Array, id: NodeId, incarnation: string): boolean {
  const p = decodePromotion(data);
  return p !== null && p.promote === id && p.rejoin === incarnation;
}

/** A new incarnation id: 16 hex digits from `random` (the core's seeded source, or the host's). */
export function newIncarnation(random: () => number): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += Math.floor(random() * 0x10000).toString(16).padStart(4, '0');
  return s;
}
