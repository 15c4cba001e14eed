/**
 * The values that flow into and out of the Raft core. Nothing here does I/O: a host moves these
 * between the core, its disk and its network.
 *
 * Indexes and terms are plain numbers: they grow by one per entry or election, so 2^53 is out of
 * reach for the life of any cluster. Index 0 with term 0 is the empty log's sentinel.
 */
import type { Membership } from './membership.js';
import type { ProgressState } from './progress.js';

export type NodeId = string;

/** The kinds of log entry. Only `Normal` entries carry application data (and, in a partition, offsets). */
export const EntryKind = {
  /** Application data: a record batch in a partition, a command in the metadata group. */
  Normal: 0,
  /** Appended by every new leader at the start of its term; lets it commit earlier entries (§5.4.2). */
  Noop: 1,
  /** Configuration: a new membership (raft/membership.ts) or the promotion of a rejoining replica (raft/rejoin.ts); takes no offsets. */
  Config: 2,
} as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** What must survive a crash besides the log. `commit` may be persisted lazily (see `Ready.mustSync`). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
  /**
   * Set while this replica is rejoining after losing data it may have acknowledged: the incarnation
   * it rejoins under. It neither votes nor counts until promoted (raft/rejoin.ts). Absent or null
   * for a voter.
   */
  readonly rejoin?: string | null;
}

/**
 * The state at the start of a log whose earlier entries are gone: the index and term of the last
 * dropped entry and an application-defined blob (a partition's next offset at log start, the
 * metadata group's state).
 */
export interface Snapshot {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
  /**
   * The configuration in effect at `index` (raft/membership.ts). Always set on a snapshot a
   * leader sends and on one a Ready hands out for installing; a storage's own log-start
   * snapshot may leave it out, since `LogStorage.configurations` tells the core.
   */
  readonly membership?: Membership;
}

export const Role = {
  Follower: 'follower',
  PreCandidate: 'pre-candidate',
  Candidate: 'candidate',
  Leader: 'leader',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term; a granted pre-vote response carries the term it was asked about. */
  readonly term: number;
}

/** §5.2 RequestVote, and the thesis's §9.6 pre-vote, which asks without raising anyone's term. */
export interface VoteRequest extends MessageBase {
  readonly type: 'preVote' | 'vote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Sent on a leadership transfer: voters must not ignore it for having a live leader. */
  readonly transfer: boolean;
}

/** Present on a rejoining replica's answers: the incarnation it rejoins under (raft/rejoin.ts). */
interface FromReplica {
  readonly rejoin?: string;
}

export interface VoteResponse extends MessageBase, FromReplica {
  readonly type: 'preVoteResp' | 'voteResp';
  readonly reject: boolean;
}

/** §5.3 AppendEntries. */
export interface AppendRequest extends MessageBase {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  /**
   * Set when `prevIndex` is the leader's log start: the configuration in effect there, which no
   * entry of its log carries (raft/membership.ts, "where configurations live"). A follower whose
   * log is empty from that same start, under another configuration (a replica its node created
   * as a joining learner), takes the leader's.
   */
  readonly logStartMembership?: Membership;
}

/**
 * On success `index` is the last index the follower now holds from this leader. On rejection
 * `index` is the rejected `prevIndex`, and the hint lets the leader skip a whole term per round
 * trip: `conflictTerm` is the follower's term at `prevIndex` (0 when its log is shorter) and
 * `conflictIndex` the first index the follower holds of that term (or its last index + 1).
 */
export interface AppendResponse extends MessageBase, FromReplica {
  readonly type: 'appendResp';
  readonly index: number;
  readonly reject: boolean;
  readonly conflictTerm: number;
  readonly conflictIndex: number;
}

/** Keeps followers from campaigning, carries the commit index and confirms read rounds (§6.4). */
export interface Heartbeat extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
  /** The leader's read round at the time of sending; echoed in the response. */
  readonly readRound: number;
}

export interface HeartbeatResponse extends MessageBase, FromReplica {
  readonly type: 'heartbeatResp';
  readonly readRound: number;
}

/** Sent when a follower needs entries before the leader's first index: its log starts over. */
export interface SnapshotRequest extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

/** Thesis §3.10: the leader tells an up-to-date follower to start an election at once. */
export interface TimeoutNow extends MessageBase {
  readonly type: 'timeoutNow';
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNow;

export type MessageType = Message['type'];

/** A read point confirmed by a quorum: reads of state applied up to `index` are linearizable. */
export interface ReadState {
  readonly index: number;
  readonly context: unknown;
}

export interface SoftState {
  readonly lead: NodeId | null;
  readonly role: Role;
}

/**
 * Everything the core asks its host to do, handed out by `Raft.ready()`.
 *
 * THE CONTRACT: everything to persist in a Ready (`snapshot`, `entries`, `hardState` when `mustSync`)
 * is durable before any of its `messages` is sent, and before any of `committedEntries` is applied
 * or acknowledged. Then the host calls `Raft.advance(ready)`, and only then asks for the next Ready.
 * The core goes on taking `tick`, `step` and `propose` calls in between; what they produce waits
 * for the next Ready.
 *
 * Persisting, in order: install `snapshot` if present (the log restarts after it); drop any stored
 * entry at or after `entries[0].index` and append `entries`; store `hardState`.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  /** True when the host must fsync before sending (unless sendFirst) and applying: new entries, a snapshot, or a new term or vote. */
  readonly mustSync: boolean;
  /**
   * The messages may go out before the entries and hard state are persisted: the Ready is a
   * leader's whose term and vote were persisted by an earlier Ready. What a leader sends (appends,
   * heartbeats, snapshots, transfer) never depends on its own unpersisted entries, because it
   * counts its own copy toward commitment only after `advance` (Raft thesis §10.2.1). Otherwise
   * (followers, candidates, a new term or vote) the messages go only after the sync. For the
   * same reason such a leader's messages queued while this Ready is out may go before it is
   * advanced (Raft.takeMessagesWhileOut).
   */
  readonly sendFirst: boolean;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  /**
   * Entries newly committed, to apply in order (consecutive indexes; at most `applyBytesMax` of
   * data, so a long backlog comes over several Readys). Taken from the log when the Ready was
   * made, so they stay valid even if a snapshot replaces the log before the host gets to them.
   */
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** Read contexts that will never be confirmed because this node stopped leading. */
  readonly readsDropped: readonly unknown[];
}

/** Where `Raft.propose` put the entries. */
export interface ProposeResult {
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly term: number;
}

/** What a leader knows of one peer (`RaftStatus.peers`). */
export interface PeerStatus {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly learner: boolean;
  readonly recentActive: boolean;
  /** The incarnation the peer rejoins under (it counts in no quorum until promoted), or null. */
  readonly rejoin: string | null;
}

/** `Raft.status()`: what a member knows, for operators and tests; `peers` only on a leader. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly lead: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly transferee: NodeId | null;
  /** The incarnation this replica rejoins under while it is not a voter (raft/rejoin.ts); null for a voter. */
  readonly rejoin: string | null;
  /** The configuration in effect (the last in the log) and the index of the entry that set it. */
  readonly membership: Membership;
  readonly membershipIndex: number;
  readonly peers: readonly PeerStatus[];
}
