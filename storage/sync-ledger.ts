/**
 * `synced`: how far each Raft group's log on this node is known to have been durable, for the
 * whole node in one file. A log that on start ends before its mark lost entries it had synced,
 * and so may have acknowledged: its replica is damaged, not merely torn at an unsynced tail, and
 * rejoins as a learner (raft/rejoin.ts, src/host/replica-trust.ts). Without the mark, recovery
 * cannot tell a synced frame damaged later (a bit flip, a cut file) from a write a crash tore,
 * and cutting it silently can lose an acknowledged write (the NATS 2.12.1 Jepsen finding).
 *
 * Format: slots of 64 bytes, one per group, each rewritten in place:
 *
 *     offset  bytes  field
 *     0       4      CRC-32C of bytes 4..63
 *     4       8      Raft index: every entry up to it was durable (u64, big-endian)
 *     12      8      the term of that entry (u64)
 *     20      1      length n of the group id (0: a free slot)
 *     21      n      the group id, UTF-8, at most 43 bytes; zeros after it
 *
 * A slot lies within one 512-byte sector, so a crash leaves it whole (old or new); one that fails
 * its checksum all the same is read as no mark (the log is then trusted as it is).
 *
 * When marks are written: after a round of log syncs the host records each synced log's end and
 * waits for `durable()` before it sends the round's acknowledgements or counts its own entries
 * (group-host.ts): an entry is acknowledged only once a mark covering it is on disk, so a disk
 * that later loses the synced end of a log is always caught on the next start. One write and one
 * fdatasync carry every group's new marks (group commit); while one is in flight the marks
 * recorded meanwhile wait for the next. A mark is written only after its log's sync, so it never
 * claims more than the log has on disk. (Before, marks were written in the background at most
 * once per 20 ms, off the acknowledgement path, and what was synced in that window could be lost
 * undetectably.)
 *
 * So an acknowledgement costs two syncs one after the other, the log's then the ledger's, and no
 * other order can do with one: what a power loss leaves on disk in the middle of a log's sync can be
 * exactly what a synced, acknowledged tail cut later leaves, unless a write made after that sync
 * completed (and durable before the acknowledgement) tells them apart. A mark written beside or
 * ahead of the log's sync can reach the disk first, and every replica of a group that lost power
 * together then takes itself for damaged, votes for none, and the group stops for good
 * (test/host/group-host.test.ts); one made durable after the acknowledgement reopens the window.
 *
 * A mark must come down before its log loses entries on purpose (a follower replacing a
 * conflicting suffix, a snapshot replacing the log): `lower` writes and syncs at once, after any
 * write in flight.
 *
 * Only the default sync mode keeps marks: in the relaxed `--sync interval` mode a node
 * acknowledges before it syncs, so a crash can cost what it acknowledged by design; a replica
 * that finds out (its leader names a commit beyond its log) rejoins all the same (raft/rejoin.ts).
 */
import path from 'node:path';
import { fsyncDir } from './atomic-file.js';
import { systemClock, type Clock } from './clock.js';
import { crc32c } from '../src/wire/crc32c.js';
import { check } from './errors.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import { readU64, writeU64 } from './frame.js';

const SLOT_BYTES = 64;
const ID_BYTES_MAX = SLOT_BYTES - 21;
export const SYNC_LEDGER_FILE = 'synced';


export interface SyncMark {
  readonly index: number;
  readonly term: number;
}

/** A caller of durable(): settled once the marks recorded before it (up to `recorded`) are on disk. */
interface Waiter {
  readonly recorded: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  readonly at: number;
  mark: SyncMark;
  /** The mark as last written to the file. */
  written: SyncMark | null;
}

export class SyncLedger {
  private readonly slots = new Map<string, Slot>();
  private readonly free: number[] = [];
  private size = 0;
  private readonly dirty = new Set<string>();
  /** Marks recorded so far (a count), and how many of them the last completed write covered. */
  private recorded = 0;
  private covered = 0;
  private waiters: Waiter[] = [];
  /** The write loop, while it runs. */
  private writing: Promise<void> | null = null;
  private closed = false;
  /** Why the last write of the marks failed (null: it did not, or a later one succeeded). */
  problem: string | null = null;

