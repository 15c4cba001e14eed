/**
 * The segment log: a partition's Raft log and its data in one (DESIGN.md §3). A record batch is
 * written once, as the payload of its Raft entry, and read back byte for byte by consumers.
 *
 * Folder layout:
 *
 *     <firstIndex>.log     entry frames (frame.ts), rolled by size and by age
 *     <firstIndex>.index   sparse index of a sealed segment (segment-index.ts); derived
 *     terms                first index of each term (term-boundaries.ts); derived
 *     configs              the configuration entries and their indexes (config-entries.ts); derived
 *     logstart             index, term and record offset just before the first entry, after
 *                          retention or a snapshot moved the log start, and the configuration in
 *                          effect there when it is known (see below)
 *
 * `logstart` (atomic file, atomic-file.ts): body = index u64 | term u64 | record offset u64, then,
 * when the configuration at the log start is known, membership length u32 | membership (UTF-8
 * JSON, raft/membership.ts's encodeMembership). A 24-byte body (as every log start was written
 * before configurations were kept) knows no configuration: the group's first one applies until a
 * configuration entry. Retention that drops configuration entries writes the last of them here,
 * so the log keeps its configuration when the entry that set it is gone.
 *
 * The log is the truth; indexes, term boundaries and configuration entries are rebuilt from it
 * when missing or damaged.
 * On open, the active (last) segment is scanned and every frame verified: a torn or corrupt tail
 * is cut off, but damage followed by valid frames, or any damage in a sealed segment, is reported
 * as CorruptLogError instead of silently dropping data that may have been acknowledged. Opened
 * with `repair`, the log instead keeps what comes before the first damage and drops the rest,
 * and says so in `recovery.repaired`: for a replica that rejoins as a learner and fetches the
 * rest from its leader (src/host/replica-trust.ts). Whether a tail cut off was synced before is
 * for the caller to tell (storage/sync-ledger.ts); `recovery.cuts` says what went.
 *
 * A follower far behind takes its leader's log whole (DESIGN.md §9): the leader's files are read
 * off the event loop and streamed (`openFiles`, storage/log-transfer.ts), the follower stages them
 * as a log of its own in `<dir>.incoming` and swaps it in (`install`, storage/log-install.ts). A
 * leader reads entries a follower lacks from memory only: the tail cache, or a window of cold
 * entries read ahead asynchronously (`readAhead`).
 *
 * Memory and files: the tail cache's ring grows with the log's traffic up to its share of the
 * node's TailCacheBudget (tail-cache.ts) and is freed when the log goes quiet (`releaseIdleCache`);
 * only the active segment keeps its file open, sealed ones are opened through the node's
 * SegmentFiles (segment-files.ts). So an idle log costs one file descriptor and no ring, whatever
 * it holds.
 *
 * Offsets are dense: no-op and configuration entries take none, and every batch appended must
 * start exactly at the log end offset. Writes go to the page cache; `sync()` makes them durable
 * (the host calls it once per Ready pass: group commit).
 */
import path from 'node:path';
import { LogCompactedError } from '../raft/errors.js';
import { encodeMembership, membershipOf, type ConfigurationAt, type Membership } from '../raft/membership.js';
import { entryBytes, type LogStorage } from '../raft/storage.js';
import { EntryKind, type Entry, type Snapshot } from '../raft/types.js';
import { ConfigEntries } from './config-entries.js';
import { fsyncDirAsync, readFileChecked, stageFileAtomic, writeFileAtomic, writeFileSyncedAsync } from './atomic-file.js';
import { systemClock, type Clock } from './clock.js';
import { nodeFileSystem, rmIfExists, type FileSystem } from './file-system.js';
import { CorruptLogError, LogClosedError, OffsetOutOfRangeError, check } from './errors.js';
import { FRAME_HEADER_BYTES, readFrame, readU64, writeU64 } from './frame.js';
import { finishInstall, stagingDir, swapIn } from './log-install.js';
import { floorPoint, writeSegmentIndex } from './segment-index.js';
import { readBatchHeader } from '../src/wire/record-batch/header.js';
import { Segment, corruptAt, segmentName, type BatchInfo, type DescribeEntry, type SegmentConfig } from './segment.js';
import { SegmentFiles } from './segment-files.js';
import { TailCache, type CachedRead, type TailCacheBudget } from './tail-cache.js';
import { TermBoundaries } from './term-boundaries.js';

export interface SegmentLogLimits {
  /** Roll to a new segment once the active one holds this many bytes. */
  segmentBytes: number;
  /** Roll once the active segment's first entry is this old. */
  segmentMs: number;
  /** Bytes of log between sparse index points. */
  indexIntervalBytes: number;
  /** The largest frame accepted when reading; larger length fields are treated as corruption. */
  frameBytesMax: number;
  /** Bytes of recent entries kept in memory for replication, applying and tail reads, at most (tail-cache.ts; less when a TailCacheBudget's share is less). */
  tailCacheBytes: number;
  /** Bytes read from a file at a time when scanning or reading cold data. */
  readChunkBytes: number;
  /** Bytes of cold entries one read ahead brings into memory for a follower behind the tail cache (readAhead). */
  readAheadBytes: number;
}

export const DEFAULT_SEGMENT_LOG_LIMITS: SegmentLogLimits = {
  segmentBytes: 64 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  indexIntervalBytes: 4096,
  frameBytesMax: 16 * 1024 * 1024 + FRAME_HEADER_BYTES,
  tailCacheBytes: 32 * 1024 * 1024,
  readChunkBytes: 1024 * 1024,
  readAheadBytes: 8 * 1024 * 1024,
};

export interface SegmentLogOptions {
  readonly dir: string;
  /** Keep the valid prefix of a damaged log instead of refusing to open it (see the header). */
  readonly repair?: boolean;
  /** Scan and verify sealed segments too, whose intact index would otherwise be trusted (for a log known to be damaged). */
  readonly verifyAll?: boolean;
  /** Normal entries carry record batches: keep offsets and timestamps (partitions, not metadata). */
  readonly recordBatches: boolean;
  readonly limits?: Partial<SegmentLogLimits>;
  /** Time (storage/clock.ts); its now() drives rolling by age and retention by age. Default the system's. */
  readonly clock?: Clock;
  /** The disk (default: the real one; the simulator passes its own). */
  readonly fs?: FileSystem;
  /** The node's budget for tail caches, which this log's shares (default: none, the log's own tailCacheBytes alone bound it). */
  readonly cacheBudget?: TailCacheBudget;
  /** Where sealed segments are opened for reading, shared by the node's logs (default: the log's own, of SEGMENT_FILES_OWN files). */
  readonly files?: SegmentFiles;
}

