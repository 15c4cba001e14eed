/**
 * Linearizable reads on a group's leader (ReadIndex, Raft thesis §6.4), as promises: ask the core
 * for a read point, then resolve once the state machine has applied up to it. Shared by the
 * partitions (fetch, list offsets) and the metadata group (committed offsets).
 */
import type { Raft } from '../../raft/raft.js';
import type { ReadState } from '../../raft/types.js';

interface Waiter {
  index: number | null;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export class ReadWaiters {
  private readonly waiting = new Map<number, Waiter>();
  private seq = 0;

  /**
   * Asks `raft` for a read point (throws what `readIndex` throws, mapped by `mapError`); resolves
   * after `serve(applied)` sees the state machine reach it.
   */
  wait(raft: Raft, wake: () => void, mapError: (err: unknown) => Error): Promise<void> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { index: null, resolve, reject });
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
  onReadStates(states: readonly ReadState[], dropped: readonly unknown[], droppedError: () => Error, applied: number): void {
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
    this.serve(applied);
  }

  /** Resolves the reads whose read point the state machine has now applied. */
  serve(applied: number): void {
    for (const [id, w] of this.waiting) {
      if (w.index !== null && applied >= w.index) {
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
