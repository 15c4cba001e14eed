/**
 * Installing a metadata snapshot survives a crash at any point (issue 18 item 4): the next open
 * brings the state store, the saved snapshot and the log back into agreement.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../helpers/temp-dirs.js';
import { seededRandom } from '../../raft/random.js';
import { EntryKind, type Entry, type Snapshot } from '../../raft/types.js';
import { nodeFileSystem } from '../../storage/file-system.js';
import { readHardState, saveHardState } from '../../storage/hard-state.js';
import { SegmentLog } from '../../storage/segment-log.js';
import { StateStore } from '../../storage/state-store.js';
import { SyncLedger } from '../../storage/sync-ledger.js';
import { RaftGroup } from '../../src/host/raft-group.js';
import { encodeCommand } from '../../src/meta/commands.js';
import { MetaLogStorage, MetaStateMachine, reconcileMetaState } from '../../src/meta/meta-state.js';
import { quiet } from '../partition/harness.js';

const tmp = tempDirs('raftlog-restore-');

/** The leader's snapshot at index 10, term 2: a state with topics a and b. */
async function leaderSnapshot(): Promise<Snapshot> {
  const dir = tmp();
  const store = await StateStore.open(path.join(dir, 'state'));
  await store.apply(9, [{ type: 'put', key: 'topic/a', value: { name: 'a' } }]);
  await store.apply(10, [{ type: 'put', key: 'topic/b', value: { name: 'b' } }]);
  const { index, data } = await store.exportSnapshot();
  await store.close();
  return { index, term: 2, data };
}

function entries(from: number, to: number, term: number): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, k) => ({ index: from + k, term, kind: EntryKind.Normal, data: encodeCommand({ type: 'allocateProducerId' }) }));
}

interface Opened {
  store: StateStore;
  storage: MetaLogStorage;
  fixed: string | null;
  close(): Promise<void>;
}

async function openMeta(dir: string): Promise<Opened> {
  const log = SegmentLog.open({ dir: path.join(dir, 'log'), recordBatches: false });
  const store = await StateStore.open(path.join(dir, 'state'));
  const storage = new MetaLogStorage(log, MetaStateMachine.snapshotFile(dir));
  const fixed = await reconcileMetaState(store, storage);
  return { store, storage, fixed, close: async () => (log.close(), await store.close()) };
}

describe('installing a metadata snapshot, cut by a crash', () => {
  it('cut after the log was reset but before the store took the snapshot: the store takes it on open', async () => {
    const snap = await leaderSnapshot();
    const dir = tmp();
    // A follower with an old state (applied 3) and a log of term 1 up to 12.
    let m = await openMeta(dir);
    await m.store.apply(3, [{ type: 'put', key: 'topic/old', value: { name: 'old' } }]);
    m.storage.log.append(entries(1, 12, 1));
    await m.storage.log.sync();
    // restore(): the snapshot saved, the log reset... and the process dies.
    m.storage.save(snap);
    m.storage.log.resetTo(snap.index, snap.term, 0);
    await m.close();

    m = await openMeta(dir);
    expect(m.fixed).toMatch(/before the log start 10: took the saved snapshot at 10/);
    expect(m.store.appliedIndex()).toBe(10);
    expect(m.store.entries('topic/').map(([k]) => k)).toEqual(['topic/a', 'topic/b']);
    await m.close();
  });

  it('a store that lost everything (it was cleared, as importing used to do first) is rebuilt from the saved snapshot', async () => {
    const snap = await leaderSnapshot();
    const dir = tmp();
    let m = await openMeta(dir);
    m.storage.save(snap);
    m.storage.log.resetTo(snap.index, snap.term, 0);
    await m.close();
    m = await openMeta(dir);
    expect(m.store.entries('topic/').map(([k]) => k)).toEqual(['topic/a', 'topic/b']);
    await m.close();
  });

  it('cut after the store took the snapshot but before the log was reset (the order restore used): the follower accepts the leader\'s next append instead of refusing it forever', async () => {
    const snap = await leaderSnapshot();
    const dir = tmp();
    // A follower whose log holds entries of term 1 up to 12, none committed past 3.
    let m = await openMeta(dir);
    m.storage.log.append(entries(1, 12, 1));
    await m.storage.log.sync();
    saveHardState(dir, { term: 2, vote: null, commit: 3 });
    // The store took the leader's snapshot (index 10, term 2), and the process died.
    m.storage.save(snap);
    await m.store.importSnapshot(snap.data);
    await m.close();

    m = await openMeta(dir);
    expect(m.fixed).toMatch(/held an entry of term 1 at the snapshot's index 10 \(term 2\): the log now starts after the snapshot/);
    expect(m.storage.log.firstIndex()).toBe(11);
    const ledger = SyncLedger.open(dir);
    const hs = readHardState(dir);
    if (hs.kind !== 'ok') throw new Error(hs.kind);
    const g = new RaftGroup({ id: 'meta', self: 'b', voters: ['a', 'b', 'c'], dir, fs: nodeFileSystem, log: m.storage.log, hardState: hs.hardState, ledger, storage: m.storage, applied: m.store.appliedIndex(), limits: {}, random: seededRandom(1), logger: quiet });
    g.raft.step({ type: 'append', from: 'a', to: 'b', term: 2, prevIndex: 10, prevTerm: 2, entries: entries(11, 11, 2), commit: 11 });
    const answer = g.raft.ready().messages.find((x) => x.type === 'appendResp');
    expect(answer).toMatchObject({ reject: false, index: 11 });
    await ledger.close();
    await m.close();
  });

  it('importing a snapshot replaces every key, in one batch: keys the snapshot lacks are gone, after a reopen too', async () => {
    const snap = await leaderSnapshot();
    const dir = tmp();
    let store = await StateStore.open(dir);
    await store.apply(1, [{ type: 'put', key: 'topic/gone', value: { name: 'gone' } }]);
    await store.importSnapshot(snap.data);
    expect(store.entries('topic/').map(([k]) => k)).toEqual(['topic/a', 'topic/b']);
    await store.close();
    store = await StateStore.open(dir);
    expect(store.entries('topic/').map(([k]) => k)).toEqual(['topic/a', 'topic/b']);
    expect(store.appliedIndex()).toBe(10);
    await store.close();
  });
});
