/**
 * The producer's record accumulator: per partition, an open batch that collects records until its
 * linger time passes or it reaches the batch size, then a queue of closed batches that go out
 * strictly in order, one produce request in flight per partition.
 *
 * Linger exists to pay a request's fixed cost once for many records. A batch that already holds
 * `eagerBytes` has paid it: its linger ends with the event-loop turn in which it got there (records
 * sent in that same turn, such as a burst of send() calls, still join it) instead of after
 * `lingerMs`. Small batches, where waiting pays off, linger as before. A batch whose linger ends
 * while its partition is busy (a request in flight, or batches queued) stays open and keeps
 * filling until the partition is free: under load, each request carries everything that arrived
 * during the previous one, instead of a queue of small batches building up.
 */
import type { Clock, Timer } from '../wire/clock.js';
import type { Acks } from '../wire/protocol.js';
import type { RecordInput } from '../wire/record-batch/encode.js';
import { BATCH_HEADER_BYTES } from '../wire/record-batch/header.js';
import { RaftlogError } from './errors.js';
import type { RecordMetadata } from './messages.js';
import { Backoff, type RetryOptions } from './retry.js';

/** The promise of one send() call: settles when all its records are acknowledged or one fails. */
export class SendOp {
  readonly promise: Promise<RecordMetadata[]>;
  private readonly results: (RecordMetadata | undefined)[];
  private remaining: number;
  private settled = false;
  private resolveFn!: (r: RecordMetadata[]) => void;
  private rejectFn!: (e: RaftlogError) => void;

  constructor(count: number) {
    this.results = new Array<RecordMetadata | undefined>(count);
    this.remaining = count;
    this.promise = new Promise<RecordMetadata[]>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    if (count === 0) this.finish();
  }

  done(index: number, meta: RecordMetadata): void {
    if (this.settled || this.results[index] !== undefined) return;
    this.results[index] = meta;
    if (--this.remaining === 0) this.finish();
  }

  fail(err: RaftlogError): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(err);
  }

  /** Every record is acknowledged (remaining reached 0), so every slot of `results` is filled. */
  private finish(): void {
    this.settled = true;
    this.resolveFn(this.results as RecordMetadata[]);
  }
}

export interface QueuedRecord {
  readonly record: RecordInput;
  readonly bytes: number;
  readonly op: SendOp;
  /** Position of the record in its send() call. */
  readonly index: number;
}

export interface ProducerBatch {
  readonly topic: string;
  readonly partition: number;
  readonly acks: Acks;
  readonly records: QueuedRecord[];
  bytes: number;
  readonly createdAt: number;
  /** Epoch ms after which the batch is not (re)sent: its first record's delivery deadline. */
  readonly deadline: number;
  /** The bytes sent; set on the first attempt and reused by every retry. */
  encoded: Uint8Array | null;
  /** The producer-id generation and base sequence stamped in `encoded` (idempotent batches). */
  sequence: { readonly generation: number; readonly baseSequence: number } | null;
  /** Requests sent with this batch. */
  attempts: number;
  readonly backoff: Backoff;
}

export interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  open: ProducerBatch | null;
  /** The linger the open batch waits out (null once it ended or the batch closed). */
  linger: Linger | null;
  /** Closed batches in order; the head may be in flight. */
  readonly ready: ProducerBatch[];
  inFlight: boolean;
  /** The open batch's linger time passed while the partition was busy. */
  lingered: boolean;
  /** Epoch ms before which the head is not retried. */
  retryAt: number;
  /**
   * The head failed for want of a leader: it is retried once a metadata refresh that began after
   * this mark (Cluster.refreshMark) has ended; null when not waiting.
   */
  metadataMark: number | null;
  /** The next sequence number of this partition under `generation`'s producer id. */
  nextSequence: number;
  generation: number;
}

/** One linger timer for every batch opened in the same event-loop turn (Accumulator.startLinger). */
interface Linger {
  timer: Timer | null;
  readonly members: PartitionQueue[];
  /** Members whose batch still waits on this timer; at 0 the timer is cleared. */
  waiting: number;
}

export interface AccumulatorOptions {
  readonly lingerMs: number;
  readonly batchBytes: number;
  /** A batch holding this many bytes stops lingering at the end of the event-loop turn. */
  readonly eagerBytes: number;
  readonly retry: Required<RetryOptions>;
  /** Linger is timed on it, and "the end of the event-loop turn" is its soon(). */
  readonly clock: Clock;
  /** A batch closed (linger passed, full, or flushed): it is ready to send. */
  readonly onReady: (q: PartitionQueue) => void;
}