/** Sealed segment files a log given no shared SegmentFiles keeps open. */
const SEGMENT_FILES_OWN = 8;
/** Suffix of the temporary files of `terms` and `configs` written after a roll (sync), apart from those saveDerived writes. */
const ROLL_TMP_SUFFIX = '.roll.tmp';
/** Suffix of the temporary file of `logstart` written by retention off the event loop (writeLogStart uses `.tmp`). */
const START_TMP_SUFFIX = '.async-tmp';

export interface RetentionPolicy {
  /** Keep at most about this many bytes (whole segments are dropped); negative for no limit. */
  readonly retentionBytes: number;
  /** Drop segments whose newest record is older than this; negative for no limit. */
  readonly retentionMs: number;
  /** Never drop entries above this index (the applied index). */
  readonly upToIndex: number;
}

export interface ReadResult {
  /** Raw record batches, each exactly as stored; consecutive and complete. */
  readonly batches: Uint8Array[];
  readonly bytes: number;
  /** One past the last offset returned (or the requested offset when nothing was returned). */
  readonly nextOffset: number;
}

/** What opening a log found and did. */
export interface LogRecovery {
  scannedSegments: number;
  truncatedBytes: number;
  rebuiltIndexes: number;
  rebuiltTerms: boolean;
  /** The `configs` file was missing or damaged, and the configuration entries were found by scanning the segments. */
  rebuiltConfigs: boolean;
  /** Bytes cut off the end of a segment (a torn tail, or in repair, damage and what followed). */
  cuts: { file: string; fromBytes: number; toBytes: number; why: string }[];
  /** In repair: the damage that was found, and everything from it on was dropped. */
  repaired: { file: string; position: number; reason: string; lastIndexKept: number } | null;
}

interface LogStart {
  readonly index: number;
  readonly term: number;
  readonly offset: number;
  /** The configuration in effect at `index`; null when not known (see the header). */
  readonly membership: Membership | null;
}

const LOGSTART_MAGIC = 0x524c5331; // "RLS1"
/** Bytes of a log start without its configuration: index, term and offset. */
const LOGSTART_BASE_BYTES = 24;
const EMPTY_START: LogStart = { index: 0, term: 0, offset: 0, membership: null };

export class SegmentLog implements LogStorage {
  private readonly limits: SegmentLogLimits;
  private readonly cfg: SegmentConfig;
  private readonly clock: Clock;
  private readonly fs: FileSystem;
  private segments: Segment[] = [];
  private readonly boundaries = new TermBoundaries();
  /** Configuration entries after the log start (the one in effect at the start is `start.membership`). */
  private readonly configs = new ConfigEntries();
  private start: LogStart = EMPTY_START;
  private readonly tailCache: TailCache<BatchInfo | null>;
  /** Entries appended but not yet copied into the tail cache (see append), oldest first. */
  private uncached: { readonly entry: Entry; readonly info: BatchInfo | null; readonly endOffset: number }[] = [];
  private dirty = false;
  private dirDirty = false;
  /** A roll owes the sealed segment's index and the `terms` and `configs` that cover it (see sync). */
  private owed = false;
  /** The owed files being written (sync), which a later sync waits for; null when none are. */
  private owedWriting: Promise<boolean> | null = null;
  /** Bumped by every synchronous write of `terms` and `configs` (and by close and install), so that an owed write started before one does not replace it. */
  private derivedGeneration = 0;
  /**
   * Retention's log start written off the event loop (truncatePrefix in the background), one at a
   * time (they share a temporary file); null when none is being written.
   */
  private startWriting: Promise<void> | null = null;
  /** Bumped by every write of `logstart` and by install, so that a background write started before one does not replace it. */
  private startGeneration = 0;
  /**
   * Segments retention took out of the log whose files wait for the new log start to be durable
   * (a crash before must find them, under the old start). Whoever makes a newer start durable
   * removes them: the background write, or a synchronous one made meanwhile (resetTo, a
   * truncatePrefix on the event loop, close); an install drops the folder they are in.
   */
  private removalPending: Segment[] = [];
  /** Told when a background write of the log start failed (the host stops the group, as it would for a failed write on the event loop). */
  onBackgroundError: (err: unknown) => void = () => undefined;
  private closed = false;
  /** When entries were last appended (by the log's clock), or it opened: releaseIdleCache counts from it. */
  private lastAppendAt: number;
  /** Cold entries read ahead for a follower (readAhead): `entries[k]` is index `from + k`. */
  private window: { readonly from: number; entries: Entry[] } | null = null;
  private windowReading = false;
  /** Bumped by every change that moves or removes entries or files, so a read ahead in flight is not trusted after one. */
  private generation = 0;
  /**
   * Told when a read ahead finished (`err` null: the entries are in memory, ask again) or failed
   * (a CorruptLogError: a cold segment is damaged). The host sets it to wake the group.
   */
  onReadAhead: (err: Error | null) => void = () => undefined;
  /** What recovery did on open, for logs and /status. */
  readonly recovery: LogRecovery = {
    scannedSegments: 0,
    truncatedBytes: 0,
    rebuiltIndexes: 0,
    rebuiltTerms: false,
    rebuiltConfigs: false,
    cuts: [],
    repaired: null,
  };

  private constructor(readonly options: SegmentLogOptions) {
    this.limits = { ...DEFAULT_SEGMENT_LOG_LIMITS, ...options.limits };
    this.tailCache = new TailCache(this.limits.tailCacheBytes, options.cacheBudget ?? null);
    this.clock = options.clock ?? systemClock;
    this.fs = options.fs ?? nodeFileSystem;
    this.lastAppendAt = this.clock.now();
    const describe: DescribeEntry = options.recordBatches ? describeBatch : () => null;
    this.cfg = {
      dir: options.dir,
      fs: this.fs,
      frameBytesMax: this.limits.frameBytesMax,
      indexIntervalBytes: this.limits.indexIntervalBytes,
      readChunkBytes: this.limits.readChunkBytes,
      describe,
      files: options.files ?? new SegmentFiles(this.fs, SEGMENT_FILES_OWN),
    };
  }

  /** The largest frame this log reads (its limits' frameBytesMax). */
  get frameBytesMax(): number {
    return this.limits.frameBytesMax;
  }

