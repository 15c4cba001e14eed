/**
 * A simulated disk for one simulated node, implementing storage/file-system.ts, so the real
 * SegmentLog, sync ledger, hard state and atomic files run on it unchanged.
 *
 * It keeps what POSIX promises and no more:
 * - a file's bytes are durable up to its last fsync/fdatasync; the writes and truncations since
 *   are pending, in order;
 * - a folder's names (a created file, a rename, a removal) are durable up to the folder's last
 *   fsync; the changes since are pending, in order (a rename is one change: old or new, never
 *   both or neither);
 * - `crash()` keeps, for every file and every folder independently, its durable state plus a
 *   random prefix of its pending changes, the last kept write possibly torn at a random byte;
 *   every open file is closed with it.
 * Folders themselves (mkdir, a folder's rename or removal) are durable at once: the log's folders
 * are made before anything is written into them, and a node that lost one is a node that lost its
 * disk (`wipe`). (A log installed from a leader's files is swapped in by renaming its folder,
 * storage/log-install.ts; its code fsyncs the parent all the same, as POSIX needs.)
 *
 * Faults on demand: the next write or sync fails with EIO (`failNext`), the power goes after a
 * given number of changes (`armPowerLoss`: a crash in the middle of a synchronous sequence, such
 * as installing a log from a leader), a bit flips in bytes that
 * were synced (`flipBit`), or the node loses what it had synced (`wipe`, `truncateFile`, `remove`).
 *
 * An async call (fdatasync, fsync, write) takes simulated time: it settles through `schedule`,
 * the simulator's event queue, after a latency the simulator picks. An fdatasync makes durable
 * what was written before it was called.
 */
import path from 'node:path';
import type { FileSystem, OpenFlags } from '../../storage/file-system.js';

type FileChange = { readonly kind: 'write'; readonly position: number; readonly bytes: Uint8Array } | { readonly kind: 'truncate'; readonly length: number };

/** A growable byte array, written in place (each file's live and durable contents are two of them). */
class Bytes {
  private buf: Uint8Array;
  length = 0;

