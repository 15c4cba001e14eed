/**
 * What the nemesis does to a stopped node's files.
 *
 * - `loseUnsynced`: emulates the power loss that goes with a crash. Every partition segment file
 *   is cut back to the size its last fsync covered, as recorded by the sync tracker
 *   (sync-tracker.ts); a file with no record was never synced and is emptied. Only partition
 *   logs are cut: keeping any unsynced bytes is a legal outcome of a power loss, so leaving the
 *   metadata log, hard state and LevelDB alone is one of the states a real crash can leave.
 * - `corruptTail`: damages the tail of the last segment of one partition, as a crash in the
 *   middle of a write does (see CorruptMode). A correct node cuts the damage off when it restarts.
 * - `flipSyncedBit`: flips one bit of a frame that was synced (and so maybe acknowledged), in any
 *   segment of a partition log or of the metadata log: a disk that rots. Outside what Raft's
 *   proofs assume; a correct node finds it (on open, or on the read that meets it), keeps the
 *   valid prefix and rejoins the group as a learner (src/host/replica-trust.ts).
 *
 * Folder layout (src/node/node.ts, storage/segment-log.ts): `<data>/partitions/<topic>-<p>-<topic
 * id>/log/<20-digit first index>.log`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_SEGMENT_LOG_LIMITS } from '../storage/segment-log.js';
import { readFrame } from '../storage/frame.js';

/** `<topic>-<partition>-<topic id>`: the folder of one partition replica. */
const PARTITION_DIR = /^(.+)-(\d+)-([^-]+)$/;
const SEGMENT = /^\d{20}\.log$/;

export interface PartitionDir {
  /** `<topic>/<partition>`, the history's key. */
  readonly key: string;
  readonly dir: string;
  /** The segment files, oldest first. */
  readonly segments: readonly string[];
}

/** The partition replicas in a node's data folder. */
export function partitionDirs(dataDir: string): PartitionDir[] {
  const root = path.join(dataDir, 'partitions');
  if (!fs.existsSync(root)) return [];
  const out: PartitionDir[] = [];
  for (const name of fs.readdirSync(root).sort()) {
    const m = PARTITION_DIR.exec(name);
    if (m === null) continue;
    const logDir = path.join(root, name, 'log');
    const segments = fs.existsSync(logDir)
      ? fs.readdirSync(logDir).filter((f) => SEGMENT.test(f)).sort().map((f) => path.join(logDir, f))
      : [];
    out.push({ key: `${m[1]}/${m[2]}`, dir: path.join(root, name), segments });
  }
  return out;
}

/** The last synced size of each file named in a sync log (sync-tracker.ts format). */
export function readSyncLog(file: string): Map<string, number> {
  const sizes = new Map<string, number>();
  if (!fs.existsSync(file)) return sizes;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const bytes = Number(line.slice(0, space));
    if (Number.isSafeInteger(bytes) && bytes >= 0) sizes.set(line.slice(space + 1), bytes);
  }
  return sizes;
}

export interface LostBytes {
  readonly file: string;
  readonly from: number;
  readonly to: number;
}

/** Cuts each partition segment of a stopped node back to its last synced size; says what went. */
export function loseUnsynced(dataDir: string, syncLog: string): LostBytes[] {
  const synced = readSyncLog(syncLog);
  const lost: LostBytes[] = [];
  for (const p of partitionDirs(dataDir)) {
    for (const file of p.segments) {
      const size = fs.statSync(file).size;
      const keep = Math.min(size, synced.get(path.resolve(file)) ?? 0);
      if (keep >= size) continue;
      fs.truncateSync(file, keep);
      lost.push({ file, from: size, to: keep });
    }
  }
  return lost;
}

/**
 * How the nemesis damages a tail:
 * - `torn-write`: what a crash in the middle of a write leaves, and nothing more. Bytes past what
 *   the last fsync covered (the sync tracker's record; without one, past the end of the file)
 *   are cut somewhere, or, when there are none, a torn write is appended there: part of a copy
 *   of the last frame, a block of zeros (a file extended but not written), or garbage.
 *   Nothing the node acknowledged is touched: a correct node cuts the damage off on restart.
 * - `acked-frame`: the last whole frame itself is cut short or garbled, though it was synced and
 *   probably acknowledged: a disk that loses acknowledged data, which Raft's fault model does not
 *   cover (a replica that forgets an entry it acknowledged can make a committed entry lose its
 *   majority). For exploring how the cluster copes, not for runs that must come out valid.
 */
export type CorruptMode = 'torn-write' | 'acked-frame';

export interface Corruption {
  readonly key: string;
  readonly file: string;
  readonly how: 'torn-copy' | 'zeros' | 'garbage' | 'cut-unsynced' | 'torn-frame' | 'garbled-frame';
  /** Where the damage starts, and how many bytes it spans. */
  readonly at: number;
  readonly bytes: number;
}

/** The start and length of the last whole frame of a segment file, or null if it has none. */
export function lastFrame(file: string): { at: number; bytes: number } | null {
  const buf = fs.readFileSync(file);
  let at = 0;
  let last: { at: number; bytes: number } | null = null;
  while (at < buf.length) {
    const r = readFrame(buf, at, DEFAULT_SEGMENT_LOG_LIMITS.frameBytesMax);
    if (r.status !== 'ok') break;
    last = { at, bytes: r.bytes };
    at += r.bytes;
  }
  return last;
}

/**
 * Damages the tail of the last segment of one of a stopped node's partitions (chosen with
 * `random`); `synced` is the sync tracker's record (readSyncLog), null without one. Returns what
 * was done, or null when no partition has a segment (or, for `acked-frame`, a frame) to damage.
 */