  /** Opens (creating if needed) and recovers the log in `options.dir`. Throws CorruptLogError. */
  static open(options: SegmentLogOptions): SegmentLog {
    const log = new SegmentLog(options);
    // An install of a leader's log cut short by a crash is finished (or its staging dropped) first.
    finishInstall(log.fs, options.dir);
    log.recover();
    // What recovery read back may be only in the page cache: a process killed between a write
    // and its sync leaves the write readable but not durable. The first sync makes it durable
    // before anything read here is acknowledged.
    log.dirty = true;
    log.dirDirty = true;
    return log;
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery

  private recover(): void {
    const dir = this.options.dir;
    this.fs.mkdirSync(dir, { recursive: true });
    let bases = segmentBases(this.fs, dir);
    try {
      this.start = readLogStart(this.fs, path.join(dir, 'logstart')) ?? EMPTY_START;
    } catch (err) {
      // Without its log start, nothing after it can be placed: start over, empty.
      if (!(err instanceof CorruptLogError) || this.options.repair !== true) throw err;
      rmIfExists(this.fs, path.join(dir, 'logstart'));
      this.start = EMPTY_START;
      this.dropSegments(bases, err);
      bases = [];
    }
    // Finish a retention or reset that was cut short: segments that begin before the log start
    // go (retention drops whole segments; a reset discards everything before its new segment).
    while (bases.length > 0 && bases[0]! < this.start.index + 1) {
      this.removeSegmentFiles(bases[0]!);
      bases = bases.slice(1);
    }
    if (bases.length > 0 && bases[0] !== this.start.index + 1) {
      const err = new CorruptLogError(path.join(dir, segmentName(bases[0]!, 'log')), 0, `the log should start at index ${this.start.index + 1} (see logstart) but its first segment starts at ${bases[0]}`);
      if (this.options.repair !== true) throw err;
      this.dropSegments(bases, err);
      bases = [];
    }
    if (bases.length === 0) {
      this.segments = [Segment.create(this.cfg, this.start.index + 1, this.start.offset)];
      this.dirDirty = true;
      this.saveDerived();
      return;
    }
    const saved = TermBoundaries.load(this.fs, path.join(dir, 'terms'));
    const activeBase = bases[bases.length - 1]!;
    if (saved !== null) {
      this.boundaries.reset(saved.boundaries);
      this.boundaries.truncateFrom(activeBase);
    } else {
      this.recovery.rebuiltTerms = true;
    }
    const coversThrough = saved?.coversThrough ?? this.start.index;
    const savedConfigs = ConfigEntries.load(this.fs, path.join(dir, 'configs'));
    if (savedConfigs !== null) {
      // Entries at or before the log start are in `logstart` already (a retention or reset cut
      // short after writing it left them in the file); those in the active segment come from its scan.
      this.configs.reset(savedConfigs.configurations.filter((c) => c.index > this.start.index && c.index < activeBase));
    } else {
      this.recovery.rebuiltConfigs = true;
    }
    const configsCover = savedConfigs?.coversThrough ?? this.start.index;
    let prev: Segment | null = null;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const sealed = i < bases.length - 1;
      const baseOffset = prev?.nextOffset ?? this.start.offset;
      if (prev !== null && base !== prev.lastIndex + 1) {
        const err = new CorruptLogError(path.join(dir, segmentName(base, 'log')), 0, `segment starts at index ${base} but the one before it ends at ${prev.lastIndex}`);
        if (this.options.repair !== true) throw err;
        this.repairFrom(prev, bases.slice(i), err);
        break;
      }
      // Term boundaries and configuration entries inside a sealed segment past what `terms` and
      // `configs` cover must come from a scan.
      const needTerms = sealed && (saved === null || coversThrough < base);
      const needConfigs = sealed && (savedConfigs === null || configsCover < base);
      if (needTerms) this.boundaries.truncateFrom(base);
      if (needConfigs) this.configs.truncateFrom(base);
      const observe = (e: Entry): void => {
        if (!sealed || needTerms) this.boundaries.observe(e.index, e.term);
        if (!sealed || needConfigs) this.configs.observe(e);
      };
      const opened = Segment.open(this.cfg, base, baseOffset, sealed && !needTerms && !needConfigs && this.options.verifyAll !== true, observe);
      const seg = opened.segment;
      this.segments.push(seg);
      if (opened.scanned) this.recovery.scannedSegments++;
      if (opened.end.kind !== 'end') {
        const size = seg.fileSize();
        if (sealed || seg.validFrameAfter(opened.end.position)) {
          const err = corruptAt(seg, opened.end);
          if (this.options.repair !== true) throw err;
          seg.cutAt(opened.end.position);
          this.recovery.cuts.push({ file: seg.logPath, fromBytes: size, toBytes: opened.end.position, why: err.reason });
          this.repairFrom(seg, bases.slice(i + 1), err);
          break;
        }
        this.recovery.truncatedBytes += size - opened.end.position;
        this.recovery.cuts.push({ file: seg.logPath, fromBytes: size, toBytes: opened.end.position, why: opened.end.kind === 'torn' ? 'the file ends inside a frame (a torn write)' : `a torn write: ${opened.end.reason}` });
        seg.cutAt(opened.end.position);
        this.dirty = true;
      }
      if (sealed && opened.scanned) {
        seg.seal();
        this.recovery.rebuiltIndexes++;
      }
      prev = seg;
    }
    if (saved === null || savedConfigs === null || this.recovery.rebuiltIndexes > 0 || this.recovery.repaired !== null) this.saveDerived();
  }

  /**
   * Repair: `last` (already cut at the damage, or whole when the damage is a missing segment) is
   * the new active segment, and the segments with these bases, after it, go.
   */
  private repairFrom(last: Segment, later: readonly number[], err: CorruptLogError): void {
    for (const b of later) this.removeSegmentFiles(b);
    if (this.segments[this.segments.length - 1] !== last) {
      const at = this.segments.indexOf(last);
      for (const s of this.segments.splice(at + 1)) s.remove();
    }
    if (last.sealed) last.unseal();
    else rmIfExists(this.fs, last.indexPath);
    this.boundaries.truncateFrom(last.lastIndex + 1);
    this.configs.truncateFrom(last.lastIndex + 1);
    this.uncached = [];
    this.tailCache.clear();
    this.dirty = true;
    this.dirDirty = true;
    this.recovery.repaired = { file: err.file, position: err.position, reason: err.reason, lastIndexKept: last.lastIndex };
  }

  /** Repair when no segment can be placed after the log start: every one goes, the log is empty after it. */
  private dropSegments(bases: readonly number[], err: CorruptLogError): void {
    for (const b of bases) this.removeSegmentFiles(b);
    this.recovery.repaired = { file: err.file, position: err.position, reason: err.reason, lastIndexKept: this.start.index };
  }

  private removeSegmentFiles(base: number): void {
    rmIfExists(this.fs, path.join(this.options.dir, segmentName(base, 'log')));
    rmIfExists(this.fs, path.join(this.options.dir, segmentName(base, 'index')));
  }

  // ---------------------------------------------------------------------------------------------
  // LogStorage: what the Raft core reads

  firstIndex(): number {
    return this.start.index + 1;
  }

  lastIndex(): number {
    return this.active().lastIndex;
  }

