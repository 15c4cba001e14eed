/**
 * The core's view of its log: what the host has persisted (`LogStorage`) followed by an unstable
 * tail that the next `Ready` hands out for persisting. Also tracks the commit index, how far
 * committed entries have been handed out for applying, and the configurations the log holds
 * (raft/membership.ts: the last one is in effect, committed or not).
 */
import { LogCompactedError, assert } from './errors.js';
import { Configurations, configurationOf, sameMembership, type ConfigurationAt, type Membership } from './membership.js';
import { limitBytes, type LogStorage } from './storage.js';
import type { Entry, Snapshot } from './types.js';

/** Entries and possibly a snapshot that the host has not yet acknowledged as persisted. */
class Unstable {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  /** The index of `entries[0]` (or where it would go). */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  lastIndex(): number | null {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot !== null) return this.snapshot.index;
    return null;
  }

  term(i: number): number | null {
    if (i < this.offset) {
      if (this.snapshot !== null && this.snapshot.index === i) return this.snapshot.term;
      return null;
    }
    const e = this.entries[i - this.offset];
    return e === undefined ? null : e.term;
  }

  /** Appends entries that start at or before the end, replacing any tail they overlap. */
  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces everything unstable; the host drops the stored entries from `after` on too.
      this.offset = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset);
      for (const e of ents) this.entries.push(e);
    }
  }

  /** The host persisted entries up to (i, t): forget them, unless they were replaced meanwhile. */
  stableTo(i: number, t: number): void {
    if (this.term(i) !== t || i < this.offset) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
  }

  restore(snap: Snapshot): void {
    this.snapshot = snap;
    this.entries = [];
    this.offset = snap.index + 1;
  }
}

export class RaftLog {
  private readonly unstable: Unstable;
  /** The highest index known to be committed. */
  committed: number;
  /** The highest index handed out for applying (in a Ready). */
  applied: number;

  /** The configurations in this log, persisted and unstable (raft/membership.ts). */
  readonly configs: Configurations;

  /** `initial`: the configurations the storage holds, the first in effect at or before its log start. */
  constructor(readonly storage: LogStorage, committed: number, applied: number, initial: readonly ConfigurationAt[]) {
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.configs = new Configurations(initial);
    const first = storage.firstIndex();
    // Entries before the log start are in the snapshot, so they are committed and applied.
    this.committed = Math.max(committed, first - 1);
    this.applied = Math.max(applied, first - 1);
    assert(this.committed <= this.lastIndex(), () => `commit ${committed} is beyond the last index ${this.lastIndex()}: the log lost entries it had synced`);
    assert(this.applied <= this.committed, () => `applied ${applied} is beyond commit ${this.committed}`);
  }

  firstIndex(): number {
    const s = this.unstable.snapshot;
    return s !== null ? s.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.lastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert(t !== null, () => `no term for the last index ${this.lastIndex()}`);
    return t;
  }

