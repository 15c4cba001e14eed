/**
 * The producer: `send` places each message on a partition (explicit, by key, or sticky), the
 * accumulator batches them per partition, and the sender ships closed batches to partition
 * leaders, several partitions per request to one node, one request in flight per partition so a
 * retry never overtakes a later batch.
 *
 * Idempotence (on by default): the producer takes a producer id from the controller and stamps
 * each batch with it and the partition's next sequence number when the batch is first sent. A
 * retry resends the same bytes, so a leader that already has the batch drops the copy. Sequence
 * numbers advance only on success; a batch given up with an unknown outcome (or refused for its
 * sequence) makes the producer take a new producer id, whose sequences start again at 0.
 */
import type { Timer } from '../wire/clock.js';
import { ErrorCode, LIMITS, type Acks, type ProduceRequest, type ProduceResponse } from '../wire/protocol.js';
import { encodeBatch } from '../wire/record-batch/encode.js';
import { BATCH_HEADER_BYTES } from '../wire/record-batch/header.js';
import { byPartition, tpKey } from './assignors/types.js';
import { Accumulator, SendOp, type PartitionQueue, type ProducerBatch } from './accumulator.js';
import { localTimeout, type CachedTopic, type Cluster } from './cluster.js';
import { ClientErrorCode, RaftlogError, checkTopicName, fromApiError, invalidArgument, shouldRetry, toRaftlogError } from './errors.js';
import { toRecord, type Message, type RecordMetadata, type TopicMessages } from './messages.js';
import { gaveUp, retryOptions, withRetry, type RetryOptions } from './retry.js';
import { PartitionChooser } from './sticky.js';

export interface ProducerOptions {
  /** Producer id and sequence numbers so retries never duplicate (default true). */
  readonly idempotent?: boolean;
  /** Default acknowledgement level of send() (default 'all'). */
  readonly acks?: Acks;
  /** How long a batch waits for more records (default 5 ms). */
  readonly lingerMs?: number;
  /** Bytes at which a batch is sent without waiting (default 512 KiB, at most 1 MiB). */
  readonly batchBytes?: number;
  /**
   * Bytes at which a batch stops lingering: it goes at the end of the event-loop turn in which it
   * reached them (default 16 KiB, the size at which Kafka counts a batch full; at or above batchBytes,
   * only lingerMs and batchBytes apply).
   */
  readonly eagerBatchBytes?: number;
  /** From send() to giving up on a record, retries included (default 120 s). */
  readonly deliveryTimeoutMs?: number;
  /** How long a leader may wait for replication before answering (default 30 s). */
  readonly requestTimeoutMs?: number;
  readonly retry?: Partial<RetryOptions>;
  /**
   * Names this producer across restarts: a new producer with the same transactional id takes the
   * same producer id one epoch later, and the old one (a zombie that is still running) is fenced:
   * its batches are refused with INVALID_PRODUCER_EPOCH.
   */
  readonly transactionalId?: string;
  /** For tests: the source of randomness of sticky partitioning. */
  readonly random?: () => number;
}

export interface ProducerRecord {
  readonly topic: string;
  readonly messages: readonly Message[];
  readonly acks?: Acks;
}

export interface ProducerBatchRequest {
  readonly topicMessages: readonly TopicMessages[];
  readonly acks?: Acks;
}

export const ACKS: readonly Acks[] = ['all', 'leader', 'none'];
/** Bytes of batches in one produce request, well inside the node's request limit (LIMITS.requestBytesMax says how). */
const REQUEST_BYTES_MAX = LIMITS.produceRequestBatchBytes;

/** The records of one topic in a send() call, checked and encoded, waiting for their partitions. */
interface Placement {
  readonly topic: string;
  readonly items: readonly ReturnType<typeof toRecord>[];
  readonly explicit: readonly (number | undefined)[];
}

interface Identity {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly generation: number;
}

