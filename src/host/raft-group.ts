/**
 * One Raft group hosted on this node: its core, its segment log and hard state on disk, and the
 * state machine it feeds (a partition, or the metadata group). The group host (group-host.ts)
 * drives it through the Ready contract: persist, then (after one sync for all groups) apply, then
 * advance; the host sends the Ready's messages itself, before the write or after the sync.
 */
import { Raft } from '../../raft/raft.js';
import type { CommitBroadcast, RaftLimits, UnsafeMutations } from '../../raft/config.js';
import type { LogStorage } from '../../raft/storage.js';
import type { Entry, HardState, NodeId, ReadState, Ready, Snapshot, SoftState } from '../../raft/types.js';
import { saveHardState, saveHardStateAsync } from '../../storage/hard-state.js';
import { CorruptLogError, check } from '../../storage/errors.js';
import type { FileSystem } from '../../storage/file-system.js';
import { decodeSnapshotStart, type SegmentLog } from '../../storage/segment-log.js';
import { markDamaged } from './replica-trust.js';
import type { SyncLedger } from '../../storage/sync-ledger.js';
import type { Logger } from '../log.js';

/** What a group's application does with what Raft decides. */
export interface GroupStateMachine {
  /** Committed entries, in order, once they are durable on this node. */
  apply(entries: readonly Entry[]): Promise<void> | void;
  /** The leader sent its log start: reset the log after `snapshot` and take its state. */
  restore(snapshot: Snapshot, log: SegmentLog): Promise<void> | void;
  /** This member's role or known leader changed. */
  onSoftState(soft: SoftState, term: number): void;
  /** Entries up to `index` (term `term`) are durable here (acks=leader). */
  onPersisted(index: number, term: number): void;
  /** Read points confirmed by a quorum, and reads that never will be. */
  onReadStates(states: readonly ReadState[], dropped: readonly unknown[]): void;
}

export interface RaftGroupOptions {
  readonly id: string;
  readonly self: NodeId;
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  /** Folder for the hard state (the log has its own folder inside or beside it). */
  readonly dir: string;
  /** The disk the hard state is on (the log's own). */
  readonly fs: FileSystem;
  readonly log: SegmentLog;
  /** The hard state to start from, as openReplica (replica-trust.ts) decided it. */
  readonly hardState: HardState;
  /** Where this node keeps how far each log was synced (storage/sync-ledger.ts). */
  readonly ledger: SyncLedger;
  /** What the core reads; the log itself unless the group keeps snapshots elsewhere (metadata). */
  readonly storage?: LogStorage;
  /** The last index the state machine has applied durably (it resumes after it). */
  readonly applied: number;
  readonly limits: Partial<RaftLimits>;
  /** How followers learn commits (RaftConfig.commitBroadcast; default 'eager'). */
  readonly commitBroadcast?: CommitBroadcast;
  readonly random: () => number;
  readonly logger: Logger;
  /**
   * Test-only: the core broken in a named way (RaftConfig.unsafeMutations), so the host
   * simulation (test/sim/host-simulation.ts) can prove it catches each on the real group. Only
   * code under test/ and chaos/ sets it; a node (src/node/node.ts) never does.
   */
  readonly unsafeMutations?: UnsafeMutations;
}

export class RaftGroup {
  readonly id: string;
  readonly raft: Raft;
  readonly log: SegmentLog;
  readonly logger: Logger;
  sm!: GroupStateMachine;
  /** Asks the host for a Ready pass soon; call after feeding the core an input (propose, readIndex). */
  wake: () => void = () => undefined;
  /** Why the group stopped (a storage failure); null while it runs. */
  failed: string | null = null;
  private readonly dir: string;
  private readonly fs: FileSystem;
  private readonly ledger: SyncLedger;
  /** Term, vote and rejoin state as last written to disk. */
  private saved: { term: number; vote: NodeId | null; rejoin: string | null };
  /**
   * Whether the core's snapshots of this group are its log (a partition's segment files, which the
   * host streams: log-recovery.ts); false when the group keeps them elsewhere (the metadata
   * group's state, sent in one message).
   */
  readonly snapshotIsLog: boolean;
  /** The snapshot whose log the host staged beside this one (log-recovery.ts), until it is installed or declined. */
  private staged: Snapshot | null = null;
  /**
   * How far this log is durable here: synced, with its mark on disk (marksDurable), and not cut
   * since (a conflicting suffix replaced, a snapshot installed). Committed entries up to it may be
   * applied before the sync of a Ready's new entries (applyAhead).
   */
  private durableIndex = 0;
  /** The log's end when its last sync completed: durable once the ledger's mark is (marksDurable). */
  private syncedTo = 0;
  /** The Ready whose committed entries applyAhead applied: finish does not apply them again. */
  private appliedAhead: Ready | null = null;

