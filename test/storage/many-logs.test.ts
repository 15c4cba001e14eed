/**
 * What many logs on one node cost (issue 22 §1): a quiet log must not hold a tail cache ring of its
 * whole capacity, the logs of a node together hold about their budget however busy, and a log
 * keeps one file open (its active segment) however many sealed segments it has. Reads outside the
 * ring, or of a sealed segment whose file was closed, come back byte for byte from the files.
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../raft/types.js';
import { systemClock } from '../../storage/clock.js';
import { nodeFileSystem, type FileSystem, type OpenFlags } from '../../storage/file-system.js';
import { SegmentFiles } from '../../storage/segment-files.js';
import { SegmentLog } from '../../storage/segment-log.js';
import { TailCacheBudget } from '../../storage/tail-cache.js';
import { EntryMaker, summary } from './log-fixtures.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const dir = tempDirs('raftlog-many-');
const MIB = 1024 * 1024;
/** What a node gives each partition's tail cache at most (src/node/node.ts PARTITION_TAIL_CACHE_BYTES). */
const PARTITION_TAIL_CACHE_BYTES = 8 * MIB;

/** The real disk, counting the descriptors open through it. */
class CountingFileSystem implements FileSystem {
  readonly open = new Map<number, { file: string; flags: OpenFlags }>();
  constructor(private readonly inner: FileSystem = nodeFileSystem) {}
  openSync(file: string, flags: OpenFlags): number {
    const fd = this.inner.openSync(file, flags);
    this.open.set(fd, { file, flags });
    return fd;
  }
  closeSync(fd: number): void {
    if (!this.open.delete(fd)) throw new Error(`closing ${fd}, which is not open`);
    this.inner.closeSync(fd);
  }
  readSync = (fd: number, buf: Uint8Array, offset: number, length: number, position: number): number => this.checked(fd, () => this.inner.readSync(fd, buf, offset, length, position));
  writeSync = (fd: number, buf: Uint8Array, offset: number, length: number, position: number): number => this.checked(fd, () => this.inner.writeSync(fd, buf, offset, length, position));
  writevSync = (fd: number, bufs: readonly Uint8Array[], position: number): number => this.checked(fd, () => this.inner.writevSync(fd, bufs, position));
  read = (fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> => this.checked(fd, () => this.inner.read(fd, buf, offset, length, position));
  write = (fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> => this.checked(fd, () => this.inner.write(fd, buf, offset, length, position));
  fstatSync = (fd: number): { readonly size: number } => this.checked(fd, () => this.inner.fstatSync(fd));
  ftruncateSync = (fd: number, length: number): void => this.checked(fd, () => this.inner.ftruncateSync(fd, length));
  fsyncSync = (fd: number): void => this.checked(fd, () => this.inner.fsyncSync(fd));
  fdatasyncSync = (fd: number): void => this.checked(fd, () => this.inner.fdatasyncSync(fd));
  fsync = (fd: number): Promise<void> => this.checked(fd, () => this.inner.fsync(fd));
  fdatasync = (fd: number): Promise<void> => this.checked(fd, () => this.inner.fdatasync(fd));
  readFileSync = (file: string): Buffer => this.inner.readFileSync(file);
  writeFileSync = (file: string, data: string | Uint8Array): void => this.inner.writeFileSync(file, data);
  existsSync = (file: string): boolean => this.inner.existsSync(file);
  readdirSync = (d: string): string[] => this.inner.readdirSync(d);
  mkdirSync = (d: string, options: { readonly recursive: true }): void => this.inner.mkdirSync(d, options);
  renameSync = (from: string, to: string): void => this.inner.renameSync(from, to);
  unlinkSync = (file: string): void => this.inner.unlinkSync(file);
  rmSync = (target: string, options: { readonly recursive?: boolean; readonly force?: boolean }): void => this.inner.rmSync(target, options);

  /** The files open now, in order of opening. */
  filesOpen(): string[] {
    return [...this.open.values()].map((o) => o.file);
  }

  /** Segment files open now. */
  segmentsOpen(): number {
    return [...this.open.values()].filter((o) => o.file.endsWith('.log')).length;
  }

  private checked<T>(fd: number, f: () => T): T {
    if (!this.open.has(fd)) throw new Error(`descriptor ${fd} is used but not open`);
    return f();
  }
}

/** Bytes of ArrayBuffers (Buffers included) the process holds now, after a collection when one can be asked for. */
function arrayBufferBytes(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().arrayBuffers;
}

describe('many logs on one node', () => {
  it('200 quiet logs with a few small entries each hold far less than a full tail cache ring each', () => {
    const before = arrayBufferBytes();
    const logs: SegmentLog[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        const log = SegmentLog.open({ dir: dir(), recordBatches: true, limits: { tailCacheBytes: PARTITION_TAIL_CACHE_BYTES } });
        const m = new EntryMaker();
        log.append([m.noop(1), m.batch(1, 2), m.batch(1, 1)]);
        logs.push(log);
      }
      const grown = arrayBufferBytes() - before;
      // A ring each of 8 MiB would be 1.6 GB; a small one each is a few MiB.
      expect(grown, `${(grown / MIB).toFixed(1)} MiB of ArrayBuffers for 200 quiet logs`).toBeLessThan(200 * 64 * 1024);
    } finally {
      for (const l of logs) l.close();
    }
  });

  it('200 busy logs sharing a budget hold at most the budget together, and every entry reads back, from the ring or from the files', () => {
    const budget = new TailCacheBudget(4 * MIB);
    const logs: { log: SegmentLog; entries: Entry[] }[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        const log = SegmentLog.open({ dir: dir(), recordBatches: true, limits: { tailCacheBytes: PARTITION_TAIL_CACHE_BYTES }, cacheBudget: budget });
        const m = new EntryMaker();
        const entries = Array.from({ length: 20 }, () => m.batch(1, 4, 1000, 1000));
        for (const e of entries) log.append([e]);
        logs.push({ log, entries });
      }
      expect(budget.logs).toBe(200);
      expect(budget.allocatedBytes).toBeLessThanOrEqual(4 * MIB);
      for (const { log, entries } of logs) {
        expect(log.hotFirstIndex(), 'the ring holds only the newest entries').toBeGreaterThan(1);
        expect(summary(log.entries(1, 21, Infinity))).toEqual(summary(entries));
        expect(log.readBatches(0, Infinity, 20).batches.map((b) => Buffer.from(b).toString('hex'))).toEqual(entries.map((e) => Buffer.from(e.data).toString('hex')));
      }
    } finally {
      for (const { log } of logs) log.close();
    }
    expect([budget.logs, budget.allocatedBytes]).toEqual([0, 0]);
  });

  it('a log quiet for long enough frees its ring; its entries read back from the files', () => {
    let now = 0;
    const log = SegmentLog.open({ dir: dir(), recordBatches: true, clock: { ...systemClock, now: () => now } });
    const m = new EntryMaker();
    const entries = [m.noop(1), m.batch(1, 3), m.batch(1, 2)];
    log.append(entries);
    expect(log.cacheBytes).toBeGreaterThan(0);
    now = 999;
    expect(log.releaseIdleCache(1000)).toBe(false);
    now = 1000;
    expect(log.releaseIdleCache(1000)).toBe(true);
    expect(log.cacheBytes).toBe(0);
    expect(summary(log.entries(1, 4, Infinity))).toEqual(summary(entries));
    expect(log.readBatches(0, Infinity, 3).nextOffset).toBe(5);
    expect(log.readAhead(1, Infinity), 'nothing is in memory: a follower from index 1 waits for a read ahead').toBe(false);
    log.close();
  });

  it('a log keeps one file open, its active segment, however many sealed segments it has; reads and reopening go through the capped shared files', async () => {
    const fs = new CountingFileSystem();
    const files = new SegmentFiles(fs, 2);
    const d = dir();
    // A tail cache of one byte holds nothing: every read goes to the files.
    const open = (): SegmentLog => SegmentLog.open({ dir: d, recordBatches: true, limits: { segmentBytes: 2000, tailCacheBytes: 1 }, fs, files });
    let log = open();
    const m = new EntryMaker();
    const entries: Entry[] = [];
    for (let i = 0; i < 100; i++) {
      const e = m.batch(1, 2, 1000, 300);
      entries.push(e);
      log.append([e]);
    }
    await log.sync();
    expect(log.status().segments).toBeGreaterThan(20);
    expect(fs.segmentsOpen()).toBe(1);
    expect(summary(log.entries(1, 101, Infinity))).toEqual(summary(entries));
    expect(log.readBatches(0, Infinity, 100).batches).toHaveLength(100);
    expect(log.batchForTimestamp(1000, 100)?.offset).toBe(0);
    expect(fs.segmentsOpen(), 'the active segment and at most 2 sealed ones').toBeLessThanOrEqual(3);
    // A follower's read ahead of a sealed segment, with reads of other segments while it is in flight.
    const done = new Promise<Error | null>((resolve) => (log.onReadAhead = resolve));
    expect(log.readAhead(1, Infinity)).toBe(false);
    expect(summary(log.entries(50, 101, Infinity))).toEqual(summary(entries.slice(49)));
    expect(await done).toBeNull();
    expect(log.readAhead(1, Infinity)).toBe(true);
    expect(summary(log.entries(1, 3, Infinity))).toEqual(summary(entries.slice(0, 2)));
    // A conflict truncating into a sealed segment makes it the active one again, written through a file of its own.
    log.truncateSuffix(10);
    const n = new EntryMaker(10, 18);
    const replacement = n.batch(2, 2, 1000, 300);
    log.append([replacement]);
    expect(summary(log.entries(9, 11, Infinity))).toEqual(summary([entries[8]!, replacement]));
    log.close();
    expect(fs.open.size, 'closing the log closes every file it opened').toBe(0);
    log = open();
    expect(fs.segmentsOpen(), 'reopened: the active segment and at most 2 sealed ones').toBeLessThanOrEqual(3);
    expect(summary(log.entries(1, 11, Infinity))).toEqual(summary([...entries.slice(0, 9), replacement]));
    log.close();
    expect(fs.open.size).toBe(0);
  });
});

