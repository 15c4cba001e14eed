/**
 * `npm run bench:storage`: the segment log's write throughput with the default sync policy
 * (every append is fdatasynced before the next, as an acknowledged produce would be), beside the
 * raw sequential write-and-fdatasync bandwidth of the same disk. Then the time to recover a large
 * log (clean reopen, and reopen with every index lost).
 *
 * Like with like: for each batch size the log and two raw writers take turns, round after round,
 * on the same disk, so that a change of load on a shared machine falls on all three alike (the
 * order within a round rotates). Each writes the same bytes: the raw writers write, per fdatasync,
 * exactly the frame the log writes (its 25-byte header and the batch, in one writev of those two
 * buffers, at the same file position), into one file that grows as the log's segments do (no
 * file is preallocated: the log does not preallocate its segments). The two raw writers differ in
 * how they wait for the disk:
 *
 *   raw        writev, then fdatasync on the event loop's thread (fs.fdatasyncSync): the disk's
 *              bandwidth for this write size, nothing in the way
 *   raw async  writev, then fdatasync on libuv's threadpool (fs.fdatasync, awaited), which is how
 *              the log syncs (a node does not block its event loop on the disk): the cost of that
 *              hop is Node's, not the log's
 *
 * The log's own costs are everything between raw async and it: framing, its checksum, the tail
 * cache's copy, rolling segments (sealing one: its index, term boundaries and configurations).
 * CPU per batch (user + system, from process.cpuUsage) is printed beside the bandwidth: unlike
 * bandwidth, it barely moves with the machine's load.
 *
 * Prints a table, and as its last line a JSON object with the figures and
 * `ratio` = raftlog MB/s at 256-record batches / raw MB/s at the same write size.
 *
 * Options: --dir DIR (default: a folder under the OS temp dir), --mb N (data per batch size and
 * writer, default 256), --rounds N (turns each writer takes per batch size, default 8),
 * --batches LIST (records per batch, default 1,16,256), --recovery-gb N (default 1; 0 skips it),
 * --profile FILE (a CPU profile of the whole run, node's .cpuprofile; summarise it with
 * `node dist/scripts/bench/profile-summary.js FILE`).
 */
import fs from 'node:fs';
import { Session } from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { EntryKind, type Entry } from '../../raft/types.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { nodeFileSystem } from '../../storage/file-system.js';
import { FRAME_HEADER_BYTES } from '../../storage/frame.js';
import { SegmentLog } from '../../storage/segment-log.js';

const opts = new Command()
  .name('bench:storage')
  .description('Segment log write throughput vs raw write+fdatasync, and recovery time')
  .option('--dir <dir>', 'folder on the disk to measure', path.join(os.tmpdir(), 'raftlog-bench-storage'))
  .option('--mb <n>', 'megabytes written per batch size, by each writer', '256')
  .option('--rounds <n>', 'turns each writer takes per batch size', '8')
  .option('--batches <list>', 'records per batch, comma-separated', '1,16,256')
  .option('--recovery-gb <n>', 'size of the log to recover (0 to skip)', '1')
  .option('--profile <file>', 'write a CPU profile of the run (.cpuprofile) to this file')
  .parse()
  .opts<{ dir: string; mb: string; rounds: string; batches: string; recoveryGb: string; profile?: string }>();

const RECORD_BYTES = 1024;
const BATCH_SIZES = opts.batches.split(',').map(Number);
const ROUNDS = Math.max(1, Number(opts.rounds));
const totalBytes = Number(opts.mb) * 1024 * 1024;
/** Distinct batch buffers cycled through, so that nothing is deduplicated by accident. */
const POOL_BATCHES = 64;

