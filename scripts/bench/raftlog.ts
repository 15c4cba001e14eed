/**
 * raftlog as a benchmark target (target.ts): a fresh cluster (3 nodes unless told) of child processes on
 * loopback (chaos/cluster.ts), driven through the client library with its default batching
 * (linger 5 ms, or the end of the turn once a batch holds 16 KiB; 512 KiB batches; idempotent; acks=all).
 *
 * `sync` chooses the durability mode the nodes run: 'fsync' (the default: an acknowledgement means
 * fsynced on a majority) or 'interval' (RELAXED: fsync every 100 ms, as NATS JetStream does by
 * default on its own, longer, interval).
 *
 * A subscriber is an assigned consumer of its own from the latest offsets, or with a group (the
 * soak's consumer group reading along) a member of that group committing every 5 s.
 *
 * Retries: the client library retries inside its delivery timeout; the benchmark shortens its
 * back-off (10 ms, at most 50 ms, like the NATS target's fixed 50 ms reconnect wait) so a failover
 * is measured, not the default 300 ms first wait.
 */
import { LocalCluster, sleep } from '../../chaos/cluster.js';
import { clusterView } from '../../chaos/view.js';
import { Client, silentLogger, type Consumer, type GroupConsumer, type Producer } from '../../src/client/index.js';
import { kafkajsView } from './kafkajs.js';
import type { Closeable, SubscribeOptions, Target, TargetProducer } from './target.js';

export type SyncMode = 'fsync' | 'interval';

const RETRY = { retries: 300, initialRetryTimeMs: 10, maxRetryTimeMs: 50 } as const;
/** How long a fetch waits for new records: short, so a consumer that missed a wake-up is not stuck. */
const CONSUMER_MAX_WAIT_MS = 500;
/** How long subscribe() waits for every partition's position to be known. */
const SUBSCRIBE_MS_MAX = 10_000;
/** How long a group member may take to join and learn every partition's position. */
const GROUP_JOIN_MS_MAX = 30_000;
/** How long leader() looks for a leader before giving up. */
const LEADER_MS_MAX = 15_000;

/** How long /metrics of one node may take to answer. */
const METRICS_MS_MAX = 5000;

/** A raftlog target, and the Kafka clients' view of its cluster when its nodes have Kafka listeners (kafkajs.ts). */
export interface RaftlogTarget extends Target {
  /** The nodes' processes, addresses and folders (the soak's recorded workload, scripts/bench/soak.ts, talks to them itself). */
  readonly cluster: LocalCluster;
  /** kafkajs on this cluster's Kafka listeners, a request per record (lingerMs 0) or batching what comes within lingerMs. */
  kafkaView(o: { lingerMs: number }): Promise<Target>;
  processes(): readonly { node: string; pid: number }[];
  scrapeMetrics(): Promise<ReadonlyMap<string, string>>;
  deletedRecords(log: string): Promise<number>;
  stop(keep?: boolean): Promise<void>;
}