  term(i: number): number {
    if (i < this.start.index) throw new LogCompactedError(i, this.firstIndex());
    check(i <= this.lastIndex(), () => `term(${i}) is beyond the last index ${this.lastIndex()}`);
    if (i === this.start.index) return this.start.term;
    return this.boundaries.termAt(i);
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    this.ensureOpen();
    if (lo < this.firstIndex()) throw new LogCompactedError(lo, this.firstIndex());
    check(lo < hi && hi <= this.lastIndex() + 1, () => `entries(${lo}, ${hi}) outside ${this.firstIndex()}..${this.lastIndex()}`);
    const cacheFirst = this.cacheFirstIndex();
    const out: Entry[] = [];
    let bytes = 0;
    // limitBytes, applied as entries come: reading stops at the budget, so no entry past it is
    // read from disk or copied out of the cache. False when `e` does not fit.
    const take = (e: Entry): boolean => {
      const b = entryBytes(e);
      if (out.length > 0 && bytes + b > maxBytes) return false;
      out.push(e);
      bytes += b;
      return true;
    };
    if (lo < cacheFirst) {
      const diskHi = Math.min(hi, cacheFirst);
      const w = this.window;
      if (w !== null && lo >= w.from && lo < w.from + w.entries.length) {
        // Read ahead for a follower: served from memory, and no further than the window reaches.
        for (let i = lo; i < diskHi && i < w.from + w.entries.length; i++) if (!take(w.entries[i - w.from]!)) return out;
        if (out.length < diskHi - lo) return out;
      } else {
        // Stop on the last entry wanted, without reading (and verifying) the one after it.
        this.scanFrom('index', lo, (e) => e.index < lo || (take(e) && e.index < diskHi - 1));
      }
      // Stopped on the byte budget before reaching the cached entries.
      if (out.length < diskHi - lo) return out;
    }
    const from = Math.max(lo, cacheFirst);
    if (from < hi) this.cache().forEachFrom(from, ({ entry }) => take(entry) && entry.index < hi - 1);
    return out;
  }

  /**
   * What a follower that starts over takes from this log: the log start (data: its index, term,
   * offset and configuration, the `logstart` body) and every entry after it up to `upTo` (at most
   * the last), which the host streams from the files (openFiles) before the follower installs the
   * snapshot. Without `upTo`, or with one at the log start: the log start alone, with the
   * configuration in effect there when it is known.
   */
  snapshot(upTo?: number): Snapshot {
    const s = this.start;
    const data = encodeLogStartBody(s);
    const index = upTo === undefined ? s.index : Math.max(s.index, Math.min(upTo, this.lastIndex()));
    if (index > s.index) return { index, term: this.term(index), data };
    return s.membership === null ? { index: s.index, term: s.term, data } : { index: s.index, term: s.term, data, membership: s.membership };
  }

  /** The first index the tail cache serves (everything before it, down to the log start, is in cold files). */
  hotFirstIndex(): number {
    return Math.max(this.firstIndex(), this.cacheFirstIndex());
  }

  /** About how many bytes of the files lie between index `from` and the first index the tail cache holds. */
  coldBytes(from: number): number {
    const hot = this.hotFirstIndex();
    if (from >= hot) return 0;
    return this.filePosition(hot) - this.filePosition(Math.max(from, this.firstIndex()));
  }

  /** Where index `i` begins (to a sparse point) counted across the segments from the log start, in bytes. */
  private filePosition(i: number): number {
    let at = 0;
    const k = this.segmentFor('index', i);
    for (let j = 0; j < k; j++) at += this.segments[j]!.size;
    const seg = this.segments[k]!;
    if (i > seg.lastIndex) return at + seg.size;
    return at + (floorPoint(seg.points, 'index', i)?.position ?? 0);
  }

  /**
   * Whether entries from `from` are in memory (the tail cache, or the window read ahead); when
   * not, reads up to `readAheadBytes` of them (at least one entry, at most to the end of its
   * segment) off the event loop and tells onReadAhead. One read at a time: a later ask for other
   * entries waits for the next call after it.
   */
  readAhead(from: number, _maxBytes: number): boolean {
    this.ensureOpen();
    if (from >= this.cacheFirstIndex() || from < this.firstIndex() || from > this.lastIndex()) return true;
    const w = this.window;
    if (w !== null && from >= w.from && from < w.from + w.entries.length) return true;
    if (!this.windowReading) {
      this.windowReading = true;
      void this.readWindow(from).finally(() => (this.windowReading = false));
    }
    return false;
  }

  private async readWindow(from: number): Promise<void> {
    const generation = this.generation;
    const seg = this.segments[this.segmentFor('index', from)]!;
    const start = floorPoint(seg.points, 'index', from)?.position ?? 0;
    const end = seg.size;
    const file = seg.pinForRead();
    const fd = file.fd;
    let want = Math.min(this.limits.readAheadBytes, end - start);
    const entries: Entry[] = [];
    try {
      for (;;) {
        const buf = Buffer.allocUnsafe(want);
        let got = 0;
        while (got < want) {
          const n = await this.fs.read(fd, buf, got, want - got, start + got);
          if (n === 0) break;
          got += n;
        }
        if (generation !== this.generation) return;
        let at = 0;
        let partial = 0;
        while (at < got) {
          const r = readFrame(buf.subarray(0, got), at, this.limits.frameBytesMax);
          if (r.status === 'partial') {
            partial = r.need;
            break;
          }
          if (r.status === 'corrupt') throw new CorruptLogError(seg.logPath, start + at, r.reason);
          if (r.entry.index >= from) entries.push(r.entry);
          at += r.bytes;
        }
        // A first wanted entry larger than the window: read again, big enough for it.
        if (entries.length === 0 && partial > 0 && start + at + partial <= end) {
          want = at + partial;
          continue;
        }
        break;
      }
      if (entries.length === 0 || entries[0]!.index !== from) throw new CorruptLogError(seg.logPath, start, `reading ahead from index ${from} found ${entries.length === 0 ? 'no entry' : `index ${entries[0]!.index}`}`);
      this.window = { from, entries };
      this.onReadAhead(null);
    } catch (err) {
      // A read that raced a change of the files (a truncation, retention, a close) means nothing.
      if (generation === this.generation) this.onReadAhead(err as Error);
    } finally {
      file.release();
    }
  }

  /** Every change that drops entries or files: a window read ahead, or reading, is no longer trusted (from `index` on). */
  private invalidateWindow(index = 0): void {
    this.generation++;
    const w = this.window;
    if (w === null) return;
    if (index > w.from) w.entries = w.entries.slice(0, index - w.from);
    else this.window = null;
  }

