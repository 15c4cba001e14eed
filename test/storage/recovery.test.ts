import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../raft/types.js';
import { CorruptLogError } from '../../storage/errors.js';
import { FRAME_HEADER_BYTES } from '../../storage/frame.js';
import type { SegmentLog } from '../../storage/segment-log.js';
import { EntryMaker, openLog, segmentFiles, summary } from './log-fixtures.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const dir = tempDirs('raftlog-test-');

const LIMITS = { segmentBytes: 700, indexIntervalBytes: 128, tailCacheBytes: 1 };

/** A log of several sealed segments and an active one; returns the entries written. */
function build(d: string, count = 30, limits = LIMITS): Entry[] {
  const log = openLog(d, limits);
  const m = new EntryMaker();
  const es: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const e = i % 7 === 0 ? m.noop(1 + Math.floor(i / 10)) : m.batch(1 + Math.floor(i / 10), 1 + (i % 3));
    log.append([e]);
    es.push(e);
  }
  log.close();
  return es;
}

function all(log: SegmentLog): Entry[] {
  return log.lastIndex() < log.firstIndex() ? [] : log.entries(log.firstIndex(), log.lastIndex() + 1, Infinity);
}

/** Byte position where each entry's frame ends in `file`, in order. */
function frameEnds(es: readonly Entry[], firstIndexInFile: number): number[] {
  const ends: number[] = [];
  let pos = 0;
  for (const e of es) {
    if (e.index < firstIndexInFile) continue;
    pos += FRAME_HEADER_BYTES + e.data.byteLength;
    ends.push(pos);
  }
  return ends;
}

function activeFile(d: string): { file: string; base: number } {
  const files = segmentFiles(d);
  const file = files[files.length - 1]!;
  return { file, base: Number(path.basename(file).slice(0, 20)) };
}

function flipByte(file: string, at: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0] = b[0]! ^ 0x10;
  fs.writeSync(fd, b, 0, 1, at);
  fs.closeSync(fd);
}

