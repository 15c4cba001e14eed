/** Shared by the cluster tests: a real cluster of child processes, a client, and whole-partition reads. */
import { LocalCluster, sleep, type NodeEntry } from '../../chaos/cluster.js';
import type { ControllerStatus, GroupStatus } from '../../src/wire/protocol.js';
import { Client, silentLogger, type ConsumedMessage } from '../../src/client/index.js';

export interface TestCluster {
  readonly cluster: LocalCluster;
  readonly client: Client;
  close(): Promise<void>;
}

/** A cluster of `nodes` started through the chaos entry point, or (`entry: 'production'`) through `cluster.js`; with `kafka`, every node has a Kafka listener. */
export async function startCluster(nodes = 3, args: readonly string[] = [], entry: NodeEntry = 'chaos', opts: { readonly kafka?: boolean } = {}): Promise<TestCluster> {
  const cluster = new LocalCluster({ nodes, args, entry, ...opts });
  await cluster.start();
  const client = new Client({ brokers: cluster.brokers, logger: silentLogger, retry: { retries: 30, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 } });
  return {
    cluster,
    client,
    close: async () => {
      await cluster.stop();
    },
  };
}

/** Every record of a partition from its log start to its high watermark, in offset order. */
export async function readPartition(client: Client, topic: string, partition: number, timeoutMs = 20_000): Promise<ConsumedMessage[]> {
  const admin = client.admin();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const high = BigInt(offsets.find((o) => o.partition === partition)!.high);
  const low = BigInt(offsets.find((o) => o.partition === partition)!.low);
  if (high === low) return [];
  const out: ConsumedMessage[] = [];
  const consumer = client.consumer();
  consumer.assign([{ topic, partition, offset: 'earliest' }]);
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.run({
    eachMessage: async ({ message }) => {
      out.push(message);
      if (BigInt(message.offset) >= high - 1n) done();
    },
  });
  try {
    await Promise.race([finished, sleep(timeoutMs).then(() => Promise.reject(new Error(`read only ${out.length} records of ${topic}/${partition} (up to ${high}) within ${timeoutMs} ms`)))]);
  } finally {
    await consumer.stop();
    await consumer.disconnect();
  }
  return out;
}

/** Polls `check` until it returns true or `ms` pass. */
export async function eventually(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** The status of the first group on `node` whose name starts with `prefix` ('meta', 'orders/0'). */
/**
 * Waits until user `name` can log in through `client` (made with no retries) and see itself in
 * listUsers: the controller creates the bootstrap user once it is elected and has named the cluster.
 */
export async function bootstrapUserLogsIn(client: Client, name = 'admin'): Promise<void> {
  await eventually(
    async () => {
      try {
        return (await client.admin().listUsers()).some((u) => u.name === name);
      } catch {
        return false;
      }
    },
    30_000,
    'the bootstrap user to log in',
  );
}

export async function groupOn(t: TestCluster, node: string, prefix: string): Promise<GroupStatus | undefined> {
  return (await t.cluster.status(node)).groups.find((g) => g.group.startsWith(prefix));
}

/** The node that leads the group named `prefix`, once one does (within 10 s). */
export async function leaderOf(t: TestCluster, prefix: string, ms = 10_000): Promise<string> {
  let leader = '';
  await eventually(
    async () => {
      for (const n of t.cluster.nodes) {
        if (n.process === null) continue;
        const g = await groupOn(t, n.id, prefix).catch(() => undefined);
        if (g?.role === 'leader') leader = n.id;
      }
      return leader !== '';
    },
    ms,
    `a leader of ${prefix}`,
  );
  return leader;
}

/** Once every replica of the target shows the target as its committed voters, and no other node that is up holds a replica. */
export async function settledOn(t: TestCluster, prefix: string, target: readonly string[]): Promise<boolean> {
  for (const n of t.cluster.nodes) {
    if (n.process === null && !target.includes(n.id)) continue;
    const g = await groupOn(t, n.id, prefix).catch(() => undefined);
    if (!target.includes(n.id)) {
      if (g !== undefined) return false;
      continue;
    }
    if (g === undefined || g.membershipCommitted !== true || (g.learners ?? []).length > 0) return false;
    if ([...(g.voters ?? [])].sort().join(',') !== [...target].sort().join(',')) return false;
  }
  return true;
}

/** The controller's view of its replica moves, from whichever running node is the controller (undefined while none is). */
export async function controllerStatus(t: TestCluster): Promise<ControllerStatus | undefined> {
  for (const n of t.cluster.nodes) {
    if (n.process === null) continue;
    const s = await t.cluster.status(n.id).catch(() => undefined);
    if (s?.controller !== undefined) return s.controller;
  }
  return undefined;
}

/** Producers of the cluster tests: sends records to `topic` one after the other until `stop()`, which resolves with the values acknowledged. */
export function keepProducing(t: TestCluster, topic: string, prefix = 'v'): { stop: () => Promise<string[]> } {
  const producer = t.client.producer({ idempotent: true });
  const acked: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let k = 0; running; k++) {
      const value = `${prefix}${k}`;
      await producer.send({ topic, acks: 'all', messages: [{ value }] });
      acked.push(value);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await producer.disconnect();
      return acked;
    },
  };
}