  /**
   * The files that hold entries after the log start up to `upTo`, each opened anew for reading,
   * oldest first, for streaming to a follower (storage/log-transfer.ts). Opened now, so that
   * retention removing one meanwhile leaves its bytes readable; the caller closes them.
   */
  openFiles(upTo: number): { readonly path: string; readonly baseIndex: number; readonly fd: number }[] {
    this.ensureOpen();
    const out: { path: string; baseIndex: number; fd: number }[] = [];
    try {
      for (const seg of this.segments) {
        if (seg.baseIndex > upTo || seg.isEmpty()) break;
        out.push({ path: seg.logPath, baseIndex: seg.baseIndex, fd: this.fs.openSync(seg.logPath, 'r') });
      }
    } catch (err) {
      for (const f of out) this.fs.closeSync(f.fd);
      throw err;
    }
    return out;
  }

  /**
   * Replaces this log with the one staged in `<dir>.incoming` (storage/log-install.ts), which the
   * caller built from a leader's files and verified: it must start after `start` and end at
   * `index` (of `term`). Atomic: a crash leaves this log or the staged one (finished on the next
   * open). Afterwards this log is the staged one, opened as after a restart.
   */
  install(start: number, index: number, term: number): void {
    this.ensureOpen();
    const staging = stagingDir(this.options.dir);
    const staged = SegmentLog.open({ ...this.options, dir: staging, repair: false, verifyAll: false });
    try {
      check(staged.firstIndex() === start + 1 && staged.lastIndex() === index && staged.term(index) === term, () => `the log staged in ${staging} holds ${staged.firstIndex()}..${staged.lastIndex()} (term ${staged.term(staged.lastIndex())} at the end), not ${start + 1}..${index} ending in term ${term}`);
    } finally {
      staged.close();
    }
    for (const seg of this.segments) seg.close();
    this.invalidateWindow();
    swapIn(this.fs, this.options.dir);
    // What rolls of the log swapped out owed is owed no more (an owed write in flight is dropped),
    // nor what retention had left to remove (its folder is gone; a start being written is dropped).
    this.startGeneration++;
    this.removalPending = [];
    this.owed = false;
    this.derivedGeneration++;
    this.savedTerms = null;
    this.savedConfigs = null;
    this.segments = [];
    this.boundaries.reset([]);
    this.configs.reset([]);
    this.start = EMPTY_START;
    this.uncached = [];
    this.tailCache.clear();
    this.recover();
    this.dirty = true;
    this.dirDirty = true;
  }

  /** The configuration at the log start if known, then one per configuration entry after it. */
  configurations(): readonly ConfigurationAt[] {
    const atStart: ConfigurationAt[] = this.start.membership === null ? [] : [{ index: this.start.index, membership: this.start.membership }];
    return [...atStart, ...this.configs.all];
  }

  // ---------------------------------------------------------------------------------------------
  // Writes

  /**
   * Appends entries, first dropping any stored entry at or after `entries[0].index`. They are
   * written at once (to the page cache); their copy in the tail cache is made by the next sync,
   * while its fdatasync runs, or by the next call that reads the log or changes it, whichever
   * comes first. Until then the log holds the entries' own buffers, which the caller leaves as
   * they are (Raft's entries are never changed once made).
   */
  append(entries: readonly Entry[]): void {
    this.ensureOpen();
    this.fillCache();
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    check(first >= this.firstIndex(), () => `append at ${first} is before the log start ${this.firstIndex()}`);
    if (first <= this.lastIndex()) this.truncateSuffix(first);
    check(first === this.lastIndex() + 1, () => `append at ${first} leaves a gap after ${this.lastIndex()}`);
    this.maybeRoll();
    const seg = this.active();
    let next = seg.nextOffset;
    const infos: (BatchInfo | null)[] = [];
    for (const e of entries) {
      const info = this.cfg.describe(e);
      if (info !== null) {
        check(info.baseOffset === next, () => `entry ${e.index} carries a batch at offset ${info.baseOffset}; offsets are dense and the log ends at ${next}`);
        next = info.nextOffset;
      }
      infos.push(info);
      this.boundaries.observe(e.index, e.term);
      this.configs.observe(e);
    }
    const before = seg.nextOffset;
    seg.append(entries, infos, this.clock.now());
    let end = before;
    for (let i = 0; i < entries.length; i++) {
      const info = infos[i]!;
      if (info !== null) end = info.nextOffset;
      this.uncached.push({ entry: entries[i]!, info, endOffset: end });
    }
    this.lastAppendAt = this.clock.now();
    this.dirty = true;
  }