  private constructor(private readonly fs: FileSystem, private readonly clock: Clock, private readonly fd: number, readonly file: string) {}

  /** Opens (creating if needed) the ledger in `dir` and reads every mark. */
  static open(dir: string, fs: FileSystem = nodeFileSystem, clock: Clock = systemClock): SyncLedger {
    const file = path.join(dir, SYNC_LEDGER_FILE);
    const existed = fs.existsSync(file);
    const fd = fs.openSync(file, existed ? 'r+' : 'w+');
    // A new ledger's name is durable before any mark is trusted to be in it.
    if (!existed) fsyncDir(dir, fs);
    const ledger = new SyncLedger(fs, clock, fd, file);
    const buf = fs.readFileSync(file);
    ledger.size = buf.length - (buf.length % SLOT_BYTES);
    for (let at = 0; at < ledger.size; at += SLOT_BYTES) {
      const read = readSlot(buf, at);
      if (read === null) ledger.free.push(at);
      else ledger.slots.set(read.group, { at, mark: read.mark, written: read.mark });
    }
    return ledger;
  }

  /** The mark of `group`'s log, or null if it has none. */
  mark(group: string): SyncMark | null {
    return this.slots.get(group)?.mark ?? null;
  }

  /**
   * `group`'s log was durable up to `mark` after the sync that just completed. Written with the
   * next durable(), or at the end of this turn of the event loop if no one asks.
   */
  record(group: string, mark: SyncMark): void {
    const slot = this.slot(group, mark);
    if (slot.mark.index === mark.index && slot.mark.term === mark.term && slot.written !== null) return;
    slot.mark = mark;
    this.dirty.add(group);
    this.recorded++;
    if (this.writing === null && !this.closed) this.clock.soon(() => this.startWriting());
  }

