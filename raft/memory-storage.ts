/**
 * An in-memory `LogStorage`, for tests and the deterministic simulator. It holds what a real disk
 * would hold after the host has persisted a `Ready`: entries, hard state and the log-start snapshot.
 */
import { LogCompactedError, assert } from './errors.js';
import { configurationOf, type ConfigurationAt } from './membership.js';
import { limitBytes, type LogStorage } from './storage.js';
import type { Entry, HardState, Snapshot } from './types.js';

const EMPTY = new Uint8Array(0);

export class MemoryStorage implements LogStorage {
  /** The snapshot at the log start; index 0 / term 0 for a log that never lost a prefix. */
  private snap: Snapshot = { index: 0, term: 0, data: EMPTY };
  private ents: Entry[] = [];
  hardState: HardState = { term: 0, vote: null, commit: 0 };

  firstIndex(): number {
    return this.snap.index + 1;
  }

  lastIndex(): number {
    return this.snap.index + this.ents.length;
  }

  term(i: number): number {
    if (i < this.snap.index) throw new LogCompactedError(i, this.firstIndex());
    if (i === this.snap.index) return this.snap.term;
    const e = this.ents[i - this.snap.index - 1];
    assert(e !== undefined, () => `term(${i}) is beyond the last index ${this.lastIndex()}`);
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo < this.firstIndex()) throw new LogCompactedError(lo, this.firstIndex());
    assert(lo < hi && hi <= this.lastIndex() + 1, () => `entries(${lo}, ${hi}) outside ${this.firstIndex()}..${this.lastIndex()}`);
    const base = this.snap.index + 1;
    return limitBytes(this.ents.slice(lo - base, hi - base), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Everything is in memory. */
  hotFirstIndex(): number {
    return this.firstIndex();
  }

  coldBytes(): number {
    return 0;
  }

  readAhead(): boolean {
    return true;
  }

  configurations(): ConfigurationAt[] {
    const out: ConfigurationAt[] = [];
    if (this.snap.membership !== undefined) out.push({ index: this.snap.index, membership: this.snap.membership });
    for (const e of this.ents) {
      const m = configurationOf(e);
      if (m !== null) out.push({ index: e.index, membership: m });
    }
    return out;
  }

  /** Drops every entry at or after `entries[0].index`, then appends `entries`. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assert(first > this.snap.index, () => `append at ${first} is inside the snapshot ending at ${this.snap.index}`);
    assert(first <= this.lastIndex() + 1, () => `append at ${first} leaves a gap after ${this.lastIndex()}`);
    this.ents.length = first - this.snap.index - 1;
    for (const e of entries) this.ents.push(e);
  }

  /** Replaces the whole log with a snapshot received from a leader. */
  applySnapshot(snap: Snapshot): void {
    this.snap = snap;
    this.ents = [];
  }

  /** Drops entries up to and including `index`, keeping `data` as the state at that point. */
  compact(index: number, data: Uint8Array): void {
    assert(index >= this.snap.index && index <= this.lastIndex(), () => `compact(${index}) outside ${this.snap.index}..${this.lastIndex()}`);
    const term = this.term(index);
    // The configuration at the new start stays known when its entry goes.
    const configs = this.configurations().filter((c) => c.index <= index);
    const membership = configs[configs.length - 1]?.membership;
    this.ents = this.ents.slice(index - this.snap.index);
    this.snap = membership === undefined ? { index, term, data } : { index, term, data, membership };
  }

  /** A copy that later writes to either side do not affect (entries themselves are immutable). */
  clone(): MemoryStorage {
    const c = new MemoryStorage();
    c.snap = this.snap;
    c.ents = this.ents.slice();
    c.hardState = this.hardState;
    return c;
  }
}
