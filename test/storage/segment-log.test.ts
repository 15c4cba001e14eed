import { describe, expect, it } from 'vitest';
import { LogCompactedError } from '../../raft/errors.js';
import { EntryKind } from '../../raft/types.js';
import { OffsetOutOfRangeError, StorageInvariantError } from '../../storage/errors.js';
import { FaultInjectedError, FaultPoints, FaultyFileSystem } from '../../chaos/fault-points.js';
import { nodeFileSystem } from '../../storage/file-system.js';
import { records } from '../../src/wire/record-batch/decode.js';
import { readBatchHeader } from '../../src/wire/record-batch/header.js';
import { SegmentLog, decodeLogStart } from '../../storage/segment-log.js';
import { EntryMaker, openLog, segmentFiles, summary } from './log-fixtures.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { SimFs } from '../sim/sim-fs.js';

const dir = tempDirs('raftlog-test-');

describe('segment log: the Raft log interface', () => {
  it('appends entries and reads them back with their terms', async () => {
    const log = openLog(dir());
    const m = new EntryMaker();
    const es = [m.noop(1), m.batch(1, 3), m.batch(1, 2), m.noop(2), m.batch(2, 1)];
    log.append(es);
    await log.sync();
    expect(log.firstIndex()).toBe(1);
    expect(log.lastIndex()).toBe(5);
    expect([0, 1, 2, 3, 4, 5].map((i) => log.term(i))).toEqual([0, 1, 1, 1, 2, 2]);
    expect(summary(log.entries(1, 6, Infinity))).toEqual(summary(es));
    expect(summary(log.entries(2, 4, Infinity))).toEqual(summary(es.slice(1, 3)));
  });

  it('gives at least one entry however small the byte budget, and stops at the budget', () => {
    const log = openLog(dir());
    const m = new EntryMaker();
    log.append([m.batch(1, 1, 1000, 500), m.batch(1, 1, 1000, 500), m.batch(1, 1, 1000, 500)]);
    expect(log.entries(1, 4, 1)).toHaveLength(1);
    const two = log.entries(1, 4, 2 * (log.entries(1, 2, 1)[0]!.data.byteLength + 24));
    expect(two).toHaveLength(2);
  });

  it('keeps offsets dense: no-ops take none, and a batch that does not start at the log end is refused', () => {
    const log = openLog(dir());
    const m = new EntryMaker();
    log.append([m.batch(1, 3), m.noop(2), m.batch(2, 2)]);
    expect(log.logEndOffset()).toBe(5);
    const wrong = new EntryMaker(4, 7).batch(2, 1);
    expect(() => log.append([wrong])).toThrow(StorageInvariantError);
  });

  it('replaces a conflicting suffix when an append starts inside the log (§5.3)', () => {
    const log = openLog(dir());
    const m = new EntryMaker();
    log.append([m.noop(1), m.batch(1, 2), m.batch(1, 2), m.batch(1, 2)]);
    const n = new EntryMaker(3, 2);
    const replacement = [n.noop(2), n.batch(2, 5)];
    log.append(replacement);
    expect(log.lastIndex()).toBe(4);
    expect(log.term(3)).toBe(2);
    expect(log.logEndOffset()).toBe(7);
    expect(summary(log.entries(3, 5, Infinity))).toEqual(summary(replacement));
  });

  it('refuses entries before the log start and gaps after the end', () => {
    const log = openLog(dir());
    const m = new EntryMaker();
    log.append([m.noop(1)]);
    m.nextIndex = 5;
    expect(() => log.append([m.noop(1)])).toThrow(StorageInvariantError);
    expect(() => log.entries(0, 1, 10)).toThrow(LogCompactedError);
  });
});

