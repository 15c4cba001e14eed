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
 * Marks lag: after a round of log syncs the host records each synced log's end, and the ledger
 * writes and fdatasyncs the new marks in the background (at most one write at a time, one
 * fdatasync for every group, at most one per FLUSH_GAP_MS), off the acknowledgement path. A mark
 * therefore never claims more than its log has on disk. What was synced in the last FLUSH_GAP_MS
 * before a crash may have no mark yet. (Without the gap the ledger's fdatasyncs, one per round
 * of log syncs, took a good part of the disk's and the threadpool's time away from the logs.) A mark must come down before its log loses entries on purpose
 * (a follower replacing a conflicting suffix, a snapshot replacing the log): `lower` writes and
 * syncs at once, after any write in flight.
 *
 * Only the default sync mode keeps marks: in the relaxed `--sync interval` mode a node
 * acknowledges before it syncs, so a crash can cost what it acknowledged by design; a replica
 * that finds out (its leader names a commit beyond its log) rejoins all the same (raft/rejoin.ts).
 */
import path from 'node:path';
import { fsyncDir } from './atomic-file.js';
import { sleep, systemClock, type Clock } from './clock.js';
import { crc32c } from '../src/wire/crc32c.js';
import { check } from './errors.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import { readU64, writeU64 } from './frame.js';

const SLOT_BYTES = 64;
/** The shortest time between two background writes of the ledger. */
export const FLUSH_GAP_MS = 20;
const ID_BYTES_MAX = SLOT_BYTES - 21;
export const SYNC_LEDGER_FILE = 'synced';


export interface SyncMark {
  readonly index: number;
  readonly term: number;
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
  private flushing: Promise<void> | null = null;
  private lastFlushAt = 0;
  private closed = false;
  /** Why the last background write of the marks failed (null: it did not, or a later one succeeded). */
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
      const slot = buf.subarray(at, at + SLOT_BYTES);
      const idLen = slot[20]!;
      if (idLen === 0 || idLen > ID_BYTES_MAX || crc32c(slot, 4, SLOT_BYTES) !== slot.readUInt32BE(0)) {
        ledger.free.push(at);
        continue;
      }
      const id = slot.subarray(21, 21 + idLen).toString('utf8');
      const mark = { index: readU64(slot, 4), term: readU64(slot, 12) };
      ledger.slots.set(id, { at, mark, written: mark });
    }
    return ledger;
  }

  /** Marks recorded but not yet durable (the window in which a disk that loses synced entries cannot be caught). */
  hasUnwrittenMarks(): boolean {
    return this.dirty.size > 0 || this.flushing !== null;
  }

  /** The mark of `group`'s log, or null if it has none. */
  mark(group: string): SyncMark | null {
    return this.slots.get(group)?.mark ?? null;
  }

  /** `group`'s log was durable up to `mark` after the sync that just completed; written soon. */
  record(group: string, mark: SyncMark): void {
    const slot = this.slot(group, mark);
    if (slot.mark.index === mark.index && slot.mark.term === mark.term && slot.written !== null) return;
    slot.mark = mark;
    this.dirty.add(group);
    if (this.flushing === null && !this.closed) this.flushing = this.flush();
  }

  /**
   * `group`'s log is about to lose its entries after `mark` (a conflicting suffix, a snapshot):
   * the mark comes down first, durably.
   */
  async lower(group: string, mark: SyncMark): Promise<void> {
    const slot = this.slots.get(group);
    if (slot === undefined || slot.mark.index <= mark.index) return;
    while (this.flushing !== null) await this.flushing;
    slot.mark = mark;
    this.writeSlot(group, slot);
    this.fs.fdatasyncSync(this.fd);
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
    while (this.flushing !== null) await this.flushing;
    this.closed = true;
    for (const group of this.dirty) this.writeSlot(group, this.slots.get(group)!);
    this.dirty.clear();
    this.fs.fdatasyncSync(this.fd);
    this.fs.closeSync(this.fd);
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

  private async flush(): Promise<void> {
    try {
      while (this.dirty.size > 0 && !this.closed) {
        const wait = this.lastFlushAt + FLUSH_GAP_MS - this.clock.now();
        if (wait > 0) await sleep(this.clock, wait);
        if (this.closed) break;
        this.lastFlushAt = this.clock.now();
        const groups = [...this.dirty];
        this.dirty.clear();
        try {
          const written: [Slot, SyncMark][] = [];
          for (const group of groups) {
            const slot = this.slots.get(group);
            if (slot === undefined) continue;
            await this.fs.write(this.fd, encodeSlot(group, slot.mark), 0, SLOT_BYTES, slot.at);
            written.push([slot, slot.mark]);
          }
          await this.fs.fdatasync(this.fd);
          for (const [slot, mark] of written) slot.written = mark;
          this.problem = null;
        } catch (err) {
          // A mark not written leaves the older one: a restart then checks the log against less
          // than it holds, which is safe. The marks are tried again with the next record().
          for (const group of groups) if (this.slots.has(group)) this.dirty.add(group);
          this.problem = `writing ${this.file} failed: ${(err as Error).message}`;
          break;
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  private writeSlot(group: string, slot: Slot): void {
    this.fs.writeSync(this.fd, encodeSlot(group, slot.mark), 0, SLOT_BYTES, slot.at);
    slot.written = slot.mark;
  }
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
