/**
 * What the machine itself can do, measured in the same run as the systems, so their figures can
 * be read as fractions of it:
 *
 * - disk: sequential writes of WRITE_BYTES to a fresh file, each followed by fdatasync (what an
 *   acknowledged append costs at best), in the folder the clusters write to;
 * - loopback: one TCP stream over 127.0.0.1 from this process to a child process that counts the
 *   bytes (two processes, as between two nodes);
 * - CPU steal: the share of CPU time the hypervisor gave to other guests while a workload ran
 *   (Linux `/proc/stat`), printed beside each figure: on a shared virtual machine it moves
 *   every figure, and runs are only comparable at similar steal.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { round } from './workloads.js';

const WRITE_BYTES = 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

/** MB/s of write + fdatasync of 1 MiB at a time for `ms`. */
export function rawDisk(dir: string, ms: number): number {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'raw-disk-bench');
  const buf = Buffer.alloc(WRITE_BYTES, 7);
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < ms) {
      fs.writeSync(fd, buf);
      fs.fdatasyncSync(fd);
      bytes += buf.length;
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  return round(bytes / ((performance.now() - t0) / 1000) / 1e6, 1);
}

/** The receiving end: counts bytes until its stdin closes, then prints the count. */
const SINK = `
const net = require('node:net');
let bytes = 0;
const srv = net.createServer((s) => s.on('data', (d) => { bytes += d.length; }));
srv.listen(0, '127.0.0.1', () => process.stdout.write(srv.address().port + '\\n'));
process.stdin.on('end', () => { process.stdout.write(bytes + '\\n'); process.exit(0); });
process.stdin.resume();
`;

/** MB/s of one TCP stream over loopback between two processes for `ms`. */
export async function loopback(ms: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', SINK], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const l = await lines.next();
    if (l.done === true) throw new Error('the loopback sink exited early');
    return l.value;
  };
  const port = Number(await nextLine());
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  const chunk = Buffer.alloc(CHUNK_BYTES, 1);
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (performance.now() - t0 < ms) {
        if (!sock.write(chunk)) {
          sock.once('drain', pump);
          return;
        }
      }
      resolve();
    };
    pump();
  });
  await new Promise<void>((resolve) => sock.end(resolve));
  const seconds = (performance.now() - t0) / 1000;
  // Let the sink read what is still in flight before asking for its count.
  await new Promise((r) => setTimeout(r, 100));
  child.stdin!.end();
  const bytes = Number(await nextLine());
  return round(bytes / seconds / 1e6, 1);
}

/** Cumulative CPU time of all cores (in clock ticks), from the first line of /proc/stat. */
export interface CpuTimes {
  readonly total: number;
  readonly steal: number;
}

/** The machine's CPU times now; null where /proc/stat is not there (not Linux). */
export function cpuTimes(): CpuTimes | null {
  let line: string;
  try {
    line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  } catch {
    return null;
  }
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 8 || f.some((v) => !Number.isFinite(v))) return null;
  return { total: f.reduce((a, b) => a + b, 0), steal: f[7]! };
}

/** Percent of CPU time stolen between two samples; null when either is missing or no time passed. */
export function stealPercent(a: CpuTimes | null, b: CpuTimes | null): number | null {
  if (a === null || b === null || b.total <= a.total) return null;
  return round((100 * (b.steal - a.steal)) / (b.total - a.total), 1);
}
