/**
 * `npm run bench:producers`: what a partition's producer-state snapshot costs at many producer
 * ids (issue 18 item 6), the way it was written before (msgpack of the whole map, written and
 * fsynced synchronously inside apply) and the way it is now (a compact binary encoding; the file
 * written and fsynced on the threadpool, the event loop busy only while encoding).
 *
 * For each count of producers (each with 5 remembered batches, the most a producer keeps), prints
 * the snapshot's size, the time the event loop is blocked, and the time until the file is durable;
 * the median of --runs runs. The last line is a JSON object with the figures.
 *
 * Options: --dir DIR (a folder on the disk to measure), --producers N,N (default 10000,100000),
 * --runs N (default 5).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { writeFileAtomic, writeFileAtomicAsync } from '../../storage/atomic-file.js';
import { encodeFrame } from '../../src/wire/codec.js';
import { ProducerState, RECENT_BATCHES_MAX } from '../../src/partition/producer-state.js';

const opts = new Command()
  .name('bench:producers')
  .description('Producer-state snapshot cost: before (msgpack, synchronous) and now (binary, written in the background)')
  .option('--dir <dir>', 'folder on the disk to measure', path.join(os.tmpdir(), 'raftlog-bench-producers'))
  .option('--producers <list>', 'producer counts', '10000,100000')
  .option('--runs <n>', 'runs per figure (the median is shown)', '5')
  .parse()
  .opts<{ dir: string; producers: string; runs: string }>();

const MAGIC = 0x524c5032;
const counts = opts.producers.split(',').map(Number);
const runs = Number(opts.runs);
fs.mkdirSync(opts.dir, { recursive: true });
const file = path.join(opts.dir, 'producers');

/** The state with `n` producers, and the same entries as the old snapshot held them: [id, { epoch, lastSeq, recent }]. */
function stateOf(n: number): { state: ProducerState; oldShape: unknown[] } {
  const state = new ProducerState();
  const oldShape: unknown[] = [];
  const now = Date.now();
  for (let id = 1; id <= n; id++) {
    const recent = [];
    for (let k = 0; k < RECENT_BATCHES_MAX; k++) {
      const b = { epoch: 0, firstSeq: k * 10, lastSeq: k * 10 + 9, baseOffset: id * 50 + k * 10 };
      state.record(id * 7919, b, now);
      recent.push(b);
    }
    oldShape.push([id * 7919, { epoch: 0, lastSeq: recent[recent.length - 1]!.lastSeq, recent }]);
  }
  return { state, oldShape };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  producers: number;
  beforeBytes: number;
  beforeBlockedMs: number;
  afterBytes: number;
  afterBlockedMs: number;
  afterDurableMs: number;
}

const rows: Row[] = [];
for (const n of counts) {
  process.stderr.write(`${n} producers: building the state...\n`);
  const { state: s, oldShape: shape } = stateOf(n);
  const before: number[] = [];
  const blocked: number[] = [];
  const durable: number[] = [];
  let beforeBytes = 0;
  let afterBytes = 0;
  for (let r = 0; r < runs; r++) {
    process.stderr.write(`  run ${r + 1}/${runs}\n`);
    let t0 = performance.now();
    const body = encodeFrame({ index: 1, producers: shape });
    writeFileAtomic(file, 0x524c5053, body);
    before.push(performance.now() - t0);
    beforeBytes = body.length;
    t0 = performance.now();
    const bin = s.encode(1);
    const writing = writeFileAtomicAsync(file, MAGIC, bin);
    blocked.push(performance.now() - t0);
    await writing;
    durable.push(performance.now() - t0);
    afterBytes = bin.length;
  }
  rows.push({ producers: n, beforeBytes, beforeBlockedMs: median(before), afterBytes, afterBlockedMs: median(blocked), afterDurableMs: median(durable) });
}
fs.rmSync(opts.dir, { recursive: true, force: true });

const mb = (b: number): string => (b / 1024 / 1024).toFixed(1);
console.log('producers   before: MB   loop blocked ms   |   now: MB   loop blocked ms   durable after ms');
for (const r of rows) {
  console.log(`${String(r.producers).padStart(9)}   ${mb(r.beforeBytes).padStart(10)}   ${r.beforeBlockedMs.toFixed(1).padStart(15)}   |   ${mb(r.afterBytes).padStart(7)}   ${r.afterBlockedMs.toFixed(1).padStart(15)}   ${r.afterDurableMs.toFixed(1).padStart(16)}`);
}
console.log(JSON.stringify({ runs, rows }));
