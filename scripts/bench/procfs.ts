/**
 * What a system's server processes cost, read from Linux's /proc (proc(5)), so that raftlog and
 * NATS JetStream can be charged the same way for the same work:
 *
 * - CPU: `/proc/<pid>/stat` fields 14 and 15, utime and stime, in clock ticks (`getconf CLK_TCK`,
 *   100 on every Linux this runs on), summed over the process's threads (a Go server's and a
 *   Node.js node's helper threads included);
 * - disk: `/proc/<pid>/io` `write_bytes`, the bytes the process caused to be sent to the block
 *   layer. The kernel counts a page when the process dirties it in the page cache, not when it is
 *   written back: an append that fills half a page and is fsynced, then another that fills the rest
 *   and is fsynced, counts the page twice (and the disk does write it twice); a page dirtied again
 *   before it was written back counts once. `cancelled_write_bytes` is what was dirtied and then
 *   truncated or deleted before writeback (it never reached the disk). The file system's journal
 *   (ext4's jbd2 thread) is not the process's and is not counted;
 * - memory: `/proc/<pid>/status` VmRSS, the resident set.
 *
 * Every reading is of processes now running; one that exited (killed, restarted under a new pid)
 * is absent from a later reading, and a difference over it is marked incomplete.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** A server process of a system under test. */
export interface ServerProcess {
  readonly node: string;
  readonly pid: number;
}

export interface ProcReading {
  readonly node: string;
  readonly pid: number;
  /** utime + stime, clock ticks. */
  readonly cpuTicks: number;
  /** stime alone: time in the kernel (syscalls: writes, fdatasyncs, sockets). */
  readonly systemTicks: number;
  readonly writeBytes: number;
  readonly cancelledWriteBytes: number;
  readonly rssBytes: number;
}

/** Clock ticks per second when `getconf` cannot say (Linux's USER_HZ on every common platform). */
const CLK_TCK_DEFAULT = 100;

let clkTck: number | null = null;

/** Clock ticks per second of /proc/<pid>/stat's times, from `getconf CLK_TCK` (read once). */
export function clockTicksPerSec(): number {
  if (clkTck === null) {
    try {
      const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clkTck = Number.isInteger(v) && v > 0 ? v : CLK_TCK_DEFAULT;
    } catch {
      clkTck = CLK_TCK_DEFAULT;
    }
  }
  return clkTck;
}

/** The process's reading now; null when it is gone or /proc is not there (not Linux). */
export function readProc(p: ServerProcess): ProcReading | null {
  try {
    const stat = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const io = keyed(fs.readFileSync(`/proc/${p.pid}/io`, 'utf8'));
    const status = keyed(fs.readFileSync(`/proc/${p.pid}/status`, 'utf8'));
    // "VmRSS:	  123456 kB"
    const rssKb = Number((status.get('VmRSS') ?? '').replace(/\s*kB$/, ''));
    const reading = {
      node: p.node,
      pid: p.pid,
      cpuTicks: utime + stime,
      systemTicks: stime,
      writeBytes: Number(io.get('write_bytes')),
      cancelledWriteBytes: Number(io.get('cancelled_write_bytes')),
      rssBytes: rssKb * 1024,
    };
    return Object.values(reading).every((v) => typeof v === 'string' || Number.isFinite(v)) ? reading : null;
  } catch {
    return null;
  }
}

function keyed(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

/** Readings of every process given that is running. */
export function readAll(ps: readonly ServerProcess[]): ProcReading[] {
  return ps.flatMap((p) => readProc(p) ?? []);
}

/** What the processes spent between two readings. */
export interface ProcCost {
  readonly cpuSec: number;
  /** The part of cpuSec spent in the kernel (stime). */
  readonly systemSec: number;
  /** write_bytes minus cancelled_write_bytes: what reached, or will reach, the block layer. */
  readonly diskBytes: number;
  /** False when a process of one reading is missing from the other (it exited or was restarted). */
  readonly complete: boolean;
}

export function costBetween(before: readonly ProcReading[], after: readonly ProcReading[]): ProcCost {
  let ticks = 0;
  let systemTicks = 0;
  let disk = 0;
  let complete = before.length === after.length;
  for (const a of after) {
    const b = before.find((x) => x.pid === a.pid);
    if (b === undefined) {
      complete = false;
      continue;
    }
    ticks += a.cpuTicks - b.cpuTicks;
    systemTicks += a.systemTicks - b.systemTicks;
    disk += a.writeBytes - b.writeBytes - (a.cancelledWriteBytes - b.cancelledWriteBytes);
  }
  return { cpuSec: ticks / clockTicksPerSec(), systemSec: systemTicks / clockTicksPerSec(), diskBytes: disk, complete };
}

/** Adds costs up (windows of one workload). */
export function sumCosts(costs: readonly ProcCost[]): ProcCost {
  return {
    cpuSec: costs.reduce((a, c) => a + c.cpuSec, 0),
    systemSec: costs.reduce((a, c) => a + c.systemSec, 0),
    diskBytes: costs.reduce((a, c) => a + c.diskBytes, 0),
    complete: costs.every((c) => c.complete),
  };
}
