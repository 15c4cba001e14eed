/**
 * The narrow view of a log that the Raft core reads. The storage layer implements it over segment
 * files (storage/segment-log.ts); `MemoryStorage` implements it for tests and simulation.
 *
 * The core never writes through this interface: the host writes what a `Ready` tells it to, and the
 * core reads back only what was written, plus its own unstable tail (raft/log.ts).
 */
import type { ConfigurationAt } from './membership.js';
import type { Entry, Snapshot } from './types.js';

export interface LogStorage {
  /** The first index held. The term of `firstIndex() - 1` (the log start's) is still answerable. */
  firstIndex(): number;
  /** The last index held; `firstIndex() - 1` when the log is empty. */
  lastIndex(): number;
  /** The term of entry `i`, for `firstIndex() - 1 <= i <= lastIndex()`; throws LogCompactedError below. */
  term(i: number): number;
  /**
   * Entries `lo` (inclusive) to `hi` (exclusive) whose data adds up to at most `maxBytes`, but always
   * at least one entry. Requires `firstIndex() <= lo < hi <= lastIndex() + 1`.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /**
   * The state at the log start, sent to a follower that needs entries before `firstIndex()`.
   * Its index is at least `firstIndex() - 1` and at most `lastIndex()`: the follower continues
   * from the entry after it. Null while the application cannot produce one yet.
   */
  snapshot(): Snapshot | null;
  /**
   * The configurations this log holds (raft/membership.ts), oldest first: the one in effect at the
   * log start if known (from its snapshot), then one per configuration entry after it. Empty for
   * a log that never held one (a new group: the core starts from RaftConfig.voters). Read once,
   * when a member starts; the core tracks its own appends after that.
   */
  configurations(): readonly ConfigurationAt[];
}

/** Bytes an entry counts for in every byte limit: its data plus a fixed allowance for its header. */
export const ENTRY_OVERHEAD_BYTES = 24;

export function entryBytes(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/** Takes entries from `ents` while their bytes stay within `maxBytes`, always at least one. */
export function limitBytes(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let bytes = entryBytes(ents[0]!);
  let n = 1;
  while (n < ents.length) {
    bytes += entryBytes(ents[n]!);
    if (bytes > maxBytes) break;
    n++;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
