/**
 * Ways to make a node cheat on purpose, so that chaos runs can prove the checker catches each
 * (issue 6). Off unless `--unsafe-mutant <name>` is given; a node running one says so loudly in
 * its log. Never use one for anything but testing the tests.
 */
export const MUTANTS = {
  /** acks=all is answered once the leader has persisted the batch, before a majority has. */
  ackBeforeCommit: 'ack-before-commit',
  /** No fdatasync before acknowledging: a crash loses acknowledged writes. */
  ackBeforeFsync: 'ack-before-fsync',
  /** Fetches answered by any replica, leader or not, without confirming leadership (stale reads). */
  fetchWithoutReadIndex: 'fetch-without-readindex',
  /** The leader never drops a retried batch it already has (duplicates). */
  skipIdempotence: 'skip-idempotence',
  /** Offset commits are acknowledged without being written. */
  dropOffsetCommits: 'drop-offset-commits',
} as const;
export type Mutant = (typeof MUTANTS)[keyof typeof MUTANTS];
export const MUTANT_NAMES: readonly Mutant[] = Object.values(MUTANTS);