function progress(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function makeBatches(recordsPerBatch: number, count: number): Buffer[] {
  const value = Buffer.alloc(RECORD_BYTES - 16, 120);
  const template = encodeBatch(
    Array.from({ length: recordsPerBatch }, (_, i) => ({ key: Buffer.from(`key-${String(i).padStart(8, '0')}`), value })),
    { now: 1_700_000_000_000 },
  );
  return Array.from({ length: Math.min(count, POOL_BATCHES) }, () => Buffer.from(template));
}

/** One writer's turns: bytes written, seconds taken, CPU microseconds used, and each turn's seconds. */
interface Tally {
  bytes: number;
  seconds: number;
  cpuUs: number;
  turns: number[];
}

interface Writer {
  readonly name: 'raftlog' | 'raw' | 'raw async';
  /** Writes batches [from, to) of the run. */
  write(from: number, to: number): Promise<void>;
  close(): void;
}

/** The log, as a partition leader uses it: one batch per append, synced before the next. */
function logWriter(dir: string, recordsPerBatch: number, pool: Buffer[]): Writer {
  const log = SegmentLog.open({ dir, recordBatches: true });
  return {
    name: 'raftlog',
    async write(from, to) {
      for (let i = from; i < to; i++) {
        // Stamp the base offset in place (as the leader does); the batch CRC does not cover it.
        const data = pool[i % pool.length]!;
        const offset = i * recordsPerBatch;
        data.writeUInt32BE(Math.floor(offset / 2 ** 32), 0);
        data.writeUInt32BE(offset >>> 0, 4);
        const e: Entry = { index: i + 1, term: 1, kind: EntryKind.Normal, data };
        log.append([e]);
        await log.sync();
      }
    },
    close: () => log.close(),
  };
}

/** Plain writes of what the log writes per batch (a frame header and the batch, one writev), each followed by fdatasync. */
function rawWriter(file: string, pool: Buffer[], threadpool: boolean): Writer {
  const fd = fs.openSync(file, 'w');
  const header = Buffer.alloc(FRAME_HEADER_BYTES, 7);
  const frame = FRAME_HEADER_BYTES + pool[0]!.byteLength;
  return {
    name: threadpool ? 'raw async' : 'raw',
    async write(from, to) {
      for (let i = from; i < to; i++) {
        const iov = [header, pool[i % pool.length]!];
        const pos = i * frame;
        let n = fs.writevSync(fd, iov, pos);
        if (n < frame) {
          // A short write (rare): the rest in plain writes.
          const whole = Buffer.concat(iov);
          while (n < frame) n += fs.writeSync(fd, whole, n, frame - n, pos + n);
        }
        if (threadpool) await nodeFileSystem.fdatasync(fd);
        else fs.fdatasyncSync(fd);
      }
    },
    close: () => {
      fs.closeSync(fd);
      fs.rmSync(file);
    },
  };
}

interface Row {
  records: number;
  batchBytes: number;
  batches: number;
  log: Tally;
  raw: Tally;
  rawAsync: Tally;
}

async function benchBatchSize(recordsPerBatch: number): Promise<Row> {
  const dir = path.join(opts.dir, `log-${recordsPerBatch}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const pool = makeBatches(recordsPerBatch, POOL_BATCHES);
  const batchBytes = pool[0]!.byteLength;
  const count = Math.max(200, Math.floor(totalBytes / batchBytes));
  const writers = [logWriter(dir, recordsPerBatch, pool), rawWriter(path.join(opts.dir, `raw-${recordsPerBatch}`), pool, false), rawWriter(path.join(opts.dir, `raw-async-${recordsPerBatch}`), pool, true)];
  const tallies = new Map(writers.map((w) => [w.name, { bytes: 0, seconds: 0, cpuUs: 0, turns: [] } as Tally]));
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const from = Math.floor((count * r) / ROUNDS);
      const to = Math.floor((count * (r + 1)) / ROUNDS);
      for (let k = 0; k < writers.length; k++) {
        const w = writers[(r + k) % writers.length]!;
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await w.write(from, to);
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const t = tallies.get(w.name)!;
        t.bytes += (to - from) * batchBytes;
        t.seconds += seconds;
        t.cpuUs += cpu.user + cpu.system;
        t.turns.push(seconds);
      }
      progress(`  ${recordsPerBatch}-record batches: round ${r + 1}/${ROUNDS} (load average ${os.loadavg()[0]!.toFixed(2)})`);
    }
  } finally {
    for (const w of writers) w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { records: recordsPerBatch, batchBytes, batches: count, log: tallies.get('raftlog')!, raw: tallies.get('raw')!, rawAsync: tallies.get('raw async')! };
}

async function benchRecovery(gb: number): Promise<{ gb: number; cleanOpenMs: number; rebuildOpenMs: number; segments: number }> {
  const dir = path.join(opts.dir, 'recovery');
  fs.rmSync(dir, { recursive: true, force: true });
  const pool = makeBatches(256, POOL_BATCHES);
  const batchBytes = pool[0]!.byteLength;
  const count = Math.ceil((gb * 1024 ** 3) / batchBytes);
  const log = SegmentLog.open({ dir, recordBatches: true });
  let offset = 0;
  for (let i = 0; i < count; i += POOL_BATCHES) {
    const es: Entry[] = [];
    for (let k = 0; k < POOL_BATCHES && i + k < count; k++) {
      const data = Buffer.from(pool[k]!);
      data.writeUInt32BE(Math.floor(offset / 2 ** 32), 0);
      data.writeUInt32BE(offset >>> 0, 4);
      es.push({ index: i + k + 1, term: 1, kind: EntryKind.Normal, data });
      offset += 256;
    }
    log.append(es);
    if (i % (POOL_BATCHES * 64) === 0) {
      await log.sync();
      progress(`  writing the recovery log: ${Math.round(((i * batchBytes) / 1024 ** 3) * 100) / 100} of ${gb} GB`);
    }
  }
  await log.sync();
  const segments = log.status().segments;
  log.close();
  const t0 = performance.now();
  SegmentLog.open({ dir, recordBatches: true }).close();
  const cleanOpenMs = performance.now() - t0;
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.index') || f === 'terms') fs.rmSync(path.join(dir, f));
  progress('  reopening with every index and the term boundaries removed (full scan)');
  const t1 = performance.now();
  SegmentLog.open({ dir, recordBatches: true }).close();
  const rebuildOpenMs = performance.now() - t1;
  fs.rmSync(dir, { recursive: true, force: true });
  return { gb, cleanOpenMs, rebuildOpenMs, segments };
}

/** Starts node's CPU profiler in this process; the returned function stops it and writes the profile. */
async function startProfile(file: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err === null ? resolve(res) : reject(err))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    progress(`CPU profile in ${file}`);
  };
}

const mbps = (t: Tally): number => t.bytes / t.seconds / 1e6;
const cpuPerBatch = (t: Tally, batches: number): number => t.cpuUs / batches;

/** The median over rounds of the log's turn time against raw's in the same round, as a throughput ratio. */
function medianRatio(log: Tally, other: Tally): number {
  const ratios = log.turns.map((s, i) => other.turns[i]! / s).sort((a, b) => a - b);
  const mid = ratios.length >> 1;
  return ratios.length % 2 === 1 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2;
}

async function main(): Promise<void> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const stopProfile = opts.profile === undefined ? null : await startProfile(path.resolve(opts.profile));
  const load0 = os.loadavg();
  progress(`measuring in ${opts.dir}, ${opts.mb} MB per batch size and writer, ${ROUNDS} rounds (load average ${load0.map((l) => l.toFixed(2)).join(' ')})`);
  const rows: Row[] = [];
  for (const n of BATCH_SIZES) {
    progress(`appending 1 KB records in batches of ${n}, fdatasync after each; raw writes of the same frames`);
    rows.push(await benchBatchSize(n));
  }
  const load1 = os.loadavg();
  const gb = Number(opts.recoveryGb);
  const recovery = gb > 0 ? await benchRecovery(gb) : null;
  await stopProfile?.();
  console.log('');
  console.log(`load average ${load0.map((l) => l.toFixed(2)).join(' ')} at the start, ${load1.map((l) => l.toFixed(2)).join(' ')} at the end of the write phases; ${os.cpus().length} CPUs`);
  console.log('');
  console.log('| records/batch | batch bytes | batches | raw MB/s | raw async MB/s | raftlog MB/s | raftlog/raw | median over rounds | raftlog/raw async | CPU µs/batch raw / raw async / raftlog |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const cpu = [r.raw, r.rawAsync, r.log].map((t) => cpuPerBatch(t, r.batches).toFixed(0)).join(' / ');
    console.log(
      `| ${r.records} | ${r.batchBytes} | ${r.batches} | ${mbps(r.raw).toFixed(1)} | ${mbps(r.rawAsync).toFixed(1)} | ${mbps(r.log).toFixed(1)} | ${(mbps(r.log) / mbps(r.raw)).toFixed(2)} | ${medianRatio(r.log, r.raw).toFixed(2)} | ${(mbps(r.log) / mbps(r.rawAsync)).toFixed(2)} | ${cpu} |`,
    );
  }
  if (recovery !== null) {
    console.log('');
    console.log(`recovery of a ${recovery.gb} GB log (${recovery.segments} segments): clean reopen ${recovery.cleanOpenMs.toFixed(0)} ms; reopen rebuilding every index and the term boundaries ${recovery.rebuildOpenMs.toFixed(0)} ms`);
  }
  const big = rows[rows.length - 1]!;
  const result = {
    batches: Object.fromEntries(
      rows.map((r) => [
        r.records,
        {
          mbps: round(mbps(r.log)),
          batchesPerSec: Math.round(r.batches / r.log.seconds),
          rawMbps: round(mbps(r.raw)),
          rawAsyncMbps: round(mbps(r.rawAsync)),
          ratio: round(mbps(r.log) / mbps(r.raw), 3),
          medianRatio: round(medianRatio(r.log, r.raw), 3),
          cpuUsPerBatch: { raw: Math.round(cpuPerBatch(r.raw, r.batches)), rawAsync: Math.round(cpuPerBatch(r.rawAsync, r.batches)), raftlog: Math.round(cpuPerBatch(r.log, r.batches)) },
        },
      ]),
    ),
    rawMbps: round(mbps(big.raw)),
    ratio: round(mbps(big.log) / mbps(big.raw), 3),
    loadAverage: { start: load0.map((l) => round(l, 2)), end: load1.map((l) => round(l, 2)) },
    recovery: recovery === null ? null : { gb: recovery.gb, cleanOpenMs: Math.round(recovery.cleanOpenMs), rebuildOpenMs: Math.round(recovery.rebuildOpenMs) },
  };
  fs.rmSync(opts.dir, { recursive: true, force: true });
  console.log(JSON.stringify(result));
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