/** `args`: more node flags (e.g. --retention-check-ms for the soak), after --sync. */
export async function startRaftlog(o: { sync: SyncMode; nodes?: number; dir?: string; nodeArgs?: readonly string[]; kafka?: boolean; args?: readonly string[] }): Promise<RaftlogTarget> {
  const cluster = new LocalCluster({ nodes: o.nodes ?? 3, entry: 'production', logLevel: 'warn', args: ['--sync', o.sync, ...(o.args ?? [])], kafka: o.kafka === true, ...(o.dir !== undefined ? { dir: o.dir } : {}), ...(o.nodeArgs !== undefined ? { nodeArgs: o.nodeArgs } : {}) });
  await cluster.start();
  const client = new Client({ brokers: cluster.brokers, logger: silentLogger, retry: RETRY });
  const admin = client.admin();
  const open = new Set<Closeable>();
  const partitionsOf = new Map<string, number>();

  const leader = async (log: string, partition = 0): Promise<string> => {
    const deadline = Date.now() + LEADER_MS_MAX;
    while (Date.now() < deadline) {
      // The real leader, from every live node's own view (metadata gossip may lag an election).
      const found = (await clusterView(cluster)).groups.get(`${log}/${partition}`)?.leader ?? null;
      if (found !== null) return found;
      await sleep(20);
    }
    throw new Error(`${log}/${partition} had no leader within ${LEADER_MS_MAX} ms; see the node logs in ${cluster.dir}`);
  };

  /**
   * A member of consumer group `so.group` (the soak's consumer group reading along): the latest
   * offsets where the group has no commit, auto-commit at the library's default interval (5 s).
   * Resolves once the member owns every partition and knows where each starts.
   */
  const subscribeGroup = async (log: string, onRecord: (v: Uint8Array) => void, so: SubscribeOptions): Promise<Closeable> => {
    const c: GroupConsumer = client.consumer({ groupId: so.group!, maxWaitTimeInMs: CONSUMER_MAX_WAIT_MS });
    await c.connect();
    c.subscribe({ topics: [log], fromBeginning: false });
    await c.run({
      eachBatch: ({ batch }) => {
        for (const m of batch.messages) if (m.value !== null) onRecord(m.value);
      },
    });
    const partitions = partitionsOf.get(log) ?? 1;
    const deadline = Date.now() + GROUP_JOIN_MS_MAX;
    while (c.assignment().filter((a) => a.topic === log && c.position(log, a.partition) !== null).length < partitions) {
      if (Date.now() > deadline) {
        await c.disconnect().catch(() => undefined);
        throw new Error(`the group member of ${so.group} on ${log} did not own and place all ${partitions} partitions within ${GROUP_JOIN_MS_MAX} ms`);
      }
      await sleep(20);
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
  };

  const target: RaftlogTarget = {
    label: o.sync === 'fsync' ? 'raftlog (fsync)' : 'raftlog (interval, relaxed)',
    nodes: cluster.nodes.map((n) => n.id),
    cluster,
    async createLog(name, partitions, lo) {
      const configEntries = [
        ...(lo?.retentionMs !== undefined ? [{ name: 'retention.ms', value: String(lo.retentionMs) }] : []),
        ...(lo?.segmentBytes !== undefined ? [{ name: 'segment.bytes', value: String(lo.segmentBytes) }] : []),
      ];
      await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 3, configEntries }], timeoutMs: 20_000 });
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
    async subscribe(log, onRecord, so): Promise<Closeable> {
      if (so?.group !== undefined) return subscribeGroup(log, onRecord, so);
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
    async transfer(log, partition = 0) {
      const from = await leader(log, partition);
      const to = cluster.nodes.map((n) => n.id).find((id) => id !== from)!;
      await admin.transferLeadership({ topic: log, partition, to });
    },
    processes() {
      return cluster.nodes.flatMap((n) => (n.process?.pid !== undefined ? [{ node: n.id, pid: n.process.pid }] : []));
    },
    async scrapeMetrics() {
      const texts = await Promise.all(cluster.nodes.filter((n) => n.process !== null).map(async (n) => [n.id, (await cluster.httpGet(n, '/metrics', METRICS_MS_MAX)).body] as const));
      return new Map(texts);
    },
    async deletedRecords(log) {
      return (await admin.fetchTopicOffsets(log)).reduce((a, p) => a + Number(p.low), 0);
    },
    /** `keep`: leave the nodes' folders (cluster.dir) for the caller to read and remove. */
    async stop(keep = false) {
      for (const c of [...open]) await c.close().catch(() => undefined);
      await admin.disconnect();
      await cluster.stop(keep);
    },
    async kafkaView(v) {
      if (cluster.kafkaBrokers.length === 0) throw new Error('this raftlog target was started without Kafka listeners (startRaftlog kafka: true)');
      return kafkajsView(target, cluster.kafkaBrokers, v);
    },
  };
  return target;
}
