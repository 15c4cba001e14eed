/**
 * One member of one Raft group, as a pure state machine (shaped like etcd's raft).
 *
 * Inputs: `tick()`, `step(message)`, `propose(data)`, `readIndex(context)`,
 * `transferLeadership(to)`, `reportUnreachable(peer)`, `reportReachable(peer)`. Output: a `Ready`
 * (see raft/types.ts for the contract: persist, then send and apply; a leader's messages may go
 * first), then `advance(ready)`. The log is the core's own: the host reads it through
 * `committed`, `applied`, `firstIndex()`, `lastIndex()`, `termAt(i)` and `entries(lo, hi, bytes)`.
 *
 * No timers, sockets, files, clocks or global randomness: time is ticks, randomness comes from
 * the config, so a simulation replays any history from its seed.
 *
 * This file holds what every role shares: term and vote, role changes, and which role handles a
 * message. Elsewhere: what only a leader holds and does, raft/leader.ts (ReadIndex in
 * raft/read-only.ts); a candidate's and a voter's part, raft/election.ts; a follower's answers to
 * its leader, raft/follower.ts; the Ready handshake, raft/ready.ts; rejoining, raft/rejoin.ts;
 * membership and its changes, raft/membership.ts.
 *
 * Section numbers refer to the Raft paper (§5.x) and Ongaro's thesis (§3.10 transfer, §6.4 reads,
 * §9.6 pre-vote).
 */
import { RaftConfigError, validateConfig, type RaftConfig, type RaftLimits, type UnsafeMutations } from './config.js';
import { Candidacy, LEASE_TICK_SLACK, voteResponse, type CampaignKind } from './election.js';
import { assert, notLeader } from './errors.js';
import { answerAppend, answerHeartbeat, answerSnapshot, appendAck } from './follower.js';
import { Leader, type Member } from './leader.js';
import { RaftLog } from './log.js';
import { describeMembership, isMember, type ConfigurationAt, type Membership, type MembershipChange } from './membership.js';
import { Outbox } from './outbox.js';
import { assertNever } from './progress.js';
import { VoteResult } from './quorum.js';
import { Handshake } from './ready.js';
import { newIncarnation, promotes } from './rejoin.js';
import {
  EntryKind,
  Role,
  type AppendResponse,
  type Entry,
  type HardState,
  type Heartbeat,
  type HeartbeatResponse,
  type Message,
  type NodeId,
  type ProposeResult,
  type RaftStatus,
  type Ready,
  type Snapshot,
  type VoteRequest,
  type VoteResponse,
} from './types.js';

export type { PeerStatus, ProposeResult, RaftStatus } from './types.js';

/**
 * A follower that lost its connection to its leader campaigns within 1 to this many ticks
 * (randomized, so the followers of a dead leader rarely start together; reportUnreachable).
 */
const LEADER_LOST_TICKS = 3;

export class Raft {
  readonly id: NodeId;
  readonly limits: RaftLimits;

  term = 0;
  vote: NodeId | null = null;
  lead: NodeId | null = null;
  role: Role = Role.Follower;
  /**
   * The incarnation this replica rejoins under after losing data (raft/rejoin.ts): it neither votes
   * nor counts until a committed entry promotes it. Null for a voter.
   */
  rejoin: string | null = null;

  private readonly log: RaftLog;
  private readonly random: () => number;
  private readonly checkQuorum: boolean;
  private readonly preVote: boolean;
  private readonly mutations: UnsafeMutations;
  /** What a leader of any term takes from this member. */
  private readonly member: Member;

  /** The leader's state: set exactly while `role` is Leader (leaderOrNull, leading). */
  private leader: Leader | null = null;
  /** The (pre-)candidate's state: set exactly while `role` is PreCandidate or Candidate (candidacyOrNull). */
  private candidacy: Candidacy | null = null;
  private electionElapsed = 0;
  private randomizedElectionTimeout = 0;

  private readonly out = new Outbox();
  private readonly handshake: Handshake;