  constructor(from?: Uint8Array) {
    this.buf = new Uint8Array(Math.max(from?.length ?? 0, 256));
    if (from !== undefined) {
      this.buf.set(from);
      this.length = from.length;
    }
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  clone(): Bytes {
    return new Bytes(this.view());
  }

  apply(c: FileChange): void {
    if (c.kind === 'truncate') {
      this.reserve(c.length);
      if (c.length > this.length) this.buf.fill(0, this.length, c.length);
      this.length = c.length;
      return;
    }
    const end = c.position + c.bytes.length;
    this.reserve(end);
    if (c.position > this.length) this.buf.fill(0, this.length, c.position);
    this.buf.set(c.bytes, c.position);
    this.length = Math.max(this.length, end);
  }

  private reserve(n: number): void {
    if (n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(n, this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }
}

class SimFile {
  /** What reads see. */
  data = new Bytes();
  /** What a crash keeps for certain. */
  durable = new Bytes();
  pending: FileChange[] = [];
}

type FolderChange = { readonly kind: 'link'; readonly name: string; readonly file: SimFile } | { readonly kind: 'unlink'; readonly name: string } | { readonly kind: 'rename'; readonly from: string; readonly to: string };

class SimFolder {
  readonly files = new Map<string, SimFile>();
  durable = new Map<string, SimFile>();
  pending: FolderChange[] = [];
  readonly folders = new Map<string, SimFolder>();
}

interface Open {
  readonly file: SimFile | null;
  readonly folder: SimFolder | null;
  readonly writable: boolean;
}

export type IoFault = 'write' | 'sync';

export interface SimFsOptions {
  /** Runs `fn` after a simulated latency (the simulator's event queue). */
  readonly schedule: (fn: () => void) => void;
  readonly random: () => number;
}

function ioError(code: string, message: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: ${message}`) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

function applyFolderChange(names: Map<string, SimFile>, c: FolderChange): void {
  if (c.kind === 'link') names.set(c.name, c.file);
  else if (c.kind === 'unlink') names.delete(c.name);
  else {
    const f = names.get(c.from);
    names.delete(c.from);
    if (f !== undefined) names.set(c.to, f);
  }
}

export class SimFs implements FileSystem {
  private root = new SimFolder();
  private readonly fds = new Map<number, Open>();
  private nextFd = 3;
  private failing: IoFault | null = null;
  /** Counts, for the simulator's statistics. */
  readonly stats = { writes: 0, syncs: 0, failures: 0, flips: 0, tornWrites: 0 };

  constructor(private readonly o: SimFsOptions) {}

  // -----------------------------------------------------------------------------------------------
  // Faults

  /** The next write (or sync) fails with EIO; null: none does. */
  failNext(kind: IoFault | null): void {
    this.failing = kind;
  }

  /**
   * The power goes after `changes` more changes (a write, a sync, a file created, renamed or
   * removed): the change after them throws, so does every call until `crash()`, and
   * `onPowerLoss` is told (the simulator then crashes the node). Null: disarmed.
   */
  armPowerLoss(changes: number | null): void {
    this.powerLossIn = changes;
  }

  /** Told when an armed power loss strikes. */
  onPowerLoss: (() => void) | null = null;
  private powerLossIn: number | null = null;
  private dead = false;

  /** Every call passes here first: a disk whose power went answers nothing; `change` marks one that changes something. */
  private alive(change: boolean): void {
    if (!this.dead && change && this.powerLossIn !== null && this.powerLossIn-- <= 0) {
      this.powerLossIn = null;
      this.dead = true;
      this.onPowerLoss?.();
    }
    if (this.dead) throw ioError('EIO', 'the power is gone (injected by the simulator)');
  }

  /** The process died, the machine did not: every file is closed, nothing written is lost. */
  closeAll(): void {
    this.fds.clear();
    this.failing = null;
    this.dead = false;
    this.powerLossIn = null;
  }

  /** Loses every unsynced change, keeping a random prefix of each file's and folder's; closes every file. */
  crash(): void {
    this.fds.clear();
    this.failing = null;
    this.dead = false;
    this.powerLossIn = null;
    const rand = this.o.random;
    const visit = (folder: SimFolder): void => {
      const keep = Math.floor(rand() * (folder.pending.length + 1));
      const names = new Map(folder.durable);
      for (const c of folder.pending.slice(0, keep)) applyFolderChange(names, c);
      folder.files.clear();
      for (const [n, f] of names) folder.files.set(n, f);
      folder.durable = new Map(names);
      folder.pending = [];
      for (const f of names.values()) this.crashFile(f);
      for (const sub of folder.folders.values()) visit(sub);
    };
    visit(this.root);
  }

  private crashFile(f: SimFile): void {
    const rand = this.o.random;
    const keep = Math.floor(rand() * (f.pending.length + 1));
    for (let i = 0; i < keep; i++) f.durable.apply(f.pending[i]!);
    const next = f.pending[keep];
    if (next !== undefined && next.kind === 'write' && rand() < 0.5) {
      // Torn: the write reached the disk only in part.
      const cut = Math.floor(rand() * next.bytes.length);
      if (cut > 0) {
        f.durable.apply({ kind: 'write', position: next.position, bytes: next.bytes.subarray(0, cut) });
        this.stats.tornWrites++;
      }
    }
    f.data = f.durable.clone();
    f.pending = [];
  }

  /**
   * Flips one bit in the synced bytes of a file whose name matches `pattern` (chosen at random);
   * returns which file and byte, or null when no such file holds synced bytes.
   */
  flipBit(pattern: RegExp): { file: string; position: number } | null {
    const candidates = this.allFiles().filter(([p, f]) => pattern.test(p) && f.durable.length > 0 && f.pending.length === 0);
    if (candidates.length === 0) return null;
    const [p, f] = candidates[Math.floor(this.o.random() * candidates.length)]!;
    const position = Math.floor(this.o.random() * f.durable.length);
    const bit = 1 << Math.floor(this.o.random() * 8);
    f.durable.view()[position]! ^= bit;
    f.data.view()[position]! ^= bit;
    this.stats.flips++;
    return { file: p, position };
  }

  /** Removes everything below `dir` (the disk lost it; nothing is open: call on a stopped node). */
  wipe(dir: string): void {
    const { parent, name } = this.parentOf(dir);
    if (parent === null) {
      this.root = new SimFolder();
      return;
    }
    parent.folders.delete(name);
  }

  /** Cuts a file to `length` bytes, durably (the disk lost its end). */
  truncateFile(file: string, length: number): void {
    const f = this.lookupFile(file);
    f.data.apply({ kind: 'truncate', length: Math.min(length, f.data.length) });
    f.durable = f.data.clone();
    f.pending = [];
  }

  /** Removes a file, durably. */
  remove(file: string): void {
    const { parent, name } = this.parentOf(file);
    if (parent === null) return;
    parent.files.delete(name);
    parent.durable.delete(name);
    parent.pending = parent.pending.filter((c) => !(c.kind === 'link' && c.name === name));
  }

  /** Every file, by path, with its size (for damage and for tests). */
  allFiles(): [string, SimFile][] {
    const out: [string, SimFile][] = [];
    const visit = (folder: SimFolder, at: string): void => {
      for (const [n, f] of folder.files) out.push([path.posix.join(at, n), f]);
      for (const [n, sub] of folder.folders) visit(sub, path.posix.join(at, n));
    };
    visit(this.root, '/');
    return out;
  }

  /** What a crash keeps of a file for certain: its bytes as of its last sync (for tests). */
  durableBytes(file: string): Uint8Array {
    return this.lookupFile(file).durable.view().slice();
  }

  /** The size of a file (what reads see). */
  size(file: string): number {
    return this.lookupFile(file).data.length;
  }

  // -----------------------------------------------------------------------------------------------
  // FileSystem

  openSync(file: string, flags: OpenFlags): number {
    this.alive(flags !== 'r');
    const folder = this.folderAt(file);
    if (folder !== null) {
      this.fds.set(this.nextFd, { file: null, folder, writable: false });
      return this.nextFd++;
    }
    const { parent, name } = this.parentOf(file);
    if (parent === null) throw ioError('ENOENT', `no such folder for '${file}'`);
    let f = parent.files.get(name);
    if (flags === 'w' || flags === 'w+') {
      if (f === undefined) {
        f = new SimFile();
        parent.files.set(name, f);
        parent.pending.push({ kind: 'link', name, file: f });
      } else if (f.data.length > 0) {
        this.change(f, { kind: 'truncate', length: 0 });
      }
    } else if (f === undefined) {
      throw ioError('ENOENT', `no such file '${file}'`);
    }
    this.fds.set(this.nextFd, { file: f, folder: null, writable: flags !== 'r' });
    return this.nextFd++;
  }

  closeSync(fd: number): void {
    this.open(fd);
    this.fds.delete(fd);
  }

  readSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    this.alive(false);
    const f = this.openFile(fd);
    const n = Math.max(0, Math.min(length, f.data.length - position));
    buf.set(f.data.view().subarray(position, position + n), offset);
    return n;
  }

  writeSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    this.alive(true);
    const f = this.writableFile(fd);
    this.maybeFail('write', 'write');
    this.change(f, { kind: 'write', position, bytes: buf.slice(offset, offset + length) });
    return length;
  }

  writevSync(fd: number, bufs: readonly Uint8Array[], position: number): number {
    this.alive(true);
    const f = this.writableFile(fd);
    this.maybeFail('write', 'writev');
    let at = position;
    for (const b of bufs) {
      this.change(f, { kind: 'write', position: at, bytes: b.slice() });
      at += b.length;
    }
    return at - position;
  }

  /** Reads what the file holds when the call settles, after the simulated latency (as a threadpool read would). */
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return new Promise((resolve, reject) =>
      this.o.schedule(() => {
        try {
          resolve(this.readSync(fd, buf, offset, length, position));
        } catch (err) {
          reject(err as Error);
        }
      }),
    );
  }

  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    try {
      return this.later(this.writeSync(fd, buf, offset, length, position));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  fstatSync(fd: number): { readonly size: number } {
    return { size: this.openFile(fd).data.length };
  }

  ftruncateSync(fd: number, length: number): void {
    this.alive(true);
    this.change(this.writableFile(fd), { kind: 'truncate', length });
  }

  fsyncSync(fd: number): void {
    this.alive(true);
    const o = this.open(fd);
    this.maybeFail('sync', 'fsync');
    if (o.folder !== null) this.syncFolder(o.folder, o.folder.pending.length);
    else this.syncFile(o.file!, o.file!.pending.length);
  }

  fdatasyncSync(fd: number): void {
    this.fsyncSync(fd);
  }

  fsync(fd: number): Promise<void> {
    return this.fdatasync(fd);
  }

  fdatasync(fd: number): Promise<void> {
    let o: Open;
    try {
      this.alive(true);
      o = this.open(fd);
      this.maybeFail('sync', 'fdatasync');
    } catch (err) {
      return Promise.reject(err);
    }
    // Durable when it returns: what was written before the call (later writes may wait for the next).
    const upTo = o.folder !== null ? o.folder.pending.length : o.file!.pending.length;
    const pending = o.folder !== null ? o.folder.pending : o.file!.pending;
    return new Promise((resolve) =>
      this.o.schedule(() => {
        // A crash in between replaced the pending list: nothing to make durable of a dead node's.
        if (o.folder !== null && o.folder.pending === pending) this.syncFolder(o.folder, upTo);
        else if (o.file !== null && o.file.pending === pending) this.syncFile(o.file, upTo);
        resolve();
      }),
    );
  }

  readFileSync(file: string): Buffer {
    this.alive(false);
    return Buffer.from(this.lookupFile(file).data.view());
  }

  writeFileSync(file: string, data: string | Uint8Array): void {
    const fd = this.openSync(file, 'w');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.writeSync(fd, bytes, 0, bytes.length, 0);
    this.closeSync(fd);
  }

  existsSync(file: string): boolean {
    if (this.folderAt(file) !== null) return true;
    const { parent, name } = this.parentOf(file);
    return parent?.files.has(name) ?? false;
  }

  readdirSync(dir: string): string[] {
    const folder = this.folderAt(dir);
    if (folder === null) throw ioError('ENOENT', `no such folder '${dir}'`);
    return [...folder.files.keys(), ...folder.folders.keys()].sort();
  }

  mkdirSync(dir: string, _options?: { readonly recursive: true }): void {
    this.alive(true);
    let at = this.root;
    for (const part of this.parts(dir)) {
      let next = at.folders.get(part);
      if (next === undefined) {
        if (at.files.has(part)) throw ioError('EEXIST', `'${dir}': a file is in the way`);
        next = new SimFolder();
        at.folders.set(part, next);
      }
      at = next;
    }
  }

  renameSync(from: string, to: string): void {
    this.alive(true);
    const a = this.parentOf(from);
    const b = this.parentOf(to);
    const folder = a.parent?.folders.get(a.name);
    if (folder !== undefined && b.parent !== null) {
      // A folder's name changes at once and durably, as mkdir and a folder's removal do here.
      if (b.parent.folders.has(b.name) || b.parent.files.has(b.name)) throw ioError('ENOTEMPTY', `'${to}' is in the way`);
      a.parent!.folders.delete(a.name);
      b.parent.folders.set(b.name, folder);
      return;
    }
    const f = a.parent?.files.get(a.name);
    if (f === undefined || a.parent === null || b.parent === null) throw ioError('ENOENT', `no such file '${from}'`);
    if (a.parent === b.parent) {
      a.parent.files.delete(a.name);
      a.parent.files.set(b.name, f);
      a.parent.pending.push({ kind: 'rename', from: a.name, to: b.name });
      return;
    }
    a.parent.files.delete(a.name);
    a.parent.pending.push({ kind: 'unlink', name: a.name });
    b.parent.files.set(b.name, f);
    b.parent.pending.push({ kind: 'link', name: b.name, file: f });
  }

  unlinkSync(file: string): void {
    this.alive(true);
    const { parent, name } = this.parentOf(file);
    if (parent === null || !parent.files.has(name)) throw ioError('ENOENT', `no such file '${file}'`);
    parent.files.delete(name);
    parent.pending.push({ kind: 'unlink', name });
  }

  rmSync(target: string, options: { readonly recursive?: boolean; readonly force?: boolean }): void {
    this.alive(true);
    const { parent, name } = this.parentOf(target);
    if (parent !== null && parent.folders.has(name)) {
      if (options.recursive !== true) throw ioError('EISDIR', `'${target}' is a folder`);
      parent.folders.delete(name);
      return;
    }
    if (parent === null || !parent.files.has(name)) {
      if (options.force === true) return;
      throw ioError('ENOENT', `no such file '${target}'`);
    }
    this.unlinkSync(target);
  }

  // -----------------------------------------------------------------------------------------------

  private later<T>(value: T): Promise<T> {
    return new Promise((resolve) => this.o.schedule(() => resolve(value)));
  }

  private maybeFail(kind: IoFault, call: string): void {
    if (this.failing !== kind) return;
    this.failing = null;
    this.stats.failures++;
    throw ioError('EIO', `${call} failed (injected by the simulator)`);
  }

  private change(f: SimFile, c: FileChange): void {
    f.data.apply(c);
    f.pending.push(c);
    if (c.kind === 'write') this.stats.writes++;
  }

  private syncFile(f: SimFile, upTo: number): void {
    for (let i = 0; i < upTo; i++) f.durable.apply(f.pending[i]!);
    f.pending = f.pending.slice(upTo);
    this.stats.syncs++;
  }

  private syncFolder(folder: SimFolder, upTo: number): void {
    for (let i = 0; i < upTo; i++) applyFolderChange(folder.durable, folder.pending[i]!);
    folder.pending = folder.pending.slice(upTo);
  }

  private open(fd: number): Open {
    const o = this.fds.get(fd);
    if (o === undefined) throw ioError('EBADF', `file descriptor ${fd} is not open`);
    return o;
  }

  private openFile(fd: number): SimFile {
    const o = this.open(fd);
    if (o.file === null) throw ioError('EISDIR', `file descriptor ${fd} is a folder`);
    return o.file;
  }

  private writableFile(fd: number): SimFile {
    const o = this.open(fd);
    if (o.file === null || !o.writable) throw ioError('EBADF', `file descriptor ${fd} is not open for writing`);
    return o.file;
  }

  private parts(p: string): string[] {
    return path.posix.normalize(p).split('/').filter((s) => s !== '' && s !== '.');
  }

  private folderAt(p: string): SimFolder | null {
    let at: SimFolder | undefined = this.root;
    for (const part of this.parts(p)) {
      at = at.folders.get(part);
      if (at === undefined) return null;
    }
    return at;
  }

  private parentOf(p: string): { parent: SimFolder | null; name: string } {
    const parts = this.parts(p);
    const name = parts.pop();
    if (name === undefined) return { parent: null, name: '' };
    return { parent: this.folderAt(parts.join('/')), name };
  }

  private lookupFile(file: string): SimFile {
    const { parent, name } = this.parentOf(file);
    const f = parent?.files.get(name);
    if (f === undefined) throw ioError('ENOENT', `no such file '${file}'`);
    return f;
  }
}
