/**
 * Small files that must change all at once (hard state, term boundaries, log start): written to a
 * temporary file, fsynced, renamed over the old one, and the folder fsynced, so that after a crash
 * the file holds either the old or the new contents, never a mix.
 *
 * Contents are framed as: magic u32 | CRC-32C u32 of the body | body length u32 | body.
 */
import path from 'node:path';
import { crc32c } from '../src/wire/crc32c.js';
import { nodeFileSystem, rmIfExists, type FileSystem } from './file-system.js';

const HEADER_BYTES = 12;

function framed(magic: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.byteLength);
  out.writeUInt32BE(magic >>> 0, 0);
  out.writeUInt32BE(crc32c(body), 4);
  out.writeUInt32BE(body.byteLength, 8);
  out.set(body, HEADER_BYTES);
  return out;
}

/**
 * writeFileAtomic off the event loop (the writes and fsyncs run on the threadpool), for files
 * written in the background or many at once. Callers must not run two for the same file at once;
 * `tmpSuffix` names the temporary file, for a caller that may also write the file with
 * writeFileAtomic meanwhile (each then renames a whole file of its own).
 */
export async function writeFileAtomicAsync(file: string, magic: number, body: Uint8Array, fs: FileSystem = nodeFileSystem, tmpSuffix = '.tmp'): Promise<void> {
  (await stageFileAtomic(file, magic, body, fs, tmpSuffix)).commit();
  await fsyncDirAsync(path.dirname(file), fs);
}

/**
 * Writes `bytes` as the whole of `file` (created or truncated) and fsyncs it, the write and the
 * fsync on the threadpool. In place: a crash before the fsync leaves the file torn or empty, so
 * callers write only files whose damage is told by a checksum, or temporary ones.
 */
export async function writeFileSyncedAsync(fs: FileSystem, file: string, bytes: Uint8Array): Promise<void> {
  const fd = fs.openSync(file, 'w');
  try {
    let done = 0;
    while (done < bytes.byteLength) done += await fs.write(fd, bytes, done, bytes.byteLength - done, done);
    await fs.fsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A temporary file written and fsynced by stageFileAtomic, waiting to replace its file or to go. */
export interface StagedFile {
  /** Renames it over the file: the new contents, durable once the folder is fsynced. */
  commit(): void;
  /** Removes it: the file keeps what it held. */
  discard(): void;
}

/**
 * The first half of writeFileAtomicAsync: the contents (framed from `body` as the call is made)
 * written to the temporary file `file + tmpSuffix` and fsynced, off the event loop. The caller
 * then commits or discards it, deciding in the same turn of the event loop as it acts (so that a
 * newer write of the file made meanwhile is not replaced by this older one), and fsyncs the folder
 * before relying on the new contents: one folder fsync serves every file committed before it.
 */
export async function stageFileAtomic(file: string, magic: number, body: Uint8Array, fs: FileSystem, tmpSuffix: string): Promise<StagedFile> {
  const tmp = `${file}${tmpSuffix}`;
  await writeFileSyncedAsync(fs, tmp, framed(magic, body));
  return {
    commit: () => fs.renameSync(tmp, file),
    discard: () => rmIfExists(fs, tmp),
  };
}

export function writeFileAtomic(file: string, magic: number, body: Uint8Array, fs: FileSystem = nodeFileSystem): void {
  const tmp = `${file}.tmp`;
  const out = framed(magic, body);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, out, 0, out.length, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file), fs);
}

export type CheckedRead =
  | { readonly kind: 'ok'; readonly body: Uint8Array }
  | { readonly kind: 'missing' }
  /** Present but torn, of another kind, or failing its checksum: `reason` says which. */
  | { readonly kind: 'damaged'; readonly reason: string };

/** Reads a file written by writeFileAtomic, telling a missing file from a damaged one. */
export function readFileChecked(file: string, magic: number, fs: FileSystem = nodeFileSystem): CheckedRead {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw err;
  }
  if (buf.length < HEADER_BYTES) return { kind: 'damaged', reason: `${file} holds ${buf.length} bytes, less than its ${HEADER_BYTES}-byte header` };
  if (buf.readUInt32BE(0) !== magic >>> 0) return { kind: 'damaged', reason: `${file} does not start with its magic number 0x${(magic >>> 0).toString(16)}` };
  const len = buf.readUInt32BE(8);
  if (buf.length !== HEADER_BYTES + len) return { kind: 'damaged', reason: `${file} holds ${buf.length - HEADER_BYTES} bytes of body where its header says ${len}` };
  const body = buf.subarray(HEADER_BYTES);
  if (crc32c(body) !== buf.readUInt32BE(4)) return { kind: 'damaged', reason: `${file} fails its checksum` };
  return { kind: 'ok', body };
}

/**
 * A file whose body is JSON: parsed, then checked by `shape`, which returns the value or, when
 * the JSON is not what the file should hold, why not. Bad JSON or a bad shape is damage.
 */
export function readJsonFile<T>(file: string, magic: number, shape: (v: Record<string, unknown>) => T | string, fs: FileSystem = nodeFileSystem): { readonly kind: 'ok'; readonly value: T } | Exclude<CheckedRead, { kind: 'ok' }> {
  const r = readFileChecked(file, magic, fs);
  if (r.kind !== 'ok') return r;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(r.body).toString('utf8'));
  } catch (err) {
    return { kind: 'damaged', reason: `${file}'s body is not JSON: ${(err as Error).message}` };
  }
  const value = typeof v === 'object' && v !== null && !Array.isArray(v) ? shape(v as Record<string, unknown>) : 'not a JSON object';
  return typeof value === 'string' ? { kind: 'damaged', reason: `${file} does not hold what it should: ${value} (${JSON.stringify(v).slice(0, 200)})` } : { kind: 'ok', value };
}

/** The body, or null when the file is missing or damaged (for files derived from others, rebuilt when unreadable). */
export function readDerivedFile(file: string, magic: number, fs: FileSystem = nodeFileSystem): Uint8Array | null {
  const r = readFileChecked(file, magic, fs);
  return r.kind === 'ok' ? r.body : null;
}

/** fsyncDir off the event loop. */
export async function fsyncDirAsync(dir: string, fs: FileSystem = nodeFileSystem): Promise<void> {
  const fd = fs.openSync(dir, 'r');
  try {
    await fs.fsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function fsyncDir(dir: string, fs: FileSystem = nodeFileSystem): void {
  fsyncPath(dir, fs);
}

/** fsyncs what is at `target`, a file or a folder, as it reads now (opened read-only for it). */
export function fsyncPath(target: string, fs: FileSystem = nodeFileSystem): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
