/**
 * Plain consumers through kafkajs: the native workload that reads one key from an explicit offset
 * (../consumer.ts), with a kafkajs consumer. kafkajs has no consumer outside a group, so each
 * process is the only member of a group of its own (`chaos-kjs-reader-<process>`, nothing
 * committed, autoCommit off) whose assigner gives it just its key, and it seeks there.
 *
 * A process assigns itself one key at an offset (recorded at once, `assign { keys, seek: { key:
 * offset } }` → ok `{ start: { key: offset } }`), and a `poll` is invoked then and again each time
 * the eachBatch handler returns; it completes (ok `{ msgs, hw }`) at the next handler call. kafkajs
 * sends a partition's next fetch only after the handler of its last batch returned (its fetcher
 * waits for the worker queue to drain), so the data a poll reports was fetched after the poll was
 * invoked. kafkajs does not hand over empty batches: a poll waits for data.
 *
 * kafkajs rejoins the group after some fetch errors (NOT_LEADER_OR_FOLLOWER, among others) and
 * then resumes from the committed offset, here none: the consumer seeks again at every join
 * ('consumer.group_join', emitted before the next fetch), to where the process's polls got. Each
 * batch's fetch offset (client.ts `fetchedOffset`) is checked to be where the open poll starts;
 * a batch that is not (kafkajs went elsewhere) ends the process with `info`.
 *
 * After `batchesMax` batches or `lifeMs` the process stops (a poll still open is `info`) and a
 * new process takes another key.
 */
import type { Assigner, Batch, Kafka, PartitionAssigner } from 'kafkajs';
import { AssignerProtocol } from 'kafkajs';
import type { OpenOp } from '../../recorder.js';
import { keyOf, noteHw, type WorkloadContext } from '../context.js';
import type { PlainConsumerOptions } from '../consumer.js';
import { KAFKAJS_CONSUMER, describeKafkaJs, fetchedOffset, kafkaClient } from './client.js';

/** The name of the one-partition assigner's protocol. */
const ONE_PARTITION = 'ChaosOnePartition';

/** An assigner that gives every member of the group just `partition` of `topic`. */
export function onePartitionAssigner(topic: string, partition: number): PartitionAssigner {
  return (): Assigner => ({
    name: ONE_PARTITION,
    version: 1,
    assign: ({ members }) =>
      Promise.resolve(
        members.map((m) => ({
          memberId: m.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: { [topic]: [partition] }, userData: Buffer.alloc(0) }),
        })),
      ),
    protocol: ({ topics }) => ({ name: ONE_PARTITION, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) }),
  });
}

export async function kafkajsConsumerWorker(ctx: WorkloadContext, opts: PlainConsumerOptions): Promise<void> {
  const kafka = kafkaClient(ctx, 'chaos-reader');
  while (!ctx.stopper.isStopped) {
    await oneProcess(ctx, kafka, opts);
    await ctx.stopper.sleep(50);
  }
}

async function oneProcess(ctx: WorkloadContext, kafka: Kafka, opts: PlainConsumerOptions): Promise<void> {
  const { recorder: rec, topic } = ctx;
  const process = rec.newProcess();
  const partition = Math.floor(ctx.random() * ctx.partitions);
  const key = keyOf(topic, partition);
  const start = Math.max(0, (ctx.knownHw.get(key) ?? 0) - Math.floor(ctx.random() * 50));
  const consumer = kafka.consumer({
    groupId: `chaos-kjs-reader-${process}`,
    partitionAssigners: [onePartitionAssigner(topic, partition)],
    ...KAFKAJS_CONSUMER,
  });

  let ended: string | null = null;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const end = (why: string): void => {
    if (ended !== null) return;
    ended = why;
    finish();
  };

  let from = start;
  let poll: OpenOp | null = null;
  let batches = 0;
  const offs = [
    consumer.on(consumer.events.CRASH, ({ payload }) => end(`the consumer crashed: ${describeKafkaJs(payload.error)}`)),
    // Emitted after each join, before the fetch that follows it.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (ended === null) consumer.seek({ topic, partition, offset: String(from) });
    }),
  ];
  const handle = (batch: Batch): void => {
    if (ended !== null || poll === null || batch.partition !== partition) return;
    const fetched = fetchedOffset(batch);
    if (fetched !== from) {
      rec.info(poll, `kafkajs fetched ${key} from ${fetched}, not from ${from} where this process's polls got`);
      poll = null;
      end('kafkajs fetched from elsewhere');
      return;
    }
    const msgs = batch.messages.map((m): [number, string | null] => [Number(m.offset), m.value === null ? null : m.value.toString('utf8')]);
    const hw = Number(batch.highWatermark);
    rec.ok(poll, { msgs: { [key]: msgs }, hw: { [key]: hw } });
    noteHw(ctx, key, hw);
    const last = msgs[msgs.length - 1];
    if (last !== undefined) from = last[0] + 1;
    poll = null;
    if (++batches >= opts.batchesMax || ctx.stopper.isStopped) {
      end('done');
      return;
    }
    poll = rec.invoke(process, 'poll', { from: { [key]: from } });
  };

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    const assign = rec.invoke(process, 'assign', { keys: [key], seek: { [key]: start } });
    rec.ok(assign, { start: { [key]: start } });
    poll = rec.invoke(process, 'poll', { from: { [key]: from } });
    // run() resolves once the consumer has joined; its fetches start then.
    await consumer.run({ autoCommit: false, eachBatch: ({ batch }) => Promise.resolve(handle(batch)) });
  } catch (err) {
    end(`the consumer did not start: ${describeKafkaJs(err)}`);
  }
  const timer = setTimeout(() => end('life over'), opts.lifeMs);
  const stopWatch = setInterval(() => {
    if (ctx.stopper.isStopped) end('run stopping');
  }, 100);
  await finished;
  clearTimeout(timer);
  clearInterval(stopWatch);
  if (poll !== null && !poll.done) rec.info(poll, `no data before the consumer stopped (${ended ?? 'stopped'})`);
  poll = null;
  for (const off of offs) off();
  await consumer.disconnect().catch(() => undefined);
}
