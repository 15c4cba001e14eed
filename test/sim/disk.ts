/**
 * A simulated disk. Writes land in a page cache (`live`, what the node reads) at once and become
 * durable only at `sync()`. A crash keeps the durable state plus a random prefix of the writes
 * since the last sync (an ordered journal torn at some point), and drops the rest.
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
}

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
