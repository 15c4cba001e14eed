/**
 * A partition replica: the state machine of one partition's Raft group.
 *
 * Produce (on the leader): verify the batch's CRC and size, check the producer's sequence, stamp
 * the next offset and the leader's term into the batch header (the CRC does not cover them),
 * propose it, and answer when the entry is committed (acks all), persisted here (acks leader) or at
 * once (acks none). The committed entry's term tells whether it was ours: if another leader's entry
 * took its index, the produce certainly failed.
 *
 * A leader serves only once it has applied an entry of its own term (its no-op): then everything
 * before its term is applied, the producer state is complete, and the log end offset is known.
 *
 * Fetch (on the leader): wait for a read point (host/read-waiters.ts: ReadIndex, or a commit of
 * this leader's made after the fetch arrived, whichever comes first), then read committed batches
 * from the segment log; long-poll when the offset is at the high watermark. The high watermark is
 * the offset after the last applied batch.
 *
 * Files beside the log: `producers` (the producer state at an applied index, so a restart does not
 * re-apply the whole log; producer-state.ts has its format), written in the background every
 * PRODUCERS_SNAPSHOT_EVERY batches, never inside apply.
 */
import path from 'node:path';
import { RaftError, RaftErrorCode } from '../../raft/errors.js';
import { EntryKind, Role, type Entry, type ReadState, type Snapshot, type SoftState } from '../../raft/types.js';
import { readFileChecked, writeFileAtomic, writeFileAtomicAsync } from '../../storage/atomic-file.js';
import { systemClock, type Clock } from '../../storage/clock.js';
import { CorruptLogError, OffsetOutOfRangeError } from '../../storage/errors.js';
import { nodeFileSystem, type FileSystem } from '../../storage/file-system.js';
import { records } from '../wire/record-batch/decode.js';
import {
  RecordBatchError,
  readBatchHeader,
  verifyBatch,
  writeBaseOffset,
  writePartitionLeaderEpoch,
} from '../wire/record-batch/header.js';
import { decodeSnapshotStart, type SegmentLog } from '../../storage/segment-log.js';
import { ErrorCode, type Acks, type OffsetSpec, type TopicConfig } from '../wire/protocol.js';
import { ProposalWaiters } from '../host/proposal-waiters.js';
import type { GroupStateMachine, RaftGroup } from '../host/raft-group.js';
import { ReadWaiters } from '../host/read-waiters.js';
import { ServerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { TopicRecord } from '../meta/commands.js';
import { ProducerState, type BatchSeq } from './producer-state.js';

/**
 * The rules a partition leader keeps where breaking one would break a guarantee that the chaos
 * checker holds the cluster to. Every node runs STRICT_PARTITION_POLICY; a weaker one is passed in
 * only by the chaos entry point (chaos/node-main.ts), to prove that the checker notices.
 */
export interface PartitionPolicy {
  /** What a produce with acks=all waits for: 'committed' (a majority has the batch) or 'persisted-here' (the leader alone has it). */
  readonly acksAll: 'committed' | 'persisted-here';
  /**
   * Who answers fetches and offset lookups: 'confirmed-leader' (a leader, once a quorum confirmed
   * that it still leads: reads are linearizable) or 'any-replica' (whatever this replica has applied).
   */
  readonly reads: 'confirmed-leader' | 'any-replica';
  /** Producer ids and sequence numbers: 'enforced' (a retried batch the leader has is not written again) or 'ignored'. */
  readonly idempotence: 'enforced' | 'ignored';
}

export const STRICT_PARTITION_POLICY: PartitionPolicy = Object.freeze({ acksAll: 'committed', reads: 'confirmed-leader', idempotence: 'enforced' });

interface InFlight extends BatchSeq {
  readonly index: number;
  readonly producerId: number;
}

const PRODUCERS_MAGIC = 0x524c5032; // "RLP2" (binary, producer-state.ts; "RLPS" files, msgpack, are rebuilt from the log)
/** A batch's base offset and length fields come before the bytes its length counts. */
const BATCH_LENGTH_PREFIX = 12;
/** Bytes of the log read per turn of the event loop to rebuild the producer state after installing a leader's log. */
const PRODUCER_REPLAY_BYTES_PER_TURN = 1024 * 1024;
/** Write the producer-state snapshot after this many applied batches. */
const PRODUCERS_SNAPSHOT_EVERY = 10_000;
/** Kafka's default producer.id.expiration.ms: a day. */
export const PRODUCER_ID_EXPIRATION_MS = 24 * 3600 * 1000;

export interface ReadResult {
  readonly batches: Uint8Array[];
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

export class Partition implements GroupStateMachine {
  group!: RaftGroup;
  /** The offset after the last applied batch: what consumers may read up to. */
  highWatermark = 0;
  appliedIndex = 0;
  private appliedTerm = 0;
  /** The next offset to assign, while this node leads and is ready; null otherwise. */
  private leo: number | null = null;
  private producers = new ProducerState();
  private readonly inFlight = new Map<number, InFlight[]>();
  /** Produce requests by the Raft index of their batch's entry: until it is applied (acks all), or stored here (acks leader). */
  private readonly awaitingCommit: ProposalWaiters;
  private readonly awaitingPersist: ProposalWaiters;
  private readonly hwWaiters = new Set<() => void>();
  private readonly reads = new ReadWaiters();
  private batchesSinceSnapshot = 0;
  private savingProducers = false;
  /**
   * After installing a leader's log (restore): the next index whose batch the producer state has
   * yet to take in, replayed from the log a slice per turn (replayProducers) up to what is applied.
   * Null when the producer state is whole. Meanwhile the replica does not serve as a leader.
   */
  private replayFrom: number | null = null;
  private closed = false;

  constructor(
    /** The topic as the metadata had it when the replica opened, with its config as it is now (reconfigure). */
    public topic: TopicRecord,
    readonly partition: number,
    readonly log: SegmentLog,
    readonly dir: string,
    private readonly logger: Logger,
    private readonly policy: PartitionPolicy = STRICT_PARTITION_POLICY,
    /** A producer id with no write for this long is forgotten (producer-state.ts). */
    private readonly producerIdExpirationMs: number = PRODUCER_ID_EXPIRATION_MS,
    /** Time and timers, and the disk (storage/clock.ts, storage/file-system.ts). */
    private readonly clock: Clock = systemClock,
    private readonly fs: FileSystem = nodeFileSystem,
  ) {
    this.awaitingCommit = new ProposalWaiters(clock);
    this.awaitingPersist = new ProposalWaiters(clock);
  }

  /** Loads the producer-state snapshot; returns the index the group resumes applying after. */
  loadProducerState(): number {
    const r = readFileChecked(path.join(this.dir, 'producers'), PRODUCERS_MAGIC, this.fs);
    if (r.kind === 'damaged') this.logger.warn({ partition: this.name, why: r.reason }, `${this.name}: the producer-state snapshot is unreadable (${r.reason}); rebuilding it from the log`);
    if (r.kind !== 'ok') return this.log.firstIndex() - 1;
    let v: { index: number; state: ProducerState };
    try {
      v = ProducerState.decode(r.body);
    } catch (err) {
      this.logger.warn({ partition: this.name, why: (err as Error).message }, `${this.name}: the producer-state snapshot is unreadable; rebuilding it from the log`);
      return this.log.firstIndex() - 1;
    }
    if (v.index > this.log.lastIndex() || v.index < this.log.firstIndex() - 1) return this.log.firstIndex() - 1;
    this.producers = v.state;
    return v.index;
  }

  /** Called once the group exists: the high watermark at the resume point. */
  start(): void {
    this.appliedIndex = this.group.raft.applied;
    this.highWatermark = this.log.offsetAfterIndex(this.appliedIndex);
  }

  get name(): string {
    return `${this.topic.name}/${this.partition}`;
  }

  /**
   * The topic's config changed while the replica runs (alter-config): the largest batch accepted
   * counts from the next produce, retention from its next pass, the segment size from the next roll.
   */
  reconfigure(config: TopicConfig): void {
    const now = this.topic.config;
    if (now.retentionBytes === config.retentionBytes && now.retentionMs === config.retentionMs && now.segmentBytes === config.segmentBytes && now.maxMessageBytes === config.maxMessageBytes) return;
    this.topic = { ...this.topic, config };
    this.log.setSegmentBytes(config.segmentBytes);
    this.logger.info({ partition: this.name, config }, `${this.name}: topic config changed`);
  }

  isLeader(): boolean {
    return this.group.raft.role === Role.Leader;
  }

  /** Leading, and everything before this term is applied. */
  isReady(): boolean {
    return this.isLeader() && this.appliedTerm === this.group.raft.term && this.group.failed === null && this.replayFrom === null;
  }

  leaderHint(): string | null {
    return this.group.raft.lead;
  }

  private checkServing(): void {
    if (this.closed) throw new ServerError(ErrorCode.ShuttingDown, `${this.name} is closing on this node`);
    if (this.group.failed !== null) throw new ServerError(ErrorCode.StorageError, `${this.name} stopped on this node: ${this.group.failed}`);
    if (!this.isLeader()) {
      const lead = this.leaderHint();
      throw new ServerError(ErrorCode.NotLeader, `this node does not lead ${this.name}${lead !== null ? `; ${lead} does` : '; no leader is known yet'}`, lead);
    }
    if (!this.isReady()) throw new ServerError(ErrorCode.LeaderNotAvailable, `the new leader of ${this.name} is catching up; retry shortly`);
  }

  /** Whether this replica may answer a read now (the policy's `reads`); throws the ServerError the client gets if not. */
  private checkReadable(): void {
    if (this.policy.reads === 'confirmed-leader') this.checkServing();
  }

  // -----------------------------------------------------------------------------------------------
  // Produce

  /** Writes one batch; resolves with its base offset per `acks`. */
  produce(batch: Uint8Array, acks: Acks, timeoutMs: number): Promise<number> {
    try {
      return this.produce0(batch, acks, timeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private produce0(batch: Uint8Array, acks: Acks, timeoutMs: number): Promise<number> {
    this.checkServing();
    const max = this.topic.config.maxMessageBytes;
    if (batch.byteLength > max) throw new ServerError(ErrorCode.RecordTooLarge, `a batch of ${batch.byteLength} bytes exceeds the topic's maxMessageBytes ${max}`);
    let header;
    try {
      header = verifyBatch(batch);
    } catch (err) {
      if (err instanceof RecordBatchError) throw new ServerError(ErrorCode.CorruptMessage, `the record batch is malformed: ${err.message}`);
      throw err;
    }
    const declared = BATCH_LENGTH_PREFIX + header.batchLength;
    if (declared !== batch.byteLength) throw new ServerError(ErrorCode.CorruptMessage, `the request holds ${batch.byteLength} bytes but its batch declares ${declared}`);
    if (header.recordCount < 1) throw new ServerError(ErrorCode.CorruptMessage, 'a record batch must hold at least one record');
    const count = header.lastOffsetDelta + 1;
    const pid = header.producerId;
    const seq: Omit<BatchSeq, 'baseOffset'> = { epoch: header.producerEpoch, firstSeq: header.baseSequence, lastSeq: header.baseSequence + header.lastOffsetDelta };
    if (pid >= 0 && this.policy.idempotence === 'enforced') {
      const inFlight = this.inFlight.get(pid) ?? [];
      const c = this.producers.check(pid, seq, inFlight);
      if (c.kind === 'duplicate') {
        const pending = inFlight.find((f) => f.baseOffset === c.baseOffset);
        return pending !== undefined ? this.waitFor(pending.index, this.group.raft.term, acks, timeoutMs, c.baseOffset) : Promise.resolve(c.baseOffset);
      }
      if (c.kind === 'reject') throw new ServerError(c.code, c.message);
    }
    if (this.leo === null) this.leo = this.log.logEndOffset();
    const baseOffset = this.leo;
    const data = Buffer.from(batch);
    writeBaseOffset(data, 0, baseOffset);
    writePartitionLeaderEpoch(data, 0, this.group.raft.term);
    let index: number;
    let term: number;
    try {
      ({ lastIndex: index, term } = this.group.raft.propose([data]));
    } catch (err) {
      throw toServerError(err, this.name);
    }
    this.group.wake();
    this.leo = baseOffset + count;
    if (pid >= 0) {
      const list = this.inFlight.get(pid) ?? [];
      list.push({ ...seq, baseOffset, index, producerId: pid });
      this.inFlight.set(pid, list);
    }
    if (acks === 'none') return Promise.resolve(baseOffset);
    const waitAcks = acks === 'all' && this.policy.acksAll === 'persisted-here' ? 'leader' : acks;
    return this.waitFor(index, term, waitAcks, timeoutMs, baseOffset);
  }

  private waitFor(index: number, term: number, acks: Acks, timeoutMs: number, baseOffset: number): Promise<number> {
    const waiters = acks === 'leader' ? this.awaitingPersist : this.awaitingCommit;
    // A retry of a batch still in flight waits beside the first request: each has its own timer.
    const timeout = { ms: timeoutMs, error: () => new ServerError(ErrorCode.RequestTimedOut, `${this.name}: not replicated within ${timeoutMs} ms; the write may or may not have happened`) };
    return waiters.wait(index, term, timeout).then(() => baseOffset);
  }

  /** Produce requests waiting for their batch to be committed or stored. */
  waitingProduces(): number {
    return this.awaitingCommit.size + this.awaitingPersist.size;
  }

  /** Hands leadership to replica `to`; resolves with the leader once this node no longer leads (or on timeout). */
  async transferLeadership(to: string, timeoutMs: number): Promise<string | null> {
    this.checkServing();
    if (to === this.group.raft.id) return to;
    try {
      this.group.raft.transferLeadership(to);
    } catch (err) {
      throw toServerError(err, this.name);
    }
    this.group.wake();
    // waitForData wakes on every apply and when leadership is lost; no offset is ever reached.
    const deadline = this.clock.now() + timeoutMs;
    while (this.isLeader() && this.clock.now() < deadline) await this.waitForData(Number.MAX_SAFE_INTEGER, deadline - this.clock.now());
    return this.leaderHint();
  }

  // -----------------------------------------------------------------------------------------------
  // Fetch and list offsets

  /** Confirms with a quorum that this node still leads, and waits until applied up to that point. */
  confirmLeadership(): Promise<void> {
    if (this.policy.reads === 'any-replica') return Promise.resolve();
    try {
      this.checkServing();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.reads.wait(this.group.raft, () => this.group.wake(), (err) => toServerError(err, this.name));
  }

  /**
   * Committed batches from `offset` (call after confirmLeadership): at least one when there is
   * one, then more up to `maxBytes`. With `maxBytes` 0, only the checks and the high watermark
   * (a fetch whose response is already full).
   */
  read(offset: number, maxBytes: number): ReadResult {
    this.checkReadable();
    const start = this.log.logStartOffset();
    if (offset < start || offset > this.highWatermark) {
      throw new ServerError(ErrorCode.OffsetOutOfRange, `offset ${offset} is outside ${this.name}, which holds ${start} to ${this.highWatermark - 1} (log start ${start}, high watermark ${this.highWatermark})`);
    }
    if (offset === this.highWatermark || maxBytes <= 0) return { batches: [], highWatermark: this.highWatermark, logStartOffset: start };
    try {
      const r = this.log.readBatches(offset, maxBytes, this.appliedIndex);
      return { batches: r.batches, highWatermark: this.highWatermark, logStartOffset: start };
    } catch (err) {
      throw this.storageError(err);
    }
  }

  /** Resolves when the high watermark passes `offset`, leadership is lost, `ms` pass, or `signal` aborts (the wait is then forgotten). */
  waitForData(offset: number, ms: number, signal?: AbortSignal): Promise<void> {
    const serving = this.isLeader() || this.policy.reads === 'any-replica';
    if (this.highWatermark > offset || !serving || ms <= 0 || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        timer.cancel();
        this.hwWaiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = this.clock.after(ms, done);
      this.hwWaiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Earliest, latest (high watermark), or the first record at or after a timestamp (-1 if none). */
  listOffset(spec: OffsetSpec): { offset: number; timestamp?: number } {
    this.checkReadable();
    if (spec === 'earliest') return { offset: this.log.logStartOffset() };
    if (spec === 'latest') return { offset: this.highWatermark };
    try {
      const found = this.log.batchForTimestamp(spec.timestamp, this.appliedIndex);
      if (found === null) return { offset: -1 };
      for (const r of records(found.batch)) {
        if (r.timestamp >= spec.timestamp) return { offset: r.offset, timestamp: r.timestamp };
      }
      return { offset: -1 };
    } catch (err) {
      throw this.storageError(err);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // The group's state machine

  apply(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.kind === EntryKind.Normal) {
        const h = readBatchHeader(e.data);
        this.highWatermark = h.baseOffset + h.lastOffsetDelta + 1;
        if (h.producerId >= 0 && this.replayFrom === null) {
          this.producers.record(h.producerId, { epoch: h.producerEpoch, firstSeq: h.baseSequence, lastSeq: h.baseSequence + h.lastOffsetDelta, baseOffset: h.baseOffset }, this.clock.now());
          this.dropInFlight(h.producerId, e.index);
        }
        this.batchesSinceSnapshot++;
      }
      this.appliedIndex = e.index;
      this.appliedTerm = e.term;
      this.awaitingCommit.settle(e.index, e.term, this.notCommitted);
      this.awaitingPersist.settle(e.index, e.term, this.notCommitted);
    }
    if (this.appliedTerm === this.group.raft.term && this.isLeader() && this.leo === null) this.leo = this.log.logEndOffset();
    this.reads.serve(this.appliedIndex, this.appliedTerm);
    for (const w of [...this.hwWaiters]) w();
    if (this.batchesSinceSnapshot >= PRODUCERS_SNAPSHOT_EVERY && !this.savingProducers && this.replayFrom === null) {
      // Encoded now (it must be the state at this index), written in the background.
      this.batchesSinceSnapshot = 0;
      this.savingProducers = true;
      const body = this.producers.encode(this.appliedIndex);
      writeFileAtomicAsync(path.join(this.dir, 'producers'), PRODUCERS_MAGIC, body, this.fs)
        .catch((err: unknown) => this.logger.warn({ partition: this.name, err: (err as Error).message }, 'could not save the producer state; a restart will rebuild it from the log'))
        .finally(() => (this.savingProducers = false));
    }
  }

  /** What a produce gets when another leader's entry took its batch's index, applied or stored here. */
  private readonly notCommitted = (): Error => new ServerError(ErrorCode.NotLeader, `${this.name}: leadership changed before the write was committed; it was not written`, this.leaderHint());
  private readonly notStored = (): Error => new ServerError(ErrorCode.NotLeader, `${this.name}: leadership changed before the write was stored`, this.leaderHint());

  private dropInFlight(pid: number, index: number): void {
    const list = this.inFlight.get(pid);
    if (list === undefined) return;
    const rest = list.filter((f) => f.index > index);
    if (rest.length === 0) this.inFlight.delete(pid);
    else this.inFlight.set(pid, rest);
  }

  /**
   * The leader's log replaces this one: its log start alone (the log restarts empty there), or the
   * log start and the entries after it up to the snapshot's index, which the host staged from the
   * leader's files (src/host/log-recovery.ts) and which are installed here. The producer state of
   * those entries is rebuilt from the log afterwards, a slice per turn.
   */
  restore(snapshot: Snapshot, log: SegmentLog): void {
    const start = decodeSnapshotStart(snapshot);
    this.producers = new ProducerState();
    this.appliedIndex = snapshot.index;
    this.appliedTerm = snapshot.term;
    if (snapshot.index === start.index) {
      log.resetTo(snapshot.index, snapshot.term, start.offset, snapshot.membership);
      this.highWatermark = start.offset;
      this.replayFrom = null;
      this.logger.info({ partition: this.name, index: snapshot.index, offset: start.offset }, `${this.name}: the leader's log starts at offset ${start.offset}; this replica's log now starts there too`);
      return;
    }
    log.install(start.index, snapshot.index, snapshot.term);
    this.highWatermark = log.logEndOffset();
    this.replayFrom = log.firstIndex();
    this.logger.info({ partition: this.name, from: start.index + 1, index: snapshot.index, offsets: [start.offset, this.highWatermark] }, `${this.name}: installed the leader's log, indexes ${start.index + 1} to ${snapshot.index} (offsets ${start.offset} to ${this.highWatermark - 1})`);
    this.clock.soon(() => this.replayProducers());
  }

  /** Takes a slice of the installed log into the producer state; again next turn until it reaches what is applied. */
  private replayProducers(): void {
    const from = this.replayFrom;
    if (from === null || this.closed || this.group.failed !== null) return;
    const upTo = Math.min(this.appliedIndex, this.log.lastIndex());
    try {
      if (from <= upTo) {
        const entries = this.log.entries(from, upTo + 1, PRODUCER_REPLAY_BYTES_PER_TURN);
        for (const e of entries) {
          if (e.kind !== EntryKind.Normal) continue;
          const h = readBatchHeader(e.data);
          if (h.producerId >= 0) this.producers.record(h.producerId, { epoch: h.producerEpoch, firstSeq: h.baseSequence, lastSeq: h.baseSequence + h.lastOffsetDelta, baseOffset: h.baseOffset }, this.clock.now());
        }
        this.replayFrom = from + entries.length;
      }
    } catch (err) {
      this.storageError(err);
      return;
    }
    if (this.replayFrom! > upTo) {
      this.replayFrom = null;
      return;
    }
    this.clock.soon(() => this.replayProducers());
  }

  onSoftState(soft: SoftState): void {
    if (soft.role !== Role.Leader) {
      this.leo = null;
      this.inFlight.clear();
      for (const w of [...this.hwWaiters]) w();
    }
  }

  onPersisted(index: number, term: number): void {
    this.awaitingPersist.settleUpTo(index, term, this.notStored);
  }

  onReadStates(states: readonly ReadState[], dropped: readonly unknown[]): void {
    const lost = (): Error => new ServerError(ErrorCode.NotLeader, `this node stopped leading ${this.name}`, this.leaderHint());
    this.reads.onReadStates(states, dropped, lost, this.appliedIndex, this.appliedTerm);
  }

  /** Applies retention within what is applied. */
  enforceRetention(): number {
    if (this.group.failed !== null || this.closed) return 0;
    return this.log.enforceRetention({ retentionBytes: this.topic.config.retentionBytes, retentionMs: this.topic.config.retentionMs, upToIndex: this.appliedIndex });
  }

  /** Forgets producers with no write for the expiration time (producer-state.ts); returns how many. */
  expireProducers(): number {
    return this.producers.expire(this.clock.now(), this.producerIdExpirationMs);
  }

  /** Saves the producer state now (the node stops: nothing else runs). */
  saveProducerState(): void {
    // A state still being rebuilt is not the state at the applied index; a restart rebuilds it.
    if (this.replayFrom !== null) return;
    this.batchesSinceSnapshot = 0;
    try {
      writeFileAtomic(path.join(this.dir, 'producers'), PRODUCERS_MAGIC, this.producers.encode(this.appliedIndex), this.fs);
    } catch (err) {
      this.logger.warn({ partition: this.name, err: (err as Error).message }, 'could not save the producer state; a restart will rebuild it from the log');
    }
  }

  /** Fails every waiting request (the node is stopping or the topic was deleted). */
  close(why: string): void {
    this.closed = true;
    const err = new ServerError(ErrorCode.ShuttingDown, `${this.name}: ${why}`);
    this.awaitingCommit.failAll(err);
    this.awaitingPersist.failAll(err);
    this.reads.failAll(err);
    for (const w of [...this.hwWaiters]) w();
  }

  private storageError(err: unknown): Error {
    if (err instanceof OffsetOutOfRangeError) return new ServerError(ErrorCode.OffsetOutOfRange, err.message);
    if (err instanceof CorruptLogError) {
      this.group.fail(err);
      return new ServerError(ErrorCode.StorageError, err.message);
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** What a client is told when the partition's Raft group refuses a request (`name`: the partition's name). */
export function toServerError(err: unknown, name: string): Error {
  if (!(err instanceof RaftError)) return err instanceof Error ? err : new Error(String(err));
  switch (err.code) {
    case RaftErrorCode.NotLeader:
    case RaftErrorCode.TransferInProgress:
      return new ServerError(ErrorCode.NotLeader, `${name}: ${err.message}`, err.leaderHint);
    case RaftErrorCode.UncommittedBytesExceeded:
      return new ServerError(ErrorCode.NotEnoughReplicas, `${name}: replicas are behind (${err.message})`);
    case RaftErrorCode.EntryTooLarge:
      return new ServerError(ErrorCode.RecordTooLarge, `${name}: ${err.message}`);
    case RaftErrorCode.UnknownNode:
      return new ServerError(ErrorCode.InvalidRequest, `${name}: ${err.message}`);
    case RaftErrorCode.ReplicaRejoining:
      // A leadership transfer to a replica that is catching up after losing data: it may lead
      // once promoted, so the refusal is retriable (Kafka answers PREFERRED_LEADER_NOT_AVAILABLE).
      return new ServerError(ErrorCode.LeaderNotAvailable, `${name}: ${err.message}; retry once it has caught up`);
    case RaftErrorCode.MembershipChangeInProgress:
    case RaftErrorCode.LearnerBehind:
      return new ServerError(ErrorCode.ReassignmentInProgress, `${name}: ${err.message}`);
    case RaftErrorCode.InvalidMembershipChange:
      return new ServerError(ErrorCode.InvalidRequest, `${name}: ${err.message}`);
    default:
      return err;
  }
}