describe('segment log: rolling and retention', () => {
  it('rolls segments by size between appends, names them by first index, and reads across them', async () => {
    const d = dir();
    const log = openLog(d, { segmentBytes: 300 });
    const m = new EntryMaker();
    const es = Array.from({ length: 12 }, () => m.batch(1, 2));
    for (const e of es) log.append([e]);
    const files = segmentFiles(d).map((f) => f.split('/').pop());
    expect(files.length).toBeGreaterThanOrEqual(4);
    expect(files[0]).toBe('00000000000000000001.log');
    // Every segment but the active one is sealed, its index written by the next sync.
    await log.sync();
    expect(segmentFiles(d, '.index')).toHaveLength(files.length - 1);
    expect(summary(log.entries(1, 13, Infinity))).toEqual(summary(es));
  });

  it('rolls by age on the injected clock, without sleeping', () => {
    const d = dir();
    let now = 0;
    const log = openLog(d, { segmentMs: 1000 }, () => now);
    const m = new EntryMaker();
    log.append([m.batch(1)]);
    now = 999;
    log.append([m.batch(1)]);
    expect(segmentFiles(d)).toHaveLength(1);
    now = 1000;
    log.append([m.batch(1)]);
    expect(segmentFiles(d)).toHaveLength(2);
  });

  it('drops whole segments by total size, keeps the active one, and remembers the log start', () => {
    const d = dir();
    const log = openLog(d, { segmentBytes: 400 });
    const m = new EntryMaker();
    for (let i = 0; i < 30; i++) log.append([m.batch(1 + Math.floor(i / 10), 1)]);
    const before = log.status();
    const dropped = log.enforceRetention({ retentionBytes: 800, retentionMs: -1, upToIndex: 30 });
    expect(dropped).toBeGreaterThan(0);
    const after = log.status();
    expect(after.bytes).toBeLessThanOrEqual(800 + 400);
    expect(after.segments).toBe(before.segments - dropped);
    expect(log.firstIndex()).toBeGreaterThan(1);
    // Offsets and terms still answer at the new start, and the snapshot names it.
    const first = log.firstIndex();
    expect(log.term(first - 1)).toBe(1 + Math.floor((first - 2) / 10));
    expect(log.logStartOffset()).toBe(first - 1);
    const snap = log.snapshot();
    expect(snap.index).toBe(first - 1);
    expect(decodeLogStart(snap.data)).toBe(log.logStartOffset());
    expect(() => log.readBatches(0, 100, 30)).toThrow(OffsetOutOfRangeError);
    log.close();
    const reopened = openLog(d, { segmentBytes: 400 });
    expect(reopened.firstIndex()).toBe(first);
    expect(reopened.logStartOffset()).toBe(first - 1);
    expect(reopened.term(first - 1)).toBe(log.term(first - 1));
  });

  it('drops segments by age of their newest record, and never beyond the index it is allowed', () => {
    const d = dir();
    let now = 10_000;
    const log = openLog(d, { segmentBytes: 300 }, () => now);
    const m = new EntryMaker();
    for (let i = 0; i < 10; i++) log.append([m.batch(1, 1, 1000 + i * 100)]);
    now = 1000 + 5 * 100 + 60_000;
    // Records up to timestamp 1500 are more than 60 s old; the rest are not.
    expect(log.enforceRetention({ retentionBytes: -1, retentionMs: 60_000, upToIndex: 2 })).toBeLessThanOrEqual(2);
    expect(log.firstIndex()).toBeLessThanOrEqual(3);
    log.enforceRetention({ retentionBytes: -1, retentionMs: 60_000, upToIndex: 10 });
    // What is left starts with a record newer than the cut-off (1500), except inside the active segment.
    expect(log.firstIndex()).toBeGreaterThan(1);
    const h = readBatchHeader(log.entries(log.firstIndex(), log.firstIndex() + 1, Infinity)[0]!.data);
    expect(h.maxTimestamp).toBeGreaterThan(1000);
  });

  it('resets to an empty log after a snapshot from the leader (log start moved)', () => {
    const d = dir();
    const log = openLog(d);
    const m = new EntryMaker();
    log.append([m.batch(1), m.batch(1)]);
    log.resetTo(100, 7, 5000);
    expect(log.firstIndex()).toBe(101);
    expect(log.lastIndex()).toBe(100);
    expect(log.term(100)).toBe(7);
    expect(log.logEndOffset()).toBe(5000);
    const n = new EntryMaker(101, 5000);
    log.append([n.batch(8, 2)]);
    log.close();
    const again = openLog(d);
    expect(again.firstIndex()).toBe(101);
    expect(again.logEndOffset()).toBe(5002);
    expect(again.term(101)).toBe(8);
  });
});