  constructor(o: RaftGroupOptions) {
    this.id = o.id;
    this.log = o.log;
    this.dir = o.dir;
    this.fs = o.fs;
    this.ledger = o.ledger;
    this.logger = o.logger;
    o.fs.mkdirSync(o.dir, { recursive: true });
    this.snapshotIsLog = o.storage === undefined;
    // A window of cold entries read ahead for a follower is in memory: the core sends it now.
    o.log.onReadAhead = (err) => {
      if (err !== null) {
        this.fail(err);
        return;
      }
      if (this.failed !== null) return;
      this.raft.entriesReadAhead();
      this.wake();
    };
    // Retention's log start, written off the event loop, failed: as a failed write on it would, it stops the group.
    o.log.onBackgroundError = (err) => this.fail(err);
    const hs = o.hardState;
    this.saved = { term: hs.term, vote: hs.vote, rejoin: hs.rejoin ?? null };
    // The commit index is saved lazily; what was applied was certainly committed.
    const applied = Math.max(o.applied, o.log.firstIndex() - 1);
    const commit = Math.min(Math.max(hs.commit, applied), o.log.lastIndex());
    this.raft = new Raft({
      id: o.self,
      voters: o.voters,
      learners: o.learners ?? [],
      storage: o.storage ?? o.log,
      hardState: { ...hs, commit },
      applied: Math.min(applied, commit),
      random: o.random,
      limits: o.limits,
      commitBroadcast: o.commitBroadcast,
      unsafeMutations: o.unsafeMutations,
    });
  }

  /** The host staged the log of snapshot `s` (null: it dropped it); the core decides next whether to take it. */
  stageSnapshot(s: Snapshot | null): void {
    this.staged = s;
  }

  /** Whether a staged log waits for the core's Ready to install it. */
  hasStaged(): boolean {
    return this.staged !== null;
  }

  /** Whether the core took the staged snapshot: the next Ready installs it. */
  stagedTaken(): boolean {
    const p = this.raft.pendingSnapshot;
    return p !== null && this.staged !== null && p.index === this.staged.index && p.term === this.staged.term;
  }

  /**
   * The first step of persist, for a Ready without a snapshot: a new term or vote (or rejoin
   * state) to disk, off the event loop. The host runs it for every group of a pass at once, then
   * persist for each (which finds it done): an election of many groups at once, a node with
   * thousands of partitions restarting, saved them one after another on the event loop, two fsyncs
   * each, and held it past every election timeout. Nothing of the Ready is sent before persist
   * has finished too, as before.
   */
  async persistHardState(rd: Ready): Promise<void> {
    const hs = rd.hardState;
    if (this.discarded || rd.snapshot !== null || hs === null || !this.termOrVoteChanged(hs)) return;
    try {
      await saveHardStateAsync(this.dir, { ...hs, commit: durableCommit(hs.commit, rd) }, this.fs);
    } catch (err) {
      // Deleted meanwhile (its folder went): nothing of it matters any more.
      if (this.discarded) return;
      throw err;
    }
    this.hardStateSaved(hs);
  }

  private termOrVoteChanged(hs: HardState): boolean {
    return hs.term !== this.saved.term || hs.vote !== this.saved.vote || (hs.rejoin ?? null) !== this.saved.rejoin;
  }

