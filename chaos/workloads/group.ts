/**
 * Group consumers: members of one consumer group (`client.consumer({ groupId })`) share the
 * topic's partitions, resume each partition they are given from the group's committed offset,
 * and commit what they read (manual commits, autoCommit off, so each commit is one recorded
 * operation). A worker runs one member at a time for a random life, then stops it (it leaves the
 * group, which rebalances) and starts another.
 *
 * History, per member:
 * - a control process records each generation's start: `assign { group, keys: <every key>, seek:
 *   "committed" }`, invoked when the member starts (re)joining ('rebalancing', or run()), before
 *   the library fetches the committed offsets, and completed at 'group.join' with `{ start }`
 *   holding the position of each partition this member did not own in its previous generation
 *   (a partition it keeps continues from its own position, not from the commit). A member that
 *   stops or crashes before joining ends the op with `info`.
 * - each partition owned in a generation is its own process: `poll` invoked at 'group.join'
 *   and again when each eachBatch handler returns, completed by the next eachBatch call for that
 *   partition (the library fetches a partition again only after its handler returned); now and
 *   then, inside the handler, `commit { group, offsets: { key: next } }` through commitOffsets().
 *   A poll still open when the partition is taken away ends with `info`.
 * - an observer process reads the group's offsets now and then: `fetchCommitted`.
 */
import { Client } from '../../src/client/client.js';
import type { Batch } from '../../src/client/consumer-types.js';
import type { GroupConsumer } from '../../src/client/group-consumer.js';
import { silentLogger } from '../../src/client/logger.js';
import { classify } from '../outcome.js';
import type { OpenOp } from '../recorder.js';
import { CHAOS_RETRY, keyOf, keys, noteHw, rawCluster, type WorkloadContext } from './context.js';
import { OffsetClient } from './committer.js';

export interface GroupOptions {
  readonly group: string;
  /** A member's life, ms: [min, max]. */
  readonly lifeMs: readonly [number, number];
  /** Chance that a handler call commits what it read. */
  readonly commitChance: number;
}

/** One owned partition in one generation: its process and open poll. */
interface Owned {
  process: number;
  poll: OpenOp | null;
  from: number;
  /** The partition is being taken away: complete the open poll, open no new one. */
  closing: boolean;
}

export async function groupWorker(ctx: WorkloadContext, opts: GroupOptions): Promise<void> {
  const client = new Client({ brokers: ctx.nodes.map((n) => n.address), logger: ctx.logger ?? silentLogger, retry: CHAOS_RETRY });
  while (!ctx.stopper.isStopped) {
    const life = opts.lifeMs[0] + ctx.random() * (opts.lifeMs[1] - opts.lifeMs[0]);
    await member(ctx, client, opts, life);
    await ctx.stopper.sleep(200);
  }
}

