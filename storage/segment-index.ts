/**
 * `<firstIndex>.index`: the sparse index of one sealed segment, derived from its `.log` and
 * rebuilt from it whenever this file is missing, torn or does not describe the `.log` as it is.
 *
 *     magic "RLX1" u32 | version u32
 *     points, 32 bytes each, one per `indexIntervalBytes` of log (and one at position 0):
 *       Raft index u64   the entry that starts at `position`
 *       offset u64       the first record offset at or after `position` (the log end offset there)
 *       position u64     byte position of that entry's frame in the .log file
 *       timestamp f64    the largest record timestamp before `position` in this segment (-1: none)
 *     trailer:
 *       point count u32 | last Raft index u64 | next offset u64 | .log bytes u64 | max timestamp f64
 *       CRC-32C u32 of everything before it
 *
 * One sparse index serves three lookups: Raft index to position, record offset to position, and
 * timestamp to offset (the timestamps are running maxima, so they never go down along the file).
 * The active segment keeps its points in memory only; they are written when it is sealed.
 */
import { crc32c } from '../src/wire/crc32c.js';
import type { FileSystem } from './file-system.js';
import { readU64, writeU64 } from './frame.js';

const MAGIC = 0x524c5831; // "RLX1"
const VERSION = 1;
const HEADER_BYTES = 8;
export const POINT_BYTES = 32;
const TRAILER_BYTES = 4 + 8 + 8 + 8 + 8 + 4;

export interface IndexPoint {
  readonly index: number;
  readonly offset: number;
  readonly position: number;
  readonly timestampBefore: number;
}

export interface SealedSummary {
  readonly points: IndexPoint[];
  readonly lastIndex: number;
  readonly nextOffset: number;
  readonly logBytes: number;
  readonly maxTimestamp: number;
}

/** The file's bytes for a sealed segment. */
export function encodeSegmentIndex(s: SealedSummary): Buffer {
  const n = s.points.length;
  const buf = Buffer.alloc(HEADER_BYTES + n * POINT_BYTES + TRAILER_BYTES);
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt32BE(VERSION, 4);
  let at = HEADER_BYTES;
  for (const p of s.points) {
    writeU64(buf, at, p.index);
    writeU64(buf, at + 8, p.offset);
    writeU64(buf, at + 16, p.position);
    buf.writeDoubleBE(p.timestampBefore, at + 24);
    at += POINT_BYTES;
  }
  buf.writeUInt32BE(n, at);
  writeU64(buf, at + 4, s.lastIndex);
  writeU64(buf, at + 12, s.nextOffset);
  writeU64(buf, at + 20, s.logBytes);
  buf.writeDoubleBE(s.maxTimestamp, at + 28);
  buf.writeUInt32BE(crc32c(buf, 0, at + 36), at + 36);
  return buf;
}

/** Writes the file (encodeSegmentIndex's bytes) and fsyncs it. */
export function writeSegmentIndex(fs: FileSystem, file: string, bytes: Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, bytes, 0, bytes.byteLength, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The index if it is intact and describes a .log of `logBytes` bytes; otherwise null. */
export function readSegmentIndex(fs: FileSystem, file: string, logBytes: number): SealedSummary | null {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (buf.length < HEADER_BYTES + TRAILER_BYTES) return null;
  if (buf.readUInt32BE(0) !== MAGIC || buf.readUInt32BE(4) !== VERSION) return null;
  const t = buf.length - TRAILER_BYTES;
  if (buf.readUInt32BE(t + 36) !== crc32c(buf, 0, t + 36)) return null;
  const n = buf.readUInt32BE(t);
  if (HEADER_BYTES + n * POINT_BYTES !== t) return null;
  const summary: SealedSummary = {
    points: [],
    lastIndex: readU64(buf, t + 4),
    nextOffset: readU64(buf, t + 12),
    logBytes: readU64(buf, t + 20),
    maxTimestamp: buf.readDoubleBE(t + 28),
  };
  if (summary.logBytes !== logBytes) return null;
  for (let i = 0, at = HEADER_BYTES; i < n; i++, at += POINT_BYTES) {
    summary.points.push({
      index: readU64(buf, at),
      offset: readU64(buf, at + 8),
      position: readU64(buf, at + 16),
      timestampBefore: buf.readDoubleBE(at + 24),
    });
  }
  return summary;
}

/** The last point whose `key` is at most `value` (points are sorted by every key). */
export function floorPoint(points: readonly IndexPoint[], key: 'index' | 'offset' | 'timestampBefore', value: number): IndexPoint | undefined {
  let lo = 0;
  let hi = points.length - 1;
  let found: IndexPoint | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const p = points[mid]!;
    if (p[key] <= value) {
      found = p;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
