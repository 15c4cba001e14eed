/**
 * Ways to make a node cheat on purpose, so that chaos runs can prove the checker catches each
 * (issue 6). Only the chaos entry point (node-main.ts) runs one, given `--unsafe-mutant <name>`:
 * each is a weaker policy or part in place of the production one (src/node/node.ts NodeParts),
 * and a node running one says so loudly in its log. `node cluster.js` has no way to run one.
 * Never use one for anything but testing the tests.
 */
import { STRICT_PARTITION_POLICY } from '../src/partition/partition.js';
import type { DurabilityPolicy } from '../src/host/group-host.js';
import type { NodeParts } from '../src/node/node.js';

export const MUTANTS = {
  /** acks=all is answered once the leader has persisted the batch, before a majority has. */
  ackBeforeCommit: 'ack-before-commit',
  /** No fdatasync before acknowledging (with the default --sync fsync): a crash loses acknowledged writes. */
  ackBeforeFsync: 'ack-before-fsync',
  /** Fetches answered by any replica, leader or not, without confirming leadership (stale reads). */
  fetchWithoutReadIndex: 'fetch-without-readindex',
  /** The leader never drops a retried batch it already has (duplicates). */
  skipIdempotence: 'skip-idempotence',
  /** Offset commits are acknowledged without being written. */
  dropOffsetCommits: 'drop-offset-commits',
  /** A replica that lost its data votes and campaigns as if it had kept it (raft/rejoin.ts broken in every group). */
  rejoinerVotes: 'rejoiner-votes',
} as const;
export type Mutant = (typeof MUTANTS)[keyof typeof MUTANTS];
export const MUTANT_NAMES: readonly Mutant[] = Object.values(MUTANTS);

/** A pass leaves what it wrote in the page cache, and the sync ledger records nothing. */
const LEAVE_UNSYNCED: DurabilityPolicy = Object.freeze({ makeDurable: () => Promise.resolve(false) });

/** The parts a node running `m` is built with. */
export function mutantParts(m: Mutant): NodeParts {
  switch (m) {
    case MUTANTS.ackBeforeCommit:
      return { partition: { ...STRICT_PARTITION_POLICY, acksAll: 'persisted-here' } };
    case MUTANTS.ackBeforeFsync:
      return { durability: LEAVE_UNSYNCED };
    case MUTANTS.fetchWithoutReadIndex:
      return { partition: { ...STRICT_PARTITION_POLICY, reads: 'any-replica' } };
    case MUTANTS.skipIdempotence:
      return { partition: { ...STRICT_PARTITION_POLICY, idempotence: 'ignored' } };
    case MUTANTS.dropOffsetCommits:
      return { offsetCommits: { write: 'skip' } };
    case MUTANTS.rejoinerVotes:
      return { unsafeMutations: { rejoinerVotes: true } };
  }
}
