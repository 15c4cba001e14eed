/**
 * The open files of sealed segments, shared by every log of a node and capped in number: a
 * sealed segment is only read (by a consumer or a follower behind the tail cache, or by a
 * timestamp lookup), so it need not hold a file descriptor between reads. Kafka keeps every
 * segment of every partition open, so its file descriptors grow with the data it retains and
 * operators raise `ulimit -n` into the hundreds of thousands; here a log holds one file open, its
 * active segment's (which is written and synced through it), and the rest are opened on demand
 * and closed, least recently used first, once more than `capacity` are open.
 *
 * Two ways to read through it. `fdFor` gives a descriptor for synchronous reads: valid until the
 * next call to this object (which may close it to open another), so a caller asks again before
 * each read. `pin` keeps the file open across an asynchronous read until `release`: a pinned
 * file is never closed under a read in flight (whose descriptor could otherwise be reused by the
 * next file opened, and the read return that file's bytes). While pinned files are all that is
 * open, the cap is exceeded rather than a read refused.
 */
import type { FileSystem } from './file-system.js';

/** A sealed segment's file kept open for an asynchronous read; `release` once the read is done. */
export interface PinnedFile {
  readonly fd: number;
  release(): void;
}

interface OpenFile {
  readonly fd: number;
  pins: number;
  /** Forgotten (its segment removed or closed) while pinned: closed at the last release. */
  forgotten: boolean;
}

export class SegmentFiles {
  /** Open files by path, least recently used first (a Map keeps insertion order). */
  private readonly open = new Map<string, OpenFile>();
  /** Files opened since this object was made (for tests and metrics). */
  opened = 0;

  constructor(
    private readonly fs: FileSystem,
    /** Open files kept, at most, except while more are pinned. */
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a segment file cache holds at least 1 file, not ${capacity}`);
  }

  /** Files open now. */
  get size(): number {
    return this.open.size;
  }

  /** A descriptor of `file` (opened read-only if it is not open), valid until the next call to this object. */
  fdFor(file: string): number {
    return this.touch(file).fd;
  }

  /** Keeps `file` open until the returned handle is released. */
  pin(file: string): PinnedFile {
    const f = this.touch(file);
    f.pins++;
    let released = false;
    return {
      fd: f.fd,
      release: () => {
        if (released) return;
        released = true;
        f.pins--;
        if (f.pins === 0 && f.forgotten) this.fs.closeSync(f.fd);
        else this.evict();
      },
    };
  }

  /** Closes `file` if open (its segment was removed, truncated into, or closed); a pinned one at its last release. */
  forget(file: string): void {
    const f = this.open.get(file);
    if (f === undefined) return;
    this.open.delete(file);
    if (f.pins > 0) f.forgotten = true;
    else this.fs.closeSync(f.fd);
  }

  // -----------------------------------------------------------------------------------------------

  private touch(file: string): OpenFile {
    let f = this.open.get(file);
    if (f !== undefined) {
      // The most recently used goes last.
      this.open.delete(file);
      this.open.set(file, f);
      return f;
    }
    // Room first: a file is closed before the next is opened, so the cap holds at the moment of opening too.
    this.evict(1);
    f = { fd: this.fs.openSync(file, 'r'), pins: 0, forgotten: false };
    this.opened++;
    this.open.set(file, f);
    return f;
  }

  /** Closes unpinned files, least recently used first, until `room` more fit under the cap. */
  private evict(room = 0): void {
    if (this.open.size + room <= this.capacity) return;
    for (const [file, f] of this.open) {
      if (this.open.size + room <= this.capacity) return;
      if (f.pins > 0) continue;
      this.open.delete(file);
      this.fs.closeSync(f.fd);
    }
  }
}
