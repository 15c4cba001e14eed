/**
 * `npm run bench -- [--full] [--out DIR] [--no-nats] [--profile]`: raftlog side by side with NATS
 * JetStream on this machine, in one run (node dist/scripts/bench/cli.js).
 *
 * 1. The machine: raw sequential write+fdatasync bandwidth of the disk, loopback TCP bandwidth.
 * 2. Producer throughput (workloads.ts): 1 KB and 100 B records, acks=all, 1, 4 and 16 producers,
 *    against raftlog with fsync before acknowledging (its default), raftlog with the RELAXED
 *    interval sync, and a 3-node NATS JetStream cluster with an R3 file stream (nats.ts; NATS does
 *    not fsync each write by default). Every system is a fresh 3-node cluster on loopback, which
 *    carries a steady load for a few seconds before anything is measured (workloads.ts warmUp).
 *    The systems run at once and take turns in short windows (workloads.ts throughputInterleaved),
 *    so they meet the same machine: CPU steal here swings between 0 and 50% within minutes, and
 *    systems measured minutes apart differed by it more than by anything of their own.
 * 3. End-to-end latency, open loop, at 50% and 80% of a measured maximum: the lower of raftlog's
 *    and NATS's 1 KB, 4-producer throughput, so both systems are offered the same load. Fresh
 *    clusters again, taking turns in 1 s windows (workloads.ts latencyInterleaved). Then the same
 *    at 100 B records, at 50% of the lower 100 B maximum. In these fixed-rate windows, what each
 *    system's servers spent (efficiency.ts): CPU-seconds per GB and per million records
 *    acknowledged, disk bytes written per byte acknowledged, and each raftlog node's event-loop
 *    delay.
 * 4. Failover: leader SIGKILLs during steady production, and planned leadership transfers.
 *
 * `--soak SECONDS` runs the endurance test of soak.ts instead (see there): raftlog (and NATS,
 * taking turns) at half load for that long, with retention, a consumer group, leader transfers,
 * per-window latency, memory, and the history checker's verdict.
 *
 * The fsync cluster's nodes also run Kafka listeners, and kafkajs 2.2.4 drives them beside the
 * native client (kafkajs.ts) in phases 2 and 3: same cluster, same windows taken in turn, same
 * offered load; its figures are a table of their own.
 *
 * The quick version (the default) finishes within about 5 minutes: 5 s warm-ups, 3 throughput
 * rounds of 1 s, 5 latency rounds of 1 s, 20 raftlog leader kills but 8 NATS ones (each NATS
 * failover takes seconds); --full has 5 throughput rounds of 2 s and 20 latency rounds after 15 s
 * warm-ups, and kills 30 leaders of each. Both print Markdown tables, write results.json and chart.svg into the output
 * folder, and end with one JSON line of headline figures and ratios.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { repoRoot } from '../../chaos/cluster.js';
import { loopback, rawDisk } from './baseline.js';
import { drawBars, type BarPanel } from './chart.js';
import { EFFICIENCY_NOTES, EVENT_LOOP_RESOLUTION_MS, costOf, efficiencyResult, eventLoopResults, type CostWindow, type EfficiencyResult, type EventLoopResult } from './efficiency.js';
import { natsServerPath, startNats } from './nats.js';
import { startRaftlog, type RaftlogTarget } from './raftlog.js';
import { runSoak } from './soak.js';
import { soakChart } from './soak-chart.js';
import { renderSoak, soakHeadline } from './soak-report.js';
import type { Target } from './target.js';
import { RECOVERY_MS_MAX, failover, latencyInterleaved, openLatency, openThroughput, round, throughputInterleaved, warmUp, type FailoverResult, type LatencyResult, type Steal, type ThroughputResult } from './workloads.js';

interface Plan {
  /** Load carried by every freshly started cluster before anything is measured (workloads.ts warmUp). */
  readonly freshWarmupMs: number;
  /** Load on each new log before its first measured window (its leaders and connections settle). */
  readonly warmupMs: number;
  /** The throughput phase: measured windows per system and configuration, the systems taking turns, each after a ramp. */
  readonly throughputWarmupMs: number;
  readonly throughputRounds: number;
  readonly throughputWindowMs: number;
  readonly rampMs: number;
  /** The latency phase: measured windows per system and load, the systems taking turns. */
  readonly latencyRounds: number;
  readonly latencyWindowMs: number;
  /** Leader kills of raftlog, and of NATS (whose failovers take seconds each). */
  readonly kills: number;
  readonly natsKills: number;
  readonly transfers: number;
  readonly settleMs: number;
  readonly diskMs: number;
  readonly loopbackMs: number;
}

const PLANS: Record<'quick' | 'full', Plan> = {
  quick: { freshWarmupMs: 5000, warmupMs: 1000, throughputWarmupMs: 500, throughputRounds: 3, throughputWindowMs: 1000, rampMs: 250, latencyRounds: 5, latencyWindowMs: 1000, kills: 20, natsKills: 8, transfers: 10, settleMs: 1000, diskMs: 2000, loopbackMs: 1500 },
  full: { freshWarmupMs: 15_000, warmupMs: 2000, throughputWarmupMs: 2000, throughputRounds: 5, throughputWindowMs: 2000, rampMs: 500, latencyRounds: 20, latencyWindowMs: 1000, kills: 30, natsKills: 30, transfers: 20, settleMs: 3000, diskMs: 5000, loopbackMs: 3000 },
};

