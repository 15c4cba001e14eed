/**
 * Catch-up by files (DESIGN.md §9, issue 20): how a node streams a partition's log to a replica far
 * behind, and how it takes one in. One mechanism for every snapshot of a partition: the Raft core
 * decides THAT a follower starts over (raft/leader.ts: it needs entries before the log start, or
 * more than `snapshotColdBytesMin` of committed entries that are in cold files) and hands out a
 * snapshot message whose index is at most its commit index; the host does not send that message
 * but streams what it stands for, the log start and every entry after it up to its index, as the
 * leader's files hold them, and reports back to the core (Raft.reportSnapshot: 'sending', then
 * 'finished' or 'failed', as etcd's ReportSnapshot). A snapshot at the log start itself is the old
 * log-start snapshot: a transfer of no chunks. The metadata group's snapshots (its state) still
 * go as messages (group-host.ts).
 *
 * The exchange, per transfer (`id` names it; one at a time per group and follower):
 *
 *     leader → follower  begin  {group, id, snapshot message}
 *     leader → follower  chunk  {group, id, seq, bytes}     whole frames (storage/log-transfer.ts)
 *     leader → follower  end    {group, id, chunks}
 *     follower → leader  ack    {group, id, seq}             one per chunk: the window moves on
 *     follower → leader  done   {group, id}                  installed, or the core declined it
 *     either way         abort  {group, id, why}
 *
 * Leader: the chunks are read off the event loop (FileSystem.read), at most CHUNK_BYTES each (or
 * one frame), at most CHUNKS_IN_FLIGHT_MAX unacknowledged, each after taking its bytes from the
 * node's RecoveryThrottle (recovery-throttle.ts, `--recovery-bytes-per-sec`, shared by every
 * group). A chunk is far below the peer frame limit, and heartbeats go around it on the same
 * connection, so a transfer never stalls the group. It gives up when it stops leading the group in
 * the snapshot's term, when the follower's connection closes, or when nothing comes back for
 * `idleMs`; the core then probes the follower again (and may send a new snapshot).
 *
 * Follower: stages the log in `<log>.incoming` as a SegmentLog of its own (storage/log-install.ts):
 * each chunk's frames are verified (checksums, `ChunkFrames`) and must follow the last, offsets
 * must stay dense (SegmentLog.append checks); at `end`, the staged log must end exactly at the
 * snapshot's index and term. It is synced and closed, and the snapshot message is then stepped into
 * the group's core, which decides (a stale term, or a log that already holds the snapshot's last
 * entry, is declined; the staging goes). A snapshot the core takes is installed when its Ready is
 * persisted (raft-group.ts, Partition.restore → SegmentLog.install: an atomic swap; the sync ledger
 * and hard state stay consistent, see there). A transfer abandoned (a gap, a bad frame, a newer
 * one, the leader gone or silent, the group closed) has its staging removed; a crash leaves one
 * that the next open removes.
 *
 * Why files and not appends: appends carry at most appendBytesMax per round trip through the
 * core, and a leader would read every cold entry on its event loop (storage reads were
 * synchronous); files go at the disk's and the throttle's pace, off the loop, and the core only
 * sees the start and the end. Followers a little behind the tail cache still get appends, from a
 * window read ahead off the loop (SegmentLog.readAhead). What is left: a follower whose log matches
 * a long prefix still gets the whole log (no partial transfer from its match on yet).
 */
import type { NodeId, SnapshotRequest } from '../../raft/types.js';
import type { Clock, Timer } from '../../storage/clock.js';
import type { FileSystem } from '../../storage/file-system.js';
import { dropStaged, stagingDir, TransferError, VERIFY_FRAMES, type ChunkFrames } from '../../storage/log-install.js';
import { LogFileReader } from '../../storage/log-transfer.js';
import { SegmentLog, decodeSnapshotStart } from '../../storage/segment-log.js';
import { CorruptLogError } from '../../storage/errors.js';
import type { Logger } from '../log.js';
import type { GroupHost } from './group-host.js';
import type { RaftGroup } from './raft-group.js';
import { RecoveryThrottle } from './recovery-throttle.js';

