/**
 * The configurations a segment log keeps (LogStorage.configurations): the one at the log start in
 * `logstart`, the configuration entries after it in memory and in the derived `configs` file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeMembership, type Membership } from '../../raft/membership.js';
import { encodePromotion } from '../../raft/rejoin.js';
import { EntryKind, type Entry } from '../../raft/types.js';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import { CorruptLogError } from '../../storage/errors.js';
import { writeU64 } from '../../storage/frame.js';
import { SegmentLog } from '../../storage/segment-log.js';
import { EntryMaker, openLog, segmentFiles, summary } from './log-fixtures.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const dir = tempDirs('raftlog-test-');

/** Small segments, so that a few entries make several of them. */
const LIMITS = { segmentBytes: 300 };
const LOGSTART_MAGIC = 0x524c5331;

const A: Membership = { voters: ['n1', 'n2', 'n3'], learners: [] };
const B: Membership = { voters: ['n1', 'n2', 'n3'], learners: ['n4'] };
const C: Membership = { voters: ['n1', 'n2', 'n3', 'n4'], learners: [] };
const D: Membership = { voters: ['n2', 'n3', 'n4'], learners: [] };

function config(m: EntryMaker, term: number, membership: Membership): Entry {
  return { index: m.nextIndex++, term, kind: EntryKind.Config, data: encodeMembership(membership) };
}

/**
 * A log of 40 entries over several segments: configuration A at 3, B at 12, C at 25 and D at 38
 * (in the active segment), a rejoin promotion (not a configuration) at 20, batches between.
 */
function build(d: string): { log: SegmentLog; entries: Entry[] } {
  const log = openLog(d, LIMITS);
  const m = new EntryMaker();
  const entries: Entry[] = [];
  for (let i = 1; i <= 40; i++) {
    const term = i < 20 ? 1 : 2;
    let e: Entry;
    if (i === 3) e = config(m, term, A);
    else if (i === 12) e = config(m, term, B);
    else if (i === 25) e = config(m, term, C);
    else if (i === 38) e = config(m, term, D);
    else if (i === 20) e = { index: m.nextIndex++, term, kind: EntryKind.Config, data: encodePromotion({ promote: 'n3', rejoin: 'inc-2' }) };
    else e = m.batch(term, 1);
    log.append([e]);
    entries.push(e);
  }
  return { log, entries };
}

const ALL = [
  { index: 3, membership: A },
  { index: 12, membership: B },
  { index: 25, membership: C },
  { index: 38, membership: D },
];

function logStartBody(index: number, term: number, offset: number): Buffer {
  const b = Buffer.alloc(24);
  writeU64(b, 0, index);
  writeU64(b, 8, term);
  writeU64(b, 16, offset);
  return b;
}

