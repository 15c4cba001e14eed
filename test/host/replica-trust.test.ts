/**
 * openReplica (src/host/replica-trust.ts): a replica whose disk cannot show what it promised
 * rejoins as a learner instead of voting with what is left.
 */
import { nodeFileSystem } from '../../storage/file-system.js';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../helpers/temp-dirs.js';
import { seededRandom } from '../../raft/random.js';
import { EntryKind, type Entry, type HardState } from '../../raft/types.js';
import { HARD_STATE_FILE, readHardState, saveHardState, saveHardStateAsync } from '../../storage/hard-state.js';
import { SimFs } from '../sim/sim-fs.js';
import { SegmentLog } from '../../storage/segment-log.js';
import { SyncLedger } from '../../storage/sync-ledger.js';
import { markDamaged, openReplica, type OpenedReplica } from '../../src/host/replica-trust.js';
import { quiet } from '../partition/harness.js';

const tmp = tempDirs('raftlog-trust-');

function entries(n: number, term: number): Entry[] {
  return Array.from({ length: n }, (_, k) => ({ index: k + 1, term, kind: EntryKind.Normal, data: Buffer.from(`e${k + 1}`) }));
}

/** A replica that voted for n2 in term 3 and synced entries 1-5 of term 3 (marked in the ledger). */
async function healthy(dir: string): Promise<void> {
  const log = SegmentLog.open({ dir: path.join(dir, 'log'), recordBatches: false });
  log.append(entries(5, 3));
  await log.sync();
  log.close();
  saveHardState(dir, { term: 3, vote: 'n2', commit: 4 });
  const ledger = SyncLedger.open(dir);
  ledger.record('g', { index: 5, term: 3 });
  await ledger.close();
}

async function open(dir: string, fresh: 'voter' | 'rejoin' = 'voter'): Promise<OpenedReplica & { saved: HardState | null }> {
  const ledger = SyncLedger.open(dir);
  const r = openReplica({ group: 'g', name: 'group g', dir, fs: nodeFileSystem, log: { dir: path.join(dir, 'log'), recordBatches: false }, ledger, fresh, random: seededRandom(7), logger: quiet });
  r.log.close();
  await ledger.close();
  const hs = readHardState(dir);
  return { ...r, saved: hs.kind === 'ok' ? hs.hardState : null };
}

