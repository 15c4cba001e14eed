/**
 * Proposals made on a group's leader, as promises that wait for their entry. The core gives a
 * proposal an index and the leader's term (`raft.propose`); once the entry at that index is
 * applied here, the proposal succeeded if the entry has its term, and certainly failed if it has
 * another: a later leader's entry took the index, and an index holds one entry once committed
 * (Raft §5.3, Log Matching). A leader that loses its leadership is told so by that entry.
 *
 * Several proposals may wait on one index (a produce retried while its batch is in flight waits
 * beside the first request), each with its own timeout, which forgets only that one.
 *
 * Shared by the partitions (produce, which also waits for a batch to be stored here for
 * acks=leader) and the metadata group (metadata changes).
 */
import { systemClock, type Clock, type Timer } from '../../storage/clock.js';

interface Waiter<T> {
  readonly term: number;
  readonly resolve: (value: T) => void;
  readonly reject: (e: Error) => void;
}

/** When a waiter gives up: after `ms`, with `error()`. */
export interface ProposalTimeout {
  readonly ms: number;
  readonly error: () => Error;
}

export class ProposalWaiters<T = void> {
  private readonly byIndex = new Map<number, Waiter<T>[]>();

  /** `clock` runs the timeouts (storage/clock.ts). */
  constructor(private readonly clock: Clock = systemClock) {}

  /** Proposals waiting. */
  get size(): number {
    let n = 0;
    for (const list of this.byIndex.values()) n += list.length;
    return n;
  }

  /**
   * Waits for the proposal of `term` at `index`: resolves with the value `settle` is given, rejects
   * with what its `replaced` makes, or with `timeout.error()` once `timeout.ms` have passed.
   */
  wait(index: number, term: number, timeout?: ProposalTimeout): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: Timer | null = null;
      const w: Waiter<T> = {
        term,
        resolve: (value) => {
          timer?.cancel();
          resolve(value);
        },
        reject: (e) => {
          timer?.cancel();
          reject(e);
        },
      };
      if (timeout !== undefined) {
        timer = this.clock.after(timeout.ms, () => {
          this.remove(index, w);
          reject(timeout.error());
        });
      }
      const list = this.byIndex.get(index);
      if (list === undefined) this.byIndex.set(index, [w]);
      else list.push(w);
    });
  }

  /**
   * The entry at `index` has term `term`: resolves the proposals waiting on it that were made in
   * that term (with `value`), and rejects the others with `replaced()`.
   */
  settle(index: number, term: number, replaced: () => Error, value: T): void {
    const list = this.byIndex.get(index);
    if (list === undefined) return;
    this.byIndex.delete(index);
    for (const w of list) this.settleOne(w, term, replaced, value);
  }

  /**
   * The log here holds every entry up to `index`, whose entry has term `term`: settles every
   * proposal at or below `index` as `settle` would, against that term.
   */
  settleUpTo(index: number, term: number, replaced: () => Error, value: T): void {
    for (const [i, list] of this.byIndex) {
      if (i > index) continue;
      this.byIndex.delete(i);
      for (const w of list) this.settleOne(w, term, replaced, value);
    }
  }

  /** Rejects every proposal waiting (the group is closing). */
  failAll(err: Error): void {
    const all = [...this.byIndex.values()].flat();
    this.byIndex.clear();
    for (const w of all) w.reject(err);
  }

  private settleOne(w: Waiter<T>, term: number, replaced: () => Error, value: T): void {
    if (w.term === term) w.resolve(value);
    else w.reject(replaced());
  }

  /** Forgets one waiter (its timeout passed); the others on the same index keep waiting. */
  private remove(index: number, w: Waiter<T>): void {
    const list = this.byIndex.get(index);
    if (list === undefined) return;
    const rest = list.filter((x) => x !== w);
    if (rest.length === 0) this.byIndex.delete(index);
    else this.byIndex.set(index, rest);
  }
}
