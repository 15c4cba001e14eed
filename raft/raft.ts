/**
 * One member of one Raft group, as a pure state machine (shaped like etcd's raft).
 *
 * Inputs: `tick()`, `step(message)`, `propose(data)`, `readIndex(context)`,
 * `transferLeadership(to)`, `reportUnreachable(peer)`, `reportReachable(peer)`. Output: a `Ready`
 * (see raft/types.ts for the contract: persist, then send and apply; a leader's messages may go
 * first), then `advance(ready)`.
 *
 * No timers, sockets, files, clocks or global randomness: time is ticks, randomness comes from
 * the config, so a simulation replays any history from its seed.
 *
 * Section numbers refer to the Raft paper (§5.x) and Ongaro's thesis (§3.10 transfer, §6.4 reads,
 * §9.6 pre-vote).
 */
import { validateConfig, type RaftConfig, type CommitBroadcast, type RaftLimits, type UnsafeMutations } from './config.js';
import { LogCompactedError, RaftError, RaftErrorCode, assert, notLeader } from './errors.js';
import { RaftLog } from './log.js';
import { Progress, ProgressState, assertNever } from './progress.js';
import { VoteResult, committedIndex, quorumSize, voteResult } from './quorum.js';
import { decodePromotion, encodePromotion, newIncarnation } from './rejoin.js';
import { ENTRY_OVERHEAD_BYTES, entryBytes } from './storage.js';
import {
  EntryKind,
  Role,
  type AppendRequest,
  type AppendResponse,
  type Entry,
  type HardState,
  type Heartbeat,
  type HeartbeatResponse,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type SnapshotRequest,
  type SoftState,
  type TimeoutNow,
  type VoteRequest,
  type VoteResponse,
} from './types.js';

const EMPTY = new Uint8Array(0);

/**
 * How many ticks shorter than the shortest election timeout a voter's lease is (§9.6). Each
 * node's ticks run at their own phase, so when a candidate's timeout passes at N ticks since it
 * last heard from the leader, a voter that heard the same heartbeat may count only N - 1. With a
 * lease of the full timeout, a candidate whose timeout came out at the minimum was ignored by the
 * other follower, and a failover waited for that follower's own, later timeout (seen in the
 * failover benchmark: 650-800 ms instead of about 400). A healthy leader's followers hear from it
 * every heartbeat interval, far inside the shortened lease, so it still keeps a partitioned node
 * from disrupting them.
 */
const LEASE_TICK_SLACK = 1;

/**
 * A follower that lost its connection to its leader campaigns within 1 to this many ticks
 * (randomized, so the followers of a dead leader rarely start together; reportUnreachable).
 */
const LEADER_LOST_TICKS = 3;

type CampaignKind = 'pre' | 'election' | 'transfer';

/** A read waiting for a quorum to confirm round `round` (§6.4). */
interface PendingRead {
  readonly round: number;
  readonly index: number;
  readonly context: unknown;
}

export interface ProposeResult {
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly term: number;
}

export interface PeerStatus {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly learner: boolean;
  readonly recentActive: boolean;
  /** The incarnation the peer rejoins under (it counts in no quorum until promoted), or null. */
  readonly rejoin: string | null;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly lead: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly transferee: NodeId | null;
  /** The incarnation this replica rejoins under while it is not a voter (raft/rejoin.ts); null for a voter. */
  readonly rejoin: string | null;
  readonly peers: readonly PeerStatus[];
}

export class Raft {
  readonly id: NodeId;
  readonly limits: RaftLimits;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly log: RaftLog;

  term = 0;
  vote: NodeId | null = null;
  lead: NodeId | null = null;
  role: Role = Role.Follower;
  /**
   * The incarnation this replica rejoins under after losing data (raft/rejoin.ts): it neither votes
   * nor counts until a committed entry promotes it. Null for a voter.
   */
  rejoin: string | null = null;

  private readonly random: () => number;
  private readonly checkQuorum: boolean;
  private readonly preVote: boolean;
  private readonly commitBroadcast: CommitBroadcast;
  private readonly mutations: UnsafeMutations;

  private readonly prs = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  /** Ticks since this member started (for pacing promotions of rejoining peers). */
  private ticks = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId | null = null;
  /** What the current (pre-)candidacy asks for, so a lost request can be asked again (reportReachable). */
  private campaignKind: CampaignKind = 'election';

  /** Proposed entries not yet committed, with their sizes, for the uncommitted-bytes limit. */
  private uncommitted: { index: number; bytes: number }[] = [];
  private uncommittedBytes = 0;
  /** Set by `propose`: appends go out once per Ready instead of once per proposal. */
  private broadcastPending = false;

