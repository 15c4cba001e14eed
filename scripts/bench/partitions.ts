/**
 * `npm run bench:partitions -- [--topics 20] [--partitions 100] [--replication-factor 3]
 * [--idle-ms 15000] [--args "..."]`: what many partitions cost a node (issue 22 §1), on a
 * 3-node cluster of the production entry point:
 *
 * 1. with no topic, once the cluster has settled, each node's resident memory (RSS), V8 heap
 *    used (the lowest of samples taken every second: after a collection), external memory (ArrayBuffers and other memory V8 counts outside its heap), open file
 *    descriptors and CPU over `--idle-ms`: the empty cluster's cost;
 * 2. creates `--topics` topics of `--partitions` partitions each, one topic per request, printing
 *    progress, and waits until every partition has a leader;
 * 3. the same figures at idle, after `--settle-ms`; memory per replica is the growth over the empty
 *    cluster divided by the replicas each node holds;
 * 4. stops every node (SIGTERM) and starts them again: the start-up time is from the restart until
 *    every partition has a leader again; then the figures once more, after the settle.
 *
 * Memory and CPU come from each node's /metrics (prom-client's default process metrics) and, for
 * RSS, /proc/<pid>/status; whether every partition has a leader from the groups each node says it
 * leads (raftlog_groups_led, asked every second). Prints a line per step and, last, one JSON line
 * of all the figures.
 */
import fs from 'node:fs';
import { Command } from 'commander';
import { LocalCluster, sleep } from '../../chaos/cluster.js';
import { metricValue } from '../../chaos/metrics-text.js';
import { Client, silentLogger } from '../../src/client/index.js';

const opts = new Command()
  .name('bench:partitions')
  .option('--nodes <n>', 'nodes in the cluster', '3')
  .option('--topics <n>', 'topics to create', '20')
  .option('--partitions <n>', 'partitions per topic', '100')
  .option('--replication-factor <n>', 'replicas per partition', '3')
  .option('--settle-ms <ms>', 'wait after the partitions have leaders before measuring', '15000')
  .option('--idle-ms <ms>', 'window over which idle CPU is measured', '15000')
  .option('--args <flags>', 'extra flags for every node, space-separated (e.g. "--cache-bytes 268435456")', '')
  .option('--keep', 'keep the cluster folder')
  .parse()
  .opts<{ nodes: string; topics: string; partitions: string; replicationFactor: string; settleMs: string; idleMs: string; args: string; keep?: boolean }>();

const LEADERS_TIMEOUT_MS = 15 * 60_000;
const MIB = 1024 * 1024;
/** How often the heap is sampled during an idle window. */
const SAMPLE_MS = 1000;
/** How often the nodes are asked how many groups they lead. */
const POLL_MS = 1000;

interface NodeFigures {
  readonly node: string;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  readonly openFds: number;
  /** Percent of one core over the idle window. */
  readonly cpuPercent: number;
}

/** A sample of one metric from a Prometheus exposition (the first series with that name), NaN when there is none. */
function metric(text: string, name: string): number {
  return metricValue(text, name) ?? Number.NaN;
}

async function metricsOf(address: string): Promise<string> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return res.text();
}

function rssOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) * 1024;
}

async function figures(cluster: LocalCluster, idleMs: number): Promise<NodeFigures[]> {
  const before = await Promise.all(cluster.nodes.map(async (n) => metric(await metricsOf(n.address), 'process_cpu_seconds_total')));
  const t0 = Date.now();
  // The heap is sampled every second: its lowest figure is the one after a collection.
  const heapMin = cluster.nodes.map(() => Infinity);
  while (Date.now() - t0 < idleMs) {
    await sleep(Math.min(SAMPLE_MS, idleMs));
    const texts = await Promise.all(cluster.nodes.map((n) => metricsOf(n.address)));
    texts.forEach((t, i) => (heapMin[i] = Math.min(heapMin[i]!, metric(t, 'nodejs_heap_size_used_bytes'))));
  }
  const seconds = (Date.now() - t0) / 1000;
  return Promise.all(
    cluster.nodes.map(async (n, i) => {
      const text = await metricsOf(n.address);
      return {
        node: n.id,
        rssBytes: rssOf(n.process?.pid),
        heapUsedBytes: Math.min(heapMin[i]!, metric(text, 'nodejs_heap_size_used_bytes')),
        externalBytes: metric(text, 'nodejs_external_memory_bytes'),
        openFds: metric(text, 'process_open_fds'),
        cpuPercent: Math.round(((metric(text, 'process_cpu_seconds_total') - before[i]!) / seconds) * 1000) / 10,
      };
    }),
  );
}

function show(label: string, fs: readonly NodeFigures[]): void {
  for (const f of fs) {
    process.stderr.write(`  ${label} ${f.node}: RSS ${(f.rssBytes / MIB).toFixed(1)} MiB, heap ${(f.heapUsedBytes / MIB).toFixed(1)} MiB, external ${(f.externalBytes / MIB).toFixed(1)} MiB, ${f.openFds} fds, CPU ${f.cpuPercent}%\n`);
  }
}

/**
 * Groups led, all nodes together, as each node's /metrics says (raftlog_groups_led: the metadata
 * group's leader counts one more). /metrics, not /status: a status of thousands of groups is itself
 * a load on a node that is busy starting, and one that times out would count as none led.
 */
async function groupsLed(cluster: LocalCluster): Promise<number> {
  const led = await Promise.all(
    cluster.nodes.map(async (n) => {
      if (n.process === null) return 0;
      try {
        return metric(await metricsOf(n.address), 'raftlog_groups_led');
      } catch {
        return NaN;
      }
    }),
  );
  return led.reduce((a, b) => a + b, 0);
}

