/**
 * The disk accounting a node's /metrics reports (raftlog_disk_written_bytes, raftlog_disk_syncs):
 * what the storage code writes and syncs, by kind of file, through the counted file system.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskAccounting, diskFileKind } from '../../storage/disk-accounting.js';
import { nodeFileSystem } from '../../storage/file-system.js';
import { saveHardStateAsync } from '../../storage/hard-state.js';
import { SegmentLog } from '../../storage/segment-log.js';
import { SyncLedger } from '../../storage/sync-ledger.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { SimFs } from '../sim/sim-fs.js';
import { EntryMaker } from './log-fixtures.js';

const tmp = tempDirs('raftlog-disk-accounting-');

describe('disk accounting', () => {
  it('names the kind of each file the storage writes, a temporary file as the one it replaces', () => {
    expect(diskFileKind('/d/p/log/00000000000000000001.log')).toBe('segment');
    expect(diskFileKind('/d/p/log/00000000000000000001.index')).toBe('segment-index');
    expect(diskFileKind('/d/synced')).toBe('sync-ledger');
    expect(diskFileKind('/d/p/hardstate')).toBe('hard-state');
    expect(diskFileKind('/d/p/hardstate.async-tmp')).toBe('hard-state');
    expect(diskFileKind('/d/p/log/terms.roll.tmp')).toBe('log-metadata');
    expect(diskFileKind('/d/p/log/configs')).toBe('log-metadata');
    expect(diskFileKind('/d/p/log/logstart.tmp')).toBe('log-metadata');
    expect(diskFileKind('/d/p/producers.tmp')).toBe('producer-state');
    expect(diskFileKind('/d/p/log')).toBe('other');
  });

  it('counts the bytes and syncs of a log, the ledger and a hard state, each under its kind', async () => {
    const dir = tmp();
    const disk = new DiskAccounting(nodeFileSystem);
    const log = SegmentLog.open({ dir: path.join(dir, 'log'), recordBatches: true, fs: disk.fs });
    const m = new EntryMaker();
    const entries = Array.from({ length: 20 }, () => m.batch(1, 4, 1_000, 100));
    const payload = entries.reduce((a, e) => a + e.data.byteLength, 0);
    log.append(entries);
    await log.sync();
    const ledger = SyncLedger.open(dir, disk.fs);
    ledger.record('t/0', { index: 20, term: 1 });
    await ledger.durable();
    await saveHardStateAsync(dir, { term: 1, vote: 'n1', commit: 0 }, disk.fs);

    const s = disk.byKind;
    // Every entry's batch, and its frame around it; nothing else of the log is in the segment.
    expect(s.segment.bytes).toBeGreaterThan(payload);
    expect(s.segment.bytes).toBeLessThan(payload + entries.length * 64);
    expect(s.segment.bytes).toBe(fs.readdirSync(path.join(dir, 'log')).filter((f) => f.endsWith('.log')).reduce((a, f) => a + fs.statSync(path.join(dir, 'log', f)).size, 0));
    expect(s.segment.syncs).toBe(1);
    expect(s['sync-ledger']).toEqual({ bytes: 64, writes: 1, syncs: 1 });
    expect(s['hard-state'].bytes).toBe(fs.statSync(path.join(dir, 'hardstate')).size);
    expect(s['hard-state'].syncs).toBe(1);
    // The folders' fsyncs (a new ledger's, the hard state's rename) are the rest.
    expect(s.other.syncs).toBeGreaterThanOrEqual(2);
    expect(s.other.bytes).toBe(0);
    await ledger.close();
    log.close();
  });

  it('passes every call on to a file system whose methods are its prototype\'s (the simulator\'s)', async () => {
    const sim = new SimFs({ schedule: (fn) => setImmediate(fn), random: () => 0.5 });
    const disk = new DiskAccounting(sim);
    disk.fs.mkdirSync('/d', { recursive: true });
    const fd = disk.fs.openSync('/d/synced', 'w+');
    expect(disk.fs.writevSync(fd, [Buffer.from('ab'), Buffer.from('cd')], 0)).toBe(4);
    expect(await disk.fs.write(fd, Buffer.from('ef'), 0, 2, 4)).toBe(2);
    await disk.fs.fdatasync(fd);
    const back = Buffer.alloc(6);
    expect(disk.fs.readSync(fd, back, 0, 6, 0)).toBe(6);
    expect(back.toString()).toBe('abcdef');
    disk.fs.closeSync(fd);
    expect(disk.fs.readdirSync('/d')).toEqual(['synced']);
    expect(disk.byKind['sync-ledger']).toEqual({ bytes: 6, writes: 2, syncs: 1 });
  });
});
