/**
 * One segment: a `<firstIndex>.log` file of entry frames (see frame.ts), its sparse index points,
 * and the bookkeeping to append, scan, truncate and seal it.
 *
 * A segment is *sealed* once it is full: fdatasynced, its index written (segment-index.ts; when
 * the log rolls, by its next sync, see SegmentLog.sync), never written again unless a Raft
 * conflict truncates into it. Only the last segment is active. Because a new segment is created
 * only after the previous one's bytes are durable, only the active segment can end in a torn write.
 *
 * Files: the active segment holds its file open (it is written and synced through it); a sealed
 * one does not, and is read through the node's SegmentFiles (segment-files.ts), which opens it on
 * demand and keeps a capped number open. A sealed segment closes its own file once nothing is
 * using it (a sync or a read ahead in flight when it was sealed).
 */
import path from 'node:path';
import type { Entry } from '../raft/types.js';
import { CorruptLogError, check } from './errors.js';
import { rmIfExists, type FileSystem } from './file-system.js';
import { FRAME_HEADER_BYTES, encodeFrameHeader, readFrame } from './frame.js';
import { encodeSegmentIndex, floorPoint, readSegmentIndex, writeSegmentIndex, type IndexPoint } from './segment-index.js';
import type { PinnedFile, SegmentFiles } from './segment-files.js';

/** What a record-carrying entry contributes to offsets and timestamps. */
export interface BatchInfo {
  readonly baseOffset: number;
  /** One past the batch's last offset. */
  readonly nextOffset: number;
  readonly maxTimestamp: number;
}

/** Reads an entry's batch header; null for entries that carry no records. Throws on a malformed one. */
export type DescribeEntry = (e: Entry) => BatchInfo | null;

export interface SegmentConfig {
  readonly dir: string;
  /** The disk the segment files are on. */
  readonly fs: FileSystem;
  readonly frameBytesMax: number;
  readonly indexIntervalBytes: number;
  readonly readChunkBytes: number;
  readonly describe: DescribeEntry;
  /** Where sealed segments' files are opened for reading. */
  readonly files: SegmentFiles;
}

export function segmentName(baseIndex: number, ext: 'log' | 'index'): string {
  return `${String(baseIndex).padStart(20, '0')}.${ext}`;
}

/** A frame found while reading a segment file. */
export interface FoundFrame {
  readonly entry: Entry;
  readonly position: number;
  readonly bytes: number;
}

export type ScanEnd =
  | { readonly kind: 'end' }
  /** The file ends inside a frame. */
  | { readonly kind: 'torn'; readonly position: number }
  | { readonly kind: 'corrupt'; readonly position: number; readonly reason: string };

/** Reads frames from a file in chunks; entry data are views into chunk buffers. */
export class FrameCursor {
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  private pos: number;
  ended: ScanEnd | null = null;

  /** `fd` is asked for before each read: a sealed segment's descriptor may change between reads (segment-files.ts). */
  constructor(private readonly fd: () => number, start: number, private readonly end: number, private readonly cfg: SegmentConfig) {
    this.pos = start;
  }

  get position(): number {
    return this.pos;
  }

  next(): FoundFrame | null {
    if (this.ended !== null) return null;
    if (this.pos >= this.end) {
      this.ended = { kind: 'end' };
      return null;
    }
    // At most: one fill for the header, one for a frame larger than a chunk, then it parses.
    for (let attempt = 0; attempt < 3; attempt++) {
      const at = this.pos - this.bufStart;
      const r = readFrame(this.buf, at, this.cfg.frameBytesMax);
      if (r.status === 'ok') {
        const found = { entry: r.entry, position: this.pos, bytes: r.bytes };
        this.pos += r.bytes;
        return found;
      }
      if (r.status === 'corrupt') {
        this.ended = { kind: 'corrupt', position: this.pos, reason: r.reason };
        return null;
      }
      if (this.pos + r.need > this.end) {
        // The frame would run past the end of the file, unless its length field is what is damaged.
        this.ended = { kind: 'torn', position: this.pos };
        return null;
      }
      this.fill(Math.max(this.cfg.readChunkBytes, r.need));
    }
    throw new Error('unreachable: a frame did not fit in a buffer sized for it');
  }

  private fill(want: number): void {
    const len = Math.min(want, this.end - this.pos);
    const buf = Buffer.allocUnsafe(len);
    const fd = this.fd();
    let got = 0;
    while (got < len) {
      const n = this.cfg.fs.readSync(fd, buf, got, len - got, this.pos + got);
      if (n === 0) break;
      got += n;
    }
    this.buf = got === len ? buf : buf.subarray(0, got);
    this.bufStart = this.pos;
  }
}