export class Producer {
  private readonly cluster: Cluster;
  private readonly idempotent: boolean;
  private readonly acks: Acks;
  private readonly deliveryTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly retry: Required<RetryOptions>;
  private readonly accumulator: Accumulator;
  private readonly chooser: PartitionChooser;
  private identity: Identity | null = null;
  private identityPending: Promise<Identity> | null = null;
  /** The identity whose sequence numbers were lost: re-initialized one epoch later rather than replaced. */
  private reinit: Identity | null = null;
  /** Set once another producer with this transactional id took over: every later send fails with it. */
  private fenced: RaftlogError | null = null;
  private readonly transactionalId: string | undefined;
  private generation = 0;
  private connected: Promise<void> | null = null;
  /** `connected` has resolved (and no disconnect since). */
  private isConnected = false;
  /** send() calls whose records are not yet placed in the accumulator. */
  private placementsPending = 0;
  /** Placement of messages happens in send() order, one call after the other. */
  private placing: Promise<void> = Promise.resolve();
  private draining = false;
  private drainAgain = false;
  private retryTimer: Timer | null = null;
  private retryTimerAt = Infinity;
  /** A metadata refresh this producer started is under way. */
  private refreshing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(cluster: Cluster, opts: ProducerOptions = {}) {
    this.cluster = cluster;
    this.idempotent = opts.idempotent ?? true;
    if (opts.transactionalId !== undefined && (typeof opts.transactionalId !== 'string' || opts.transactionalId.length === 0 || opts.transactionalId.length > LIMITS.groupIdLengthMax)) {
      throw invalidArgument(`transactionalId must be 1 to ${LIMITS.groupIdLengthMax} characters`);
    }
    if (opts.transactionalId !== undefined && opts.idempotent === false) throw invalidArgument('a transactionalId needs an idempotent producer');
    this.transactionalId = opts.transactionalId;
    this.acks = checkAcks(opts.acks ?? 'all');
    this.deliveryTimeoutMs = positive(opts.deliveryTimeoutMs ?? 120_000, 'deliveryTimeoutMs');
    this.requestTimeoutMs = Math.min(positive(opts.requestTimeoutMs ?? 30_000, 'requestTimeoutMs'), LIMITS.requestTimeoutMsMax);
    this.retry = retryOptions({ ...cluster.config.retry, ...opts.retry });
    const lingerMs = nonNegative(opts.lingerMs ?? 5, 'lingerMs');
    const batchBytes = Math.min(positive(opts.batchBytes ?? 512 * 1024, 'batchBytes'), LIMITS.batchBytesMax);
    const eagerBytes = positive(opts.eagerBatchBytes ?? 16 * 1024, 'eagerBatchBytes');
    this.chooser = new PartitionChooser(opts.random);
    this.accumulator = new Accumulator({
      lingerMs,
      batchBytes,
      eagerBytes,
      retry: this.retry,
      clock: cluster.clock,
      onReady: (q) => {
        this.chooser.batchClosed(this.cluster.cachedTopic(q.topic), q.topic, q.partition);
        this.scheduleDrain();
      },
    });
  }

  /** Reaches the cluster and, when idempotent, takes a producer id. */
  connect(): Promise<void> {
    this.connected ??= (async () => {
      await this.cluster.metadataWithRetry();
      if (this.idempotent) await this.ensureIdentity();
      this.isConnected = true;
    })().catch((err: unknown) => {
      this.connected = null;
      throw err;
    });
    return this.connected;
  }