export function corruptTail(dataDir: string, random: () => number, mode: CorruptMode, synced: ReadonlyMap<string, number> | null): Corruption | null {
  const candidates = partitionDirs(dataDir)
    .map((p) => ({ key: p.key, file: p.segments[p.segments.length - 1] }))
    .filter((c): c is { key: string; file: string } => c.file !== undefined && (mode === 'torn-write' || lastFrame(c.file) !== null));
  if (candidates.length === 0) return null;
  const { key, file } = candidates[Math.floor(random() * candidates.length)]!;
  const size = fs.statSync(file).size;
  const damage = (how: Corruption['how'], at: number, bytes: number): Corruption => ({ key, file, how, at, bytes });
  const fd = fs.openSync(file, 'r+');
  try {
    if (mode === 'acked-frame') {
      const { at, bytes } = lastFrame(file)!;
      if (random() < 0.5) {
        fs.ftruncateSync(fd, at + 1 + Math.floor(random() * (bytes - 1)));
        return damage('torn-frame', at, bytes);
      }
      garble(fd, at + 4, at + bytes, random);
      if (size > at + bytes) fs.ftruncateSync(fd, at + bytes);
      return damage('garbled-frame', at, bytes);
    }
    const durable = synced === null ? size : Math.min(size, synced.get(path.resolve(file)) ?? 0);
    if (size > durable) {
      // Writes reach the disk in order only up to a point: keep a prefix of what was not synced.
      // (Damage followed by whole frames would be reported as corruption, rightly: it cannot be
      // told from a damaged synced region.)
      const keep = durable + Math.floor(random() * (size - durable));
      fs.ftruncateSync(fd, keep);
      return damage('cut-unsynced', keep, size - keep);
    }
    const frame = lastFrame(file);
    const r = random();
    let torn: Buffer;
    let how: Corruption['how'];
    if (frame !== null && r < 0.4) {
      const copy = Buffer.alloc(frame.bytes);
      fs.readSync(fd, copy, 0, frame.bytes, frame.at);
      torn = copy.subarray(0, 1 + Math.floor(random() * (frame.bytes - 1)));
      how = 'torn-copy';
    } else if (r < 0.7) {
      torn = Buffer.alloc(512 * (1 + Math.floor(random() * 8)));
      how = 'zeros';
    } else {
      torn = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 4096) }, () => Math.floor(random() * 256)));
      how = 'garbage';
    }
    fs.writeSync(fd, torn, 0, torn.length, durable);
    return damage(how, durable, torn.length);
  } finally {
    fs.closeSync(fd);
  }
}

export interface BitFlip {
  /** `topic/partition`, or `meta` for the metadata log. */
  readonly key: string;
  readonly file: string;
  /** The frame's first byte, its length, and the byte and bit flipped. */
  readonly frameAt: number;
  readonly frameBytes: number;
  readonly at: number;
  readonly bit: number;
}

/** Every whole frame of a segment file that lies within its first `limit` bytes. */
function framesOf(file: string, limit: number): { at: number; bytes: number }[] {
  const buf = fs.readFileSync(file);
  const end = Math.min(limit, buf.length);
  const out: { at: number; bytes: number }[] = [];
  for (let at = 0; at < end; ) {
    const r = readFrame(buf, at, DEFAULT_SEGMENT_LOG_LIMITS.frameBytesMax);
    if (r.status !== 'ok' || at + r.bytes > end) break;
    out.push({ at, bytes: r.bytes });
    at += r.bytes;
  }
  return out;
}

/**
 * Flips one bit of a synced frame of one of a stopped node's log segments (chosen with `random`),
 * partitions and metadata alike; `synced` is the sync tracker's record of partition segments (the
 * metadata log is not tracked: a SIGKILL keeps its page cache, so its whole frames are on disk).
 * Returns what was done, or null when no log holds a synced frame.
 */
export function flipSyncedBit(dataDir: string, random: () => number, synced: ReadonlyMap<string, number> | null): BitFlip | null {
  const files: { key: string; file: string; limit: number }[] = [];
  for (const p of partitionDirs(dataDir)) {
    for (const f of p.segments) files.push({ key: p.key, file: f, limit: synced === null ? Number.MAX_SAFE_INTEGER : (synced.get(path.resolve(f)) ?? 0) });
  }
  const metaLog = path.join(dataDir, 'meta', 'log');
  if (fs.existsSync(metaLog)) {
    for (const f of fs.readdirSync(metaLog).filter((x) => SEGMENT.test(x)).sort()) files.push({ key: 'meta', file: path.join(metaLog, f), limit: Number.MAX_SAFE_INTEGER });
  }
  const candidates = files.map((f) => ({ ...f, frames: framesOf(f.file, f.limit) })).filter((f) => f.frames.length > 0);
  if (candidates.length === 0) return null;
  const c = candidates[Math.floor(random() * candidates.length)]!;
  const frame = c.frames[Math.floor(random() * c.frames.length)]!;
  const at = frame.at + Math.floor(random() * frame.bytes);
  const bit = Math.floor(random() * 8);
  const fd = fs.openSync(c.file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ (1 << bit);
    fs.writeSync(fd, b, 0, 1, at);
  } finally {
    fs.closeSync(fd);
  }
  return { key: c.key, file: c.file, frameAt: frame.at, frameBytes: frame.bytes, at, bit };
}

/** Flips a few bytes in [from, to) of an open file. */
function garble(fd: number, from: number, to: number, random: () => number): void {
  const count = 1 + Math.floor(random() * 8);
  const b = Buffer.alloc(1);
  for (let i = 0; i < count; i++) {
    const pos = from + Math.floor(random() * (to - from));
    fs.readSync(fd, b, 0, 1, pos);
    b[0] = b[0]! ^ (1 + Math.floor(random() * 255));
    fs.writeSync(fd, b, 0, 1, pos);
  }
}