export class Segment {
  readonly logPath: string;
  readonly indexPath: string;
  size = 0;
  lastIndex: number;
  nextOffset: number;
  maxTimestamp = -1;
  points: IndexPoint[] = [];
  sealed = false;
  /** When the first entry was appended (by the log's clock), for rolling by age; null if empty. */
  firstAppendAt: number | null = null;
  private bytesSincePoint = 0;
  /** Syncs and reads ahead in flight on `fd`: a segment sealed meanwhile closes it after them. */
  private fdUsers = 0;
  /** The index a deferred seal has not written yet (see seal). */
  private owedIndex: Buffer | null = null;

  private constructor(
    private readonly cfg: SegmentConfig,
    readonly baseIndex: number,
    readonly baseOffset: number,
    /** The segment's own descriptor (read-write) while it is active; -1 once sealed and closed. */
    private fd: number,
  ) {
    this.logPath = path.join(cfg.dir, segmentName(baseIndex, 'log'));
    this.indexPath = path.join(cfg.dir, segmentName(baseIndex, 'index'));
    this.lastIndex = baseIndex - 1;
    this.nextOffset = baseOffset;
  }

  static create(cfg: SegmentConfig, baseIndex: number, baseOffset: number): Segment {
    const file = path.join(cfg.dir, segmentName(baseIndex, 'log'));
    const fd = cfg.fs.openSync(file, 'w+');
    return new Segment(cfg, baseIndex, baseOffset, fd);
  }

  /**
   * Opens an existing segment. A sealed one with an intact index is trusted as it is; otherwise
   * the file is scanned and every frame verified. `onEntry` sees each scanned entry in order.
   * Returns the segment and how the scan ended (`end` when nothing was wrong or nothing scanned).
   */
  static open(cfg: SegmentConfig, baseIndex: number, baseOffset: number, sealed: boolean, onEntry: (e: Entry) => void): { segment: Segment; end: ScanEnd; scanned: boolean } {
    const file = path.join(cfg.dir, segmentName(baseIndex, 'log'));
    const fd = cfg.fs.openSync(file, 'r+');
    const s = new Segment(cfg, baseIndex, baseOffset, fd);
    const size = cfg.fs.fstatSync(fd).size;
    if (sealed) {
      const idx = readSegmentIndex(cfg.fs, s.indexPath, size);
      if (idx !== null && idx.points[0]?.offset === baseOffset && idx.points[0]?.index === baseIndex) {
        s.size = size;
        s.points = idx.points;
        s.lastIndex = idx.lastIndex;
        s.nextOffset = idx.nextOffset;
        s.maxTimestamp = idx.maxTimestamp;
        s.sealed = true;
        s.closeOwnFile();
        return { segment: s, end: { kind: 'end' }, scanned: false };
      }
    }
    const end = s.scan(size, onEntry);
    return { segment: s, end, scanned: true };
  }

  /** Scans frames from the start, rebuilding points and totals; stops at the first bad frame. */
  private scan(size: number, onEntry: (e: Entry) => void): ScanEnd {
    const cursor = new FrameCursor(() => this.fd, 0, size, this.cfg);
    let prevTerm = 0;
    for (let f = cursor.next(); f !== null; f = cursor.next()) {
      const e = f.entry;
      let problem: string | null = null;
      let info: BatchInfo | null = null;
      if (e.index !== this.lastIndex + 1) problem = `entry index ${e.index} follows ${this.lastIndex}`;
      else if (e.term < prevTerm) problem = `term ${e.term} at index ${e.index} is below the previous term ${prevTerm}`;
      else {
        try {
          info = this.cfg.describe(e);
        } catch (err) {
          problem = `the record batch at index ${e.index} is malformed: ${(err as Error).message}`;
        }
        if (info !== null && info.baseOffset !== this.nextOffset) problem = `batch at index ${e.index} starts at offset ${info.baseOffset}, not ${this.nextOffset}`;
      }
      if (problem !== null) {
        this.size = f.position;
        return { kind: 'corrupt', position: f.position, reason: problem };
      }
      prevTerm = e.term;
      this.noteEntry(e, info, f.position, f.bytes);
      onEntry(e);
    }
    const end = cursor.ended ?? { kind: 'end' };
    this.size = end.kind === 'end' ? size : end.position;
    return end;
  }

  /**
   * After a scan stopped at `position`: is there a valid frame later in the file? If so the bad
   * bytes are not a torn tail but damage inside data that was once complete (and maybe synced).
   */
  validFrameAfter(position: number): boolean {
    const size = this.fileSize();
    const window = 1024 * 1024;
    for (let start = position + 1; start < size; start += window) {
      const len = Math.min(window + this.cfg.frameBytesMax, size - start);
      const buf = Buffer.allocUnsafe(len);
      const n = this.cfg.fs.readSync(this.readFd(), buf, 0, len, start);
      const view = buf.subarray(0, n);
      const limit = Math.min(window, n);
      for (let at = 0; at < limit; at++) {
        const r = readFrame(view, at, this.cfg.frameBytesMax);
        if (r.status === 'ok' && r.entry.index > this.lastIndex) return true;
      }
    }
    return false;
  }

