/**
 * Named fault points in a node's storage (as Redpanda's), for tests and chaos runs: each is armed
 * to throw, stall or kill the process when storage passes it. They live in a file-system decorator
 * (`FaultyFileSystem`) that only the chaos entry point (chaos/node-main.ts) and tests install: a
 * production node's storage has no fault switch.
 *
 * The points, on a segment file (`*.log`): `append` (a write), `sync` (fsync or fdatasync),
 * `roll` (creating a new segment), `truncate` (cutting one). Arm from code with
 * `faults.arm('sync', { action: 'stall', ms: 500 })`, or for a whole node from the environment
 * of the chaos entry point: RAFTLOG_FAULTS="sync:stall:500,append:throw"
 * (point:action[:ms][:after N passes]).
 */
import type { FileSystem, OpenFlags } from '../storage/file-system.js';

export const FAULT_POINTS = ['append', 'sync', 'roll', 'truncate'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export type FaultAction =
  | { readonly action: 'throw' }
  | { readonly action: 'stall'; readonly ms: number }
  | { readonly action: 'crash' };

export class FaultInjectedError extends Error {
  override readonly name = 'FaultInjectedError';
  constructor(readonly point: FaultPoint) {
    super(`injected fault at storage point '${point}'`);
  }
}

interface Armed {
  readonly fault: FaultAction;
  /** Passes to let through before firing. */
  skip: number;
  /** Fire once, or every time. */
  readonly once: boolean;
}

export class FaultPoints {
  private readonly armed = new Map<FaultPoint, Armed>();

  arm(point: FaultPoint, fault: FaultAction, opts: { after?: number; once?: boolean } = {}): void {
    this.armed.set(point, { fault, skip: opts.after ?? 0, once: opts.once ?? false });
  }

  disarm(point?: FaultPoint): void {
    if (point === undefined) this.armed.clear();
    else this.armed.delete(point);
  }

  /** Called by storage at each point; does nothing unless the point is armed. */
  pass(point: FaultPoint): void {
    const a = this.armed.get(point);
    if (a === undefined) return;
    if (a.skip > 0) {
      a.skip--;
      return;
    }
    if (a.once) this.armed.delete(point);
    const f = a.fault;
    switch (f.action) {
      case 'throw':
        throw new FaultInjectedError(point);
      case 'stall':
        // Blocks the thread, as a disk that stops answering would.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, f.ms);
        return;
      case 'crash':
        process.kill(process.pid, 'SIGKILL');
        return;
    }
  }

  /** Parses RAFTLOG_FAULTS-style text: "sync:stall:500,append:throw:after:100". */
  static parse(text: string | undefined): FaultPoints {
    const faults = new FaultPoints();
    if (text === undefined || text.trim() === '') return faults;
    for (const part of text.split(',')) {
      const [point, action, ...rest] = part.trim().split(':');
      if (!FAULT_POINTS.includes(point as FaultPoint)) {
        throw new Error(`unknown fault point '${point}' in '${text}'; the points are ${FAULT_POINTS.join(', ')}`);
      }
      let after = 0;
      const afterAt = rest.indexOf('after');
      if (afterAt >= 0) after = Number(rest[afterAt + 1]);
      let fault: FaultAction;
      if (action === 'throw') fault = { action: 'throw' };
      else if (action === 'crash') fault = { action: 'crash' };
      else if (action === 'stall') fault = { action: 'stall', ms: Number(rest[0] ?? 1000) };
      else throw new Error(`unknown fault action '${action}' in '${text}'; use throw, stall:<ms> or crash`);
      faults.arm(point as FaultPoint, fault, { after });
    }
    return faults;
  }
}

const SEGMENT = /\.log$/;

/** A FileSystem that passes the armed fault points on the way to the real one. */
export class FaultyFileSystem implements FileSystem {
  /** The segment files open for writing, by descriptor. */
  private readonly segments = new Set<number>();

  constructor(private readonly inner: FileSystem, readonly faults: FaultPoints) {}

  openSync(file: string, flags: OpenFlags): number {
    const segment = SEGMENT.test(file);
    if (segment && (flags === 'w' || flags === 'w+')) this.faults.pass('roll');
    const fd = this.inner.openSync(file, flags);
    if (segment && flags !== 'r') this.segments.add(fd);
    return fd;
  }
  closeSync(fd: number): void {
    this.segments.delete(fd);
    this.inner.closeSync(fd);
  }
  readSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.readSync(fd, buf, offset, length, position);
  }
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.inner.read(fd, buf, offset, length, position);
  }
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    this.at(fd, 'append');
    return this.inner.writeSync(fd, buf, offset, length, position);
  }
  writevSync(fd: number, bufs: readonly Uint8Array[], position: number): number {
    this.at(fd, 'append');
    return this.inner.writevSync(fd, bufs, position);
  }
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.later(fd, 'append', () => this.inner.write(fd, buf, offset, length, position));
  }
  fstatSync(fd: number): { readonly size: number } {
    return this.inner.fstatSync(fd);
  }
  ftruncateSync(fd: number, length: number): void {
    this.at(fd, 'truncate');
    this.inner.ftruncateSync(fd, length);
  }
  fsyncSync(fd: number): void {
    this.at(fd, 'sync');
    this.inner.fsyncSync(fd);
  }
  fdatasyncSync(fd: number): void {
    this.at(fd, 'sync');
    this.inner.fdatasyncSync(fd);
  }
  fsync(fd: number): Promise<void> {
    return this.later(fd, 'sync', () => this.inner.fsync(fd));
  }
  fdatasync(fd: number): Promise<void> {
    return this.later(fd, 'sync', () => this.inner.fdatasync(fd));
  }
  readFileSync(file: string): Buffer {
    return this.inner.readFileSync(file);
  }
  writeFileSync(file: string, data: string | Uint8Array): void {
    this.inner.writeFileSync(file, data);
  }
  existsSync(file: string): boolean {
    return this.inner.existsSync(file);
  }
  readdirSync(dir: string): string[] {
    return this.inner.readdirSync(dir);
  }
  mkdirSync(dir: string, options: { readonly recursive: true }): void {
    this.inner.mkdirSync(dir, options);
  }
  renameSync(from: string, to: string): void {
    this.inner.renameSync(from, to);
  }
  unlinkSync(file: string): void {
    this.inner.unlinkSync(file);
  }
  rmSync(target: string, options: { readonly recursive?: boolean; readonly force?: boolean }): void {
    this.inner.rmSync(target, options);
  }

  private at(fd: number, point: FaultPoint): void {
    if (this.segments.has(fd)) this.faults.pass(point);
  }

  private async later<T>(fd: number, point: FaultPoint, call: () => Promise<T>): Promise<T> {
    this.at(fd, point);
    return call();
  }
}
