/**
 * A Raft group's configuration: who it is, who its peers are, and a named limit for everything.
 * `validateConfig` checks the limits against each other when a group is created.
 */
import type { LogStorage } from './storage.js';
import type { HardState, NodeId } from './types.js';

/** Ways to break the core on purpose, so tests can prove the simulator catches each (test/sim/host-simulation.ts, on the real groups through RaftGroupOptions.unsafeMutations). */
export interface UnsafeMutations {
  /** Grant votes without the §5.4.1 check that the candidate's log is up to date. */
  grantVoteWithoutLogCheck?: boolean;
  /** A snapshot of a log that is its files reaches past the commit index, to the last entry stored. */
  snapshotPastCommit?: boolean;
  /** Commit an earlier term's entry as soon as a majority holds it (the Figure 8 bug of §5.4.2). */
  commitPriorTermByCount?: boolean;
  /** Campaign straight away instead of asking for pre-votes first (thesis §9.6). */
  skipPreVote?: boolean;
  /** A rejoining replica votes and campaigns as if it had kept its data (raft/rejoin.ts). */
  rejoinerVotes?: boolean;
  /** Promote a learner whatever its match index (rule 4 of raft/membership.ts). */
  promoteBeforeCaughtUp?: boolean;
  /** Propose a membership change while another is uncommitted, or before committing in the term (rule 3). */
  twoChangesInFlight?: boolean;
  /** A leader goes on counting the acknowledgements of voters it removed (rule 1 broken at the leader). */
  countRemovedVoters?: boolean;
}

export interface RaftLimits {
  /** Ticks without hearing from a leader before a follower campaigns; randomized to [n, 2n). */
  electionTicks: number;
  /** Ticks between a leader's heartbeats. */
  heartbeatTicks: number;
  /** Bytes of entries in one append message (at least one entry is always sent). */
  appendBytesMax: number;
  /** Append messages in flight to one follower in the Replicate state. */
  appendsInFlightMax: number;
  /** Bytes of entries in flight to one follower (soft: the message that crosses it still goes). */
  inFlightBytesMax: number;
  /** Bytes of proposed but uncommitted entries on a leader before proposals are refused. */
  uncommittedBytesMax: number;
  /** Bytes of one proposed entry's data. */
  entryBytesMax: number;
  /** Bytes of committed entries handed out in one Ready for applying (at least one entry). */
  applyBytesMax: number;
  /**
   * A follower that needs more than this many bytes of the leader's cold log (LogStorage.coldBytes),
   * all of it committed, gets a snapshot (as one that needs the log from its start always does) (a partition's segment files, streamed by the host in
   * throttled chunks) instead of appends read ahead a window at a time (DESIGN.md §9).
   */
  snapshotColdBytesMin: number;
}

export const DEFAULT_LIMITS: RaftLimits = {
  electionTicks: 10,
  heartbeatTicks: 1,
  appendBytesMax: 1024 * 1024,
  appendsInFlightMax: 64,
  inFlightBytesMax: 32 * 1024 * 1024,
  uncommittedBytesMax: 64 * 1024 * 1024,
  entryBytesMax: 8 * 1024 * 1024,
  applyBytesMax: 64 * 1024 * 1024,
  snapshotColdBytesMin: 64 * 1024 * 1024,
};

export type CommitBroadcast = 'eager' | 'piggyback';

export interface RaftConfig {
  readonly id: NodeId;
  /**
   * The group's first configuration, for a log that holds none yet (a new group). Once the log or
   * its snapshot holds one (`LogStorage.configurations`), the log's is the truth and these are
   * ignored (raft/membership.ts).
   */
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  readonly storage: LogStorage;
  /** The state persisted by an earlier run; a fresh node starts at term 0 with no vote. */
  readonly hardState?: HardState;
  /** The last index the application has applied (it resumes after it). */
  readonly applied?: number;
  /** A seeded source of numbers in [0, 1): the core's only randomness. */
  readonly random: () => number;
  readonly limits?: Partial<RaftLimits>;
  /** Step down when a quorum has not been heard from for an election timeout. Default true. */
  readonly checkQuorum?: boolean;
  /** Ask for pre-votes before raising the term. Default true. */
  readonly preVote?: boolean;
  /**
   * How followers learn a new commit index that nothing else is carrying to them. 'eager' (the
   * default, as etcd does): the leader sends each follower an append with it at once. 'piggyback':
   * it rides on the next append or heartbeat, at most heartbeatTicks later; at light load that
   * saves an append and its answer per follower per commit (about 40% of the messages of a
   * partition under small produce requests). Safety does not depend on it; it suits groups whose
   * followers need the commit index only to keep up (partition logs, read from their leaders),
   * not groups whose followers serve what they apply (the metadata group).
   */
  readonly commitBroadcast?: CommitBroadcast;
  /** Test-only: break the core in a named way. Never set outside tests and chaos mutant runs. */
  readonly unsafeMutations?: UnsafeMutations;
}

export class RaftConfigError extends Error {
  override readonly name = 'RaftConfigError';
}

export function validateConfig(c: RaftConfig): RaftLimits {
  const l: RaftLimits = { ...DEFAULT_LIMITS, ...c.limits };
  const fail = (msg: string): never => {
    throw new RaftConfigError(`raft group member ${c.id}: ${msg}`);
  };
  for (const [name, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v < 1) fail(`limit ${name} must be a positive integer, got ${v}`);
  }
  if (l.heartbeatTicks >= l.electionTicks) fail(`heartbeatTicks ${l.heartbeatTicks} must be below electionTicks ${l.electionTicks}`);
  if (l.appendBytesMax > l.inFlightBytesMax) fail(`appendBytesMax ${l.appendBytesMax} exceeds inFlightBytesMax ${l.inFlightBytesMax}`);
  if (l.entryBytesMax > l.uncommittedBytesMax) fail(`entryBytesMax ${l.entryBytesMax} exceeds uncommittedBytesMax ${l.uncommittedBytesMax}`);
  // A replica joining a running group may start knowing no voter: it is a learner until its
  // leader's log (or snapshot) tells it the configuration.
  if (c.voters.length === 0 && !(c.learners ?? []).includes(c.id)) fail('a group needs at least one voter');
  const all = [...c.voters, ...(c.learners ?? [])];
  if (new Set(all).size !== all.length) fail(`members are listed twice: ${all.join(', ')}`);
  return l;
}
