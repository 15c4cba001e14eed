/**
 * The newest entries of a log, kept in memory so that reads at the tail — consumers that keep up,
 * followers a little behind, the state machine applying what just committed — need no disk read.
 *
 * The bytes live in one ring buffer per log, written over as new entries arrive, never in the
 * entries' own buffers. Those are slices of whatever socket read or request brought them in, and
 * holding them for the seconds a cache keeps an entry moved them into V8's old generation, where
 * they died: every 64 MB of such garbage forced a full mark-compact "for external memory
 * pressure". Every replica of a partition takes in the same bytes at the same rate, so all of them
 * ran that collection within the same few hundred milliseconds and the partition stalled for tens
 * of milliseconds (traced with --trace-gc --trace-incremental-marking: one such collection per
 * node every ~16 s at 4,000 records/s, in the benchmark's slowest 100 ms windows). A ring allocated
 * once churns nothing.
 *
 * Reads copy out of the ring, so no caller ever holds bytes a later append writes over.
 *
 * Layout: entries are written one after the other; one that does not fit before the end of the
 * ring starts again at 0 (the rest of that lap stays unused). `lap` counts those wraps: a slot
 * written in an earlier lap than the current one lies at or after `writeAt` and is written over
 * next, oldest first. The cache always holds a contiguous run of indexes ending at the newest
 * entry pushed (or nothing): eviction only ever takes the oldest slot.
 *
 * The ring is allocated whole when the first entry arrives, not grown step by step: each step would
 * throw away the ring before it (more of the churn the ring exists to avoid). Its pages are not
 * touched until entries are written into them, so a quiet log costs little resident memory.
 */
import { check } from './errors.js';
import type { Entry, EntryKind } from '../raft/types.js';

/** Evicted slots are cut off the slot list once there are this many (and they are most of it). */
const DEAD_SLOTS_COMPACT = 1024;

interface Slot<I> {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly info: I;
  /** The log end offset just after this entry. */
  readonly endOffset: number;
  readonly at: number;
  readonly lap: number;
  readonly length: number;
}

/** An entry read from the cache, with what was stored beside it. `entry.data` is the caller's own copy. */
export interface CachedRead<I> {
  readonly entry: Entry;
  readonly info: I;
  readonly endOffset: number;
}

export class TailCache<I> {
  private ring: Buffer = Buffer.alloc(0);
  private slots: Slot<I>[] = [];
  private head = 0;
  private writeAt = 0;
  private lap = 0;

  constructor(private readonly capacityBytes: number) {}

  /** Entries held. */
  get size(): number {
    return this.slots.length - this.head;
  }

  /** The index of the oldest entry held, or null when empty. */
  firstIndex(): number | null {
    return this.slots[this.head]?.index ?? null;
  }

  /**
   * Copies the entry in as the newest, evicting the oldest as needed. It must follow the newest
   * held (the caller drops a conflicting tail with dropFrom first). An entry larger than the
   * whole capacity empties the cache: what it holds must reach the newest entry.
   */
  push(entry: Entry, info: I, endOffset: number): void {
    const newest = this.slots[this.slots.length - 1];
    check(this.size === 0 || entry.index === newest!.index + 1, () => `tail cache: entry ${entry.index} does not follow ${newest!.index}`);
    const length = entry.data.byteLength;
    if (length > this.capacityBytes) {
      this.clear();
      return;
    }
    if (this.ring.length === 0) this.ring = Buffer.allocUnsafeSlow(this.capacityBytes);
    if (this.writeAt + length > this.ring.length) {
      // Wrap: what is left of the previous lap lies after writeAt and is the oldest.
      while (this.size > 0 && this.slots[this.head]!.lap < this.lap) this.evict();
      this.lap++;
      this.writeAt = 0;
    }
    while (this.size > 0 && this.slots[this.head]!.lap < this.lap && this.slots[this.head]!.at < this.writeAt + length) this.evict();
    this.ring.set(entry.data, this.writeAt);
    this.slots.push({ index: entry.index, term: entry.term, kind: entry.kind, info, endOffset, at: this.writeAt, lap: this.lap, length });
    this.writeAt += length;
  }

  /**
   * Visits held entries from `index` on, oldest first, until `visit` returns false. Each read is
   * a copy, made only when visited. From the index after the newest, or in an empty cache, there
   * is nothing to visit.
   */
  forEachFrom(index: number, visit: (r: CachedRead<I>) => boolean): void {
    if (this.size === 0) return;
    for (let s = this.slotOf(index); s < this.slots.length; s++) if (!visit(this.read(s))) return;
  }

  /**
   * The index of the first held entry that ends after `offset` (its `endOffset` is past it), or
   * null if the cache does not reach back to `offset` (`startOf` tells where an entry's records
   * begin). With every held entry ending at or before `offset`, the index after the newest.
   */
  indexForOffset(offset: number, startOf: (info: I, endOffset: number) => number): number | null {
    const first = this.slots[this.head];
    if (first === undefined || offset < startOf(first.info, first.endOffset)) return null;
    let lo = this.head;
    let hi = this.slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.slots[mid]!.endOffset <= offset) lo = mid + 1;
      else hi = mid;
    }
    return first.index + (lo - this.head);
  }

  /** Forgets every entry at or after `index` (the log dropped its tail). */
  dropFrom(index: number): void {
    let last: Slot<I> | null = null;
    while (this.size > 0 && this.slots[this.slots.length - 1]!.index >= index) last = this.slots.pop()!;
    if (this.size === 0) {
      this.clear();
    } else if (last !== null) {
      // The dropped slots were the newest: writing resumes where the first of them was.
      this.writeAt = last.at;
      this.lap = last.lap;
    }
  }

  /** Forgets every entry at or before `index` (the log dropped its head). */
  dropThrough(index: number): void {
    while (this.size > 0 && this.slots[this.head]!.index <= index) this.evict();
    if (this.size === 0) this.clear();
  }

  /** Forgets everything (the ring stays, for what comes next). */
  clear(): void {
    this.slots = [];
    this.head = 0;
    this.writeAt = 0;
    this.lap = 0;
  }

  // -----------------------------------------------------------------------------------------------

  private slotOf(index: number): number {
    const first = this.firstIndex();
    check(first !== null && index >= first && index <= first + this.size, () => `tail cache: index ${index} is neither held nor the next (${first ?? 'nothing'}..${first === null ? '' : first + this.size - 1})`);
    return this.head + (index - first);
  }

  private read(s: number): CachedRead<I> {
    const slot = this.slots[s]!;
    const data = Buffer.allocUnsafe(slot.length);
    this.ring.copy(data, 0, slot.at, slot.at + slot.length);
    return { entry: { index: slot.index, term: slot.term, kind: slot.kind, data }, info: slot.info, endOffset: slot.endOffset };
  }

  private evict(): void {
    this.head++;
    if (this.head >= DEAD_SLOTS_COMPACT && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }
}