  /** The term of entry `i`, or null when `i` is before the log start or after its end. */
  term(i: number): number | null {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return null;
    const t = this.unstable.term(i);
    if (t !== null) return t;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof LogCompactedError) return null;
      throw err;
    }
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /** §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries `lo..hi-1` up to `maxBytes` (at least one); throws LogCompactedError before the start. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new LogCompactedError(lo, first);
    assert(hi <= this.lastIndex() + 1, () => `slice(${lo}, ${hi}) is beyond the last index ${this.lastIndex()}`);
    const u = this.unstable;
    let out: Entry[] = [];
    if (lo < u.offset) {
      out = this.storage.entries(lo, Math.min(hi, u.offset), maxBytes);
      // The storage stopped early on the byte limit: the unstable part would not fit either.
      if (out.length < Math.min(hi, u.offset) - lo) return out;
    }
    if (hi > u.offset) {
      const from = Math.max(lo, u.offset);
      const tail = u.entries.slice(from - u.offset, hi - u.offset);
      out = out.length === 0 ? tail : out.concat(tail);
    }
    return limitBytes(out, maxBytes);
  }

  /** Appends entries at the end of the log (a leader's proposals); returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    assert(after >= this.committed, () => `append after ${after} would overwrite commit ${this.committed}`);
    this.unstable.truncateAndAppend(ents);
    // A replaced suffix takes its configurations with it; the new entries bring theirs.
    this.configs.truncateFrom(after + 1);
    for (const e of ents) {
      const m = configurationOf(e);
      if (m !== null) this.configs.add(e.index, m);
    }
    return this.lastIndex();
  }

  /**
   * §5.3: if the log holds (prevIndex, prevTerm), appends what of `ents` it lacks, replacing a
   * conflicting tail, advances the commit index, and returns the last index of the new entries.
   * Returns null when the log does not match at prevIndex.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, ents: readonly Entry[]): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      assert(conflict > this.committed, () => `entry ${conflict} conflicts with the committed prefix ending at ${this.committed}`);
      this.append(ents.slice(conflict - ents[0]!.index));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** The index of the first entry of `ents` that the log lacks or holds with another term; 0 if none. */
  private findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The first index of term `t` at or before `upTo`, where `term(upTo) === t`. Terms never go down
   * along a log, so a binary search finds it in O(log n) reads of `term`.
   */
  firstIndexOfTerm(t: number, upTo: number): number {
    let lo = this.firstIndex();
    let hi = upTo;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const mt = this.term(mid);
      assert(mt !== null, () => `no term at ${mid} inside ${lo}..${hi}`);
      if (mt < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The last index at or before `upTo` whose term is at most `t`, or null if the log holds none. */
  lastIndexWithTermAtMost(t: number, upTo: number): number | null {
    let lo = this.firstIndex() - 1;
    let hi = Math.min(upTo, this.lastIndex());
    const loTerm = this.term(lo);
    if (loTerm === null || loTerm > t) return null;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const mt = this.term(mid);
      assert(mt !== null, () => `no term at ${mid} inside ${lo}..${hi}`);
      if (mt <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  commitTo(i: number): void {
    if (i <= this.committed) return;
    assert(i <= this.lastIndex(), () => `commit ${i} is beyond the last index ${this.lastIndex()}`);
    this.committed = i;
  }

  /** §5.4.2: a leader commits by counting replicas only entries of its own term. */
  maybeCommit(index: number, term: number, countPriorTerms: boolean): boolean {
    if (index <= this.committed) return false;
    if (!countPriorTerms && this.term(index) !== term) return false;
    this.commitTo(index);
    return true;
  }

  /** Replaces the log with a snapshot from the leader; the host installs it from the next Ready. */
  restore(snap: Snapshot): void {
    assert(snap.membership !== undefined, () => `the snapshot at ${snap.index} carries no configuration`);
    this.unstable.restore(snap);
    this.configs.reset(snap.index, snap.membership);
    this.committed = snap.index;
    this.applied = snap.index;
  }

  /**
   * The leader's configuration `m` at its log start (`index`, `term`), which no entry carries
   * (AppendRequest.logStartMembership). A log that is empty from that same start under another
   * configuration (what its node created it with: a learner joining a group whose voters it
   * could only guess, src/partition/moves.ts joiningMembership) starts over from the same log
   * start with the leader's configuration: a snapshot of its own log start carrying `m`, which
   * the host installs from the next Ready, so the configuration is durable as a snapshot's is.
   * Without this, a group whose log holds no configuration entry (its membership never changed)
   * never tells such a replica that it votes: the chaos run "membership changes among kills and
   * partitions" found a replaced node a learner in its own eyes for good, a voter to the others,
   * that never took the leadership handed to it. A log that holds entries after its start, or a
   * storage with no snapshot of its log start to hand (the metadata group's before its first
   * one; its replicas start from the configuration the cluster was created with), is left as it
   * is: only a new replica starts from a configuration that is not its group's.
   */
  takeLogStartMembership(index: number, term: number, m: Membership): void {
    if (index !== this.firstIndex() - 1 || index !== this.lastIndex() || !this.matchTerm(index, term)) return;
    if (sameMembership(this.configs.current.membership, m)) return;
    const start = this.unstable.snapshot ?? this.storage.snapshot();
    if (start === null || start.index !== index || start.term !== term) return;
    this.restore({ ...start, membership: m });
  }

  /** Committed entries not yet handed out for applying, as an inclusive range. */
  nextCommitted(): { from: number; to: number } | null {
    return this.committed > this.applied ? { from: this.applied + 1, to: this.committed } : null;
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable.entries;
  }

  /**
   * The last index the host has persisted: everything before the unstable tail (0 while a snapshot
   * is unstable: nothing of the new log is known to be durable yet).
   */
  persistedLastIndex(): number {
    return this.unstable.snapshot !== null ? 0 : this.unstable.offset - 1;
  }

  unstableSnapshot(): Snapshot | null {
    return this.unstable.snapshot;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(index: number): void {
    if (this.unstable.snapshot?.index === index) this.unstable.snapshot = null;
  }

  appliedTo(i: number): void {
    assert(i <= this.committed && i >= this.applied, () => `applied ${i} outside ${this.applied}..${this.committed}`);
    this.applied = i;
  }
}
