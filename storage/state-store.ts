/**
 * The metadata group's applied state: topic configuration, placement, consumer groups, committed
 * consumer offsets, producer ids — whatever the metadata state machine stores, under string keys
 * with msgpack values, kept in an ordered key-value store with atomic batches (StateBackend): on a
 * node LevelDB (LevelStateBackend), in the simulator a simulated one (test/sim/sim-state-store.ts).
 *
 * Every `apply` writes its changes and the Raft index they came from in one batch, so a restart
 * resumes exactly after the last applied entry. The whole state is also held in memory (it is
 * small: metadata, not data), so reads are synchronous.
 *
 * Batches are not synced one by one: the Raft log is durable, and entries applied but not yet
 * synced here are applied again after a crash. `flush()` syncs, and must run before the Raft log
 * is compacted past the applied index (see `exportSnapshot`).
 *
 * A failed write stops the store (fail-stop, as LevelDB itself does after a failed sync). LevelDB
 * goes on taking batches after a failed append, and a later batch can survive a restart that the
 * failed one did not; a later applied index (a flush's, the next entry's) would then claim the lost
 * batch's changes as applied, and this replica would hold a state its peers do not, forever. So
 * batches go to the backend one at a time, in order, and after a failure every write, flush and
 * export is refused (StateStoreFailedError) until the node restarts and resumes from the last
 * batch that landed, replaying the rest from the metadata log.
 *
 * Keys: `s:<key>` for state, and `m:applied` for the applied index (u64 big-endian).
 * A snapshot is msgpack of { applied, entries: [[key, value bytes], ...] }.
 */
import { Level } from 'level';
import { Packr } from 'msgpackr';

const APPLIED_KEY = 'm:applied';
const STATE_PREFIX = 's:';
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export type StateOp = { readonly type: 'put'; readonly key: string; readonly value: unknown } | { readonly type: 'del'; readonly key: string };

/** One change of a batch, as the backend stores it. */
export type BackendOp = { readonly type: 'put'; readonly key: string; readonly value: Uint8Array } | { readonly type: 'del'; readonly key: string };

/**
 * Where a StateStore keeps its keys: LevelDB's contract, which the store relies on and no more.
 * A batch is written whole or not at all. An unsynced batch survives the process (it is in the
 * operating system's hands) but a power loss may take it, and the batches after it, with it; a
 * synced batch is durable with every batch before it once `write` resolves.
 */
export interface StateBackend {
  /** Every key with its value, as last written. */
  entries(): AsyncIterable<[string, Uint8Array]>;
  write(ops: readonly BackendOp[], sync: boolean): Promise<void>;
  close(): Promise<void>;
}

/**
 * Files LevelDB keeps open for its tables, at most (its own default is 1,000): the metadata is
 * small, and every descriptor it holds is one a partition replica cannot have (src/node/limits.ts).
 */
export const STATE_STORE_OPEN_FILES_MAX = 16;

/** The production backend: LevelDB in `dir`. */
export class LevelStateBackend implements StateBackend {
  private constructor(private readonly db: Level<string, Uint8Array>) {}

  static async open(dir: string): Promise<LevelStateBackend> {
    const db = new Level<string, Uint8Array>(dir, { valueEncoding: 'view', maxOpenFiles: STATE_STORE_OPEN_FILES_MAX });
    await db.open();
    return new LevelStateBackend(db);
  }

  entries(): AsyncIterable<[string, Uint8Array]> {
    return this.db.iterator();
  }

  async write(ops: readonly BackendOp[], sync: boolean): Promise<void> {
    const batch = this.db.batch();
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value);
      else batch.del(op.key);
    }
    await (sync ? batch.write({ sync: true }) : batch.write());
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}

/** The store failed a write earlier and refuses writes until the node restarts. */
export class StateStoreFailedError extends Error {
  override readonly name = 'StateStoreFailedError';
}

export class StateStore {
  private readonly mem = new Map<string, unknown>();
  private applied = 0;
  /** The last batch given to the backend, settled (writes go one at a time, in order). */
  private tail: Promise<void> = Promise.resolve();
  /** Batches given to write and not settled yet. */
  private writing = 0;
  /** The first write the backend failed; every later one is refused. */
  private failure: Error | null = null;

  /** `dir` names where the state is kept, for messages. */
  private constructor(private readonly backend: StateBackend, readonly dir: string) {}

  /** The store of a node: LevelDB in `dir`. */
  static async open(dir: string): Promise<StateStore> {
    return StateStore.load(await LevelStateBackend.open(dir), dir);
  }

  /** Reads the whole state from `backend` into memory. */
  static async load(backend: StateBackend, dir: string): Promise<StateStore> {
    const store = new StateStore(backend, dir);
    for await (const [k, v] of backend.entries()) {
      if (k === APPLIED_KEY) store.applied = readU64(v);
      else if (k.startsWith(STATE_PREFIX)) store.mem.set(k.slice(STATE_PREFIX.length), packr.unpack(v));
    }
    return store;
  }

  /** The Raft index of the last entry applied: a restart resumes after it. */
  appliedIndex(): number {
    return this.applied;
  }

