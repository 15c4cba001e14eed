/**
 * The follower's side of replication (§5.3): what it does with the leader's appends, heartbeats
 * and snapshots, and what it answers. `Raft` decides that the message comes from its leader and
 * sends the answer (with its incarnation while it is rejoining, raft/rejoin.ts).
 */
import { assert } from './errors.js';
import type { RaftLog } from './log.js';
import type { AppendRequest, AppendResponse, Heartbeat, HeartbeatResponse, NodeId, SnapshotRequest } from './types.js';

/** Who answers: the follower's id and term. */
export interface Replier {
  readonly id: NodeId;
  readonly term: number;
}

/** A successful append response: `index` is the last index known to match the leader's. */
export function appendAck(self: Replier, to: NodeId, index: number): AppendResponse {
  return { type: 'appendResp', from: self.id, to, term: self.term, index, reject: false, conflictTerm: 0, conflictIndex: 0 };
}

/** §5.3: the log-matching check, and a conflict hint that skips a whole term per round trip. */
export function answerAppend(m: AppendRequest, self: Replier, log: RaftLog): AppendResponse {
  if (m.prevIndex < log.committed) return appendAck(self, m.from, log.committed);
  if (m.logStartMembership !== undefined) log.takeLogStartMembership(m.prevIndex, m.prevTerm, m.logStartMembership);
  const lastNew = log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
  if (lastNew !== null) return appendAck(self, m.from, lastNew);
  const last = log.lastIndex();
  let conflictTerm = 0;
  let conflictIndex = last + 1;
  if (m.prevIndex <= last) {
    const t = log.term(m.prevIndex);
    assert(t !== null, () => `${self.id}: no term at ${m.prevIndex}, which is after commit ${log.committed}`);
    conflictTerm = t;
    // Entries up to the commit index match any leader's, so the hint never points below them.
    conflictIndex = Math.max(log.firstIndexOfTerm(t, m.prevIndex), log.committed + 1);
  }
  return { type: 'appendResp', from: self.id, to: m.from, term: self.term, index: m.prevIndex, reject: true, conflictTerm, conflictIndex };
}

/**
 * Commits what the heartbeat says, as far as the log reaches. The leader names a commit index no
 * higher than what this follower acknowledged to it, so one beyond the log's end means that the
 * follower lost acknowledged entries: the caller checks that first.
 */
export function answerHeartbeat(m: Heartbeat, self: Replier, log: RaftLog): HeartbeatResponse {
  log.commitTo(Math.min(m.commit, log.lastIndex()));
  return { type: 'heartbeatResp', from: self.id, to: m.from, term: self.term, readRound: m.readRound };
}

/** Installs the leader's snapshot, unless the log already holds its last entry (then commits up to it). */
export function answerSnapshot(m: SnapshotRequest, self: Replier, log: RaftLog): AppendResponse {
  const s = m.snapshot;
  if (s.index <= log.committed) return appendAck(self, m.from, log.committed);
  if (log.matchTerm(s.index, s.term)) {
    // We hold the snapshot's last entry: everything up to it is committed; keep the log.
    log.commitTo(s.index);
  } else {
    log.restore(s);
  }
  return appendAck(self, m.from, s.index);
}
