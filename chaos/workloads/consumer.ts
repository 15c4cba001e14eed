/**
 * Plain consumers: the client library's Consumer, one partition per process, recorded as polls.
 *
 * A process creates a consumer, assigns it one key at an explicit offset (recorded as
 * `assign { keys, seek: { key: offset } }` → ok `{ start: { key: offset } }`), and runs it with an
 * eachBatch handler. A `poll` is invoked at the assignment and again each time the handler
 * returns; it completes (ok `{ msgs, hw }`) at the next handler call. The consumer sends its next
 * fetch for the partition only after the handler returns, so every fetch whose data a poll reports
 * was sent after that poll's invoke. The library retries failed fetches itself; the open poll then
 * simply takes longer. After `batchesMax` batches or `lifeMs` the process stops (its last poll,
 * which got nothing, is `info`) and a new process takes another key.
 */
import { Client } from '../../src/client/client.js';
import type { Batch } from '../../src/client/consumer-types.js';
import { silentLogger } from '../../src/client/logger.js';
import type { OpenOp } from '../recorder.js';
import { CHAOS_RETRY, keyOf, noteHw, type WorkloadContext } from './context.js';

export interface PlainConsumerOptions {
  /** Batches one process handles before it stops. */
  readonly batchesMax: number;
  /** Longest life of one process. */
  readonly lifeMs: number;
}

export async function consumerWorker(ctx: WorkloadContext, opts: PlainConsumerOptions): Promise<void> {
  const client = new Client({ brokers: ctx.nodes.map((n) => n.address), logger: ctx.logger ?? silentLogger, retry: CHAOS_RETRY });
  while (!ctx.stopper.isStopped) {
    await oneProcess(ctx, client, opts);
    await ctx.stopper.sleep(50);
  }
}

async function oneProcess(ctx: WorkloadContext, client: Client, opts: PlainConsumerOptions): Promise<void> {
  const process = ctx.recorder.newProcess();
  const partition = Math.floor(ctx.random() * ctx.partitions);
  const key = keyOf(ctx.topic, partition);
  const start = Math.max(0, (ctx.knownHw.get(key) ?? 0) - Math.floor(ctx.random() * 50));
  const consumer = client.consumer({ maxWaitTimeInMs: 300, maxBytesPerPartition: 32 * 1024, retry: CHAOS_RETRY, requestTimeoutMs: ctx.timeouts.requestMs });
  const assign = ctx.recorder.invoke(process, 'assign', { keys: [key], seek: { [key]: start } });
  consumer.assign([{ topic: ctx.topic, partition, offset: String(start) }]);
  ctx.recorder.ok(assign, { start: { [key]: start } });

  let from = start;
  let poll: OpenOp = ctx.recorder.invoke(process, 'poll', { from: { [key]: from } });
  let batches = 0;
  let ended: string | null = null;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const end = (why: string): void => {
    if (ended !== null) return;
    ended = why;
    finish();
  };
  const offCrash = consumer.on('crash', ({ error }) => end(`the consumer stopped: ${error.code}: ${error.message}`));
  const handle = (batch: Batch): void => {
    if (ended !== null) return;
    const msgs = batch.messages.map((m): [number, string | null] => [Number(m.offset), m.value === null ? null : m.value.toString('utf8')]);
    const hw = Number(batch.highWatermark);
    ctx.recorder.ok(poll, { msgs: { [key]: msgs }, hw: { [key]: hw } });
    noteHw(ctx, key, hw);
    const last = msgs[msgs.length - 1];
    if (last !== undefined) from = last[0] + 1;
    if (++batches >= opts.batchesMax || ctx.stopper.isStopped) {
      end('done');
      return;
    }
    poll = ctx.recorder.invoke(process, 'poll', { from: { [key]: from } });
  };
  try {
    await consumer.run({ eachBatch: ({ batch }) => handle(batch) });
  } catch (err) {
    end(`run() failed: ${(err as Error).message}`);
  }
  const timer = setTimeout(() => end('life over'), opts.lifeMs);
  const stopWatch = setInterval(() => {
    if (ctx.stopper.isStopped) end('run stopping');
  }, 100);
  await finished;
  clearTimeout(timer);
  clearInterval(stopWatch);
  offCrash();
  if (!poll.done) ctx.recorder.info(poll, `no data before the consumer stopped (${ended ?? 'stopped'})`);
  await consumer.disconnect().catch(() => undefined);
}