/** Bytes of frames in one chunk (a frame larger than this makes a chunk of its own). */
export const CHUNK_BYTES = 1024 * 1024;
/** The smallest chunk a throttled node sends (a frame larger than it still makes a chunk of its own). */
export const CHUNK_BYTES_MIN = 4096;
/** Chunks sent and not yet acknowledged, per transfer. */
export const CHUNKS_IN_FLIGHT_MAX = 4;
/** A transfer with nothing heard from the other side for this long is abandoned. */
export const TRANSFER_IDLE_MS = 10_000;
/** How often transfers are checked for silence and for a leader that no longer leads. */
const CHECK_EVERY_MS = 500;

export type RecoveryMessage =
  | { readonly k: 'begin'; readonly group: string; readonly id: string; readonly snapshot: SnapshotRequest }
  | { readonly k: 'chunk'; readonly group: string; readonly id: string; readonly seq: number; readonly bytes: Uint8Array }
  | { readonly k: 'end'; readonly group: string; readonly id: string; readonly chunks: number }
  | { readonly k: 'ack'; readonly group: string; readonly id: string; readonly seq: number }
  | { readonly k: 'done'; readonly group: string; readonly id: string }
  | { readonly k: 'abort'; readonly group: string; readonly id: string; readonly why: string };

/** What a follower checks of the staged log at the end. Every node runs CHECK_THE_END; the simulator's installUnverified mutant does not. */
export interface TransferChecks {
  readonly frames: ChunkFrames;
  /** Null when the staged log is what the snapshot says; else what is wrong. */
  end(staged: SegmentLog, snapshot: SnapshotRequest['snapshot'], startIndex: number): string | null;
}

export const CHECK_THE_END: TransferChecks = Object.freeze({
  frames: VERIFY_FRAMES,
  end(staged: SegmentLog, s: SnapshotRequest['snapshot'], startIndex: number): string | null {
    if (staged.firstIndex() !== startIndex + 1) return `the staged log starts at ${staged.firstIndex()}, not after the log start ${startIndex}`;
    if (staged.lastIndex() !== s.index) return `the staged log ends at ${staged.lastIndex()}, not at the snapshot's index ${s.index}`;
    if (staged.term(s.index) !== s.term) return `the staged log's last entry is of term ${staged.term(s.index)}, not the snapshot's ${s.term}`;
    return null;
  },
});

export interface LogRecoveryOptions {
  readonly self: NodeId;
  readonly host: GroupHost;
  readonly fs: FileSystem;
  readonly clock: Clock;
  /** Sends a message to a peer (dropped if it is not connected: the transfer then times out). */
  readonly send: (to: NodeId, m: RecoveryMessage) => void;
  /** `--recovery-bytes-per-sec`; 0: unlimited. */
  readonly bytesPerSec: number;
  readonly idleMs?: number;
  readonly chunkBytes?: number;
  /** Default CHECK_THE_END; anything else only in the simulator. */
  readonly checks?: TransferChecks;
  readonly logger: Logger;
}

export interface RecoveryStats {
  bytesSent: number;
  bytesReceived: number;
  /** Transfers this node started as leader, and those the follower reported done. */
  sendsStarted: number;
  sendsFinished: number;
  sendsFailed: number;
  /** Transfers this node received whole and handed to its core, those the core took (installed with its next Ready), and those abandoned. */
  receivesCompleted: number;
  installs: number;
  receivesFailed: number;
}

/** A transfer in progress, for /status. */
export interface TransferStatus {
  readonly group: string;
  readonly peer: NodeId;
  readonly direction: 'sending' | 'receiving';
  readonly index: number;
  readonly bytes: number;
  readonly ms: number;
}

