/**
 * The group consumer (`client.consumer({ groupId })`): the members of a group share the
 * partitions of the topics they subscribe to, one owner per partition per generation, and resume
 * from the offsets the group committed.
 *
 * Once run(), a loop repeats:
 *   1. join and sync (group-membership.ts); the leader member computes everyone's assignment with
 *      the assignor the coordinator chose (sticky by default);
 *   2. start each newly assigned partition at the group's committed offset (none: the earliest
 *      with fromBeginning, else the latest); a partition kept from the last generation keeps its
 *      position;
 *   3. fetch and handle with a plain Consumer, while heartbeats and auto-commits run on their own
 *      timers (so a slow handler does not cost the membership);
 *   4. on a rebalance (a heartbeat or a commit says so, the subscribed topics or partition counts
 *      changed), stop(), or a crash: stop fetching, wait for the running handler, commit what
 *      was processed, then rejoin, or leave the group.
 *
 * This is Kafka's eager protocol: every partition is revoked for a rebalance, and the sticky
 * assignor hands most of them back. At least once: the committed offset of a partition is its
 * position, which moves past a record only once its handler returned; a crash or a lost
 * membership replays from the last commit. With autoCommit off the application commits, and
 * nothing is committed for it, not even at a rebalance or stop.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { sleep, type Timer } from '../wire/clock.js';
import type { JoinGroupResponse } from '../wire/protocol.js';
import { DEFAULT_ASSIGNORS } from './assignors/index.js';
import { encodeMetadata } from './assignors/protocol.js';
import { tpKey as key, type Assignor, type TopicPartitionList } from './assignors/types.js';
import type { Cluster } from './cluster.js';
import { Consumer } from './consumer.js';
import type { EachBatchPayload, EachMessagePayload, RunOptions, StartOffset, TopicPartitions } from './consumer-types.js';
import { RaftlogError, checkTopicName, invalidArgument, shouldRetry, toRaftlogError } from './errors.js';
import { GroupCommits } from './group-commits.js';
import { Heartbeats } from './group-heartbeat.js';
import type { GroupConsumerEvents, GroupConsumerOptions, GroupRunOptions, OffsetToCommit, SubscribeOptions } from './group-consumer-types.js';
import { assignAsLeader } from './group-leader.js';
import { GroupMembership, checkGroupOptions, type JoinOutcome } from './group-membership.js';
import { formatOffset, parseOffset } from './offsets.js';
import { Backoff, retryOptions, type RetryOptions } from './retry.js';
import { Emitter, Signal } from './signal.js';

const STOPPED = Symbol('stopped');
type Joined = Extract<JoinOutcome, { kind: 'joined' }>;

interface RunState {
  readonly handlers: RunOptions;
  readonly autoCommit: boolean;
  readonly autoCommitIntervalMs: number | null;
  readonly autoCommitThreshold: number | null;
}

interface Subscription {
  readonly match: string | RegExp;
  readonly fromBeginning: boolean;
}

/** A RegExp without the g/y flags, whose test() keeps state between calls. */
function stateless(re: RegExp): RegExp {
  return new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
}

function optionalCount(v: number | null | undefined, what: string, fallback: number | null): number | null {
  if (v === undefined) return fallback;
  if (v === null || v === 0) return null;
  if (!Number.isSafeInteger(v) || v < 0) throw invalidArgument(`${what} must be a non-negative integer, not ${String(v)}`);
  return v;
}

export class GroupConsumer {
  readonly groupId: string;
  private readonly cluster: Cluster;
  private readonly inner: Consumer;
  private readonly membership: GroupMembership;
  private readonly assignors: readonly Assignor[];
  private readonly metadataMaxAgeMs: number;
  private readonly retry: Required<RetryOptions>;
  private readonly events = new Emitter<GroupConsumerEvents>();
  /** Set while a handler runs: tells stop() it is called from inside one. */
  private readonly handlerContext = new AsyncLocalStorage<boolean>();
  private readonly signal: Signal;