  /** Rolls at `bytes` from now on (a topic's segment.bytes changed while it runs); the active segment is judged by it at the next append. */
  setSegmentBytes(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 1) throw new Error(`segment bytes must be a positive integer, not ${bytes}`);
    this.limits.segmentBytes = bytes;
  }

  /**
   * Frees the tail cache's ring if nothing was appended for `idleMs`: a quiet log's readers are
   * served from its files (the page cache), and its share of the node's budget goes to busy logs.
   * Returns whether it freed one.
   */
  releaseIdleCache(idleMs: number): boolean {
    if (this.closed || this.cache().ringBytes === 0 || this.clock.now() - this.lastAppendAt < idleMs) return false;
    this.tailCache.release();
    return true;
  }

  /** Bytes of the tail cache's ring now (for /status and tests). */
  get cacheBytes(): number {
    return this.cache().ringBytes;
  }

  /**
   * Makes everything appended so far durable: fdatasync of the active segment (and the folder).
   * After a roll it also writes, beside that fdatasync and off the event loop, what the roll owes:
   * the sealed segment's index, and `terms` and `configs` covering it (see maybeRoll); it resolves
   * once they are durable too, so when an entry of the new segment is acknowledged the files are
   * as they were when a roll wrote them itself.
   */
  async sync(): Promise<void> {
    this.ensureOpen();
    const syncDir = this.dirDirty;
    const owed = this.owed || this.owedWriting !== null ? this.writeOwed() : null;
    if (!this.dirty && !syncDir && owed === null) return;
    this.dirty = false;
    this.dirDirty = false;
    const durable = Promise.all([this.active().sync(), owed ?? false]);
    // The fdatasync is on its way: the tail cache's copy of what it syncs is made while the disk works.
    this.fillCache();
    const [, renamed] = await durable;
    if (syncDir || renamed) await fsyncDirAsync(this.options.dir, this.fs);
  }

  /**
   * Writes what rolls owe, after any such write in flight (one at a time: they share temporary
   * files). What is owed is taken when the write starts, so it is the log as it is then. Resolves
   * whether `terms` or `configs` was renamed (the folder then needs an fsync).
   */
  private writeOwed(): Promise<boolean> {
    const before = this.owedWriting;
    const write = (async (): Promise<boolean> => {
      if (before !== null) await before.catch(() => false); // its own sync reported its failure
      if (!this.owed || this.closed) return false;
      this.owed = false;
      const generation = this.derivedGeneration;
      const dir = this.options.dir;
      const indexes: Promise<void>[] = [];
      for (const seg of this.segments) {
        const bytes = seg.takeOwedIndex();
        // In place: a torn index fails its checksum, and the segment is then scanned and its index rebuilt.
        if (bytes !== null) indexes.push(writeFileSyncedAsync(this.fs, seg.indexPath, bytes));
      }
      const coversThrough = this.active().baseIndex - 1;
      const [terms, configs] = await Promise.all([
        this.boundaries.stage(this.fs, path.join(dir, 'terms'), coversThrough, this.savedTerms, ROLL_TMP_SUFFIX),
        this.configs.stage(this.fs, path.join(dir, 'configs'), coversThrough, this.savedConfigs, ROLL_TMP_SUFFIX),
        ...indexes,
      ]);
      if (generation !== this.derivedGeneration) {
        // saveDerived (or close, or an install) wrote newer ones meanwhile.
        terms?.file.discard();
        configs?.file.discard();
        return false;
      }
      if (terms !== null) {
        terms.file.commit();
        this.savedTerms = terms.body;
      }
      if (configs !== null) {
        configs.file.commit();
        this.savedConfigs = configs.body;
      }
      return terms !== null || configs !== null;
    })();
    this.owedWriting = write;
    const done = (): void => {
      if (this.owedWriting === write) this.owedWriting = null;
    };
    write.then(done, done);
    return write;
  }

  /**
   * Writes what rolls owe now, on the event loop (closing: the next open then finds every index
   * and need not scan). A failure leaves them to be rebuilt when the log is opened: they are
   * derived, and a log closing on a failed disk has nothing else to do with the error.
   */
  private writeOwedNow(): void {
    if (!this.owed && this.owedWriting === null) return;
    this.owed = false;
    try {
      for (const seg of this.segments) {
        const bytes = seg.takeOwedIndex();
        if (bytes !== null) writeSegmentIndex(this.fs, seg.indexPath, bytes);
      }
      this.saveDerived();
    } catch {
      // Rebuilt on open (see above).
    }
    this.derivedGeneration++;
  }

  /** Drops every entry at or after `index` (a Raft conflict). */
  truncateSuffix(index: number): void {
    this.ensureOpen();
    if (index > this.lastIndex()) return;
    check(index >= this.firstIndex(), () => `truncate at ${index} is before the log start ${this.firstIndex()}`);
    let removedSealed = false;
    while (this.segments.length > 1 && this.active().baseIndex >= index) {
      this.segments.pop()!.remove();
      removedSealed = true;
      this.dirDirty = true;
    }
    this.invalidateWindow(index);
    const seg = this.active();
    if (seg.sealed) seg.unseal();
    seg.truncateFrom(index);
    this.boundaries.truncateFrom(index);
    this.configs.truncateFrom(index);
    this.cache().dropFrom(index);
    if (removedSealed || seg.baseIndex < index) this.saveDerived();
    this.dirty = true;
  }

  /**
   * Drops whole segments that end before `index` (never the active one). Returns how many. The
   * log answers from its new start at once. On disk the new start is made durable first (so a
   * crash never finds the files gone under the old start), then the files go: here, on the event
   * loop, or with `background` off it (retention, which must not stall every partition of the
   * node for the fsyncs of `logstart`), with `terms` and `configs` rewritten by the next sync as a
   * roll's are.
   */
  truncatePrefix(index: number, background = false): number {
    this.ensureOpen();
    let n = 0;
    while (n < this.segments.length - 1 && this.segments[n]!.lastIndex < index) n++;
    if (n === 0) return 0;
    this.invalidateWindow(Number.MAX_SAFE_INTEGER);
    const next = this.segments[n]!;
    const lastDropped = next.baseIndex - 1;
    // The configuration in effect at the new start outlives the entry that set it, if it goes.
    const membership = this.configs.lastThrough(lastDropped) ?? this.start.membership;
    this.start = { index: lastDropped, term: this.term(lastDropped), offset: next.baseOffset, membership };
    const dropped = this.segments.slice(0, n);
    this.segments = this.segments.slice(n);
    this.boundaries.dropBefore(this.start.index);
    this.configs.dropThrough(this.start.index);
    this.cache().dropThrough(this.start.index);
    for (const s of dropped) s.close();
    this.removalPending.push(...dropped);
    if (background) {
      this.owed = true;
      this.writeStartInBackground();
    } else {
      this.writeStartNow();
      this.saveDerived();
    }
    return n;
  }

  /** Applies retention by size and age, within `upToIndex`. Returns the segments dropped (their files go off the event loop: truncatePrefix). */
  enforceRetention(policy: RetentionPolicy): number {
    this.ensureOpen();
    const now = this.clock.now();
    let total = 0;
    for (const s of this.segments) total += s.size;
    let dropThrough = this.firstIndex();
    for (let i = 0; i < this.segments.length - 1; i++) {
      const s = this.segments[i]!;
      if (s.lastIndex > policy.upToIndex) break;
      const overSize = policy.retentionBytes >= 0 && total - s.size >= policy.retentionBytes;
      const tooOld = policy.retentionMs >= 0 && s.maxTimestamp >= 0 && now - s.maxTimestamp > policy.retentionMs;
      if (!overSize && !tooOld) break;
      total -= s.size;
      dropThrough = s.lastIndex + 1;
    }
    return this.truncatePrefix(dropThrough, true);
  }

  /** Settles once the log start retention last moved is durable and the segments it dropped are gone (for tests and close). */
  async retentionWritten(): Promise<void> {
    while (this.startWriting !== null) await this.startWriting;
  }

  /** Writes the log start now, on the event loop, and removes the segments waiting for it (a background write in flight then discards its own). */
  private writeStartNow(): void {
    this.startGeneration++;
    writeLogStart(this.fs, path.join(this.options.dir, 'logstart'), this.start);
    this.removePending();
  }

  private removePending(): void {
    const pending = this.removalPending;
    this.removalPending = [];
    for (const s of pending) s.removeFiles();
  }

  /**
   * Writes the log start as it is now off the event loop (staged, fsynced, renamed over, the
   * folder fsynced), after any such write in flight; then the segments dropped before it go,
   * unless a newer start was written meanwhile (whose writer removed them) or an install
   * replaced the folder.
   */
  private writeStartInBackground(): void {
    const generation = ++this.startGeneration;
    const start = this.start;
    const dir = this.options.dir;
    const before = this.startWriting;
    const write = (async (): Promise<void> => {
      if (before !== null) await before;
      if (generation !== this.startGeneration || this.closed) return;
      const staged = await stageFileAtomic(path.join(dir, 'logstart'), LOGSTART_MAGIC, encodeLogStartBody(start), this.fs, START_TMP_SUFFIX);
      // Decided in the turn it acts: a start written meanwhile is newer than this one.
      if (generation !== this.startGeneration || this.closed) {
        staged.discard();
        return;
      }
      staged.commit();
      await fsyncDirAsync(dir, this.fs);
      if (generation === this.startGeneration && !this.closed) this.removePending();
    })().catch((err: unknown) => {
      if (!this.closed) this.onBackgroundError(err);
    });
    this.startWriting = write;
    void write.then(() => {
      if (this.startWriting === write) this.startWriting = null;
    });
  }

  /**
   * Replaces the whole log with an empty one that starts after `index` (a snapshot from the
   * leader), in which `membership` (the snapshot's) is the configuration; without it, the log
   * start knows none.
   */
  resetTo(index: number, term: number, offset: number, membership?: Membership): void {
    this.ensureOpen();
    this.invalidateWindow();
    this.start = { index, term, offset, membership: membership ?? null };
    this.writeStartNow();
    for (const s of this.segments) s.remove();
    this.segments = [Segment.create(this.cfg, index + 1, offset)];
    this.boundaries.reset([]);
    this.configs.reset([]);
    this.uncached = [];
    this.tailCache.clear();
    this.dirDirty = true;
    this.saveDerived();
  }

  close(): void {
    if (this.closed) return;
    this.invalidateWindow();
    // A log start retention is writing in the background is written now (the next open finds it).
    if (this.startWriting !== null || this.removalPending.length > 0) {
      try {
        this.writeStartNow();
      } catch {
        // The old start stays, with the files it names: the next open applies retention again.
      }
    }
    this.writeOwedNow();
    for (const s of this.segments) s.close();
    this.uncached = [];
    this.tailCache.close();
    this.closed = true;
  }

  // ---------------------------------------------------------------------------------------------
  // Reads by offset (the fetch path)

  logStartOffset(): number {
    return this.start.offset;
  }

  /** One past the last offset in the log (committed or not). */
  logEndOffset(): number {
    return this.active().nextOffset;
  }

  /**
   * Raw batches from the one holding `fromOffset` on, up to `maxBytes` (always at least one batch),
   * never past Raft index `maxIndex` (the commit index: consumers see only committed data).
   */
  readBatches(fromOffset: number, maxBytes: number, maxIndex: number): ReadResult {
    this.ensureOpen();
    if (fromOffset < this.start.offset || fromOffset > this.logEndOffset()) {
      throw new OffsetOutOfRangeError(fromOffset, this.start.offset, this.logEndOffset());
    }
    const batches: Uint8Array[] = [];
    let bytes = 0;
    let nextOffset = fromOffset;
    const take = (e: Entry, info: BatchInfo | null): boolean => {
      if (e.index > maxIndex) return false;
      if (info === null || info.nextOffset <= fromOffset) return true;
      if (batches.length > 0 && bytes + e.data.byteLength > maxBytes) return false;
      batches.push(e.data);
      bytes += e.data.byteLength;
      nextOffset = info.nextOffset;
      return bytes < maxBytes;
    };
    const takeCached = (c: CachedRead<BatchInfo | null>): boolean => take(c.entry, c.info);
    const cached = this.cache().indexForOffset(fromOffset, (info, endOffset) => info?.baseOffset ?? endOffset);
    if (cached !== null) {
      this.cache().forEachFrom(cached, takeCached);
    } else {
      let more = true;
      const cacheFirst = this.cacheFirstIndex();
      this.scanFrom('offset', fromOffset, (e) => {
        if (e.index >= cacheFirst) return false;
        more = take(e, this.cfg.describe(e));
        return more;
      });
      if (more) this.cache().forEachFrom(cacheFirst, takeCached);
    }
    return { batches, bytes, nextOffset };
  }

  /** The offset just past every batch with Raft index at most `index`: the high watermark for a commit index. */
  offsetAfterIndex(index: number): number {
    this.ensureOpen();
    if (index >= this.lastIndex()) return this.logEndOffset();
    if (index < this.firstIndex()) return this.start.offset;
    // Offsets are dense, so the answer is where the next batch after `index` starts.
    let offset = this.logEndOffset();
    this.scanFrom('index', index + 1, (e, info) => {
      if (e.index <= index || info === null) return true;
      offset = info.baseOffset;
      return false;
    });
    return offset;
  }

  /** The first batch whose newest record is at or after `timestamp`, within `maxIndex`; null if none. */
  batchForTimestamp(timestamp: number, maxIndex: number): { offset: number; batch: Uint8Array } | null {
    this.ensureOpen();
    for (const seg of this.segments) {
      if (seg.maxTimestamp < timestamp) continue;
      // Points hold the running maximum before them, so start at the last one still below `timestamp`.
      const cursor = seg.cursorFrom('timestampBefore', timestamp - 1);
      for (let f = cursor.next(); f !== null; f = cursor.next()) {
        if (f.entry.index > maxIndex) return null;
        const info = this.cfg.describe(f.entry);
        if (info !== null && info.maxTimestamp >= timestamp) return { offset: info.baseOffset, batch: f.entry.data };
      }
      if (cursor.ended !== null && cursor.ended.kind !== 'end') throw corruptAt(seg, cursor.ended);
    }
    return null;
  }

  status(): { firstIndex: number; lastIndex: number; logStartOffset: number; logEndOffset: number; segments: number; bytes: number } {
    let bytes = 0;
    for (const s of this.segments) bytes += s.size;
    return {
      firstIndex: this.firstIndex(),
      lastIndex: this.lastIndex(),
      logStartOffset: this.start.offset,
      logEndOffset: this.logEndOffset(),
      segments: this.segments.length,
      bytes,
    };
  }

  // ---------------------------------------------------------------------------------------------

  private active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private ensureOpen(): void {
    if (this.closed) throw new LogClosedError(this.options.dir);
  }

  private maybeRoll(): void {
    const seg = this.active();
    if (seg.isEmpty()) return;
    const full = seg.size >= this.limits.segmentBytes;
    const old = seg.firstAppendAt !== null && this.clock.now() - seg.firstAppendAt >= this.limits.segmentMs;
    if (!full && !old) return;
    // Order matters for recovery: the sealed segment's bytes are durable before the next file
    // exists (seal fdatasyncs them), or a torn tail would sit inside a sealed segment and read as
    // corruption. Its index, `terms` and `configs` are derived, and are written by the next sync,
    // off the event loop (a roll wrote them here, and blocked the event loop for about six fsyncs):
    // a crash before leaves the older ones, and opening the log scans what they do not cover.
    seg.seal(true);
    this.owed = true;
    this.segments.push(Segment.create(this.cfg, seg.lastIndex + 1, seg.nextOffset));
    this.dirDirty = true;
  }

  /**
   * Writes the files derived from the sealed segments: `terms` and `configs`, each unless it holds
   * those bytes already as this log last wrote it (each write is two fsyncs on the event loop, and
   * a new replica's log is reset to its first configuration right after it is created).
   */
  private saveDerived(coversThrough = this.active().baseIndex - 1): void {
    this.derivedGeneration++;
    this.savedTerms = this.boundaries.save(this.fs, path.join(this.options.dir, 'terms'), coversThrough, this.savedTerms);
    this.savedConfigs = this.configs.save(this.fs, path.join(this.options.dir, 'configs'), coversThrough, this.savedConfigs);
  }

  /** What this log last wrote to `terms` and `configs` (null: not known, e.g. after an install swapped the files). */
  private savedTerms: Uint8Array | null = null;
  private savedConfigs: Uint8Array | null = null;

  /**
   * Visits stored entries (on disk: the tail cache is the caller's business) from the sparse point
   * at or before `key = value` on, across segments, until `visit` returns false.
   */
  private scanFrom(key: 'index' | 'offset', value: number, visit: (e: Entry, info: BatchInfo | null) => boolean): void {
    const first = this.segmentFor(key, value);
    for (let i = first; i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      const cursor = i === first ? seg.cursorFrom(key, value) : seg.cursorFrom('index', seg.baseIndex);
      for (let f = cursor.next(); f !== null; f = cursor.next()) {
        if (!visit(f.entry, this.cfg.describe(f.entry))) return;
      }
      if (cursor.ended !== null && cursor.ended.kind !== 'end') throw corruptAt(seg, cursor.ended);
    }
  }

  /** The last segment that begins at or before `key = value` (for offsets: the last of equals). */
  private segmentFor(key: 'index' | 'offset', value: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid]!;
      if ((key === 'index' ? s.baseIndex : s.baseOffset) <= value) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** The tail cache, holding every entry appended (those waiting to be copied in are, first). */
  private cache(): TailCache<BatchInfo | null> {
    this.fillCache();
    return this.tailCache;
  }

  /** Copies the entries appended since the last call into the tail cache. */
  private fillCache(): void {
    if (this.uncached.length === 0) return;
    for (const u of this.uncached) this.tailCache.push(u.entry, u.info, u.endOffset);
    this.uncached = [];
  }

  /** The first index the tail cache holds (lastIndex() + 1 when it holds nothing). */
  private cacheFirstIndex(): number {
    return this.cache().firstIndex() ?? this.lastIndex() + 1;
  }
}

