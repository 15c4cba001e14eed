/**
 * The Ready handshake between a member and its host (as etcd's rawnode.go): what changed since
 * the last Ready, handing it out, and taking the host's word that it was done (`advance`). The
 * contract a Ready carries is in raft/types.ts; `Raft` delegates `hasReady`, `ready` and the log's
 * part of `advance` to a `Handshake`.
 */
import { assert } from './errors.js';
import type { RaftLog } from './log.js';
import type { Outbox } from './outbox.js';
import { Role, type HardState, type NodeId, type Ready, type SoftState } from './types.js';

/** What of a member a Ready reports, besides its log and outbox. */
export interface MemberState {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly lead: NodeId | null;
  readonly role: Role;
  readonly rejoin: string | null;
}

export class Handshake {
  /** The hard state the host has persisted (or was handed at start). */
  private prevHardState: HardState;
  private prevSoftState: SoftState = { lead: null, role: Role.Follower };
  private out_ = false;

  constructor(
    private readonly log: RaftLog,
    private readonly out: Outbox,
    private readonly applyBytesMax: number,
    persisted: HardState,
  ) {
    this.prevHardState = persisted;
  }

  /** A Ready is out and not yet advanced. */
  get readyOut(): boolean {
    return this.out_;
  }

  /** Whether `ready()` would hand out anything. */
  hasUpdates(m: MemberState): boolean {
    return (
      this.out.msgs.length > 0 ||
      this.log.unstableEntries().length > 0 ||
      this.log.unstableSnapshot() !== null ||
      this.log.nextCommitted() !== null ||
      this.out.readStates.length > 0 ||
      this.out.readsDropped.length > 0 ||
      this.hardStateChanged(m) ||
      this.softStateChanged(m)
    );
  }

  ready(m: MemberState): Ready {
    assert(!this.out_, () => `${m.id}: ready() called again before advance()`);
    const hs: HardState = { term: m.term, vote: m.vote, commit: this.log.committed, rejoin: m.rejoin };
    const prev = this.prevHardState;
    const termOrVoteChanged = hs.term !== prev.term || hs.vote !== prev.vote || hs.rejoin !== prev.rejoin;
    const entries = this.log.unstableEntries().slice();
    const snapshot = this.log.unstableSnapshot();
    const toApply = this.log.nextCommitted();
    const out = this.out;
    const rd: Ready = {
      softState: this.softStateChanged(m) ? { lead: m.lead, role: m.role } : null,
      hardState: this.hardStateChanged(m) ? hs : null,
      mustSync: entries.length > 0 || snapshot !== null || termOrVoteChanged,
      // A leader whose term and vote are already durable: nothing it sends depends on this Ready.
      sendFirst: m.role === Role.Leader && !termOrVoteChanged,
      snapshot,
      entries,
      messages: out.msgs,
      committedEntries: toApply === null ? [] : this.log.slice(toApply.from, toApply.to + 1, this.applyBytesMax),
      readStates: out.readStates,
      readsDropped: out.readsDropped,
    };
    out.msgs = [];
    out.readStates = [];
    out.readsDropped = [];
    if (rd.softState !== null) this.prevSoftState = rd.softState;
    this.out_ = true;
    return rd;
  }

  /** The host has persisted, sent and applied what `rd` asked for: the log takes note. */
  advance(m: MemberState, rd: Ready): void {
    assert(this.out_, () => `${m.id}: advance() without a Ready`);
    this.out_ = false;
    if (rd.hardState !== null) this.prevHardState = rd.hardState;
    if (rd.snapshot !== null) this.log.stableSnapTo(rd.snapshot.index);
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) this.log.stableTo(last.index, last.term);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(Math.max(this.log.applied, lastApplied.index));
  }

  /** The member's term, vote and incarnation are those the host has persisted (no Ready out or waiting changes them). */
  termAndVoteDurable(m: MemberState): boolean {
    const p = this.prevHardState;
    return p.term === m.term && p.vote === m.vote && p.rejoin === m.rejoin;
  }

  private hardStateChanged(m: MemberState): boolean {
    const p = this.prevHardState;
    return p.term !== m.term || p.vote !== m.vote || p.commit !== this.log.committed || p.rejoin !== m.rejoin;
  }

  private softStateChanged(m: MemberState): boolean {
    return this.prevSoftState.lead !== m.lead || this.prevSoftState.role !== m.role;
  }
}