const RECORD_SIZES = [1024, 100] as const;
const PRODUCER_COUNTS = [1, 4, 16] as const;
/** Sends each producer keeps outstanding in the throughput runs (both systems alike). */
const IN_FLIGHT = 256;
/** Partitions of a raftlog topic: one leader per node. A NATS stream is one Raft group. */
const PARTITIONS = 3;
const LATENCY_PRODUCERS = 4;
const LATENCY_LOADS = [0.5, 0.8] as const;
/** The 100 B fixed-rate phase (for its efficiency): this fraction of the lower of raftlog's and NATS's 100 B, 4-producer throughput. */
const SMALL_LOAD = 0.5;
const SMALL_BYTES = 100;
const FAILOVER_PRODUCERS = 4;

interface SystemResult {
  label: string;
  throughput: (ThroughputResult & Steal)[];
  latency: (LatencyResult & Steal & { load: number })[];
  /** What the servers spent in the fixed-rate phases' windows (efficiency.ts), per record size and load. */
  efficiency: (EfficiencyResult & { load: number })[];
  /** Event-loop delay of each node in those windows (raftlog only: read from /metrics). */
  eventLoop: { load: number; recordBytes: number; nodes: EventLoopResult[] }[];
  failover: FailoverResult | null;
  /** Workloads that could not finish on this system, with why: the rest is still reported. */
  problems: string[];
}

const opts = new Command()
  .name('npm run bench --')
  .description('raftlog beside NATS JetStream: throughput, end-to-end latency and failover, on this machine')
  .option('--full', 'the complete benchmark (longer windows, more kills) instead of the ~5 minute one')
  .option('--out <dir>', 'where results.json and chart.svg go (default: runs/bench-<time>)')
  .option('--no-nats', 'measure raftlog alone')
  .option('--profile', 'run raftlog nodes under node --cpu-prof; profiles go to <out>/profiles (the throughput cluster\'s; the latency cluster\'s nodes are killed by the failover phase, so profile a fixed rate with --soak SECONDS --rate R --profile)')
  .option('--soak <seconds>', 'instead: the soak of soak.ts for this long (issue 24: 3600), at half the measured maximum', positiveNumber)
  .option('--rate <records/s>', 'soak: offer this many 1 KB records/s instead of half the measured maximum', positiveNumber)
  .option('--window <seconds>', 'soak: the window of the per-window table (default: a thirtieth of the run, 5 s to 60 s)', positiveNumber)
  .option('--retention <seconds>', 'soak: retention of the logs (default: a sixth of the run)', positiveNumber)
  .option('--transfer-every <seconds>', 'soak: time between leader transfers (default: a twelfth of the run)', positiveNumber)
  .parse()
  .opts<{ full?: boolean; out?: string; nats: boolean; profile?: boolean; soak?: number; rate?: number; window?: number; retention?: number; transferEvery?: number }>();

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`a positive number, not ${v}`);
  return n;
}

/** The systems running now, stopped if the benchmark is interrupted (Ctrl-C, SIGTERM). */
const running = new Set<Target>();
function track(t: Target): Target {
  running.add(t);
  return t;
}
async function stopTarget(t: Target): Promise<void> {
  running.delete(t);
  await t.stop();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping the cluster(s) under test`);
    void Promise.allSettled([...running].map((t) => t.stop())).finally(() => process.exit(130));
  });
}

const started = performance.now();
function say(line: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
}

/** Node's CPU profiler for raftlog's nodes; each node writes its profile into <out>/profiles when it stops (not when killed). */
function profileArgs(out: string): string[] {
  return ['--cpu-prof', `--cpu-prof-dir=${path.join(out, 'profiles')}`];
}

/** `--soak SECONDS`: soak.ts; its tables on stdout, results.json, soak.md and chart.svg in the output folder. */
async function soakMain(seconds: number): Promise<void> {
  const out = path.resolve(opts.out ?? path.join(repoRoot(), 'runs', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  say(`soak of ${seconds} s; results in ${out}`);
  const report = await runSoak({
    durationMs: seconds * 1000,
    nats: opts.nats,
    dir: out,
    progress: say,
    ...(opts.profile === true ? { nodeArgs: profileArgs(out) } : {}),
    ...(opts.rate !== undefined ? { ratePerSec: opts.rate } : {}),
    ...(opts.window !== undefined ? { windowMs: opts.window * 1000 } : {}),
    ...(opts.retention !== undefined ? { retentionMs: opts.retention * 1000 } : {}),
    ...(opts.transferEvery !== undefined ? { transferEveryMs: opts.transferEvery * 1000 } : {}),
  });
  const markdown = renderSoak(report);
  process.stdout.write(`${markdown}\n`);
  const headline = soakHeadline(report);
  const json = {
    mode: 'soak',
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', memoryGiB: round(os.totalmem() / 2 ** 30, 1), node: process.version },
    soak: report,
    headline,
    durationSec: Math.round((performance.now() - started) / 1000),
  };
  fs.writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(json, null, 1)}\n`);
  fs.writeFileSync(path.join(out, 'soak.md'), `${markdown}\n`);
  fs.writeFileSync(path.join(out, 'chart.svg'), soakChart(report).toString());
  say(`wrote ${path.join(out, 'results.json')}, soak.md and chart.svg`);
  process.stdout.write(`${JSON.stringify(headline)}\n`);
}