describe('segment log: reading by offset (the fetch path)', () => {
  function filled(d: string, segmentBytes = 1 << 20, tailCacheBytes = 32 << 20): SegmentLog {
    const log = openLog(d, { segmentBytes, tailCacheBytes });
    const m = new EntryMaker();
    log.append([m.noop(1)]);
    for (let i = 0; i < 20; i++) log.append([m.batch(1, 5, 1000 + i), i % 4 === 0 ? m.noop(1) : m.batch(1, 1, 1000 + i)]);
    return log;
  }

  for (const [name, seg, cache] of [
    ['from the tail cache', 1 << 20, 32 << 20],
    ['from disk across segments', 700, 1],
  ] as const) {
    it(`returns the raw batches holding and following an offset, ${name}`, () => {
      const log = filled(dir(), seg, cache);
      const r = log.readBatches(7, 1 << 20, log.lastIndex());
      const first = readBatchHeader(r.batches[0]!);
      expect(first.baseOffset).toBeLessThanOrEqual(7);
      expect(first.baseOffset + first.lastOffsetDelta).toBeGreaterThanOrEqual(7);
      let expected = first.baseOffset;
      for (const b of r.batches) {
        const h = readBatchHeader(b);
        expect(h.baseOffset).toBe(expected);
        expected = h.baseOffset + h.lastOffsetDelta + 1;
      }
      expect(r.nextOffset).toBe(expected);
      expect(r.nextOffset).toBe(log.logEndOffset());
      const values = [...records(r.batches[0]!)].map((rec) => rec.offset);
      expect(values).toContain(7);
    });

    it(`always returns at least one batch, and stops at the byte budget and the commit index, ${name}`, () => {
      const log = filled(dir(), seg, cache);
      const one = log.readBatches(0, 1, log.lastIndex());
      expect(one.batches).toHaveLength(1);
      const budget = one.bytes * 3 + 1;
      const some = log.readBatches(0, budget, log.lastIndex());
      expect(some.bytes).toBeLessThanOrEqual(budget);
      expect(some.batches.length).toBeGreaterThanOrEqual(3);
      const upTo = log.readBatches(0, 1 << 20, 5);
      const entries = log.entries(1, 6, Infinity).filter((e) => e.kind === EntryKind.Normal);
      expect(upTo.batches.map((b) => Buffer.from(b).toString('hex'))).toEqual(entries.map((e) => Buffer.from(e.data).toString('hex')));
    });
  }

  it('answers an offset at the log end with nothing, and offsets outside the log with OffsetOutOfRange', () => {
    const log = filled(dir());
    expect(log.readBatches(log.logEndOffset(), 100, log.lastIndex()).batches).toEqual([]);
    expect(() => log.readBatches(log.logEndOffset() + 1, 100, log.lastIndex())).toThrow(OffsetOutOfRangeError);
    expect(() => log.readBatches(-1, 100, log.lastIndex())).toThrow(OffsetOutOfRangeError);
  });

  it('finds the high watermark offset for a commit index, and the first batch at or after a timestamp', () => {
    const log = filled(dir(), 700, 1);
    expect(log.offsetAfterIndex(0)).toBe(0);
    expect(log.offsetAfterIndex(1)).toBe(0);
    expect(log.offsetAfterIndex(2)).toBe(5);
    expect(log.offsetAfterIndex(log.lastIndex())).toBe(log.logEndOffset());
    const found = log.batchForTimestamp(1007, log.lastIndex());
    expect(found).not.toBeNull();
    expect(readBatchHeader(found!.batch).maxTimestamp).toBeGreaterThanOrEqual(1007);
    expect(log.batchForTimestamp(99_999, log.lastIndex())).toBeNull();
  });
});

