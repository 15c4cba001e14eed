/**
 * `npm run bench:move -- [--bytes 1073741824] [--recovery-bytes-per-sec 52428800]`: how long it
 * takes to add a replica of a large partition on a fourth node (issue 20 §4), and what producers
 * on the partition see meanwhile. Once without a throttle and once with `--recovery-bytes-per-sec`
 * on every node, each on a new 4-node cluster (production entry point, default --sync fsync):
 *
 * 1. fill one partition (3 replicas) with `--bytes` of 1 KiB records, in 256 KiB requests, four
 *    producers at a time;
 * 2. a probe producer sends one 100-byte record (acks all) every `--probe-ms`: its latencies for
 *    `--before-ms` give the p50/p99 before the move;
 * 3. reassign the partition to its three replicas and the fourth node (`raftlog partitions
 *    reassign`, the admin client's reassignPartitions), and time until the new replica is a voter
 *    (its leader's configuration committed, no learner left); the probe's latencies meanwhile give
 *    the p50/p99 during the move. The leader's /status says how many bytes it streamed as files.
 *
 * Prints a line per phase and, last, a JSON object with both runs.
 */
import { Command } from 'commander';
import { LocalCluster, sleep } from '../../chaos/cluster.js';
import { Client, silentLogger } from '../../src/client/index.js';
import type { GroupStatus } from '../../src/wire/protocol.js';
import { percentile } from './stats.js';

const opts = new Command()
  .name('bench:move')
  .option('--bytes <n>', 'bytes of records to fill the partition with', String(1024 * 1024 * 1024))
  .option('--recovery-bytes-per-sec <n>', 'the throttled run\'s --recovery-bytes-per-sec', String(50 * 1024 * 1024))
  .option('--probe-ms <ms>', 'pause between the probe producer\'s records', '10')
  .option('--before-ms <ms>', 'how long the probe runs before the move', '5000')
  .option('--segment-bytes <n>', 'the topic\'s segment.bytes', String(64 * 1024 * 1024))
  .option('--only <which>', "run only 'unthrottled' or 'throttled'")
  .parse()
  .opts<{ bytes: string; recoveryBytesPerSec: string; probeMs: string; beforeMs: string; segmentBytes: string; only?: string }>();

const TOPIC = 'move';
const RECORD_BYTES = 1024;
const RECORDS_PER_SEND = 256;
const FILLERS = 4;
const MOVE_TIMEOUT_MS = 30 * 60_000;