/** Waits until the nodes lead every partition and the metadata group, twice in a row a second apart; the time it took. */
async function waitForLeaders(cluster: LocalCluster, total: number, what: string): Promise<number> {
  const t0 = Date.now();
  let last = -1;
  let seen = 0;
  for (;;) {
    const led = await groupsLed(cluster);
    const n = Number.isNaN(led) ? NaN : led - 1;
    if (n !== last) process.stderr.write(`  ${what}: ${Number.isNaN(n) ? 'a node did not answer' : `${n}/${total} partitions have a leader`} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    last = n;
    seen = n === total ? seen + 1 : 0;
    if (seen === 2) return Date.now() - t0 - POLL_MS;
    if (Date.now() - t0 > LEADERS_TIMEOUT_MS) throw new Error(`${what}: only ${n} of ${total} partitions have a leader after ${LEADERS_TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}

/** Per node, (with - empty) / replicas, in bytes. */
function perReplica(withTopics: readonly NodeFigures[], empty: readonly NodeFigures[], replicasPerNode: number, key: 'rssBytes' | 'heapUsedBytes' | 'externalBytes'): number[] {
  return withTopics.map((f, i) => Math.round((f[key] - empty[i]![key]) / replicasPerNode));
}

async function main(): Promise<void> {
  const nodes = Number(opts.nodes);
  const topics = Number(opts.topics);
  const partitions = Number(opts.partitions);
  const rf = Number(opts.replicationFactor);
  const settleMs = Number(opts.settleMs);
  const idleMs = Number(opts.idleMs);
  const total = topics * partitions;
  const replicasPerNode = (total * rf) / nodes;
  const cluster = new LocalCluster({ nodes, entry: 'production', logLevel: 'warn', args: opts.args.split(' ').filter((a) => a !== '') });
  process.stderr.write(`starting a ${nodes}-node cluster in ${cluster.dir}\n`);
  await cluster.start();
  const admin = new Client({ brokers: cluster.brokers, logger: silentLogger }).admin();
  try {
    await admin.createTopics({ topics: [{ topic: 'warmup', numPartitions: 1, replicationFactor: rf }] });
    await admin.deleteTopics({ topics: ['warmup'] });
    await sleep(settleMs);
    process.stderr.write(`empty cluster, idle for ${idleMs} ms:\n`);
    const empty = await figures(cluster, idleMs);
    show('empty', empty);

    const t0 = Date.now();
    for (let t = 0; t < topics; t++) {
      await admin.createTopics({ topics: [{ topic: `p${t}`, numPartitions: partitions, replicationFactor: rf }], timeoutMs: 120_000, waitForLeaders: false });
      process.stderr.write(`  created topic p${t} (${(t + 1) * partitions}/${total} partitions, ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    }
    const createMs = Date.now() - t0 + (await waitForLeaders(cluster, total, 'created'));
    await sleep(settleMs);
    process.stderr.write(`${total} partitions (${replicasPerNode} replicas per node), idle for ${idleMs} ms:\n`);
    const loaded = await figures(cluster, idleMs);
    show('loaded', loaded);

    process.stderr.write('restarting every node\n');
    await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id, 'SIGTERM')));
    const r0 = Date.now();
    await Promise.all(cluster.nodes.map((n) => cluster.restart(n.id)));
    const upMs = Date.now() - r0;
    const restartMs = upMs + (await waitForLeaders(cluster, total, 'restarted'));
    await sleep(settleMs);
    process.stderr.write(`after the restart, idle for ${idleMs} ms:\n`);
    const restarted = await figures(cluster, idleMs);
    show('restarted', restarted);

    const kib = (xs: number[]): number[] => xs.map((x) => Math.round(x / 102.4) / 10);
    const result = {
      nodes,
      partitions: total,
      replicationFactor: rf,
      replicasPerNode,
      args: opts.args,
      createSeconds: createMs / 1000,
      restartSeconds: restartMs / 1000,
      restartListeningSeconds: upMs / 1000,
      perReplicaKiB: {
        rss: kib(perReplica(loaded, empty, replicasPerNode, 'rssBytes')),
        heap: kib(perReplica(loaded, empty, replicasPerNode, 'heapUsedBytes')),
        external: kib(perReplica(loaded, empty, replicasPerNode, 'externalBytes')),
      },
      perReplicaAfterRestartKiB: {
        rss: kib(perReplica(restarted, empty, replicasPerNode, 'rssBytes')),
        heap: kib(perReplica(restarted, empty, replicasPerNode, 'heapUsedBytes')),
        external: kib(perReplica(restarted, empty, replicasPerNode, 'externalBytes')),
      },
      idleCpuPercent: { empty: empty.map((f) => f.cpuPercent), loaded: loaded.map((f) => f.cpuPercent), restarted: restarted.map((f) => f.cpuPercent) },
      empty,
      loaded,
      restarted,
    };
    process.stderr.write(`memory per replica (KiB, per node): RSS ${result.perReplicaKiB.rss.join(', ')}; heap ${result.perReplicaKiB.heap.join(', ')}; external ${result.perReplicaKiB.external.join(', ')}\n`);
    process.stderr.write(`start-up: ${result.restartSeconds} s until every partition had a leader (${result.restartListeningSeconds} s until every node answered /status)\n`);
    console.log(JSON.stringify(result));
  } finally {
    await admin.disconnect();
    await cluster.stop(opts.keep === true);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