describe('opening a replica', () => {
  it('a sound replica keeps its term, vote and log', async () => {
    const dir = tmp();
    await healthy(dir);
    const r = await open(dir);
    expect(r.damage).toEqual([]);
    expect(r.hardState).toEqual({ term: 3, vote: 'n2', commit: 4, rejoin: null });
  });

  it('a damaged hard state is not a fresh start: the replica rejoins, keeping its log and the term of its last entry', async () => {
    const dir = tmp();
    await healthy(dir);
    const file = path.join(dir, HARD_STATE_FILE);
    const b = fs.readFileSync(file);
    b[b.length - 2] = b[b.length - 2]! ^ 0x01;
    fs.writeFileSync(file, b);
    const r = await open(dir);
    expect(r.damage.join()).toMatch(/hard state is damaged/);
    expect(r.hardState.rejoin).toMatch(/^[0-9a-f]{16}$/);
    expect(r.hardState.term).toBe(3);
    expect(r.log.lastIndex()).toBe(5);
    // Written at once: a restart before anything else happens is still rejoining.
    expect(r.saved).toEqual(r.hardState);
  });

  it('a hard state missing beside a log that holds entries is damage too', async () => {
    const dir = tmp();
    await healthy(dir);
    fs.rmSync(path.join(dir, HARD_STATE_FILE));
    const r = await open(dir);
    expect(r.damage.join()).toMatch(/hard state \(term and vote\) is missing/);
    expect(r.hardState.rejoin).not.toBeNull();
  });

  it('a log cut below what it had synced (a torn-looking tail that was acknowledged) makes the replica rejoin', async () => {
    const dir = tmp();
    await healthy(dir);
    const seg = path.join(dir, 'log', fs.readdirSync(path.join(dir, 'log')).find((f) => f.endsWith('.log'))!);
    const b = fs.readFileSync(seg);
    b[b.length - 2] = b[b.length - 2]! ^ 0x40; // the last frame fails its checksum: recovery cuts it
    fs.writeFileSync(seg, b);
    const r = await open(dir);
    expect(r.log.lastIndex()).toBe(4);
    expect(r.damage).toEqual(['its log ends at index 4 (term 3) but had been synced up to index 5 (term 3)']);
    expect(r.hardState).toMatchObject({ term: 3, vote: 'n2' });
    expect(r.hardState.rejoin).not.toBeNull();
    // The mark now says what is there: the next start does not find new damage.
    const again = await open(dir);
    expect(again.damage).toEqual([]);
    expect(again.hardState.rejoin).toBe(r.hardState.rejoin);
  });

  it('a log corrupt before its end keeps its valid prefix and rejoins (it used to refuse to open)', async () => {
    const dir = tmp();
    await healthy(dir);
    const seg = path.join(dir, 'log', fs.readdirSync(path.join(dir, 'log')).find((f) => f.endsWith('.log'))!);
    const b = fs.readFileSync(seg);
    b[40] = b[40]! ^ 0xff; // inside the first frames, with valid frames after
    fs.writeFileSync(seg, b);
    expect(() => SegmentLog.open({ dir: path.join(dir, 'log'), recordBatches: false }).close()).toThrow(/is corrupt/);
    const r = await open(dir);
    expect(r.damage.join()).toMatch(/its log is corrupt/);
    expect(r.log.lastIndex()).toBeLessThan(5);
    expect(r.hardState.rejoin).not.toBeNull();
  });

  it('a missing replica on a node that is itself rejoining the cluster rejoins; on any other node it is a new voter', async () => {
    expect((await open(tmp(), 'voter')).hardState).toEqual({ term: 0, vote: null, commit: 0, rejoin: null });
    const r = await open(tmp(), 'rejoin');
    expect(r.damage).toEqual([]);
    expect(r.hardState).toMatchObject({ term: 0, vote: null });
    expect(r.hardState.rejoin).not.toBeNull();
  });

  it('a missing replica that rejoined and then lost its hard state before its log held an entry rejoins again (the ledger knows it)', async () => {
    const dir = tmp();
    const joined = await open(dir, 'rejoin');
    expect(joined.hardState.rejoin).not.toBeNull();
    fs.rmSync(path.join(dir, HARD_STATE_FILE));
    // The node is no longer rejoining: without the ledger's mark this would open as a new voter.
    const r = await open(dir, 'voter');
    expect(r.damage).toEqual(['its hard state (term and vote) is missing though the sync ledger knows the replica (its mark is at index 0)']);
    expect(r.hardState.rejoin).not.toBeNull();
  });

  it('damage in a sealed segment, found by a read while running, is verified and repaired at the next open', async () => {
    const dir = tmp();
    const limits = { segmentBytes: 200 };
    let log = SegmentLog.open({ dir: path.join(dir, 'log'), recordBatches: false, limits });
    for (const e of entries(20, 3)) log.append([e]);
    await log.sync();
    log.close();
    saveHardState(dir, { term: 3, vote: null, commit: 20 });
    const segs = fs.readdirSync(path.join(dir, 'log')).filter((f) => f.endsWith('.log')).sort();
    expect(segs.length).toBeGreaterThan(2);
    const first = path.join(dir, 'log', segs[0]!);
    const b = fs.readFileSync(first);
    b[b.length - 5] = b[b.length - 5]! ^ 0x08;
    fs.writeFileSync(first, b);
    // Opening trusts the sealed segment's index; only reading it finds the damage.
    log = SegmentLog.open({ dir: path.join(dir, 'log'), recordBatches: false, limits });
    let found: unknown = null;
    try {
      log.entries(1, 21, Number.MAX_SAFE_INTEGER);
    } catch (err) {
      found = err;
    }
    log.close();
    expect(found).toBeInstanceOf(Error);
    markDamaged(nodeFileSystem, dir, (found as Error).message);
    const r = await open(dir);
    expect(r.damage.join()).toMatch(/found corrupt while running/);
    expect(r.log.lastIndex()).toBeLessThan(Number(segs[1]!.slice(0, 20)));
    expect(r.hardState.rejoin).not.toBeNull();
    expect(fs.existsSync(path.join(dir, 'damaged'))).toBe(false);
  });

  it('a replica folder removed by hand while the node kept its data: the ledger still has its mark, so it rejoins', async () => {
    const dir = tmp();
    await healthy(dir);
    fs.rmSync(path.join(dir, 'log'), { recursive: true });
    fs.rmSync(path.join(dir, HARD_STATE_FILE));
    const r = await open(dir, 'voter');
    expect(r.damage).toEqual(['its log ends at index 0 (term 0) but had been synced up to index 5 (term 3)', 'its hard state (term and vote) is missing though the sync ledger knows the replica (its mark is at index 5)']);
    expect(r.hardState.rejoin).not.toBeNull();
  });
});

describe('a replica opened after its process was killed', () => {
  it('makes the hard state the killed process left in the page cache durable before the replica acts on it', async () => {
    // Before: the restart read its term and vote from the page cache, where a process killed
    // between the rename of a new hard state and the fsync of its folder had left it. The replica
    // then voted and appended under that term, and a power loss later brought the older file
    // back: its log held entries of a term above its hard state's (it took itself for damaged),
    // or a vote it had cast was forgotten, free to be cast again (host simulation, seed 84).
    let queue: (() => void)[] = [];
    const disk = new SimFs({ schedule: (fn) => queue.push(fn), random: seededRandom(3) });
    const dir = '/n1/g';
    disk.mkdirSync(dir, { recursive: true });
    saveHardState(dir, { term: 3, vote: 'n3', commit: 0, rejoin: null }, disk);
    const term = (): number | null => {
      const r = readHardState(dir, disk);
      return r.kind === 'ok' ? r.hardState.term : null;
    };
    void saveHardStateAsync(dir, { term: 5, vote: 'n1', commit: 0, rejoin: null }, disk);
    // The write runs until the new file is renamed over the old one; then the process is killed.
    for (let n = 0; term() === 3 && n < 100; n++) {
      queue.shift()?.();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(term()).toBe(5);
    queue = [];
    const ledger = SyncLedger.open('/n1', disk);
    const opened = openReplica({ group: 'g', name: 'g', dir, fs: disk, log: { dir: `${dir}/log`, recordBatches: false }, ledger, fresh: 'voter', random: seededRandom(1), logger: quiet });
    expect(opened.hardState).toMatchObject({ term: 5, vote: 'n1' });
    // The power goes: what the replica opened with is what the disk holds.
    disk.crash();
    expect(readHardState(dir, disk)).toEqual({ kind: 'ok', hardState: { term: 5, vote: 'n1', commit: 0, rejoin: null } });
  });
});
