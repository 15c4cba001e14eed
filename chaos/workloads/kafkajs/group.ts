/**
 * Group consumers through kafkajs: the native group workload (../group.ts) with kafkajs consumers,
 * members of one group that share the topic's partitions, resume each from the group's committed
 * offset and commit what they read (autoCommit off, so each commit is one recorded operation). A
 * worker runs one member at a time for a random life, then stops it (it leaves; the group
 * rebalances) and starts another.
 *
 * kafkajs starts every generation afresh: each join ('consumer.group_join') builds a new offset
 * manager, which fetches the committed offsets of all the member's partitions at its first fetch,
 * after the join. (A partition the member keeps also goes back to its committed offset, unlike
 * the native consumer.) kafkajs rejoins on a rebalance and also after some fetch errors
 * (NOT_LEADER_OR_FOLLOWER, among others), so every join is a new generation here. History, per
 * member:
 * - a control process records the start of each generation that follows a clean join (the
 *   member's first, or one after 'consumer.rebalancing', for both of which kafkajs has stopped
 *   every fetch before joining): `assign { group, keys: <its keys>, seek: "committed" }` invoked
 *   at the join, completed ok `{ start }` once each of its partitions had its first batch: the
 *   offset that batch was fetched from (client.ts `fetchedOffset`) is where kafkajs resumed. It is
 *   completed with the starts known so far when the next join comes or the member stops. After a
 *   join that follows a fetch error, a fetch of the last generation may still be answered and
 *   handed over (kafkajs runs one fetcher per broker), so such a generation's starts go unrecorded.
 * - each partition owned in a generation is its own process. Its first batch is not recorded (its
 *   poll could not be invoked before kafkajs chose where to fetch from); then a `poll` is invoked
 *   each time the eachBatch handler returns and completed by that partition's next batch (kafkajs
 *   fetches a partition again only after its handler returned), whose fetch offset must be where
 *   the poll starts (else the poll is `info` and the partition continues as a new process). Now and
 *   then, inside the handler, `commit { group, offsets: { key: next } }`, sent once
 *   (commitOffsetsIfNecessary with offsets: no retries). A poll still open when the generation
 *   ends is `info`.
 * - an observer process reads the group's offsets now and then through kafkajs's admin
 *   (fetchOffsets): `fetchCommitted`.
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { OpenOp } from '../../recorder.js';
import { keyOf, keys, noteHw, type WorkloadContext } from '../context.js';
import type { GroupOptions } from '../group.js';
import { KAFKAJS_CONSUMER, classifyOnce, describeKafkaJs, fetchedOffset, kafkaClient } from './client.js';

/** One owned partition in one generation. */
interface Owned {
  process: number;
  poll: OpenOp | null;
  /** Where the next batch must be fetched from; null before the generation's first batch. */
  from: number | null;
}

/** A generation's assign, open until each of its partitions has started. */
interface Assign {
  readonly op: OpenOp;
  readonly start: Record<string, number>;
  readonly pending: Set<number>;
}

export async function kafkajsGroupWorker(ctx: WorkloadContext, opts: GroupOptions): Promise<void> {
  const kafka = kafkaClient(ctx, 'chaos-member');
  while (!ctx.stopper.isStopped) {
    const life = opts.lifeMs[0] + ctx.random() * (opts.lifeMs[1] - opts.lifeMs[0]);
    await member(ctx, kafka, opts, life);
    await ctx.stopper.sleep(200);
  }
}

