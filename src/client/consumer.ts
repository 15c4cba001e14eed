/**
 * A plain consumer: reads assigned partitions from an offset, with no group. The group consumer
 * (group-consumer.ts, `client.consumer({ groupId })`) drives one of these: it sets the assignment
 * with reassign(), reads positions() to commit, and hears of each finished handler (ConsumerHooks).
 *
 * run() starts a fetch loop: each partition that is not paused, not backing off and not already in
 * a fetch joins one long-poll `fetch` per leader. Responses are handled one at a time, so handlers
 * never run concurrently; records below the partition's offset (a fetch starts at the batch that
 * holds it) are skipped. NOT_LEADER and other routing errors back the partition off and refresh
 * metadata; OFFSET_OUT_OF_RANGE resets it to the earliest offset and says so ('offsetReset').
 */
import { ErrorCode, LIMITS, type FetchResponse } from '../wire/protocol.js';
import { records } from '../wire/record-batch/decode.js';
import { BatchAttributes, readBatchHeader } from '../wire/record-batch/header.js';
import { byPartition, tpKey as key } from './assignors/types.js';
import type { Cluster } from './cluster.js';
import { ClientErrorCode, RaftlogError, fromApiError, invalidArgument, shouldRetry, toRaftlogError } from './errors.js';
import { listOffsets } from './list-offsets.js';
import type { Batch, ConsumerEvents, ConsumerOptions, PartitionAssignment, RunOptions, StartOffset, TopicPartitions } from './consumer-types.js';
import { toConsumedMessage, type ConsumedMessage } from './messages.js';
import { formatOffset, parseOffset } from './offsets.js';
import { Backoff, retryOptions, type RetryOptions } from './retry.js';
import { Emitter, Signal } from './signal.js';

interface Assigned {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read; null while `spec` is being looked up. */
  next: number | null;
  spec: 'earliest' | 'latest' | null;
  /** The offset that was out of range, reported once the reset is resolved. */
  resetFrom: number | null;
  paused: boolean;
  /** Bumped by seek(): fetch results for an older version are dropped. */
  version: number;
  busy: boolean;
  retryAt: number;
  readonly backoff: Backoff;
  highWatermark: number;
}

type FetchOutcome =
  | { readonly kind: 'response'; readonly address: string; readonly parts: readonly Assigned[]; readonly versions: readonly number[]; readonly response: FetchResponse }
  | { readonly kind: 'failure'; readonly address: string; readonly parts: readonly Assigned[]; readonly error: RaftlogError };

/** A fetch outcome and the run() it belongs to: outcomes of an earlier run are dropped. */
interface Completed {
  readonly run: number;
  readonly outcome: FetchOutcome;
}

/** For a consumer driven by a group consumer: called in the loop after each handler's records count as processed. */
export interface ConsumerHooks {
  /** `messages` records of the partition were handled; its position() already includes them. */
  readonly processed?: (topic: string, partition: number, messages: number) => Promise<void> | void;
  /** The connections are the group consumer's too: it closes them when it stops, not this one. */
  readonly sharedConnections?: boolean;
}

/** The longest the loop sleeps before looking again when nothing wakes it. */
const IDLE_WAIT_MS = 1000;

export class Consumer {
  private readonly cluster: Cluster;
  private readonly maxWaitMs: number;
  private readonly minBytes: number;
  private readonly maxBytes: number;
  private readonly maxBytesPerPartition: number;
  private readonly requestTimeoutMs: number;
  private readonly retry: Required<RetryOptions>;
  private readonly events = new Emitter<ConsumerEvents>();
  private readonly assigned = new Map<string, Assigned>();
  private readonly completed: Completed[] = [];
  private runs = 0;
  /**
   * Fetches started, which turns the order partitions are named in: a node fills a fetch's
   * maxBytes in that order, and the partitions named last would otherwise wait while the first
   * always had more (as Kafka's consumers do, KIP-74).
   */
  private fetchRounds = 0;
  /** When this consumer last asked for a metadata refresh (refreshStaleMetadata). */
  private refreshAskedAt = 0;
  private readonly signal: Signal;
  private running = false;
  private loopDone: Promise<void> | null = null;
  private inHandler = false;
  private readonly hooks: ConsumerHooks;

