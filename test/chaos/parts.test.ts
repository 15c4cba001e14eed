/**
 * The chaos harness's parts, without a cluster: network cut plans, what the nemesis does to a
 * stopped node's files (tail corruption, power loss), replica reading, error classification, the
 * sync tracker preload, time series and the run's SVG chart.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
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
import { drawChart, FAULT_COLOURS, niceCeil, SERIES } from '../../chaos/plot/chart.js';
import { escapeXml } from '../../chaos/plot/svg.js';
import { readReplica } from '../../chaos/replicas.js';
import { timeSeries, type Bucket, type Series } from '../../chaos/stats.js';
import { repoRoot } from '../../chaos/cluster.js';
import { tempDir } from '../storage/log-fixtures.js';
import { findAll, groupTitled, parseXml, polylinePoints, type XmlElement } from '../helpers/svg.js';

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

describe('time series', () => {
  it('buckets completions by second, with send latency percentiles', () => {
    const e = (index: number, ms: number, process: number, type: HistoryEvent['type'], f: HistoryEvent['f']): HistoryEvent => ({ index, time: ms * 1e6, process, type, f, value: null });
    const s = timeSeries([e(0, 0, 0, 'invoke', 'send'), e(1, 20, 0, 'ok', 'send'), e(2, 1500, 1, 'invoke', 'poll'), e(3, 1600, 1, 'info', 'poll')]);
    expect(s.bucketSec).toBe(1);
    expect(s.buckets[0]).toMatchObject({ okSend: 1, sendP50Ms: 20, sendP99Ms: 20 });
    expect(s.buckets[1]).toMatchObject({ okSend: 0, unknown: 1, sendP50Ms: null });
  });

  it('rounds axis tops up to 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten', () => {
    expect([1, 7, 8, 9, 11, 101, 151, 249, 2001, 7999].map(niceCeil)).toEqual([1, 8, 8, 10, 15, 150, 200, 250, 2500, 8000]);
  });
});

describe("the run's chart (SVG)", () => {
  /** Ten one-second buckets: sends 0..7 per second, polls 1 per second, p50 missing at 4 and 6. */
  function series(): Series {
    const buckets: Bucket[] = Array.from({ length: 10 }, (_, i) => ({
      t: i,
      okSend: Math.min(i, 7),
      okPoll: 1,
      okOther: 0,
      failed: i === 2 ? 1 : 0,
      unknown: 0,
      sendP50Ms: i === 4 || i === 6 ? null : 5 + i,
      sendP99Ms: i === 4 || i === 6 ? null : 50 + i,
    }));
    return { bucketSec: 1, buckets, durationSec: 10, originNs: 0 };
  }
  const texts = (e: XmlElement): string[] => findAll(e, (x) => x.name === 'text').map((t) => t.text);

  it('is one well-formed SVG document with a line per series, one point per bucket', () => {
    const doc = drawChart(series(), [], 'run').toString();
    const svg = parseXml(doc);
    expect(svg.name).toBe('svg');
    expect(svg.attrs).toMatchObject({ xmlns: 'http://www.w3.org/2000/svg', width: '1400', height: '820' });
    for (const name of [SERIES.okSend, SERIES.okPoll, SERIES.bad]) {
      const lines = findAll(groupTitled(svg, name), (x) => x.name === 'polyline');
      expect(lines.length, name).toBe(1);
      expect(polylinePoints(lines[0]!).length, name).toBe(10);
    }
    // Sends rise with time, so their line climbs (smaller y) from left to right until it flattens at 7/s.
    const sends = polylinePoints(findAll(groupTitled(svg, SERIES.okSend), (x) => x.name === 'polyline')[0]!);
    for (let i = 1; i < 8; i++) expect(sends[i]![1]).toBeLessThan(sends[i - 1]![1]);
    expect(sends[9]![1]).toBe(sends[7]![1]);
    expect(sends.map((p) => p[0])).toEqual([...sends.map((p) => p[0])].sort((a, b) => a - b));
  });

  it('breaks a latency line where a bucket had no successful send, and shows a point alone as a dot', () => {
    const svg = parseXml(drawChart(series(), [], 'run').toString());
    const p50 = groupTitled(svg, SERIES.sendP50);
    expect(findAll(p50, (x) => x.name === 'polyline').map((l) => polylinePoints(l).length)).toEqual([4, 3]);
    expect(findAll(p50, (x) => x.name === 'circle')).toHaveLength(1);
  });

  it("labels the throughput axis in quarters of niceCeil of the busiest bucket's rate", () => {
    const labels = texts(parseXml(drawChart(series(), [], 'run').toString()));
    // The busiest rate is 7 sends/s: the axis tops out at niceCeil(7) = 8.
    for (const tick of ['0', '2', '4', '6', '8']) expect(labels).toContain(tick);
    expect(labels).not.toContain('10');
    // Latency: p99 up to 59 ms, two decades at least.
    for (const tick of ['1ms', '10ms', '100ms']) expect(labels).toContain(tick);
    // Time: every second of the ten.
    for (let s = 0; s <= 10; s++) expect(labels).toContain(`${s}s`);
  });

  it('shades each fault window across both panels in its kind\'s colour, over its share of the time axis', () => {
    const svg = parseXml(drawChart(series(), [{ kind: 'kill', startSec: 2, endSec: 4 }, { kind: 'pause', startSec: 5, endSec: 10 }], 'run').toString());
    const kill = findAll(groupTitled(svg, 'kill 2-4 s'), (x) => x.name === 'rect');
    const pause = findAll(groupTitled(svg, 'pause 5-10 s'), (x) => x.name === 'rect');
    expect(kill).toHaveLength(2);
    expect(kill.map((r) => r.attrs.fill)).toEqual([FAULT_COLOURS.kill, FAULT_COLOURS.kill]);
    expect(kill[0]!.attrs.y).not.toBe(kill[1]!.attrs.y);
    expect(Number(pause[0]!.attrs.width)).toBeCloseTo(Number(kill[0]!.attrs.width) * 2.5, 0);
    expect(Number(pause[0]!.attrs.x) + Number(pause[0]!.attrs.width)).toBeCloseTo(1400 - 30, 0);
  });

  it('escapes markup in the title and labels, and replaces characters XML cannot hold', () => {
    const title = 'topic <a&b> "quoted" \'x\'\u0001';
    const doc = drawChart(series(), [{ kind: 'odd<&>kind', startSec: 0, endSec: 9 }], title).toString();
    expect(doc).toContain('topic &lt;a&amp;b&gt; &quot;quoted&quot; &apos;x&apos;\ufffd');
    expect(doc).not.toContain('<a&b>');
    const svg = parseXml(doc);
    expect(texts(svg)).toContain('topic <a&b> "quoted" \'x\'\ufffd');
    expect(texts(groupTitled(svg, 'odd<&>kind 0-9 s'))).toEqual(['odd<&>kind']);
    expect(escapeXml('\ud83d\ude00 \ud83d')).toBe('\ud83d\ude00 \ufffd');
  });
});