async function member(ctx: WorkloadContext, kafka: Kafka, opts: GroupOptions, lifeMs: number): Promise<void> {
  const { recorder: rec, topic } = ctx;
  const consumer: Consumer = kafka.consumer({
    groupId: opts.group,
    ...KAFKAJS_CONSUMER,
  });
  const control = rec.newProcess();
  let assign: Assign | null = null;
  const owned = new Map<number, Owned>();
  let ended = false;
  /** Whether the next join follows a state with no fetch of the last generation left (kafkajs's first join, or a rebalance). */
  let cleanJoin = true;

  const completeAssign = (): void => {
    if (assign !== null && !assign.op.done) rec.ok(assign.op, { start: assign.start });
    assign = null;
  };
  const closeOwned = (why: string): void => {
    for (const o of owned.values()) if (o.poll !== null && !o.poll.done) rec.info(o.poll, why);
    owned.clear();
  };
  const endAll = (why: string): void => {
    if (ended) return;
    ended = true;
    completeAssign();
    closeOwned(why);
  };

  const offs = [
    consumer.on(consumer.events.REBALANCING, () => {
      cleanJoin = true;
    }),
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const clean = cleanJoin;
      cleanJoin = false;
      if (ended) return;
      closeOwned('the member joined again: kafkajs resumes every partition from the committed offset');
      completeAssign();
      const now = [...(payload.memberAssignment[topic] ?? [])];
      for (const p of now) owned.set(p, { process: rec.newProcess(), poll: null, from: null });
      if (clean && now.length > 0) {
        assign = { op: rec.invoke(control, 'assign', { group: opts.group, keys: now.map((p) => keyOf(topic, p)), seek: 'committed' }), start: {}, pending: new Set(now) };
      }
    }),
    consumer.on(consumer.events.CRASH, ({ payload }) => endAll(`the consumer crashed: ${describeKafkaJs(payload.error)}`)),
  ];

  const handle = async ({ batch, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> => {
    const o = owned.get(batch.partition);
    if (o === undefined || ended) return;
    const key = keyOf(topic, batch.partition);
    const fetched = fetchedOffset(batch);
    const msgs = batch.messages.map((m): [number, string | null] => [Number(m.offset), m.value === null ? null : m.value.toString('utf8')]);
    const hw = Number(batch.highWatermark);
    if (o.from === null) {
      // The generation's first batch: it says where kafkajs resumed.
      const a: Assign | null = assign;
      if (a !== null && a.pending.delete(batch.partition)) {
        a.start[key] = fetched;
        if (a.pending.size === 0) completeAssign();
      }
    } else if (fetched !== o.from) {
      if (o.poll !== null && !o.poll.done) rec.info(o.poll, `kafkajs fetched ${key} from ${fetched}, not from ${o.from} where this process's polls got`);
      o.process = rec.newProcess();
    } else if (o.poll !== null && !o.poll.done) {
      rec.ok(o.poll, { msgs: { [key]: msgs }, hw: { [key]: hw } });
      noteHw(ctx, key, hw);
    }
    o.poll = null;
    const last = msgs[msgs.length - 1];
    o.from = last !== undefined ? last[0] + 1 : fetched;
    if (ctx.random() < opts.commitChance) {
      const next = o.from;
      const op = rec.invoke(o.process, 'commit', { group: opts.group, offsets: { [key]: next } });
      try {
        // One OffsetCommit with this generation, no retries.
        await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition: batch.partition, offset: String(next) }] }] });
        rec.ok(op);
      } catch (err) {
        const c = classifyOnce(err);
        if (c.type === 'fail') rec.fail(op, c.error);
        else {
          rec.info(op, c.error);
          o.process = rec.newProcess();
        }
      }
    }
    if (!ended && owned.get(batch.partition) === o) o.poll = rec.invoke(o.process, 'poll', { from: { [key]: o.from } });
  };

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: handle });
  } catch (err) {
    endAll(`the member did not start: ${describeKafkaJs(err)}`);
  }
  const deadline = Date.now() + lifeMs;
  while (!ended && !ctx.stopper.isStopped && Date.now() < deadline) await ctx.stopper.sleep(Math.min(200, deadline - Date.now()));
  endAll('the member stopped');
  await consumer.stop().catch(() => undefined);
  for (const off of offs) off();
  await consumer.disconnect().catch(() => undefined);
}

/** Reads the group's committed offsets every `intervalMs` through kafkajs's admin, as `fetchCommitted` operations. */
export async function kafkajsGroupObserver(ctx: WorkloadContext, group: string, intervalMs: number): Promise<void> {
  const admin = kafkaClient(ctx, 'chaos-observer').admin();
  const allKeys = keys(ctx);
  let process = ctx.recorder.newProcess();
  let connected = false;
  try {
    while (!ctx.stopper.isStopped) {
      if (!connected) {
        try {
          await admin.connect();
          connected = true;
        } catch {
          await ctx.stopper.sleep(intervalMs);
          continue;
        }
      }
      const op = ctx.recorder.invoke(process, 'fetchCommitted', { group, keys: allKeys });
      try {
        const [got] = await admin.fetchOffsets({ groupId: group, topics: [ctx.topic] });
        const offsets: Record<string, number | null> = {};
        allKeys.forEach((key, p) => {
          const o = got?.partitions.find((x) => x.partition === p);
          if (o === undefined) throw new Error(`kafkajs's fetchOffsets answered without ${key}`);
          const n = Number(o.offset);
          offsets[key] = n < 0 ? null : n;
        });
        ctx.recorder.ok(op, { offsets });
      } catch (err) {
        const c = classifyOnce(err);
        if (c.type === 'fail') ctx.recorder.fail(op, c.error);
        else {
          ctx.recorder.info(op, c.error);
          process = ctx.recorder.newProcess();
        }
      }
      await ctx.stopper.sleep(intervalMs);
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