interface RunResult {
  readonly recoveryBytesPerSec: number;
  readonly bytes: number;
  readonly fillSeconds: number;
  readonly moveSeconds: number;
  readonly bytesStreamed: number;
  readonly before: { readonly n: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  readonly during: { readonly n: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
}

function summary(ms: readonly number[]): RunResult['before'] {
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { n: ms.length, p50Ms: r(percentile(ms, 50)), p99Ms: r(percentile(ms, 99)), maxMs: r(Math.max(...ms)) };
}

async function groupOn(cluster: LocalCluster, node: string): Promise<GroupStatus | undefined> {
  return (await cluster.status(node)).groups.find((g) => g.group.startsWith(`${TOPIC}/0`));
}

async function run(bytes: number, throttle: number): Promise<RunResult> {
  const cluster = new LocalCluster({ nodes: 4, entry: 'production', logLevel: 'warn', args: throttle > 0 ? ['--recovery-bytes-per-sec', String(throttle)] : [] });
  process.stderr.write(`starting a 4-node cluster in ${cluster.dir} (--recovery-bytes-per-sec ${throttle === 0 ? 'unlimited' : throttle})\n`);
  await cluster.start();
  const client = new Client({ brokers: cluster.brokers, logger: silentLogger, retry: { retries: 30, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 } });
  const admin = client.admin();
  try {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'segment.bytes', value: opts.segmentBytes }] }] });
    let leader = '';
    for (let k = 0; k < 200 && leader === ''; k++) {
      for (const n of cluster.nodes) if ((await groupOn(cluster, n.id))?.role === 'leader') leader = n.id;
      if (leader === '') await sleep(50);
    }
    const replicas = (await groupOn(cluster, leader))!.voters!;
    const spare = cluster.nodes.map((n) => n.id).find((id) => !replicas.includes(id))!;

    // 1. Fill.
    const sends = Math.ceil(bytes / (RECORD_BYTES * RECORDS_PER_SEND));
    const value = Buffer.alloc(RECORD_BYTES, 'x');
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: FILLERS }, async () => {
        const p = client.producer({ idempotent: true });
        while (next < sends) {
          next++;
          await p.send({ topic: TOPIC, acks: 'all', messages: Array.from({ length: RECORDS_PER_SEND }, () => ({ value })) });
          if (next % 400 === 0) process.stderr.write(`  filled ${((next * RECORD_BYTES * RECORDS_PER_SEND) / 1048576).toFixed(0)} MiB\n`);
        }
        await p.disconnect();
      }),
    );
    const fillSeconds = (performance.now() - t0) / 1000;
    process.stderr.write(`filled ${TOPIC}/0 with ${(bytes / 1048576).toFixed(0)} MiB in ${fillSeconds.toFixed(1)} s (${(bytes / 1048576 / fillSeconds).toFixed(1)} MiB/s); leader ${leader}, replicas ${replicas.join(',')}, new replica on ${spare}\n`);

    // 2. The probe.
    const probe = client.producer({ idempotent: true });
    const before: number[] = [];
    const during: number[] = [];
    let into = before;
    let probing = true;
    const probeValue = Buffer.alloc(100, 'p');
    const probeLoop = (async () => {
      while (probing) {
        const s = performance.now();
        await probe.send({ topic: TOPIC, acks: 'all', messages: [{ value: probeValue }] });
        into.push(performance.now() - s);
        await sleep(Number(opts.probeMs));
      }
    })();
    await sleep(Number(opts.beforeMs));

    // 3. The move.
    const sentBefore = (await cluster.status(leader)).recovery?.bytesSent ?? 0;
    into = during;
    const m0 = performance.now();
    await admin.reassignPartitions([{ topic: TOPIC, partition: 0, replicas: [...replicas, spare] }]);
    for (;;) {
      const g = await groupOn(cluster, leader).catch(() => undefined);
      if (g?.role === 'leader' && g.membershipCommitted === true && (g.learners ?? []).length === 0 && (g.voters ?? []).includes(spare)) break;
      if (performance.now() - m0 > MOVE_TIMEOUT_MS) throw new Error(`the new replica on ${spare} was not a voter within ${MOVE_TIMEOUT_MS} ms`);
      await sleep(20);
    }
    const moveSeconds = (performance.now() - m0) / 1000;
    probing = false;
    await probeLoop;
    await probe.disconnect();
    const bytesStreamed = ((await cluster.status(leader)).recovery?.bytesSent ?? 0) - sentBefore;
    const r: RunResult = { recoveryBytesPerSec: throttle, bytes, fillSeconds: Math.round(fillSeconds * 10) / 10, moveSeconds: Math.round(moveSeconds * 100) / 100, bytesStreamed, before: summary(before), during: summary(during) };
    process.stderr.write(`moved in ${moveSeconds.toFixed(2)} s (${(bytesStreamed / 1048576).toFixed(0)} MiB streamed as files); probe p99 ${r.before.p99Ms} ms before, ${r.during.p99Ms} ms during (p50 ${r.before.p50Ms} / ${r.during.p50Ms} ms)\n`);
    return r;
  } finally {
    await admin.disconnect().catch(() => undefined);
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const bytes = Number(opts.bytes);
  const runs: RunResult[] = [];
  if (opts.only !== 'throttled') runs.push(await run(bytes, 0));
  if (opts.only !== 'unthrottled') runs.push(await run(bytes, Number(opts.recoveryBytesPerSec)));
  console.log(JSON.stringify({ bench: 'move', runs }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
