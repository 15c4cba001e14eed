/**
 * Moving a partition's replicas (DESIGN.md §9): the metadata's assignment of a partition is its
 * *target*; the group's configuration (raft/membership.ts, in its own log) is what it is. The
 * group's leader drives the one toward the other, one single-server change at a time, each only
 * once the last is committed:
 *
 *   1. add every target replica the group lacks, as a learner;
 *   2. promote each such learner once it holds the log up to the commit index;
 *   3. once every target replica is a voter, move leadership off a voter that leaves (to the
 *      target's preferred replica if it can take it), then remove the voters that leave, and any
 *      learner the target does not name.
 *
 * Adding before removing keeps at least as many voters as the target asks for throughout, so a
 * move never makes a group less fault tolerant than it is and will be (Kafka adds all new
 * replicas before it drops any, too). A reassignment survives the failover of any leader: the
 * next one reads the same target and the same log, and goes on from the last committed step.
 *
 * `nextMove` is a pure function of what the leader knows; the node runs it for every group it
 * leads (src/node/node.ts).
 */
import { isMember, sameMembership, type Membership, type MembershipChange } from '../../raft/membership.js';
import type { NodeId, PeerStatus } from '../../raft/types.js';

/** What the leader knows of its group, from `Raft.status()`. */
export interface GroupView {
  readonly self: NodeId;
  readonly membership: Membership;
  /** The last configuration is committed (rule 3 of raft/membership.ts: one change in flight). */
  readonly configCommitted: boolean;
  readonly commit: number;
  readonly peers: readonly PeerStatus[];
}

export type Move =
  /** Propose this membership change. */
  | { readonly kind: 'change'; readonly change: MembershipChange }
  /** Hand leadership to this voter first: this leader leaves the group. */
  | { readonly kind: 'transfer'; readonly to: NodeId }
  /** Nothing to do now: `why` says what it waits for (for /status). */
  | { readonly kind: 'wait'; readonly why: string }
  /** The configuration is the target. */
  | { readonly kind: 'done' };

/** Whether the group's configuration is the target: its voters exactly, and no learner. */
export function atTarget(target: readonly NodeId[], m: Membership): boolean {
  return sameMembership(m, { voters: target, learners: [] });
}

export function nextMove(target: readonly NodeId[], g: GroupView): Move {
  const { voters, learners } = g.membership;
  if (atTarget(target, g.membership)) return { kind: 'done' };
  if (!g.configCommitted) return { kind: 'wait', why: 'the last membership change is not committed yet' };
  const missing = target.find((id) => !isMember(g.membership, id));
  if (missing !== undefined) return { kind: 'change', change: { type: 'addLearner', node: missing } };
  const peer = (id: NodeId): PeerStatus | undefined => g.peers.find((p) => p.id === id);
  const caughtUp = (id: NodeId): boolean => {
    const p = peer(id);
    return p !== undefined && p.rejoin === null && p.match >= g.commit;
  };
  const toPromote = learners.filter((id) => target.includes(id));
  const ready = toPromote.find(caughtUp);
  if (ready !== undefined) return { kind: 'change', change: { type: 'promote', node: ready } };
  if (toPromote.length > 0) {
    const p = peer(toPromote[0]!);
    return { kind: 'wait', why: `learner ${toPromote[0]} is catching up (${p?.match ?? 0} of ${g.commit})` };
  }
  const extraLearner = learners.find((id) => !target.includes(id));
  if (extraLearner !== undefined) return { kind: 'change', change: { type: 'remove', node: extraLearner } };
  const leaving = voters.filter((id) => !target.includes(id));
  if (leaving.length === 0) return { kind: 'done' };
  // Another leaving voter before this leader, so it hands over only when it is the last to go.
  const other = leaving.find((id) => id !== g.self);
  if (other !== undefined) return { kind: 'change', change: { type: 'remove', node: other } };
  const to = [target[0]!, ...target.slice(1)].find(caughtUp);
  if (to === undefined) return { kind: 'wait', why: `no replica of the target is caught up to take the lead from ${g.self}` };
  return { kind: 'transfer', to };
}

/**
 * Whether a replica knows that its group removed it by a committed configuration: then nothing
 * counts on it any more and its node may delete it. (The leader keeps telling a removed member
 * its commit index until it answers: raft/leader.ts.)
 */
export function removedFromGroup(raft: { readonly membership: Membership; readonly membershipCommitted: boolean }, self: NodeId): boolean {
  return !isMember(raft.membership, self) && raft.membershipCommitted;
}

/**
 * A leader asked by `from` whether it is still a member (a `stray` peer frame: its node holds a
 * replica the metadata moved off it): true when the leader's committed configuration does not
 * name it. That configuration is committed, so its removal is too, whatever later happens to the
 * group, and its node may delete the replica. This reaches the replicas that no member would tell
 * (raft/leader.ts noticePeer hears only a stray that campaigns at a member that leads): one
 * removed while down whose old members have all left too, or whose removal the log no longer holds.
 */
export function strayRemoved(raft: { readonly membership: Membership; readonly membershipCommitted: boolean }, from: NodeId): boolean {
  return raft.membershipCommitted && !isMember(raft.membership, from);
}

/**
 * Whether the stray replica may act on a leader's `removed` answer given in `term`: only if it
 * has taken nothing from that leader in that term, nor from any later one. The answer travels on
 * the connection that carries the leader's later Raft messages, ahead of them, so an append that
 * re-adds this node (the metadata moved the partition back meanwhile) can only come after it; and
 * a replica that took part since counts for someone and stays (its node asks again).
 */
export function mayDeleteStray(raft: { readonly term: number; readonly lead: NodeId | null }, leader: NodeId, term: number): boolean {
  return raft.term < term || (raft.term === term && raft.lead !== leader);
}

/** One line for /status: the step a move takes next, or what it waits for. */
export function describeMove(m: Move): string {
  switch (m.kind) {
    case 'change':
      return `${m.change.type} ${m.change.node}`;
    case 'transfer':
      return `hand leadership to ${m.to}`;
    case 'wait':
      return `waiting: ${m.why}`;
    case 'done':
      return 'done';
  }
}

/**
 * What a replica created for a partition that has moved starts from: a learner of a group whose
 * voters it does not know yet. Its leader's log (or snapshot) tells it the configuration before
 * it could matter: a learner never campaigns, and is promoted only once it holds the log. A group
 * whose membership never changed (reassigned only to its nodes in another order, or moved back
 * before any change) holds no configuration entry: its first append, from the log start, carries
 * the configuration there instead (raft/membership.ts, "where configurations live").
 */
export function joiningMembership(target: readonly NodeId[], self: NodeId): Membership {
  return { voters: target.filter((id) => id !== self), learners: [self] };
}