describe('creating a log', () => {
  it("writes each derived file once for a new replica's log reset to its first configuration (each write is two fsyncs)", () => {
    const fs = new CountingFileSystem();
    const renames: string[] = [];
    const rename = fs.renameSync;
    fs.renameSync = (from: string, to: string): void => {
      renames.push(to.slice(to.lastIndexOf('/') + 1));
      rename(from, to);
    };
    const d = dir();
    const log = SegmentLog.open({ dir: d, recordBatches: true, fs });
    log.resetTo(0, 0, 0, { voters: ['n1', 'n2', 'n3'], learners: [] });
    expect(renames.sort()).toEqual(['configs', 'logstart', 'terms']);
    log.close();
    const again = SegmentLog.open({ dir: d, recordBatches: true, fs });
    expect(again.recovery).toMatchObject({ rebuiltTerms: false, rebuiltConfigs: false });
    expect(again.configurations()).toEqual([{ index: 0, membership: { voters: ['n1', 'n2', 'n3'], learners: [] } }]);
    again.close();
  });
});

describe('SegmentFiles', () => {
  it('closes the least recently used file past its capacity, never one pinned for a read in flight', () => {
    const fs = new CountingFileSystem();
    const d = dir();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => `${d}/${n}.log`) as [string, string, string];
    for (const n of [a, b, c]) fs.writeFileSync(n, n);
    const files = new SegmentFiles(fs, 1);
    const pinned = files.pin(a);
    files.fdFor(b);
    expect(fs.filesOpen(), 'a pinned: kept open past the capacity').toEqual([a, b]);
    files.fdFor(c);
    expect(fs.filesOpen(), 'b, not pinned, made room').toEqual([a, c]);
    pinned.release();
    expect(fs.filesOpen(), 'released: the capacity holds again').toEqual([c]);
    // Forgotten while pinned (its segment removed): closed at the release, and a new ask opens it anew.
    const again = files.pin(c);
    files.forget(c);
    expect(fs.filesOpen()).toEqual([c]);
    files.fdFor(c);
    expect(fs.filesOpen()).toEqual([c, c]);
    again.release();
    expect(fs.filesOpen()).toEqual([c]);
    expect(files.size).toBe(1);
  });
});
