import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../raft/random.js';
import { SYNC_LEDGER_FILE, SyncLedger, readMarks } from '../../storage/sync-ledger.js';
import { SimFs } from '../sim/sim-fs.js';
import { Life, World } from '../sim/world.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('raftlog-ledger-');

describe('the sync ledger', () => {
  it('keeps each group\'s mark across a reopen, the last one recorded', async () => {
    const dir = tmp();
    const l = SyncLedger.open(dir);
    l.record('meta', { index: 5, term: 1 });
    l.record('p:t3:0', { index: 7, term: 2 });
    l.record('meta', { index: 9, term: 2 });
    await l.close();
    const again = SyncLedger.open(dir);
    expect(again.mark('meta')).toEqual({ index: 9, term: 2 });
    expect(again.mark('p:t3:0')).toEqual({ index: 7, term: 2 });
    expect(again.mark('p:t3:1')).toBeNull();
    await again.close();
  });

  it('writes marks in the background after record, without close', async () => {
    const dir = tmp();
    const l = SyncLedger.open(dir);
    l.record('g', { index: 3, term: 1 });
    const onDisk = async (): Promise<unknown> => {
      const peek = SyncLedger.open(dir);
      const m = peek.mark('g');
      await peek.close();
      return m;
    };
    for (let i = 0; i < 100 && (await onDisk()) === null; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await onDisk()).toEqual({ index: 3, term: 1 });
    await l.close();
  });

  it('lowers a mark durably before returning', async () => {
    const dir = tmp();
    const l = SyncLedger.open(dir);
    l.record('g', { index: 30, term: 4 });
    await l.lower('g', { index: 12, term: 3 });
    const peek = SyncLedger.open(dir);
    expect(peek.mark('g')).toEqual({ index: 12, term: 3 });
    await peek.close();
    await l.lower('g', { index: 20, term: 3 }); // not lower: nothing changes
    expect(l.mark('g')).toEqual({ index: 12, term: 3 });
    await l.close();
  });

  it('frees the slot of a forgotten group and reuses it; a slot that fails its checksum reads as no mark', async () => {
    const dir = tmp();
    const l = SyncLedger.open(dir);
    l.record('a', { index: 1, term: 1 });
    l.record('b', { index: 2, term: 1 });
    await l.close();
    const l2 = SyncLedger.open(dir);
    l2.forget('a');
    l2.record('c', { index: 3, term: 1 });
    await l2.close();
    const file = path.join(dir, SYNC_LEDGER_FILE);
    expect(fs.statSync(file).size).toBe(128);
    const l3 = SyncLedger.open(dir);
    expect([l3.mark('a'), l3.mark('b'), l3.mark('c')]).toEqual([null, { index: 2, term: 1 }, { index: 3, term: 1 }]);
    await l3.close();
    const b = fs.readFileSync(file);
    b[64 + 10] = b[64 + 10]! ^ 0xff; // the second slot
    fs.writeFileSync(file, b);
    const l4 = SyncLedger.open(dir);
    expect(l4.mark('b')).toBeNull();
    await l4.close();
  });
});

describe('the sync ledger on a failing disk', () => {
  it('survives a background write that fails (the marks stay pending and are written with the next record)', async () => {
    // Before: the failed fdatasync rejected the background flush's promise with no one to catch
    // it, and an unhandled rejection ends a node's process.
    const world = new World();
    const life = new Life();
    const disk = new SimFs({ schedule: (fn) => world.after(1, fn, life), random: seededRandom(1) });
    disk.mkdirSync('/d', { recursive: true });
    const ledger = SyncLedger.open('/d', disk, world.clock(life));
    disk.failNext('sync');
    ledger.record('g', { index: 4, term: 1 });
    await world.run(() => false, () => undefined);
    expect(ledger.problem).toMatch(/EIO/);
    ledger.record('h', { index: 2, term: 1 });
    await world.run(() => false, () => undefined);
    expect(ledger.problem).toBeNull();
    disk.crash();
    const again = SyncLedger.open('/d', disk, world.clock(new Life()));
    expect(again.mark('g')).toEqual({ index: 4, term: 1 });
    expect(again.mark('h')).toEqual({ index: 2, term: 1 });
  });
});