  /** Read rounds (§6.4): the latest one sent out, and reads waiting on rounds. */
  private readRound = 0;
  private pendingReads: PendingRead[] = [];
  /** Reads that arrived before this leader committed an entry of its own term. */
  private readsAwaitingCommit: unknown[] = [];

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private readsDropped: unknown[] = [];
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  /** A Ready is out and not yet advanced. */
  private readyOut = false;

  constructor(config: RaftConfig) {
    this.limits = validateConfig(config);
    this.id = config.id;
    this.voters = [...config.voters];
    this.learners = [...(config.learners ?? [])];
    this.random = config.random;
    this.checkQuorum = config.checkQuorum ?? true;
    this.preVote = config.preVote ?? true;
    this.commitBroadcast = config.commitBroadcast ?? 'eager';
    this.mutations = config.unsafeMutations ?? {};
    const hs = config.hardState ?? { term: 0, vote: null, commit: 0 };
    this.log = new RaftLog(config.storage, hs.commit, config.applied ?? 0);
    this.term = hs.term;
    this.vote = hs.vote;
    this.rejoin = hs.rejoin ?? null;
    // Terms only grow along a log, and a member's term is at least that of any entry it holds.
    assert(hs.term >= this.log.lastTerm(), () => `${this.id}: hard state term ${hs.term} is below the last log term ${this.log.lastTerm()} (index ${this.log.lastIndex()}): the hard state is not this log's`);
    this.prevHardState = { term: hs.term, vote: hs.vote, commit: this.log.committed, rejoin: this.rejoin };
    this.prevSoftState = { lead: null, role: Role.Follower };
    this.becomeFollower(this.term, null);
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs

  /** One unit of logical time. */
  tick(): void {
    this.ticks++;
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  /** Starts an election now (as if the election timeout had passed). */
  campaign(): void {
    this.hup();
  }

  /** Appends entries to the leader's log; throws a RaftError when this node cannot take them. */
  propose(datas: readonly Uint8Array[]): ProposeResult {
    if (this.role !== Role.Leader) throw notLeader(this.id, this.lead);
    if (this.leadTransferee !== null) {
      throw new RaftError(RaftErrorCode.TransferInProgress, `${this.id} is handing leadership to ${this.leadTransferee}; retry shortly`, true, this.leadTransferee);
    }
    assert(datas.length > 0, () => 'propose() needs at least one entry');
    let bytes = 0;
    for (const d of datas) {
      if (d.byteLength > this.limits.entryBytesMax) {
        throw new RaftError(RaftErrorCode.EntryTooLarge, `an entry of ${d.byteLength} bytes exceeds entryBytesMax ${this.limits.entryBytesMax}`, false);
      }
      // Like every byte limit, this one counts each entry's header allowance too.
      bytes += d.byteLength + ENTRY_OVERHEAD_BYTES;
    }
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.limits.uncommittedBytesMax) {
      throw new RaftError(
        RaftErrorCode.UncommittedBytesExceeded,
        `${this.uncommittedBytes} uncommitted bytes plus ${bytes} would exceed uncommittedBytesMax ${this.limits.uncommittedBytesMax}; retry when followers catch up`,
        true,
      );
    }
    const first = this.log.lastIndex() + 1;
    const ents: Entry[] = datas.map((data, k) => ({ index: first + k, term: this.term, kind: EntryKind.Normal, data }));
    this.uncommitted.push({ index: first + ents.length - 1, bytes });
    this.uncommittedBytes += bytes;
    this.appendEntries(ents);
    this.broadcastPending = true;
    return { firstIndex: first, lastIndex: first + ents.length - 1, term: this.term };
  }

  /**
   * Asks for a linearizable read point (§6.4). The answer is a `ReadState` with this context in a
   * later Ready, once a quorum has confirmed that this node still leads; the host serves the read
   * when it has applied up to the ReadState's index. Throws NOT_LEADER on a non-leader.
   */
  readIndex(context: unknown): void {
    if (this.role !== Role.Leader) throw notLeader(this.id, this.lead);
    // Before it has committed an entry of its own term, a leader's commit index may lag what
    // earlier terms committed (it is saved lazily), a single voter's too.
    if (!this.committedInTerm()) {
      this.readsAwaitingCommit.push(context);
      return;
    }
    this.addRead(context);
  }

  /** Thesis §3.10: hands leadership to `to` once its log is caught up. */
  transferLeadership(to: NodeId): void {
    if (this.role !== Role.Leader) throw notLeader(this.id, this.lead);
    if (!this.voters.includes(to)) {
      throw new RaftError(RaftErrorCode.UnknownNode, `${to} is not a voter of this group (${this.voters.join(', ')})`, false);
    }
    if (to === this.id || this.leadTransferee === to) return;
    if (this.progress(to).rejoin !== null) {
      throw new RaftError(RaftErrorCode.ReplicaRejoining, `${to} is rejoining after losing data and cannot lead until it has caught up and been promoted`, true);
    }
    this.leadTransferee = to;
    // The transfer must finish within one election timeout, counted from now.
    this.electionElapsed = 0;
    const pr = this.progress(to);
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.maybeSendAppend(to, true);
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
    if (this.role === Role.Leader) {
      const pr = this.prs.get(peer);
      if (pr?.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    }
    if (this.role === Role.Follower && this.lead === peer) {
      this.lead = null;
      const soon = 1 + Math.floor(this.random() * LEADER_LOST_TICKS);
      this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - soon);
    }
  }

  /**
   * The host (re)connected to `peer`. A (pre-)candidate that has no answer from it yet most likely
   * lost its request on the way (a message to a peer without a connection is dropped): it asks
   * again now, instead of waiting out its election timeout. Seen when a leader died just after
   * another node restarted: the survivors were not yet connected to each other, and the election
   * waited for a timeout after they were. Asking again is harmless: a vote already granted in this
   * term is granted again, and pre-votes change nothing. Two pre-candidates that reach each other
   * at once do not split the vote (outranksRival).
   */
  reportReachable(peer: NodeId): void {
    if (this.role !== Role.PreCandidate && this.role !== Role.Candidate) return;
    if (peer === this.id || !this.voters.includes(peer) || this.votes.has(peer)) return;
    this.msgs.push(this.voteRequest(peer));
  }

  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === 'preVote' || m.type === 'vote') {
        // §9.6 / check-quorum: while a live leader is heard from, vote requests are disruptive.
        const inLease = this.checkQuorum && this.lead !== null && this.electionElapsed < this.limits.electionTicks - LEASE_TICK_SLACK;
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
        this.ackAppend(m.from, 0);
      } else if (m.type === 'preVote') {
        this.msgs.push(this.tagged({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, reject: true } satisfies VoteResponse));
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
    if (this.readyOut) return false;
    this.flushBroadcast();
    return (
      this.msgs.length > 0 ||
      this.log.unstableEntries().length > 0 ||
      this.log.unstableSnapshot() !== null ||
      this.log.nextCommitted() !== null ||
      this.readStates.length > 0 ||
      this.readsDropped.length > 0 ||
      this.hardStateChanged() ||
      this.softStateChanged()
    );
  }

