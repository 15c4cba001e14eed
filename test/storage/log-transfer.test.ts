/**
 * Catch-up by files, the storage halves: a leader's files read in chunks of whole frames up to a
 * committed index (storage/log-transfer.ts), staged on a follower and swapped in atomically
 * (storage/log-install.ts, SegmentLog.install), and the cold entries a leader reads ahead off the
 * event loop (SegmentLog.readAhead). The crash test cuts the install after every disk call that
 * changes something, on the simulated disk, and reopens: the log is the old one or the new one.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../raft/random.js';
import type { Entry } from '../../raft/types.js';
import type { FileSystem, OpenFlags } from '../../storage/file-system.js';
import { VERIFY_FRAMES, TransferError, dropStaged, stagingDir } from '../../storage/log-install.js';
import { LogFileReader, type LogChunk } from '../../storage/log-transfer.js';
import { SegmentLog, decodeSnapshotStart } from '../../storage/segment-log.js';
import { SimFs } from '../sim/sim-fs.js';
import { EntryMaker, summary } from './log-fixtures.js';

const ROOT = '/proc/raftlog-test';
const LIMITS = { segmentBytes: 600, indexIntervalBytes: 128, tailCacheBytes: 300 };

function simFs(seed = 1): SimFs {
  return new SimFs({ schedule: (fn) => setImmediate(fn), random: seededRandom(seed) });
}

function open(fs: FileSystem, dir: string): SegmentLog {
  return SegmentLog.open({ dir, fs, recordBatches: true, limits: LIMITS });
}

/** A leader's log of `n` batches over several terms, rolled into many segments. */
function leaderLog(fs: FileSystem, n: number): { log: SegmentLog; entries: Entry[] } {
  fs.mkdirSync(`${ROOT}/leader`, { recursive: true });
  const log = open(fs, `${ROOT}/leader/log`);
  const m = new EntryMaker();
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) entries.push(m.batch(1 + Math.floor(i / 10), 1 + (i % 3)));
  for (const e of entries) log.append([e]);
  return { log, entries };
}

async function readAll(fs: FileSystem, log: SegmentLog, upTo: number, chunkBytes: number): Promise<LogChunk[]> {
  const start = decodeSnapshotStart(log.snapshot(upTo));
  const reader = new LogFileReader(fs, log.openFiles(upTo), start.index + 1, upTo, log.frameBytesMax);
  const out: LogChunk[] = [];
  for (let c = await reader.read(chunkBytes); c !== null; c = await reader.read(chunkBytes)) out.push(c);
  return out;
}

/** What a follower does with the chunks (src/host/log-recovery.ts): stage them, verified, in `<dir>.incoming`. */
async function stage(fs: FileSystem, follower: SegmentLog, snapshotOf: SegmentLog, upTo: number, chunks: readonly LogChunk[]): Promise<void> {
  const start = decodeSnapshotStart(snapshotOf.snapshot(upTo));
  const dir = follower.options.dir;
  dropStaged(fs, dir);
  const staged = SegmentLog.open({ ...follower.options, dir: stagingDir(dir) });
  staged.resetTo(start.index, start.term, start.offset, start.membership ?? undefined);
  for (const c of chunks) staged.append(VERIFY_FRAMES.entries(c.bytes, staged.frameBytesMax));
  await staged.sync();
  staged.close();
}

describe('reading a leader log for a follower (LogFileReader)', () => {
  it('sends every entry after the log start up to the committed index, in chunks of whole frames, and nothing after it', async () => {
    const fs = simFs();
    const { log, entries } = leaderLog(fs, 60);
    const upTo = 47;
    const chunks = await readAll(fs, log, upTo, 200);
    expect(chunks.length).toBeGreaterThan(3);
    const got = chunks.flatMap((c) => VERIFY_FRAMES.entries(c.bytes, log.frameBytesMax));
    expect(summary(got)).toEqual(summary(entries.slice(0, upTo)));
    for (const c of chunks) {
      const frames = VERIFY_FRAMES.entries(c.bytes, log.frameBytesMax);
      expect([frames[0]!.index, frames[frames.length - 1]!.index]).toEqual([c.firstIndex, c.lastIndex]);
      // At most the chunk size, unless one frame alone is larger.
      expect(c.bytes.byteLength <= 200 || frames.length === 1).toBe(true);
    }
  });

  it('a frame larger than a chunk makes a chunk of its own', async () => {
    const fs = simFs();
    const { log } = leaderLog(fs, 12);
    const chunks = await readAll(fs, log, 12, 16);
    expect(chunks.map((c) => c.lastIndex - c.firstIndex)).toEqual(Array.from({ length: 12 }, () => 0));
  });

  it('keeps reading a segment that retention removed after the transfer opened it', async () => {
    const fs = simFs();
    const { log, entries } = leaderLog(fs, 60);
    const start = decodeSnapshotStart(log.snapshot(60));
    const reader = new LogFileReader(fs, log.openFiles(60), start.index + 1, 60, log.frameBytesMax);
    const first = await reader.read(100);
    expect(log.truncatePrefix(40)).toBeGreaterThan(0);
    const rest: Entry[] = [];
    for (let c = await reader.read(100); c !== null; c = await reader.read(100)) rest.push(...VERIFY_FRAMES.entries(c.bytes, log.frameBytesMax));
    expect(summary([...VERIFY_FRAMES.entries(first!.bytes, log.frameBytesMax), ...rest])).toEqual(summary(entries));
  });

  it('stops on a damaged frame in the leader files (a CorruptLogError, not bytes sent on)', async () => {
    const fs = simFs();
    const { log } = leaderLog(fs, 30);
    await log.sync();
    const file = `${ROOT}/leader/log/00000000000000000001.log`;
    const b = Buffer.alloc(1);
    const fd = fs.openSync(file, 'r+');
    fs.readSync(fd, b, 0, 1, 60);
    b[0]! ^= 0x04;
    fs.writeSync(fd, b, 0, 1, 60);
    fs.closeSync(fd);
    await expect(readAll(fs, log, 30, 1000)).rejects.toThrow(/damaged|checksum|length/);
  });
});

