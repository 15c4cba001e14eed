/**
 * Membership: who votes in a group and who only follows its log (DESIGN.md §9), and how that
 * changes, one server at a time, through the log.
 *
 * THE RULES (Ongaro's thesis §4.1-§4.3, with the fix of his 2015 raft-dev post "bug in
 * single-server membership changes"):
 *
 * 1. A configuration is an entry in the log (EntryKind.Config, the whole new membership) and
 *    takes effect on every member as soon as it is in its log, committed or not. A log that drops
 *    it (a conflicting suffix replaced) goes back to the configuration before it.
 * 2. A change adds or removes one voter at a time (`MembershipChange`): any majority of the old
 *    voters and any majority of the new ones then share a member, so two leaders of one term can
 *    never be elected by the two configurations.
 * 3. A leader proposes a change only when the last configuration in its log is committed (one in
 *    flight), and only once it has committed an entry of its own term. Without the second rule,
 *    two leaders of different terms can each append a change to the same old configuration, and
 *    the two new ones need not overlap (the 2015 bug).
 * 4. A voter is added as a learner first, which receives the log and never campaigns or counts;
 *    promoting it waits until its match index reaches the leader's commit index, so a voter added
 *    to a quorum can answer at once and adding it does not stall the group (thesis §4.2.1).
 * 5. A leader removed from the configuration goes on leading, without counting itself, until the
 *    removal is committed, then hands over and steps down (thesis §4.2.2). A member whose removal
 *    is in its log but not committed may still campaign, among the new voters and without
 *    counting itself, only to lead the group through its removal; once it knows the removal is
 *    committed it never campaigns. The leader keeps telling removed members its commit index
 *    until they have heard it, and takes back one that campaigns without knowing (raft/leader.ts).
 * 6. Any member not rejoining grants votes by the usual log check whatever its own configuration
 *    says (thesis §4.1): a learner whose promotion is in the candidate's log but not yet in its
 *    own is a voter to the candidate, and a candidate counts only its configuration's voters.
 * 7. A removal that would leave fewer voters able to count (not rejoining) than a quorum of the
 *    new configuration is refused: the group could commit nothing, not even the promotion of the
 *    rejoining ones.
 *
 * Why not etcd's way, where a configuration takes effect when applied (after commit): a member
 * then counts with a configuration its log has moved past. Two removals committed by the leader
 * but not yet applied by the others leave two members that still count three and elect a second
 * leader of the term (etcd-io/etcd#11284); CockroachDB's atomic replication changes RFC found the
 * apply-time rule "undesirable (if not outright unsound)" and moved to append-time
 * (cockroachdb/cockroach#36098, etcd-io/etcd#7625). Taking effect on append keeps
 * the configuration a function of the log alone: what a member's log holds decides who it counts,
 * the same on every member that holds the same prefix. Why not joint consensus (thesis §4.3): one
 * server at a time is enough for every change this system makes (add a replica, then remove one:
 * a move is two changes), and it needs no second configuration in every quorum computation.
 *
 * Where configurations live: in log entries, in the snapshot at the log start (`Snapshot
 * .membership`, so a log whose configuration entries were compacted away keeps it), and in the
 * storage's index of configuration entries (`LogStorage.configurations`, read once at start).
 * The one at the log start travels with the log as the entries' do: in a snapshot a leader sends,
 * and on its appends from its log start (`AppendRequest.logStartMembership`). Log matching says
 * nothing of it (every log agrees on term 0 at index 0), and a replica created to join a running
 * group starts from a guess (a learner of the nodes it is assigned with): when the group's log
 * holds no configuration entry, its membership never having changed, the append from the start
 * is the only word the replica gets of it (RaftLog.takeLogStartMembership).
 *
 * Configuration entry payload (UTF-8 JSON): `{"voters":["n1","n2"],"learners":["n3"]}`. The other
 * configuration entry, a rejoining replica's promotion (raft/rejoin.ts), has the keys `promote`
 * and `rejoin` instead and changes no membership.
 */
import { RaftError, RaftErrorCode, assert } from './errors.js';
import { decodePromotion, type Promotion } from './rejoin.js';
import { EntryKind, type Entry, type NodeId } from './types.js';

export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** One single-server change (rule 2): the only ways a configuration may differ from the one before it. */
export type MembershipChange =
  /** A new member that receives the log and neither votes nor counts. */
  | { readonly type: 'addLearner'; readonly node: NodeId }
  /** A learner becomes a voter (rule 4: once it holds the log up to the commit index). */
  | { readonly type: 'promote'; readonly node: NodeId }
  /** A voter or learner leaves the group. */
  | { readonly type: 'remove'; readonly node: NodeId };

/** The configuration in effect from `index` on (until the next one). */
export interface ConfigurationAt {
  readonly index: number;
  readonly membership: Membership;
}

/** At most this many members (voters and learners) in one group: a named bound on quorum work per commit. */
export const MEMBERS_MAX = 15;

export function isMember(m: Membership, id: NodeId): boolean {
  return m.voters.includes(id) || m.learners.includes(id);
}