  ready(): Ready {
    assert(!this.readyOut, () => `${this.id}: ready() called again before advance()`);
    this.flushBroadcast();
    const hs = this.hardState();
    const hsChanged = this.hardStateChanged();
    const termOrVoteChanged = hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote || hs.rejoin !== this.prevHardState.rejoin;
    const entries = this.log.unstableEntries().slice();
    const snapshot = this.log.unstableSnapshot();
    const toApply = this.log.nextCommitted();
    const rd: Ready = {
      softState: this.softStateChanged() ? { lead: this.lead, role: this.role } : null,
      hardState: hsChanged ? hs : null,
      mustSync: entries.length > 0 || snapshot !== null || termOrVoteChanged,
      // A leader whose term and vote are already durable: nothing it sends depends on this Ready.
      sendFirst: this.role === Role.Leader && !termOrVoteChanged,
      snapshot,
      entries,
      messages: this.msgs,
      committedEntries: toApply === null ? [] : this.log.slice(toApply.from, toApply.to + 1, this.limits.applyBytesMax),
      readStates: this.readStates,
      readsDropped: this.readsDropped,
    };
    this.msgs = [];
    this.readStates = [];
    this.readsDropped = [];
    if (rd.softState !== null) this.prevSoftState = rd.softState;
    this.readyOut = true;
    return rd;
  }