describe('a chunk from the leader (VERIFY_FRAMES)', () => {
  it('is refused when a bit flipped on the way, or it ends inside a frame', async () => {
    const fs = simFs();
    const { log } = leaderLog(fs, 20);
    const [c] = await readAll(fs, log, 20, 10_000);
    for (const at of [0, 5, 9, 30, c!.bytes.byteLength - 1]) {
      const bad = Buffer.from(c!.bytes);
      bad[at]! ^= 0x10;
      expect(() => VERIFY_FRAMES.entries(bad, log.frameBytesMax)).toThrow(TransferError);
    }
    expect(() => VERIFY_FRAMES.entries(c!.bytes.subarray(0, c!.bytes.byteLength - 3), log.frameBytesMax)).toThrow(/ends inside a frame/);
  });
});

describe('installing a staged log (SegmentLog.install)', () => {
  it('replaces the follower log with the leader one, which reads back whole and takes appends after it', async () => {
    const fs = simFs();
    const { log: leader, entries } = leaderLog(fs, 80);
    fs.mkdirSync(`${ROOT}/f`, { recursive: true });
    const follower = open(fs, `${ROOT}/f/log`);
    // The follower's own log diverges from the leader's after index 5.
    const own = new EntryMaker();
    for (let i = 0; i < 5; i++) follower.append([entries[i]!]);
    own.nextIndex = 6;
    own.nextOffset = 5 + entries.slice(0, 5).reduce((n, _e, i) => n + (i % 3), 0);
    await follower.sync();
    await stage(fs, follower, leader, 70, await readAll(fs, leader, 70, 256));
    follower.install(0, 70, entries[69]!.term);
    expect([follower.firstIndex(), follower.lastIndex(), follower.term(70)]).toEqual([1, 70, entries[69]!.term]);
    expect(summary(follower.entries(1, 71, Infinity))).toEqual(summary(entries.slice(0, 70)));
    expect(fs.existsSync(stagingDir(`${ROOT}/f/log`))).toBe(false);
    follower.append(entries.slice(70));
    await follower.sync();
    follower.close();
    const again = open(fs, `${ROOT}/f/log`);
    expect(summary(again.entries(1, 81, Infinity))).toEqual(summary(entries));
  });

  it('refuses a staged log that does not end where the snapshot says', async () => {
    const fs = simFs();
    const { log: leader, entries } = leaderLog(fs, 40);
    fs.mkdirSync(`${ROOT}/f`, { recursive: true });
    const follower = open(fs, `${ROOT}/f/log`);
    await stage(fs, follower, leader, 30, await readAll(fs, leader, 30, 256));
    expect(() => follower.install(0, 31, entries[30]!.term)).toThrow(/staged/);
    expect(follower.lastIndex()).toBe(0);
  });

  it('a crash after any disk call of the install leaves the old log or the new one, never a mix', async () => {
    for (let cut = 0; ; cut++) {
      const fs = simFs(cut + 1);
      const { log: leader, entries } = leaderLog(fs, 50);
      fs.mkdirSync(`${ROOT}/f`, { recursive: true });
      const cutting = new CrashAfter(fs);
      const follower = open(cutting, `${ROOT}/f/log`);
      const old = entries.slice(0, 7);
      follower.append(old);
      await follower.sync();
      await stage(fs, follower, leader, 45, await readAll(fs, leader, 45, 300));
      let finished = true;
      try {
        cutting.arm(cut);
        follower.install(0, 45, entries[44]!.term);
      } catch (err) {
        if (!(err instanceof Crash)) throw err;
        finished = false;
      }
      fs.crash();
      const reopened = open(fs, `${ROOT}/f/log`);
      const held = summary(reopened.entries(1, reopened.lastIndex() + 1, Infinity));
      const isOld = reopened.lastIndex() === 7 && JSON.stringify(held) === JSON.stringify(summary(old));
      const isNew = reopened.lastIndex() === 45 && JSON.stringify(held) === JSON.stringify(summary(entries.slice(0, 45)));
      expect(isOld || isNew, `crash after ${cut} disk calls: the log holds 1..${reopened.lastIndex()}`).toBe(true);
      expect(fs.existsSync(stagingDir(`${ROOT}/f/log`)), `crash after ${cut}: the staging is gone`).toBe(false);
      if (finished) {
        expect(isNew).toBe(true);
        expect(cut).toBeGreaterThan(3);
        return;
      }
    }
  });
});