export function sameMembership(a: Membership, b: Membership): boolean {
  return sameSet(a.voters, b.voters) && sameSet(a.learners, b.learners);
}

export function describeMembership(m: Membership): string {
  return `voters ${m.voters.join(',') || '(none)'}${m.learners.length > 0 ? `, learners ${m.learners.join(',')}` : ''}`;
}

/** The membership after `change`, or a RaftError (INVALID_MEMBERSHIP_CHANGE) saying why it cannot be made. */
export function applyChange(m: Membership, change: MembershipChange): Membership {
  const refuse = (why: string): never => {
    throw new RaftError(RaftErrorCode.InvalidMembershipChange, `cannot ${change.type} ${change.node}: ${why} (${describeMembership(m)})`, false);
  };
  const node = change.node;
  if (typeof node !== 'string' || node.length === 0) refuse('a node id is a non-empty string');
  switch (change.type) {
    case 'addLearner':
      if (isMember(m, node)) refuse('it is a member already');
      if (m.voters.length + m.learners.length >= MEMBERS_MAX) refuse(`a group has at most ${MEMBERS_MAX} members`);
      return { voters: m.voters, learners: [...m.learners, node] };
    case 'promote':
      if (!m.learners.includes(node)) refuse(m.voters.includes(node) ? 'it is a voter already' : 'only a learner is promoted; add it as a learner first');
      return { voters: [...m.voters, node], learners: m.learners.filter((x) => x !== node) };
    case 'remove':
      if (!isMember(m, node)) refuse('it is not a member');
      if (m.voters.length === 1 && m.voters[0] === node) refuse('it is the last voter');
      return { voters: m.voters.filter((x) => x !== node), learners: m.learners.filter((x) => x !== node) };
    default:
      return refuse(`unknown change type ${(change as { type: unknown }).type}`);
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeMembership(m: Membership): Uint8Array {
  return enc.encode(JSON.stringify({ voters: m.voters, learners: m.learners }));
}

/** What a configuration entry carries: a membership, a rejoining replica's promotion, or (null) neither. */
export type ConfigEntry = { readonly membership: Membership } | { readonly promotion: Promotion };

export function decodeConfigEntry(data: Uint8Array): ConfigEntry | null {
  const promotion = decodePromotion(data);
  if (promotion !== null) return { promotion };
  try {
    const v = JSON.parse(dec.decode(data)) as { voters?: unknown; learners?: unknown };
    if (isIdList(v.voters) && isIdList(v.learners)) return { membership: { voters: v.voters, learners: v.learners } };
  } catch {
    // neither
  }
  return null;
}

/** The membership entry `e` sets, or null when it sets none (not a configuration entry, or a promotion). */
export function configurationOf(e: Entry): Membership | null {
  return e.kind === EntryKind.Config ? membershipOf(e.data) : null;
}

/** The membership a configuration entry's data sets, or null if it sets none (a promotion, or not a configuration). */
export function membershipOf(data: Uint8Array): Membership | null {
  const c = decodeConfigEntry(data);
  return c !== null && 'membership' in c ? c.membership : null;
}

/**
 * The configurations of one log, oldest first: the one in effect at the log start (from its
 * snapshot, or the group's initial one) and one per configuration entry after it. The last is in
 * effect (rule 1). RaftLog keeps it in step with appends, truncations and snapshots.
 */
export class Configurations {
  private list: ConfigurationAt[];

  constructor(initial: readonly ConfigurationAt[]) {
    assert(initial.length > 0, () => 'a log has at least the configuration at its start');
    for (let k = 1; k < initial.length; k++) {
      assert(initial[k]!.index > initial[k - 1]!.index, () => `configurations out of order: ${initial.map((c) => c.index).join(', ')}`);
    }
    this.list = [...initial];
  }

  /** The configuration in effect: the last in the log. */
  get current(): ConfigurationAt {
    return this.list[this.list.length - 1]!;
  }

  get all(): readonly ConfigurationAt[] {
    return this.list;
  }

  /** The configuration in effect at `index` (the last one at or before it; the first if none is). */
  at(index: number): ConfigurationAt {
    for (let k = this.list.length - 1; k > 0; k--) if (this.list[k]!.index <= index) return this.list[k]!;
    return this.list[0]!;
  }

  /** Entry `index` carries configuration `m`. */
  add(index: number, m: Membership): void {
    assert(index > this.current.index, () => `configuration at ${index} is not after the one at ${this.current.index}`);
    this.list.push({ index, membership: m });
  }

  /** The log dropped every entry from `index` on: their configurations go (rule 1), never the one at the log start. */
  truncateFrom(index: number): void {
    while (this.list.length > 1 && this.list[this.list.length - 1]!.index >= index) this.list.pop();
  }

  /** The log now starts after `index` with configuration `m` (a snapshot installed). */
  reset(index: number, m: Membership): void {
    this.list = [{ index, membership: m }];
  }

  /** The log start moved up to `index` (compaction): configurations superseded before it go. */
  compactTo(index: number): void {
    while (this.list.length > 1 && this.list[1]!.index <= index) this.list.shift();
  }
}

function isIdList(v: unknown): v is NodeId[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0);
}

function sameSet(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