describe('segment log: configurations', () => {
  it('tracks configuration entries as they are appended, and finds them again after a reopen', async () => {
    const d = dir();
    const { log } = build(d);
    expect(segmentFiles(d).length).toBeGreaterThan(3);
    // The active segment holds the last one; the sealed ones the others.
    const activeBase = Number(path.basename(segmentFiles(d).pop()!).slice(0, 20));
    expect(activeBase).toBeLessThanOrEqual(38);
    expect(activeBase).toBeGreaterThan(25);
    expect(log.configurations()).toEqual(ALL);
    // A log that never moved its start knows no configuration there.
    expect(log.snapshot().membership).toBeUndefined();
    await log.sync();
    log.close();
    const again = openLog(d, LIMITS);
    expect(again.recovery.rebuiltConfigs).toBe(false);
    expect(again.recovery.scannedSegments).toBe(1);
    expect(again.configurations()).toEqual(ALL);
    again.close();
  });

  it('a log that never held a configuration entry has none, and rejoin promotions are none', () => {
    const log = openLog(dir(), LIMITS);
    const m = new EntryMaker();
    log.append([m.batch(1), { index: m.nextIndex++, term: 1, kind: EntryKind.Config, data: encodePromotion({ promote: 'n2', rejoin: 'x' }) }, m.noop(1)]);
    expect(log.configurations()).toEqual([]);
    log.close();
  });

  it('drops the configurations of a truncated suffix, inside the active segment and across sealed ones, and after a reopen too', async () => {
    const d = dir();
    const { log } = build(d);
    // A conflict inside the active segment takes D with it.
    log.truncateSuffix(38);
    expect(log.configurations()).toEqual(ALL.slice(0, 3));
    // A new leader's entries replace a suffix reaching into the sealed segments, and carry their own configuration.
    const m = new EntryMaker(20, 17);
    log.append([m.batch(3), config(m, 3, D), m.batch(3)]);
    expect(log.lastIndex()).toBe(22);
    expect(log.configurations()).toEqual([...ALL.slice(0, 2), { index: 21, membership: D }]);
    await log.sync();
    log.close();
    const again = openLog(d, LIMITS);
    expect(again.configurations()).toEqual([...ALL.slice(0, 2), { index: 21, membership: D }]);
    // Back to before B: the log's configurations are A alone.
    again.truncateSuffix(12);
    expect(again.configurations()).toEqual(ALL.slice(0, 1));
    again.close();
    expect(openLog(d, LIMITS).configurations()).toEqual(ALL.slice(0, 1));
  });

  it('keeps the configuration of entries that retention dropped as the log start\'s, in the snapshot too, after a reopen too', () => {
    const d = dir();
    const { log } = build(d);
    // Drop the segments that end before 26: C (at 25) is dropped or is the log start.
    const dropped = log.truncatePrefix(26);
    expect(dropped).toBeGreaterThan(0);
    const start = log.firstIndex() - 1;
    expect(start).toBeGreaterThanOrEqual(12);
    expect(start).toBeLessThan(38);
    const atStart = start >= 25 ? C : B;
    const expected = [{ index: start, membership: atStart }, ...ALL.filter((c) => c.index > start)];
    expect(log.configurations()).toEqual(expected);
    expect(log.snapshot()).toMatchObject({ index: start, membership: atStart });
    log.close();
    const again = openLog(d, LIMITS);
    expect(again.configurations()).toEqual(expected);
    expect(again.snapshot().membership).toEqual(atStart);
    // Retention again, past no configuration entry: the start's configuration stays the same.
    const m = new EntryMaker(41, again.logEndOffset());
    for (let i = 0; i < 30; i++) again.append([m.batch(3)]);
    again.truncatePrefix(60);
    expect(again.firstIndex()).toBeGreaterThan(41);
    expect(again.configurations()).toEqual([{ index: again.firstIndex() - 1, membership: D }]);
    again.close();
    expect(openLog(d, LIMITS).configurations()).toEqual([{ index: again.firstIndex() - 1, membership: D }]);
  });

  it('retention before any configuration entry leaves the log start without one', () => {
    const d = dir();
    const log = openLog(d, LIMITS);
    const m = new EntryMaker();
    for (let i = 0; i < 20; i++) log.append([m.batch(1)]);
    log.append([config(m, 1, B)]);
    log.truncatePrefix(15);
    expect(log.firstIndex()).toBeGreaterThan(1);
    expect(log.configurations()).toEqual([{ index: 21, membership: B }]);
    expect(log.snapshot().membership).toBeUndefined();
    // Without a configuration, the log start is written as it always was: 24 bytes.
    expect(fs.statSync(path.join(d, 'logstart')).size).toBe(12 + 24);
    log.close();
  });

  it('a retention cut short after it wrote the log start: the configurations it dropped are not counted twice', () => {
    const d = dir();
    const { log } = build(d);
    const before = fs.readFileSync(path.join(d, 'configs'));
    log.truncatePrefix(26);
    const start = log.firstIndex() - 1;
    const expected = log.configurations();
    log.close();
    // The configs file as it was before the retention (the crash came before it was rewritten).
    fs.writeFileSync(path.join(d, 'configs'), before);
    const again = openLog(d, LIMITS);
    expect(again.firstIndex() - 1).toBe(start);
    expect(again.configurations()).toEqual(expected);
    again.close();
  });

  it('resets to a snapshot\'s configuration, or to none, and keeps it after a reopen', () => {
    const d = dir();
    const { log } = build(d);
    log.resetTo(100, 5, 500, C);
    expect(log.configurations()).toEqual([{ index: 100, membership: C }]);
    expect(log.snapshot()).toMatchObject({ index: 100, term: 5, membership: C });
    const m = new EntryMaker(101, 500);
    log.append([m.batch(5), config(m, 5, D)]);
    expect(log.configurations()).toEqual([{ index: 100, membership: C }, { index: 102, membership: D }]);
    log.close();
    const again = openLog(d, LIMITS);
    expect(again.configurations()).toEqual([{ index: 100, membership: C }, { index: 102, membership: D }]);
    expect(again.snapshot().membership).toEqual(C);
    // A reset without one (a leader that sends none) forgets them all.
    again.resetTo(200, 6, 600);
    expect(again.configurations()).toEqual([]);
    expect(again.snapshot().membership).toBeUndefined();
    again.close();
    expect(openLog(d, LIMITS).configurations()).toEqual([]);
  });

  it('rebuilds the configs file from the segments when it is missing, damaged or stale, with the same answer', async () => {
    const d = dir();
    const { log } = build(d);
    await log.sync();
    log.close();
    const file = path.join(d, 'configs');
    const flip = (): void => {
      const b = fs.readFileSync(file);
      b[20] = b[20]! ^ 0xff;
      fs.writeFileSync(file, b);
    };
    const damages: [string, () => void][] = [
      ['missing', () => fs.rmSync(file)],
      ['not ours', () => fs.writeFileSync(file, 'nonsense')],
      ['a flipped byte', flip],
      ['torn', () => fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 30))],
    ];
    for (const [name, damage] of damages) {
      damage();
      const again = openLog(d, LIMITS);
      expect(again.recovery.rebuiltConfigs, name).toBe(true);
      expect(again.configurations(), name).toEqual(ALL);
      again.close();
      // Rebuilt, the file is trusted on the next open.
      const next = openLog(d, LIMITS);
      expect(next.recovery.rebuiltConfigs, name).toBe(false);
      expect(next.recovery.scannedSegments, name).toBe(1);
      expect(next.configurations(), name).toEqual(ALL);
      next.close();
    }
  });

  it('scans the sealed segments past what the configs file covers', async () => {
    const d = dir();
    const log = openLog(d, LIMITS);
    const m = new EntryMaker();
    log.append([m.batch(1), config(m, 1, A)]);
    for (let i = 0; i < 5; i++) log.append([m.batch(1)]);
    await log.sync();
    log.close();
    const early = fs.readFileSync(path.join(d, 'configs'));
    const more = openLog(d, LIMITS);
    for (let i = 0; i < 10; i++) more.append([m.batch(1)]);
    more.append([config(m, 1, B)]);
    for (let i = 0; i < 20; i++) more.append([m.batch(1)]);
    const expected = more.configurations();
    expect(expected).toEqual([{ index: 2, membership: A }, { index: 18, membership: B }]);
    await more.sync();
    more.close();
    // The file from before B's segment was sealed: its entry must come from a scan.
    fs.writeFileSync(path.join(d, 'configs'), early);
    const again = openLog(d, LIMITS);
    expect(again.recovery.rebuiltConfigs).toBe(false);
    expect(again.recovery.scannedSegments).toBeGreaterThan(1);
    expect(again.configurations()).toEqual(expected);
    again.close();
  });

  it('a repair that drops damaged segments drops their configurations, in the configs file too', async () => {
    const d = dir();
    const { log } = build(d);
    await log.sync();
    log.close();
    // Damage in the first frame of the sealed segment that holds B (at 12): the repair keeps what comes before it.
    const seg = segmentFiles(d).filter((f) => Number(path.basename(f).slice(0, 20)) <= 12).pop()!;
    expect(Number(path.basename(seg).slice(0, 20))).toBeGreaterThan(3);
    const b = fs.readFileSync(seg);
    b[30] = b[30]! ^ 0x08;
    fs.writeFileSync(seg, b);
    const repaired = SegmentLog.open({ dir: d, recordBatches: true, limits: LIMITS, repair: true, verifyAll: true });
    const kept = repaired.recovery.repaired?.lastIndexKept ?? -1;
    expect(kept).toBeGreaterThanOrEqual(3);
    expect(kept).toBeLessThan(12);
    expect(repaired.configurations()).toEqual(ALL.slice(0, 1));
    repaired.close();
    expect(openLog(d, LIMITS).configurations()).toEqual(ALL.slice(0, 1));
  });

  it('opens a log start of the old 24-byte format, which knows no configuration', () => {
    const d = dir();
    // A log whose start was moved to 10 (term 2, offset 10): its logstart, rewritten as it was
    // before configurations were kept, no longer carries the snapshot's configuration.
    const first = openLog(d, LIMITS);
    first.resetTo(10, 2, 10, C);
    expect(fs.statSync(path.join(d, 'logstart')).size).toBeGreaterThan(12 + 24);
    const m = new EntryMaker(11, 10);
    first.append([m.batch(2), config(m, 2, B), m.batch(2)]);
    first.close();
    writeFileAtomic(path.join(d, 'logstart'), LOGSTART_MAGIC, logStartBody(10, 2, 10));
    const log = openLog(d, LIMITS);
    expect(log.firstIndex()).toBe(11);
    expect(log.term(10)).toBe(2);
    expect(log.logStartOffset()).toBe(10);
    expect(summary(log.entries(11, 14, Infinity)).map(([i]) => i)).toEqual([11, 12, 13]);
    expect(log.configurations()).toEqual([{ index: 12, membership: B }]);
    expect(log.snapshot().membership).toBeUndefined();
    log.close();
  });

  it('refuses a log start whose configuration is not a membership (the log start is not derived)', () => {
    const d = dir();
    openLog(d, LIMITS).close();
    const junk = Buffer.from('{"voters":"n1"}');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(junk.length);
    writeFileAtomic(path.join(d, 'logstart'), LOGSTART_MAGIC, Buffer.concat([logStartBody(0, 0, 0), len, junk]));
    expect(() => openLog(d, LIMITS)).toThrow(CorruptLogError);
    writeFileAtomic(path.join(d, 'logstart'), LOGSTART_MAGIC, Buffer.concat([logStartBody(0, 0, 0), Buffer.from([0, 0, 0, 99]), junk]));
    expect(() => openLog(d, LIMITS)).toThrow(/does not fill/);
  });
});
