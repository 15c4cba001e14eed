/**
 * A simulated LevelDB for one simulated node: the StateBackend (storage/state-store.ts) that the
 * real StateStore, and the metadata state machine over it, run on in the host simulation.
 *
 * It keeps LevelDB's promises and no more:
 * - a batch is atomic: whatever happens, the store holds all of it or none of it;
 * - a batch lands (reaches the operating system) a moment after `write` is called, batches in the
 *   order they were written, and `write` settles then; a process that dies first loses it;
 * - a landed batch survives the process (killed or restarted: the page cache keeps it); a power
 *   loss keeps what was synced plus a random prefix of the batches landed since (LevelDB appends
 *   batches to its log in order, one checksummed record each, and recovery stops at a torn one);
 * - a synced write has made itself and every batch before it durable once it settles;
 * - opening makes durable what it reads: LevelDB's recovery writes the log it replays into a
 *   table file and syncs it, and the manifest, before the database opens.
 *
 * Faults on demand: the node's disk comes back empty (`wipe`), or one store's folder is removed, as
 * an operator told to rebuild the store does (`remove`). The next batch fails with EIO
 * (`failNext('write')`): it does not land, and the batches after it land as usual, as they do in
 * LevelDB after a failed append to its log. Or the next synced batch fails its sync
 * (`failNext('sync')`): it landed but is not durable, and that handle fails every write after it,
 * as LevelDB does once a sync failed (its background error) until the database is reopened.
 */
import type { BackendOp, StateBackend } from '../../storage/state-store.js';

type Batch = readonly BackendOp[];

/** One store's folder. */
class Store {
  /** What a power loss keeps for certain. */
  durable = new Map<string, Uint8Array>();
  /** Batches landed since the last sync, in order. */
  landed: Batch[] = [];
  /** What reads see. */
  live = new Map<string, Uint8Array>();
  /** Removed (wiped or deleted): writes of handles still open on it land nowhere. */
  gone = false;
}

function applyBatch(to: Map<string, Uint8Array>, b: Batch): void {
  for (const op of b) {
    if (op.type === 'put') to.set(op.key, op.value);
    else to.delete(op.key);
  }
}

export interface SimStateDiskOptions {
  /** Runs `fn` after the latency of a write (`sync`: of a synced one); dropped if the node dies first. */
  readonly schedule: (sync: boolean, fn: () => void) => void;
  readonly random: () => number;
  /** Called when a batch meets the fault failNext armed. */
  readonly onFault?: () => void;
}

interface Queued {
  readonly ops: Batch;
  readonly sync: boolean;
  /** The fault this batch meets, if any. */
  readonly fault: StateFault | null;
  readonly done: (err?: Error) => void;
}

export type StateFault = 'write' | 'sync';

function eio(what: string): Error {
  return Object.assign(new Error(`EIO: i/o error, ${what} (injected by the simulator)`), { code: 'EIO' });
}

/** The state stores of one simulated node, by folder; they outlive the node's incarnations. */
export class SimStateDisk {
  private readonly stores = new Map<string, Store>();
  /** Handles opened before the last crash write nothing more. */
  private incarnation = 0;
  private failing: StateFault | null = null;
  readonly stats = { batches: 0, syncs: 0, lostBatches: 0, failures: 0 };

  constructor(private readonly o: SimStateDiskOptions) {}

  /** Opens the store in `dir` (an empty one if there is none), making what it holds durable. */
  open(dir: string): StateBackend {
    let s = this.stores.get(dir);
    if (s === undefined) {
      s = new Store();
      this.stores.set(dir, s);
    }
    for (const b of s.landed) applyBatch(s.durable, b);
    s.landed = [];
    return this.handle(s, this.incarnation);
  }

  /** The next batch (`write`) or the next synced batch (`sync`) of any store here fails; null: none. */
  failNext(kind: StateFault | null): void {
    this.failing = kind;
  }

  /** The process died, the machine did not: landed batches stay, batches not landed are gone. */
  kill(): void {
    this.incarnation++;
  }

  /** Power loss: each store keeps its synced state and a random prefix of the batches landed since. */
  crash(): void {
    this.incarnation++;
    for (const s of this.stores.values()) {
      const keep = Math.floor(this.o.random() * (s.landed.length + 1));
      this.stats.lostBatches += s.landed.length - keep;
      for (const b of s.landed.slice(0, keep)) applyBatch(s.durable, b);
      s.landed = [];
      s.live = new Map(s.durable);
    }
  }

  /** Every store under `root` is gone (the node's disk came back empty). */
  wipe(root: string): void {
    for (const dir of [...this.stores.keys()]) if (dir === root || dir.startsWith(`${root}/`)) this.remove(dir);
  }

  /** The store in `dir` is gone, durably; call while its node is down. */
  remove(dir: string): boolean {
    const s = this.stores.get(dir);
    if (s === undefined) return false;
    s.gone = true;
    this.stores.delete(dir);
    return true;
  }

  has(dir: string): boolean {
    return this.stores.has(dir);
  }

  private handle(s: Store, incarnation: number): StateBackend {
    const queue: Queued[] = [];
    /** A sync of this handle failed: it writes nothing more. */
    let broken = false;
    const land = (upTo: Queued): void => {
      if (incarnation !== this.incarnation || s.gone) return;
      // Batches land in the order written: a later one's latency never lets it pass an earlier one.
      for (;;) {
        const w = queue.shift();
        if (w === undefined) return;
        if (broken) {
          w.done(eio('write after a failed sync'));
        } else if (w.fault === 'write') {
          w.done(eio('write'));
        } else if (w.fault === 'sync') {
          applyBatch(s.live, w.ops);
          s.landed.push(w.ops);
          broken = true;
          w.done(eio('fdatasync'));
        } else {
          applyBatch(s.live, w.ops);
          s.landed.push(w.ops);
          if (w.sync) {
            for (const b of s.landed) applyBatch(s.durable, b);
            s.landed = [];
          }
          w.done();
        }
        if (w === upTo) return;
      }
    };
    return {
      entries: async function* () {
        for (const e of [...s.live]) yield e;
      },
      write: (ops, sync) =>
        new Promise<void>((resolve, reject) => {
          this.stats.batches++;
          if (sync) this.stats.syncs++;
          let fault: StateFault | null = null;
          if (this.failing === 'write' || (this.failing === 'sync' && sync)) {
            fault = this.failing;
            this.failing = null;
            this.stats.failures++;
            this.o.onFault?.();
          }
          const w: Queued = { ops: [...ops], sync, fault, done: (err) => (err === undefined ? resolve() : reject(err)) };
          queue.push(w);
          this.o.schedule(sync, () => land(w));
        }),
      close: () => {
        queue.length = 0;
        return Promise.resolve();
      },
    };
  }
}
