/**
 * What a leader knows about each follower's log, and how it paces appends to it.
 *
 * - Probe: the follower's position is unknown; send one append, then wait for its answer (or for a
 *   heartbeat response) before sending another.
 * - Replicate: the follower matched; stream appends optimistically, at most `appendsInFlightMax`
 *   messages and `inFlightBytesMax` bytes unacknowledged.
 * - Snapshot: the follower needs entries before the log start, or far more of the cold log than
 *   appends should carry (raft/storage.ts coldBytes); wait until it has installed the snapshot
 *   before probing again: until its answer, or the host's report (Raft.reportSnapshot) for a
 *   snapshot the host streams, or an election timeout for one sent as a message, which may be lost.
 */
import { assert } from './errors.js';
import type { NodeId } from './types.js';

export const ProgressState = { Probe: 'probe', Replicate: 'replicate', Snapshot: 'snapshot' } as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

/** A bounded FIFO of (last index, bytes) for append messages sent and not yet acknowledged. */
export class Inflights {
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(readonly countMax: number, readonly bytesMax: number) {}

  get count(): number {
    return this.indexes.length - this.head;
  }

  full(): boolean {
    return this.count >= this.countMax || this.bytes >= this.bytesMax;
  }

  add(lastIndex: number, bytes: number): void {
    assert(!this.full(), () => `inflights full: ${this.count} of ${this.countMax} messages, ${this.bytes} of ${this.bytesMax} bytes`);
    this.indexes.push(lastIndex);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every message whose last index is at or below `index`. */
  freeLE(index: number): void {
    while (this.head < this.indexes.length && this.indexes[this.head]! <= index) {
      this.bytes -= this.sizes[this.head]!;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.indexes.length) {
      this.indexes.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.head = 0;
    this.bytes = 0;
  }
}

export class Progress {
  /** The highest index known to match the leader's log. */
  match = 0;
  /** The next index to send. */
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** In Probe: an append was sent and no answer has come since. */
  probeSent = false;
  /** In Snapshot: the index of the snapshot sent, and ticks waited for it. */
  pendingSnapshot = 0;
  snapshotTicks = 0;
  /** In Snapshot: the host streams the snapshot and will report how it went, so it does not time out. */
  snapshotStreamed = false;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** The highest read round this peer confirmed (ReadIndex, §6.4). */
  readRoundAcked = 0;
  /**
   * The incarnation this peer rejoins under, from its answers (raft/rejoin.ts): while set, the
   * peer counts in no quorum. Null for a voter in good standing.
   */
  rejoin: string | null = null;
  /** The tick count when this peer's promotion was last proposed (-1: not this term). */
  promotedAtTick = -1;
  readonly inflights: Inflights;

  constructor(readonly id: NodeId, next: number, public isLearner: boolean, appendsInFlightMax: number, inFlightBytesMax: number) {
    this.next = next;
    this.inflights = new Inflights(appendsInFlightMax, inFlightBytesMax);
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    } else {
      this.next = this.match + 1;
    }
    this.reset(ProgressState.Probe);
  }

  becomeReplicate(): void {
    this.next = this.match + 1;
    this.reset(ProgressState.Replicate);
  }

  becomeSnapshot(index: number): void {
    this.reset(ProgressState.Snapshot);
    this.pendingSnapshot = index;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.snapshotStreamed = false;
    this.inflights.reset();
  }

  /** Nothing more may be sent until an answer comes. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
      default:
        return assertNever(this.state);
    }
  }

  /**
   * Removed from the configuration by an entry not yet committed: still sent the log (so it
   * learns of its removal and stops campaigning), never counted; forgotten once the removal is
   * committed (raft/membership.ts).
   */
  removed = false;
  /** A heartbeat told this removed member a commit index that covers its removal. */
  toldRemovalCommitted = false;
  /** Ticks since its removal committed (forgotten after an election timeout). */
  removedTicks = 0;

  /** Counts toward quorums: a voter, not rejoining, not removed. */
  counts(): boolean {
    return !this.isLearner && this.rejoin === null && !this.removed;
  }

  /**
   * The peer answered as a replica rejoining under `incarnation`, holding the log up to `match`
   * (0 when unknown): what it acknowledged before is void. Probe it from there.
   */
  becomeRejoining(incarnation: string, match: number, lastIndex: number): void {
    this.rejoin = incarnation;
    this.match = match;
    this.promotedAtTick = -1;
    this.readRoundAcked = 0;
    this.reset(ProgressState.Probe);
    this.next = match > 0 ? match + 1 : lastIndex + 1;
  }

  /** The follower acknowledged up to `index`; returns false if that is old news. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** An append was sent whose last entry is `lastIndex`. */
  sentEntries(lastIndex: number, count: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
  }
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${String(x)}`);
}
