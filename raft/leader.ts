/**
 * What only a leader holds, and what it does with it: one `Leader` is created when a member wins
 * an election (`Raft.becomeLeader`) and dropped when it steps down, so a member that does not lead
 * has none of this state, and no stale copy of it.
 *
 * - replication (§5.3): a `Progress` per peer, appends paced by it, snapshots for peers that need
 *   entries before the log start or far behind in cold files (never read here, raft/storage.ts
 *   hotFirstIndex), and the commit rule (§5.4.2);
 * - proposals, and the bytes proposed but not yet committed;
 * - ReadIndex (§6.4, raft/read-only.ts): read rounds carried by heartbeats;
 * - leadership transfer (thesis §3.10): the transferee, sent TimeoutNow once caught up;
 * - check-quorum (§6.2): which peers were heard from since the last election timeout;
 * - promotions of rejoining peers (raft/rejoin.ts);
 * - membership changes (raft/membership.ts): one at a time, a progress per member of the
 *   configuration in effect.
 *
 * The term is fixed: a member that learns of a higher term steps down first.
 */
import type { CommitBroadcast, RaftLimits, UnsafeMutations } from './config.js';
import { LogCompactedError, RaftError, RaftErrorCode, assert } from './errors.js';
import type { RaftLog } from './log.js';
import type { Outbox } from './outbox.js';
import { Progress, ProgressState, assertNever } from './progress.js';
import { committedIndex, quorumSize } from './quorum.js';
import { ReadOnly } from './read-only.js';
import { applyChange, encodeMembership, isMember, type Membership, type MembershipChange } from './membership.js';
import { encodePromotion } from './rejoin.js';
import { ENTRY_OVERHEAD_BYTES, entryBytes } from './storage.js';
import {
  EntryKind,
  type AppendRequest,
  type AppendResponse,
  type Entry,
  type Heartbeat,
  type HeartbeatResponse,
  type NodeId,
  type PeerStatus,
  type ProposeResult,
  type SnapshotRequest,
  type TimeoutNow,
} from './types.js';

const EMPTY = new Uint8Array(0);

/** What a leader takes from its member: fixed for the member's life (the log and the outbox are shared, not copied). */
export interface Member {
  readonly id: NodeId;
  readonly limits: RaftLimits;
  readonly commitBroadcast: CommitBroadcast;
  readonly mutations: UnsafeMutations;
  readonly log: RaftLog;
  readonly out: Outbox;
}

export class Leader {
  readonly term: number;

  private readonly id: NodeId;
  private readonly limits: RaftLimits;
  private readonly commitBroadcast: CommitBroadcast;
  private readonly mutations: UnsafeMutations;
  private readonly log: RaftLog;
  private readonly out: Outbox;
  private readonly prs = new Map<NodeId, Progress>();
  private readonly reads = new ReadOnly();
  /** The voter leadership is being handed to (thesis §3.10), or null. */
  private leadTransferee: NodeId | null = null;
  /** Proposed entries not yet committed, with their sizes, for the uncommitted-bytes limit. */
  private uncommitted: { index: number; bytes: number }[] = [];
  private uncommittedBytes = 0;
  /** Set by `propose`: appends go out once per Ready instead of once per proposal. */
  private broadcastPending = false;
  private heartbeatElapsed = 0;
  /** Ticks since this member took the lead (for pacing promotions of rejoining peers). */
  private ticks = 0;

  /**
   * Takes the lead in `term`: every peer's position is unknown (probed from the end of this
   * log), and this member's own counts only as far as the host has persisted it (its appends are
   * counted in `selfPersisted`). Appends the term's no-op entry (§5.4.2, §8), which lets the
   * leader commit what earlier terms left, and sends it out.
   */
  constructor(c: Member, term: number) {
    this.id = c.id;
    this.term = term;
    this.limits = c.limits;
    this.commitBroadcast = c.commitBroadcast;
    this.mutations = c.mutations;
    this.log = c.log;
    this.out = c.out;
    this.followMembership(this.log.lastIndex() + 1);
    const self = this.progress(this.id);
    self.match = this.log.persistedLastIndex();
    self.recentActive = true;
    self.becomeReplicate();
    this.appendEntries([{ index: this.log.lastIndex() + 1, term: this.term, kind: EntryKind.Noop, data: EMPTY }]);
    this.bcastAppend();
  }