  private hardStateSaved(hs: HardState): void {
    this.saved = { term: hs.term, vote: hs.vote, rejoin: hs.rejoin ?? null };
    // The ledger knows the replica once it has a hard state (durable with this pass's marks,
    // before its messages go): should the hard state be lost while the log is still empty, the
    // next open does not take the replica for a new one, free to vote again (replica-trust.ts).
    if (this.ledger.mark(this.id) === null) this.ledger.record(this.id, { index: 0, term: 0 });
  }

  /** Writes what the Ready asks to persist; the host syncs the log afterwards. */
  async persist(rd: Ready): Promise<void> {
    // Deleted while the host was still working through a pass: nothing of it may reach the disk.
    if (this.discarded) return;
    // Entries this Ready drops on purpose (a conflicting suffix, a log a snapshot replaces) leave
    // the ledger's mark first, or a restart would take their absence for damage.
    const first = rd.entries[0];
    // What this Ready replaces is no longer durable here (its replacement is not synced yet).
    if (rd.snapshot !== null) this.durableIndex = this.syncedTo = 0;
    else if (first !== undefined) this.durableIndex = Math.min(this.durableIndex, first.index - 1);
    if (rd.snapshot !== null) await this.installSnapshot(rd);
    if (first !== undefined && first.index <= this.log.lastIndex()) {
      await this.ledger.lower(this.id, { index: first.index - 1, term: this.log.term(first.index - 1) });
    }
    const hs = rd.hardState;
    if (hs !== null && this.termOrVoteChanged(hs)) {
      // Term and vote go to disk (atomically, fsynced) before any message that depends on them,
      // and before the entries: a log never holds an entry of a term above its hard state's (the
      // core asserts it). The commit index rides along, but only as far as entries this Ready
      // leaves in place (durable since earlier Readys): a crash can lose the entries it appends,
      // and a conflicting suffix they replace would then be back under a commit index naming them.
      // (Done already by persistHardState when the host ran it first.)
      saveHardState(this.dir, { ...hs, commit: durableCommit(hs.commit, rd) }, this.fs);
      this.hardStateSaved(hs);
    }
    if (rd.entries.length > 0) this.log.append(rd.entries);
  }

  /**
   * A snapshot from the leader replaces the log. One at the leader's log start (or the metadata
   * group's state) empties it
   * (Partition.restore → SegmentLog.resetTo); one past it installs the log the host staged from
   * the leader's files (log-recovery.ts; SegmentLog.install swaps it in atomically). Around that
   * swap, what is durable stays what the replica may claim: a new term or vote is saved first
   * (with no commit index: the old log's, should a crash keep it, is not known to be committed up
   * to anything the snapshot says), and the ledger's mark comes down to nothing, since the new log
   * may hold other entries than the old at the same indexes; the next sync raises it to the new
   * log's end (synced()).
   */
  private async installSnapshot(rd: Ready): Promise<void> {
    const s = rd.snapshot!;
    const staged = this.staged;
    this.staged = null;
    if (!this.snapshotIsLog || s.index === decodeSnapshotStart(s).index) {
      await this.ledger.lower(this.id, { index: s.index, term: s.term });
      await this.sm.restore(s, this.log);
      return;
    }
    check(staged !== null && staged.index === s.index && staged.term === s.term, () => `${this.id}: the snapshot to install ends at ${s.index} (term ${s.term}) but the log staged for it ${staged === null ? 'is none' : `ends at ${staged.index} (term ${staged.term})`}`);
    const hs = rd.hardState;
    if (hs !== null && (hs.term !== this.saved.term || hs.vote !== this.saved.vote || (hs.rejoin ?? null) !== this.saved.rejoin)) {
      saveHardState(this.dir, { ...hs, commit: 0 }, this.fs);
      this.saved = { term: hs.term, vote: hs.vote, rejoin: hs.rejoin ?? null };
      if (this.ledger.mark(this.id) === null) this.ledger.record(this.id, { index: 0, term: 0 });
    }
    await this.ledger.lower(this.id, { index: 0, term: 0 });
    await this.sm.restore(s, this.log);
  }