interface Outgoing {
  readonly group: string;
  readonly to: NodeId;
  readonly id: string;
  readonly m: SnapshotRequest;
  readonly reader: LogFileReader;
  readonly startedAt: number;
  sent: number;
  acked: number;
  bytes: number;
  endSent: boolean;
  pumping: boolean;
  closed: boolean;
  heardAt: number;
}

interface Incoming {
  readonly group: string;
  readonly from: NodeId;
  readonly id: string;
  readonly m: SnapshotRequest;
  readonly startIndex: number;
  readonly logDir: string;
  readonly staged: SegmentLog;
  readonly startedAt: number;
  seq: number;
  bytes: number;
  heardAt: number;
  ending: boolean;
}

export class LogRecovery {
  readonly stats: RecoveryStats = { bytesSent: 0, bytesReceived: 0, sendsStarted: 0, sendsFinished: 0, sendsFailed: 0, receivesCompleted: 0, installs: 0, receivesFailed: 0 };
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly incoming = new Map<string, Incoming>();
  private readonly throttle: RecoveryThrottle;
  private readonly idleMs: number;
  private readonly chunkBytes: number;
  private readonly checks: TransferChecks;
  private timer: Timer | null = null;
  private nextId = 0;

  constructor(private readonly o: LogRecoveryOptions) {
    this.idleMs = o.idleMs ?? TRANSFER_IDLE_MS;
    // At a low rate, smaller chunks: one at least every second or so, so that the follower, which
    // knows nothing of this node's throttle, does not take a slow transfer for a silent one.
    const chunk = o.chunkBytes ?? CHUNK_BYTES;
    this.chunkBytes = o.bytesPerSec > 0 ? Math.min(chunk, Math.max(CHUNK_BYTES_MIN, o.bytesPerSec)) : chunk;
    this.checks = o.checks ?? CHECK_THE_END;
    this.throttle = new RecoveryThrottle(o.clock, o.bytesPerSec, this.chunkBytes);
  }

  start(): void {
    this.timer = this.o.clock.every(CHECK_EVERY_MS, () => this.check());
  }

