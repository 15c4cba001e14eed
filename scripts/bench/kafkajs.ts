/**
 * raftlog through its Kafka listener (src/kafka/), driven by kafkajs 2.2.4 as a Kafka user would
 * drive it, as a benchmark target (target.ts) on the cluster of a raftlog target: the same nodes,
 * logs and run as the native client, so the two meet the same machine and the same offered load.
 *
 * The producer sends with acks -1 (committed on a majority, as the native acks=all) and is not
 * idempotent: kafkajs's idempotent producer allows one request in flight per broker, which would
 * measure that rule rather than the listener. kafkajs has no linger: each send() is a Produce
 * request of its own, so with `lingerMs` 0 every record is a batch (and a Raft entry) of its own.
 * With `lingerMs` > 0 the records a producer is handed within that time go to kafkajs in one
 * send(), as an application that batches for kafkajs does, and as the native client does by
 * itself (linger 5 ms, a batch sent early at 16 KiB): the same batching, through the other
 * protocol. The consumer is a kafkajs group consumer of its own group, from the latest offsets,
 * with the native consumer's 500 ms long poll, committing nothing (as the native consumer here).
 *
 * What the raftlog target does to its nodes (kill, restart, transfer, leader) is its own; stopping
 * this view closes only its own clients.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { sleep } from '../../chaos/cluster.js';
import type { Closeable, Target, TargetProducer } from './target.js';

/** As the native consumer's (raftlog.ts): short, so a consumer that missed a wake-up is not stuck. */
const CONSUMER_MAX_WAIT_MS = 500;
/** How long subscribe() waits for the consumer's group to form and its first fetch to return. */
const SUBSCRIBE_MS_MAX = 20_000;
/** How long a fresh cluster's Kafka listeners may take to name every broker and the controller. */
const READY_MS_MAX = 20_000;

/** Bytes of records held for one send() past which they are sent before the linger is up (the native client's eagerBatchBytes). */
const EAGER_BATCH_BYTES = 16 * 1024;

export async function kafkajsView(native: Target, brokers: readonly string[], o: { lingerMs: number }): Promise<Target> {
  const kafka = new Kafka({ clientId: 'raftlog-bench', brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 10, maxRetryTime: 50 } });
  await ready(kafka, brokers.length);
  const open = new Set<Closeable>();
  return {
    label: o.lingerMs > 0 ? `raftlog via Kafka protocol (kafkajs, ${o.lingerMs} ms batches)` : 'raftlog via Kafka protocol (kafkajs, a request per record)',
    nodes: native.nodes,
    createLog: (name, partitions, lo) => native.createLog(name, partitions, lo),
    async producer(): Promise<TargetProducer> {
      const p: Producer = kafka.producer({ allowAutoTopicCreation: false });
      await p.connect();
      const send = o.lingerMs > 0 ? lingering(p, o.lingerMs) : (log: string, m: Message): Promise<void> => p.send({ topic: log, acks: -1, messages: [m] }).then(() => undefined);
      const handle: TargetProducer = {
        async send(log, value, partition) {
          await send(log, { value: Buffer.from(value.buffer, value.byteOffset, value.byteLength), ...(partition !== undefined ? { partition } : {}) });
        },
        async close() {
          open.delete(handle);
          await p.disconnect();
        },
      };
      open.add(handle);
      return handle;
    },
    async subscribe(log, onRecord, so): Promise<Closeable> {
      // A group of its own unless told: two consumers of one group (two views' sessions on one log) would split the partitions.
      const c: Consumer = kafka.consumer({ groupId: so?.group ?? `bench-${log}-${randomUUID()}`, maxWaitTimeInMs: CONSUMER_MAX_WAIT_MS, allowAutoTopicCreation: false });
      let fetched = false;
      c.on(c.events.FETCH, () => (fetched = true));
      await c.connect();
      await c.subscribe({ topic: log, fromBeginning: false });
      await c.run({
        // As the native consumer here, which commits nothing (unless it is a member of a group it
        // was told). kafkajs's default commits after every batch and fetches again only once that
        // commit (a metadata-group write) is answered.
        autoCommit: so?.group !== undefined,
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) if (m.value !== null) onRecord(m.value);
        },
      });
      // A fetch has come back once the group has formed and every partition's latest offset was
      // looked up: everything appended from now on is delivered.
      const deadline = Date.now() + SUBSCRIBE_MS_MAX;
      while (!fetched) {
        if (Date.now() > deadline) throw new Error(`the kafkajs consumer of ${log} made no fetch within ${SUBSCRIBE_MS_MAX} ms`);
        await sleep(10);
      }
      const handle: Closeable = {
        async close() {
          open.delete(handle);
          await c.disconnect();
        },
      };
      open.add(handle);
      return handle;
    },
    leader: (log) => native.leader(log),
    kill: (node) => native.kill(node),
    restart: (node) => native.restart(node),
    transfer: (log, partition) => native.transfer(log, partition),
    ...(native.processes !== undefined ? { processes: () => native.processes!() } : {}),
    ...(native.scrapeMetrics !== undefined ? { scrapeMetrics: () => native.scrapeMetrics!() } : {}),
    async stop() {
      for (const c of [...open]) await c.close().catch(() => undefined);
    },
  };
}

interface Message {
  readonly value: Buffer;
  readonly partition?: number;
}

/** Sends what it is handed within `lingerMs` (or until EAGER_BATCH_BYTES) in one kafkajs send() per log; each caller's promise settles with that send. */
function lingering(p: Producer, lingerMs: number): (log: string, m: Message) => Promise<void> {
  const held = new Map<string, { messages: Message[]; bytes: number; waiters: { resolve: () => void; reject: (e: unknown) => void }[]; timer: NodeJS.Timeout }>();
  const flush = (log: string): void => {
    const h = held.get(log);
    if (h === undefined) return;
    held.delete(log);
    clearTimeout(h.timer);
    p.send({ topic: log, acks: -1, messages: h.messages }).then(
      () => h.waiters.forEach((w) => w.resolve()),
      (err: unknown) => h.waiters.forEach((w) => w.reject(err)),
    );
  };
  return (log, m) =>
    new Promise<void>((resolve, reject) => {
      let h = held.get(log);
      if (h === undefined) {
        h = { messages: [], bytes: 0, waiters: [], timer: setTimeout(() => flush(log), lingerMs) };
        held.set(log, h);
      }
      h.messages.push(m);
      h.bytes += m.value.byteLength;
      h.waiters.push({ resolve, reject });
      if (h.bytes >= EAGER_BATCH_BYTES) flush(log);
    });
}

/** Waits until every broker's Metadata names all of them and the controller (kafkajs's admin needs the controller in its first answer). */
async function ready(kafka: Kafka, brokers: number): Promise<void> {
  const deadline = Date.now() + READY_MS_MAX;
  for (;;) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const c = await admin.describeCluster();
      if (c.brokers.length === brokers && c.controller !== null && c.controller >= 0) return;
    } catch {
      // not yet
    } finally {
      await admin.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`the Kafka listeners did not name all ${brokers} brokers and a controller within ${READY_MS_MAX} ms`);
    await sleep(100);
  }
}