  constructor(config: RaftConfig) {
    this.limits = validateConfig(config);
    this.id = config.id;
    this.random = config.random;
    this.checkQuorum = config.checkQuorum ?? true;
    this.preVote = config.preVote ?? true;
    this.mutations = config.unsafeMutations ?? {};
    const hs = config.hardState ?? { term: 0, vote: null, commit: 0 };
    this.log = new RaftLog(config.storage, hs.commit, config.applied ?? 0, startingConfigurations(config));
    const commitBroadcast = config.commitBroadcast ?? 'eager';
    this.member = { id: this.id, limits: this.limits, commitBroadcast, mutations: this.mutations, log: this.log, out: this.out };
    this.term = hs.term;
    this.vote = hs.vote;
    this.rejoin = hs.rejoin ?? null;
    // Terms only grow along a log, and a member's term is at least that of any entry it holds.
    assert(hs.term >= this.log.lastTerm(), () => `${this.id}: hard state term ${hs.term} is below the last log term ${this.log.lastTerm()} (index ${this.log.lastIndex()}): the hard state is not this log's`);
    this.handshake = new Handshake(this.log, this.out, this.limits.applyBytesMax, { term: hs.term, vote: hs.vote, commit: this.log.committed, rejoin: this.rejoin });
    this.becomeFollower(this.term, null);
  }

  // ---------------------------------------------------------------------------------------------
  // The log, read-only

  /** The configuration in effect: the last one in the log, committed or not (raft/membership.ts). */
  get membership(): Membership {
    return this.log.configs.current.membership;
  }

  get voters(): readonly NodeId[] {
    return this.membership.voters;
  }

  get learners(): readonly NodeId[] {
    return this.membership.learners;
  }

  /** Whether the configuration in effect is committed (no change in flight). */
  get membershipCommitted(): boolean {
    return this.log.configs.current.index <= this.log.committed;
  }

  /** The snapshot the next Ready hands out for installing (taken from a leader since the last), or null. */
  get pendingSnapshot(): Snapshot | null {
    return this.log.unstableSnapshot();
  }

  /** The highest index known to be committed. */
  get committed(): number {
    return this.log.committed;
  }

  /** The highest index handed out for applying (in a Ready). */
  get applied(): number {
    return this.log.applied;
  }

  /** The first index the log holds (the one after its snapshot). */
  firstIndex(): number {
    return this.log.firstIndex();
  }

  /** The last index the log holds, persisted or not. */
  lastIndex(): number {
    return this.log.lastIndex();
  }

  /** The term of entry `i`, or null when `i` is before the log start (less its snapshot) or after its end. */
  termAt(i: number): number | null {
    return this.log.term(i);
  }

  /** Entries `lo..hi-1` up to `maxBytes` (at least one); throws LogCompactedError before the log start. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.log.slice(lo, hi, maxBytes);
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs

  /** One unit of logical time. */
  tick(): void {
    const l = this.leaderOrNull();
    if (l !== null) this.tickLeader(l);
    else this.tickElection();
  }

  /** Starts an election now (as if the election timeout had passed). */
  campaign(): void {
    this.hup();
  }

  /** Appends entries to the leader's log; throws a RaftError when this node cannot take them. */
  propose(datas: readonly Uint8Array[]): ProposeResult {
    const l = this.leaderOrNull();
    if (l === null) throw notLeader(this.id, this.lead);
    return l.propose(datas);
  }

  /**
   * Appends a configuration entry that makes `change` (raft/membership.ts): in effect on every
   * member once in its log. Throws a RaftError when this node is not the leader, when another
   * change is in flight or the leader has not committed in its term yet
   * (MEMBERSHIP_CHANGE_IN_PROGRESS, retriable), when a learner to promote is behind
   * (LEARNER_BEHIND, retriable), or when the change is not a single-server step
   * (INVALID_MEMBERSHIP_CHANGE).
   */
  proposeMembership(change: MembershipChange): ProposeResult {
    const l = this.leaderOrNull();
    if (l === null) throw notLeader(this.id, this.lead);
    return l.proposeMembership(change);
  }

  /**
   * Asks for a linearizable read point (§6.4). The answer is a `ReadState` with this context in a
   * later Ready, once a quorum has confirmed that this node still leads; the host serves the read
   * when it has applied up to the ReadState's index. Throws NOT_LEADER on a non-leader.
   */
  readIndex(context: unknown): void {
    const l = this.leaderOrNull();
    if (l === null) throw notLeader(this.id, this.lead);
    l.readIndex(context);
  }