  /** Abandons every transfer (the node stops). */
  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    for (const t of [...this.outgoing.values()]) this.closeOutgoing(t, 'the node is stopping', false);
    for (const t of [...this.incoming.values()]) this.closeIncoming(t, 'the node is stopping', false);
  }

  transfers(): TransferStatus[] {
    const now = this.o.clock.elapsed();
    const out: TransferStatus[] = [];
    for (const t of this.outgoing.values()) out.push({ group: t.group, peer: t.to, direction: 'sending', index: t.m.snapshot.index, bytes: t.bytes, ms: Math.round(now - t.startedAt) });
    for (const t of this.incoming.values()) out.push({ group: t.group, peer: t.from, direction: 'receiving', index: t.m.snapshot.index, bytes: t.bytes, ms: Math.round(now - t.startedAt) });
    return out;
  }

  // -----------------------------------------------------------------------------------------------
  // Leader

  /** The core of `g` (which leads) handed out snapshot message `m`: stream it instead of sending it. */
  send(g: RaftGroup, m: SnapshotRequest): void {
    const key = `${g.id}>${m.to}`;
    const old = this.outgoing.get(key);
    if (old !== undefined) this.closeOutgoing(old, 'a newer snapshot replaces it', true);
    const start = decodeSnapshotStart(m.snapshot);
    let reader: LogFileReader;
    try {
      const files = m.snapshot.index > start.index ? g.log.openFiles(m.snapshot.index) : [];
      reader = new LogFileReader(this.o.fs, files, start.index + 1, m.snapshot.index, g.log.frameBytesMax);
    } catch (err) {
      this.o.logger.warn({ group: g.id, peer: m.to, err: (err as Error).message }, `could not open ${g.id}'s files to send ${m.to}: ${(err as Error).message}`);
      g.raft.reportSnapshot(m.to, m.snapshot.index, 'failed');
      g.wake();
      return;
    }
    const now = this.o.clock.elapsed();
    const t: Outgoing = { group: g.id, to: m.to, id: `${this.o.self}:${m.term}:${m.snapshot.index}:${this.nextId++}`, m, reader, startedAt: now, sent: 0, acked: 0, bytes: 0, endSent: false, pumping: false, closed: false, heardAt: now };
    this.outgoing.set(key, t);
    this.stats.sendsStarted++;
    g.raft.reportSnapshot(m.to, m.snapshot.index, 'sending');
    this.o.logger.info({ group: g.id, peer: m.to, start: start.index, index: m.snapshot.index }, `${g.id}: sending ${m.to} the log from index ${start.index + 1} to ${m.snapshot.index} as files`);
    this.o.send(m.to, { k: 'begin', group: g.id, id: t.id, snapshot: m });
    void this.pump(t);
  }

  private leading(t: Outgoing): RaftGroup | null {
    const g = this.o.host.get(t.group);
    if (g === undefined || g.failed !== null || g.raft.role !== 'leader' || g.raft.term !== t.m.term) return null;
    return g;
  }

  private async pump(t: Outgoing): Promise<void> {
    if (t.pumping) return;
    t.pumping = true;
    try {
      while (!t.closed && !t.endSent && t.sent - t.acked < CHUNKS_IN_FLIGHT_MAX) {
        if (this.leading(t) === null) {
          this.closeOutgoing(t, 'this node no longer leads the group in that term', false);
          return;
        }
        const c = await t.reader.read(this.chunkBytes);
        if (t.closed) return;
        if (c === null) {
          t.endSent = true;
          this.o.send(t.to, { k: 'end', group: t.group, id: t.id, chunks: t.sent });
          return;
        }
        await this.throttle.take(c.bytes.byteLength);
        if (t.closed) return;
        // Silence counts from the first chunk in flight: waiting on the throttle is not the follower's.
        if (t.sent === t.acked) t.heardAt = this.o.clock.elapsed();
        this.o.send(t.to, { k: 'chunk', group: t.group, id: t.id, seq: t.sent++, bytes: c.bytes });
        t.bytes += c.bytes.byteLength;
        this.stats.bytesSent += c.bytes.byteLength;
      }
    } catch (err) {
      if (t.closed) return;
      this.closeOutgoing(t, `reading the log failed: ${(err as Error).message}`, true);
      // A damaged segment stops the group, as any read of it does (the node repairs it).
      if (err instanceof CorruptLogError) this.o.host.get(t.group)?.fail(err);
    } finally {
      t.pumping = false;
    }
  }

  /** Ends a transfer this node sends; `tell`: the follower is told to drop what it staged. */
  private closeOutgoing(t: Outgoing, why: string, tell: boolean, finished = false): void {
    if (t.closed) return;
    t.closed = true;
    t.reader.close();
    this.outgoing.delete(`${t.group}>${t.to}`);
    if (tell) this.o.send(t.to, { k: 'abort', group: t.group, id: t.id, why });
    if (finished) this.stats.sendsFinished++;
    else this.stats.sendsFailed++;
    if (!finished) this.o.logger.info({ group: t.group, peer: t.to, why }, `${t.group}: the transfer of its log to ${t.to} stopped: ${why}`);
    const g = this.leading(t) ?? this.o.host.get(t.group);
    if (g !== undefined && g.failed === null) {
      g.raft.reportSnapshot(t.to, t.m.snapshot.index, finished ? 'finished' : 'failed');
      g.wake();
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Messages

  receive(from: NodeId, m: RecoveryMessage): void {
    switch (m.k) {
      case 'begin':
        this.begin(from, m.group, m.id, m.snapshot);
        return;
      case 'chunk':
        this.chunk(from, m.group, m.id, m.seq, m.bytes);
        return;
      case 'end':
        void this.end(from, m.group, m.id, m.chunks);
        return;
      case 'ack':
      case 'done': {
        const t = this.outgoing.get(`${m.group}>${from}`);
        if (t === undefined || t.id !== m.id) return;
        t.heardAt = this.o.clock.elapsed();
        if (m.k === 'done') {
          this.o.logger.info({ group: t.group, peer: t.to, bytes: t.bytes }, `${t.group}: ${t.to} has the log up to ${t.m.snapshot.index} (${t.bytes} bytes sent)`);
          this.closeOutgoing(t, 'done', false, true);
          return;
        }
        t.acked = Math.max(t.acked, m.seq + 1);
        void this.pump(t);
        return;
      }
      case 'abort': {
        const t = this.outgoing.get(`${m.group}>${from}`);
        if (t !== undefined && t.id === m.id) this.closeOutgoing(t, `${from} gave up: ${m.why}`, false);
        const r = this.incoming.get(m.group);
        if (r !== undefined && r.id === m.id) this.closeIncoming(r, `the leader gave up: ${m.why}`, false);
        return;
      }
      default:
        assertNever(m);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Follower

  private begin(from: NodeId, group: string, id: string, m: SnapshotRequest): void {
    const old = this.incoming.get(group);
    if (old?.id === id) return;
    if (old !== undefined) this.closeIncoming(old, 'a newer transfer replaces it', false);
    const g = this.o.host.get(group);
    if (g === undefined || g.failed !== null || m.to !== this.o.self) {
      this.o.send(from, { k: 'abort', group, id, why: `${this.o.self} does not hold a running replica of ${group}` });
      return;
    }
    if (g.hasStaged()) {
      // The last one is taken and waits for its Ready: its staging is not to be touched.
      this.o.send(from, { k: 'abort', group, id, why: `${this.o.self} is installing the log of an earlier transfer` });
      return;
    }
    const logDir = g.log.options.dir;
    let staged: SegmentLog;
    let startIndex: number;
    try {
      const start = decodeSnapshotStart(m.snapshot);
      startIndex = start.index;
      dropStaged(this.o.fs, logDir);
      staged = SegmentLog.open({ ...g.log.options, dir: stagingDir(logDir), repair: false, verifyAll: false });
      staged.resetTo(start.index, start.term, start.offset, start.membership ?? undefined);
    } catch (err) {
      this.o.send(from, { k: 'abort', group, id, why: `staging failed on ${this.o.self}: ${(err as Error).message}` });
      return;
    }
    const now = this.o.clock.elapsed();
    this.incoming.set(group, { group, from, id, m, startIndex, logDir, staged, startedAt: now, seq: 0, bytes: 0, heardAt: now, ending: false });
  }

  private chunk(from: NodeId, group: string, id: string, seq: number, bytes: Uint8Array): void {
    const r = this.incoming.get(group);
    if (r === undefined || r.id !== id || r.from !== from || r.ending) {
      this.o.send(from, { k: 'abort', group, id, why: `${this.o.self} is not receiving that transfer` });
      return;
    }
    r.heardAt = this.o.clock.elapsed();
    try {
      if (seq !== r.seq) throw new TransferError(`chunk ${seq} came where chunk ${r.seq} belongs`);
      const entries = this.checks.frames.entries(bytes, r.staged.frameBytesMax);
      const first = entries[0];
      if (first === undefined) throw new TransferError(`chunk ${seq} holds no frame`);
      if (first.index !== r.staged.lastIndex() + 1) throw new TransferError(`chunk ${seq} starts at index ${first.index}, after ${r.staged.lastIndex()}`);
      if (entries[entries.length - 1]!.index > r.m.snapshot.index) throw new TransferError(`chunk ${seq} reaches past the snapshot's index ${r.m.snapshot.index}`);
      r.staged.append(entries);
    } catch (err) {
      this.closeIncoming(r, (err as Error).message, true);
      return;
    }
    r.seq++;
    r.bytes += bytes.byteLength;
    this.stats.bytesReceived += bytes.byteLength;
    this.o.send(from, { k: 'ack', group, id, seq });
  }

  private async end(from: NodeId, group: string, id: string, chunks: number): Promise<void> {
    const r = this.incoming.get(group);
    if (r === undefined || r.id !== id || r.from !== from || r.ending) return;
    r.ending = true;
    r.heardAt = this.o.clock.elapsed();
    const s = r.m.snapshot;
    try {
      if (chunks !== r.seq) throw new TransferError(`the leader sent ${chunks} chunks, ${r.seq} came`);
      const wrong = this.checks.end(r.staged, s, r.startIndex);
      if (wrong !== null) throw new TransferError(wrong);
      await r.staged.sync();
      r.staged.close();
    } catch (err) {
      this.closeIncoming(r, (err as Error).message, true);
      return;
    }
    if (this.incoming.get(group) !== r) return;
    this.incoming.delete(group);
    const g = this.o.host.get(group);
    if (g === undefined || g.failed !== null || g.log.options.dir !== r.logDir) {
      dropStaged(this.o.fs, r.logDir);
      this.stats.receivesFailed++;
      this.o.send(from, { k: 'abort', group, id, why: `${this.o.self} no longer holds a running replica of ${group}` });
      return;
    }
    this.stats.receivesCompleted++;
    // The core decides; a snapshot it takes is installed from the staging when its Ready is
    // persisted (raft-group.ts). One it declines leaves the staging to be dropped, as does one
    // at the log start (it empties the log; nothing to install).
    const files = s.index > r.startIndex;
    g.stageSnapshot(files ? s : null);
    this.o.host.step(group, r.m);
    if (files && g.stagedTaken()) {
      this.stats.installs++;
    } else {
      g.stageSnapshot(null);
      dropStaged(this.o.fs, r.logDir);
    }
    this.o.send(from, { k: 'done', group, id });
  }

  /** Ends a transfer this node receives, its staging removed; `tell`: the leader is told why. */
  private closeIncoming(r: Incoming, why: string, tell: boolean): void {
    if (this.incoming.get(r.group) !== r) return;
    this.incoming.delete(r.group);
    this.stats.receivesFailed++;
    try {
      r.staged.close();
    } catch {
      // closed with its disk already
    }
    try {
      dropStaged(this.o.fs, r.logDir);
    } catch (err) {
      this.o.logger.warn({ group: r.group, err: (err as Error).message }, `could not remove ${stagingDir(r.logDir)}; the next open of the replica removes it`);
    }
    if (tell) this.o.send(r.from, { k: 'abort', group: r.group, id: r.id, why });
    this.o.logger.info({ group: r.group, peer: r.from, why }, `${r.group}: gave up the transfer of the log from ${r.from}: ${why}`);
  }

  // -----------------------------------------------------------------------------------------------
  // Ends

  /** The connection to `peer` closed: transfers with it are abandoned (the core tries again). */
  peerDown(peer: NodeId): void {
    for (const t of [...this.outgoing.values()]) if (t.to === peer) this.closeOutgoing(t, `the connection to ${peer} closed`, false);
    for (const r of [...this.incoming.values()]) if (r.from === peer) this.closeIncoming(r, `the connection to ${peer} closed`, false);
  }

  /** The group left this node's host (deleted, or reopened to repair it): its transfers end. */
  forget(group: string): void {
    for (const t of [...this.outgoing.values()]) if (t.group === group) this.closeOutgoing(t, 'the group left this node', true);
    const r = this.incoming.get(group);
    if (r !== undefined) this.closeIncoming(r, 'the group left this node', true);
  }

  private check(): void {
    const now = this.o.clock.elapsed();
    for (const t of [...this.outgoing.values()]) {
      if (this.leading(t) === null) this.closeOutgoing(t, 'this node no longer leads the group in that term', true);
      else if ((t.sent > t.acked || t.endSent) && now - t.heardAt > this.idleMs) this.closeOutgoing(t, `nothing heard from ${t.to} for ${this.idleMs} ms`, true);
    }
    for (const r of [...this.incoming.values()]) {
      if (!r.ending && now - r.heardAt > this.idleMs) this.closeIncoming(r, `nothing heard from ${r.from} for ${this.idleMs} ms`, true);
    }
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected recovery message ${JSON.stringify(x)}`);
}
