/**
 * raftlog as a benchmark target (target.ts): a fresh cluster (3 nodes unless told) of child processes on
 * loopback (chaos/cluster.ts), driven through the client library with its default batching
 * (linger 5 ms, or the end of the turn once a batch holds 16 KiB; 512 KiB batches; idempotent; acks=all).
 *
 * `sync` chooses the durability mode the nodes run: 'fsync' (the default: an acknowledgement means
 * fsynced on a majority) or 'interval' (RELAXED: fsync every 100 ms, as NATS JetStream does by
 * default on its own, longer, interval).
 *
 * Retries: the client library retries inside its delivery timeout; the benchmark shortens its
 * back-off (10 ms, at most 50 ms, like the NATS target's fixed 50 ms reconnect wait) so a failover
 * is measured, not the default 300 ms first wait.
 */
import { LocalCluster, sleep } from '../../chaos/cluster.js';
import { clusterView } from '../../chaos/view.js';
import { Client, silentLogger, type Consumer, type Producer } from '../../src/client/index.js';
import { kafkajsView } from './kafkajs.js';
import type { Closeable, Target, TargetProducer } from './target.js';

export type SyncMode = 'fsync' | 'interval';

const RETRY = { retries: 300, initialRetryTimeMs: 10, maxRetryTimeMs: 50 } as const;
/** How long a fetch waits for new records: short, so a consumer that missed a wake-up is not stuck. */
const CONSUMER_MAX_WAIT_MS = 500;
/** How long subscribe() waits for every partition's position to be known. */
const SUBSCRIBE_MS_MAX = 10_000;
/** How long leader() looks for a leader before giving up. */
const LEADER_MS_MAX = 15_000;

/** A raftlog target, and the Kafka clients' view of its cluster when its nodes have Kafka listeners (kafkajs.ts). */
export interface RaftlogTarget extends Target {
  /** kafkajs on this cluster's Kafka listeners, a request per record (lingerMs 0) or batching what comes within lingerMs. */
  kafkaView(o: { lingerMs: number }): Promise<Target>;
}

export async function startRaftlog(o: { sync: SyncMode; nodes?: number; dir?: string; nodeArgs?: readonly string[]; kafka?: boolean }): Promise<RaftlogTarget> {
  const cluster = new LocalCluster({ nodes: o.nodes ?? 3, entry: 'production', logLevel: 'warn', args: ['--sync', o.sync], kafka: o.kafka === true, ...(o.dir !== undefined ? { dir: o.dir } : {}), ...(o.nodeArgs !== undefined ? { nodeArgs: o.nodeArgs } : {}) });
  await cluster.start();
  const client = new Client({ brokers: cluster.brokers, logger: silentLogger, retry: RETRY });
  const admin = client.admin();
  const open = new Set<Closeable>();
  const partitionsOf = new Map<string, number>();

  const leader = async (log: string): Promise<string> => {
    const deadline = Date.now() + LEADER_MS_MAX;
    while (Date.now() < deadline) {
      // The real leader, from every live node's own view (metadata gossip may lag an election).
      const found = (await clusterView(cluster)).groups.get(`${log}/0`)?.leader ?? null;
      if (found !== null) return found;
      await sleep(20);
    }
    throw new Error(`${log}/0 had no leader within ${LEADER_MS_MAX} ms; see the node logs in ${cluster.dir}`);
  };

  const target: RaftlogTarget = {
    label: o.sync === 'fsync' ? 'raftlog (fsync)' : 'raftlog (interval, relaxed)',
    nodes: cluster.nodes.map((n) => n.id),
    async createLog(name, partitions) {
      await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 3 }], timeoutMs: 20_000 });
      partitionsOf.set(name, partitions);
    },
    async producer(): Promise<TargetProducer> {
      const p: Producer = client.producer();
      await p.connect();
      const handle: TargetProducer = {
        async send(log, value, partition) {
          await p.send({ topic: log, messages: [{ value: Buffer.from(value.buffer, value.byteOffset, value.byteLength), ...(partition !== undefined ? { partition } : {}) }] });
        },
        async close() {
          open.delete(handle);
          await p.disconnect();
        },
      };
      open.add(handle);
      return handle;
    },
    async subscribe(log, onRecord): Promise<Closeable> {
      const c: Consumer = client.consumer({ maxWaitTimeInMs: CONSUMER_MAX_WAIT_MS });
      await c.connect();
      const partitions = partitionsOf.get(log) ?? 1;
      c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic: log, partition, offset: 'latest' as const })));
      await c.run({
        eachBatch: ({ batch }) => {
          for (const m of batch.messages) if (m.value !== null) onRecord(m.value);
        },
      });
      // 'latest' is looked up once the loop runs: wait until every position is known, so that
      // everything appended from now on is delivered.
      const deadline = Date.now() + SUBSCRIBE_MS_MAX;
      while (c.positions().length < partitions) {
        if (Date.now() > deadline) throw new Error(`the consumer of ${log} did not find its start positions within ${SUBSCRIBE_MS_MAX} ms`);
        await sleep(10);
      }
      const handle: Closeable = {
        async close() {
          open.delete(handle);
          await c.stop();
          await c.disconnect();
        },
      };
      open.add(handle);
      return handle;
    },
    leader,
    async kill(node) {
      await cluster.kill(node);
    },
    async restart(node) {
      await cluster.restart(node);
    },
    async transfer(log) {
      const from = await leader(log);
      const to = cluster.nodes.map((n) => n.id).find((id) => id !== from)!;
      await admin.transferLeadership({ topic: log, partition: 0, to });
    },
    async stop() {
      for (const c of [...open]) await c.close().catch(() => undefined);
      await admin.disconnect();
      await cluster.stop();
    },
    async kafkaView(v) {
      if (cluster.kafkaBrokers.length === 0) throw new Error('this raftlog target was started without Kafka listeners (startRaftlog kafka: true)');
      return kafkajsView(target, cluster.kafkaBrokers, v);
    },
  };
  return target;
}
