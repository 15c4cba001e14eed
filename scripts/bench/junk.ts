/**
 * `npm run bench:junk -- [--seconds 8] [--connections 2] [--frame-mib 60] [--attacks a,b,...]`:
 * how long a node's event loop stalls while a flood of junk frames hits it (issue 22 §1), and
 * what that costs the cluster: elections, and a producer's acknowledgement latency.
 *
 * A fresh 3-node cluster (the production entry, Kafka listeners on) with a 3-partition topic; one
 * producer sends 1 KB records (acks=all, one in flight) throughout. Each attack runs for
 * `--seconds` against node n1 with `--connections` raw connections, each sending `--frame-mib`
 * frames of junk as fast as the node reads them (reconnecting when it closes one): the junk floods
 * of chaos/attacks.ts (client-random, client-msgpack, peer-random, peer-msgpack, kafka-metadata).
 *
 * Per attack it prints the longest event-loop stall n1 saw (prom-client's
 * nodejs_eventloop_lag_max_seconds, from perf_hooks.monitorEventLoopDelay; /metrics is read once
 * before the attack to reset it), the elections it cost (terms gained over all groups), the
 * producer's p99 and max acknowledgement latency, and whether every node is still up. A quiet
 * phase of the same length comes first, as the baseline. The last line is one JSON object.
 *
 * The attackers run in a child process of their own (this script with --flood), so that the
 * producer's latency is the cluster's, not that of a process busy attacking.
 */
import { fork } from 'node:child_process';
import { Command } from 'commander';
import { JUNK_FLOODS, flood, junkFrames, type FloodCounts, type JunkFlood } from '../../chaos/attacks.js';
import { LocalCluster, sleep } from '../../chaos/cluster.js';
import { metricValue } from '../../chaos/metrics-text.js';
import { clusterView } from '../../chaos/view.js';
import { Client, silentLogger } from '../../src/client/index.js';
import { percentile } from './stats.js';

// The attacks are chaos/attacks.ts's junk floods, shared with the hostile chaos nemesis.
const ATTACKS = JUNK_FLOODS;
type Attack = JunkFlood;

const opts = new Command()
  .name('bench:junk')
  .option('--seconds <n>', 'length of each attack (and of the quiet baseline)', '8')
  .option('--connections <n>', 'attacking connections at once', '2')
  .option('--frame-mib <n>', 'MiB of one junk frame', '60')
  .option('--attacks <list>', `comma-separated, of ${ATTACKS.join(', ')}`, ATTACKS.join(','))
  .option('--flood <attack>', 'internal: be the attacking child process, against --target')
  .option('--target <host:port>', 'internal: the address the --flood child attacks')
  .parse()
  .opts<{ seconds: string; connections: string; frameMib: string; attacks: string; flood?: Attack; target?: string }>();

interface PhaseResult {
  readonly phase: string;
  /** The longest event-loop stall n1 saw during the phase, ms. */
  readonly stallMs: number;
  /** Terms gained over all groups (each is at least one election). */
  readonly elections: number;
  readonly ackP99Ms: number;
  readonly ackMaxMs: number;
  /** Junk frames begun (the node may have closed the connection before the rest was written). */
  readonly framesSent: number;
  readonly nodesUp: number;
}