describe('recovery: the log is the truth, and exactly its valid prefix survives', () => {
  it('cut at every byte of the active segment: keeps every whole entry before the cut, nothing after', () => {
    const d = dir();
    const es = build(d);
    const { file, base } = activeFile(d);
    const original = fs.readFileSync(file);
    const ends = frameEnds(es, base);
    for (let cut = 0; cut <= original.length; cut++) {
      fs.writeFileSync(file, original.subarray(0, cut));
      const log = openLog(d, LIMITS);
      const whole = ends.filter((e) => e <= cut).length;
      expect(log.lastIndex(), `cut at byte ${cut}`).toBe(base - 1 + whole);
      expect(summary(all(log))).toEqual(summary(es.slice(0, base - 1 + whole)));
      expect(fs.statSync(file).size).toBe(whole === 0 ? 0 : ends[whole - 1]);
      log.close();
      fs.writeFileSync(file, original); // the reopen truncated it; put it back for the next cut
    }
  });

  it('drops garbage written after the last entry', () => {
    const d = dir();
    const es = build(d);
    const { file } = activeFile(d);
    for (const garbage of [Buffer.alloc(100, 0), Buffer.from('this is not a frame at all, just text'), Buffer.from([0, 0, 0, 40, 1, 2, 3])]) {
      fs.appendFileSync(file, garbage);
      const log = openLog(d, LIMITS);
      expect(summary(all(log))).toEqual(summary(es));
      expect(log.recovery.truncatedBytes).toBe(garbage.length);
      log.close();
    }
  });

  it('drops a damaged last entry of the active segment (a torn write) and keeps all before it', () => {
    const d = dir();
    const es = build(d);
    const { file, base } = activeFile(d);
    const ends = frameEnds(es, base);
    const lastStart = ends[ends.length - 2]!;
    for (const at of [lastStart + 2, lastStart + 5, lastStart + 13, lastStart + FRAME_HEADER_BYTES + 3, ends[ends.length - 1]! - 1]) {
      const copy = fs.readFileSync(file);
      flipByte(file, at);
      const log = openLog(d, LIMITS);
      expect(summary(all(log)), `flip at ${at}`).toEqual(summary(es.slice(0, -1)));
      log.close();
      fs.writeFileSync(file, copy);
    }
  });

  it('refuses to open when an earlier entry of the active segment is damaged and valid entries follow it', () => {
    const d = dir();
    const es = build(d, 30, { ...LIMITS, segmentBytes: 1 << 20 });
    const { file, base } = activeFile(d);
    const ends = frameEnds(es, base);
    expect(ends.length).toBeGreaterThanOrEqual(3);
    flipByte(file, ends[0]! + FRAME_HEADER_BYTES + 1);
    expect(() => openLog(d, LIMITS)).toThrow(CorruptLogError);
    try {
      openLog(d, LIMITS);
    } catch (err) {
      expect(err).toBeInstanceOf(CorruptLogError);
      const c = err as CorruptLogError;
      expect(c.file).toBe(file);
      expect(c.position).toBe(ends[0]);
      expect(c.message).toMatch(/checksum/);
      expect(c.message).toMatch(/restore it from the other replicas/);
    }
    // The data is still on disk, untouched.
    expect(fs.statSync(file).size).toBe(ends[ends.length - 1]);
  });

  it('serves nothing invalid from a damaged sealed segment: reads up to the damage work, the damaged entry is refused', () => {
    const d = dir();
    const es = build(d);
    const first = segmentFiles(d)[0]!;
    const ends = frameEnds(es, 1);
    const damaged = 3; // the 4th entry of the first segment
    expect(ends[damaged]).toBeLessThan(fs.statSync(first).size);
    flipByte(first, ends[damaged - 1]! + FRAME_HEADER_BYTES + 2);
    const log = openLog(d, LIMITS);
    expect(summary(log.entries(1, damaged + 1, Infinity))).toEqual(summary(es.slice(0, damaged)));
    expect(() => log.entries(1, damaged + 2, Infinity)).toThrow(CorruptLogError);
    expect(() => log.readBatches(0, 1 << 20, log.lastIndex())).toThrow(CorruptLogError);
    log.close();
    // Without its index the segment is rescanned on open, and the damage stops the open.
    fs.rmSync(first.replace(/\.log$/, '.index'));
    expect(() => openLog(d, LIMITS)).toThrow(CorruptLogError);
  });

  it('rebuilds damaged, missing, torn or stale indexes from the log, with identical results', () => {
    const d = dir();
    build(d);
    const indexes = segmentFiles(d, '.index');
    expect(indexes.length).toBeGreaterThan(1);
    const reference = openLog(d, LIMITS);
    const ref = { entries: summary(all(reference)), hw: reference.offsetAfterIndex(20), read: reference.readBatches(11, 1 << 20, 30).batches.length };
    reference.close();
    const damages: [string, (f: string) => void][] = [
      ['garbage', (f) => fs.writeFileSync(f, Buffer.from('garbage garbage garbage garbage garbage garbage'))],
      ['missing', (f) => fs.rmSync(f)],
      ['torn', (f) => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2))],
      ['flipped', (f) => flipByte(f, 20)],
      ['empty', (f) => fs.writeFileSync(f, Buffer.alloc(0))],
    ];
    for (const [name, damage] of damages) {
      for (const f of indexes) damage(f);
      const log = openLog(d, LIMITS);
      expect(log.recovery.rebuiltIndexes, name).toBe(indexes.length);
      expect(summary(all(log)), name).toEqual(ref.entries);
      expect(log.offsetAfterIndex(20)).toBe(ref.hw);
      expect(log.readBatches(11, 1 << 20, 30).batches.length).toBe(ref.read);
      log.close();
      // Rebuilt indexes are trusted on the next open.
      const again = openLog(d, LIMITS);
      expect(again.recovery.rebuiltIndexes).toBe(0);
      again.close();
    }
  });

  it('rebuilds the term boundaries when their file is damaged or missing', () => {
    const d = dir();
    const es = build(d);
    const termsFile = path.join(d, 'terms');
    for (const damage of [() => fs.writeFileSync(termsFile, 'nonsense'), () => fs.rmSync(termsFile), () => flipByte(termsFile, 14)]) {
      damage();
      const log = openLog(d, LIMITS);
      expect(log.recovery.rebuiltTerms).toBe(true);
      for (const e of es) expect(log.term(e.index)).toBe(e.term);
      log.close();
    }
  });

  it('recovers a log whose every segment was sealed but the newest file never got an entry', () => {
    const d = dir();
    const es = build(d);
    const log = openLog(d, LIMITS);
    expect(summary(all(log))).toEqual(summary(es));
    // An empty active segment (crash right after a roll) is a valid state.
    const { file } = activeFile(d);
    fs.truncateSync(file, 0);
    log.close();
    const again = openLog(d, LIMITS);
    const base = Number(path.basename(file).slice(0, 20));
    expect(again.lastIndex()).toBe(base - 1);
    expect(summary(all(again))).toEqual(summary(es.slice(0, base - 1)));
  });
});