  /** Sends messages to one topic; resolves to where each landed, in message order. */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (typeof record !== 'object' || record === null) return Promise.reject(invalidArgument('send() takes { topic, messages, acks? }'));
    return this.sendBatch({ topicMessages: [{ topic: record.topic, messages: record.messages }], acks: record.acks });
  }

  /** Sends messages to several topics; results follow the order of topics, then messages. */
  sendBatch(req: ProducerBatchRequest): Promise<RecordMetadata[]> {
    try {
      return this.enqueue(req);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * sendBatch()'s work: checks the messages and places them, or queues their placement. Throws on
   * bad input; sendBatch() turns that into a rejection. (send() and sendBatch() are plain
   * functions, not async ones: an async wrapper would cost every send more promises and microtask
   * hops.)
   */
  private enqueue(req: ProducerBatchRequest): Promise<RecordMetadata[]> {
    if (typeof req !== 'object' || req === null) throw invalidArgument('sendBatch() takes { topicMessages, acks? }');
    if (this.fenced !== null) throw this.fenced;
    const acks = checkAcks(req.acks ?? this.acks);
    if (!isList(req.topicMessages)) throw invalidArgument('topicMessages must be an array');
    const placed: Placement[] = [];
    for (const tm of req.topicMessages) {
      checkTopicName(tm.topic);
      if (!isList(tm.messages)) throw invalidArgument(`messages for topic '${tm.topic}' must be an array`);
      const items = tm.messages.map((m, i) => {
        const it = toRecord(m, i, tm.topic);
        if (it.bytes + BATCH_HEADER_BYTES > LIMITS.batchBytesMax) {
          throw new RaftlogError(ErrorCode.RecordTooLarge, `message ${i} to '${tm.topic}' takes about ${it.bytes} bytes; a batch holds at most ${LIMITS.batchBytesMax}`, {
            topic: tm.topic,
          });
        }
        return it;
      });
      placed.push({ topic: tm.topic, items, explicit: tm.messages.map((m) => m.partition) });
    }
    const total = placed.reduce((n, p) => n + p.items.length, 0);
    const op = new SendOp(total);
    const deadline = this.cluster.clock.now() + this.deliveryTimeoutMs;
    // Connected, nothing ahead in line, every topic known: place now, in this turn. Cached
    // metadata places records even when marked stale (a refresh runs in the background, and a
    // partition whose leader is in doubt waits for it in the drain): as in Kafka, a producer
    // blocks only on a topic it has never seen.
    if (this.isConnected && this.placementsPending === 0) {
      const topics = placed.map((p) => this.cluster.cachedTopic(p.topic));
      if (topics.every((t) => t !== undefined)) {
        this.place(placed, topics, acks, op, deadline);
        return op.promise;
      }
    }
    // Otherwise after the send() calls before this one, once connected and the topics are known.
    this.placementsPending++;
    const step = this.placing.then(async () => {
      await this.connect();
      const topics: CachedTopic[] = [];
      for (const p of placed) {
        topics.push(this.cluster.cachedTopic(p.topic) ?? (await withRetry(() => this.cluster.topic(p.topic), this.retry, { deadline, clock: this.cluster.clock, onRetry: () => this.cluster.refreshIfStale() })));
      }
      this.place(placed, topics, acks, op, deadline);
    });
    this.placing = step.catch(() => undefined).finally(() => this.placementsPending--);
    step.catch((err: unknown) => op.fail(toRaftlogError(err)));
    return op.promise;
  }

  /** Puts each record of a send() in its partition's open batch. */
  private place(placed: readonly Placement[], topics: readonly CachedTopic[], acks: Acks, op: SendOp, deadline: number): void {
    let index = 0;
    for (const [k, p] of placed.entries()) {
      for (const [i, it] of p.items.entries()) {
        const partition = this.chooser.choose(topics[k]!, it.record.key ?? null, p.explicit[i]);
        this.accumulator.append(p.topic, partition, acks, { record: it.record, bytes: it.bytes, op, index: index++ }, deadline);
      }
    }
  }

  /** Sends every batch now and resolves when nothing is waiting or in flight. */
  async flush(): Promise<void> {
    await this.placing;
    this.accumulator.closeAll();
    if (this.accumulator.idle) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flushes, then closes the connections. */
  async disconnect(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.retryTimer?.cancel();
      this.retryTimer = null;
      this.connected = null;
      this.isConnected = false;
      this.cluster.close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sending

  private scheduleDrain(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    this.cluster.clock.soon(() => void this.drainLoop());
  }

  private async drainLoop(): Promise<void> {
    try {
      do {
        this.drainAgain = false;
        await this.drainOnce();
      } while (this.drainAgain);
    } finally {
      this.draining = false;
    }
  }

  /**
   * One pass: every partition whose head batch may go now joins a request to its leader. Stale
   * metadata is refreshed in the background: only partitions whose last attempt found no leader
   * wait for it; the others keep sending to the leaders they know.
   */
  private async drainOnce(): Promise<void> {
    const now = this.cluster.clock.now();
    const groups = new Map<string, ProducerBatch[]>();
    let identityError: RaftlogError | null = null;
    let awaitingMetadata = false;
    for (const q of this.accumulator.all()) {
      const head = q.ready[0];
      if (!head || q.inFlight) continue;
      if (q.retryAt > now) {
        this.wakeAt(q.retryAt);
        continue;
      }
      if (q.metadataMark !== null) {
        if (!this.cluster.refreshedSince(q.metadataMark)) {
          awaitingMetadata = true;
          continue;
        }
        q.metadataMark = null;
      }
      if (head.attempts === 0 && now >= head.deadline) {
        const err = new RaftlogError(ErrorCode.RequestTimedOut, `${q.topic}/${q.partition}: the delivery timeout of ${this.deliveryTimeoutMs} ms passed before the batch could be sent`, {
          topic: q.topic,
          partition: q.partition,
        });
        this.giveUp(q, head, err);
        continue;
      }
      const stamped = this.idempotent && head.acks !== 'none';
      if (stamped && head.encoded === null && (this.identity === null || identityError !== null)) {
        try {
          if (identityError) throw identityError;
          await this.ensureIdentity();
        } catch (err) {
          identityError = toRaftlogError(err);
          this.failed(q, head, identityError);
          continue;
        }
      }
      let address: string;
      try {
        address = this.cluster.leaderAddress(q.topic, q.partition);
        if (head.encoded === null) this.encode(q, head, stamped);
      } catch (err) {
        this.failed(q, head, toRaftlogError(err));
        continue;
      }
      q.inFlight = true;
      const key = `${address}\u0000${head.acks}`;
      const list = groups.get(key) ?? [];
      list.push(head);
      groups.set(key, list);
    }
    if (awaitingMetadata || this.cluster.isStale) this.refreshMetadata();
    for (const [key, batches] of groups) {
      const [address, acks] = key.split('\u0000') as [string, Acks];
      for (const chunk of chunks(batches)) void this.sendRequest(address, acks, chunk);
    }
  }

  /** Starts a metadata refresh unless one of ours is running; when it ends, partitions waiting for it are drained. */
  private refreshMetadata(): void {
    if (this.refreshing) return;
    this.refreshing = true;
    void this.cluster.refreshInBackground().then(() => {
      this.refreshing = false;
      for (const q of this.accumulator.all()) {
        if (q.metadataMark !== null) {
          this.scheduleDrain();
          return;
        }
      }
    });
  }

  private encode(q: PartitionQueue, b: ProducerBatch, stamped: boolean): void {
    const records = b.records.map((r) => r.record);
    if (stamped && this.identity) {
      if (q.generation !== this.identity.generation) {
        q.generation = this.identity.generation;
        q.nextSequence = 0;
      }
      b.sequence = { generation: q.generation, baseSequence: q.nextSequence };
      b.encoded = encodeBatch(records, { producerId: this.identity.producerId, producerEpoch: this.identity.producerEpoch, baseSequence: q.nextSequence });
    } else {
      b.encoded = encodeBatch(records);
    }
    if (b.encoded.length > LIMITS.batchBytesMax) {
      throw new RaftlogError(ErrorCode.RecordTooLarge, `${q.topic}/${q.partition}: a batch of ${b.encoded.length} bytes is over the limit of ${LIMITS.batchBytesMax}`);
    }
  }

  private async sendRequest(address: string, acks: Acks, batches: readonly ProducerBatch[]): Promise<void> {
    const req: ProduceRequest = {
      type: 'produce',
      acks,
      timeoutMs: this.requestTimeoutMs,
      batches: batches.map((b) => ({ topic: b.topic, partition: b.partition, records: b.encoded ?? new Uint8Array(0) })),
    };
    for (const b of batches) b.attempts++;
    const conn = this.cluster.connection(address);
    if (acks === 'none') {
      try {
        await conn.send(req);
        for (const b of batches) this.succeeded(b, -1);
      } catch (err) {
        for (const b of batches) this.failedBatch(b, toRaftlogError(err));
      }
      return;
    }
    let resp: ProduceResponse;
    try {
      resp = await conn.request(req, localTimeout(this.requestTimeoutMs));
    } catch (err) {
      const e = toRaftlogError(err);
      for (const b of batches) this.failedBatch(b, e.withContext(`${b.topic}/${b.partition}`, { topic: b.topic, partition: b.partition }));
      return;
    }
    const results = byPartition(Array.isArray(resp.results) ? resp.results : []);
    for (const b of batches) {
      const r = results.get(tpKey(b.topic, b.partition));
      if (r?.error) this.failedBatch(b, fromApiError(r.error, { topic: b.topic, partition: b.partition, node: address }));
      else if (r && typeof r.baseOffset === 'number' && Number.isSafeInteger(r.baseOffset) && r.baseOffset >= 0) this.succeeded(b, r.baseOffset);
      else {
        this.failedBatch(
          b,
          new RaftlogError(ClientErrorCode.ProtocolError, `${b.topic}/${b.partition}: ${address} answered without a result or base offset for this batch`, {
            retriable: true,
            outcomeUnknown: true,
            topic: b.topic,
            partition: b.partition,
            node: address,
          }),
        );
      }
    }
  }

  private succeeded(b: ProducerBatch, baseOffset: number): void {
    const q = this.accumulator.queue(b.topic, b.partition);
    q.inFlight = false;
    if (q.ready[0] === b) q.ready.shift();
    if (b.sequence && b.sequence.generation === q.generation) q.nextSequence = (b.sequence.baseSequence + b.records.length) % 0x80000000;
    for (const [i, r] of b.records.entries()) {
      r.op.done(r.index, { topic: b.topic, partition: b.partition, offset: baseOffset < 0 ? '-1' : String(baseOffset + i) });
    }
    this.accumulator.release(q);
    this.afterBatch();
  }

  private failedBatch(b: ProducerBatch, err: RaftlogError): void {
    this.failed(this.accumulator.queue(b.topic, b.partition), b, err);
  }

  /** A failed attempt: retry after a backoff inside the deadline, or give up on the batch. */
  private failed(q: PartitionQueue, b: ProducerBatch, err: RaftlogError): void {
    q.inFlight = false;
    const leaderInDoubt = this.cluster.notePartitionError(q.topic, q.partition, err);
    if (shouldRetry(err)) {
      const now = this.cluster.clock.now();
      const delay = b.backoff.after(err);
      if (delay !== null && now + delay < b.deadline) {
        this.cluster.logger.debug(`${q.topic}/${q.partition}: retrying in ${delay} ms after ${err.code}`);
        q.retryAt = now + delay;
        if (leaderInDoubt) q.metadataMark = this.cluster.refreshMark();
        this.wakeAt(q.retryAt);
        return;
      }
    }
    this.giveUp(q, b, gaveUp(err, Math.max(b.attempts, b.backoff.attempts), this.cluster.clock.now() - b.createdAt));
  }

  private giveUp(q: PartitionQueue, b: ProducerBatch, err: RaftlogError): void {
    q.inFlight = false;
    q.retryAt = 0;
    q.metadataMark = null;
    if (q.ready[0] === b) q.ready.shift();
    for (const r of b.records) r.op.fail(err);
    this.accumulator.release(q);
    const sequenceLost = err.outcomeUnknown || err.code === ErrorCode.OutOfOrderSequence || err.code === ErrorCode.InvalidProducerEpoch;
    if (this.transactionalId !== undefined && err.code === ErrorCode.InvalidProducerEpoch && this.fenced === null) {
      // A newer producer with our transactional id: we are the zombie, and stay fenced (Kafka's ProducerFencedException).
      this.fenced = new RaftlogError(ErrorCode.InvalidProducerEpoch, `this producer was fenced: another producer with transactional id '${this.transactionalId}' took over (${err.message}); create a new producer to write again`, { retriable: false });
      this.cluster.logger.warn(this.fenced.message);
    } else if (b.sequence && b.attempts > 0 && sequenceLost && this.identity?.generation === b.sequence.generation) {
      // The same id one epoch later (KIP-360), not a new one: ids are kept by every partition.
      this.cluster.logger.warn(`${q.topic}/${q.partition}: a batch failed with ${err.code}; re-initializing producer ${this.identity.producerId} at a new epoch`);
      this.reinit = this.identity;
      this.identity = null;
    }
    this.afterBatch();
  }

  private afterBatch(): void {
    this.scheduleDrain();
    if (this.accumulator.idle) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private wakeAt(at: number): void {
    if (this.retryTimer && this.retryTimerAt <= at) return;
    this.retryTimer?.cancel();
    this.retryTimerAt = at;
    this.retryTimer = this.cluster.clock.after(Math.max(0, at - this.cluster.clock.now()), () => {
      this.retryTimer = null;
      this.retryTimerAt = Infinity;
      this.scheduleDrain();
    });
  }

  private ensureIdentity(): Promise<Identity> {
    if (this.identity) return Promise.resolve(this.identity);
    const reinit = this.reinit;
    const ask = {
      type: 'initProducerId',
      timeoutMs: this.requestTimeoutMs,
      ...(this.transactionalId !== undefined ? { transactionalId: this.transactionalId } : reinit !== null ? { producerId: reinit.producerId, producerEpoch: reinit.producerEpoch } : {}),
    } as const;
    this.identityPending ??= this.cluster
      .toController(ask, localTimeout(this.requestTimeoutMs), this.retry)
      .catch((err: unknown) => {
        // Another producer took a later epoch of this id: fall back to a new id, unless the id is
        // this producer's by transactional id (then this producer is the zombie).
        if (reinit === null || this.transactionalId !== undefined || !(err instanceof RaftlogError) || err.code !== ErrorCode.InvalidProducerEpoch) throw err;
        return this.cluster.toController({ type: 'initProducerId', timeoutMs: this.requestTimeoutMs }, localTimeout(this.requestTimeoutMs), this.retry);
      })
      .then((r) => {
        const identity = { producerId: r.producerId, producerEpoch: r.producerEpoch, generation: ++this.generation };
        this.identity = identity;
        this.reinit = null;
        return identity;
      })
      .finally(() => {
        this.identityPending = null;
      });
    return this.identityPending;
  }
}

function* chunks(batches: readonly ProducerBatch[]): Generator<ProducerBatch[]> {
  let chunk: ProducerBatch[] = [];
  let bytes = 0;
  for (const b of batches) {
    const size = b.encoded?.length ?? 0;
    if (chunk.length > 0 && (chunk.length >= LIMITS.produceBatchesMax || bytes + size > REQUEST_BYTES_MAX)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(b);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/** Array.isArray without its narrowing of readonly arrays to any[]. */
function isList(v: unknown): boolean {
  return Array.isArray(v);
}

function checkAcks(acks: Acks): Acks {
  if (!ACKS.includes(acks)) throw invalidArgument(`acks must be one of ${ACKS.join(', ')}, not '${String(acks)}'`);
  return acks;
}

function positive(v: number, what: string): number {
  if (!Number.isFinite(v) || v <= 0) throw invalidArgument(`${what} must be a positive number of ms or bytes, not ${v}`);
  return v;
}

function nonNegative(v: number, what: string): number {
  if (!Number.isFinite(v) || v < 0) throw invalidArgument(`${what} must be 0 or more, not ${v}`);
  return v;
}