/** Offsets and timestamps of a partition entry, read from its record batch header. */
function describeBatch(e: Entry): BatchInfo | null {
  if (e.kind !== EntryKind.Normal) return null;
  const h = readBatchHeader(e.data, 0);
  return { baseOffset: h.baseOffset, nextOffset: h.baseOffset + h.lastOffsetDelta + 1, maxTimestamp: h.maxTimestamp };
}

/** A log-start snapshot's data as nodes before the `logstart` body was sent wrote it: the offset alone (8 bytes). */
export function encodeLogStart(offset: number): Uint8Array {
  const b = Buffer.alloc(8);
  writeU64(b, 0, offset);
  return b;
}

/** The log start a snapshot's data names (see `snapshot`): its offset. */
export function decodeLogStart(data: Uint8Array): number {
  return decodeSnapshotStart({ index: 0, term: 0, data }).offset;
}

/**
 * The log start a snapshot carries: index, term, offset and configuration (the `logstart` body);
 * from the 8-byte data of older nodes, the snapshot's own index and term with the offset. The
 * snapshot reaches past it (its index is higher) when the follower installs the leader's files.
 */
export function decodeSnapshotStart(s: Snapshot): { index: number; term: number; offset: number; membership: Membership | null } {
  const data = s.data;
  if (data.byteLength === 8) return { index: s.index, term: s.term, offset: readU64(Buffer.from(data.buffer, data.byteOffset, 8), 0), membership: s.membership ?? null };
  return parseLogStart(Buffer.from(data.buffer, data.byteOffset, data.byteLength), 'a snapshot');
}

