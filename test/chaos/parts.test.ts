/**
 * The chaos harness's parts, without a cluster: network cut plans, what the nemesis does to a
 * stopped node's files (tail corruption, power loss), replica reading, error classification, the
 * sync tracker preload, time series and the PNG encoder.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../raft/random.js';
import { EntryKind, type Entry } from '../../raft/types.js';
import { saveHardState } from '../../storage/hard-state.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { SegmentLog } from '../../storage/segment-log.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { RaftlogError } from '../../src/client/errors.js';
import { gaveUp } from '../../src/client/retry.js';
import type { HistoryEvent } from '../../chaos/checker/history.js';
import { corruptTail, lastFrame, loseUnsynced, partitionDirs } from '../../chaos/disk.js';
import { cutLinks, dropsFor } from '../../chaos/net.js';
import { classify } from '../../chaos/outcome.js';
import { glyph, GLYPH_HEIGHT, GLYPH_WIDTH } from '../../chaos/plot/font.js';
import { encodePng } from '../../chaos/plot/png.js';
import { readReplica } from '../../chaos/replicas.js';
import { timeSeries } from '../../chaos/stats.js';
import { repoRoot } from '../../chaos/cluster.js';
import { tempDir } from '../storage/log-fixtures.js';

describe('network partitions', () => {
  it('an isolated node is cut both ways from every other node', () => {
    const links = cutLinks({ kind: 'isolate', sides: [['n1'], ['n2', 'n3']] });
    expect(links).toEqual([
      ['n1', 'n2'],
      ['n2', 'n1'],
      ['n1', 'n3'],
      ['n3', 'n1'],
    ]);
    const drops = dropsFor(['n1', 'n2', 'n3'], links);
    expect(drops.get('n1')).toEqual({ dropTo: ['n2', 'n3'], dropFrom: ['n2', 'n3'] });
    expect(drops.get('n2')).toEqual({ dropTo: ['n1'], dropFrom: ['n1'] });
  });

  it('a bridge reaches both sides, which cannot reach each other', () => {
    const drops = dropsFor(['a', 'b', 'c'], cutLinks({ kind: 'bridge', left: ['a'], bridge: 'b', right: ['c'] }));
    expect(drops.get('b')).toEqual({ dropTo: [], dropFrom: [] });
    expect(drops.get('a')).toEqual({ dropTo: ['c'], dropFrom: ['c'] });
  });

  it('a one-way cut drops frames in one direction only, at both ends', () => {
    const drops = dropsFor(['n1', 'n2', 'n3'], cutLinks({ kind: 'one-way', from: ['n1'], to: ['n2', 'n3'] }));
    expect(drops.get('n1')).toEqual({ dropTo: ['n2', 'n3'], dropFrom: [] });
    expect(drops.get('n3')).toEqual({ dropTo: [], dropFrom: ['n1'] });
  });

  it('a link to a node the cluster does not have is refused', () => {
    expect(() => dropsFor(['n1'], [['n1', 'n9']])).toThrow(/only n1/);
  });
});

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function scratch(prefix: string): string {
  const d = tempDir(prefix);
  made.push(d);
  return d;
}

/** A node data folder with one partition replica holding `count` one-record batches "v0", "v1", ... */
function fakeNode(count: number, commit: number): { data: string; logDir: string } {
  const data = scratch('raftlog-chaos-node-');
  const dir = path.join(data, 'partitions', 'chaos-0-t1');
  const logDir = path.join(dir, 'log');
  const log = SegmentLog.open({ dir: logDir, recordBatches: true });
  const entries: Entry[] = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    term: 1,
    kind: EntryKind.Normal,
    data: encodeBatch([{ key: null, value: Buffer.from(`v${i}`) }], { baseOffset: i, now: 1000 }),
  }));
  log.append(entries);
  log.close();
  saveHardState(dir, { term: 1, vote: null, commit });
  return { data, logDir };
}

describe("a stopped node's files", () => {
  it('reads a replica: its entries, log start and commit index as an offset', () => {
    const { data } = fakeNode(5, 3);
    expect(partitionDirs(data).map((p) => p.key)).toEqual(['chaos/0']);
    const r = readReplica(partitionDirs(data)[0]!.dir);
    expect(r).toEqual({ logStart: 0, commitIndex: 3, entries: [0, 1, 2, 3, 4].map((i) => [i, `v${i}`]) });
  });

  it('a torn write at the tail is cut off on recovery, and nothing synced is lost', () => {
    const seen = new Set<string>();
    for (let seed = 1; seen.size < 3 && seed < 60; seed++) {
      const { data, logDir } = fakeNode(5, 3);
      const c = corruptTail(data, seededRandom(seed), 'torn-write', null);
      seen.add(c!.how);
      const log = SegmentLog.open({ dir: logDir, recordBatches: true });
      try {
        expect(log.lastIndex(), c!.how).toBe(5);
        expect(log.recovery.truncatedBytes, c!.how).toBe(c!.bytes);
      } finally {
        log.close();
      }
    }
    expect([...seen].sort()).toEqual(['garbage', 'torn-copy', 'zeros']);
  });

  it('bytes past the last fsync are cut somewhere; whole frames before the cut survive', () => {
    const { data, logDir } = fakeNode(5, 3);
    const file = path.join(logDir, fs.readdirSync(logDir).find((f) => f.endsWith('.log'))!);
    const synced = new Map([[path.resolve(file), lastFrame(file)!.at]]);
    const c = corruptTail(data, seededRandom(3), 'torn-write', synced);
    expect(c?.how).toBe('cut-unsynced');
    const log = SegmentLog.open({ dir: logDir, recordBatches: true });
    expect(log.lastIndex()).toBe(4);
    log.close();
  });

  it('damage to the last acknowledged frame (acked-frame) loses that frame', () => {
    for (const seed of [1, 2, 3, 4]) {
      const { data, logDir } = fakeNode(5, 3);
      expect(corruptTail(data, seededRandom(seed), 'acked-frame', null)?.how).toMatch(/^(torn|garbled)-frame$/);
      const log = SegmentLog.open({ dir: logDir, recordBatches: true });
      expect(log.lastIndex()).toBe(4);
      log.close();
    }
  });

  it('a power loss cuts each segment back to its last synced size, and a never-synced one to nothing', () => {
    const { data, logDir } = fakeNode(5, 3);
    const file = path.join(logDir, fs.readdirSync(logDir).find((f) => f.endsWith('.log'))!);
    const last = lastFrame(file)!;
    const syncLog = path.join(data, 'synced.log');
    fs.writeFileSync(syncLog, `0 ${path.resolve(file)}\n${last.at} ${path.resolve(file)}\n`);
    const lost = loseUnsynced(data, syncLog);
    expect(lost).toEqual([{ file, from: last.at + last.bytes, to: last.at }]);
    const log = SegmentLog.open({ dir: logDir, recordBatches: true });
    expect(log.lastIndex()).toBe(4);
    log.close();
    fs.writeFileSync(syncLog, '');
    loseUnsynced(data, syncLog);
    expect(fs.statSync(file).size).toBe(0);
  });
});