export class Accumulator {
  private readonly queues = new Map<string, PartitionQueue>();
  /** The linger of batches opened in this event-loop turn, until the turn ends. */
  private lingerOfTurn: Linger | null = null;

  constructor(private readonly opts: AccumulatorOptions) {}

  queue(topic: string, partition: number): PartitionQueue {
    const key = `${topic}\u0000${partition}`;
    let q = this.queues.get(key);
    if (!q) {
      q = { topic, partition, open: null, linger: null, ready: [], inFlight: false, lingered: false, retryAt: 0, metadataMark: null, nextSequence: 0, generation: -1 };
      this.queues.set(key, q);
    }
    return q;
  }

  all(): IterableIterator<PartitionQueue> {
    return this.queues.values();
  }

  /** Adds a record to its partition's open batch, opening or closing batches as needed. */
  append(topic: string, partition: number, acks: Acks, rec: QueuedRecord, deadline: number): void {
    const q = this.queue(topic, partition);
    const open = q.open;
    if (open && (open.acks !== acks || open.bytes + rec.bytes > this.opts.batchBytes)) this.close(q);
    if (!q.open) {
      q.open = {
        topic,
        partition,
        acks,
        records: [],
        bytes: BATCH_HEADER_BYTES,
        createdAt: this.opts.clock.now(),
        deadline,
        encoded: null,
        sequence: null,
        attempts: 0,
        backoff: new Backoff(this.opts.retry),
      };
      q.lingered = false;
      this.startLinger(q);
    }
    const batch = q.open;
    const wasEager = batch.bytes >= this.opts.eagerBytes;
    batch.records.push(rec);
    batch.bytes += rec.bytes;
    if (batch.bytes >= this.opts.batchBytes) this.close(q);
    else if (!wasEager && batch.bytes >= this.opts.eagerBytes) this.opts.clock.soon(() => this.lingerEnded(q, batch));
  }

  /**
   * Starts the linger of `q`'s new batch. Batches opened in the same event-loop turn share one
   * timer, so they end their linger together and go in one request per node. Timers of their own
   * would each count from the clock at their creation (Node reads it afresh for every setTimeout),
   * and a busy turn spread their ends over separate turns.
   */
  private startLinger(q: PartitionQueue): void {
    let linger = this.lingerOfTurn;
    if (linger === null) {
      const l: Linger = { timer: null, members: [], waiting: 0 };
      l.timer = this.opts.clock.after(this.opts.lingerMs, () => {
        l.timer = null;
        for (const m of l.members) {
          if (m.linger !== l) continue;
          m.linger = null;
          this.lingerEnded(m, m.open!);
        }
      });
      this.opts.clock.soon(() => {
        if (this.lingerOfTurn === l) this.lingerOfTurn = null;
      });
      this.lingerOfTurn = linger = l;
    }
    linger.members.push(q);
    linger.waiting++;
    q.linger = linger;
  }

  /** `batch`'s linger is over: it goes now if its partition is free, else when the request in flight ends. */
  private lingerEnded(q: PartitionQueue, batch: ProducerBatch): void {
    if (q.open !== batch) return;
    if (q.inFlight || q.ready.length > 0) q.lingered = true;
    else this.close(q);
  }

  /** The partition's request finished: a batch that lingered long enough goes now. */
  release(q: PartitionQueue): void {
    if (q.ready.length === 0 && q.open !== null && q.lingered) this.close(q);
  }

  /** Closes the partition's open batch, if any, and queues it for sending. */
  close(q: PartitionQueue): void {
    const linger = q.linger;
    q.linger = null;
    if (linger !== null && --linger.waiting === 0) {
      // Nothing waits on it any more: no timer left behind, and a batch opened later in this turn gets a new one.
      linger.timer?.cancel();
      if (this.lingerOfTurn === linger) this.lingerOfTurn = null;
    }
    q.lingered = false;
    const batch = q.open;
    if (!batch) return;
    q.open = null;
    q.ready.push(batch);
    this.opts.onReady(q);
  }

  closeAll(): void {
    for (const q of this.queues.values()) this.close(q);
  }

  /** Whether no record is waiting, queued or in flight. */
  get idle(): boolean {
    for (const q of this.queues.values()) if (q.open || q.ready.length > 0) return false;
    return true;
  }
}