  get<T>(key: string): T | undefined {
    return this.mem.get(key) as T | undefined;
  }

  /** Whether any key starts with `prefix`. */
  hasKeyWith(prefix: string): boolean {
    for (const k of this.mem.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }

  /** Keys starting with `prefix`, in key order, with their values. */
  entries<T>(prefix: string): [string, T][] {
    const out: [string, T][] = [];
    for (const [k, v] of this.mem) if (k.startsWith(prefix)) out.push([k, v as T]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Applies the changes of Raft entry `index` (memory at once, the backend in one batch with the index). */
  async apply(index: number, ops: readonly StateOp[]): Promise<void> {
    this.assertWritable();
    if (index <= this.applied) throw new Error(`entry ${index} is already applied (applied index ${this.applied})`);
    const batch: BackendOp[] = [];
    for (const op of ops) {
      if (op.type === 'put') {
        this.mem.set(op.key, op.value);
        batch.push({ type: 'put', key: STATE_PREFIX + op.key, value: packr.pack(op.value) });
      } else {
        this.mem.delete(op.key);
        batch.push({ type: 'del', key: STATE_PREFIX + op.key });
      }
    }
    batch.push({ type: 'put', key: APPLIED_KEY, value: writeU64(index) });
    this.applied = index;
    await this.write(batch, false);
  }

  /** Makes everything applied so far durable. */
  async flush(): Promise<void> {
    await this.write([{ type: 'put', key: APPLIED_KEY, value: writeU64(this.applied) }], true);
  }

  /**
   * Gives one batch to the backend after the ones before it have settled, unless one of them
   * failed (see the file comment): then, and after a failure of this one, it is refused.
   */
  private write(ops: readonly BackendOp[], sync: boolean): Promise<void> {
    this.assertWritable();
    const go = (): Promise<void> => {
      this.assertWritable();
      return this.backend.write(ops, sync).catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
        throw err;
      });
    };
    // With nothing in flight the batch goes now, so a backend that lands it at once has.
    const done = this.writing === 0 ? go() : this.tail.then(go);
    this.writing++;
    const settled = (): void => {
      this.writing--;
    };
    this.tail = done.then(settled, settled);
    return done;
  }

  private assertWritable(): void {
    if (this.failure === null) return;
    throw new StateStoreFailedError(
      `the metadata state store in ${this.dir} failed a write (${this.failure.message}) and takes no more, so that no later batch claims the lost one's changes as applied. Check the disk, then restart the node: the store resumes from its last batch that landed and replays the rest from the metadata log`,
    );
  }

  /** The whole state at the applied index, for a follower that must catch up. Flushed first. */
  async exportSnapshot(): Promise<{ index: number; data: Uint8Array }> {
    await this.flush();
    const entries: [string, Uint8Array][] = [];
    for (const [k, v] of this.mem) entries.push([k, packr.pack(v)]);
    return { index: this.applied, data: packr.pack({ applied: this.applied, entries }) };
  }

  /**
   * Replaces the whole state with a snapshot's, in one batch with its applied index (synced): a
   * crash leaves the old state or the new, never a mix or an empty store. The keys to delete are
   * the ones in memory, which holds the whole state.
   */
  async importSnapshot(data: Uint8Array): Promise<void> {
    const snap = decodeSnapshot(data);
    const next = new Map<string, unknown>();
    for (const [k, v] of snap.entries) next.set(k, packr.unpack(v));
    const batch: BackendOp[] = [];
    for (const k of this.mem.keys()) if (!next.has(k)) batch.push({ type: 'del', key: STATE_PREFIX + k });
    for (const [k, v] of snap.entries) batch.push({ type: 'put', key: STATE_PREFIX + k, value: v });
    batch.push({ type: 'put', key: APPLIED_KEY, value: writeU64(snap.applied) });
    await this.write(batch, true);
    this.mem.clear();
    for (const [k, v] of next) this.mem.set(k, v);
    this.applied = snap.applied;
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}

function decodeSnapshot(data: Uint8Array): { applied: number; entries: [string, Uint8Array][] } {
  let v: unknown;
  try {
    v = packr.unpack(data);
  } catch (err) {
    throw new SnapshotFormatError(`the state snapshot is not valid msgpack: ${(err as Error).message}`);
  }
  const o = v as { applied?: unknown; entries?: unknown };
  if (typeof o !== 'object' || o === null || typeof o.applied !== 'number' || !Array.isArray(o.entries)) {
    throw new SnapshotFormatError('the state snapshot lacks its applied index or entries');
  }
  for (const e of o.entries) {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || !(e[1] instanceof Uint8Array)) throw new SnapshotFormatError('a state snapshot entry is not [key, bytes]');
  }
  return { applied: o.applied, entries: o.entries as [string, Uint8Array][] };
}

function writeU64(n: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(n / 2 ** 32), 0);
  b.writeUInt32BE(n >>> 0, 4);
  return b;
}

function readU64(b: Uint8Array): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return buf.readUInt32BE(0) * 2 ** 32 + buf.readUInt32BE(4);
}
