/**
 * The first index of each term in a log (as Kafka's leader-epoch checkpoint), so that `term(i)`
 * costs a binary search over the handful of terms instead of memory per entry.
 *
 * `terms` file (written atomically, see atomic-file.ts): body = covers-through index u64, then
 * (term u64, first index u64) pairs in increasing order. "Covers through" is the last index whose
 * boundaries the file is known to hold (the end of the sealed segments when written); boundaries
 * in the active segment come from scanning it when the log is opened.
 */
import { readDerivedFile, stageFileAtomic, writeFileAtomic, type StagedFile } from './atomic-file.js';
import type { FileSystem } from './file-system.js';
import { check } from './errors.js';
import { readU64, writeU64 } from './frame.js';

const MAGIC = 0x524c5431; // "RLT1"

export interface Boundary {
  readonly term: number;
  readonly firstIndex: number;
}

export class TermBoundaries {
  private list: Boundary[] = [];

  get all(): readonly Boundary[] {
    return this.list;
  }

  /** Records that entry `index` has `term`; a no-op unless it starts a new term. */
  observe(index: number, term: number): void {
    const last = this.list[this.list.length - 1];
    if (last !== undefined) {
      check(term >= last.term, () => `term ${term} at index ${index} is below term ${last.term} that began at ${last.firstIndex}`);
      if (term === last.term) return;
      check(index > last.firstIndex, () => `term ${term} begins at ${index}, not after term ${last.term} at ${last.firstIndex}`);
    }
    this.list.push({ term, firstIndex: index });
  }

  /** The term of entry `index`, or 0 when no boundary is at or before it. */
  termAt(index: number): number {
    let lo = 0;
    let hi = this.list.length - 1;
    let t = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = this.list[mid]!;
      if (b.firstIndex <= index) {
        t = b.term;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return t;
  }

  /** Forgets boundaries at or after `index` (the log was cut there). */
  truncateFrom(index: number): void {
    while (this.list.length > 0 && this.list[this.list.length - 1]!.firstIndex >= index) this.list.pop();
  }

  /** Keeps only what is needed to answer for indexes at or after `index`. */
  dropBefore(index: number): void {
    let keepFrom = 0;
    for (let i = 0; i < this.list.length; i++) if (this.list[i]!.firstIndex <= index) keepFrom = i;
    this.list = this.list.slice(keepFrom);
  }

  reset(list: Boundary[]): void {
    this.list = list;
  }

  /** The file's body: what `save` writes. */
  encode(coversThrough: number): Buffer {
    const body = Buffer.alloc(8 + this.list.length * 16);
    writeU64(body, 0, coversThrough);
    this.list.forEach((b, i) => {
      writeU64(body, 8 + i * 16, b.term);
      writeU64(body, 16 + i * 16, b.firstIndex);
    });
    return body;
  }

  /** Writes the file (atomic-file.ts) unless `previous`, what was last written to it, holds the same bytes; returns what it holds. */
  save(fs: FileSystem, file: string, coversThrough: number, previous: Uint8Array | null = null): Buffer {
    const body = this.encode(coversThrough);
    if (previous === null || !body.equals(previous)) writeFileAtomic(file, MAGIC, body, fs);
    return body;
  }

  /**
   * `save` off the event loop, its rename left to the caller (atomic-file.ts's stageFileAtomic):
   * null when `previous` holds the same bytes. The body is taken as the call is made.
   */
  async stage(fs: FileSystem, file: string, coversThrough: number, previous: Uint8Array | null, tmpSuffix: string): Promise<{ readonly body: Buffer; readonly file: StagedFile } | null> {
    const body = this.encode(coversThrough);
    if (previous !== null && body.equals(previous)) return null;
    return { body, file: await stageFileAtomic(file, MAGIC, body, fs, tmpSuffix) };
  }

  /** The saved boundaries and how far they reach, or null if the file is missing or damaged. */
  static load(fs: FileSystem, file: string): { boundaries: Boundary[]; coversThrough: number } | null {
    const body = readDerivedFile(file, MAGIC, fs);
    if (body === null || body.byteLength < 8 || (body.byteLength - 8) % 16 !== 0) return null;
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const boundaries: Boundary[] = [];
    for (let at = 8; at < buf.length; at += 16) boundaries.push({ term: readU64(buf, at), firstIndex: readU64(buf, at + 8) });
    return { boundaries, coversThrough: readU64(buf, 0) };
  }
}
