/**
 * Producers: each worker sends, one operation at a time, 1 to `recordsMax` records to one random
 * key through the client library's idempotent producer (acks=all), and records
 *
 *     invoke [{ key, value }, ...]  →  ok [{ key, value, offset }, ...]
 *
 * Values are `"<process>-<seq>"`, unique in the run. The records of one send go to one partition
 * in one batch, so they share one fate. After an `info` the worker continues as a new process with
 * a new producer (the old one may still be retrying its batch; it is dropped).
 */
import { Client } from '../../src/client/client.js';
import { silentLogger } from '../../src/client/logger.js';
import type { Producer } from '../../src/client/producer.js';
import { classify, withDeadline } from '../outcome.js';
import { CHAOS_RETRY, keyOf, type WorkloadContext } from './context.js';

export interface ProducerOptions {
  /** Records per send: 1 to this many. */
  readonly recordsMax: number;
  /** Pause between one send's completion and the next invoke. */
  readonly intervalMs: number;
}

/** Slack over the delivery timeout before the harness stops waiting for send() itself. */
const SEND_SLACK_MS = 5000;

export async function producerWorker(ctx: WorkloadContext, opts: ProducerOptions): Promise<void> {
  const client = new Client({ brokers: ctx.nodes.map((n) => n.address), logger: ctx.logger ?? silentLogger, retry: CHAOS_RETRY });
  const fresh = (): Producer =>
    client.producer({
      lingerMs: 0,
      requestTimeoutMs: ctx.timeouts.produceRequestMs,
      deliveryTimeoutMs: ctx.timeouts.deliveryMs,
      retry: CHAOS_RETRY,
    });
  let producer = fresh();
  let process = ctx.recorder.newProcess();
  let seq = 0;
  const dropped: Producer[] = [];
  try {
    while (!ctx.stopper.isStopped) {
      const partition = Math.floor(ctx.random() * ctx.partitions);
      const key = keyOf(ctx.topic, partition);
      const count = 1 + Math.floor(ctx.random() * opts.recordsMax);
      const values = Array.from({ length: count }, () => `${process}-${seq++}`);
      const op = ctx.recorder.invoke(process, 'send', values.map((value) => ({ key, value })));
      try {
        const metas = await withDeadline(
          producer.send({ topic: ctx.topic, messages: values.map((value) => ({ value, partition })) }),
          ctx.timeouts.deliveryMs + SEND_SLACK_MS,
          `send to ${key}`,
        );
        ctx.recorder.ok(op, values.map((value, i) => ({ key, value, offset: Number(metas[i]!.offset) })));
      } catch (err) {
        const c = classify(err);
        if (c.type === 'fail') {
          ctx.recorder.fail(op, c.error);
        } else {
          ctx.recorder.info(op, c.error);
          process = ctx.recorder.newProcess();
          seq = 0;
          dropped.push(producer);
          producer = fresh();
        }
      }
      if (opts.intervalMs > 0) await ctx.stopper.sleep(opts.intervalMs * (0.5 + ctx.random()));
    }
  } finally {
    // A dropped producer may still hold a batch it retries; disconnecting waits for it, so do not.
    for (const p of [producer, ...dropped]) void p.disconnect().catch(() => undefined);
  }
}
