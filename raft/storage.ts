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
   * The state a follower starts over from: sent to one that needs entries before `firstIndex()`,
   * or more than `RaftLimits.snapshotColdBytesMin` of cold ones (`coldBytes`). Its index is at
   * least `firstIndex() - 1` and at most `lastIndex()`: the follower continues from the entry
   * after it. A storage whose snapshot is the state at its log start ignores `upTo`; one whose
   * snapshot is its log itself (a partition's segment files, which the host streams) covers the
   * log up to `upTo`, the leader's commit index, and never past it. Without `upTo`: the log start.
   * Null while the application cannot produce one yet.
   */
  snapshot(upTo?: number): Snapshot | null;
  /**
   * The first index whose entries `entries` serves from memory; entries before it (down to
   * `firstIndex()`) are in cold files. A leader never has a cold file read on its event loop for
   * a follower: it asks `readAhead` first, or sends a snapshot. `firstIndex()` for a storage held
   * in memory.
   */
  hotFirstIndex(): number;
  /**
   * About how many bytes of stored entries lie from index `from` up to `hotFirstIndex()` (0 when
   * `from` is hot). A storage whose snapshots are not its log says 0 always: its followers are
   * never caught up by snapshot for being behind, only for needing entries it no longer holds.
   */
  coldBytes(from: number): number;
  /**
   * Whether entries from `from` on can be had from `entries` now without reading a cold file.
   * When not, the storage reads about `maxBytes` of them off the event loop and wakes its host
   * when they are in memory; the caller asks again later (a leader, on its follower's next
   * heartbeat answer).
   */
  readAhead(from: number, maxBytes: number): boolean;
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
