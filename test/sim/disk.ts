/**
 * A simulated disk. Writes land in a page cache (`live`, what the node reads) at once and become
 * durable only at `sync()`. A crash keeps the durable state plus a random prefix of the writes
 * since the last sync (an ordered journal torn at some point), and drops the rest.
 *
 * A stopped node's disk can also lose what it had synced (`damage`): everything (a folder that
 * comes back empty), the end of its log (cut, or damaged and so dropped by recovery), or its hard
 * state. The host notices each on start (src/host/replica-trust.ts) and the node rejoins as a
 * learner under a new incarnation; the damaged disk says so in its hard state, as that host
 * writes it.
 */
import { MemoryStorage } from '../../raft/memory-storage.js';
import type { Entry, HardState, Snapshot } from '../../raft/types.js';

type Write =
  | { kind: 'append'; entries: readonly Entry[] }
  | { kind: 'snapshot'; snapshot: Snapshot }
  | { kind: 'compact'; index: number; data: Uint8Array }
  | { kind: 'hardState'; hardState: HardState };

export class SimDisk {
  live = new MemoryStorage();
  private durable = new MemoryStorage();
  private pending: Write[] = [];

  write(w: Write): void {
    apply(this.live, w);
    this.pending.push(w);
  }

  sync(): void {
    for (const w of this.pending) apply(this.durable, w);
    this.pending = [];
  }

  /** Loses the writes after a random point among those not yet synced. */
  crash(random: () => number): void {
    const kept = Math.floor(random() * (this.pending.length + 1));
    for (const w of this.pending.slice(0, kept)) apply(this.durable, w);
    this.pending = [];
    this.live = this.durable.clone();
  }

  durableHardState(): HardState {
    return this.durable.hardState;
  }

  /** The stopped node's disk loses synced data (see above); the replica rejoins as `rejoin`. Returns what was lost. */
  damage(kind: DiskDamage, random: () => number, rejoin: string | null): string {
    const d = this.durable;
    const snap = d.snapshot();
    const last = d.lastIndex();
    let what: string;
    let next: MemoryStorage;
    if (kind === 'wipe') {
      next = new MemoryStorage();
      next.hardState = { term: 0, vote: null, commit: 0, rejoin };
      what = `lost everything (its log ended at ${last})`;
    } else {
      next = new MemoryStorage();
      if (snap.index > 0) next.applySnapshot(snap);
      const keep = kind === 'cut' && last > snap.index ? snap.index + Math.floor(random() * (last - snap.index)) : last;
      if (keep > snap.index) next.append(d.entries(snap.index + 1, keep + 1, Number.MAX_SAFE_INTEGER));
      const lastTerm = next.term(next.lastIndex());
      const hs = d.hardState;
      // As replica-trust.ts rebuilds it: the term no lower than the log's, nothing known committed past the log start.
      next.hardState = kind === 'cut' ? { term: hs.term, vote: hs.vote, commit: snap.index, rejoin } : { term: lastTerm, vote: null, commit: snap.index, rejoin };
      what = kind === 'cut' ? `lost its log after ${keep} (it ended at ${last})` : 'lost its hard state';
    }
    this.durable = next;
    this.live = next.clone();
    this.pending = [];
    return what;
  }
}

export type DiskDamage = 'wipe' | 'cut' | 'hardState';

function apply(s: MemoryStorage, w: Write): void {
  switch (w.kind) {
    case 'append':
      s.append(w.entries);
      return;
    case 'snapshot':
      s.applySnapshot(w.snapshot);
      return;
    case 'compact':
      s.compact(w.index, w.data);
      return;
    case 'hardState':
      s.hardState = w.hardState;
      return;
  }
}