  private readonly subscriptions: Subscription[] = [];
  private topics: string[] = [];
  /** What the member owned, and in which generation: its metadata for the sticky assignor. */
  private owned: TopicPartitionList[] = [];
  private ownedGeneration = -1;
  /** As the leader: the partition counts the assignment was computed from. */
  private leaderCounts: Map<string, number> | null = null;
  private readonly commits: GroupCommits;
  private readonly pausedTopics = new Set<string>();
  private readonly pausedPartitions = new Set<string>();

  private current: RunState | null = null;
  private loopDone: Promise<void> | null = null;
  private stopping = false;
  private stopped: Promise<typeof STOPPED> = Promise.resolve(STOPPED);
  private wakeStopped: () => void = () => undefined;
  private rejoinReason: string | null = null;
  private crashError: RaftlogError | null = null;
  private readonly heartbeats: Heartbeats;
  private commitTimer: Timer | null = null;
  private processedSinceCommit = 0;

  constructor(cluster: Cluster, opts: GroupConsumerOptions, clientId: string) {
    const { sessionTimeoutMs, rebalanceTimeoutMs, heartbeatIntervalMs } = checkGroupOptions(opts);
    this.groupId = opts.groupId;
    this.cluster = cluster;
    this.assignors = opts.partitionAssigners ?? DEFAULT_ASSIGNORS;
    const names = this.assignors.map((a) => a.name);
    if (names.length === 0 || new Set(names).size !== names.length) throw invalidArgument(`partitionAssigners must name at least one assignor, each once (got ${names.join(', ') || 'none'})`);
    this.metadataMaxAgeMs = opts.metadataMaxAge ?? 300_000;
    this.retry = retryOptions({ ...cluster.config.retry, ...opts.retry });
    const requestTimeoutMs = opts.requestTimeoutMs ?? cluster.config.requestTimeoutMs;
    this.membership = new GroupMembership(cluster, { groupId: opts.groupId, clientId, sessionTimeoutMs, rebalanceTimeoutMs, requestTimeoutMs, assignors: this.assignors, retry: this.retry });
    this.signal = new Signal(cluster.clock);
    this.heartbeats = new Heartbeats(this.membership, heartbeatIntervalMs, sessionTimeoutMs, cluster.logger, cluster.clock, {
      ok: (generation) => this.events.emit('heartbeat', { groupId: this.groupId, memberId: this.membership.memberId, generation }),
      rejoin: (reason) => this.requestRejoin(reason),
    });
    this.commits = new GroupCommits(this.membership, {
      committed: (offsets, memberId, generation) => this.events.emit('commit.offsets', { groupId: this.groupId, memberId, generation, offsets }),
      mustRejoin: (reason) => this.requestRejoin(reason),
    });
    this.inner = new Consumer(
      cluster,
      { maxWaitTimeInMs: opts.maxWaitTimeInMs, minBytes: opts.minBytes, maxBytes: opts.maxBytes, maxBytesPerPartition: opts.maxBytesPerPartition, requestTimeoutMs, retry: opts.retry },
      { processed: (_topic, _partition, messages) => this.onProcessed(messages), sharedConnections: true },
    );
    this.inner.on('crash', ({ error }) => {
      this.crashError = error;
      this.signal.wake();
    });
    this.inner.on('offsetReset', (e) => this.events.emit('offsetReset', e));
  }