async function main(): Promise<void> {
  if (opts.soak !== undefined) return soakMain(opts.soak);
  const mode = opts.full === true ? 'full' : 'quick';
  const plan = PLANS[mode];
  const out = path.resolve(opts.out ?? path.join(repoRoot(), 'runs', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  fs.mkdirSync(out, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-bench-'));
  say(`${mode} benchmark; results in ${out}`);

  let natsVersion: string | null = null;
  if (opts.nats) {
    const bin = natsServerPath();
    if (bin === null) say('nats-server is not installed, so NATS is left out: `apt-get install nats-server` to compare; measuring raftlog alone');
    else natsVersion = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  }

  say('the machine: raw disk write+fdatasync and loopback bandwidth');
  const diskMBps = rawDisk(work, plan.diskMs);
  const loopbackMBps = await loopback(plan.loopbackMs);
  say(`  disk ${diskMBps} MB/s (1 MiB writes, each fdatasynced); loopback ${loopbackMBps} MB/s (one TCP stream)`);

  const nodeArgs = opts.profile === true ? profileArgs(out) : undefined;
  const starters: Starter[] = [
    {
      key: 'raftlog-fsync',
      start: () => startRaftlog({ sync: 'fsync', kafka: true, ...(nodeArgs !== undefined ? { nodeArgs } : {}) }),
      views: async (t) => [
        { key: KAFKAJS, t: await (t as RaftlogTarget).kafkaView({ lingerMs: 0 }) },
        { key: KAFKAJS_BATCHED, t: await (t as RaftlogTarget).kafkaView({ lingerMs: KAFKAJS_LINGER_MS }) },
      ],
    },
    { key: 'raftlog-interval', start: () => startRaftlog({ sync: 'interval' }) },
    ...(natsVersion !== null ? [{ key: 'nats', start: () => startNats({ log: say }) }] : []),
  ];
  const results = new Map<string, SystemResult>();

  // Throughput, every system, every size and producer count: the systems run at once and take
  // turns (workloads.ts throughputInterleaved), as in the latency phase below.
  const tpLive: Live[] = [];
  try {
    for (const s of starters) {
      say(`throughput: starting ${s.key}`);
      tpLive.push(
        ...(await startWarm(s, plan, (key, t) => {
          const r: SystemResult = { label: t.label, throughput: [], latency: [], efficiency: [], eventLoop: [], failover: null, problems: [] };
          results.set(key, r);
          return r;
        })),
      );
    }
    for (const bytes of RECORD_SIZES) {
      for (const producers of PRODUCER_COUNTS) {
        const shape = { log: `tp-${bytes}-${producers}`, partitions: PARTITIONS, producers, recordBytes: bytes, inFlight: IN_FLIGHT };
        const sessions = await openAll(tpLive, `throughput of ${producers} producer(s), ${bytes} B`, (t) => openThroughput(t, shape));
        say(`throughput, ${producers} producer(s), ${bytes} B records: ${plan.throughputRounds} rounds of ${plan.throughputWindowMs / 1000} s, the systems taking turns`);
        try {
          const res = await throughputInterleaved(
            sessions.map((x) => x.s),
            { producers, recordBytes: bytes, warmupMs: plan.throughputWarmupMs, rampMs: plan.rampMs, rounds: plan.throughputRounds, windowMs: plan.throughputWindowMs, progress: say },
          );
          res.forEach((x, i) => sessions[i]!.r.throughput.push(x));
        } finally {
          await Promise.allSettled(sessions.map((x) => x.s.close()));
        }
      }
    }
  } finally {
    // The latency phase starts from fresh clusters: these hold gigabytes of throughput records.
    await Promise.allSettled(tpLive.map((x) => stopTarget(x.t)));
  }

  // Latency at the same offered loads for every system, then failover (relaxed raftlog left out:
  // its failover is the same mechanism).
  const max1k4 = (key: string): number | null => results.get(key)?.throughput.find((x) => x.recordBytes === 1024 && x.producers === LATENCY_PRODUCERS)?.recordsPerSec ?? null;
  const maxima = ['raftlog-fsync', 'nats'].map(max1k4).filter((v): v is number => v !== null && v > 0);
  const reference = Math.min(...maxima);
  const referenceOf = maxima.length > 1 ? 'the lower of raftlog (fsync) and NATS' : 'raftlog (fsync)';
  say(`latency loads: ${LATENCY_LOADS.map((l) => `${Math.round(l * 100)}%`).join(' and ')} of ${reference} records/s (${referenceOf}, 1 KB, ${LATENCY_PRODUCERS} producers)`);
  // Every system of the latency phase runs at once and they take turns (latencyInterleaved), so
  // all of them meet the same machine: figures taken minutes apart differed by the CPU steal of
  // the moment more than by system.
  const live: Live[] = [];
  for (const s of starters) {
    if (s.key === 'raftlog-interval' && mode === 'quick') continue;
    say(`latency${s.key !== 'raftlog-interval' ? ' and failover' : ''}: starting ${s.key}`);
    live.push(...(await startWarm(s, plan, (key) => results.get(key)!)));
  }
  try {
    for (const load of LATENCY_LOADS) {
      const rate = Math.max(1, Math.round(reference * load));
      const shape = { log: `lat-${Math.round(load * 100)}`, partitions: PARTITIONS, producers: LATENCY_PRODUCERS, recordBytes: 1024, ratePerSec: rate };
      say(`latency at ${Math.round(load * 100)}% (${rate} records/s): ${plan.latencyRounds} rounds of ${plan.latencyWindowMs / 1000} s, the systems taking turns`);
      await fixedRate(live, plan, load, shape);
    }
    // The same at 100 B records, for what each record costs the servers when records are small.
    const smallMaxima = ['raftlog-fsync', 'nats'].map((k) => results.get(k)?.throughput.find((x) => x.recordBytes === SMALL_BYTES && x.producers === LATENCY_PRODUCERS)?.recordsPerSec ?? null).filter((v): v is number => v !== null && v > 0);
    if (smallMaxima.length > 0) {
      const rate = Math.max(1, Math.round(Math.min(...smallMaxima) * SMALL_LOAD));
      say(`fixed rate, ${SMALL_BYTES} B records, ${Math.round(SMALL_LOAD * 100)}% of ${Math.min(...smallMaxima)} records/s (${referenceOf}, ${LATENCY_PRODUCERS} producers): ${rate} records/s, ${plan.latencyRounds} rounds of ${plan.latencyWindowMs / 1000} s`);
      await fixedRate(live, plan, SMALL_LOAD, { log: `small-${Math.round(SMALL_LOAD * 100)}`, partitions: PARTITIONS, producers: LATENCY_PRODUCERS, recordBytes: SMALL_BYTES, ratePerSec: rate });
    }
    // Failover, one system at a time, each stopped once measured (relaxed raftlog and the kafkajs
    // view of the fsync cluster left out: their failover is the same mechanism).
    for (const x of [...live]) {
      if (x.key !== 'raftlog-interval' && x.key !== KAFKAJS && x.key !== KAFKAJS_BATCHED) {
        say(`failover: ${x.t.label}`);
        await attempt(x.r, x.t, 'failover', async () => {
          x.r.failover = await failover(x.t, { log: 'failover', producers: FAILOVER_PRODUCERS, recordBytes: 1024, kills: x.key === 'nats' ? plan.natsKills : plan.kills, transfers: plan.transfers, settleMs: plan.settleMs, progress: say });
        });
      }
      live.splice(live.indexOf(x), 1);
      await stopTarget(x.t);
    }
  } finally {
    await Promise.allSettled(live.map((x) => stopTarget(x.t)));
  }
  fs.rmSync(work, { recursive: true, force: true });

  const report = render(results, { diskMBps, loopbackMBps, reference, referenceOf });
  process.stdout.write(`${report.markdown}\n`);
  const json = {
    mode,
    plan,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', memoryGiB: round(os.totalmem() / 2 ** 30, 1), node: process.version, natsServer: natsVersion },
    baseline: { diskMBps, loopbackMBps },
    latencyReferencePerSec: reference,
    systems: Object.fromEntries(results),
    headline: report.headline,
    durationSec: Math.round((performance.now() - started) / 1000),
  };
  fs.writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(json, null, 1)}\n`);
  fs.writeFileSync(path.join(out, 'chart.svg'), chart(results, mode).toString());
  say(`wrote ${path.join(out, 'results.json')} and ${path.join(out, 'chart.svg')}`);
  process.stdout.write(`${JSON.stringify(report.headline)}\n`);
}

/**
 * One fixed-rate phase: the latency workload at `shape`'s rate on every live system, taking
 * turns, with what each system's servers spent in each of its measured windows (efficiency.ts).
 */
async function fixedRate(live: readonly Live[], plan: Plan, load: number, shape: { log: string; partitions: number; producers: number; recordBytes: number; ratePerSec: number }): Promise<void> {
  const sessions = await openAll(live, `the fixed rate of ${shape.ratePerSec} records/s, ${shape.recordBytes} B`, (t) => openLatency(t, shape));
  const costs: CostWindow[][] = sessions.map(() => []);
  try {
    const res = await latencyInterleaved(
      sessions.map((x) => x.s),
      {
        ratePerSec: shape.ratePerSec,
        recordBytes: shape.recordBytes,
        warmupMs: plan.warmupMs,
        rounds: plan.latencyRounds,
        windowMs: plan.latencyWindowMs,
        progress: say,
        measure: async (i, run) => {
          const { w, c } = await costOf(sessions[i]!.s.target, run);
          costs[i]!.push(c);
          return w;
        },
      },
    );
    res.forEach((x, i) => {
      const r = sessions[i]!.r;
      r.latency.push({ load, ...x });
      const e = efficiencyResult(shape.recordBytes, shape.ratePerSec, costs[i]!);
      r.efficiency.push({ load, ...e });
      say(`  ${r.label}: ${e.cpuSec} CPU-s for ${e.ackedRecords} records (${e.cpuSystemShare === null ? 'n/a' : Math.round(e.cpuSystemShare * 100)}% in the kernel): ${e.cpuSecPerGB ?? 'n/a'} CPU-s/GB, ${e.cpuSecPerMillionRecords ?? 'n/a'} CPU-s per million records, ${e.diskPerAckedByte ?? 'n/a'} disk bytes per acknowledged byte${e.incomplete ? ' (a server process restarted: incomplete)' : ''}`);
      if (e.diskBreakdown !== null) say(`  ${r.label}: of which ${Object.entries(e.diskBreakdown.byKind).map(([k, v]) => `${k} ${v}`).join(', ')}, rewritten pages and LevelDB ${e.diskBreakdown.rewrittenAndUncounted}`);
      const loop = eventLoopResults(costs[i]!);
      if (loop.length > 0) {
        r.eventLoop.push({ load, recordBytes: shape.recordBytes, nodes: loop });
        say(`  ${r.label}: event-loop delay p99 ${loop.map((n) => `${n.node} ${n.p99} ms`).join(', ')}`);
      }
    });
  } finally {
    await Promise.allSettled(sessions.map((x) => x.s.close()));
  }
}

interface Starter {
  readonly key: string;
  readonly start: () => Promise<Target>;
  /** Other clients' views of the same cluster, measured beside it (the kafkajs one). */
  readonly views?: (t: Target) => Promise<{ readonly key: string; readonly t: Target }[]>;
}

/** The results keys of kafkajs on the fsync cluster's Kafka listeners: a request per record, and records batched as the native client batches them. */
const KAFKAJS = 'raftlog-kafkajs';
const KAFKAJS_BATCHED = 'raftlog-kafkajs-batched';
/** The native client's default linger. */
const KAFKAJS_LINGER_MS = 5;

/** A system running for a phase of the benchmark, and where its figures go. */
interface Live {
  readonly key: string;
  readonly t: Target;
  readonly r: SystemResult;
}

/**
 * Starts a system and carries its warm-up, then its views' (their paths through the nodes warm
 * up too); none (the problem reported, the system stopped) if the system's warm-up fails. Views
 * come first, so that stopping in order closes their clients before their cluster.
 */
async function startWarm(s: Starter, plan: Plan, resultOf: (key: string, t: Target) => SystemResult): Promise<Live[]> {
  const t = track(await s.start());
  const r = resultOf(s.key, t);
  const warm = (x: Target, xr: SystemResult): Promise<boolean> => attempt(xr, x, 'warm-up', () => warmUp(x, { partitions: PARTITIONS, producers: LATENCY_PRODUCERS, ms: plan.freshWarmupMs, progress: say }));
  if (!(await warm(t, r))) {
    await stopTarget(t);
    return [];
  }
  const views: Live[] = [];
  for (const v of (await s.views?.(t).catch((err: unknown) => {
    r.problems.push(`its other clients could not start: ${err instanceof Error ? err.message : String(err)}`);
    return [];
  })) ?? []) {
    const vr = resultOf(v.key, v.t);
    if (await warm(v.t, vr)) views.push({ key: v.key, t: track(v.t), r: vr });
    else await v.t.stop();
  }
  return [...views, { key: s.key, t, r }];
}

/** Opens a workload's session on every live system; one that cannot open is reported and left out. */
async function openAll<S>(live: readonly Live[], what: string, open: (t: Target) => Promise<S>): Promise<{ r: SystemResult; s: S }[]> {
  const sessions: { r: SystemResult; s: S }[] = [];
  for (const x of live) await attempt(x.r, x.t, what, async () => void sessions.push({ r: x.r, s: await open(x.t) }));
  return sessions;
}

/** Runs a workload; one that fails on a system is reported as such (false) and the run goes on. */
async function attempt(r: SystemResult, t: Target, what: string, work: () => Promise<void>): Promise<boolean> {
  try {
    await work();
    return true;
  } catch (err) {
    const why = `${what} could not finish: ${err instanceof Error ? err.message : String(err)}`;
    r.problems.push(why);
    say(`  ${t.label}: ${why}`);
    return false;
  }
}

function render(results: Map<string, SystemResult>, m: { diskMBps: number; loopbackMBps: number; reference: number; referenceOf: string }): { markdown: string; headline: Record<string, unknown> } {
  const fsync = results.get('raftlog-fsync')!;
  const relaxed = results.get('raftlog-interval');
  const nats = results.get('nats');
  const tp = (r: SystemResult | undefined, bytes: number, producers: number) => r?.throughput.find((x) => x.recordBytes === bytes && x.producers === producers);
  const ratio = (a: number | undefined, b: number | undefined): string => {
    const r = ratioNum(a, b);
    return r === null ? 'n/a' : `${r.toFixed(2)}x`;
  };
  const lines: string[] = [];
  lines.push('### Producer throughput (acks=all, replication 3, 3 nodes on loopback)', '');
  lines.push('CPU steal: the share of CPU time the hypervisor took for other guests during each run (raftlog fsync / relaxed / NATS); figures are comparable only at similar steal.', '');
  lines.push('| record | producers | raftlog fsync rec/s | MB/s | raftlog interval (relaxed) MB/s | NATS JetStream R3 rec/s | MB/s | fsync / NATS | relaxed / NATS | CPU steal % |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const bytes of RECORD_SIZES) {
    for (const p of PRODUCER_COUNTS) {
      const a = tp(fsync, bytes, p);
      const b = tp(relaxed, bytes, p);
      const n = tp(nats, bytes, p);
      const steal = [a, b, n].map((x) => x?.stealPct ?? 'n/a').join(' / ');
      lines.push(`| ${bytes} B | ${p} | ${a?.recordsPerSec ?? 'n/a'} | ${a?.mbPerSec ?? 'n/a'} | ${b?.mbPerSec ?? 'n/a'} | ${n?.recordsPerSec ?? 'n/a'} | ${n?.mbPerSec ?? 'n/a'} | ${ratio(a?.recordsPerSec, n?.recordsPerSec)} | ${ratio(b?.recordsPerSec, n?.recordsPerSec)} | ${steal} |`);
    }
  }
  const kjs = results.get(KAFKAJS);
  const kjsBatched = results.get(KAFKAJS_BATCHED);
  if (kjs !== undefined || kjsBatched !== undefined) {
    lines.push('', "### raftlog's Kafka listener: kafkajs 2.2.4 beside the native client, same cluster, same run (acks -1 / all)", '');
    lines.push(`kafkajs has no linger: "a request per record" calls send() for each record, as the workload hands them over; "batched" hands kafkajs what came within ${KAFKAJS_LINGER_MS} ms in one send(), as the native client batches by itself.`, '');
    lines.push('| record | producers | native rec/s | kafkajs, a request per record, rec/s | / native | kafkajs batched rec/s | / native | batched MB/s | CPU steal % (native / per record / batched) |');
    lines.push('|---|---|---|---|---|---|---|---|---|');
    for (const bytes of RECORD_SIZES) {
      for (const p of PRODUCER_COUNTS) {
        const a = tp(fsync, bytes, p);
        const k = tp(kjs, bytes, p);
        const b = tp(kjsBatched, bytes, p);
        lines.push(`| ${bytes} B | ${p} | ${a?.recordsPerSec ?? 'n/a'} | ${k?.recordsPerSec ?? 'n/a'} | ${ratio(k?.recordsPerSec, a?.recordsPerSec)} | ${b?.recordsPerSec ?? 'n/a'} | ${ratio(b?.recordsPerSec, a?.recordsPerSec)} | ${b?.mbPerSec ?? 'n/a'} | ${[a, k, b].map((x) => x?.stealPct ?? 'n/a').join(' / ')} |`);
      }
    }
    lines.push('', `| load | offered rec/s | native p50 / p99 ms | kafkajs per record p50 / p99 ms (missing) | kafkajs batched p50 / p99 ms (missing) |`);
    lines.push('|---|---|---|---|---|');
    const cell = (r: SystemResult | undefined, l: number): string => {
      const x = r?.latency.find((y) => y.load === l && y.recordBytes === 1024);
      return x === undefined ? 'n/a' : `${x.ms.p50} / ${x.ms.p99}${x.missing > 0 ? ` (${x.missing})` : ''}`;
    };
    for (const l of LATENCY_LOADS) {
      const offered = [fsync, kjs, kjsBatched].map((r) => r?.latency.find((x) => x.load === l && x.recordBytes === 1024)?.offeredPerSec).find((x) => x !== undefined);
      lines.push(`| ${Math.round(l * 100)}% | ${offered ?? 'n/a'} | ${cell(fsync, l)} | ${cell(kjs, l)} | ${cell(kjsBatched, l)} |`);
    }
  }
  lines.push('', `### End-to-end latency, open loop, ${LATENCY_PRODUCERS} producers (1 KB loads are fractions of ${m.reference} records/s, ${m.referenceOf}; 100 B: the fixed-rate phase of the efficiency table)`, '');
  lines.push('| system | record | load | offered rec/s | p50 ms | p99 ms | p99.9 ms | max ms | missing | CPU steal % |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results.values()) {
    for (const l of r.latency) lines.push(`| ${r.label} | ${l.recordBytes} B | ${Math.round(l.load * 100)}% | ${l.offeredPerSec} | ${l.ms.p50} | ${l.ms.p99} | ${l.ms.p999} | ${l.ms.max} | ${l.missing} | ${l.stealPct ?? 'n/a'} |`);
  }
  lines.push('', ...efficiencyTables(results));
  lines.push('', '### Failover: leader SIGKILL to the next acknowledged write; planned transfer: longest pause in acknowledgements', '');
  lines.push(`| system | kills | not recovered within ${RECOVERY_MS_MAX / 1000} s | kill p50 ms | kill p99 ms | kill max ms | transfers | transfer p50 ms | transfer p99 ms |`);
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of results.values()) {
    const f = r.failover;
    // An unrecovered kill counts as the limit: a figure at the limit is a lower bound.
    const atLeast = (ms: number): string => (f !== null && f.unrecovered > 0 && ms >= RECOVERY_MS_MAX ? `>= ${ms}` : `${ms}`);
    if (f !== null) lines.push(`| ${r.label} | ${f.kills.length} | ${f.unrecovered} | ${atLeast(f.killMs.p50)} | ${atLeast(f.killMs.p99)} | ${atLeast(f.killMs.max)} | ${f.transfers.length} | ${f.transferMs.p50} | ${f.transferMs.p99} |`);
  }
  const problems = [...results.values()].flatMap((r) => r.problems.map((p) => `- ${r.label}: ${p}`));
  if (problems.length > 0) lines.push('', 'Not measured:', '', ...problems);
  // Each acknowledged byte is written by 3 replicas to this one disk and crosses loopback 3 times
  // (producer to leader, leader to each of 2 followers).
  const best = Math.max(...fsync.throughput.filter((x) => x.recordBytes === 1024).map((x) => x.mbPerSec));
  const diskFraction = round((3 * best) / m.diskMBps, 3);
  const loopbackFraction = round((3 * best) / m.loopbackMBps, 3);
  lines.push('', '### The machine', '');
  lines.push(`| raw disk write+fdatasync | loopback TCP | raftlog fsync best 1 KB MB/s | x3 replicas / disk | x3 hops / loopback |`);
  lines.push('|---|---|---|---|---|');
  lines.push(`| ${m.diskMBps} MB/s | ${m.loopbackMBps} MB/s | ${best} | ${diskFraction} | ${loopbackFraction} |`);
  const lat = (r: SystemResult | undefined, load: number): number | null => r?.latency.find((l) => l.load === load && l.recordBytes === 1024)?.ms.p99 ?? null;
  const eff = (r: SystemResult | undefined, bytes: number, load: number): EfficiencyResult | undefined => r?.efficiency.find((e) => e.recordBytes === bytes && e.load === load);
  const n4 = tp(nats, 1024, 4)?.recordsPerSec;
  const headline = {
    bench: 'raftlog-vs-nats',
    raftlogFsync1KB4pMBps: tp(fsync, 1024, 4)?.mbPerSec ?? null,
    raftlogRelaxed1KB4pMBps: tp(relaxed, 1024, 4)?.mbPerSec ?? null,
    nats1KB4pMBps: tp(nats, 1024, 4)?.mbPerSec ?? null,
    ratioFsyncVsNats1KB: Object.fromEntries(PRODUCER_COUNTS.map((p) => [`${p}p`, ratioNum(tp(fsync, 1024, p)?.recordsPerSec, tp(nats, 1024, p)?.recordsPerSec)])),
    ratioFsyncVsNats1KB4p: ratioNum(tp(fsync, 1024, 4)?.recordsPerSec, n4),
    p99LatencyMsAt50: { raftlog: lat(fsync, 0.5), nats: lat(nats, 0.5) },
    p99LatencyMsAt80: { raftlog: lat(fsync, 0.8), nats: lat(nats, 0.8) },
    failoverP99Ms: { raftlog: fsync.failover?.killMs.p99 ?? null, nats: nats?.failover?.killMs.p99 ?? null },
    kafkajs1KB4pRecPerSec: { perRecord: tp(kjs, 1024, 4)?.recordsPerSec ?? null, batched: tp(kjsBatched, 1024, 4)?.recordsPerSec ?? null },
    ratioKafkajsBatchedVsNative1KB4p: ratioNum(tp(kjsBatched, 1024, 4)?.recordsPerSec, tp(fsync, 1024, 4)?.recordsPerSec),
    p99LatencyMsKafkajs: { perRecordAt50: lat(kjs, 0.5), batchedAt50: lat(kjsBatched, 0.5), batchedAt80: lat(kjsBatched, 0.8) },
    failoverUnrecovered: { raftlog: fsync.failover?.unrecovered ?? null, nats: nats?.failover?.unrecovered ?? null },
    diskFraction,
    loopbackFraction,
    cpuSecPerGB: {
      raftlog1KBAt50: eff(fsync, 1024, 0.5)?.cpuSecPerGB ?? null,
      nats1KBAt50: eff(nats, 1024, 0.5)?.cpuSecPerGB ?? null,
      raftlog100BAt50: eff(fsync, SMALL_BYTES, SMALL_LOAD)?.cpuSecPerGB ?? null,
      nats100BAt50: eff(nats, SMALL_BYTES, SMALL_LOAD)?.cpuSecPerGB ?? null,
    },
    ratioCpuPerGBRaftlogVsNats: { '1KBAt50': ratioNum(eff(fsync, 1024, 0.5)?.cpuSecPerGB ?? undefined, eff(nats, 1024, 0.5)?.cpuSecPerGB ?? undefined), '100BAt50': ratioNum(eff(fsync, SMALL_BYTES, SMALL_LOAD)?.cpuSecPerGB ?? undefined, eff(nats, SMALL_BYTES, SMALL_LOAD)?.cpuSecPerGB ?? undefined) },
    diskPerAckedByte1KBAt50: { raftlog: eff(fsync, 1024, 0.5)?.diskPerAckedByte ?? null, nats: eff(nats, 1024, 0.5)?.diskPerAckedByte ?? null },
    eventLoopP99MsAt50: Object.fromEntries((fsync.eventLoop.find((e) => e.load === 0.5 && e.recordBytes === 1024)?.nodes ?? []).map((n) => [n.node, n.p99])),
  };
  return { markdown: lines.join('\n'), headline };
}

/** The efficiency table (CPU and disk per acknowledged byte, efficiency.ts) and the event-loop delay table. */
function efficiencyTables(results: Map<string, SystemResult>): string[] {
  const lines: string[] = [];
  const nats = results.get('nats');
  lines.push('### Efficiency at the same offered load: what the servers spent per acknowledged byte and record', '');
  lines.push('| system | record | load | offered rec/s | acknowledged records | CPU-s | kernel share | CPU-s per GB | CPU-s per million records | / NATS (per GB) | disk bytes per acknowledged byte | per replica |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results.values()) {
    for (const e of r.efficiency) {
      const n = nats?.efficiency.find((x) => x.recordBytes === e.recordBytes && x.load === e.load);
      const vs = ratioNum(e.cpuSecPerGB ?? undefined, n?.cpuSecPerGB ?? undefined);
      lines.push(`| ${r.label} | ${e.recordBytes} B | ${Math.round(e.load * 100)}% | ${e.offeredPerSec} | ${e.ackedRecords}${e.incomplete ? ' (incomplete)' : ''} | ${e.cpuSec} | ${e.cpuSystemShare === null ? 'n/a' : `${Math.round(e.cpuSystemShare * 100)}%`} | ${e.cpuSecPerGB ?? 'n/a'} | ${e.cpuSecPerMillionRecords ?? 'n/a'} | ${vs === null ? 'n/a' : `${vs.toFixed(2)}x`} | ${e.diskPerAckedByte ?? 'n/a'} | ${e.diskPerAckedByte === null ? 'n/a' : round(e.diskPerAckedByte / 3, 2)} |`);
    }
  }
  const broken = [...results.values()].flatMap((r) => r.efficiency.flatMap((e) => (e.diskBreakdown === null ? [] : [{ r, e, d: e.diskBreakdown }])));
  if (broken.length > 0) {
    const kinds = [...new Set(broken.flatMap((x) => Object.keys(x.d.byKind)))].sort((a, b) => (a === 'segment' ? -1 : b === 'segment' ? 1 : a.localeCompare(b)));
    const syncKinds = [...new Set(broken.flatMap((x) => Object.keys(x.d.syncsPerThousandRecords)))].sort();
    lines.push('', '### Where the disk bytes go, per acknowledged byte and per replica (raftlog_disk_written_bytes by kind of file; rewritten = the kernel\'s count less those)', '');
    lines.push(`| system | record | load | ${kinds.join(' | ')} | rewritten | total | syncs per 1,000 records (${syncKinds.join(', ')}) |`);
    lines.push(`|---|---|---|${kinds.map(() => '---|').join('')}---|---|---|`);
    for (const { r, e, d } of broken) {
      const perReplica = (x: number | undefined): string => (x === undefined ? '0' : String(round(x / 3, 3)));
      lines.push(`| ${r.label} | ${e.recordBytes} B | ${Math.round(e.load * 100)}% | ${kinds.map((k) => perReplica(d.byKind[k])).join(' | ')} | ${perReplica(d.rewrittenAndUncounted)} | ${e.diskPerAckedByte === null ? 'n/a' : round(e.diskPerAckedByte / 3, 2)} | ${syncKinds.map((k) => d.syncsPerThousandRecords[k] ?? 0).join(', ')} |`);
    }
  }
  lines.push('', ...EFFICIENCY_NOTES.map((n) => `- ${n}`));
  const withLoop = [...results.values()].filter((r) => r.eventLoop.length > 0);
  if (withLoop.length > 0) {
    lines.push('', '### Event-loop delay of each raftlog node in the fixed-rate windows (perf_hooks.monitorEventLoopDelay, via /metrics; medians over the windows, the worst window, the longest delay)', '');
    lines.push('| system | record | load | node | windows | p50 ms | p90 ms | p99 ms | worst window p99 ms | max ms |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of withLoop) {
      for (const e of r.eventLoop) for (const n of e.nodes) lines.push(`| ${r.label} | ${e.recordBytes} B | ${Math.round(e.load * 100)}% | ${n.node} | ${n.windows} | ${n.p50} | ${n.p90} | ${n.p99} | ${n.p99Worst} | ${n.max} |`);
    }
    lines.push('', `- The monitor's timer runs every ${EVENT_LOOP_RESOLUTION_MS} ms and records the time between its runs; the delay is that less ${EVENT_LOOP_RESOLUTION_MS} ms, so a block shorter than the interval can go unseen.`);
  }
  return lines;
}

function ratioNum(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b === 0 ? null : round(a / b, 2);
}

function chart(results: Map<string, SystemResult>, mode: string): ReturnType<typeof drawBars> {
  const systems = [...results.values()];
  const tpPanel = (bytes: number, unit: 'MB/s' | 'records/s'): BarPanel => ({
    title: `throughput, ${bytes} B records, acks=all`,
    unit,
    groups: PRODUCER_COUNTS.map((p) => `${p} producer${p > 1 ? 's' : ''}`),
    series: systems.map((s) => ({
      label: s.label,
      values: PRODUCER_COUNTS.map((p) => {
        const x = s.throughput.find((t) => t.recordBytes === bytes && t.producers === p);
        return x === undefined ? null : unit === 'MB/s' ? x.mbPerSec : x.recordsPerSec;
      }),
    })),
  });
  const withLatency = systems.filter((s) => s.latency.length > 0);
  const latGroups = LATENCY_LOADS.flatMap((l) => ['p50', 'p99', 'p99.9'].map((q) => `${Math.round(l * 100)}% ${q}`));
  const latPanel: BarPanel = {
    title: 'end-to-end latency, open loop, 1 KB records',
    unit: 'ms, log scale',
    log: true,
    groups: latGroups,
    series: withLatency.map((s) => ({
      label: s.label,
      values: LATENCY_LOADS.flatMap((l) => {
        const x = s.latency.find((y) => y.load === l && y.recordBytes === 1024);
        return x === undefined ? [null, null, null] : [x.ms.p50, x.ms.p99, x.ms.p999];
      }),
    })),
  };
  const withFailover = systems.filter((s) => s.failover !== null);
  const foPanel: BarPanel = {
    title: 'failover: SIGKILL of the leader to the next acknowledged write, and planned transfer pause',
    unit: 'ms, log scale',
    log: true,
    groups: ['kill p50', 'kill p99', 'transfer p50', 'transfer p99'],
    series: withFailover.map((s) => ({ label: s.label, values: [s.failover!.killMs.p50, s.failover!.killMs.p99, s.failover!.transferMs.p50, s.failover!.transferMs.p99] })),
  };
  return drawBars(`raftlog vs NATS JetStream R3, 3 nodes on one ${os.cpus().length}-core machine (${mode})`, [tpPanel(1024, 'MB/s'), tpPanel(100, 'records/s'), latPanel, foPanel]);
}

main().catch((err: unknown) => {
  say(`the benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
