/**
 * What a node writes to its disk and how often it syncs, by kind of file, counted as the calls
 * are made: a FileSystem (file-system.ts) that passes every call on and adds up, per kind, the
 * bytes written and the fsyncs and fdatasyncs. It answers "where do the disk bytes go": the
 * kernel's count for the process (/proc/<pid>/io write_bytes, pages dirtied) is these bytes plus
 * the pages a sync rewrites (an append to a partly written page that was already synced dirties
 * that page again) and what LevelDB (the metadata store, which does its own I/O) writes.
 *
 * Kinds come from the file's name (the names storage and the partition give their files), a
 * temporary file counted as the file it replaces:
 *
 *     segment        <base>.log: the Raft log's entries (a partition's record batches)
 *     segment-index  <base>.index
 *     sync-ledger    synced (sync-ledger.ts)
 *     hard-state     hardstate (term, vote)
 *     log-metadata   terms, configs, logstart (segment-log.ts)
 *     producer-state producers (the idempotent producers' sequence numbers)
 *     other          the rest, folders' fsyncs among them
 *
 * Exported on /metrics as raftlog_disk_written_bytes_total and raftlog_disk_syncs_total.
 */
import path from 'node:path';
import type { FileSystem, OpenFlags } from './file-system.js';

export const DISK_FILE_KINDS = ['segment', 'segment-index', 'sync-ledger', 'hard-state', 'log-metadata', 'producer-state', 'other'] as const;
export type DiskFileKind = (typeof DISK_FILE_KINDS)[number];

export interface DiskKindStats {
  /** Bytes passed to write calls (what the calls reported written). */
  bytes: number;
  writes: number;
  /** fsync and fdatasync calls. */
  syncs: number;
}

/** The suffixes of temporary files (atomic-file.ts, hard-state.ts, segment-log.ts), taken off before a name is classified. */
const TEMPORARY_SUFFIX = /\.(roll\.tmp|async-tmp|tmp)$/;

/** The kind of `file` by its name. */
export function diskFileKind(file: string): DiskFileKind {
  const name = path.basename(file).replace(TEMPORARY_SUFFIX, '');
  if (name.endsWith('.log')) return 'segment';
  if (name.endsWith('.index')) return 'segment-index';
  switch (name) {
    case 'synced':
      return 'sync-ledger';
    case 'hardstate':
      return 'hard-state';
    case 'terms':
    case 'configs':
    case 'logstart':
      return 'log-metadata';
    case 'producers':
      return 'producer-state';
    default:
      return 'other';
  }
}

export class DiskAccounting {
  readonly byKind: Readonly<Record<DiskFileKind, DiskKindStats>> = Object.fromEntries(DISK_FILE_KINDS.map((k) => [k, { bytes: 0, writes: 0, syncs: 0 }])) as Record<DiskFileKind, DiskKindStats>;
  /** The kind of each descriptor open through `fs`. */
  private readonly kinds = new Map<number, DiskFileKind>();
  /** `inner`, counted. */
  readonly fs: FileSystem;

  constructor(inner: FileSystem) {
    const of = (fd: number): DiskKindStats => this.byKind[this.kinds.get(fd) ?? 'other'];
    const wrote = (fd: number, n: number): number => {
      const s = of(fd);
      s.bytes += n;
      s.writes++;
      return n;
    };
    const synced = (fd: number): void => void of(fd).syncs++;
    // Every call delegated by name (not spread: a FileSystem may be a class whose methods live on its prototype).
    this.fs = {
      readSync: (fd, buf, offset, length, position) => inner.readSync(fd, buf, offset, length, position),
      read: (fd, buf, offset, length, position) => inner.read(fd, buf, offset, length, position),
      fstatSync: (fd) => inner.fstatSync(fd),
      ftruncateSync: (fd, length) => inner.ftruncateSync(fd, length),
      readFileSync: (file) => inner.readFileSync(file),
      existsSync: (file) => inner.existsSync(file),
      readdirSync: (dir) => inner.readdirSync(dir),
      mkdirSync: (dir, options) => inner.mkdirSync(dir, options),
      renameSync: (from, to) => inner.renameSync(from, to),
      unlinkSync: (file) => inner.unlinkSync(file),
      rmSync: (target, options) => inner.rmSync(target, options),
      openSync: (file: string, flags: OpenFlags) => {
        const fd = inner.openSync(file, flags);
        this.kinds.set(fd, diskFileKind(file));
        return fd;
      },
      closeSync: (fd) => {
        this.kinds.delete(fd);
        inner.closeSync(fd);
      },
      writeSync: (fd, buf, offset, length, position) => wrote(fd, inner.writeSync(fd, buf, offset, length, position)),
      writevSync: (fd, bufs, position) => wrote(fd, inner.writevSync(fd, bufs, position)),
      write: async (fd, buf, offset, length, position) => {
        // The kind is read before the call: the descriptor may be closed (and reused) by the time it returns.
        const s = of(fd);
        const n = await inner.write(fd, buf, offset, length, position);
        s.bytes += n;
        s.writes++;
        return n;
      },
      fsyncSync: (fd) => {
        synced(fd);
        inner.fsyncSync(fd);
      },
      fdatasyncSync: (fd) => {
        synced(fd);
        inner.fdatasyncSync(fd);
      },
      fsync: (fd) => {
        synced(fd);
        return inner.fsync(fd);
      },
      fdatasync: (fd) => {
        synced(fd);
        return inner.fdatasync(fd);
      },
      writeFileSync: (file, data) => {
        const s = this.byKind[diskFileKind(file)];
        inner.writeFileSync(file, data);
        s.bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
        s.writes++;
      },
    };
  }
}