describe('outcomes', () => {
  it('fail only for certain failures of one attempt; info for unknown outcomes and anything else', () => {
    const notLeader = new RaftlogError(ErrorCode.NotLeader, 'NOT_LEADER: no', { retriable: true });
    expect(classify(notLeader)).toEqual({ type: 'fail', error: 'NOT_LEADER: no' });
    expect(classify(gaveUp(notLeader, 3, 900)).type).toBe('info');
    expect(classify(new RaftlogError(ErrorCode.RequestTimedOut, 'late', { outcomeUnknown: true })).type).toBe('info');
    expect(classify(new Error('boom'))).toEqual({ type: 'info', error: 'Error: boom' });
  });
});

describe('the sync tracker', () => {
  it('records the size a completed fdatasync covered, for partition segment files only', () => {
    const tracker = path.join(repoRoot(), 'dist', 'chaos', 'sync-tracker.js');
    expect(fs.existsSync(tracker), `${tracker} is missing: run npm run build`).toBe(true);
    const data = scratch('raftlog-chaos-sync-');
    const seg = path.join(data, 'partitions', 'chaos-0-t1', 'log', `${'1'.padStart(20, '0')}.log`);
    const other = path.join(data, 'meta', 'log', `${'1'.padStart(20, '0')}.log`);
    fs.mkdirSync(path.dirname(seg), { recursive: true });
    fs.mkdirSync(path.dirname(other), { recursive: true });
    const script = `
      import fs from 'node:fs';
      import { promisify } from 'node:util';
      const fdatasync = promisify(fs.fdatasync);
      for (const file of ${JSON.stringify([seg, other])}) {
        const fd = fs.openSync(file, 'w+');
        fs.writeSync(fd, Buffer.alloc(100));
        await fdatasync(fd);
        fs.writeSync(fd, Buffer.alloc(50));
        fs.fsyncSync(fd);
        fs.writeSync(fd, Buffer.alloc(7));
        fs.closeSync(fd);
      }`;
    execFileSync(process.execPath, ['--import', pathToFileURL(tracker).href, '--input-type=module', '-e', script, '--', '--data', data], {
      env: { ...process.env, RAFTLOG_CHAOS_SYNC_LOG: 'synced.log' },
    });
    expect(fs.readFileSync(path.join(data, 'synced.log'), 'utf8')).toBe(`0 ${seg}\n100 ${seg}\n150 ${seg}\n`);
  });
});

describe('time series and pictures', () => {
  it('buckets completions by second, with send latency percentiles', () => {
    const e = (index: number, ms: number, process: number, type: HistoryEvent['type'], f: HistoryEvent['f']): HistoryEvent => ({ index, time: ms * 1e6, process, type, f, value: null });
    const s = timeSeries([e(0, 0, 0, 'invoke', 'send'), e(1, 20, 0, 'ok', 'send'), e(2, 1500, 1, 'invoke', 'poll'), e(3, 1600, 1, 'info', 'poll')]);
    expect(s.bucketSec).toBe(1);
    expect(s.buckets[0]).toMatchObject({ okSend: 1, sendP50Ms: 20, sendP99Ms: 20 });
    expect(s.buckets[1]).toMatchObject({ okSend: 0, unknown: 1, sendP50Ms: null });
  });

  it('encodes a PNG whose pixels inflate back to the image', () => {
    const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]);
    const png = encodePng(2, 2, rgb);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(2);
    const idat = png.indexOf('IDAT');
    const raw = inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
    expect([...raw]).toEqual([0, ...rgb.subarray(0, 6), 0, ...rgb.subarray(6)]);
  });

  it('draws every glyph of the font in a 5-wide cell', () => {
    for (const ch of 'abcdefghijklmnopqrstuvwxyz0123456789 .,:/-%()[]_+=<>|#?') {
      const g = glyph(ch);
      expect(g.length, ch).toBe(GLYPH_HEIGHT);
      for (const row of g) expect(row.length, ch).toBe(GLYPH_WIDTH);
    }
  });
});
