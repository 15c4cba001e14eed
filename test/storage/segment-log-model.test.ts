import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMembership, membershipOf, type ConfigurationAt, type Membership } from '../../raft/membership.js';
import { seededRandom } from '../../raft/random.js';
import { encodePromotion } from '../../raft/rejoin.js';
import { EntryKind, type Entry } from '../../raft/types.js';
import { readBatchHeader } from '../../src/wire/record-batch/header.js';
import type { SegmentLog } from '../../storage/segment-log.js';
import { EntryMaker, openLog, summary, tempDir } from './log-fixtures.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** What the log should hold: the log start (with its configuration, when known) and the entries after it. */
interface Model {
  start: { index: number; term: number; offset: number; membership: Membership | null };
  entries: Entry[];
}

/** The configurations the model holds, as MemoryStorage answers them. */
function configurations(m: Model): ConfigurationAt[] {
  const out: ConfigurationAt[] = m.start.membership === null ? [] : [{ index: m.start.index, membership: m.start.membership }];
  for (const e of m.entries) {
    const c = e.kind === EntryKind.Config ? membershipOf(e.data) : null;
    if (c !== null) out.push({ index: e.index, membership: c });
  }
  return out;
}

/** Now and then a configuration entry (a membership, or a promotion that is none) instead of a maker's entry. */
function someEntry(maker: EntryMaker, rand: () => number, make: () => Entry, term: number): Entry {
  if (rand() >= 0.1) return make();
  const index = maker.nextIndex++;
  const data = rand() < 0.8 ? encodeMembership(randomMembership(rand)) : encodePromotion({ promote: 'n2', rejoin: `inc${index}` });
  return { index, term, kind: EntryKind.Config, data };
}

function randomMembership(rand: () => number): Membership {
  const voters = ['n1', 'n2', 'n3', 'n4'].filter(() => rand() < 0.6);
  return { voters: voters.length > 0 ? voters : ['n1'], learners: rand() < 0.3 ? ['n5'] : [] };
}

function records(e: Entry): number {
  if (e.kind !== EntryKind.Normal) return 0;
  return readBatchHeader(e.data).lastOffsetDelta + 1;
}

function offsetAfter(m: Model, index: number): number {
  let o = m.start.offset;
  for (const e of m.entries) if (e.index <= index) o += records(e);
  return o;
}

function lastIndex(m: Model): number {
  return m.start.index + m.entries.length;
}

function termAt(m: Model, i: number): number {
  return i === m.start.index ? m.start.term : m.entries[i - m.start.index - 1]!.term;
}

function checkAgainst(log: SegmentLog, m: Model, rand: () => number, step: string): void {
  expect(log.firstIndex(), step).toBe(m.start.index + 1);
  expect(log.lastIndex(), step).toBe(lastIndex(m));
  expect(log.logStartOffset(), step).toBe(m.start.offset);
  expect(log.logEndOffset(), step).toBe(offsetAfter(m, lastIndex(m)));
  for (let i = m.start.index; i <= lastIndex(m); i++) expect(log.term(i), `${step}: term(${i})`).toBe(termAt(m, i));
  expect(log.configurations(), `${step}: configurations`).toEqual(configurations(m));
  expect(log.snapshot().membership, `${step}: the snapshot's configuration`).toEqual(m.start.membership ?? undefined);
  if (m.entries.length > 0) {
    expect(summary(log.entries(m.start.index + 1, lastIndex(m) + 1, Infinity)), step).toEqual(summary(m.entries));
    const lo = m.start.index + 1 + Math.floor(rand() * m.entries.length);
    const hi = lo + 1 + Math.floor(rand() * (lastIndex(m) - lo + 1));
    expect(summary(log.entries(lo, hi, Infinity)), `${step}: entries(${lo}, ${hi})`).toEqual(summary(m.entries.slice(lo - m.start.index - 1, hi - m.start.index - 1)));
    const at = m.start.index + 1 + Math.floor(rand() * m.entries.length);
    expect(log.offsetAfterIndex(at), `${step}: offsetAfterIndex(${at})`).toBe(offsetAfter(m, at));
  }
  const end = log.logEndOffset();
  if (end > m.start.offset) {
    const from = m.start.offset + Math.floor(rand() * (end - m.start.offset));
    const got = log.readBatches(from, Infinity, lastIndex(m)).batches.map((b) => Buffer.from(b).toString('hex'));
    const want = m.entries.filter((e) => e.kind === EntryKind.Normal && readBatchHeader(e.data).baseOffset + records(e) > from).map((e) => Buffer.from(e.data).toString('hex'));
    expect(got, `${step}: readBatches(${from})`).toEqual(want);
  }
}