  /**
   * Resolves once every mark recorded before the call is on disk (written and fdatasynced); rejects
   * if writing them failed (they stay pending, and are tried again with the next write).
   */
  durable(): Promise<void> {
    this.coverForgotten();
    if (this.covered >= this.recorded) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error(`the sync ledger ${this.file} is closed`));
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ recorded: this.recorded, resolve, reject }));
    this.startWriting();
    return done;
  }

  /**
   * `group`'s log is about to lose its entries after `mark` (a conflicting suffix, a snapshot):
   * the mark comes down first, durably.
   */
  async lower(group: string, mark: SyncMark): Promise<void> {
    const slot = this.slots.get(group);
    if (slot === undefined || slot.mark.index <= mark.index) return;
    while (this.writing !== null) await this.writing;
    slot.mark = mark;
    this.writeSlot(group, slot);
    this.fs.fdatasyncSync(this.fd);
  }

  /**
   * With nothing dirty and no write in flight, every mark recorded is on disk or was forgotten
   * (forget drops a pending mark): none is left to wait for. Without this, a replica deleted
   * between its mark's record and the write left that mark counted but never written, and every
   * durable() after it waited for good (the host simulation found a node whose groups all stopped).
   */
  private coverForgotten(): void {
    if (this.writing === null && this.dirty.size === 0 && this.covered < this.recorded) {
      this.covered = this.recorded;
      this.settle(null);
    }
  }

  /** The group's replica is gone (a deleted topic, a replica started over): its slot is freed. */
  forget(group: string): void {
    const slot = this.slots.get(group);
    if (slot === undefined) return;
    this.slots.delete(group);
    this.dirty.delete(group);
    this.fs.writeSync(this.fd, Buffer.alloc(SLOT_BYTES), 0, SLOT_BYTES, slot.at);
    this.free.push(slot.at);
  }

  /** Writes what is pending and closes the file. */
  async close(): Promise<void> {
    while (this.writing !== null) await this.writing;
    this.closed = true;
    for (const group of this.dirty) this.writeSlot(group, this.slots.get(group)!);
    this.dirty.clear();
    this.fs.fdatasyncSync(this.fd);
    this.fs.closeSync(this.fd);
    this.covered = this.recorded;
    this.settle(null);
  }

  private slot(group: string, mark: SyncMark): Slot {
    let slot = this.slots.get(group);
    if (slot === undefined) {
      check(Buffer.byteLength(group) <= ID_BYTES_MAX, () => `group id '${group}' is longer than the ${ID_BYTES_MAX} bytes of a ledger slot`);
      const at = this.free.pop() ?? this.grow();
      slot = { at, mark, written: null };
      this.slots.set(group, slot);
    }
    return slot;
  }

  private grow(): number {
    const at = this.size;
    this.size += SLOT_BYTES;
    return at;
  }

  private startWriting(): void {
    if (this.writing !== null || this.closed || this.dirty.size === 0) return;
    this.writing = this.writeLoop().finally(() => {
      this.writing = null;
      // A mark forgotten while the loop wrote leaves nothing dirty but was counted.
      this.coverForgotten();
    });
  }

  /** Writes the dirty marks, one write per slot and one fdatasync for all, until none is left. */
  private async writeLoop(): Promise<void> {
    while (this.dirty.size > 0 && !this.closed) {
      const upTo = this.recorded;
      const groups = [...this.dirty];
      this.dirty.clear();
      try {
        // The slots go to the page cache at once (64 bytes each: cheaper than a trip to the
        // threadpool per group, on the acknowledgement path), then one fdatasync for all.
        const written: [Slot, SyncMark][] = [];
        for (const group of groups) {
          const slot = this.slots.get(group);
          if (slot === undefined) continue;
          this.fs.writeSync(this.fd, encodeSlot(group, slot.mark), 0, SLOT_BYTES, slot.at);
          written.push([slot, slot.mark]);
        }
        await this.fs.fdatasync(this.fd);
        for (const [slot, mark] of written) slot.written = mark;
        this.covered = Math.max(this.covered, upTo);
        this.problem = null;
        this.settle(null);
      } catch (err) {
        // A mark not written leaves the older one: a restart then checks the log against less
        // than it holds, which is safe; but what it was to cover cannot be acknowledged yet, so
        // every waiter is told. The marks are tried again with the next write.
        for (const group of groups) if (this.slots.has(group)) this.dirty.add(group);
        this.problem = `writing ${this.file} failed: ${(err as Error).message}`;
        this.settle(new Error(this.problem));
        return;
      }
    }
  }

  /** Resolves the waiters the marks on disk now cover; with `err`, rejects every waiter. */
  private settle(err: Error | null): void {
    const left: Waiter[] = [];
    for (const w of this.waiters) {
      if (err !== null) w.reject(err);
      else if (w.recorded <= this.covered) w.resolve();
      else left.push(w);
    }
    this.waiters = left;
  }

  private writeSlot(group: string, slot: Slot): void {
    this.fs.writeSync(this.fd, encodeSlot(group, slot.mark), 0, SLOT_BYTES, slot.at);
    slot.written = slot.mark;
  }
}

/** The marks a ledger file's bytes hold, by group (a slot that fails its checksum holds none). */
export function readMarks(buf: Uint8Array): Map<string, SyncMark> {
  const marks = new Map<string, SyncMark>();
  for (let at = 0; at + SLOT_BYTES <= buf.length; at += SLOT_BYTES) {
    const read = readSlot(buf, at);
    if (read !== null) marks.set(read.group, read.mark);
  }
  return marks;
}

function readSlot(buf: Uint8Array, at: number): { group: string; mark: SyncMark } | null {
  const slot = Buffer.from(buf.buffer, buf.byteOffset + at, SLOT_BYTES);
  const idLen = slot[20]!;
  if (idLen === 0 || idLen > ID_BYTES_MAX || crc32c(slot, 4, SLOT_BYTES) !== slot.readUInt32BE(0)) return null;
  return { group: slot.subarray(21, 21 + idLen).toString('utf8'), mark: { index: readU64(slot, 4), term: readU64(slot, 12) } };
}

function encodeSlot(group: string, mark: SyncMark): Buffer {
  const b = Buffer.alloc(SLOT_BYTES);
  writeU64(b, 4, mark.index);
  writeU64(b, 12, mark.term);
  const id = Buffer.from(group, 'utf8');
  b[20] = id.length;
  id.copy(b, 21);
  b.writeUInt32BE(crc32c(b, 4, SLOT_BYTES), 0);
  return b;
}