  /** Thesis §3.10: hands leadership to `to` once its log is caught up. */
  transferLeadership(to: NodeId): void {
    const l = this.leaderOrNull();
    if (l === null) throw notLeader(this.id, this.lead);
    // The transfer must finish within one election timeout, counted from now.
    if (l.transfer(to)) this.electionElapsed = 0;
  }

  /**
   * The host lost its connection to `peer`: whatever was in flight to it may be gone, so a leader
   * probes it before streaming again. A follower whose leader it was takes it as the leader's
   * death (a crashed process's connections close at once): it forgets the leader, so its lease no
   * longer holds off the other followers' pre-votes, and campaigns within LEADER_LOST_TICKS
   * instead of a whole election timeout. A cut network or a paused process closes nothing; the
   * election timeout still covers those. A leader that is alive after all keeps its place: the
   * followers that still hear from it ignore the pre-vote (their lease), and its next append or
   * heartbeat makes this node its follower again.
   */
  reportUnreachable(peer: NodeId): void {
    const l = this.leaderOrNull();
    if (l !== null) {
      l.reportUnreachable(peer);
      return;
    }
    if (this.role === Role.Follower && this.lead === peer) {
      this.lead = null;
      const soon = 1 + Math.floor(this.random() * LEADER_LOST_TICKS);
      this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - soon);
    }
  }

  /**
   * The host's word on the snapshot at `index` it streams to `peer` (a partition's log files):
   * 'sending' when it starts (the snapshot then waits for the next report instead of timing
   * out), then 'finished' or 'failed' (raft/leader.ts). A no-op on a member that does not lead.
   */
  reportSnapshot(peer: NodeId, index: number, status: 'sending' | 'finished' | 'failed'): void {
    this.leaderOrNull()?.reportSnapshot(peer, index, status);
  }

  /**
   * The storage has in memory entries it was asked to read ahead (LogStorage.readAhead): a leader
   * sends the followers that waited for them their appends now. A no-op on a member that does not lead.
   */
  entriesReadAhead(): void {
    this.leaderOrNull()?.sendReadAhead();
  }

  /**
   * The host (re)connected to `peer`. A (pre-)candidate that has no answer from it yet most likely
   * lost its request on the way (a message to a peer without a connection is dropped): it asks
   * again now, instead of waiting out its election timeout. Seen when a leader died just after
   * another node restarted: the survivors were not yet connected to each other, and the election
   * waited for a timeout after they were. Asking again is harmless: a vote already granted in this
   * term is granted again, and pre-votes change nothing. Two pre-candidates that reach each other
   * at once do not split the vote (raft/election.ts, outranksRival).
   */
  reportReachable(peer: NodeId): void {
    const c = this.candidacyOrNull();
    if (c === null) return;
    if (peer === this.id || !this.voters.includes(peer) || c.answered(peer)) return;
    this.out.msgs.push(c.request(peer));
  }

  step(m: Message): void {
    // A leader hears from a member it removed that never learned it (raft/leader.ts noticePeer).
    if (m.from !== this.id) this.leader?.noticePeer(m.from);
    if (m.term > this.term) {
      if (m.type === 'preVote' || m.type === 'vote') {
        // §9.6 / check-quorum: while a live leader is heard from, vote requests are disruptive. A
        // leader is in its own lease at every tick: it checks its quorum once per election timeout
        // and steps down if it lost it. (The slack is for followers; a leader that granted
        // pre-votes in its last tick let a reconnected follower depose it: the host simulation's
        // stability probe, host seed 7.)
        const inLease = this.checkQuorum && (this.role === Role.Leader || (this.lead !== null && this.electionElapsed < this.limits.electionTicks - LEASE_TICK_SLACK));
        if (!m.transfer && inLease) return;
      }
      if (m.type === 'preVote') {
        // A pre-vote never changes anyone's term.
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // A granted pre-vote carries the term we would campaign in; we raise ours only if we win.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // A leader from an older term, perhaps cut off: our higher term makes it step down. Without
        // this, a node that raised its term would ignore it forever while it ignored our votes.
        this.reply(appendAck(this, m.from, 0));
      } else if (m.type === 'preVote') {
        this.reply({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    if (m.type === 'preVote' || m.type === 'vote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case Role.Leader:
        this.stepLeader(m);
        return;
      case Role.Candidate:
      case Role.PreCandidate:
        this.stepCandidate(m);
        return;
      case Role.Follower:
        this.stepFollower(m);
        return;
      default:
        assertNever(this.role);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  hasReady(): boolean {
    if (this.handshake.readyOut) return false;
    this.flushBroadcast();
    return this.handshake.hasUpdates(this);
  }

  ready(): Ready {
    this.flushBroadcast();
    return this.handshake.ready(this);
  }

  /**
   * What a leader may send while a Ready of its is out (the host is still persisting it): the
   * appends of entries proposed since that Ready, and whatever else it queued
   * (heartbeats, probes, a transfer's timeoutNow). They may go for the reason a leader's Ready may
   * send first (Ready.sendFirst): nothing a leader sends depends on its own unpersisted entries,
   * since it counts its own copy only once the host advances. So followers get a proposal made
   * during a sync at once, rather than after it (etcd's raft does the same with asynchronous
   * storage writes). Only while this member leads in a term and vote already durable: for anyone
   * else, or while the Ready out carries a new term or vote, nothing (the messages wait for the
   * next Ready, after the sync). Nothing either when no Ready is out: `ready()` hands them out.
   */
  takeMessagesWhileOut(): readonly Message[] {
    if (!this.handshake.readyOut || this.role !== Role.Leader || !this.handshake.termAndVoteDurable(this)) return [];
    this.leaderOrNull()?.sendNewEntries();
    const msgs = this.out.msgs;
    if (msgs.length === 0) return msgs;
    this.out.msgs = [];
    return msgs;
  }

  /** A leader sends the appends that its proposals and commits since the last Ready asked for. */
  private flushBroadcast(): void {
    this.leaderOrNull()?.flushBroadcast();
  }

  /** The host has persisted, sent and applied what `rd` asked for. */
  advance(rd: Ready): void {
    this.handshake.advance(this, rd);
    // A committed promotion of this replica as it is now: it votes again.
    const incarnation = this.rejoin;
    if (incarnation !== null && rd.committedEntries.some((e) => e.kind === EntryKind.Config && promotes(e.data, this.id, incarnation))) this.rejoin = null;
    this.leaderOrNull()?.selfPersisted();
    this.stepDownIfRemoved();
  }

  /**
   * Rule 5 of raft/membership.ts: a leader whose removal is committed stops leading. It first
   * hands over to the voter with the longest log, if that one holds all of it, so the group
   * need not wait out an election timeout.
   */
  private stepDownIfRemoved(): void {
    const l = this.leaderOrNull();
    if (l === null || this.voters.includes(this.id) || !this.membershipCommitted) return;
    l.handOffOnRemoval();
    this.becomeFollower(this.term, null);
  }

  status(): RaftStatus {
    const l = this.leaderOrNull();
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      lead: this.lead,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      transferee: l?.transferee ?? null,
      rejoin: this.rejoin,
      membership: this.membership,
      membershipIndex: this.log.configs.current.index,
      peers: l?.peers() ?? [],
    };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed, rejoin: this.rejoin };
  }

  // ---------------------------------------------------------------------------------------------
  // Roles

  private becomeFollower(term: number, lead: NodeId | null): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
  }

  private becomePreCandidate(): Candidacy {
    assert(this.role !== Role.Leader, () => `${this.id}: a leader cannot become a pre-candidate (term ${this.term})`);
    // Pre-vote changes neither term nor vote (§9.6).
    this.candidacy = new Candidacy('pre', this.id, this.term, this.voters, this.log);
    this.lead = null;
    this.role = Role.PreCandidate;
    return this.candidacy;
  }

  private becomeCandidate(kind: Exclude<CampaignKind, 'pre'>): Candidacy {
    assert(this.role !== Role.Leader, () => `${this.id}: a leader cannot become a candidate (term ${this.term})`);
    this.reset(this.term + 1);
    this.vote = this.id;
    this.candidacy = new Candidacy(kind, this.id, this.term, this.voters, this.log);
    this.role = Role.Candidate;
    return this.candidacy;
  }

  /** Won the election: takes the lead, appends the term's no-op entry and sends it (raft/leader.ts). */
  private becomeLeader(): void {
    assert(this.role === Role.Candidate, () => `${this.id}: only a candidate can become leader, not a ${this.role} (term ${this.term})`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    this.leader = new Leader(this.member, this.term);
  }

  /** Every role change but to pre-candidate: the term (a new one has no vote yet), timers, and no role's state. */
  private reset(term: number): void {
    if (this.term !== term) {
      assert(term > this.term, () => `${this.id}: term would go back from ${this.term} to ${term}`);
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.randomizedElectionTimeout = this.limits.electionTicks + Math.floor(this.random() * this.limits.electionTicks);
    this.candidacy = null;
    if (this.leader !== null) {
      for (const c of this.leader.dropReads()) this.out.readsDropped.push(c);
      this.leader = null;
    }
  }

  /** The leader's state while this member leads, or null; asserts that the two agree. */
  private leaderOrNull(): Leader | null {
    const l = this.leader;
    assert(
      l === null ? this.role !== Role.Leader : this.role === Role.Leader && l.term === this.term,
      () => `${this.id} is a ${this.role} of term ${this.term} ${l === null ? 'without a leader state' : `with the leader state of term ${l.term}`}`,
    );
    return l;
  }

  /** The leader's state; asserts that this member leads. */
  private leading(): Leader {
    const l = this.leaderOrNull();
    assert(l !== null, () => `${this.id} is a ${this.role} of term ${this.term}, not the leader`);
    return l;
  }

  /** The (pre-)candidate's state while this member campaigns, or null; asserts that the two agree. */
  private candidacyOrNull(): Candidacy | null {
    const c = this.candidacy;
    const campaigning = this.role === Role.PreCandidate || this.role === Role.Candidate;
    assert(
      c === null ? !campaigning : campaigning && c.pre === (this.role === Role.PreCandidate) && c.term === this.term,
      () => `${this.id} is a ${this.role} of term ${this.term} ${c === null ? 'without a candidacy' : `with a ${c.kind} candidacy of term ${c.term}`}`,
    );
    return c;
  }

  /**
   * May campaign: allowed to vote, and a voter of the configuration in effect, or of the one
   * before it while its removal is not committed. Such a member campaigns among the new voters,
   * without counting itself, and leads only to commit its removal (then steps down, thesis
   * §4.2.2): a leader that lost its lead right after proposing its own removal may be the only
   * member holding the whole log, and the others cannot win without its vote, which the log
   * check withholds (the host simulation found that group stuck).
   */
  private promotable(): boolean {
    if (!this.mayVote()) return false;
    if (this.voters.includes(this.id)) return true;
    const all = this.log.configs.all;
    const before = all[all.length - 2];
    return before !== undefined && !this.membershipCommitted && before.membership.voters.includes(this.id);
  }

  /**
   * May grant votes: any member not rejoining after losing data (raft/rejoin.ts), whatever its
   * own configuration says (thesis §4.1: a server answers without consulting its configuration).
   * A learner whose promotion is in the candidate's log but not yet in its own is a voter to the
   * candidate; refusing it can leave no majority (three of four voters needed, one rejoining, the
   * promoted one still a learner in its own eyes: the host simulation found that group stuck).
   * A candidate counts only the voters of its configuration, so a vote from anyone else counts
   * for nothing.
   */
  private mayVote(): boolean {
    return this.rejoin === null || this.mutations.rejoinerVotes === true;
  }

  /**
   * The leader told us to commit beyond our log, so we lost entries we had acknowledged to it
   * (a disk that did not keep what it synced, or a log cut on restart): we may no longer vote or
   * count as if we held them, and rejoin under a new incarnation (raft/rejoin.ts).
   */
  private lostAcknowledged(): void {
    if (this.rejoin === null) this.rejoin = newIncarnation(this.random);
  }

  // ---------------------------------------------------------------------------------------------
  // Elections (raft/election.ts)

  private hup(): void {
    if (this.role === Role.Leader) return;
    this.campaign0(this.preVote && !this.mutations.skipPreVote ? 'pre' : 'election');
  }

  private campaign0(kind: CampaignKind): void {
    if (!this.promotable()) return;
    const c = kind === 'pre' ? this.becomePreCandidate() : this.becomeCandidate(kind);
    if (c.result() === VoteResult.Won) {
      // A group of one wins at once.
      if (c.pre) this.campaign0('election');
      else this.becomeLeader();
      return;
    }
    for (const to of this.voters) if (to !== this.id) this.out.msgs.push(c.request(to));
  }

  private handleVoteRequest(m: VoteRequest): void {
    if (!this.mayVote()) {
      const type = m.type === 'preVote' ? 'preVoteResp' : 'voteResp';
      this.reply({ type, from: this.id, to: m.from, term: this.term, reject: true });
      return;
    }
    const r = voteResponse(m, this, this.log, this.mutations.grantVoteWithoutLogCheck !== true);
    // Sent as it is: a member that may vote is not rejoining (but under the rejoinerVotes mutant).
    this.out.msgs.push(r);
    if (!r.reject && m.type === 'vote') {
      this.electionElapsed = 0;
      this.vote = m.from;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Time

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup();
    }
  }

  private tickLeader(l: Leader): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.limits.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !l.quorumActive()) {
        // §6.2: a leader that cannot reach a quorum steps down, so clients look elsewhere.
        this.becomeFollower(this.term, null);
        return;
      }
      l.endActivityRound();
    }
    l.tick();
  }

  // ---------------------------------------------------------------------------------------------
  // Messages, by role

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'appendResp':
        this.leading().handleAppendResponse(m);
        this.stepDownIfRemoved();
        return;
      case 'heartbeatResp':
        this.leading().handleHeartbeatResponse(m);
        return;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        assert(false, () => `${this.id} leads term ${this.term} and got a ${m.type} from ${m.from} of the same term: two leaders`);
        return;
      case 'preVoteResp':
      case 'voteResp':
      case 'timeoutNow':
      case 'preVote':
      case 'vote':
        return;
      default:
        assertNever(m);
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // The leader of this term: follow it.
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        return;
      case 'preVoteResp':
      case 'voteResp': {
        const c = this.candidacyOrNull();
        assert(c !== null, () => `${this.id} is a ${this.role} of term ${this.term} and does not campaign`);
        if (m.type !== c.responseType) return;
        const result = c.record(m.from, !m.reject);
        if (result === VoteResult.Won) {
          if (c.pre) this.campaign0('election');
          else this.becomeLeader();
        } else if (result === VoteResult.Lost) {
          this.becomeFollower(this.term, null);
        }
        return;
      }
      case 'appendResp':
      case 'heartbeatResp':
      case 'timeoutNow':
      case 'preVote':
      case 'vote':
        return;
      default:
        assertNever(m);
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.reply(answerAppend(m, this, this.log));
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.reply(answerSnapshot(m, this, this.log));
        return;
      case 'timeoutNow':
        // §3.10: the leader hands over; campaign at once, past pre-vote and the voters' lease.
        this.campaign0('transfer');
        return;
      case 'appendResp':
      case 'heartbeatResp':
      case 'preVoteResp':
      case 'voteResp':
      case 'preVote':
      case 'vote':
        return;
      default:
        assertNever(m);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Follower (raft/follower.ts)

  private handleHeartbeat(m: Heartbeat): void {
    // The leader names a commit index no higher than what we acknowledged to it.
    if (m.commit > this.log.lastIndex()) this.lostAcknowledged();
    this.reply(answerHeartbeat(m, this, this.log));
  }

  /** Sends an answer as this member sends it: with its incarnation while it is rejoining (raft/rejoin.ts; a voter's is left as it is). */
  private reply(m: AppendResponse | HeartbeatResponse | VoteResponse): void {
    this.out.msgs.push(this.rejoin === null ? m : { ...m, rejoin: this.rejoin });
  }
}

/**
 * The configurations a member starts from: what its storage holds, after the group's first
 * configuration (RaftConfig.voters) when the storage does not know the one at its log start (a
 * new group, or a log written before configurations were kept).
 */
function startingConfigurations(c: RaftConfig): ConfigurationAt[] {
  const stored = c.storage.configurations();
  const start = c.storage.firstIndex() - 1;
  if (stored.length > 0 && stored[0]!.index <= start) return [...stored];
  const initial: Membership = { voters: [...c.voters], learners: [...(c.learners ?? [])] };
  if (stored.length === 0 && !isMember(initial, c.id)) {
    throw new RaftConfigError(`raft group member ${c.id}: it is not among the members (${describeMembership(initial)}) of a group whose log holds no configuration`);
  }
  return [{ index: Math.min(start, stored[0]?.index ?? start), membership: initial }, ...stored.filter((x) => x.index > start)];
}
