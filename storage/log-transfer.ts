/**
 * Reading a log's files for a follower far behind (DESIGN.md §9), the leader's half: the segment
 * files that hold the entries after the log start up to the snapshot's index, read off the event
 * loop (FileSystem.read) a chunk at a time, oldest first. The follower's half is
 * storage/log-install.ts; the host (src/host/log-recovery.ts) paces, throttles and sends.
 *
 * A chunk is whole frames (storage/frame.ts) exactly as the files hold them, about `chunkBytes`
 * (at least one frame, so a frame larger than that makes a chunk of its own), never a frame past
 * `upTo`: the leader's commit index when the snapshot was taken, so only what is committed leaves
 * this node. Each frame is verified here right after it is read (its checksums, and that its index
 * follows the last), as every read of the log verifies; the follower verifies it again on arrival.
 * The files are opened when the transfer starts (SegmentLog.openFiles) and read through their own
 * descriptors, so retention removing a segment meanwhile does not take its bytes away; entries up
 * to the commit index are never truncated, so nothing else can change them.
 */
import { CorruptLogError } from './errors.js';
import type { FileSystem } from './file-system.js';
import { readFrame } from './frame.js';

/** One of the files to read, as SegmentLog.openFiles opens it. */
export interface LogFile {
  readonly path: string;
  readonly baseIndex: number;
  readonly fd: number;
}

export interface LogChunk {
  /** Whole frames, as stored. */
  readonly bytes: Uint8Array;
  readonly firstIndex: number;
  readonly lastIndex: number;
}

export class LogFileReader {
  private file = 0;
  private position = 0;
  private next: number;
  private closed = false;

  /** Reads the entries `from` (the one after the log start) to `upTo` out of `files`, which it closes when done. */
  constructor(
    private readonly fs: FileSystem,
    private readonly files: readonly LogFile[],
    from: number,
    private readonly upTo: number,
    private readonly frameBytesMax: number,
  ) {
    this.next = from;
  }

  /** Whether every entry up to `upTo` was read. */
  get done(): boolean {
    return this.next > this.upTo;
  }

  /** The next chunk of about `chunkBytes`, or null once every entry up to `upTo` was read. */
  async read(chunkBytes: number): Promise<LogChunk | null> {
    while (!this.done) {
      const f = this.files[this.file];
      if (f === undefined) throw new CorruptLogError(this.files[this.files.length - 1]?.path ?? '(no file)', this.position, `the files end before index ${this.next}, which the log holds up to ${this.upTo}`);
      const chunk = await this.readFrom(f, chunkBytes);
      if (chunk !== null) return chunk;
      // The file ended on a frame boundary: its successor starts with the next index.
      this.file++;
      this.position = 0;
      const g = this.files[this.file];
      if (g !== undefined && g.baseIndex !== this.next) throw new CorruptLogError(g.path, 0, `the segment starts at index ${g.baseIndex}, but the one before it ended at ${this.next - 1}`);
    }
    this.close();
    return null;
  }

  /** Frames from `f` at the current position; null when the file has no more. */
  private async readFrom(f: LogFile, chunkBytes: number): Promise<LogChunk | null> {
    let want = chunkBytes;
    for (;;) {
      const buf = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const n = await this.fs.read(f.fd, buf, got, want - got, this.position + got);
        if (n === 0) break;
        got += n;
      }
      if (this.closed) return null;
      const view = buf.subarray(0, got);
      let at = 0;
      let need = 0;
      const first = this.next;
      while (at < got && this.next <= this.upTo) {
        const r = readFrame(view, at, this.frameBytesMax);
        if (r.status === 'partial') {
          need = r.need;
          break;
        }
        if (r.status === 'corrupt') throw new CorruptLogError(f.path, this.position + at, r.reason);
        if (r.entry.index !== this.next) throw new CorruptLogError(f.path, this.position + at, `entry index ${r.entry.index} where ${this.next} belongs`);
        at += r.bytes;
        this.next++;
      }
      if (at > 0) {
        this.position += at;
        return { bytes: view.subarray(0, at), firstIndex: first, lastIndex: this.next - 1 };
      }
      if (need > 0 && got === want) {
        // The next frame is larger than the chunk: read it whole.
        want = need;
        continue;
      }
      if (need > 0) throw new CorruptLogError(f.path, this.position, 'the file ends inside a frame');
      return null;
    }
  }

  /** Closes the files (at the end, or when the transfer is abandoned). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.files) {
      try {
        this.fs.closeSync(f.fd);
      } catch {
        // already closed with its node's disk
      }
    }
  }
}