describe('reading ahead for a follower behind the tail cache (SegmentLog.readAhead)', () => {
  it('is not ready at once for cold entries, then serves them from memory; a truncation drops what it covers', async () => {
    const fs = simFs();
    const { log, entries } = leaderLog(fs, 60);
    expect(log.hotFirstIndex()).toBeGreaterThan(10);
    expect(log.coldBytes(1)).toBeGreaterThan(log.coldBytes(10));
    expect(log.coldBytes(log.hotFirstIndex())).toBe(0);
    let told = 0;
    log.onReadAhead = (err) => {
      expect(err).toBeNull();
      told++;
    };
    expect(log.readAhead(3, 1000)).toBe(false);
    await new Promise((r) => setTimeout(r, 20));
    expect(told).toBe(1);
    expect(log.readAhead(3, 1000)).toBe(true);
    // Served from the window: a read of the disk would fail now.
    const reads = countReads(fs);
    // As far as the window reaches (the end of its segment), at least one entry.
    const got = log.entries(3, 8, Infinity);
    expect(got.length).toBeGreaterThan(0);
    expect(summary(got)).toEqual(summary(entries.slice(2, 2 + got.length)));
    expect(reads()).toBe(0);
    log.truncateSuffix(4);
    expect(log.readAhead(3, 1000)).toBe(true);
    expect(log.readAhead(4, 1000)).toBe(true); // past the end of the log: nothing to read
    expect(summary(log.entries(3, 4, Infinity))).toEqual(summary(entries.slice(2, 3)));
  });
});

/** How many synchronous reads the disk serves from now on. */
function countReads(fs: SimFs): () => number {
  let n = 0;
  const read = fs.readSync.bind(fs);
  fs.readSync = (...args) => {
    n++;
    return read(...args);
  };
  return () => n;
}

class Crash extends Error {}

/** A disk that throws Crash instead of making its `after`+1-th change (a write, a sync, a rename, a removal). */
class CrashAfter implements FileSystem {
  private left = Number.POSITIVE_INFINITY;
  constructor(private readonly fs: SimFs) {}
  /** From now on, `after` changes go through and the next throws. */
  arm(after: number): void {
    this.left = after;
  }
  private change(): void {
    if (this.left-- <= 0) throw new Crash('crash');
  }
  openSync(file: string, flags: OpenFlags): number {
    if (flags !== 'r') this.change();
    return this.fs.openSync(file, flags);
  }
  closeSync(fd: number): void {
    this.fs.closeSync(fd);
  }
  readSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.fs.readSync(fd, buf, offset, length, position);
  }
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.fs.read(fd, buf, offset, length, position);
  }
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    this.change();
    return this.fs.writeSync(fd, buf, offset, length, position);
  }
  writevSync(fd: number, bufs: readonly Uint8Array[], position: number): number {
    this.change();
    return this.fs.writevSync(fd, bufs, position);
  }
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    this.change();
    return this.fs.write(fd, buf, offset, length, position);
  }
  fstatSync(fd: number): { readonly size: number } {
    return this.fs.fstatSync(fd);
  }
  ftruncateSync(fd: number, length: number): void {
    this.change();
    this.fs.ftruncateSync(fd, length);
  }
  fsyncSync(fd: number): void {
    this.change();
    this.fs.fsyncSync(fd);
  }
  fdatasyncSync(fd: number): void {
    this.change();
    this.fs.fdatasyncSync(fd);
  }
  fsync(fd: number): Promise<void> {
    this.change();
    return this.fs.fsync(fd);
  }
  fdatasync(fd: number): Promise<void> {
    this.change();
    return this.fs.fdatasync(fd);
  }
  readFileSync(file: string): Buffer {
    return this.fs.readFileSync(file);
  }
  writeFileSync(file: string, data: string | Uint8Array): void {
    this.change();
    this.fs.writeFileSync(file, data);
  }
  existsSync(file: string): boolean {
    return this.fs.existsSync(file);
  }
  readdirSync(dir: string): string[] {
    return this.fs.readdirSync(dir);
  }
  mkdirSync(dir: string, options: { readonly recursive: true }): void {
    this.change();
    this.fs.mkdirSync(dir, options);
  }
  renameSync(from: string, to: string): void {
    this.change();
    this.fs.renameSync(from, to);
  }
  unlinkSync(file: string): void {
    this.change();
    this.fs.unlinkSync(file);
  }
  rmSync(target: string, options: { readonly recursive?: boolean; readonly force?: boolean }): void {
    this.change();
    this.fs.rmSync(target, options);
  }
}