function encodeLogStartBody(s: LogStart): Buffer {
  const m = s.membership === null ? null : encodeMembership(s.membership);
  const b = Buffer.alloc(LOGSTART_BASE_BYTES + (m === null ? 0 : 4 + m.byteLength));
  writeU64(b, 0, s.index);
  writeU64(b, 8, s.term);
  writeU64(b, 16, s.offset);
  if (m !== null) {
    b.writeUInt32BE(m.byteLength, LOGSTART_BASE_BYTES);
    b.set(m, LOGSTART_BASE_BYTES + 4);
  }
  return b;
}

function parseLogStart(b: Buffer, file: string): LogStart {
  if (b.length !== LOGSTART_BASE_BYTES && b.length < LOGSTART_BASE_BYTES + 4) {
    throw new CorruptLogError(file, 0, `a log start holds ${LOGSTART_BASE_BYTES} bytes, or more with its configuration, not ${b.length}`);
  }
  let membership: Membership | null = null;
  if (b.length > LOGSTART_BASE_BYTES) {
    const len = b.readUInt32BE(LOGSTART_BASE_BYTES);
    const at = LOGSTART_BASE_BYTES + 4;
    if (b.length !== at + len) throw new CorruptLogError(file, 0, `a log start's configuration of ${len} bytes does not fill its ${b.length - at}`);
    membership = membershipOf(b.subarray(at));
    if (membership === null) throw new CorruptLogError(file, 0, `a log start's configuration is not a membership: ${b.subarray(at).toString('utf8').slice(0, 200)}`);
  }
  return { index: readU64(b, 0), term: readU64(b, 8), offset: readU64(b, 16), membership };
}

/** The first indexes of the segment files in `dir`, in order. */
function segmentBases(fs: FileSystem, dir: string): number[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .map((f) => Number(f.slice(0, 20)))
    .sort((a, b) => a - b);
}

/** The log start, or null when the log never moved it; a damaged file is corruption (the log start is not derived). */
function readLogStart(fs: FileSystem, file: string): LogStart | null {
  const r = readFileChecked(file, LOGSTART_MAGIC, fs);
  if (r.kind === 'missing') return null;
  if (r.kind === 'damaged') throw new CorruptLogError(file, 0, r.reason);
  const body = r.body;
  return parseLogStart(Buffer.from(body.buffer, body.byteOffset, body.byteLength), file);
}

function writeLogStart(fs: FileSystem, file: string, s: LogStart): void {
  writeFileAtomic(file, LOGSTART_MAGIC, encodeLogStartBody(s), fs);
}
