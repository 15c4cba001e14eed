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
 * Size: the ring is allocated when the first entry arrives, at RING_BYTES_MIN (or the entry's
 * size), and doubles whenever an entry would evict another, up to the cache's capacity: the
 * smaller of its own limit and its share of the node's budget (TailCacheBudget). A quiet log holds
 * a small ring, a busy one grows to its share within a few appends; each doubling throws the ring
 * before it away, but a log does that a handful of times, not once per entry (the churn the ring
 * exists to avoid). When the share shrinks (more logs on the node), the next push moves the newest
 * entries that fit into a ring of the new size; `release` frees the ring of a log gone quiet.
 * V8 counts a ring's whole size as external memory (which drives its collections), whether or
 * not its pages were touched, so a node's tail caches hold about the budget, not a ring per log.
 */
import { check } from './errors.js';
import type { Entry, EntryKind } from '../raft/types.js';

/** Evicted slots are cut off the slot list once there are this many (and they are most of it). */
const DEAD_SLOTS_COMPACT = 1024;
/** The first ring a log allocates (unless its first entry is larger): small, as most logs on a node with many are quiet. */
export const RING_BYTES_MIN = 16 * 1024;

/** What the budget asks of a tail cache whose ring outgrew a share that shrank. */
interface BudgetMember {
  fitToCapacity(): void;
}

/**
 * The bytes a node's tail caches may hold together: each log's ring may grow to an even share of
 * them (never below RING_BYTES_MIN), and when a log joins and the rings hold more than the total,
 * those larger than the new share are cut to it; so the rings of N logs hold at most max(total, N ×
 * RING_BYTES_MIN), however busy each log is.
 */
export class TailCacheBudget {
  private readonly members = new Set<BudgetMember>();
  /** Bytes of the rings allocated now. */
  allocatedBytes = 0;

  constructor(readonly totalBytes: number) {
    if (!Number.isSafeInteger(totalBytes) || totalBytes < RING_BYTES_MIN) throw new RangeError(`a tail cache budget holds at least ${RING_BYTES_MIN} bytes, not ${totalBytes}`);
  }

  /** Logs sharing the budget. */
  get logs(): number {
    return this.members.size;
  }

  /** The most one log's ring may hold now. */
  shareBytes(): number {
    return Math.max(RING_BYTES_MIN, Math.floor(this.totalBytes / Math.max(1, this.members.size)));
  }

  /** @internal A tail cache joins (TailCache's constructor): rings past the smaller share are cut to it if the total is exceeded. */
  join(c: BudgetMember): void {
    this.members.add(c);
    if (this.allocatedBytes > this.totalBytes) for (const m of this.members) m.fitToCapacity();
  }

  /** @internal A tail cache leaves (TailCache.close). */
  leave(c: BudgetMember): void {
    this.members.delete(c);
  }
}

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
  private closed = false;

  /**
   * `capacityBytes` bounds this cache's ring; with a `budget`, so does its share of the budget
   * (the cache counts as one of its logs until closed).
   */
  constructor(
    private readonly capacityBytes: number,
    private readonly budget: TailCacheBudget | null = null,
  ) {
    budget?.join(this);
  }

  /** Bytes of the ring allocated now (0 before the first entry, and after release). */
  get ringBytes(): number {
    return this.ring.length;
  }

  /** The most the ring may hold now: its own limit, or its share of the budget if smaller. */
  capacity(): number {
    return this.budget === null ? this.capacityBytes : Math.min(this.capacityBytes, this.budget.shareBytes());
  }

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
    const capacity = this.capacity();
    if (length > capacity) {
      this.clear();
      return;
    }
    if (this.ring.length > capacity) this.fitToCapacity();
    else if (this.ring.length < capacity && this.wouldEvict(length)) this.resize(Math.min(capacity, Math.max(RING_BYTES_MIN, 2 * this.ring.length, length)));
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

  /** Cuts the ring to the capacity if it is larger (keeping the newest entries that fit): its share of the budget shrank. */
  fitToCapacity(): void {
    const capacity = this.capacity();
    if (this.ring.length > capacity) this.resize(capacity);
  }

  /** Forgets everything and frees the ring (the log went quiet); the next entry allocates a small one. */
  release(): void {
    this.clear();
    this.setRing(Buffer.alloc(0));
  }

  /** Frees the ring and leaves the budget (the log closed). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.budget?.leave(this);
  }

  // -----------------------------------------------------------------------------------------------

  /** Whether an entry of `length` bytes pushed now would evict a held one (or not fit the ring at all). */
  private wouldEvict(length: number): boolean {
    if (this.size === 0) return length > this.ring.length;
    const oldest = this.slots[this.head]!;
    // Slots of the previous lap lie from `oldest.at` on, at or after writeAt: the gap before them is free.
    if (oldest.lap < this.lap) return this.writeAt + length > oldest.at;
    // Every held slot lies in [oldest.at, writeAt): free are the end of the ring, or else its start.
    if (this.writeAt + length <= this.ring.length) return false;
    return length > oldest.at;
  }

  /** Moves the newest held entries that fit into a new ring of `bytes`. */
  private resize(bytes: number): void {
    let keep = this.head + this.size;
    let total = 0;
    while (keep > this.head && total + this.slots[keep - 1]!.length <= bytes) total += this.slots[--keep]!.length;
    const ring = Buffer.allocUnsafeSlow(bytes);
    const slots: Slot<I>[] = [];
    let at = 0;
    for (let s = keep; s < this.slots.length; s++) {
      const slot = this.slots[s]!;
      this.ring.copy(ring, at, slot.at, slot.at + slot.length);
      slots.push({ ...slot, at, lap: 0 });
      at += slot.length;
    }
    this.setRing(ring);
    this.slots = slots;
    this.head = 0;
    this.writeAt = at;
    this.lap = 0;
  }

  private setRing(ring: Buffer): void {
    if (this.budget !== null) this.budget.allocatedBytes += ring.length - this.ring.length;
    this.ring = ring;
  }

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
