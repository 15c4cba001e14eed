/**
 * Elections (§5.2, §5.4.1), with pre-vote (thesis §9.6), the voters' lease that check-quorum
 * gives a live leader, and the campaign that a leadership transfer starts (thesis §3.10).
 *
 * A `Candidacy` is what only a (pre-)candidate holds: what it asks for and the answers so far.
 * `Raft.becomePreCandidate` and `Raft.becomeCandidate` create it and every other role change
 * drops it. `voteResponse` is a voter's side: whether it grants what a request asks.
 */
import type { RaftLog } from './log.js';
import { VoteResult, voteResult } from './quorum.js';
import { Role, type NodeId, type VoteRequest, type VoteResponse } from './types.js';

/** 'pre': asks for pre-votes; 'election': asks for votes; 'transfer': asks for votes the leader handed over, past the voters' lease. */
export type CampaignKind = 'pre' | 'election' | 'transfer';

/**
 * How many ticks shorter than the shortest election timeout a voter's lease is (§9.6). Each
 * node's ticks run at their own phase, so when a candidate's timeout passes at N ticks since it
 * last heard from the leader, a voter that heard the same heartbeat may count only N - 1. With a
 * lease of the full timeout, a candidate whose timeout came out at the minimum was ignored by the
 * other follower, and a failover waited for that follower's own, later timeout (seen in the
 * failover benchmark: 650-800 ms instead of about 400). A healthy leader's followers hear from it
 * every heartbeat interval, far inside the shortened lease, so it still keeps a partitioned node
 * from disrupting them.
 */
export const LEASE_TICK_SLACK = 1;

export class Candidacy {
  readonly pre: boolean;
  /** The answer each voter gave; the candidate's own vote counts from the start. */
  private readonly votes = new Map<NodeId, boolean>();

  /**
   * A campaign of `self`, whose term is `term` (a pre-candidate asks about `term + 1` without
   * raising its own; a candidate has raised it already), among `voters`, over `log`.
   */
  constructor(
    readonly kind: CampaignKind,
    private readonly self: NodeId,
    readonly term: number,
    private readonly voters: readonly NodeId[],
    private readonly log: RaftLog,
  ) {
    this.pre = kind === 'pre';
    this.votes.set(self, true);
  }

  /** The answer this candidacy counts: one to a pre-vote request, or one to a vote request. */
  get responseType(): VoteResponse['type'] {
    return this.pre ? 'preVoteResp' : 'voteResp';
  }

  /** Whether `peer` has answered. */
  answered(peer: NodeId): boolean {
    return this.votes.has(peer);
  }

  /** Counts `peer`'s answer; a majority either way decides. */
  record(peer: NodeId, granted: boolean): VoteResult {
    this.votes.set(peer, granted);
    return this.result();
  }

  result(): VoteResult {
    return voteResult(this.voters, this.votes);
  }

  /** The request to `to`. */
  request(to: NodeId): VoteRequest {
    return {
      type: this.pre ? 'preVote' : 'vote',
      from: this.self,
      to,
      // A pre-vote carries the term the candidate would stand in (§9.6).
      term: this.pre ? this.term + 1 : this.term,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      transfer: this.kind === 'transfer',
    };
  }
}

/** What a voter decides by: its term, its vote in that term, the leader it knows and its role. */
export interface VoterState {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly lead: NodeId | null;
  readonly role: Role;
}

/**
 * A voter's answer to `m`, a request of its own term or (a pre-vote) the next: it grants a vote
 * it has not given to another in this term, when it knows no leader, and a pre-vote for a later
 * term; either only to a candidate whose log is at least as up to date as `log` (§5.4.1, unless
 * `checkLog` is off). A grant carries the term asked about, so a pre-candidate can tell it from a
 * stale answer; a refusal carries the voter's term.
 */
export function voteResponse(m: VoteRequest, v: VoterState, log: RaftLog, checkLog: boolean): VoteResponse {
  const type = m.type === 'preVote' ? 'preVoteResp' : 'voteResp';
  const canVote = v.vote === m.from || (v.vote === null && v.lead === null) || (m.type === 'preVote' && m.term > v.term);
  const upToDate = !checkLog || log.isUpToDate(m.lastIndex, m.lastTerm);
  if (canVote && upToDate && !outranksRival(m, v, log)) return { type, from: v.id, to: m.from, term: m.term, reject: false };
  return { type, from: v.id, to: m.from, term: v.term, reject: true };
}

/**
 * Two pre-candidates of the same election with equally up-to-date logs would grant each other's
 * pre-votes, both become candidates, vote for themselves and split the vote: nobody leads until
 * another randomized timeout passes (seen in the failover benchmark as a 1 s failover). Between
 * such twins, only the one with the lower id gets the other's pre-vote. This changes only who
 * campaigns (pre-votes decide nothing about safety): the other still grants the real vote, and a
 * more up-to-date log always wins the pre-vote as before.
 */
function outranksRival(m: VoteRequest, v: VoterState, log: RaftLog): boolean {
  return (
    m.type === 'preVote' &&
    v.role === Role.PreCandidate &&
    m.term === v.term + 1 &&
    m.lastTerm === log.lastTerm() &&
    m.lastIndex === log.lastIndex() &&
    m.from > v.id
  );
}
