/**
 * Ways to make a node cheat on purpose, so that chaos runs can prove the checker catches each
 * (issue 6). Off unless `--unsafe-mutant <name>` is given; a node running one says so loudly in
 * its log. Never use one for anything but testing the tests.
 */
import type { OffsetCommitPolicy } from '../groups/coordinator.js';
import type { DurabilityPolicy } from '../host/group-host.js';
import { STRICT_PARTITION_POLICY, type PartitionPolicy } from '../partition/partition.js';

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

/** The policies a node running `m` is built with, in place of the strict ones. */
export function mutantPolicies(m: Mutant | null): { partition?: PartitionPolicy; durability?: DurabilityPolicy; offsetCommits?: OffsetCommitPolicy } {
  switch (m) {
    case null:
      return {};
    case MUTANTS.ackBeforeCommit:
      return { partition: { ...STRICT_PARTITION_POLICY, acksAll: 'persisted-here' } };
    case MUTANTS.ackBeforeFsync:
      return { durability: { makeDurable: () => Promise.resolve(false) } };
    case MUTANTS.fetchWithoutReadIndex:
      return { partition: { ...STRICT_PARTITION_POLICY, reads: 'any-replica' } };
    case MUTANTS.skipIdempotence:
      return { partition: { ...STRICT_PARTITION_POLICY, idempotence: 'ignored' } };
    case MUTANTS.dropOffsetCommits:
      return { offsetCommits: { write: 'skip' } };
  }
}