  /** The voter leadership is being handed to (thesis §3.10), or null. */
  get transferee(): NodeId | null {
    return this.leadTransferee;
  }

  /** The configuration in effect: the last in the log (raft/membership.ts, rule 1). */
  private get membership(): Membership {
    return this.log.configs.current.membership;
  }

  private get voters(): readonly NodeId[] {
    return this.membership.voters;
  }

  // ---------------------------------------------------------------------------------------------
  // Requests

  /** Appends entries to the log; throws a RaftError when the leader cannot take them now. */
  propose(datas: readonly Uint8Array[]): ProposeResult {
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

  /** Appends the configuration entry that makes `change` (raft/membership.ts, rules 2-4); see Raft.proposeMembership. */
  proposeMembership(change: MembershipChange): ProposeResult {
    if (this.leadTransferee !== null) {
      throw new RaftError(RaftErrorCode.TransferInProgress, `${this.id} is handing leadership to ${this.leadTransferee}; retry shortly`, true, this.leadTransferee);
    }
    const inFlight = this.log.configs.current.index;
    if (this.mutations.twoChangesInFlight !== true) {
      if (inFlight > this.log.committed) {
        throw new RaftError(RaftErrorCode.MembershipChangeInProgress, `the configuration at index ${inFlight} is not committed yet (commit ${this.log.committed}); retry when it is`, true);
      }
      if (!this.committedInTerm()) {
        throw new RaftError(RaftErrorCode.MembershipChangeInProgress, `${this.id} has not committed an entry of its term ${this.term} yet; retry shortly`, true);
      }
    }
    const next = applyChange(this.membership, change);
    if (change.type === 'promote' && this.mutations.promoteBeforeCaughtUp !== true) {
      const pr = this.progress(change.node);
      if (pr.match < this.log.committed || pr.rejoin !== null) {
        throw new RaftError(RaftErrorCode.LearnerBehind, `learner ${change.node} holds the log up to ${pr.match}, behind the commit index ${this.log.committed}; retry once it has caught up`, true);
      }
    }
    if (change.type === 'remove') {
      // The voters left must be able to commit without the one removed: a rejoining voter counts
      // for nothing until promoted, and its promotion needs a quorum of the others.
      const counting = next.voters.filter((id) => id === this.id || this.prs.get(id)?.counts() === true).length;
      if (counting < quorumSize(next.voters.length)) {
        throw new RaftError(RaftErrorCode.MembershipChangeInProgress, `removing ${change.node} would leave ${counting} of ${next.voters.length} voters able to count (the others are rejoining); retry once they have caught up`, true);
      }
    }
    const index = this.appendConfig(encodeMembership(next));
    this.followMembership(index);
    return { firstIndex: index, lastIndex: index, term: this.term };
  }

  /** Appends a configuration entry (a membership, or a rejoining peer's promotion) and sends it; its index. */
  private appendConfig(data: Uint8Array): number {
    const index = this.log.lastIndex() + 1;
    const bytes = data.byteLength + ENTRY_OVERHEAD_BYTES;
    this.uncommitted.push({ index, bytes });
    this.uncommittedBytes += bytes;
    this.appendEntries([{ index, term: this.term, kind: EntryKind.Config, data }]);
    this.broadcastPending = true;
    return index;
  }

  /**
   * Keeps a progress for every member of the configuration now in effect, and for this leader
   * (which may have been removed by an entry not yet committed): new ones are probed from `next`,
   * promoted ones count from now. A removed member's progress stays, counting
   * for nothing, until it has heard that its removal is committed (`forgetRemoved`), so it learns
   * both and stops campaigning; this leader's own stays until it steps down.
   */
  private followMembership(next: number): void {
    const m = this.membership;
    const { appendsInFlightMax, inFlightBytesMax } = this.limits;
    for (const pr of this.prs.values()) {
      if (pr.id !== this.id && !isMember(m, pr.id)) pr.removed = true;
    }
    for (const id of m.voters) {
      const pr = this.prs.get(id);
      if (pr === undefined || pr.removed) this.prs.set(id, new Progress(id, next, false, appendsInFlightMax, inFlightBytesMax));
      else pr.isLearner = false;
    }
    for (const id of m.learners) {
      const pr = this.prs.get(id);
      // A member removed and added again (the removal committed meanwhile) starts over as a new one.
      if (pr === undefined || pr.removed) this.prs.set(id, new Progress(id, next, true, appendsInFlightMax, inFlightBytesMax));
    }
    if (!this.prs.has(this.id)) this.prs.set(this.id, new Progress(this.id, next, true, appendsInFlightMax, inFlightBytesMax));
    this.progress(this.id).isLearner = !m.voters.includes(this.id);
    if (this.leadTransferee !== null && !m.voters.includes(this.leadTransferee)) this.leadTransferee = null;
  }

  /**
   * A removed member is forgotten (sent nothing more) once it has answered a heartbeat that told it
   * its removal is committed, or an election timeout after the removal committed (it may be down):
   * one that never hears of the commit would otherwise campaign to lead the group through a
   * removal it takes for pending (Raft.promotable). Heartbeats go to it until then.
   */
  private forgetRemoved(pr: Progress, answered: boolean): void {
    if (!pr.removed || this.mutations.countRemovedVoters === true) return;
    const at = this.log.configs.current.index;
    if (at > this.log.committed) return;
    if ((answered && pr.toldRemovalCommitted) || pr.removedTicks >= this.limits.electionTicks) this.prs.delete(pr.id);
  }

  /**
   * A message from a peer this leader keeps no progress for, that a configuration in its log
   * names: a member removed while it could not hear (down, or cut off), which takes itself for a
   * member still and campaigns. It is taken back as a removed member, so it is sent the log up to
   * its removal and told the commit, and then forgotten (`forgetRemoved`): its node can then
   * delete it (src/partition/moves.ts removedFromGroup), and it stops campaigning.
   */
  noticePeer(id: NodeId): void {
    if (this.prs.has(id) || !this.log.configs.all.some((c) => isMember(c.membership, id))) return;
    const { appendsInFlightMax, inFlightBytesMax } = this.limits;
    const pr = new Progress(id, this.log.lastIndex() + 1, true, appendsInFlightMax, inFlightBytesMax);
    pr.removed = true;
    this.prs.set(id, pr);
    this.maybeSendAppend(id, true);
  }

  /** Whose acknowledgements commit entries: the voters in effect (under the countRemovedVoters mutant, also those removed). */
  private countedVoters(): readonly NodeId[] {
    if (this.mutations.countRemovedVoters !== true) return this.voters;
    const out = [...this.voters];
    for (const pr of this.prs.values()) if (pr.removed && !pr.isLearner) out.push(pr.id);
    return out;
  }

  /**
   * This leader's removal is committed and it is about to step down (rule 5): the voter that
   * holds its whole log, if one does, is told to campaign at once.
   */
  handOffOnRemoval(): void {
    const last = this.log.lastIndex();
    let best: Progress | null = null;
    for (const id of this.voters) {
      const pr = this.prs.get(id);
      if (pr === undefined || id === this.id || !pr.counts() || pr.match !== last) continue;
      if (best === null || (pr.recentActive && !best.recentActive)) best = pr;
    }
    if (best !== null) this.sendTimeoutNow(best.id);
  }

  /** §6.4: queues a read (raft/read-only.ts); a single voter answers it at once. */
  readIndex(context: unknown): void {
    // Before it has committed an entry of its own term, a leader's commit index may lag what
    // earlier terms committed (it is saved lazily), a single voter's too.
    if (!this.committedInTerm()) {
      this.reads.awaitCommit(context);
      return;
    }
    this.addRead(context);
  }

  /**
   * Thesis §3.10: hands leadership to `to` once its log is caught up. Returns false when that
   * changes nothing (`to` is this leader, or the transfer to it is under way already); throws a
   * RaftError when `to` is no voter or is rejoining.
   */
  transfer(to: NodeId): boolean {
    if (!this.voters.includes(to)) {
      throw new RaftError(RaftErrorCode.UnknownNode, `${to} is not a voter of this group (${this.voters.join(', ')})`, false);
    }
    if (to === this.id || this.leadTransferee === to) return false;
    const pr = this.progress(to);
    if (pr.rejoin !== null) {
      throw new RaftError(RaftErrorCode.ReplicaRejoining, `${to} is rejoining after losing data and cannot lead until it has caught up and been promoted`, true);
    }
    this.leadTransferee = to;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.maybeSendAppend(to, true);
    return true;
  }

  /**
   * The host's word on the snapshot it streams to `peer` (as etcd's ReportSnapshot): 'sending'
   * (it streams it, and will report again: the snapshot does not time out meanwhile), 'finished'
   * (the follower has it: probe after it, and wait for the follower's answer), 'failed' (probe
   * from what the follower is known to hold, at its next heartbeat answer). Ignored unless the
   * peer waits for that snapshot.
   */
  reportSnapshot(peer: NodeId, index: number, status: 'sending' | 'finished' | 'failed'): void {
    const pr = this.prs.get(peer);
    if (pr?.state !== ProgressState.Snapshot || pr.pendingSnapshot !== index) return;
    if (status === 'sending') {
      pr.snapshotStreamed = true;
      return;
    }
    if (status === 'failed') pr.pendingSnapshot = 0;
    pr.becomeProbe();
    pr.probeSent = true;
  }

  /**
   * The storage has read ahead entries that followers waited for (LogStorage.readAhead): they are
   * sent now, rather than at each follower's next heartbeat answer.
   */
  sendReadAhead(): void {
    for (const id of this.prs.keys()) {
      if (id === this.id) continue;
      while (this.maybeSendAppend(id, false)) {
        // Fill the in-flight window from what is in memory now.
      }
    }
  }

  /** The connection to `peer` was lost, and with it perhaps what was in flight: probe before streaming again. */
  reportUnreachable(peer: NodeId): void {
    const pr = this.prs.get(peer);
    if (pr?.state === ProgressState.Replicate) pr.becomeProbe();
  }

  /** The member stops leading: the reads still waiting are dropped, those waiting on rounds first. */
  dropReads(): unknown[] {
    return this.reads.drop();
  }

  peers(): PeerStatus[] {
    const peers: PeerStatus[] = [];
    for (const pr of this.prs.values()) {
      peers.push({ id: pr.id, match: pr.match, next: pr.next, state: pr.state, learner: pr.isLearner, recentActive: pr.recentActive, rejoin: pr.rejoin });
    }
    return peers;
  }

  // ---------------------------------------------------------------------------------------------
  // Time

  /** One tick: heartbeats, and retries of followers that stopped answering. */
  tick(): void {
    this.ticks++;
    this.heartbeatElapsed++;
    if (this.heartbeatElapsed >= this.limits.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
      this.tickPeers();
    }
  }

  /** §6.2 check-quorum: whether a quorum of voters was heard from since the last `endActivityRound`. */
  quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) if (this.progress(id).recentActive && this.progress(id).counts()) active++;
    return active >= quorumSize(this.voters.length);
  }

  /** An election timeout passed: activity is counted afresh, and a transfer not finished by now is abandoned. */
  endActivityRound(): void {
    for (const pr of this.prs.values()) pr.recentActive = pr.id === this.id;
    this.leadTransferee = null;
  }

  /** Retries followers whose snapshot or appends have gone unanswered for an election timeout. */
  private tickPeers(): void {
    const lastIndex = this.log.lastIndex();
    for (const pr of [...this.prs.values()]) {
      if (pr.id === this.id) continue;
      if (pr.removed && this.log.configs.current.index <= this.log.committed) {
        pr.removedTicks += this.limits.heartbeatTicks;
        this.forgetRemoved(pr, false);
      }
      if (pr.state === ProgressState.Snapshot && !pr.snapshotStreamed) {
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

  // ---------------------------------------------------------------------------------------------
  // Answers from followers

  handleAppendResponse(m: AppendResponse): void {
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

  handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) return;
    this.noteRejoin(pr, m);
    pr.recentActive = true;
    pr.probeSent = false;
    this.forgetRemoved(pr, true);
    if (!this.prs.has(m.from)) return;
    if (pr.match < this.log.lastIndex()) this.maybeSendAppend(m.from, true);
    if (m.readRound > pr.readRoundAcked && pr.rejoin === null) {
      pr.readRoundAcked = m.readRound;
      this.releaseReads();
    }
    // A caught-up peer that still rejoins missed its promotion (it came inside a snapshot, which
    // it installs rather than applies): asked again, at most once per election timeout.
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
    // Learners too: a learner that rejoins is promoted (to a learner in good standing) the same
    // way, or it could never become a voter (raft/membership.ts refuses to promote a rejoining one).
    if (pr.rejoin === null || pr.removed || this.leadTransferee !== null) return;
    if (pr.match < this.log.committed || !this.committedInTerm()) return;
    if (pr.promotedAtTick >= 0 && this.ticks - pr.promotedAtTick < this.limits.electionTicks) return;
    pr.promotedAtTick = this.ticks;
    this.appendConfig(encodePromotion({ promote: pr.id, rejoin: pr.rejoin }));
  }

  // ---------------------------------------------------------------------------------------------
  // Replication and commit

  /**
   * Appends to the leader's own log. Its copy counts toward commitment only once the host has
   * persisted it (selfPersisted), so the Ready may send the entries to followers before persisting
   * them (Raft thesis §10.2.1: the leader writes to its disk in parallel with replicating).
   */
  private appendEntries(ents: Entry[]): void {
    this.log.append(ents);
  }

  /** Raft.advance(): the host persisted the leader's log up to here. */
  selfPersisted(): void {
    if (this.progress(this.id).maybeUpdate(this.log.persistedLastIndex())) this.commitAndBroadcast();
  }

  /** Sends the appends that proposals and commits since the last Ready asked for (once per Ready). */
  flushBroadcast(): void {
    if (!this.broadcastPending) return;
    this.broadcastPending = false;
    this.bcastAppend();
  }

  /**
   * While a Ready is out (Raft.takeMessagesWhileOut): the appends of entries not yet sent, to
   * every follower ready for them. A broadcast that every follower has now had (each got an
   * append, with the commit index of now, and holds or is sent the whole log) is done; otherwise
   * it stays for the next Ready (a commit index alone waits for it, as do paused followers).
   */
  sendNewEntries(): void {
    if (!this.broadcastPending) return;
    let everyone = true;
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      let sent = false;
      while (this.maybeSendAppend(id, false)) sent = true;
      if (!sent || pr.next <= this.log.lastIndex()) everyone = false;
    }
    if (everyone) this.broadcastPending = false;
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
      if (pr.removed && commit >= this.log.configs.current.index) pr.toldRemovalCommitted = true;
      this.out.msgs.push({ type: 'heartbeat', from: this.id, to: pr.id, term: this.term, commit, readRound: this.reads.round } satisfies Heartbeat);
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
    const storage = this.log.storage;
    if (pr.next <= storage.lastIndex() && pr.next < storage.hotFirstIndex()) {
      // The entries are in cold files, which are never read on the event loop for a follower: a
      // new one (it needs the log from its start) or one far behind gets the committed log as a
      // snapshot (streamed by the host), one a little behind the entries read ahead off the loop,
      // once they are in memory (Raft.entriesReadAhead, or its next heartbeat answer, asks again).
      const upTo = this.snapshotUpTo();
      // (A storage that is never caught up by files says no byte is cold: the metadata group's.)
      const cold = storage.coldBytes(pr.next);
      const farBehind = cold > 0 && (pr.next === storage.firstIndex() || cold > this.limits.snapshotColdBytesMin);
      if (upTo >= pr.next && farBehind) return this.sendSnapshot(pr);
      if (!storage.readAhead(pr.next, this.limits.appendBytesMax)) return false;
    }
    if (pr.next <= lastIndex) {
      try {
        entries = this.log.slice(pr.next, lastIndex + 1, this.limits.appendBytesMax);
      } catch (err) {
        if (err instanceof LogCompactedError) return this.sendSnapshot(pr);
        throw err;
      }
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    const append: AppendRequest = { type: 'append', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed };
    // From the log start, the configuration there goes along: nothing else would tell it to a
    // follower that started from another (raft/membership.ts, "where configurations live").
    const atStart = prevIndex === this.log.firstIndex() - 1;
    this.out.msgs.push(atStart ? { ...append, logStartMembership: this.log.configs.at(prevIndex).membership } : append);
    let bytes = 0;
    for (const e of entries) bytes += entryBytes(e);
    pr.sentEntries(prevIndex + entries.length, entries.length, bytes);
    return entries.length > 0;
  }

  /** How far a snapshot may reach: what is committed and stored here. */
  private snapshotUpTo(): number {
    const stored = this.log.storage.lastIndex();
    return this.mutations.snapshotPastCommit === true ? stored : Math.min(this.log.committed, stored);
  }

  private sendSnapshot(pr: Progress): boolean {
    const stored = this.log.storage.snapshot(this.snapshotUpTo());
    if (stored === null) return false; // not ready yet; the next heartbeat response retries
    // The follower's log starts over from it: it carries the configuration in effect there.
    const snap = { ...stored, membership: this.log.configs.at(stored.index).membership };
    this.out.msgs.push({ type: 'snapshot', from: this.id, to: pr.id, term: this.term, snapshot: snap } satisfies SnapshotRequest);
    pr.becomeSnapshot(snap.index);
    return false;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.out.msgs.push({ type: 'timeoutNow', from: this.id, to, term: this.term } satisfies TimeoutNow);
  }

  private maybeCommit(): boolean {
    const counted = this.mutations.countRemovedVoters === true;
    const mci = committedIndex(this.countedVoters(), (id) => {
      const pr = this.progress(id);
      return pr.counts() || (counted && pr.removed) ? pr.match : 0;
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
      for (const c of this.reads.takeAwaitingCommit()) this.addRead(c);
    }
    return true;
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ---------------------------------------------------------------------------------------------
  // Reads (§6.4, raft/read-only.ts)

  private addRead(context: unknown): void {
    if (this.voters.length === 1 && this.voters[0] === this.id) {
      // A quorum of one: this node's own word confirms the read point.
      this.out.readStates.push({ index: this.log.committed, context });
      return;
    }
    if (this.reads.add(context, this.log.committed)) this.bcastHeartbeat();
  }

  private releaseReads(): void {
    const ackedBy = (id: NodeId): number => {
      const pr = this.progress(id);
      return pr.counts() ? pr.readRoundAcked : 0;
    };
    if (this.reads.release(this.voters, this.id, ackedBy, this.out.readStates)) this.bcastHeartbeat();
  }

  private progress(id: NodeId): Progress {
    const pr = this.prs.get(id);
    assert(pr !== undefined, () => `${this.id}: no progress for ${id}`);
    return pr;
  }
}
