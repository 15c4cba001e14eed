/**
 * A preload for chaos nodes (`node --import <dist/chaos/sync-tracker.js> dist/chaos/node-main.js ...`) that
 * remembers how much of each partition segment file was durable, so that the harness can emulate
 * a power loss after a SIGKILL: cut every segment back to what its last fsync covered (as
 * LazyFS does for Jepsen). A SIGKILL alone loses nothing a node wrote, since the page cache
 * survives the process; this is how a run can catch a node that acknowledges before fsync.
 *
 * Active only when RAFTLOG_CHAOS_SYNC_LOG names a file: absolute, or relative to the node's data
 * folder (its `--data` flag), since one environment serves every node of a cluster. It wraps `fs.openSync`, `fs.closeSync`,
 * `fs.close`, `fs.fsyncSync`, `fs.fdatasyncSync`, `fs.fsync` and `fs.fdatasync` (storage/ uses
 * these; storage/segment.ts takes `promisify(fs.fdatasync)` when it loads, after this preload ran)
 * and appends one line per event to the sync log:
 *
 *     <bytes> <absolute path>\n
 *
 * - after an fsync or fdatasync of a tracked file completes: its size when the call began (every
 *   byte below it is durable);
 * - when a tracked file is created or truncated by open ('w', 'w+'): 0 (nothing of it is durable).
 *
 * Tracked files: `<data>/partitions/<dir>/log/<20 digits>.log`. The log is appended to across
 * restarts of the node; the last line for a path is the one that counts (see power-loss.ts).
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';

export const SYNC_LOG_ENV = 'RAFTLOG_CHAOS_SYNC_LOG';

/** A partition segment file (storage/segment-log.ts layout under src/node/node.ts's data folder). */
export const TRACKED = new RegExp(`${escape(path.sep)}partitions${escape(path.sep)}[^${escape(path.sep)}]+${escape(path.sep)}log${escape(path.sep)}\\d{20}\\.log$`);

function escape(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

function install(logFile: string): void {
  const orig = {
    openSync: fs.openSync,
    closeSync: fs.closeSync,
    close: fs.close,
    fsyncSync: fs.fsyncSync,
    fdatasyncSync: fs.fdatasyncSync,
    fsync: fs.fsync,
    fdatasync: fs.fdatasync,
    fstatSync: fs.fstatSync,
    writeSync: fs.writeSync,
  };
  const out = orig.openSync(logFile, 'a');
  const tracked = new Map<number, string>();
  const note = (bytes: number, file: string): void => {
    orig.writeSync(out, `${bytes} ${file}\n`);
  };
  const sizeOf = (fd: number): number | null => {
    try {
      return orig.fstatSync(fd).size;
    } catch {
      return null;
    }
  };

  const openSync = (file: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode | null): number => {
    const fd = orig.openSync(file, flags ?? 'r', mode);
    const abs = path.resolve(String(file));
    if (TRACKED.test(abs)) {
      tracked.set(fd, abs);
      if (flags === 'w' || flags === 'w+') note(0, abs);
    }
    return fd;
  };
  const closeSync = (fd: number): void => {
    tracked.delete(fd);
    orig.closeSync(fd);
  };
  const close = (fd: number, cb?: fs.NoParamCallback): void => {
    tracked.delete(fd);
    orig.close(fd, cb);
  };
  const syncSync = (which: 'fsyncSync' | 'fdatasyncSync') => (fd: number): void => {
    const file = tracked.get(fd);
    const size = file === undefined ? null : sizeOf(fd);
    orig[which](fd);
    if (file !== undefined && size !== null) note(size, file);
  };
  const syncAsync = (which: 'fsync' | 'fdatasync') => (fd: number, cb: fs.NoParamCallback): void => {
    const file = tracked.get(fd);
    const size = file === undefined ? null : sizeOf(fd);
    orig[which](fd, (err) => {
      if (err === null && file !== undefined && size !== null) note(size, file);
      cb(err);
    });
  };

  Object.assign(fs, {
    openSync,
    closeSync,
    close,
    fsyncSync: syncSync('fsyncSync'),
    fdatasyncSync: syncSync('fdatasyncSync'),
    fsync: syncAsync('fsync'),
    fdatasync: syncAsync('fdatasync'),
  });
  syncBuiltinESMExports();
}

/** Where a node with these arguments and this setting writes its sync log; null when off. */
export function syncLogPath(argv: readonly string[], setting: string | undefined): string | null {
  if (setting === undefined || setting === '') return null;
  if (path.isAbsolute(setting)) return setting;
  const i = argv.indexOf('--data');
  const data = i >= 0 ? argv[i + 1] : undefined;
  if (data === undefined) throw new Error(`${SYNC_LOG_ENV}=${setting} is relative, but the node has no --data flag to put it under`);
  return path.resolve(data, setting);
}

const logFile = syncLogPath(process.argv, process.env[SYNC_LOG_ENV]);
if (logFile !== null) {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  install(logFile);
}
