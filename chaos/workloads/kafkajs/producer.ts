/**
 * Producers through kafkajs: the native producer workload (../producer.ts) with a kafkajs
 * idempotent producer (`idempotent: true`, `maxInFlightRequests: 1`, `acks: -1`) on the nodes'
 * Kafka listeners. Each worker sends, one operation at a time, 1 to `recordsMax` records to one
 * random key, as one `producer.send` with an explicit partition, and records
 *
 *     invoke [{ key, value }, ...]  →  ok [{ key, value, offset }, ...]
 *
 * Values are `"<process>-<seq>"`, the record's value (UTF-8), no key: what the native workload
 * writes, so every reader decodes them alike. kafkajs puts the records of one send to one
 * partition in one batch, so they share one fate, and answers its base offset: record i is at
 * base + i.
 *
 * kafkajs retries a failed produce by itself with the same producer id and sequence numbers, so
 * the partition dedupes a retry of a batch that was written. Once a send fails, kafkajs has put
 * its sequence back, and the next send of that producer would reuse it for other records: a
 * batch that did land would then make the partition drop them as duplicates. So after any failed
 * send (always `info`, client.ts) the worker continues as a new process with a new producer (a
 * new producer id), as the native workload does after an `info`.
 */
import type { Kafka, Producer } from 'kafkajs';
import { withDeadline } from '../../outcome.js';
import { keyOf, type WorkloadContext } from '../context.js';
import type { ProducerOptions } from '../producer.js';
import { KAFKAJS_RETRY, describeKafkaJs, kafkaClient, sendFailure } from './client.js';

/** Slack over the delivery timeout before the harness stops waiting for send() itself (as the native workload's). */
const SEND_SLACK_MS = 5000;
/** Pause after a producer could not connect (or get its producer id) before a new one tries. */
const CONNECT_RETRY_MS = 250;
/** A dropped producer is disconnected this long after it is dropped: past the longest kafkajs keeps retrying a send (KAFKAJS_RETRY). */
const DROPPED_PRODUCER_MS = 30_000;

export async function kafkajsProducerWorker(ctx: WorkloadContext, opts: ProducerOptions): Promise<void> {
  const kafka: Kafka = kafkaClient(ctx, 'chaos-producer');
  const fresh = (): Producer => kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: KAFKAJS_RETRY });
  let producer: Producer | null = null;
  let process = ctx.recorder.newProcess();
  let seq = 0;
  const dropped = new Set<Producer>();
  let connectFailures = 0;
  const drop = (p: Producer): void => {
    dropped.add(p);
    setTimeout(() => {
      if (dropped.delete(p)) void p.disconnect().catch(() => undefined);
    }, DROPPED_PRODUCER_MS).unref();
  };
  try {
    while (!ctx.stopper.isStopped) {
      if (producer === null) {
        // Connecting (bootstrap, InitProducerId) is no operation of the history.
        const p = fresh();
        try {
          await withDeadline(p.connect(), ctx.timeouts.deliveryMs + SEND_SLACK_MS, 'kafkajs producer connect');
          producer = p;
        } catch (err) {
          void p.disconnect().catch(() => undefined);
          if (++connectFailures % 20 === 0) ctx.notes.push(`kafkajs producers failed to connect ${connectFailures} times; the last: ${describeKafkaJs(err)}`);
          await ctx.stopper.sleep(CONNECT_RETRY_MS);
          continue;
        }
      }
      const partition = Math.floor(ctx.random() * ctx.partitions);
      const key = keyOf(ctx.topic, partition);
      const count = 1 + Math.floor(ctx.random() * opts.recordsMax);
      const values = Array.from({ length: count }, () => `${process}-${seq++}`);
      const op = ctx.recorder.invoke(process, 'send', values.map((value) => ({ key, value })));
      try {
        const metas = await withDeadline(
          producer.send({ topic: ctx.topic, acks: -1, timeout: ctx.timeouts.produceRequestMs, messages: values.map((value) => ({ value, partition })) }),
          ctx.timeouts.deliveryMs + SEND_SLACK_MS,
          `kafkajs send to ${key}`,
        );
        const meta = metas.find((m) => m.topicName === ctx.topic && m.partition === partition);
        if (meta === undefined || meta.errorCode !== 0 || meta.baseOffset === undefined) throw new Error(`kafkajs answered the send to ${key} without its offset: ${JSON.stringify(metas)}`);
        const base = Number(meta.baseOffset);
        ctx.recorder.ok(op, values.map((value, i) => ({ key, value, offset: base + i })));
      } catch (err) {
        ctx.recorder.info(op, sendFailure(err).error);
        process = ctx.recorder.newProcess();
        seq = 0;
        drop(producer);
        producer = null;
      }
      if (opts.intervalMs > 0) await ctx.stopper.sleep(opts.intervalMs * (0.5 + ctx.random()));
    }
  } finally {
    // A dropped producer may still be retrying its batch; do not wait for it.
    for (const p of [...(producer !== null ? [producer] : []), ...dropped]) void p.disconnect().catch(() => undefined);
    dropped.clear();
  }
}