async function member(ctx: WorkloadContext, client: Client, opts: GroupOptions, lifeMs: number): Promise<void> {
  const { recorder: rec, topic } = ctx;
  const allKeys = keys(ctx);
  const consumer: GroupConsumer = client.consumer({
    groupId: opts.group,
    sessionTimeout: 6000,
    heartbeatInterval: 1000,
    rebalanceTimeout: 8000,
    maxWaitTimeInMs: 300,
    maxBytesPerPartition: 32 * 1024,
    retry: CHAOS_RETRY,
    requestTimeoutMs: ctx.timeouts.requestMs,
  });
  const control = rec.newProcess();
  let assign: OpenOp | null = null;
  let previous = new Set<number>();
  const owned = new Map<number, Owned>();
  let ended = false;

  const beginAssign = (): void => {
    if (assign === null && !ended) assign = rec.invoke(control, 'assign', { group: opts.group, keys: allKeys, seek: 'committed' });
  };
  const closeOwned = (why: string): void => {
    for (const o of owned.values()) if (o.poll !== null && !o.poll.done) rec.info(o.poll, why);
    owned.clear();
  };
  const endAll = (why: string): void => {
    if (ended) return;
    ended = true;
    if (assign !== null && !assign.done) rec.info(assign, why);
    closeOwned(why);
  };

  const offs = [
    consumer.on('rebalancing', () => {
      for (const o of owned.values()) o.closing = true;
      beginAssign();
    }),
    consumer.on('group.join', ({ memberAssignment }) => {
      if (ended) return;
      closeOwned('the partition was reassigned');
      const now = memberAssignment.filter((t) => t.topic === topic).flatMap((t) => [...t.partitions]);
      const start: Record<string, number> = {};
      for (const p of now) {
        const pos = consumer.position(topic, p);
        if (pos === null || previous.has(p)) continue;
        start[keyOf(topic, p)] = Number(pos);
      }
      // Without an assign open since before the join (which fetched the committed offsets), no
      // start can be vouched for: the generation goes unrecorded, its polls still are.
      if (assign !== null) rec.ok(assign, { start });
      assign = null;
      previous = new Set(now);
      const unknown = new Map<number, Owned>();
      for (const p of now) {
        const pos = consumer.position(topic, p);
        const o: Owned = { process: rec.newProcess(), poll: null, from: pos === null ? -1 : Number(pos), closing: false };
        if (o.from >= 0) o.poll = rec.invoke(o.process, 'poll', { from: { [keyOf(topic, p)]: o.from } });
        else unknown.set(p, o);
        owned.set(p, o);
      }
      if (unknown.size > 0) void startAtLogStart(unknown);
    }),
    consumer.on('crash', ({ error }) => endAll(`the consumer crashed: ${error.code}: ${error.message}`)),
  ];

  /**
   * Partitions the group has no committed offset for start at their log start (fromBeginning),
   * which the library looks up after 'group.join': they are held paused while the workload looks
   * it up itself and seeks there, so that the first poll is invoked from a known offset before the
   * library fetches. (Before, the first batch was read but left out of the history, and once
   * retention deleted its records nothing could show they had been read: a soak's checker then
   * reported them as lost writes.) Should the look-up fail, the library starts them as it would,
   * their first batch unrecorded.
   */
  const admin = client.admin();
  const startAtLogStart = async (parts: ReadonlyMap<number, Owned>): Promise<void> => {
    const ps = [...parts.keys()];
    consumer.pause([{ topic, partitions: ps }]);
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      for (const [p, o] of parts) {
        const low = offsets.find((x) => x.partition === p)?.low;
        if (owned.get(p) !== o || o.closing || ended || low === undefined || consumer.position(topic, p) !== null) continue;
        consumer.seek({ topic, partition: p, offset: low });
        o.from = Number(low);
        o.poll = rec.invoke(o.process, 'poll', { from: { [keyOf(topic, p)]: o.from } });
      }
    } catch {
      // Left to the library (see above).
    } finally {
      consumer.resume([{ topic, partitions: ps }]);
    }
  };

  const handle = async (batch: Batch): Promise<void> => {
    const o = owned.get(batch.partition);
    if (o === undefined || ended) return;
    const key = keyOf(topic, batch.partition);
    const msgs = batch.messages.map((m): [number, string | null] => [Number(m.offset), m.value === null ? null : m.value.toString('utf8')]);
    const hw = Number(batch.highWatermark);
    if (o.poll !== null && !o.poll.done) {
      rec.ok(o.poll, { msgs: { [key]: msgs }, hw: { [key]: hw } });
      noteHw(ctx, key, hw);
    }
    o.poll = null;
    const last = msgs[msgs.length - 1];
    if (last !== undefined) o.from = last[0] + 1;
    if (o.closing || o.from < 0) return;
    if (ctx.random() < opts.commitChance) {
      const next = o.from;
      const op = rec.invoke(o.process, 'commit', { group: opts.group, offsets: { [key]: next } });
      try {
        await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(next) }]);
        rec.ok(op);
      } catch (err) {
        const c = classify(err);
        if (c.type === 'fail') rec.fail(op, c.error);
        else {
          rec.info(op, c.error);
          o.process = rec.newProcess();
        }
      }
    }
    if (!o.closing && !ended && owned.get(batch.partition) === o) o.poll = rec.invoke(o.process, 'poll', { from: { [key]: o.from } });
  };

  consumer.subscribe({ topics: [topic], fromBeginning: true });
  beginAssign();
  try {
    await consumer.run({ autoCommit: false, eachBatch: ({ batch }) => handle(batch) });
  } catch (err) {
    endAll(`run() failed: ${(err as Error).message}`);
  }
  const deadline = Date.now() + lifeMs;
  while (!ended && !ctx.stopper.isStopped && Date.now() < deadline) await ctx.stopper.sleep(Math.min(200, deadline - Date.now()));
  for (const o of owned.values()) o.closing = true;
  await consumer.stop().catch(() => undefined);
  endAll('the member stopped');
  for (const off of offs) off();
  await consumer.disconnect().catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
}

/** Reads the group's committed offsets every `intervalMs`, as `fetchCommitted` operations. */
export async function groupObserver(ctx: WorkloadContext, group: string, intervalMs: number): Promise<void> {
  const cluster = rawCluster(ctx);
  const offsets = new OffsetClient(cluster, ctx.topic, ctx.timeouts.requestMs, ctx.random);
  const allKeys = keys(ctx);
  const partitions = allKeys.map((_, p) => p);
  let process = ctx.recorder.newProcess();
  try {
    while (!ctx.stopper.isStopped) {
      const op = ctx.recorder.invoke(process, 'fetchCommitted', { group, keys: allKeys });
      try {
        const got = await offsets.fetch(group, partitions);
        ctx.recorder.ok(op, { offsets: Object.fromEntries(partitions.map((p) => [allKeys[p]!, got.get(p) ?? null])) });
      } catch (err) {
        const c = classify(err);
        if (c.type === 'fail') ctx.recorder.fail(op, c.error);
        else {
          ctx.recorder.info(op, c.error);
          process = ctx.recorder.newProcess();
        }
      }
      await ctx.stopper.sleep(intervalMs);
    }
  } finally {
    cluster.close();
  }
}
