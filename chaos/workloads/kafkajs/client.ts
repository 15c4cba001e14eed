/**
 * What the kafkajs workloads share (`npm run chaos -- --client kafkajs`): a kafkajs 2.2.4 client
 * on the nodes' Kafka listeners, how a kafkajs failure is recorded, and the few things kafkajs
 * does not type that the recording relies on.
 *
 * Recording kafkajs failures (CHECKER.md: `fail` only when the operation certainly did not take
 * effect):
 * - kafkajs retries sends by itself and reports only the last attempt's error (wrapped in
 *   KafkaJSNumberOfRetriesExceeded, or as is when it gives up on a non-retriable one), never how
 *   many attempts it made; an earlier attempt may have timed out after reaching the leader. So a
 *   failed kafkajs send is always `info` (`sendFailure`), as the native rule makes a certain error
 *   after several attempts `info`.
 * - A commit is sent once (the eachBatch payload's commitOffsetsIfNecessary, no retrier): a Kafka
 *   error code that the node only answers before proposing anything (KAFKA_CERTAIN) is `fail`;
 *   REQUEST_TIMED_OUT, NOT_LEADER_OR_FOLLOWER (which is also how a node shutting down answers, see
 *   src/kafka/errors.ts), timeouts, lost connections and anything else are `info`.
 */
import { Kafka, logLevel, type Batch, type RetryOptions } from 'kafkajs';
import type { Classified } from '../../outcome.js';
import type { LocalCluster } from '../../cluster.js';
import type { WorkloadContext } from '../context.js';

/**
 * kafkajs's retry policy in chaos runs: short waits, as CHAOS_RETRY's for the native client, so
 * a send that kafkajs keeps retrying gives up within about the native delivery timeout.
 */
export const KAFKAJS_RETRY: RetryOptions = { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 };
/**
 * The settings of every kafkajs consumer of a run, plain or group member (a group id and, for a
 * plain one, its assigner added): short session and poll times to follow faults, small fetches,
 * no topic creation, and no restart after a crash (it ends the process, and kafkajs must not
 * start the consumer again behind the recording).
 */
export const KAFKAJS_CONSUMER = {
  sessionTimeout: 6000,
  heartbeatInterval: 1000,
  rebalanceTimeout: 8000,
  maxWaitTimeInMs: 300,
  maxBytesPerPartition: 32 * 1024,
  allowAutoTopicCreation: false,
  retry: { ...KAFKAJS_RETRY, restartOnFailure: (): Promise<boolean> => Promise.resolve(false) },
} as const;

/** How long kafkajs waits to connect to a broker. */
const KAFKAJS_CONNECTION_TIMEOUT_MS = 1000;

/** The nodes' Kafka listeners, as kafkajs's bootstrap list. */
export function kafkaBrokers(ctx: WorkloadContext): string[] {
  const brokers = ctx.nodes.flatMap((n) => (n.kafka !== undefined ? [n.kafka] : []));
  if (brokers.length === 0) throw new Error('the kafkajs workloads need the nodes to run Kafka listeners (LocalCluster kafka: true)');
  return brokers;
}

export function kafkaClient(ctx: WorkloadContext, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: kafkaBrokers(ctx),
    logLevel: logLevel.NOTHING,
    connectionTimeout: KAFKAJS_CONNECTION_TIMEOUT_MS,
    requestTimeout: ctx.timeouts.requestMs,
    retry: KAFKAJS_RETRY,
  });
}

/**
 * Kafka error codes the node answers only for a request it refused before proposing anything:
 * 3 UNKNOWN_TOPIC_OR_PARTITION, 14 COORDINATOR_LOAD_IN_PROGRESS, 15 COORDINATOR_NOT_AVAILABLE,
 * 16 NOT_COORDINATOR, 22 ILLEGAL_GENERATION, 25 UNKNOWN_MEMBER_ID, 27 REBALANCE_IN_PROGRESS,
 * 42 INVALID_REQUEST.
 */
const KAFKA_CERTAIN: ReadonlySet<number> = new Set([3, 14, 15, 16, 22, 25, 27, 42]);

interface KafkaJsErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly type?: unknown;
  readonly cause?: unknown;
}

/** The error kafkajs wrapped (KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError), innermost first. */
function innermost(err: unknown): KafkaJsErrorLike {
  let e = err as KafkaJsErrorLike;
  for (let depth = 0; depth < 10 && e.cause !== undefined && e.cause !== null && e.cause !== e; depth++) e = e.cause as KafkaJsErrorLike;
  return e;
}

/** One line for the history's `error`: the outer error's name and message, and the Kafka error it stands for. */
export function describeKafkaJs(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const inner = innermost(err);
  const code = typeof inner.code === 'number' ? ` (${String(inner.type)}, code ${inner.code})` : '';
  const line = `${err.name}: ${err.message}${inner !== (err as KafkaJsErrorLike) ? ` <- ${String(inner.name)}: ${String(inner.message)}` : ''}${code}`.replace(/\s+/g, ' ').trim();
  return line.length > 400 ? `${line.slice(0, 400)}...` : line;
}

/** A failed kafkajs send: always `info` (see the header). */
export function sendFailure(err: unknown): Classified {
  return { type: 'info', error: `${describeKafkaJs(err)} (kafkajs does not say how many attempts it made: an earlier one may have taken effect)` };
}

/** A failed single-attempt kafkajs request (a commit, an offset read). */
export function classifyOnce(err: unknown): Classified {
  const error = describeKafkaJs(err);
  const e = err as KafkaJsErrorLike;
  // Only a protocol error the broker answered, not one kafkajs wrapped after retrying.
  if (e.name === 'KafkaJSProtocolError' && typeof e.code === 'number' && KAFKA_CERTAIN.has(e.code)) return { type: 'fail', error };
  return { type: 'info', error };
}

/**
 * The offset a batch was fetched from. kafkajs keeps it on every batch (src/consumer/batch.js,
 * `fetchedOffset`) without typing it; its messages start there or later.
 */
export function fetchedOffset(batch: Batch): number {
  const v = (batch as Batch & { fetchedOffset?: unknown }).fetchedOffset;
  if (typeof v !== 'string' && typeof v !== 'number') throw new Error('a kafkajs batch without fetchedOffset: the kafkajs workloads were written for kafkajs 2.2.4');
  return Number(v);
}

/**
 * Waits until every node's Metadata names every broker and the controller: kafkajs's admin looks
 * for the controller in the first Metadata it gets, and its consumers and producers bootstrap
 * from any node.
 */
export async function waitForKafkaListeners(cluster: LocalCluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    let ready = true;
    for (const broker of cluster.kafkaBrokers) {
      const admin = new Kafka({ brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
      try {
        await admin.connect();
        const c = await admin.describeCluster();
        if (c.brokers.length !== cluster.nodes.length || c.controller === null || c.controller < 0) {
          ready = false;
          last = `${broker} names ${c.brokers.length} brokers and controller ${String(c.controller)}`;
        }
      } catch (err) {
        ready = false;
        last = `${broker}: ${describeKafkaJs(err)}`;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      if (!ready) break;
    }
    if (ready) return;
    if (Date.now() >= deadline) throw new Error(`the nodes' Kafka listeners were not ready within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