describe('durable(): what the host waits for before acknowledging', () => {
  function setUp(): { world: World; disk: SimFs; ledger: SyncLedger } {
    const world = new World();
    const life = new Life();
    const disk = new SimFs({ schedule: (fn) => world.after(1, fn, life), random: seededRandom(3) });
    disk.mkdirSync('/d', { recursive: true });
    return { world, disk, ledger: SyncLedger.open('/d', disk, world.clock(life)) };
  }
  const onDisk = (disk: SimFs): Map<string, { index: number; term: number }> => readMarks(disk.durableBytes(`/d/${SYNC_LEDGER_FILE}`));

  it('resolves only once every mark recorded before it is synced, and one write carries them all', async () => {
    const { world, disk, ledger } = setUp();
    ledger.record('a', { index: 4, term: 1 });
    ledger.record('b', { index: 9, term: 2 });
    let done = false;
    const waiting = ledger.durable().then(() => {
      done = true;
      // What a power loss would keep at the moment the host is told.
      expect(onDisk(disk)).toEqual(new Map([['a', { index: 4, term: 1 }], ['b', { index: 9, term: 2 }]]));
    });
    expect(done).toBe(false);
    const syncsBefore = disk.stats.syncs;
    await world.run(() => done, () => undefined);
    await waiting;
    expect(disk.stats.syncs - syncsBefore).toBe(1);
    await expect(ledger.durable()).resolves.toBeUndefined(); // nothing new: at once
  });

  it('a mark recorded while a write is in flight waits for the next write', async () => {
    const { world, disk, ledger } = setUp();
    ledger.record('a', { index: 1, term: 1 });
    const first = ledger.durable();
    ledger.record('a', { index: 2, term: 1 });
    let second = false;
    const next = ledger.durable().then(() => (second = true));
    await world.run(() => second, () => undefined);
    await Promise.all([first, next]);
    expect(onDisk(disk).get('a')).toEqual({ index: 2, term: 1 });
  });

  // The host simulation found a node whose every group stopped: a replica deleted between its
  // mark's record and the ledger's write left that mark counted but no longer written, so the
  // host's wait for the round's marks never ended, and no group of the node sent again.
  it('a mark of a group forgotten before it was written does not hold durable() (nothing is left to write)', async () => {
    const { world, disk, ledger } = setUp();
    ledger.record('gone', { index: 3, term: 1 });
    ledger.forget('gone');
    let done = false;
    const waiting = ledger.durable().then(() => (done = true));
    await world.run(() => done, () => undefined);
    expect(done).toBe(true);
    await waiting;
    expect(onDisk(disk).has('gone')).toBe(false);
  });

  it('a mark of a group forgotten while a write is in flight does not hold durable()', async () => {
    const { world, disk, ledger } = setUp();
    ledger.record('a', { index: 1, term: 1 });
    const first = ledger.durable();
    ledger.record('gone', { index: 7, term: 2 });
    let done = false;
    const second = ledger.durable().then(() => (done = true));
    ledger.forget('gone');
    await world.run(() => done, () => undefined);
    expect(done).toBe(true);
    await Promise.all([first, second]);
    expect(onDisk(disk).get('a')).toEqual({ index: 1, term: 1 });
    expect(onDisk(disk).has('gone')).toBe(false);
  });

  it('rejects when the write fails, and the marks go with the next one', async () => {
    const { world, disk, ledger } = setUp();
    ledger.record('a', { index: 5, term: 1 });
    disk.failNext('sync');
    const failed = ledger.durable();
    let rejection: unknown = null;
    failed.catch((err: unknown) => (rejection = err));
    await world.run(() => rejection !== null, () => undefined);
    expect(String(rejection)).toMatch(/EIO/);
    expect(onDisk(disk).get('a')).toBeUndefined();
    const retried = ledger.durable();
    let ok = false;
    void retried.then(() => (ok = true));
    await world.run(() => ok, () => undefined);
    expect(onDisk(disk).get('a')).toEqual({ index: 5, term: 1 });
  });
});