describe('segment log: durability and fault points', () => {
  it('syncs once for many appends (group commit) and survives a reopen', async () => {
    const d = dir();
    const log = openLog(d);
    const m = new EntryMaker();
    const es = Array.from({ length: 50 }, () => m.batch(1, 2));
    for (const e of es) log.append([e]);
    await log.sync();
    log.close();
    const again = openLog(d);
    expect(summary(again.entries(1, 51, Infinity))).toEqual(summary(es));
    expect(again.recovery.truncatedBytes).toBe(0);
  });

  it('reads entries appended and not yet synced, and keeps no hold on their buffers once synced', async () => {
    const d = dir();
    const log = openLog(d);
    const m = new EntryMaker();
    const es = [m.batch(1, 2), m.batch(1, 3)];
    log.append(es);
    const want = summary(es);
    // Before the sync: served from the tail cache all the same.
    expect(summary(log.entries(1, 3, Infinity))).toEqual(want);
    log.append([m.batch(1)]);
    await log.sync();
    // The tail cache copied them: what the caller does with its buffers after the sync changes nothing.
    for (const e of es) (e.data as Buffer).fill(0);
    expect(summary(log.entries(1, 3, Infinity))).toEqual(want);
    expect(log.readBatches(0, Infinity, 3).batches.map((b) => Buffer.from(b).toString('hex')).slice(0, 2)).toEqual(want.map((w) => w[3]));
  });

  it('fires armed fault points of the faulty file system: throw on append, sync, roll and truncate; stall on sync', async () => {
    const faults = new FaultPoints();
    const fs = new FaultyFileSystem(nodeFileSystem, faults);
    const open = (d: string): SegmentLog => SegmentLog.open({ dir: d, fs, recordBatches: true, limits: { segmentBytes: 200 } });
    const m = new EntryMaker();
    const d = dir();
    const log = open(d);
    const first = m.batch(1);
    faults.arm('append', { action: 'throw' }, { once: true });
    expect(() => log.append([first])).toThrow(FaultInjectedError);
    log.close();
    // A write that failed leaves nothing a reopen would take for an entry.
    const again = open(d);
    expect(again.lastIndex()).toBe(0);
    again.append([first]);
    faults.arm('sync', { action: 'throw' }, { once: true });
    await expect(again.sync()).rejects.toThrow(FaultInjectedError);
    faults.arm('sync', { action: 'stall', ms: 50 }, { once: true });
    again.append([m.batch(1)]);
    const t0 = performance.now();
    await again.sync();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    again.append([m.batch(1, 1, 1000, 300)]); // fills the active segment past segmentBytes
    faults.arm('roll', { action: 'throw' }, { once: true });
    expect(() => again.append([m.batch(1)])).toThrow(FaultInjectedError);
    again.close();
    const third = open(d);
    faults.arm('truncate', { action: 'throw' }, { once: true });
    expect(() => third.truncateSuffix(2)).toThrow(FaultInjectedError);
    third.close();
  });

  it('parses fault points from the environment syntax and rejects unknown ones', () => {
    const f = FaultPoints.parse('sync:stall:5,append:throw:after:2');
    f.pass('append');
    f.pass('append');
    expect(() => f.pass('append')).toThrow(FaultInjectedError);
    expect(() => FaultPoints.parse('disk:throw')).toThrow(/unknown fault point 'disk'/);
  });
});

describe('a log reopened after its process was killed', () => {
  it('makes what it read back durable at its first sync, though it wrote nothing since', async () => {
    // Before: sync() did nothing until the next append, so entries a killed process had written
    // but not synced (readable from the page cache) were answered for after a restart, and a
    // power loss then took them.
    // A crash keeps none of what was not synced (random() is 0: the shortest prefix).
    const disk = new SimFs({ schedule: (fn) => queueMicrotask(fn), random: () => 0 });
    disk.mkdirSync('/p', { recursive: true });
    const make = new EntryMaker();
    const first = SegmentLog.open({ dir: '/p/log', recordBatches: true, fs: disk });
    first.append([make.batch(1), make.batch(1)]);
    await first.sync();
    first.append([make.batch(1), make.batch(1), make.batch(1)]);
    disk.closeAll(); // killed before its sync: the page cache keeps the writes
    const again = SegmentLog.open({ dir: '/p/log', recordBatches: true, fs: disk });
    expect(again.lastIndex()).toBe(5);
    await again.sync();
    disk.crash(); // then the power goes
    const after = SegmentLog.open({ dir: '/p/log', recordBatches: true, fs: disk });
    expect(after.lastIndex()).toBe(5);
  });
});