  constructor(cluster: Cluster, opts: ConsumerOptions = {}, hooks: ConsumerHooks = {}) {
    if (opts.groupId !== undefined) {
      throw invalidArgument('a plain consumer has no group: create a group consumer with client.consumer({ groupId })');
    }
    this.cluster = cluster;
    this.hooks = hooks;
    this.maxWaitMs = Math.min(opts.maxWaitTimeInMs ?? 5000, LIMITS.fetchWaitMsMax);
    this.minBytes = opts.minBytes ?? 1;
    this.maxBytes = Math.min(opts.maxBytes ?? 10 * 1024 * 1024, LIMITS.fetchBytesMax);
    this.maxBytesPerPartition = opts.maxBytesPerPartition ?? 1024 * 1024;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? cluster.config.requestTimeoutMs;
    this.retry = retryOptions({ ...cluster.config.retry, ...opts.retry });
    this.signal = new Signal(cluster.clock);
  }

  on<K extends keyof ConsumerEvents>(event: K, listener: (e: ConsumerEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  async connect(): Promise<void> {
    await this.cluster.metadataWithRetry();
  }

  /** Stops and closes the connections. */
  async disconnect(): Promise<void> {
    await this.stop();
    this.cluster.close();
  }

  /** Sets the partitions to read (replacing any earlier assignment) and where to start. */
  assign(assignments: readonly PartitionAssignment[]): void {
    this.setAssignment(assignments, false);
  }

  /**
   * Sets the partitions to read like assign(), but a partition assigned already keeps its
   * position, pause and in-flight state; only new ones start at the given offset.
   */
  reassign(assignments: readonly PartitionAssignment[]): void {
    this.setAssignment(assignments, true);
  }

  /** The next offset to read of every assigned partition whose position is known. */
  positions(): { topic: string; partition: number; offset: number }[] {
    return [...this.assigned.values()].flatMap((a) => (a.next === null ? [] : [{ topic: a.topic, partition: a.partition, offset: a.next }]));
  }

  /** Resolves once the loop has ended (at once when it is not running); unlike stop(), it waits while a handler runs. */
  async whenStopped(): Promise<void> {
    await this.loopDone;
  }

  assignment(): { topic: string; partition: number }[] {
    return [...this.assigned.values()].map((a) => ({ topic: a.topic, partition: a.partition }));
  }

  /** Moves an assigned partition to a new offset; an in-flight fetch for it is discarded. */
  seek(opts: { readonly topic: string; readonly partition: number; readonly offset: StartOffset }): void {
    const a = this.assigned.get(key(opts.topic, opts.partition));
    if (!a) throw invalidArgument(`${opts.topic}/${opts.partition} is not assigned to this consumer`);
    this.setStart(a, opts.offset);
    a.version++;
    a.retryAt = 0;
    this.signal.wake();
  }

  pause(topics: readonly TopicPartitions[]): void {
    for (const a of this.matching(topics)) a.paused = true;
  }

  resume(topics: readonly TopicPartitions[]): void {
    for (const a of this.matching(topics)) a.paused = false;
    this.signal.wake();
  }

  paused(): { topic: string; partitions: number[] }[] {
    const byTopic = new Map<string, number[]>();
    for (const a of this.assigned.values()) {
      if (!a.paused) continue;
      const list = byTopic.get(a.topic) ?? [];
      list.push(a.partition);
      byTopic.set(a.topic, list);
    }
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
  }

  /** The next offset to read of an assigned partition (null while being looked up). */
  position(topic: string, partition: number): string | null {
    const a = this.assigned.get(key(topic, partition));
    return a && a.next !== null ? formatOffset(a.next) : null;
  }

  /**
   * Checks the assignment against metadata and starts the fetch loop; resolves once it runs.
   * Handler errors and errors that cannot be retried stop the loop with a 'crash' event.
   */
  async run(handlers: RunOptions): Promise<void> {
    if (!handlers.eachMessage && !handlers.eachBatch) throw invalidArgument('run() needs eachMessage or eachBatch');
    if (this.running) throw invalidArgument('the consumer is already running');
    for (const a of this.assigned.values()) {
      const t = await this.cluster.topic(a.topic);
      if (a.partition >= t.partitions.length) throw invalidArgument(`partition ${a.partition} does not exist: topic '${a.topic}' has partitions 0..${t.partitions.length - 1}`);
    }
    this.running = true;
    this.runs++;
    this.completed.length = 0;
    this.loopDone = this.loop(handlers).finally(() => {
      this.running = false;
      // Nothing is asked of the cluster any more: the connections close, so a program that
      // stopped its consumer can exit (run() again opens them again; fetches in flight fail and are dropped).
      if (this.hooks.sharedConnections !== true) this.cluster.close();
      this.events.emit('stop', {});
    });
  }

  /**
   * Stops the loop after the handler that is running, if any, and closes the connections: nothing
   * of the consumer's keeps the process running (disconnect() does the same). Called from inside
   * a handler it does not wait (the loop waits for that handler).
   */
  async stop(): Promise<void> {
    this.running = false;
    this.signal.wake();
    if (!this.inHandler) await this.loopDone;
  }

  // ---------------------------------------------------------------------------------------------

  /** Replaces the assignment; with `keep`, a partition assigned already keeps its entry. */
  private setAssignment(assignments: readonly PartitionAssignment[], keep: boolean): void {
    const next = new Map<string, Assigned>();
    for (const a of assignments) {
      const k = key(a.topic, a.partition);
      const kept = keep ? this.assigned.get(k) : undefined;
      if (kept) {
        next.set(k, kept);
        continue;
      }
      if (typeof a.topic !== 'string' || !Number.isInteger(a.partition) || a.partition < 0) throw invalidArgument(`cannot assign ${String(a.topic)}/${String(a.partition)}`);
      const entry = this.fresh(a.topic, a.partition);
      this.setStart(entry, a.offset);
      next.set(k, entry);
    }
    this.assigned.clear();
    for (const [k, v] of next) this.assigned.set(k, v);
    this.signal.wake();
  }

  private fresh(topic: string, partition: number): Assigned {
    return { topic, partition, next: null, spec: null, resetFrom: null, paused: false, version: 0, busy: false, retryAt: 0, backoff: new Backoff(this.retry), highWatermark: -1 };
  }

  private setStart(a: Assigned, offset: StartOffset): void {
    if (offset === 'earliest' || offset === 'latest') {
      a.next = null;
      a.spec = offset;
    } else {
      a.next = parseOffset(offset);
      a.spec = null;
    }
    a.resetFrom = null;
  }

  private matching(topics: readonly TopicPartitions[]): Assigned[] {
    return [...this.assigned.values()].filter((a) => topics.some((t) => t.topic === a.topic && (t.partitions === undefined || t.partitions.includes(a.partition))));
  }

  private async loop(handlers: RunOptions): Promise<void> {
    try {
      while (this.running) {
        const done = this.completed.shift();
        if (done) {
          if (done.run === this.runs) await this.process(done.outcome, handlers);
          continue;
        }
        await this.resolveOffsets();
        // A routing error marked the metadata stale (or it aged): refresh it beside the fetches,
        // which go on with what is known; the partitions in doubt back off meanwhile.
        this.refreshStaleMetadata();
        this.startFetches();
        if (this.completed.length === 0 && this.running) await this.signal.wait(this.idleWaitMs());
      }
    } catch (err) {
      const error = toRaftlogError(err);
      this.cluster.logger.error(`the consumer stopped: ${error.message}`);
      this.events.emit('crash', { error });
    } finally {
      this.completed.length = 0;
      for (const a of this.assigned.values()) a.busy = false;
    }
  }

  /** At most one background refresh per retry interval, so nodes that refuse are not asked in a tight loop. */
  private refreshStaleMetadata(): void {
    const now = this.cluster.clock.now();
    if (!this.cluster.isStale || now - this.refreshAskedAt < this.retry.initialRetryTimeMs) return;
    this.refreshAskedAt = now;
    void this.cluster.refreshInBackground().then(() => this.signal.wake());
  }

  private idleWaitMs(): number {
    const now = this.cluster.clock.now();
    let wait = IDLE_WAIT_MS;
    for (const a of this.assigned.values()) if (a.retryAt > now) wait = Math.min(wait, a.retryAt - now);
    return wait;
  }

  private ready(a: Assigned, now: number): boolean {
    return !a.paused && !a.busy && a.retryAt <= now;
  }

  /** Looks up 'earliest' / 'latest' starts: one attempt, failures back the partition off. */
  private async resolveOffsets(): Promise<void> {
    const now = this.cluster.clock.now();
    const todo = [...this.assigned.values()].filter((a) => a.next === null && a.spec !== null && this.ready(a, now));
    for (const spec of ['earliest', 'latest'] as const) {
      const list = todo.filter((a) => a.spec === spec);
      if (list.length === 0) continue;
      const versions = list.map((a) => a.version);
      try {
        const found = await listOffsets(this.cluster, list.map((a) => ({ topic: a.topic, partition: a.partition, spec })), { ...this.retry, retries: 0 });
        list.forEach((a, i) => {
          if (a.version !== versions[i] || a.spec !== spec) return;
          a.next = found[i].offset;
          a.spec = null;
          if (a.resetFrom !== null) {
            const event = { topic: a.topic, partition: a.partition, from: formatOffset(a.resetFrom), to: formatOffset(a.next) };
            a.resetFrom = null;
            this.cluster.logger.warn(`${a.topic}/${a.partition}: offset ${event.from} is out of range; reset to the earliest offset ${event.to}`);
            this.events.emit('offsetReset', event);
          }
        });
      } catch (err) {
        for (const a of list) this.partitionFailed(a, toRaftlogError(err));
      }
    }
  }

  private startFetches(): void {
    const now = this.cluster.clock.now();
    const byLeader = new Map<string, Assigned[]>();
    for (const a of this.assigned.values()) {
      if (a.next === null || !this.ready(a, now)) continue;
      let address: string;
      try {
        address = this.cluster.leaderAddress(a.topic, a.partition);
      } catch (err) {
        this.partitionFailed(a, toRaftlogError(err));
        continue;
      }
      const list = byLeader.get(address) ?? [];
      list.push(a);
      byLeader.set(address, list);
    }
    const round = this.fetchRounds++;
    for (const [address, all] of byLeader) {
      const turn = round % all.length;
      // The rest wait for the next turn of the loop.
      const parts = [...all.slice(turn), ...all.slice(0, turn)].slice(0, LIMITS.fetchPartitionsMax);
      for (const a of parts) a.busy = true;
      const versions = parts.map((a) => a.version);
      const run = this.runs;
      const partitions = parts.map((a) => ({ topic: a.topic, partition: a.partition, offset: a.next ?? 0, maxBytes: this.maxBytesPerPartition }));
      // Cannot reject: a failed request becomes a 'failure' outcome, which the loop handles.
      void this.cluster
        .request(address, { type: 'fetch', maxWaitMs: this.maxWaitMs, minBytes: this.minBytes, maxBytes: this.maxBytes, partitions }, this.maxWaitMs + this.requestTimeoutMs)
        .then(
          (response): FetchOutcome => ({ kind: 'response', address, parts, versions, response }),
          (err: unknown): FetchOutcome => ({ kind: 'failure', address, parts, error: toRaftlogError(err) }),
        )
        .then((outcome) => {
          this.completed.push({ run, outcome });
          this.signal.wake();
        });
    }
  }

  private partitionFailed(a: Assigned, err: RaftlogError): void {
    if (!shouldRetry(err)) throw err;
    this.cluster.notePartitionError(a.topic, a.partition, err);
    const delay = a.backoff.after(err) ?? a.backoff.next();
    a.retryAt = this.cluster.clock.now() + delay;
    // The consumer keeps trying (at most maxRetryTimeMs apart); a person hears of it once.
    const message = `${a.topic}/${a.partition}: ${err.message}; still retrying (attempt ${a.backoff.attempts}, next in ${delay} ms)`;
    if (a.backoff.attempts === this.retry.retries) this.cluster.logger.warn(message);
    else this.cluster.logger.debug(message);
  }

  private async process(outcome: FetchOutcome, handlers: RunOptions): Promise<void> {
    for (const a of outcome.parts) a.busy = false;
    if (outcome.kind === 'failure') {
      for (const a of outcome.parts) if (this.isAssigned(a)) this.partitionFailed(a, outcome.error.withContext(`${a.topic}/${a.partition}`));
      return;
    }
    const results = byPartition(Array.isArray(outcome.response.partitions) ? outcome.response.partitions : []);
    for (const [i, a] of outcome.parts.entries()) {
      if (!this.running) return;
      // Data of a partition paused or moved (seek) since the fetch began is dropped.
      if (!this.isAssigned(a) || a.paused || a.version !== outcome.versions[i] || a.next === null) continue;
      const r = results.get(key(a.topic, a.partition));
      if (!r) continue;
      if (r.error) {
        const err = fromApiError(r.error, { topic: a.topic, partition: a.partition, node: outcome.address });
        if (err.code === ErrorCode.OffsetOutOfRange) {
          a.resetFrom = a.next;
          a.next = null;
          a.spec = 'earliest';
        } else {
          this.partitionFailed(a, err);
        }
        continue;
      }
      a.backoff.reset();
      a.highWatermark = r.highWatermark;
      await this.deliver(a, a.version, r.batches, handlers);
    }
  }

  private isAssigned(a: Assigned): boolean {
    return this.assigned.get(key(a.topic, a.partition)) === a;
  }

  /** Decodes the batches and hands their records to the handler, advancing the offset. */
  private async deliver(a: Assigned, version: number, batches: readonly Uint8Array[], handlers: RunOptions): Promise<void> {
    const current = (): boolean => this.running && !a.paused && a.version === version && this.isAssigned(a);
    const collected: ConsumedMessage[] = [];
    let end = a.next ?? 0;
    for (const bytes of batches) {
      let batchEnd: number;
      try {
        const h = readBatchHeader(bytes);
        batchEnd = h.baseOffset + h.lastOffsetDelta + 1;
        if ((h.attributes & BatchAttributes.Control) === 0) {
          for (const rec of records(bytes)) {
            if (rec.offset < end) continue;
            const message = toConsumedMessage(rec);
            if (handlers.eachMessage) {
              await this.call(() => handlers.eachMessage?.({ topic: a.topic, partition: a.partition, message }));
              // The record was handled: it counts even if the handler stopped the consumer.
              if (a.version === version && this.isAssigned(a)) {
                a.next = rec.offset + 1;
                await this.hooks.processed?.(a.topic, a.partition, 1);
              }
              if (!current()) return;
            } else {
              collected.push(message);
            }
            end = rec.offset + 1;
          }
        }
      } catch (err) {
        if (err instanceof RaftlogError) throw err;
        throw new RaftlogError(ErrorCode.CorruptMessage, `${a.topic}/${a.partition}: a fetched batch cannot be decoded: ${toRaftlogError(err).message}`, { cause: err });
      }
      end = Math.max(end, batchEnd);
      if (handlers.eachMessage) a.next = Math.max(a.next ?? 0, batchEnd);
    }
    const eachBatch = handlers.eachBatch;
    if (!handlers.eachMessage && eachBatch && collected.length > 0) {
      const batch: Batch = {
        topic: a.topic,
        partition: a.partition,
        highWatermark: formatOffset(a.highWatermark),
        messages: collected,
        isEmpty: () => collected.length === 0,
        firstOffset: () => collected[0]?.offset ?? null,
        lastOffset: () => formatOffset(end - 1),
      };
      await this.call(() => eachBatch({ batch, isRunning: () => this.running, isStale: () => a.version !== version }));
    }
    if (a.version === version && this.isAssigned(a)) {
      a.next = Math.max(a.next ?? 0, end);
      if (!handlers.eachMessage && collected.length > 0) await this.hooks.processed?.(a.topic, a.partition, collected.length);
    }
  }

  private async call(fn: () => Promise<void> | void): Promise<void> {
    this.inHandler = true;
    try {
      await fn();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new RaftlogError(ClientErrorCode.HandlerError, `a consumer handler threw: ${why}`, { cause: err });
    } finally {
      this.inHandler = false;
    }
  }
}