  /** The host has persisted, sent and applied what `rd` asked for. */
  advance(rd: Ready): void {
    assert(this.readyOut, () => `${this.id}: advance() without a Ready`);
    this.readyOut = false;
    if (rd.hardState !== null) this.prevHardState = rd.hardState;
    if (rd.snapshot !== null) this.log.stableSnapTo(rd.snapshot.index);
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) this.log.stableTo(last.index, last.term);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(Math.max(this.log.applied, lastApplied.index));
    if (this.rejoin !== null) for (const e of rd.committedEntries) if (e.kind === EntryKind.Config) this.maybePromoteSelf(e.data);
    if (this.role === Role.Leader) this.selfPersisted();
  }

  status(): RaftStatus {
    const peers: PeerStatus[] = [];
    if (this.role === Role.Leader) {
      for (const pr of this.prs.values()) {
        peers.push({ id: pr.id, match: pr.match, next: pr.next, state: pr.state, learner: pr.isLearner, recentActive: pr.recentActive, rejoin: pr.rejoin });
      }
    }
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
      transferee: this.leadTransferee,
      rejoin: this.rejoin,
      peers,
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

  private becomePreCandidate(): void {
    assert(this.role !== Role.Leader, () => `${this.id}: a leader cannot become a pre-candidate (term ${this.term})`);
    // Pre-vote changes neither term nor vote (§9.6).
    this.votes.clear();
    this.lead = null;
    this.role = Role.PreCandidate;
  }

  private becomeCandidate(): void {
    assert(this.role !== Role.Leader, () => `${this.id}: a leader cannot become a candidate (term ${this.term})`);
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  private becomeLeader(): void {
    assert(this.role === Role.Candidate, () => `${this.id}: only a candidate can become leader, not a ${this.role} (term ${this.term})`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    this.progress(this.id).becomeReplicate();
    // §5.4.2 / §8: a no-op entry of the new term lets the leader commit what earlier terms left.
    this.appendEntries([{ index: this.log.lastIndex() + 1, term: this.term, kind: EntryKind.Noop, data: EMPTY }]);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      assert(term > this.term, () => `${this.id}: term would go back from ${this.term} to ${term}`);
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.limits.electionTicks + Math.floor(this.random() * this.limits.electionTicks);
    this.leadTransferee = null;
    this.votes.clear();
    this.uncommitted = [];
    this.uncommittedBytes = 0;
    this.broadcastPending = false;
    for (const r of this.pendingReads) this.readsDropped.push(r.context);
    for (const c of this.readsAwaitingCommit) this.readsDropped.push(c);
    this.pendingReads = [];
    this.readsAwaitingCommit = [];
    this.readRound = 0;
    this.prs.clear();
    const next = this.log.lastIndex() + 1;
    const { appendsInFlightMax, inFlightBytesMax } = this.limits;
    for (const id of this.voters) this.prs.set(id, new Progress(id, next, false, appendsInFlightMax, inFlightBytesMax));
    for (const id of this.learners) this.prs.set(id, new Progress(id, next, true, appendsInFlightMax, inFlightBytesMax));
    const self = this.progress(this.id);
    // A leader counts only what it has persisted (its own appends are counted in advance()).
    self.match = this.log.persistedLastIndex();
    self.recentActive = true;
  }

  /** May campaign and vote: a voter, and not rejoining after losing data (raft/rejoin.ts). */
  private promotable(): boolean {
    return this.voters.includes(this.id) && (this.rejoin === null || this.mutations.rejoinerVotes === true);
  }

  /** An answer as this member sends it: with its incarnation while it is rejoining (the common case, a voter's, is left as it is). */
  private tagged<M extends AppendResponse | HeartbeatResponse | VoteResponse>(m: M): M {
    return this.rejoin === null ? m : { ...m, rejoin: this.rejoin };
  }

  /** A committed configuration entry was applied here: if it promotes this replica as it is now, it votes again. */
  private maybePromoteSelf(data: Uint8Array): void {
    const p = decodePromotion(data);
    if (p !== null && p.promote === this.id && p.rejoin === this.rejoin) this.rejoin = null;
  }

  /**
   * The leader told us to commit beyond our log, so we lost entries we had acknowledged to it
   * (a disk that did not keep what it synced, or a log cut on restart): we may no longer vote or
   * count as if we held them, and rejoin under a new incarnation (raft/rejoin.ts).
   */
  private lostAcknowledged(): void {
    if (this.rejoin === null) this.rejoin = newIncarnation(this.random);
  }

  private hup(): void {
    if (this.role === Role.Leader) return;
    this.campaign0(this.preVote && !this.mutations.skipPreVote ? 'pre' : 'election');
  }

  private campaign0(kind: CampaignKind): void {
    if (!this.promotable()) return;
    if (kind === 'pre') this.becomePreCandidate();
    else this.becomeCandidate();
    this.campaignKind = kind;
    this.votes.set(this.id, true);
    if (voteResult(this.voters, this.votes) === VoteResult.Won) {
      // A group of one wins at once.
      if (kind === 'pre') this.campaign0('election');
      else this.winElection();
      return;
    }
    for (const to of this.voters) if (to !== this.id) this.msgs.push(this.voteRequest(to));
  }

  /** The request of the current (pre-)candidacy to `to`. */
  private voteRequest(to: NodeId): VoteRequest {
    const pre = this.role === Role.PreCandidate;
    assert(pre || this.role === Role.Candidate, () => `${this.id}: a ${this.role} asks for no votes (term ${this.term})`);
    return {
      type: pre ? 'preVote' : 'vote',
      from: this.id,
      to,
      // A pre-vote carries the term the candidate would stand in (§9.6).
      term: pre ? this.term + 1 : this.term,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      transfer: this.campaignKind === 'transfer',
    };
  }

  private winElection(): void {
    this.becomeLeader();
    this.bcastAppend();
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

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.limits.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        // §6.2: a leader that cannot reach a quorum steps down, so clients look elsewhere.
        this.becomeFollower(this.term, null);
        return;
      }
      for (const pr of this.prs.values()) pr.recentActive = pr.id === this.id;
      this.leadTransferee = null; // a transfer that has not finished in an election timeout is abandoned
    }
    if (this.heartbeatElapsed >= this.limits.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
      this.tickPeers();
    }
  }

  /** Retries followers whose snapshot or appends have gone unanswered for an election timeout. */
  private tickPeers(): void {
    const lastIndex = this.log.lastIndex();
    for (const pr of this.prs.values()) {
      if (pr.id === this.id) continue;
      if (pr.state === ProgressState.Snapshot) {
        pr.snapshotTicks += this.limits.heartbeatTicks;
        if (pr.snapshotTicks >= this.limits.electionTicks) {
          pr.pendingSnapshot = 0;
          pr.becomeProbe();
        }
      } else if (pr.state === ProgressState.Replicate && pr.match < lastIndex && pr.inflights.count > 0) {
        pr.snapshotTicks += this.limits.heartbeatTicks; // reused as "ticks without progress"
        if (pr.snapshotTicks >= this.limits.electionTicks) pr.becomeProbe();
      }
    }
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) if (this.progress(id).recentActive && this.progress(id).counts()) active++;
    return active >= quorumSize(this.voters.length);
  }

  // ---------------------------------------------------------------------------------------------
  // Messages, by role

  private handleVoteRequest(m: VoteRequest): void {
    const respType = m.type === 'preVote' ? 'preVoteResp' : 'voteResp';
    if (!this.promotable()) {
      this.msgs.push(this.tagged({ type: respType, from: this.id, to: m.from, term: this.term, reject: true } satisfies VoteResponse));
      return;
    }
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.lead === null) ||
      (m.type === 'preVote' && m.term > this.term);
    const upToDate = this.mutations.grantVoteWithoutLogCheck === true || this.log.isUpToDate(m.lastIndex, m.lastTerm);
    if (canVote && upToDate && !this.outranksRival(m)) {
      // A grant carries the term asked about, so a pre-candidate can tell it from a stale answer.
      this.msgs.push({ type: respType, from: this.id, to: m.from, term: m.term, reject: false } satisfies VoteResponse);
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.msgs.push({ type: respType, from: this.id, to: m.from, term: this.term, reject: true } satisfies VoteResponse);
    }
  }

  /**
   * Two pre-candidates of the same election with equally up-to-date logs would grant each other's
   * pre-votes, both become candidates, vote for themselves and split the vote: nobody leads until
   * another randomized timeout passes (seen in the failover benchmark as a 1 s failover). Between
   * such twins, only the one with the lower id gets the other's pre-vote. This changes only who
   * campaigns (pre-votes decide nothing about safety): the other still grants the real vote, and a
   * more up-to-date log always wins the pre-vote as before.
   */
  private outranksRival(m: VoteRequest): boolean {
    return (
      m.type === 'preVote' &&
      this.role === Role.PreCandidate &&
      m.term === this.term + 1 &&
      m.lastTerm === this.log.lastTerm() &&
      m.lastIndex === this.log.lastIndex() &&
      m.from > this.id
    );
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'appendResp':
        this.handleAppendResponse(m);
        return;
      case 'heartbeatResp':
        this.handleHeartbeatResponse(m);
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
        this.becomeFollower(this.term, m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.becomeFollower(this.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.becomeFollower(this.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'preVoteResp':
      case 'voteResp': {
        const expected = this.role === Role.PreCandidate ? 'preVoteResp' : 'voteResp';
        if (m.type !== expected) return;
        this.votes.set(m.from, !m.reject);
        const result = voteResult(this.voters, this.votes);
        if (result === VoteResult.Won) {
          if (this.role === Role.PreCandidate) this.campaign0('election');
          else this.winElection();
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
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
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

  /** §5.3: the log-matching check, and a conflict hint that skips a whole term per round trip. */
  private handleAppend(m: AppendRequest): void {
    if (m.prevIndex < this.log.committed) {
      this.ackAppend(m.from, this.log.committed);
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
    if (lastNew !== null) {
      this.ackAppend(m.from, lastNew);
      return;
    }
    const last = this.log.lastIndex();
    let conflictTerm = 0;
    let conflictIndex = last + 1;
    if (m.prevIndex <= last) {
      const t = this.log.term(m.prevIndex);
      assert(t !== null, () => `${this.id}: no term at ${m.prevIndex}, which is after commit ${this.log.committed}`);
      conflictTerm = t;
      // Entries up to the commit index match any leader's, so the hint never points below them.
      conflictIndex = Math.max(this.log.firstIndexOfTerm(t, m.prevIndex), this.log.committed + 1);
    }
    this.msgs.push(this.tagged({ type: 'appendResp', from: this.id, to: m.from, term: this.term, index: m.prevIndex, reject: true, conflictTerm, conflictIndex } satisfies AppendResponse));
  }

  private handleHeartbeat(m: Heartbeat): void {
    // The leader names a commit index no higher than what we acknowledged to it.
    if (m.commit > this.log.lastIndex()) this.lostAcknowledged();
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.msgs.push(this.tagged({ type: 'heartbeatResp', from: this.id, to: m.from, term: this.term, readRound: m.readRound } satisfies HeartbeatResponse));
  }

  private handleSnapshot(m: SnapshotRequest): void {
    const s = m.snapshot;
    if (s.index <= this.log.committed) {
      this.ackAppend(m.from, this.log.committed);
      return;
    }
    if (this.log.matchTerm(s.index, s.term)) {
      // We hold the snapshot's last entry: everything up to it is committed; keep the log.
      this.log.commitTo(s.index);
    } else {
      this.log.restore(s);
    }
    this.ackAppend(m.from, s.index);
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) return;
    this.noteRejoin(pr, m);
    pr.recentActive = true;
    if (m.reject) {
      if (this.backOff(pr, m)) this.maybeSendAppend(m.from, true);
      return;
    }
    const wasPaused = pr.isPaused();
    // A probe answered at exactly the known match (nothing new to send) still ends the probe.
    const probeMatched = pr.state === ProgressState.Probe && pr.match === m.index;
    if (!pr.maybeUpdate(m.index) && !probeMatched) return;
    pr.snapshotTicks = 0;
    switch (pr.state) {
      case ProgressState.Probe:
        pr.becomeReplicate();
        break;
      case ProgressState.Snapshot:
        if (pr.match >= pr.pendingSnapshot) {
          pr.becomeProbe();
          pr.becomeReplicate();
        }
        break;
      case ProgressState.Replicate:
        pr.inflights.freeLE(m.index);
        break;
      default:
        assertNever(pr.state);
    }
    // A follower that was paused gets its next append now, unless the commit broadcast carries it.
    if (!this.commitAndBroadcast() && wasPaused) this.maybeSendAppend(m.from, true);
    while (this.maybeSendAppend(m.from, false)) {
      // Stream what remains, within the in-flight limits.
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
    this.maybePromote(pr);
  }

  /**
   * A follower rejected an append at `m.index`. Returns true if the next index moved back.
   * The follower holds `conflictTerm` at that index from `conflictIndex` on: if we hold entries of
   * that term too, both logs agree up to our last one of them; otherwise skip the follower's term.
   */
  private backOff(pr: Progress, m: AppendResponse): boolean {
    if (pr.state === ProgressState.Replicate) {
      if (m.index <= pr.match) return false; // stale
      pr.becomeProbe();
      return true;
    }
    if (pr.next - 1 !== m.index) return false; // an answer to an older probe
    if (m.index <= pr.match) {
      // The follower rejects this probe of an entry it had acknowledged: it lost it (a disk that
      // did not keep what it synced, or a replica that came back under an old id). What it
      // acknowledged is void, or the probe would never go below it.
      pr.match = 0;
    }
    let next = m.conflictIndex;
    if (m.conflictTerm !== 0) {
      const i = this.log.lastIndexWithTermAtMost(m.conflictTerm, m.index);
      if (i !== null && this.log.term(i) === m.conflictTerm) next = i + 1;
    }
    pr.next = Math.max(pr.match + 1, Math.min(next, m.index));
    pr.probeSent = false;
    return true;
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) return;
    this.noteRejoin(pr, m);
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.match < this.log.lastIndex()) this.maybeSendAppend(m.from, true);
    if (m.readRound > pr.readRoundAcked && pr.rejoin === null) {
      pr.readRoundAcked = m.readRound;
      this.releaseReads();
    }
  }

  /**
   * Whether the peer answers as a rejoining replica (raft/rejoin.ts). One that starts to has a log
   * that is only what this answer says: what it acknowledged before is void, and it is probed
   * from there. One that stops to was promoted, and counts again.
   */
  private noteRejoin(pr: Progress, m: AppendResponse | HeartbeatResponse): void {
    const rejoin = m.rejoin ?? null;
    if (rejoin === pr.rejoin) return;
    if (rejoin === null) {
      pr.rejoin = null;
      return;
    }
    const match = m.type === 'appendResp' && !m.reject ? m.index : 0;
    pr.becomeRejoining(rejoin, match, this.log.lastIndex());
  }

  /**
   * Proposes the promotion of a rejoining peer once it holds the log up to the commit index and
   * this leader has committed an entry of its own term (raft/rejoin.ts): one promotion for a
   * caught-up peer, rather than one per round for a peer still far behind. Asked again if the
   * peer still rejoins an election timeout later (the entry may have been lost with a leader, or
   * the peer may have missed it).
   */
  private maybePromote(pr: Progress): void {
    if (pr.rejoin === null || pr.isLearner || this.leadTransferee !== null) return;
    if (pr.match < this.log.committed || !this.committedInTerm()) return;
    if (pr.promotedAtTick >= 0 && this.ticks - pr.promotedAtTick < this.limits.electionTicks) return;
    pr.promotedAtTick = this.ticks;
    const data = encodePromotion({ promote: pr.id, rejoin: pr.rejoin });
    const index = this.log.lastIndex() + 1;
    const bytes = data.byteLength + ENTRY_OVERHEAD_BYTES;
    this.uncommitted.push({ index, bytes });
    this.uncommittedBytes += bytes;
    this.appendEntries([{ index, term: this.term, kind: EntryKind.Config, data }]);
    this.broadcastPending = true;
  }

  // ---------------------------------------------------------------------------------------------
  // Leader: replication, commit, reads, transfer

  /**
   * Appends to the leader's own log. Its copy counts toward commitment only once the host has
   * persisted it (advance), so the Ready may send the entries to followers before persisting them
   * (Raft thesis §10.2.1: the leader writes to its disk in parallel with replicating).
   */
  private appendEntries(ents: Entry[]): void {
    this.log.append(ents);
  }

  /** advance(): the host persisted the leader's log up to here. */
  private selfPersisted(): void {
    if (this.progress(this.id).maybeUpdate(this.log.persistedLastIndex())) this.commitAndBroadcast();
  }

  /**
   * Commits what a quorum now holds. Followers learn a new commit index with the next Ready's
   * appends, once per Ready ('eager'), or with whatever goes to them next ('piggyback'). True when
   * that broadcast was queued.
   */
  private commitAndBroadcast(): boolean {
    if (!this.maybeCommit() || this.commitBroadcast !== 'eager') return false;
    this.broadcastPending = true;
    return true;
  }

  private flushBroadcast(): void {
    if (!this.broadcastPending) return;
    this.broadcastPending = false;
    if (this.role === Role.Leader) this.bcastAppend();
  }

  private bcastAppend(): void {
    for (const id of this.prs.keys()) {
      if (id === this.id) continue;
      this.maybeSendAppend(id, true);
      while (this.maybeSendAppend(id, false)) {
        // Fill the in-flight window.
      }
    }
  }

  private bcastHeartbeat(): void {
    for (const pr of this.prs.values()) {
      if (pr.id === this.id) continue;
      // Never tell a follower to commit beyond what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.msgs.push({ type: 'heartbeat', from: this.id, to: pr.id, term: this.term, commit, readRound: this.readRound } satisfies Heartbeat);
    }
  }

  /**
   * Sends the follower the entries it lacks, or the snapshot if they are gone. Returns true if a
   * message went out; with `sendIfEmpty` false, only a message with entries counts.
   */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress(to);
    if (pr.isPaused()) return false;
    const lastIndex = this.log.lastIndex();
    assert(pr.next <= lastIndex + 1, () => `${this.id}: next ${pr.next} for ${to} is beyond the last index ${lastIndex}`);
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === null) return this.sendSnapshot(pr);
    let entries: Entry[] = [];
    if (pr.next <= lastIndex) {
      try {
        entries = this.log.slice(pr.next, lastIndex + 1, this.limits.appendBytesMax);
      } catch (err) {
        if (err instanceof LogCompactedError) return this.sendSnapshot(pr);
        throw err;
      }
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.msgs.push({ type: 'append', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed } satisfies AppendRequest);
    let bytes = 0;
    for (const e of entries) bytes += entryBytes(e);
    pr.sentEntries(prevIndex + entries.length, entries.length, bytes);
    return entries.length > 0;
  }

  private sendSnapshot(pr: Progress): boolean {
    const snap = this.log.storage.snapshot();
    if (snap === null) return false; // not ready yet; the next heartbeat response retries
    this.msgs.push({ type: 'snapshot', from: this.id, to: pr.id, term: this.term, snapshot: snap } satisfies SnapshotRequest);
    pr.becomeSnapshot(snap.index);
    return false;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.msgs.push({ type: 'timeoutNow', from: this.id, to, term: this.term } satisfies TimeoutNow);
  }

  private maybeCommit(): boolean {
    const mci = committedIndex(this.voters, (id) => {
      const pr = this.progress(id);
      return pr.counts() ? pr.match : 0;
    });
    const countPriorTerms = this.mutations.commitPriorTermByCount === true;
    const wasInTerm = this.committedInTerm();
    if (!this.log.maybeCommit(mci, this.term, countPriorTerms)) return false;
    const committed = this.log.committed;
    while (this.uncommitted.length > 0 && this.uncommitted[0]!.index <= committed) {
      this.uncommittedBytes -= this.uncommitted.shift()!.bytes;
    }
    if (!wasInTerm && this.committedInTerm()) {
      // §6.4: reads wait until this leader has committed an entry of its own term.
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const c of waiting) this.addRead(c);
    }
    return true;
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /**
   * §6.4 ReadIndex. A read's index is the commit index now; it is served once a quorum answers a
   * heartbeat sent after it arrived. Reads share rounds: while one round is out, new reads wait
   * for the next, which goes out when the current one is confirmed.
   */
  private addRead(context: unknown): void {
    if (this.voters.length === 1) {
      // A quorum of one: this node's own word confirms the read point.
      this.readStates.push({ index: this.log.committed, context });
      return;
    }
    const roundOut = this.pendingReads.some((r) => r.round === this.readRound);
    if (roundOut) {
      this.pendingReads.push({ round: this.readRound + 1, index: this.log.committed, context });
    } else {
      this.readRound++;
      this.pendingReads.push({ round: this.readRound, index: this.log.committed, context });
      this.bcastHeartbeat();
    }
  }

  private releaseReads(): void {
    if (this.pendingReads.length === 0) return;
    const acks = this.voters.map((id) => (id === this.id ? this.readRound : this.progress(id).counts() ? this.progress(id).readRoundAcked : 0));
    acks.sort((a, b) => b - a);
    const confirmed = acks[quorumSize(this.voters.length) - 1]!;
    let n = 0;
    while (n < this.pendingReads.length && this.pendingReads[n]!.round <= confirmed) {
      const r = this.pendingReads[n]!;
      this.readStates.push({ index: r.index, context: r.context });
      n++;
    }
    if (n === 0) return;
    this.pendingReads = this.pendingReads.slice(n);
    if (this.pendingReads.length > 0 && confirmed >= this.readRound) {
      this.readRound++;
      this.bcastHeartbeat();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** A successful append response: `index` is the last index known to match the leader's. */
  private ackAppend(to: NodeId, index: number): void {
    this.msgs.push(this.tagged({ type: 'appendResp', from: this.id, to, term: this.term, index, reject: false, conflictTerm: 0, conflictIndex: 0 } satisfies AppendResponse));
  }

  private progress(id: NodeId): Progress {
    const pr = this.prs.get(id);
    assert(pr !== undefined, () => `${this.id}: no progress for ${id}`);
    return pr;
  }

  private hardStateChanged(): boolean {
    const p = this.prevHardState;
    return p.term !== this.term || p.vote !== this.vote || p.commit !== this.log.committed || p.rejoin !== this.rejoin;
  }

  private softStateChanged(): boolean {
    return this.prevSoftState.lead !== this.lead || this.prevSoftState.role !== this.role;
  }
}
