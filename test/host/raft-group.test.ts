/**
 * RaftGroup over a real segment log and hard-state file: what survives a power loss between a
 * Ready's persist and its sync.
 */
import { nodeFileSystem } from '../../storage/file-system.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../raft/random.js';
import { EntryKind, type Entry } from '../../raft/types.js';
import { SyncLedger } from '../../storage/sync-ledger.js';
import { RaftGroup, type GroupStateMachine } from '../../src/host/raft-group.js';
import { openReplica } from '../../src/host/replica-trust.js';
import { quiet } from '../partition/harness.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function entry(index: number, term: number): Entry {
  return { index, term, kind: EntryKind.Normal, data: Buffer.from(`i${index}t${term}`) };
}

const inert: GroupStateMachine = { apply: () => undefined, restore: () => undefined, onSoftState: () => undefined, onPersisted: () => undefined, onReadStates: () => undefined };

function open(dir: string): RaftGroup {
  const ledger = SyncLedger.open(dir);
  const { log, hardState } = openReplica({ group: 'meta', name: 'meta', dir, fs: nodeFileSystem, log: { dir: path.join(dir, 'log'), recordBatches: false }, ledger, fresh: 'voter', random: seededRandom(1), logger: quiet });
  const g = new RaftGroup({ id: 'meta', self: 'b', voters: ['a', 'b', 'c'], dir, fs: nodeFileSystem, log, hardState, ledger, applied: 0, limits: {}, random: seededRandom(1), logger: quiet });
  g.sm = inert;
  return g;
}

describe('a power loss between persisting a Ready and syncing it', () => {
  it('never leaves a commit index over entries the Ready had not made durable (a conflicting suffix comes back uncommitted)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-group-'));
    dirs.push(dir);
    // b holds entries 1-3 of term 1; only entry 1 was ever committed.
    let g = open(dir);
    g.raft.step({ type: 'append', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, entries: [entry(1, 1), entry(2, 1), entry(3, 1)], commit: 1 });
    let rd = g.raft.ready();
    await g.persist(rd);
    await g.log.sync();
    await g.finish(rd);
    g.close();
    const durable = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-group-durable-'));
    dirs.push(durable);
    fs.cpSync(path.join(dir, 'log'), durable, { recursive: true });

    // c leads term 2 with other entries at 2 and 3, committed: one Ready brings the new term (the
    // hard state, written at once) and the replacing entries (written, not yet synced).
    g = open(dir);
    g.raft.step({ type: 'append', from: 'c', to: 'b', term: 2, prevIndex: 1, prevTerm: 1, entries: [entry(2, 2), entry(3, 2)], commit: 3 });
    rd = g.raft.ready();
    expect(rd.hardState).toMatchObject({ term: 2, commit: 3 });
    await g.persist(rd);
    // Power loss: the log file is what its last sync left; the hard state was synced when written.
    g.log.close();
    fs.rmSync(path.join(dir, 'log'), { recursive: true });
    fs.cpSync(durable, path.join(dir, 'log'), { recursive: true });

    g = open(dir);
    expect(g.raft.term).toBe(2);
    expect(g.raft.termAt(3)).toBe(1);
    // Entries 2 and 3 of term 1 were never committed: the commit index must not name them.
    expect(g.raft.committed).toBe(1);
    g.close();
  });

  it('a replica whose hard state rots after it voted does not vote again in that term (it used to start over at term 0)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-group-'));
    dirs.push(dir);
    let g = open(dir);
    g.raft.step({ type: 'vote', from: 'a', to: 'b', term: 5, lastIndex: 0, lastTerm: 0, transfer: false });
    let rd = g.raft.ready();
    await g.persist(rd);
    await g.log.sync();
    await g.finish(rd);
    expect(rd.messages[0]).toMatchObject({ type: 'voteResp', reject: false });
    g.close();
    const file = path.join(dir, 'hardstate');
    const b = fs.readFileSync(file);
    b[b.length - 2] = b[b.length - 2]! ^ 0x01;
    fs.writeFileSync(file, b);

    g = open(dir);
    g.raft.step({ type: 'vote', from: 'c', to: 'b', term: 5, lastIndex: 0, lastTerm: 0, transfer: false });
    rd = g.raft.ready();
    expect(rd.messages.find((m) => m.type === 'voteResp')).toMatchObject({ reject: true });
    expect(g.raft.rejoin).not.toBeNull();
    g.close();
  });

  it('a replica that voted with an empty log and then lost its hard state does not vote again: the ledger knows it since its first hard state', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-group-'));
    dirs.push(dir);
    let g = open(dir);
    g.raft.step({ type: 'vote', from: 'a', to: 'b', term: 5, lastIndex: 0, lastTerm: 0, transfer: false });
    let rd = g.raft.ready();
    await g.persist(rd);
    await g.log.sync();
    g.synced();
    await g.marksDurable();
    await g.finish(rd);
    expect(rd.messages[0]).toMatchObject({ type: 'voteResp', reject: false });
    g.close();
    fs.rmSync(path.join(dir, 'hardstate'));

    g = open(dir);
    g.raft.step({ type: 'vote', from: 'c', to: 'b', term: 5, lastIndex: 0, lastTerm: 0, transfer: false });
    rd = g.raft.ready();
    expect(rd.messages.find((m) => m.type === 'voteResp')).toMatchObject({ reject: true });
    expect(g.raft.rejoin).not.toBeNull();
    g.close();
  });
});