async function main(): Promise<void> {
  const seconds = Number(opts.seconds);
  const connections = Number(opts.connections);
  const frameBytes = Math.round(Number(opts.frameMib) * 1024 * 1024);
  const attacks = opts.attacks.split(',').map((a) => a.trim()) as Attack[];
  for (const a of attacks) if (!ATTACKS.includes(a)) throw new Error(`unknown attack '${a}': one of ${ATTACKS.join(', ')}`);

  process.stderr.write('starting a 3-node cluster\n');
  const cluster = new LocalCluster({ nodes: 3, entry: 'production', logLevel: 'warn', kafka: true });
  await cluster.start();
  const client = new Client({ brokers: cluster.brokers, logger: silentLogger, retry: { retries: 300, initialRetryTimeMs: 10, maxRetryTimeMs: 50 } });
  const results: PhaseResult[] = [];
  try {
    const admin = client.admin();
    await admin.createTopics({ topics: [{ topic: 'junk-bench', numPartitions: 3, replicationFactor: 3 }], timeoutMs: 20_000 });
    const producer = client.producer();
    await producer.connect();
    const acks: number[] = [];
    let producing = true;
    const value = Buffer.alloc(1024, 7);
    const loop = (async () => {
      while (producing) {
        const t0 = performance.now();
        try {
          await producer.send({ topic: 'junk-bench', messages: [{ value }] });
          acks.push(performance.now() - t0);
        } catch {
          acks.push(performance.now() - t0);
        }
      }
    })();
    await sleep(2000);
    const n1 = cluster.node('n1');
    for (const phase of ['quiet', ...attacks] as const) {
      process.stderr.write(`${phase}: ${seconds} s\n`);
      const termsBefore = await terms(cluster);
      await lagMaxMs(n1.address);
      acks.length = 0;
      let framesSent = 0;
      if (phase !== 'quiet') {
        const target = phase.startsWith('kafka') ? n1.kafka! : n1.address;
        framesSent = await attack(phase, target, seconds, connections, frameBytes);
      } else {
        await sleep(seconds * 1000);
      }
      const stallMs = await lagMaxMs(n1.address);
      await sleep(1000);
      const termsAfter = await terms(cluster);
      let elections = 0;
      for (const [g, t] of termsAfter) elections += t - (termsBefore.get(g) ?? t);
      const view = await clusterView(cluster);
      const r: PhaseResult = { phase, stallMs, elections, ackP99Ms: round(percentile(acks, 99)), ackMaxMs: round(Math.max(0, ...acks)), framesSent, nodesUp: view.up.length };
      results.push(r);
      console.log(`${phase.padEnd(15)} longest stall ${String(r.stallMs).padStart(6)} ms  elections ${String(r.elections).padStart(2)}  acks p99 ${String(r.ackP99Ms).padStart(6)} ms  max ${String(r.ackMaxMs).padStart(6)} ms  junk frames begun ${String(framesSent).padStart(4)}  nodes up ${r.nodesUp}`);
    }
    producing = false;
    await loop;
    await producer.disconnect();
    await admin.disconnect();
  } finally {
    await cluster.stop();
  }
  console.log(JSON.stringify({ frameBytes, seconds, connections, results }));
}

/** Runs the attack from a child process (this script with --flood) for `seconds`; resolves with the junk frames it sent. */
function attack(phase: Attack, target: string, seconds: number, connections: number, frameBytes: number): Promise<number> {
  const script = process.argv[1]!;
  const child = fork(script, ['--flood', phase, '--target', target, '--seconds', String(seconds), '--connections', String(connections), '--frame-mib', String(frameBytes / 1024 / 1024)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let sent = 0;
    child.on('message', (m: { sent: number }) => (sent = m.sent));
    child.on('exit', (code) => (code === 0 ? resolve(sent) : reject(new Error(`the attacking process exited with ${code}`))));
  });
}

/** The --flood child: the attack, then its count of frames sent to the parent. */
async function floodChild(a: Attack, target: string): Promise<void> {
  const junk = junkFrames(Math.round(Number(opts.frameMib) * 1024 * 1024));
  const stop = Date.now() + Number(opts.seconds) * 1000;
  const counts: FloodCounts = { frames: 0, connections: 0, closedByNode: 0 };
  await Promise.all(Array.from({ length: Number(opts.connections) }, () => flood(a, target, junk, stop, counts)));
  process.send!({ sent: counts.frames }, () => process.exit(0));
}

/** n1's nodejs_eventloop_lag_max_seconds since the last read, in ms (reading resets it). */
async function lagMaxMs(address: string): Promise<number> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(180_000) });
  const text = await res.text();
  const v = metricValue(text, 'nodejs_eventloop_lag_max_seconds');
  return v === undefined ? Number.NaN : round(v * 1000);
}

/** Each group's highest term among the nodes that answer. */
async function terms(cluster: LocalCluster): Promise<Map<string, number>> {
  const view = await clusterView(cluster);
  return new Map([...view.groups].map(([g, v]) => [g, v.term]));
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

(opts.flood !== undefined ? floodChild(opts.flood, opts.target!) : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
