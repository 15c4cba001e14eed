/**
 * Linearizable reads on a group's leader, as promises. A read waits until the state machine has
 * applied a state that held at some moment after the read arrived; then whatever it reads
 * (the applied state or a later one) reflects every write acknowledged before it arrived.
 * Two things prove such a moment, whichever comes first:
 *
 * - ReadIndex (Raft thesis §6.4): the core confirms with a quorum that this node still led after
 *   the read arrived, and names the commit index at arrival as the read point; the read waits
 *   until the state machine has applied up to it.
 * - A commit of this leader's own: if the state machine applies an entry of the term this node
 *   led at arrival, at an index beyond the log's end at arrival, this leader created that entry
 *   after the read arrived, so it became committed after the read arrived. The state of the log
 *   up to it held at that moment (anything committed earlier has a lower index). A long poll
 *   whose data arrives is answered with the commit that brings the data, not a heartbeat round
 *   later.
 *
 * Shared by the partitions (fetch, list offsets) and the metadata group (committed offsets).
 */
import type { Raft } from '../../raft/raft.js';
import type { ReadState } from '../../raft/types.js';

/** What a read asks of the core: its term and the log's end now, and a read point. */
type ReadCore = Pick<Raft, 'term' | 'lastIndex' | 'readIndex'>;

interface Waiter {
  /** The read point a quorum confirmed; null until then. */
  index: number | null;
  /** The term this node led when the read arrived, and the log's last index then. */
  readonly term: number;
  readonly lastIndex: number;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export class ReadWaiters {
  private readonly waiting = new Map<number, Waiter>();
  private seq = 0;

  /**
   * Asks `raft` for a read point (throws what `readIndex` throws, mapped by `mapError`); resolves
   * once `serve` sees the state machine reach it, or apply one of this term's entries created
   * after now.
   */
  wait(raft: ReadCore, wake: () => void, mapError: (err: unknown) => Error): Promise<void> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { index: null, term: raft.term, lastIndex: raft.lastIndex(), resolve, reject });
      try {
        raft.readIndex(id);
        wake();
      } catch (err) {
        this.waiting.delete(id);
        reject(mapError(err));
      }
    });
  }

  /** Read points confirmed by a quorum, and reads the core dropped (it stopped leading). */
  onReadStates(states: readonly ReadState[], dropped: readonly unknown[], droppedError: () => Error, applied: number, appliedTerm: number): void {
    for (const s of states) {
      const w = this.waiting.get(s.context as number);
      if (w !== undefined) w.index = s.index;
    }
    for (const c of dropped) {
      const w = this.waiting.get(c as number);
      if (w === undefined) continue;
      this.waiting.delete(c as number);
      w.reject(droppedError());
    }
    this.serve(applied, appliedTerm);
  }

  /** The state machine has applied up to `applied` (an entry of term `appliedTerm`): resolves the reads that state answers. */
  serve(applied: number, appliedTerm: number): void {
    for (const [id, w] of this.waiting) {
      const confirmed = w.index !== null && applied >= w.index;
      const committedSince = appliedTerm === w.term && applied > w.lastIndex;
      if (confirmed || committedSince) {
        this.waiting.delete(id);
        w.resolve();
      }
    }
  }

  failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
