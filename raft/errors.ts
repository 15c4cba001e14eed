/**
 * Two kinds of failure (see STYLE.md). A broken invariant is a bug: `assert` throws
 * `RaftInvariantError` with the numbers in its message, and the host lets the process crash.
 * An expected condition, such as a proposal to a node that is not the leader, is a typed error
 * that a caller handles.
 */
import type { NodeId } from './types.js';

export class RaftInvariantError extends Error {
  override readonly name = 'RaftInvariantError';
}

export function assert(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new RaftInvariantError(message());
}

/** The closed list of reasons a proposal, a read or a transfer is refused. */
export const RaftErrorCode = {
  NotLeader: 'NOT_LEADER',
  TransferInProgress: 'TRANSFER_IN_PROGRESS',
  UncommittedBytesExceeded: 'UNCOMMITTED_BYTES_EXCEEDED',
  EntryTooLarge: 'ENTRY_TOO_LARGE',
  UnknownNode: 'UNKNOWN_NODE',
  /** The replica is rejoining after losing data: not a voter until it has caught up (raft/rejoin.ts). */
  ReplicaRejoining: 'REPLICA_REJOINING',
  /** A membership change that is not one single-server step from the current configuration (raft/membership.ts). */
  InvalidMembershipChange: 'INVALID_MEMBERSHIP_CHANGE',
  /** A membership change is already in flight, or this leader has not committed an entry of its term yet. */
  MembershipChangeInProgress: 'MEMBERSHIP_CHANGE_IN_PROGRESS',
  /** A learner is promoted only once it holds the log up to the commit index. */
  LearnerBehind: 'LEARNER_BEHIND',
} as const;
export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode];

export class RaftError extends Error {
  override readonly name = 'RaftError';
  constructor(
    readonly code: RaftErrorCode,
    message: string,
    /** True when the same request may succeed later or elsewhere. */
    readonly retriable: boolean,
    /** With NOT_LEADER: the leader this node knows of, if any. */
    readonly leaderHint: NodeId | null = null,
  ) {
    super(message);
  }
}

export function notLeader(self: NodeId, leader: NodeId | null): RaftError {
  const where = leader === null ? 'no leader is known yet' : `the leader is ${leader}`;
  return new RaftError(RaftErrorCode.NotLeader, `${self} is not the leader; ${where}`, true, leader);
}

/** The log asked for an index that retention or a snapshot has removed. */
export class LogCompactedError extends Error {
  override readonly name = 'LogCompactedError';
  constructor(readonly index: number, readonly firstIndex: number) {
    super(`index ${index} is before the log start ${firstIndex}`);
  }
}
