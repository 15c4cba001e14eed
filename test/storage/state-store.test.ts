import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotFormatError, StateStore, type BackendOp, type StateBackend } from '../../storage/state-store.js';
import { tempDir } from './log-fixtures.js';

const dirs: string[] = [];
function dir(): string {
  const d = tempDir('raftlog-state-');
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('LevelDB state store', () => {
  it('applies changes with their Raft index in one batch and resumes exactly after a restart', async () => {
    const d = dir();
    const s = await StateStore.open(d);
    expect(s.appliedIndex()).toBe(0);
    await s.apply(3, [
      { type: 'put', key: 'topic/orders', value: { partitions: 6, replicationFactor: 3 } },
      { type: 'put', key: 'offset/g1/orders/0', value: { offset: 42, metadata: 'm' } },
    ]);
    await s.apply(4, [{ type: 'put', key: 'offset/g1/orders/0', value: { offset: 50, metadata: '' } }]);
    await s.apply(7, [{ type: 'del', key: 'topic/orders' }]);
    await s.close();
    const again = await StateStore.open(d);
    expect(again.appliedIndex()).toBe(7);
    expect(again.get('topic/orders')).toBeUndefined();
    expect(again.get('offset/g1/orders/0')).toEqual({ offset: 50, metadata: '' });
    await again.close();
  });

  it('refuses to apply an index twice', async () => {
    const s = await StateStore.open(dir());
    await s.apply(5, []);
    await expect(s.apply(5, [])).rejects.toThrow(/already applied/);
    await s.close();
  });

  it('lists keys by prefix in order', async () => {
    const s = await StateStore.open(dir());
    await s.apply(1, ['b', 'a', 'c'].map((k) => ({ type: 'put' as const, key: `group/${k}`, value: k })));
    await s.apply(2, [{ type: 'put', key: 'topic/x', value: 1 }]);
    expect(s.entries<string>('group/').map(([k]) => k)).toEqual(['group/a', 'group/b', 'group/c']);
    await s.close();
  });

  it('exports a snapshot that another store imports, replacing what it had', async () => {
    const a = await StateStore.open(dir());
    await a.apply(10, [
      { type: 'put', key: 'topic/t', value: { partitions: 3 } },
      { type: 'put', key: 'producer/next', value: 17 },
    ]);
    const snap = await a.exportSnapshot();
    expect(snap.index).toBe(10);
    const bDir = dir();
    const b = await StateStore.open(bDir);
    await b.apply(2, [{ type: 'put', key: 'stale', value: true }]);
    await b.importSnapshot(snap.data);
    expect(b.appliedIndex()).toBe(10);
    expect(b.get('stale')).toBeUndefined();
    expect(b.get('topic/t')).toEqual({ partitions: 3 });
    await b.close();
    const b2 = await StateStore.open(bDir);
    expect(b2.get('producer/next')).toBe(17);
    expect(b2.appliedIndex()).toBe(10);
    await b2.close();
    await a.close();
  });

  it('rejects a malformed snapshot with a typed error and keeps its state', async () => {
    const s = await StateStore.open(dir());
    await s.apply(1, [{ type: 'put', key: 'k', value: 'v' }]);
    await expect(s.importSnapshot(new Uint8Array([0xc1]))).rejects.toThrow(SnapshotFormatError);
    await expect(s.importSnapshot(new Uint8Array([0x80]))).rejects.toThrow(SnapshotFormatError);
    expect(s.get('k')).toBe('v');
    expect(s.appliedIndex()).toBe(1);
    await s.close();
  });
});

/**
 * A backend that keeps every batch it was asked to write, settles writes in order a moment later,
 * as LevelDB does, and fails the next one on demand (EIO). After a failed batch it goes on taking
 * batches, as LevelDB's log does after a failed append: a later batch may well survive a restart
 * that the failed one did not.
 */
class FlakyBackend implements StateBackend {
  readonly landed: { ops: readonly BackendOp[]; sync: boolean }[] = [];
  private failNext = false;

  failNextWrite(): void {
    this.failNext = true;
  }

  /** The applied indexes written, in order (m:applied as u64 big-endian). */
  appliedWrites(): number[] {
    return this.landed.flatMap((b) => b.ops.flatMap((op) => (op.type === 'put' && op.key === 'm:applied' ? [Buffer.from(op.value).readUInt32BE(4)] : [])));
  }

  async *entries(): AsyncIterable<[string, Uint8Array]> {}

  write(ops: readonly BackendOp[], sync: boolean): Promise<void> {
    const fail = this.failNext;
    this.failNext = false;
    return new Promise((resolve, reject) =>
      setImmediate(() => {
        if (fail) return reject(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
        this.landed.push({ ops, sync });
        resolve();
      }),
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('a state store whose backend failed a write', () => {
  it('refuses every later write, so no applied index past the lost batch is ever written', async () => {
    const backend = new FlakyBackend();
    const s = await StateStore.load(backend, '/data/meta/state');
    await s.apply(1, [{ type: 'put', key: 'offset/g/t/0', value: 5 }]);
    backend.failNextWrite();
    await expect(s.apply(2, [{ type: 'put', key: 'offset/g/t/0', value: 9 }])).rejects.toThrow(/EIO/);
    await expect(s.flush()).rejects.toThrow(/restart the node/);
    await expect(s.exportSnapshot()).rejects.toThrow(/restart the node/);
    await expect(s.apply(3, [])).rejects.toThrow(/restart the node/);
    await expect(s.flush()).rejects.toThrow(/restart the node/);
    expect(backend.appliedWrites()).toEqual([1]);
  });

  it('does not let a flush issued while the failing batch was in flight claim its index', async () => {
    const backend = new FlakyBackend();
    const s = await StateStore.load(backend, '/data/meta/state');
    await s.apply(1, [{ type: 'put', key: 'k', value: 'a' }]);
    backend.failNextWrite();
    // The metadata group's snapshot (exportSnapshot) flushes while entries go on being applied.
    const applying = s.apply(2, [{ type: 'put', key: 'k', value: 'b' }]);
    const flushing = s.flush();
    await expect(applying).rejects.toThrow(/EIO/);
    await expect(flushing).rejects.toThrow(/restart the node/);
    expect(backend.appliedWrites()).toEqual([1]);
  });

  it('a failed snapshot import leaves the store refusing writes too', async () => {
    const a = await StateStore.load(new FlakyBackend(), 'a');
    await a.apply(4, [{ type: 'put', key: 'topic/t', value: { partitions: 1 } }]);
    const snap = await a.exportSnapshot();
    const backend = new FlakyBackend();
    const b = await StateStore.load(backend, 'b');
    backend.failNextWrite();
    await expect(b.importSnapshot(snap.data)).rejects.toThrow(/EIO/);
    await expect(b.apply(5, [])).rejects.toThrow(/restart the node/);
    expect(backend.appliedWrites()).toEqual([]);
  });
});