  on<K extends keyof GroupConsumerEvents>(event: K, listener: (e: GroupConsumerEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  async connect(): Promise<void> {
    await this.cluster.metadataWithRetry();
  }

  /** Stops (committing and leaving the group) and closes the connections. */
  async disconnect(): Promise<void> {
    await this.stop();
    this.cluster.close();
  }

  /** Adds topics (names or patterns) to the subscription; call it before run(). */
  subscribe(opts: SubscribeOptions): void {
    if (this.loopDone) throw invalidArgument('subscribe() before run(): the subscription is part of what the member tells the group when it joins');
    const list = opts.topics instanceof RegExp ? [opts.topics] : Array.isArray(opts.topics) ? [...opts.topics] : null;
    if (list === null || list.length === 0) throw invalidArgument('subscribe() needs topics: a list of names and RegExps, or one RegExp');
    for (const t of list) if (!(t instanceof RegExp)) checkTopicName(t);
    for (const match of list) this.subscriptions.push({ match: match instanceof RegExp ? stateless(match) : match, fromBeginning: opts.fromBeginning === true });
  }

  /**
   * Checks the subscription and starts the group loop; resolves once it runs (the first join
   * follows: see the 'group.join' event). Handler errors and errors that cannot be retried stop
   * it with a 'crash' event, after it committed what was processed and left the group.
   */
  async run(opts: GroupRunOptions): Promise<void> {
    if (!opts.eachMessage && !opts.eachBatch) throw invalidArgument('run() needs eachMessage or eachBatch');
    if (this.loopDone || this.current) throw invalidArgument('the consumer is already running');
    if (this.subscriptions.length === 0) throw invalidArgument('subscribe() to at least one topic before run()');
    const run: RunState = {
      handlers: this.wrap(opts),
      autoCommit: opts.autoCommit ?? true,
      autoCommitIntervalMs: optionalCount(opts.autoCommitInterval, 'autoCommitInterval', 5000),
      autoCommitThreshold: optionalCount(opts.autoCommitThreshold, 'autoCommitThreshold', null),
    };
    this.current = run;
    try {
      this.topics = await this.resolveTopics(true);
    } catch (err) {
      this.current = null;
      throw err;
    }
    this.stopping = false;
    this.crashError = null;
    this.rejoinReason = null;
    this.stopped = new Promise((resolve) => (this.wakeStopped = () => resolve(STOPPED)));
    this.loopDone = this.loop(run).finally(() => {
      this.loopDone = null;
      this.current = null;
      // Committed and left: the connections close, so a program that stopped its consumer can exit (run() opens them again).
      this.cluster.close();
    });
  }

  /**
   * Stops after the running handler, commits what was processed (with autoCommit), leaves the
   * group and closes the connections: nothing of the consumer's keeps the process running. Called
   * from inside a handler it does not wait: the loop ends once the handler returns.
   */
  async stop(): Promise<void> {
    const done = this.loopDone;
    if (done === null) return;
    this.stopping = true;
    this.wakeStopped();
    this.signal.wake();
    void this.inner.stop();
    if (this.handlerContext.getStore() === true) return;
    await done;
  }

  /**
   * Commits offsets (each the next offset to read) with this member's generation; rejects with
   * the refusal of any partition, e.g. ILLEGAL_GENERATION after the group moved on (the
   * partition may belong to another member now). Outside a generation the commit is standalone,
   * which the coordinator accepts only while the group has no members.
   */
  async commitOffsets(offsets: readonly OffsetToCommit[]): Promise<void> {
    const parsed = offsets.map((o) => {
      if (typeof o.topic !== 'string' || !Number.isSafeInteger(o.partition) || o.partition < 0) throw invalidArgument(`cannot commit ${String(o.topic)}/${String(o.partition)}`);
      return { topic: o.topic, partition: o.partition, offset: parseOffset(o.offset, `${o.topic}/${o.partition} offset`) };
    });
    await this.commits.commit(parsed);
  }

  /** Moves an assigned partition to a new offset; the next commit stores it (with autoCommit). */
  seek(opts: { readonly topic: string; readonly partition: number; readonly offset: StartOffset }): void {
    this.inner.seek(opts);
  }

  /** Stops fetching these partitions (all of a topic when none are named, also ones assigned later). */
  pause(topics: readonly TopicPartitions[]): void {
    for (const t of topics) {
      if (t.partitions === undefined) this.pausedTopics.add(t.topic);
      else for (const p of t.partitions) this.pausedPartitions.add(key(t.topic, p));
    }
    this.inner.pause(topics);
  }

  resume(topics: readonly TopicPartitions[]): void {
    for (const t of topics) {
      if (t.partitions === undefined) {
        this.pausedTopics.delete(t.topic);
        for (const k of [...this.pausedPartitions]) if (k.startsWith(`${t.topic}\u0000`)) this.pausedPartitions.delete(k);
        continue;
      }
      if (this.pausedTopics.delete(t.topic)) {
        // The rest of the topic stays paused.
        for (const a of this.inner.assignment()) if (a.topic === t.topic) this.pausedPartitions.add(key(a.topic, a.partition));
      }
      for (const p of t.partitions) this.pausedPartitions.delete(key(t.topic, p));
    }
    this.inner.resume(topics);
  }

  paused(): { topic: string; partitions: number[] }[] {
    return this.inner.paused();
  }

  /** The partitions this member owns in the current generation. */
  assignment(): { topic: string; partition: number }[] {
    return this.inner.assignment();
  }

  /** The next offset to read of an owned partition (null while being looked up). */
  position(topic: string, partition: number): string | null {
    return this.inner.position(topic, partition);
  }

  /** The member id and generation (empty and -1 outside the group). */
  membershipInfo(): { memberId: string; generation: number } {
    return { memberId: this.membership.memberId, generation: this.membership.generation };
  }

  // ---------------------------------------------------------------------------------------------
  // The loop

  private async loop(run: RunState): Promise<void> {
    let error: RaftlogError | null = null;
    try {
      while (!this.stopping) {
        this.stopTimers();
        const joined = await this.join();
        if (joined === null) break;
        if (!(await this.adopted(joined))) continue;
        this.startTimers(run);
        await this.inner.run(run.handlers);
        await this.waitForTrigger();
        this.stopAutoCommits();
        await this.stopFetching();
        if (this.crashError) break;
        if (run.autoCommit) await this.commitQuietly(this.stopping ? 'before leaving' : 'before rejoining');
      }
    } catch (err) {
      error = toRaftlogError(err);
    } finally {
      this.stopTimers();
      await this.stopFetching();
      error ??= this.crashError;
      if (error && run.autoCommit) await this.commitQuietly('before leaving after a crash');
      await this.leave();
      if (error) {
        this.cluster.logger.error(`group '${this.groupId}': the consumer stopped: ${error.message}`);
        this.events.emit('crash', { error });
      }
      this.events.emit('stop', {});
    }
  }

  /** Joins until it has a generation and an assignment; null when stopped first. */
  private async join(): Promise<Joined | null> {
    const backoff = new Backoff(this.retry);
    let rejoins = 0;
    for (;;) {
      if (this.stopping) return null;
      // A member the coordinator dropped starts over: its positions may be stale.
      if (this.membership.memberId === '') this.forgetPartitions();
      const metadata = encodeMetadata({ topics: this.topics, owned: this.owned, generation: this.ownedGeneration });
      let outcome: JoinOutcome | typeof STOPPED;
      try {
        outcome = await Promise.race([this.membership.joinAndSync(metadata, (protocol, members) => this.leaderAssign(protocol, members)), this.stopped]);
      } catch (err) {
        const e = toRaftlogError(err);
        if (!shouldRetry(e)) throw e;
        const delay = backoff.next();
        const message = `group '${this.groupId}': cannot join yet: ${e.message}; trying again in ${delay} ms`;
        if (backoff.attempts === this.retry.retries) this.cluster.logger.warn(message);
        else this.cluster.logger.debug(message);
        await Promise.race([sleep(this.cluster.clock, delay), this.stopped]);
        continue;
      }
      if (outcome === STOPPED) return null;
      if (outcome.kind === 'joined') return outcome;
      this.cluster.logger.info(`group '${this.groupId}': joining again: ${outcome.reason}`);
      // The first rejoin is at once; a coordinator that keeps refusing gets a backoff.
      if (rejoins++ > 0) await Promise.race([sleep(this.cluster.clock, backoff.next()), this.stopped]);
    }
  }

  /** adopt(), or false when a failure that may pass (the coordinator moved) asks for a rejoin. */
  private async adopted(j: Joined): Promise<boolean> {
    try {
      await this.adopt(j);
      return true;
    } catch (err) {
      if (!shouldRetry(err)) throw err;
      this.cluster.logger.warn(`group '${this.groupId}': could not start generation ${j.generation} (${err.message}); joining again`);
      return false;
    }
  }

  /** Takes the generation's assignment: new partitions start at the committed offsets. */
  private async adopt(j: Joined): Promise<void> {
    this.rejoinReason = null;
    if (j.leaderId !== j.memberId) this.leaderCounts = null;
    const pairs = j.assignment.flatMap((l) => l.partitions.map((partition) => ({ topic: l.topic, partition })));
    // Know every assigned partition before fetching (a topic may have grown since it was cached).
    if (pairs.length > 0) await this.cluster.metadataWithRetry([...new Set(pairs.map((p) => p.topic))]);
    const kept = new Set(this.inner.assignment().map((a) => key(a.topic, a.partition)));
    const fresh = pairs.filter((tp) => !kept.has(key(tp.topic, tp.partition)));
    const found = fresh.length > 0 ? await this.membership.fetchOffsets(fresh) : new Map<string, number>();
    const starts = pairs.map((tp) => {
      const k = key(tp.topic, tp.partition);
      // A kept partition keeps its position: reassign() ignores the offset given for it.
      if (kept.has(k)) return { ...tp, offset: 'earliest' as const };
      const c = found.get(k) ?? -1;
      this.commits.note(tp.topic, tp.partition, c);
      return { ...tp, offset: c >= 0 ? formatOffset(c) : this.startFor(tp.topic) };
    });
    this.inner.reassign(starts);
    this.commits.retain(new Set(pairs.map((tp) => key(tp.topic, tp.partition))));
    const paused = pairs.filter((tp) => this.pausedTopics.has(tp.topic) || this.pausedPartitions.has(key(tp.topic, tp.partition)));
    if (paused.length > 0) this.inner.pause(paused.map((tp) => ({ topic: tp.topic, partitions: [tp.partition] })));
    this.owned = j.assignment;
    this.ownedGeneration = j.generation;
    this.processedSinceCommit = 0;
    this.events.emit('group.join', {
      groupId: this.groupId,
      memberId: j.memberId,
      leaderId: j.leaderId,
      isLeader: j.leaderId === j.memberId,
      generation: j.generation,
      protocol: j.protocol,
      memberAssignment: j.assignment,
      durationMs: j.durationMs,
    });
  }

  /** Waits for a reason to leave the consuming phase, looking at metadata now and then. */
  private async waitForTrigger(): Promise<void> {
    const clock = this.cluster.clock;
    let nextCheck = clock.now() + this.metadataMaxAgeMs;
    while (!this.stopping && this.crashError === null && this.rejoinReason === null) {
      const left = nextCheck - clock.now();
      if (left <= 0) {
        await this.checkMetadata();
        nextCheck = clock.now() + this.metadataMaxAgeMs;
        continue;
      }
      await this.signal.wait(left);
    }
  }

  private async stopFetching(): Promise<void> {
    void this.inner.stop();
    await this.inner.whenStopped();
  }

  private async leave(): Promise<void> {
    const memberId = this.membership.memberId;
    if (memberId === '') return;
    try {
      await this.membership.leave();
      this.events.emit('group.leave', { groupId: this.groupId, memberId });
    } catch (err) {
      this.cluster.logger.warn(`group '${this.groupId}': could not leave the group (the session timeout will remove member ${memberId}): ${toRaftlogError(err).message}`);
    }
  }

  private requestRejoin(reason: string): void {
    if (this.rejoinReason !== null || this.stopping) return;
    this.rejoinReason = reason;
    this.events.emit('rebalancing', { groupId: this.groupId, memberId: this.membership.memberId, reason });
    this.signal.wake();
  }

  private forgetPartitions(): void {
    this.inner.assign([]);
    this.commits.clear();
    this.owned = [];
    this.ownedGeneration = -1;
  }

  private wrap(opts: RunOptions): RunOptions {
    const context = this.handlerContext;
    const { eachMessage, eachBatch } = opts;
    if (eachMessage) return { eachMessage: (p: EachMessagePayload) => context.run(true, () => eachMessage(p)) };
    if (eachBatch) return { eachBatch: (p: EachBatchPayload) => context.run(true, () => eachBatch(p)) };
    return {};
  }

  private startFor(topic: string): 'earliest' | 'latest' {
    const s = this.subscriptions.find((x) => (typeof x.match === 'string' ? x.match === topic : x.match.test(topic)));
    return s?.fromBeginning ? 'earliest' : 'latest';
  }

  // ---------------------------------------------------------------------------------------------
  // Subscription and the leader's assignment

  /** The subscribed topic names; `strict` insists that the named ones exist. */
  private async resolveTopics(strict: boolean): Promise<string[]> {
    const names = new Set<string>();
    for (const s of this.subscriptions) {
      if (typeof s.match !== 'string') continue;
      if (strict) await this.cluster.topic(s.match);
      names.add(s.match);
    }
    const patterns = this.subscriptions.flatMap((s) => (s.match instanceof RegExp ? [s.match] : []));
    if (patterns.length > 0) {
      const md = await this.cluster.metadataWithRetry();
      for (const t of md.topics) if (!t.error && patterns.some((p) => p.test(t.name))) names.add(t.name);
    }
    return [...names].sort();
  }

  /** A new matching topic, or (as the leader) a partition count that changed, starts a rebalance. */
  private async checkMetadata(): Promise<void> {
    try {
      const topics = await this.resolveTopics(false);
      if (topics.join('\u0000') !== this.topics.join('\u0000')) {
        this.topics = topics;
        this.requestRejoin(`the subscribed topics are now: ${topics.join(', ') || 'none'}`);
        return;
      }
      const counts = this.leaderCounts;
      if (counts === null || counts.size === 0) return;
      const md = await this.cluster.fetchMetadata([...counts.keys()]);
      for (const t of md.topics) {
        const now = t.error ? 0 : t.partitions.length;
        if (now !== counts.get(t.name)) {
          this.requestRejoin(`topic '${t.name}' has ${now} partitions now, not ${counts.get(t.name) ?? 0}`);
          return;
        }
      }
    } catch (err) {
      this.cluster.logger.debug(`group '${this.groupId}': metadata check failed: ${toRaftlogError(err).message}`);
    }
  }

  private async leaderAssign(protocol: string, members: JoinGroupResponse['members']): Promise<{ memberId: string; assignment: Uint8Array }[]> {
    const { assignments, counts } = await assignAsLeader(this.cluster, this.groupId, this.assignors, protocol, members);
    this.leaderCounts = counts;
    return assignments;
  }

  // ---------------------------------------------------------------------------------------------
  // Heartbeats and commits

  private startTimers(run: RunState): void {
    this.heartbeats.start();
    if (run.autoCommit && run.autoCommitIntervalMs !== null) {
      this.commitTimer = this.cluster.clock.every(run.autoCommitIntervalMs, () => void this.commitQuietly('on the auto-commit interval'));
    }
  }

  private stopAutoCommits(): void {
    this.commitTimer?.cancel();
    this.commitTimer = null;
  }

  private stopTimers(): void {
    this.heartbeats.stop();
    this.stopAutoCommits();
  }

  private async onProcessed(messages: number): Promise<void> {
    this.processedSinceCommit += messages;
    const threshold = this.current?.autoCommit ? this.current.autoCommitThreshold : null;
    if (threshold !== null && threshold !== undefined && this.processedSinceCommit >= threshold) await this.commitQuietly('on the auto-commit threshold');
  }

  /** Commits every position that moved since the last commit; failures are logged. */
  private async commitQuietly(when: string): Promise<void> {
    if (!this.membership.active) return;
    const counted = this.processedSinceCommit;
    try {
      await this.commits.commit(this.commits.changed(this.inner.positions()));
      this.processedSinceCommit = Math.max(0, this.processedSinceCommit - counted);
    } catch (err) {
      this.cluster.logger.warn(`group '${this.groupId}': commit ${when} failed (those records may be read again): ${toRaftlogError(err).message}`);
    }
  }
}