describe('segment log against a model: random appends (configuration entries among them), conflicts, retention, resets and reopens', () => {
  for (let seed = 1; seed <= 12; seed++) {
    it(`agrees with the model after every operation (seed ${seed})`, () => {
      const rand = seededRandom(seed);
      const dir = tempDir();
      dirs.push(dir);
      const limits = { segmentBytes: 200 + Math.floor(rand() * 600), indexIntervalBytes: 32 + Math.floor(rand() * 200), tailCacheBytes: [1, 300, 4096][Math.floor(rand() * 3)]! };
      let log = openLog(dir, limits);
      const m: Model = { start: { index: 0, term: 0, offset: 0, membership: null }, entries: [] };
      let term = 1;
      for (let step = 0; step < 150; step++) {
        const r = rand();
        let what: string;
        if (r < 0.55) {
          if (rand() < 0.2) term++;
          const maker = new EntryMaker(lastIndex(m) + 1, offsetAfter(m, lastIndex(m)));
          const es = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => someEntry(maker, rand, () => (rand() < 0.2 ? maker.noop(term) : maker.batch(term, 1 + Math.floor(rand() * 3), 1000 + step)), term));
          log.append(es);
          m.entries.push(...es);
          what = `append ${es.length} at ${es[0]!.index}`;
        } else if (r < 0.7 && m.entries.length > 0) {
          // A new leader's entries replace a suffix (a Raft conflict).
          const at = m.start.index + 1 + Math.floor(rand() * m.entries.length);
          term++;
          const maker = new EntryMaker(at, offsetAfter(m, at - 1));
          const es = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => someEntry(maker, rand, () => (rand() < 0.3 ? maker.noop(term) : maker.batch(term, 1 + Math.floor(rand() * 2), 2000 + step)), term));
          log.append(es);
          m.entries = m.entries.slice(0, at - m.start.index - 1).concat(es);
          what = `conflicting append of ${es.length} at ${at}`;
        } else if (r < 0.8) {
          const dropped = log.enforceRetention({ retentionBytes: Math.floor(rand() * 1500), retentionMs: -1, upToIndex: lastIndex(m) });
          const first = log.firstIndex();
          if (first - 1 > m.start.index) {
            // The configuration in effect at the new start stays known, though its entry goes.
            const kept = configurations(m).filter((c) => c.index <= first - 1);
            m.start = { index: first - 1, term: termAt(m, first - 1), offset: offsetAfter(m, first - 1), membership: kept[kept.length - 1]?.membership ?? null };
            m.entries = m.entries.filter((e) => e.index >= first);
          }
          what = `retention dropped ${dropped} segments, start ${first}`;
        } else if (r < 0.83) {
          const index = lastIndex(m) + Math.floor(rand() * 5);
          term++;
          const offset = offsetAfter(m, lastIndex(m)) + Math.floor(rand() * 10);
          const membership = rand() < 0.7 ? randomMembership(rand) : null;
          log.resetTo(index, term, offset, membership ?? undefined);
          m.start = { index, term, offset, membership };
          m.entries = [];
          what = `reset to ${index}`;
        } else {
          log.close();
          // Now and then the derived files are lost: the log rebuilds them.
          if (rand() < 0.2) fs.rmSync(path.join(dir, rand() < 0.5 ? 'configs' : 'terms'), { force: true });
          log = openLog(dir, limits);
          what = 'reopen';
        }
        checkAgainst(log, m, rand, `seed ${seed} step ${step} (${what})`);
      }
      log.close();
    });
  }
});