  /** Appends entries (whose infos the log has checked) with one positioned write. */
  append(entries: readonly Entry[], infos: readonly (BatchInfo | null)[], now: number): void {
    this.checkActive('append');
    const headers = Buffer.allocUnsafe(entries.length * FRAME_HEADER_BYTES);
    const iov: Uint8Array[] = [];
    let position = this.size;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      check(e.index === this.lastIndex + 1, () => `${this.logPath}: append of index ${e.index} after ${this.lastIndex}`);
      encodeFrameHeader(e, headers, i * FRAME_HEADER_BYTES, infos[i] !== null && infos[i] !== undefined);
      iov.push(headers.subarray(i * FRAME_HEADER_BYTES, (i + 1) * FRAME_HEADER_BYTES));
      if (e.data.byteLength > 0) iov.push(e.data);
      const bytes = FRAME_HEADER_BYTES + e.data.byteLength;
      this.noteEntry(e, infos[i] ?? null, position, bytes);
      position += bytes;
    }
    writevAll(this.cfg.fs, this.fd, iov, this.size);
    this.size = position;
    if (this.firstAppendAt === null) this.firstAppendAt = now;
  }

  /** Updates points and totals for an entry written at `position`. */
  private noteEntry(e: Entry, info: BatchInfo | null, position: number, bytes: number): void {
    if (position === 0 || this.bytesSincePoint >= this.cfg.indexIntervalBytes) {
      this.points.push({ index: e.index, offset: this.nextOffset, position, timestampBefore: this.maxTimestamp });
      this.bytesSincePoint = 0;
    }
    this.bytesSincePoint += bytes;
    this.lastIndex = e.index;
    if (info !== null) {
      this.nextOffset = info.nextOffset;
      if (info.maxTimestamp > this.maxTimestamp) this.maxTimestamp = info.maxTimestamp;
    }
  }

  /** A cursor over frames starting at the sparse point at or before `key = value`. */
  cursorFrom(key: 'index' | 'offset' | 'timestampBefore', value: number): FrameCursor {
    const p = floorPoint(this.points, key, value);
    return new FrameCursor(() => this.readFd(), p?.position ?? 0, this.size, this.cfg);
  }

  /** The size of the file on disk (recovery compares it with what the scan found valid). */
  fileSize(): number {
    return this.cfg.fs.fstatSync(this.readFd()).size;
  }

  /** A descriptor for synchronous reads, valid until the next call to the node's SegmentFiles. */
  private readFd(): number {
    return this.fd >= 0 ? this.fd : this.cfg.files.fdFor(this.logPath);
  }

  /** Keeps the file open for an asynchronous read until the handle is released. */
  pinForRead(): PinnedFile {
    if (this.fd < 0) return this.cfg.files.pin(this.logPath);
    const fd = this.fd;
    this.fdUsers++;
    let released = false;
    return {
      fd,
      release: () => {
        if (released) return;
        released = true;
        this.fdUsers--;
        if (this.sealed) this.closeOwnFile();
      },
    };
  }

  /** Drops every entry at or after `index`, which must be inside this segment. */
  truncateFrom(index: number): void {
    check(index >= this.baseIndex && index <= this.lastIndex + 1, () => `${this.logPath}: truncate at ${index} outside ${this.baseIndex}..${this.lastIndex + 1}`);
    if (index === this.lastIndex + 1) return;
    this.checkActive('truncate');
    // Replay from the last point before `index` to find its position and the totals there.
    let keep = 0;
    while (keep < this.points.length && this.points[keep]!.index < index) keep++;
    const from = this.points[keep - 1];
    const cut = this.points.slice(0, Math.max(keep - 1, 0));
    this.points = cut;
    this.lastIndex = (from?.index ?? this.baseIndex) - 1;
    this.nextOffset = from?.offset ?? this.baseOffset;
    this.maxTimestamp = from?.timestampBefore ?? -1;
    this.bytesSincePoint = this.cfg.indexIntervalBytes; // the next entry noted gets a point
    const cursor = new FrameCursor(() => this.fd, from?.position ?? 0, this.size, this.cfg);
    let position = from?.position ?? 0;
    for (let f = cursor.next(); f !== null && f.entry.index < index; f = cursor.next()) {
      this.noteEntry(f.entry, this.cfg.describe(f.entry), f.position, f.bytes);
      position = f.position + f.bytes;
    }
    check(this.lastIndex === index - 1, () => `${this.logPath}: truncating at ${index} found entries only up to ${this.lastIndex}`);
    this.cfg.fs.ftruncateSync(this.fd, position);
    this.size = position;
    if (this.lastIndex < this.baseIndex) this.firstAppendAt = null;
  }

  /** Cuts the file at `position` (a torn or corrupt tail found by a scan). */
  cutAt(position: number): void {
    this.checkActive('cut');
    this.cfg.fs.ftruncateSync(this.fd, position);
    this.size = position;
  }

  /**
   * Makes the segment's bytes durable (fdatasync: its data and its size, as `sync` does) and
   * writes its index; it takes no more appends, and closes its file (reads go through
   * SegmentFiles). With `deferIndex`, the index is not written but owed (`takeOwedIndex`): the
   * log writes it off the event loop at its next sync. Either way the bytes are durable before
   * this returns, so no later segment can exist on disk while this one may still end torn.
   */
  seal(deferIndex = false): void {
    this.checkActive('seal');
    this.cfg.fs.fdatasyncSync(this.fd);
    const index = encodeSegmentIndex({
      points: this.points,
      lastIndex: this.lastIndex,
      nextOffset: this.nextOffset,
      logBytes: this.size,
      maxTimestamp: this.maxTimestamp,
    });
    if (deferIndex) this.owedIndex = index;
    else writeSegmentIndex(this.cfg.fs, this.indexPath, index);
    this.sealed = true;
    this.closeOwnFile();
  }

  /** The index bytes a deferred seal owes its `.index` file, handed over once (null when none are owed). */
  takeOwedIndex(): Buffer | null {
    const index = this.owedIndex;
    this.owedIndex = null;
    return index;
  }

  /** The segment becomes the active one again (a truncation reached into it), with its own file open to write. */
  unseal(): void {
    this.owedIndex = null;
    rmIfExists(this.cfg.fs, this.indexPath);
    if (this.fd < 0) {
      this.cfg.files.forget(this.logPath);
      this.fd = this.cfg.fs.openSync(this.logPath, 'r+');
    }
    this.sealed = false;
  }

  async sync(): Promise<void> {
    this.checkActive('sync');
    this.fdUsers++;
    try {
      await this.cfg.fs.fdatasync(this.fd);
    } finally {
      this.fdUsers--;
      // Sealed while the sync was in flight: its file closes now.
      if (this.sealed) this.closeOwnFile();
    }
  }

  close(): void {
    if (this.fd >= 0) this.cfg.fs.closeSync(this.fd);
    else this.cfg.files.forget(this.logPath);
    this.fd = -1;
  }

  /** A sealed segment's own file closes once no sync or read ahead uses it. */
  private closeOwnFile(): void {
    if (this.fd < 0 || this.fdUsers > 0) return;
    this.cfg.fs.closeSync(this.fd);
    this.fd = -1;
  }

  private checkActive(what: string): void {
    check(this.fd >= 0, () => `${this.logPath}: ${what} of a sealed segment whose file is closed (unseal it first)`);
  }

  remove(): void {
    this.close();
    this.removeFiles();
  }

  /** Removes the segment's files (closed already: retention closes it at once and removes its files once the new log start is durable). */
  removeFiles(): void {
    this.owedIndex = null;
    rmIfExists(this.cfg.fs, this.indexPath);
    rmIfExists(this.cfg.fs, this.logPath);
  }

  isEmpty(): boolean {
    return this.lastIndex < this.baseIndex;
  }
}

const IOV_MAX = 1024;

function writevAll(fs: FileSystem, fd: number, iov: Uint8Array[], position: number): void {
  let pos = position;
  for (let i = 0; i < iov.length; i += IOV_MAX) {
    let chunk = iov.slice(i, i + IOV_MAX);
    let want = 0;
    for (const b of chunk) want += b.byteLength;
    while (want > 0) {
      const n = fs.writevSync(fd, chunk, pos);
      pos += n;
      want -= n;
      if (want === 0) break;
      chunk = dropBytes(chunk, n);
    }
  }
}

/** The iovec after its first `n` bytes (after a short write). */
function dropBytes(iov: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = n;
  for (const b of iov) {
    if (skip >= b.byteLength) {
      skip -= b.byteLength;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

/** The corruption error for a scan that stopped on a bad frame. */
export function corruptAt(s: Segment, end: ScanEnd): CorruptLogError {
  const position = end.kind === 'end' ? s.size : end.position;
  const reason = end.kind === 'corrupt' ? end.reason : end.kind === 'torn' ? 'the file ends inside a frame' : 'unexpected end';
  return new CorruptLogError(s.logPath, position, reason);
}
