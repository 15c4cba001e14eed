/**
 * `npm run bench:storage`: the segment log's write throughput with the default sync policy
 * (every append is fdatasynced before the next, as an acknowledged produce would be), beside the
 * raw sequential write-and-fdatasync bandwidth of the same disk: a plain file of the same size,
 * written with the same write sizes, each followed by fdatasync. Then the time to recover a large
 * log (clean reopen, and reopen with every index lost).
 *
 * Prints a table, and as its last line a JSON object with the figures and
 * `ratio` = raftlog MB/s at 256-record batches / raw MB/s at the same write size.
 *
 * Options: --dir DIR (default: a folder under the OS temp dir), --mb N (data per batch size,
 * default 128), --recovery-gb N (default 1; 0 skips it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { EntryKind, type Entry } from '../../raft/types.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { FRAME_HEADER_BYTES } from '../../storage/frame.js';
import { SegmentLog } from '../../storage/segment-log.js';

const opts = new Command()
  .name('bench:storage')
  .description('Segment log write throughput vs raw write+fdatasync, and recovery time')
  .option('--dir <dir>', 'folder on the disk to measure', path.join(os.tmpdir(), 'raftlog-bench-storage'))
  .option('--mb <n>', 'megabytes written per batch size', '256')
  .option('--recovery-gb <n>', 'size of the log to recover (0 to skip)', '1')
  .parse()
  .opts<{ dir: string; mb: string; recoveryGb: string }>();

const RECORD_BYTES = 1024;
const BATCH_SIZES = [1, 16, 256];
const totalBytes = Number(opts.mb) * 1024 * 1024;

function progress(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function makeBatches(recordsPerBatch: number, count: number): Buffer[] {
  // Distinct batches so nothing is deduplicated by accident; offsets are set as appended.
  const value = Buffer.alloc(RECORD_BYTES - 16, 120);
  const template = encodeBatch(
    Array.from({ length: recordsPerBatch }, (_, i) => ({ key: Buffer.from(`key-${String(i).padStart(8, '0')}`), value })),
    { now: 1_700_000_000_000 },
  );
  return Array.from({ length: Math.min(count, 64) }, () => Buffer.from(template));
}

interface Row {
  records: number;
  batchBytes: number;
  batches: number;
  seconds: number;
  mbps: number;
  batchesPerSec: number;
  rawMbps: number;
}

async function benchLog(recordsPerBatch: number): Promise<Row> {
  const dir = path.join(opts.dir, `log-${recordsPerBatch}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const pool = makeBatches(recordsPerBatch, 64);
  const batchBytes = pool[0]!.byteLength;
  const count = Math.max(200, Math.floor(totalBytes / batchBytes));
  const log = SegmentLog.open({ dir, recordBatches: true });
  let offset = 0;
  const t0 = performance.now();
  let lastReport = t0;
  for (let i = 0; i < count; i++) {
    // Stamp the base offset in place (as the leader does); the batch CRC does not cover it.
    const data = pool[i % pool.length] as Buffer;
    data.writeUInt32BE(Math.floor(offset / 2 ** 32), 0);
    data.writeUInt32BE(offset >>> 0, 4);
    const e: Entry = { index: i + 1, term: 1, kind: EntryKind.Normal, data };
    offset += recordsPerBatch;
    log.append([e]);
    await log.sync();
    const now = performance.now();
    if (now - lastReport > 2000) {
      progress(`  ${recordsPerBatch}-record batches: ${i + 1}/${count}`);
      lastReport = now;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  log.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const bytes = count * batchBytes;
  const rawMbps = benchRaw(batchBytes + FRAME_HEADER_BYTES, count);
  return { records: recordsPerBatch, batchBytes, batches: count, seconds, mbps: bytes / seconds / 1e6, batchesPerSec: count / seconds, rawMbps };
}

/** Plain sequential writes of `writeBytes`, each followed by fdatasync. */
function benchRaw(writeBytes: number, count: number): number {
  const file = path.join(opts.dir, 'raw');
  const buf = Buffer.alloc(writeBytes, 7);
  const fd = fs.openSync(file, 'w');
  const t0 = performance.now();
  for (let i = 0, pos = 0; i < count; i++, pos += writeBytes) {
    fs.writeSync(fd, buf, 0, writeBytes, pos);
    fs.fdatasyncSync(fd);
  }
  const seconds = (performance.now() - t0) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  return (writeBytes * count) / seconds / 1e6;
}

async function benchRecovery(gb: number): Promise<{ gb: number; cleanOpenMs: number; rebuildOpenMs: number; segments: number }> {
  const dir = path.join(opts.dir, 'recovery');
  fs.rmSync(dir, { recursive: true, force: true });
  const pool = makeBatches(256, 64);
  const batchBytes = pool[0]!.byteLength;
  const count = Math.ceil((gb * 1024 ** 3) / batchBytes);
  const log = SegmentLog.open({ dir, recordBatches: true });
  let offset = 0;
  for (let i = 0; i < count; i += 64) {
    const es: Entry[] = [];
    for (let k = 0; k < 64 && i + k < count; k++) {
      const data = Buffer.from(pool[k]!);
      data.writeUInt32BE(Math.floor(offset / 2 ** 32), 0);
      data.writeUInt32BE(offset >>> 0, 4);
      es.push({ index: i + k + 1, term: 1, kind: EntryKind.Normal, data });
      offset += 256;
    }
    log.append(es);
    if (i % (64 * 64) === 0) {
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

async function main(): Promise<void> {
  fs.mkdirSync(opts.dir, { recursive: true });
  progress(`measuring in ${opts.dir}, ${opts.mb} MB per batch size`);
  const rows: Row[] = [];
  for (const n of BATCH_SIZES) {
    progress(`appending 1 KB records in batches of ${n}, fdatasync after each`);
    rows.push(await benchLog(n));
  }
  const gb = Number(opts.recoveryGb);
  const recovery = gb > 0 ? await benchRecovery(gb) : null;
  console.log('');
  console.log('| records/batch | batch bytes | batches | raftlog MB/s | batches/s | raw write+fdatasync MB/s (same write size) | raftlog/raw |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.records} | ${r.batchBytes} | ${r.batches} | ${r.mbps.toFixed(1)} | ${r.batchesPerSec.toFixed(0)} | ${r.rawMbps.toFixed(1)} | ${(r.mbps / r.rawMbps).toFixed(2)} |`);
  }
  if (recovery !== null) {
    console.log('');
    console.log(`recovery of a ${recovery.gb} GB log (${recovery.segments} segments): clean reopen ${recovery.cleanOpenMs.toFixed(0)} ms; reopen rebuilding every index and the term boundaries ${recovery.rebuildOpenMs.toFixed(0)} ms`);
  }
  const big = rows[rows.length - 1]!;
  const result = {
    batches: Object.fromEntries(rows.map((r) => [r.records, { mbps: round(r.mbps), batchesPerSec: Math.round(r.batchesPerSec), rawMbps: round(r.rawMbps) }])),
    rawMbps: round(big.rawMbps),
    ratio: round(big.mbps / big.rawMbps, 3),
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