  /**
   * Whether the host must make this Ready's writes durable before its messages go: when it
   * writes, and once after opening (what the log read back may be a killed process's unsynced
   * writes, and has no mark yet).
   */
  mustSync(rd: Ready): boolean {
    return rd.mustSync || !this.syncedSinceOpen;
  }

  private syncedSinceOpen = false;

  /**
   * The log's sync completed: all of it is durable now, and the ledger records its end
   * (storage/sync-ledger.ts). The host then waits for marksDurable() before acknowledging.
   */
  synced(): void {
    // Deleted while its sync was on the disk: a mark now would outlive the replica in the ledger,
    // and a replica created here again would take itself for a damaged one.
    if (this.discarded) return;
    this.syncedSinceOpen = true;
    const last = this.log.lastIndex();
    this.syncedTo = last;
    if (last === 0) return;
    this.ledger.record(this.id, { index: last, term: this.log.term(last) });
  }

  /** Resolves once the ledger holds every mark recorded so far on disk; rejects if it could not write them. */
  async marksDurable(): Promise<void> {
    const upTo = this.syncedTo;
    await this.ledger.durable();
    this.durableIndex = Math.max(this.durableIndex, upTo);
  }

  /**
   * Applies the Ready's committed entries now, before the sync of its own writes, when they are
   * all durable here already (synced and marked by an earlier Ready, as a leader's are once a
   * follower's acknowledgement commits them): they are committed, so on a majority, and this
   * node's copy will not change, whatever the sync of the Ready's new entries does. So a
   * leader acknowledges a write one sync round sooner (etcd applies beside its WAL write too).
   * A Ready that changes the role or leader applies in finish, after it is told (onSoftState).
   * True when it applied them.
   */
  async applyAhead(rd: Ready): Promise<boolean> {
    const last = rd.committedEntries[rd.committedEntries.length - 1];
    if (last === undefined || rd.softState !== null || rd.snapshot !== null || last.index > this.durableIndex || this.discarded) return false;
    this.appliedAhead = rd;
    await this.sm.apply(rd.committedEntries);
    return true;
  }

  /** After the sync: hands out what is now durable, applies committed entries (unless applyAhead did), advances. */
  async finish(rd: Ready): Promise<void> {
    if (rd.softState !== null) this.sm.onSoftState(rd.softState, this.raft.term);
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) this.sm.onPersisted(last.index, last.term);
    const ahead = this.appliedAhead === rd;
    this.appliedAhead = null;
    if (rd.committedEntries.length > 0 && !ahead) await this.sm.apply(rd.committedEntries);
    if (rd.readStates.length > 0 || rd.readsDropped.length > 0) this.sm.onReadStates(rd.readStates, rd.readsDropped);
    this.raft.advance(rd);
  }

  fail(err: unknown): void {
    if (this.failed !== null) return;
    this.failed = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.logger.error({ group: this.id, err: this.failed }, `group ${this.id} stopped: ${this.failed}`);
    // A log found corrupt while running: the next open of this replica verifies all of it and
    // rejoins (replica-trust.ts), even where an intact index would have let the damage pass.
    if (err instanceof CorruptLogError) markDamaged(this.fs, this.dir, err.message);
    this.onFail?.(err);
  }

  /** Told when the group stops (the node may reopen it to repair it). */
  onFail: ((err: unknown) => void) | null = null;

  /** Closes the log of a replica about to be deleted (its group left this node): nothing is saved. */
  discard(): void {
    this.discarded = true;
    this.log.close();
  }

  private discarded = false;

  /** Saves the commit index (so a restart re-applies less) and closes the log. */
  close(): void {
    try {
      if (this.failed === null) saveHardState(this.dir, this.raft.hardState(), this.fs);
    } finally {
      this.log.close();
    }
  }
}

/** The commit index a Ready's hard state may be stored with: no further than the entries it leaves in place. */
export function durableCommit(commit: number, rd: Ready): number {
  const first = rd.entries[0];
  return first === undefined ? commit : Math.min(commit, first.index - 1);
}
