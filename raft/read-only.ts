/**
 * ReadIndex (Raft thesis §6.4; etcd's read_only.go): the leader's queue of linearizable reads.
 *
 * A read's index is the leader's commit index when it arrives; it is served once a quorum has
 * answered a heartbeat sent after it arrived, which proves this node still led at that moment.
 * Reads share rounds: each heartbeat carries the number of the latest round sent out, and each
 * follower's answer echoes it. While one round is out, new reads wait for the next, which goes
 * out when the current one is confirmed, so a burst of reads costs two rounds, not one each.
 *
 * Before a new leader has committed an entry of its own term, its commit index may lag what
 * earlier terms committed (it is learnt lazily), so reads arriving then are held until it has.
 *
 * Pure bookkeeping, owned by the leader's state (raft/leader.ts) and dropped with it: the leader
 * sends the heartbeats and says which rounds its peers confirmed.
 */
import { assert } from './errors.js';
import { quorumSize } from './quorum.js';
import type { NodeId, ReadState } from './types.js';

/** A read waiting for a quorum to confirm round `round`. */
interface PendingRead {
  readonly round: number;
  readonly index: number;
  readonly context: unknown;
}

export class ReadOnly {
  /** The latest round sent out (0: none yet); heartbeats carry it. */
  round = 0;
  /** Reads waiting on rounds, in arrival order (so in round order). */
  private pending: PendingRead[] = [];
  /** Reads that arrived before this leader committed an entry of its own term. */
  private awaitingCommit: unknown[] = [];

  /** Holds a read until the leader has committed an entry of its own term (`takeAwaitingCommit`). */
  awaitCommit(context: unknown): void {
    this.awaitingCommit.push(context);
  }

  /** The reads held by `awaitCommit`, now that the leader committed in its term. */
  takeAwaitingCommit(): unknown[] {
    const waiting = this.awaitingCommit;
    this.awaitingCommit = [];
    return waiting;
  }

  /**
   * Queues a read at index `committed`. Returns true when it starts a new round, which the
   * leader must send out as a heartbeat now; otherwise it rides on the round after the one out.
   */
  add(context: unknown, committed: number): boolean {
    if (this.pending.some((r) => r.round === this.round)) {
      this.pending.push({ round: this.round + 1, index: committed, context });
      return false;
    }
    this.round++;
    this.pending.push({ round: this.round, index: committed, context });
    return true;
  }

  /**
   * A peer confirmed a round: moves every read whose round a quorum of `voters` has confirmed to
   * `into`. `ackedBy(id)` is the latest round voter `id` confirmed (0 for one that does not
   * count); the leader itself confirms every round. Returns true when reads still wait and the
   * round they wait for must go out now.
   */
  release(voters: readonly NodeId[], self: NodeId, ackedBy: (id: NodeId) => number, into: ReadState[]): boolean {
    if (this.pending.length === 0) return false;
    const acks = voters.map((id) => (id === self ? this.round : ackedBy(id)));
    acks.sort((a, b) => b - a);
    const confirmed = acks[quorumSize(voters.length) - 1]!;
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.round <= confirmed) {
      const r = this.pending[n]!;
      into.push({ index: r.index, context: r.context });
      n++;
    }
    if (n === 0) return false;
    this.pending = this.pending.slice(n);
    if (this.pending.length === 0 || confirmed < this.round) return false;
    assert(this.pending[0]!.round === this.round + 1, () => `read round ${this.pending[0]!.round} waits, but round ${this.round} was the last sent`);
    this.round++;
    return true;
  }

  /** The leader steps down: every read it holds is dropped, those waiting on rounds first. */
  drop(): unknown[] {
    const dropped = [...this.pending.map((r) => r.context), ...this.awaitingCommit];
    this.pending = [];
    this.awaitingCommit = [];
    return dropped;
  }
}
