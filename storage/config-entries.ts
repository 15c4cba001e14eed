/**
 * The configuration entries of a log (raft/membership.ts): the Config-kind entries whose data
 * sets a membership, with their indexes, so that `LogStorage.configurations` answers without
 * reading the log. The other configuration entries (a rejoining replica's promotion) change no
 * membership and are not kept. They are rare (one per membership change), so all of them are
 * held in memory.
 *
 * `configs` file (written atomically, see atomic-file.ts), like `terms` (term-boundaries.ts):
 * body = covers-through index u64, then per configuration entry, in increasing index order:
 * index u64 | membership length u32 | membership (UTF-8 JSON, raft/membership.ts's
 * encodeMembership). "Covers through" is the last index whose configuration entries the file is
 * known to hold (the end of the sealed segments when written); those in the active segment, and
 * in any sealed segment past that, come from scanning it when the log is opened. The file is
 * derived: missing or damaged, it is rebuilt by scanning the segments.
 */
import { configurationOf, encodeMembership, membershipOf, type ConfigurationAt, type Membership } from '../raft/membership.js';
import type { Entry } from '../raft/types.js';
import { readDerivedFile, stageFileAtomic, writeFileAtomic, type StagedFile } from './atomic-file.js';
import { check } from './errors.js';
import type { FileSystem } from './file-system.js';
import { readU64, writeU64 } from './frame.js';

const MAGIC = 0x524c4331; // "RLC1"
/** Bytes before each membership in the file: its index and its length. */
const ITEM_HEADER_BYTES = 12;


export class ConfigEntries {
  private list: ConfigurationAt[] = [];

  get all(): readonly ConfigurationAt[] {
    return this.list;
  }

  /** Records entry `e` if it is a configuration entry; entries come in increasing index order. */
  observe(e: Entry): void {
    const m = configurationOf(e);
    if (m === null) return;
    const last = this.list[this.list.length - 1];
    check(last === undefined || e.index > last.index, () => `configuration entry ${e.index} is not after the one at ${last!.index}`);
    this.list.push({ index: e.index, membership: m });
  }

  /** Forgets configuration entries at or after `index` (the log was cut there). */
  truncateFrom(index: number): void {
    while (this.list.length > 0 && this.list[this.list.length - 1]!.index >= index) this.list.pop();
  }

  /** The configuration in effect at `index` as far as these entries tell: the last at or before it (null when none is). */
  lastThrough(index: number): Membership | null {
    for (let k = this.list.length - 1; k >= 0; k--) if (this.list[k]!.index <= index) return this.list[k]!.membership;
    return null;
  }

  /** Forgets configuration entries at or before `index` (the log start moved there; see lastThrough). */
  dropThrough(index: number): void {
    let n = 0;
    while (n < this.list.length && this.list[n]!.index <= index) n++;
    if (n > 0) this.list = this.list.slice(n);
  }

  reset(list: ConfigurationAt[]): void {
    this.list = list;
  }

  /** The file's body: what `save` writes. */
  encode(coversThrough: number): Buffer {
    const encoded = this.list.map((c) => encodeMembership(c.membership));
    let bytes = 8;
    for (const m of encoded) bytes += ITEM_HEADER_BYTES + m.byteLength;
    const body = Buffer.alloc(bytes);
    writeU64(body, 0, coversThrough);
    let at = 8;
    this.list.forEach((c, i) => {
      const m = encoded[i]!;
      writeU64(body, at, c.index);
      body.writeUInt32BE(m.byteLength, at + 8);
      body.set(m, at + ITEM_HEADER_BYTES);
      at += ITEM_HEADER_BYTES + m.byteLength;
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

  /** The saved configuration entries and how far they reach, or null if the file is missing or damaged. */
  static load(fs: FileSystem, file: string): { configurations: ConfigurationAt[]; coversThrough: number } | null {
    const body = readDerivedFile(file, MAGIC, fs);
    if (body === null || body.byteLength < 8) return null;
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const configurations: ConfigurationAt[] = [];
    let at = 8;
    while (at < buf.length) {
      if (at + ITEM_HEADER_BYTES > buf.length) return null;
      const index = readU64(buf, at);
      const len = buf.readUInt32BE(at + 8);
      const end = at + ITEM_HEADER_BYTES + len;
      if (end > buf.length) return null;
      const membership = membershipOf(buf.subarray(at + ITEM_HEADER_BYTES, end));
      const prev = configurations[configurations.length - 1];
      if (membership === null || (prev !== undefined && index <= prev.index)) return null;
      configurations.push({ index, membership });
      at = end;
    }
    return { configurations, coversThrough: readU64(buf, 0) };
  }
}
