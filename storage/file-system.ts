/**
 * The file system, as storage and the host see it: the calls they make and nothing more, so that
 * a node runs on the real disk (`nodeFileSystem`, node:fs) and the simulator runs the very same
 * code on a simulated disk (test/sim/sim-fs.ts) whose crash keeps a random prefix of what was not
 * synced, whose bits can flip, and whose writes and syncs can fail.
 *
 * Durability is what POSIX promises and no more: written bytes are durable once their file is
 * fsynced (or fdatasynced); a file's name (created, renamed, removed) is durable once its folder is
 * fsynced. A caller that needs a name to survive a crash fsyncs the folder (atomic-file.ts's
 * fsyncDir, SegmentLog.sync after a roll).
 *
 * Errors are node's: an `Error` with `code` ('ENOENT', 'EIO', ...), so callers can tell a missing
 * file from a failing disk whichever implementation they run on.
 */
import fs from 'node:fs';
import { promisify } from 'node:util';

/** How a file is opened: read, read-write, or created/truncated for writing (with read: 'w+'). */
export type OpenFlags = 'r' | 'r+' | 'w' | 'w+';

export interface FileSystem {
  openSync(file: string, flags: OpenFlags): number;
  closeSync(fd: number): void;
  /** Reads up to `length` bytes at `position` into `buf` at `offset`; returns how many (0 at the end). */
  readSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  /** Writes the buffers one after another from `position`; returns how many bytes (a short write is possible). */
  writevSync(fd: number, bufs: readonly Uint8Array[], position: number): number;
  /** The same as readSync, off the event loop (the threadpool): for cold data read while the node serves. */
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** The same as writeSync, off the event loop. */
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  fstatSync(fd: number): { readonly size: number };
  ftruncateSync(fd: number, length: number): void;
  /** Makes the file's bytes (or, on a folder, its names) durable. */
  fsyncSync(fd: number): void;
  fdatasyncSync(fd: number): void;
  /** fsync and fdatasync off the event loop. */
  fsync(fd: number): Promise<void>;
  fdatasync(fd: number): Promise<void>;
  readFileSync(file: string): Buffer;
  /** Writes a whole file, not durably (for markers whose loss is harmless). */
  writeFileSync(file: string, data: string | Uint8Array): void;
  existsSync(file: string): boolean;
  /** The names in a folder (no order promised). */
  readdirSync(dir: string): string[];
  mkdirSync(dir: string, options: { readonly recursive: true }): void;
  renameSync(from: string, to: string): void;
  unlinkSync(file: string): void;
  rmSync(target: string, options: { readonly recursive?: boolean; readonly force?: boolean }): void;
}

/** Removes `file`; one that is not there is no error. */
export function rmIfExists(fsys: FileSystem, file: string): void {
  try {
    fsys.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

const read = promisify(fs.read);
const write = promisify(fs.write);
const fsync = promisify(fs.fsync);
const fdatasync = promisify(fs.fdatasync);

/** The real disk. */
export const nodeFileSystem: FileSystem = {
  openSync: (file, flags) => fs.openSync(file, flags),
  closeSync: (fd) => fs.closeSync(fd),
  readSync: (fd, buf, offset, length, position) => fs.readSync(fd, buf, offset, length, position),
  writeSync: (fd, buf, offset, length, position) => fs.writeSync(fd, buf, offset, length, position),
  writevSync: (fd, bufs, position) => fs.writevSync(fd, bufs as Uint8Array[], position),
  read: async (fd, buf, offset, length, position) => (await read(fd, buf, offset, length, position)).bytesRead,
  write: async (fd, buf, offset, length, position) => (await write(fd, buf, offset, length, position)).bytesWritten,
  fstatSync: (fd) => fs.fstatSync(fd),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  fsync: (fd) => fsync(fd),
  fdatasync: (fd) => fdatasync(fd),
  readFileSync: (file) => fs.readFileSync(file),
  writeFileSync: (file, data) => fs.writeFileSync(file, data),
  existsSync: (file) => fs.existsSync(file),
  readdirSync: (dir) => fs.readdirSync(dir),
  mkdirSync: (dir, options) => void fs.mkdirSync(dir, options),
  renameSync: (from, to) => fs.renameSync(from, to),
  unlinkSync: (file) => fs.unlinkSync(file),
  rmSync: (target, options) => fs.rmSync(target, options),
};
