/**
 * The metadata log's configurations (MetaLogStorage.configurations): the segment log's, and the
 * saved snapshot's when the log does not know the one at the snapshot's index; the snapshot file
 * keeps its configuration, and a snapshot taken or installed carries it on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeMembership, type Membership } from '../../raft/membership.js';
import { seededRandom } from '../../raft/random.js';
import { EntryKind, type Entry, type Snapshot } from '../../raft/types.js';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import { nodeFileSystem } from '../../storage/file-system.js';
import { SegmentLog } from '../../storage/segment-log.js';
import { StateStore } from '../../storage/state-store.js';
import { SyncLedger } from '../../storage/sync-ledger.js';
import { RaftGroup } from '../../src/host/raft-group.js';
import { encodeCommand } from '../../src/meta/commands.js';
import { MetaLogStorage, MetaStateMachine, reconcileMetaState } from '../../src/meta/meta-state.js';
import { encodeFrame } from '../../src/wire/codec.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { quiet } from '../partition/harness.js';

const tmp = tempDirs('raftlog-meta-storage-');

const A: Membership = { voters: ['a', 'b', 'c'], learners: [] };
const B: Membership = { voters: ['a', 'b', 'c'], learners: ['d'] };
const C: Membership = { voters: ['a', 'b', 'c', 'd'], learners: [] };

function command(index: number, term: number): Entry {
  return { index, term, kind: EntryKind.Normal, data: encodeCommand({ type: 'allocateProducerId' }) };
}

function config(index: number, term: number, m: Membership): Entry {
  return { index, term, kind: EntryKind.Config, data: encodeMembership(m) };
}

function openLog(dir: string): SegmentLog {
  return SegmentLog.open({ dir: path.join(dir, 'log'), recordBatches: false });
}

function storageIn(dir: string, log: SegmentLog): MetaLogStorage {
  return new MetaLogStorage(log, MetaStateMachine.snapshotFile(dir));
}

describe('metadata log storage: configurations', () => {
  it('answers the log\'s configurations when the log knows the one at the snapshot', () => {
    const dir = tmp();
    const log = openLog(dir);
    log.append([command(1, 1), config(2, 1, A), command(3, 1), config(4, 1, B), command(5, 1)]);
    const storage = storageIn(dir, log);
    storage.save({ index: 3, term: 1, data: new Uint8Array([1]), membership: A });
    expect(storage.configurations()).toEqual([{ index: 2, membership: A }, { index: 4, membership: B }]);
    expect(storage.membershipAt(3)).toEqual(A);
    expect(storage.membershipAt(5)).toEqual(B);
    expect(storage.membershipAt(1)).toBeUndefined();
    log.close();
  });

  it('starts from the saved snapshot\'s configuration when the log does not know it (its start was written without one), after a reopen too', () => {
    const dir = tmp();
    let log = openLog(dir);
    log.resetTo(10, 2, 0);
    log.append([command(11, 2), config(12, 2, C)]);
    let storage = storageIn(dir, log);
    const snap: Snapshot = { index: 10, term: 2, data: new Uint8Array([7, 7]), membership: B };
    storage.save(snap);
    expect(log.configurations()).toEqual([{ index: 12, membership: C }]);
    expect(storage.configurations()).toEqual([{ index: 10, membership: B }, { index: 12, membership: C }]);
    log.close();
    // The snapshot file keeps the configuration.
    log = openLog(dir);
    storage = storageIn(dir, log);
    expect(storage.damaged).toBeNull();
    expect(storage.snapshot()).toMatchObject({ index: 10, term: 2, membership: B });
    expect(Buffer.from(storage.snapshot()!.data)).toEqual(Buffer.from([7, 7]));
    expect(storage.configurations()).toEqual([{ index: 10, membership: B }, { index: 12, membership: C }]);
    log.close();
  });

  it('a saved snapshot behind the log start tells nothing, and one without a configuration neither', () => {
    const dir = tmp();
    const log = openLog(dir);
    log.resetTo(20, 3, 0);
    const storage = storageIn(dir, log);
    storage.save({ index: 15, term: 2, data: new Uint8Array(0), membership: A });
    expect(storage.configurations()).toEqual([]);
    storage.save({ index: 20, term: 3, data: new Uint8Array(0) });
    expect(storage.configurations()).toEqual([]);
    expect(storage.snapshot()?.membership).toBeUndefined();
    log.close();
  });

  it('a saved snapshot whose configuration is not a membership counts as damaged (taken again at the next round)', () => {
    const dir = tmp();
    writeFileAtomic(MetaStateMachine.snapshotFile(dir), 0x524c4d53, encodeFrame({ index: 3, term: 1, data: new Uint8Array(0), membership: { voters: 'a' } }));
    const log = openLog(dir);
    const storage = storageIn(dir, log);
    expect(storage.snap).toBeNull();
    expect(storage.damaged).toMatch(/configuration is not a membership/);
    log.close();
  });

  it('reconcile\'s reset of the log after a cut-short install keeps the snapshot\'s configuration as the log start\'s', async () => {
    const dir = tmp();
    let log = openLog(dir);
    log.append(Array.from({ length: 12 }, (_, k) => command(k + 1, 1)));
    await log.sync();
    const store = await StateStore.open(path.join(dir, 'state'));
    await store.apply(9, [{ type: 'put', key: 'topic/a', value: { name: 'a' } }]);
    await store.apply(10, [{ type: 'put', key: 'topic/b', value: { name: 'b' } }]);
    const { data } = await store.exportSnapshot();
    const storage = storageIn(dir, log);
    // The leader's snapshot at 10 (term 2) saved and taken by the store, the log not yet reset.
    storage.save({ index: 10, term: 2, data, membership: C });
    expect(await reconcileMetaState(store, storage)).toMatch(/the log now starts after the snapshot/);
    expect(log.configurations()).toEqual([{ index: 10, membership: C }]);
    log.close();
    await store.close();
    log = openLog(dir);
    expect(log.configurations()).toEqual([{ index: 10, membership: C }]);
    expect(log.snapshot().membership).toEqual(C);
    log.close();
  });

  it('a snapshot taken by the state machine carries the configuration at its index, and one installed resets the log to it', async () => {
    const dir = tmp();
    const log = openLog(dir);
    const store = await StateStore.open(path.join(dir, 'state'));
    const storage = storageIn(dir, log);
    const es = [command(1, 1), config(2, 1, B), command(3, 1), command(4, 1), config(5, 1, C)];
    log.append(es);
    await log.sync();
    const ledger = SyncLedger.open(dir);
    const group = new RaftGroup({ id: 'meta', self: 'b', voters: ['a', 'b', 'c'], dir, fs: nodeFileSystem, log, hardState: { term: 1, vote: null, commit: 5 }, ledger, storage, applied: 0, limits: {}, random: seededRandom(1), logger: quiet });
    const events = { topicsChanged: () => {}, controllerChanged: () => {}, clusterKnown: () => {}, nodesChanged: () => {} };
    const meta = new MetaStateMachine(store, storage, events, quiet, 3);
    meta.group = group;
    group.sm = meta;
    // Three commands applied start a snapshot at the store's index (4), where B is in effect.
    await meta.apply(es);
    for (let k = 0; k < 200 && storage.snap === null; k++) await new Promise((r) => setTimeout(r, 5));
    expect(storage.snap).toMatchObject({ index: 4, term: 1, membership: B });
    expect(storageIn(dir, log).snap?.membership).toEqual(B);
    // A leader's snapshot installed: the log starts after it, with its configuration.
    const { data } = await store.exportSnapshot();
    await meta.restore({ index: 30, term: 4, data, membership: C }, log);
    expect(log.firstIndex()).toBe(31);
    expect(log.configurations()).toEqual([{ index: 30, membership: C }]);
    expect(storage.configurations()).toEqual([{ index: 30, membership: C }]);
    expect(fs.existsSync(path.join(dir, 'log', 'configs'))).toBe(true);
    await ledger.close();
    log.close();
    await store.close();
  });
});
