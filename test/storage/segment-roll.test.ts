/**
 * Rolling a segment: what a roll does on the event loop, and what a crash at any point around it
 * leaves. The sealed segment's bytes are made durable by the roll itself; its index, `terms` and
 * `configs` are written by the next sync, off the event loop.
 */
import { describe, expect, it } from 'vitest';
import { encodeMembership, membershipOf, type ConfigurationAt } from '../../raft/membership.js';
import { seededRandom } from '../../raft/random.js';
import { EntryKind, type Entry } from '../../raft/types.js';
import type { FileSystem } from '../../storage/file-system.js';
import { SegmentLog } from '../../storage/segment-log.js';
import { SimFs } from '../sim/sim-fs.js';
import { EntryMaker, summary } from './log-fixtures.js';

const DIR = '/p/log';
/** Small enough that a roll comes every few entries. */
const SEGMENT_BYTES = 400;

/** A simulated disk whose async calls settle when `drain` runs them (and never, after `drop`). */
function disk(random: () => number): { fs: SimFs; drain: () => Promise<void>; drop: () => void } {
  let queue: (() => void)[] = [];
  const fs = new SimFs({ schedule: (fn) => queue.push(fn), random });
  fs.mkdirSync('/p', { recursive: true });
  const drain = async (): Promise<void> => {
    for (let idle = 0; idle < 3; ) {
      const fn = queue.shift();
      if (fn === undefined) idle++;
      else {
        idle = 0;
        fn();
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  return { fs, drain, drop: () => (queue = []) };
}

/** Runs the disk until `p` (a sync) settles; its failure is thrown. */
async function settle(d: { drain: () => Promise<void> }, p: Promise<void>): Promise<void> {
  const outcome = p.then(
    () => null,
    (err: unknown) => err,
  );
  await d.drain();
  const err = await outcome;
  if (err !== null) throw err;
}

/** The same disk, counting the fsyncs and fdatasyncs made on the event loop. */
function countingSyncs(inner: FileSystem): { fs: FileSystem; syncs: () => number } {
  let n = 0;
  const fs = new Proxy(inner, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown;
      if (typeof v !== 'function') return v;
      if (key === 'fsyncSync' || key === 'fdatasyncSync') {
        return (fd: number) => {
          n++;
          return (v as (fd: number) => void).call(target, fd);
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return { fs, syncs: () => n };
}

function open(fs: FileSystem): SegmentLog {
  return SegmentLog.open({ dir: DIR, recordBatches: true, fs, limits: { segmentBytes: SEGMENT_BYTES } });
}

function configurationsIn(es: readonly Entry[]): ConfigurationAt[] {
  const out: ConfigurationAt[] = [];
  for (const e of es) {
    const m = e.kind === EntryKind.Config ? membershipOf(e.data) : null;
    if (m !== null) out.push({ index: e.index, membership: m });
  }
  return out;
}

describe('segment log: rolling', () => {
  it('blocks the event loop for one fdatasync of the full segment at most; the next sync writes its index, terms and configs', async () => {
    // Before: a roll fsynced the segment, then wrote its index, `terms` and `configs` with an
    // fsync each (and one of the folder after each of the last two), on the event loop.
    const d = disk(() => 0.5);
    const counted = countingSyncs(d.fs);
    const log = open(counted.fs);
    const m = new EntryMaker();
    log.append([m.batch(1, 1, 1000, 400)]); // fills the active segment past SEGMENT_BYTES
    await settle(d, log.sync());
    const before = counted.syncs();
    log.append([m.batch(2)]); // rolls
    expect(log.status().segments).toBe(2);
    expect(counted.syncs() - before).toBeLessThanOrEqual(1);
    expect(d.fs.existsSync(`${DIR}/00000000000000000001.index`)).toBe(false);
    await settle(d, log.sync());
    // Durable now: a crash that keeps nothing unsynced leaves a log that opens without a scan.
    d.fs.crash();
    const again = open(d.fs);
    expect(again.recovery).toMatchObject({ rebuiltIndexes: 0, rebuiltTerms: false, rebuiltConfigs: false, scannedSegments: 1 });
    expect(again.lastIndex()).toBe(2);
    expect(again.term(2)).toBe(2);
  });

  it('writes what a roll owes when closed before a sync, so a clean reopen need not scan', async () => {
    const d = disk(() => 0.5);
    const log = open(d.fs);
    const m = new EntryMaker();
    log.append([m.batch(1, 1, 1000, 400)]);
    log.append([m.batch(1)]);
    log.close();
    d.fs.closeAll();
    const again = open(d.fs);
    expect(again.recovery).toMatchObject({ rebuiltIndexes: 0, rebuiltTerms: false, rebuiltConfigs: false, scannedSegments: 1 });
  });

  it('does not let an owed write in flight replace the files a truncation into the sealed segment wrote', async () => {
    const d = disk(() => 0.999_999); // a crash keeps everything written
    const log = open(d.fs);
    const m = new EntryMaker();
    const first = [m.batch(1), m.batch(1), m.batch(1, 1, 1000, 400)];
    log.append(first);
    log.append([m.batch(1)]); // rolls: segment 1 owes its index, terms and configs
    const inFlight = log.sync();
    // A new leader's entries replace the log from index 2, inside the sealed segment (active
    // again), and fill it, so that it is sealed once more with its new entries.
    const m2 = new EntryMaker(2, 1);
    const replaced = [m2.batch(3), { index: 3, term: 3, kind: EntryKind.Config, data: encodeMembership({ voters: ['n1', 'n2'], learners: [] }) }];
    m2.nextIndex = 4;
    replaced.push(m2.batch(3, 1, 1000, 400));
    log.append(replaced);
    const next = m2.batch(3);
    log.append([next]); // rolls again
    await settle(d, inFlight);
    // The power goes before the next sync: `terms` and `configs` must not claim to cover
    // segment 1 as it was before the truncation (they would answer term 1 for index 2).
    d.fs.crash();
    const again = open(d.fs);
    const want = [first[0]!, ...replaced, next];
    expect(summary(again.entries(1, 6, Infinity))).toEqual(summary(want));
    expect([1, 2, 3, 4, 5].map((i) => again.term(i))).toEqual([1, 3, 3, 3, 3]);
    expect(again.configurations()).toEqual(configurationsIn(want));
  });

  it('keeps every synced entry, with its term and configuration, whenever the power goes (seeded runs)', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = seededRandom(seed);
      const d = disk(rand);
      const model: Entry[] = [];
      /** Entries known durable: the log held them at a sync that resolved, and nothing cut them since. */
      let durableThrough = 0;
      let term = 1;
      let maker = new EntryMaker();
      let log = open(d.fs);
      d.fs.armPowerLoss(Math.floor(rand() * 120));
      try {
        for (let step = 0; step < 40; step++) {
          const r = rand();
          if (r < 0.1 && model.length > 2) {
            // A new leader replaces the log from a random index (perhaps inside a sealed segment).
            const at = 2 + Math.floor(rand() * (model.length - 1));
            term++;
            model.length = at - 1;
            durableThrough = Math.min(durableThrough, at - 1);
            let offset = 0;
            for (const e of model) if (e.kind === EntryKind.Normal) offset++;
            maker = new EntryMaker(at, offset);
          }
          if (r < 0.12) {
            log.close();
            d.fs.closeAll(); // the process restarts; nothing is lost
            log = open(d.fs);
          }
          const es: Entry[] = [];
          for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
            if (rand() < 0.15) {
              es.push({ index: maker.nextIndex++, term, kind: EntryKind.Config, data: encodeMembership({ voters: rand() < 0.5 ? ['n1'] : ['n1', 'n2'], learners: [] }) });
            } else {
              es.push(maker.batch(term, 1, 1000, 20 + Math.floor(rand() * 200)));
            }
          }
          log.append(es);
          model.push(...es);
          if (rand() < 0.6) {
            const through = model.length;
            await settle(d, log.sync());
            durableThrough = through;
          }
        }
      } catch (err) {
        if (!/power is gone/.test((err as Error).message)) throw err;
      }
      d.drop();
      d.fs.crash();
      const again = open(d.fs);
      const step = `seed ${seed}`;
      expect(again.lastIndex(), step).toBeGreaterThanOrEqual(durableThrough);
      const held = again.lastIndex() === 0 ? [] : again.entries(1, again.lastIndex() + 1, Infinity);
      expect(summary(held.slice(0, durableThrough)), step).toEqual(summary(model.slice(0, durableThrough)));
      // What the derived files say agrees with the entries the log holds.
      for (const e of held) expect(again.term(e.index), `${step}: term(${e.index})`).toBe(e.term);
      expect(again.configurations(), step).toEqual(configurationsIn(held));
      again.close();
    }
  });
});

describe('segment log: retention', () => {
  /** A log of four segments (one 400-byte batch each), synced; the first three can go. */
  async function fourSegments(d: ReturnType<typeof disk>, fs: FileSystem = d.fs): Promise<SegmentLog> {
    const log = open(fs);
    const m = new EntryMaker();
    for (let i = 0; i < 4; i++) log.append([m.batch(1, 1, 1000, 400)]);
    await settle(d, log.sync());
    expect(log.status().segments).toBe(4);
    return log;
  }
  const dropAll = { retentionBytes: 1, retentionMs: -1, upToIndex: 4 };
  const firstFile = `${DIR}/00000000000000000001.log`;

  it('moves the log start without an fsync on the event loop, and removes the files once the new start is durable', async () => {
    // Before: retention wrote `logstart` (a file and a folder fsync), then `terms` and `configs`
    // (two each), on the event loop, for every partition of the node in one turn.
    const d = disk(() => 0.5);
    const counted = countingSyncs(d.fs);
    const log = await fourSegments(d, counted.fs);
    const before = counted.syncs();
    expect(log.enforceRetention(dropAll)).toBe(3);
    expect(counted.syncs() - before).toBe(0);
    // The log answers from its new start at once; on disk the old start and its files stay until the new one is durable.
    expect(log.firstIndex()).toBe(4);
    expect(d.fs.existsSync(firstFile)).toBe(true);
    await settle(d, log.retentionWritten());
    expect(d.fs.existsSync(firstFile)).toBe(false);
    d.fs.crash();
    const again = open(d.fs);
    expect([again.firstIndex(), again.lastIndex()]).toEqual([4, 4]);
  });

  it('loses nothing when the power goes before the new start is durable: the old start finds every file', async () => {
    const d = disk(() => 0.5);
    const log = await fourSegments(d);
    log.enforceRetention(dropAll);
    d.drop(); // the background write never reaches the disk
    d.fs.crash();
    const again = open(d.fs);
    expect([again.firstIndex(), again.lastIndex()]).toEqual([1, 4]);
    expect(again.entries(1, 5, Infinity)).toHaveLength(4);
  });

  it('writes the new start when closed before the background write finished', async () => {
    const d = disk(() => 0.5);
    const log = await fourSegments(d);
    log.enforceRetention(dropAll);
    log.close();
    expect(d.fs.existsSync(firstFile)).toBe(false);
    await d.drain(); // the background write, late, changes nothing
    d.fs.crash();
    const again = open(d.fs);
    expect([again.firstIndex(), again.lastIndex()]).toEqual([4, 4]);
  });
});
