/**
 * One chaos run, start to verdict:
 *
 * 1. start a cluster of child processes (chaos/cluster.ts) with the chaos endpoints, the sync
 *    tracker preloaded (sync-tracker.ts) and, for checker tests, a mutant; create the topic;
 * 2. run the workloads (producers, tail readers, probes, plain consumers, committers, group
 *    members; with `client: 'kafkajs'` the producers and consumers are kafkajs's, on the nodes'
 *    Kafka listeners, ChaosClient), all
 *    recording into one history, while the nemesis injects faults on a random schedule or a
 *    fixed plan;
 * 3. after the faulty phase: the final heal, a short calm phase (operations after the heal show
 *    liveness), stop the workloads, wait for leaders, final reads of every key;
 * 4. wait until every partition holds the replicas last asked for, and note what each node says
 *    of each group's configuration (placement.json); stop the cluster cleanly and read every
 *    replica's log from its files (replicas.ts);
 * 5. check the history and the replicas (chaos/checker), and write the run folder.
 *
 * The run folder:
 *
 *     history.jsonl   the history (CHECKER.md)
 *     replicas.json   each replica's committed log (chaos/checker/checks/replicas.ts)
 *     placement.json  each partition's target and its replicas' configurations (checks/placement.ts)
 *     report.txt      the checker's report, for people
 *     report.json     the checker's report, the run's options, faults, notes and timings
 *     chart.svg       throughput and latency over time, fault windows shaded
 *
 * With the `hostile` nemesis (chaos/hostile.ts), every node has a Kafka listener, the attacks
 * run from a process of their own, and the report adds whether every node stayed alive, the
 * producers' latency during the attacks and outside them, and each attack's outcome
 * (hostile-report.ts; report.json's `hostile`).
 *     cluster/        the nodes' logs (n1.log, ...) and, with keepData, their data folders
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '../src/client/client.js';
import { silentLogger } from '../src/client/logger.js';
import { seededRandom } from '../raft/random.js';
import { checkHistory, parseHistoryFile, parseReplicaLogs, renderReport, summarize, type Report } from './checker/index.js';
import { checkPlacement, parsePlacements } from './checker/checks/placement.js';
import { MembershipNemesis } from './membership.js';
import { LocalCluster, repoRoot } from './cluster.js';
import type { CorruptMode } from './disk.js';
import { Nemesis, between, hostileAttacks, randomFault, type FaultRecord, type FaultSpec, type NemesisKind } from './nemesis.js';
import { HostileClients } from './hostile.js';
import { hostileReport, renderHostile, type HostileReport } from './hostile-report.js';
import { drawChart } from './plot/chart.js';
import { Recorder } from './recorder.js';
import { collectReplicas } from './replicas.js';
import { timeSeries } from './stats.js';
import { SYNC_LOG_ENV } from './sync-tracker.js';
import { META_GROUP, clusterView, groupName, waitForCatchUp, waitForLeaders } from './view.js';
import { committerWorker, offsetsSupported } from './workloads/committer.js';
import { consumerWorker } from './workloads/consumer.js';
import { groupObserver, groupWorker } from './workloads/group.js';
import { DEFAULT_TIMEOUTS, Stopper, keys, type WorkloadContext, type WorkloadTimeouts } from './workloads/context.js';
import { finalReads, prober, tailReader } from './workloads/poll.js';
import { producerWorker } from './workloads/producer.js';
import { waitForKafkaListeners } from './workloads/kafkajs/client.js';
import { kafkajsConsumerWorker } from './workloads/kafkajs/consumer.js';
import { kafkajsGroupObserver, kafkajsGroupWorker } from './workloads/kafkajs/group.js';
import { kafkajsProducerWorker } from './workloads/kafkajs/producer.js';

export interface WorkloadMix {
  readonly producers: number;
  /** Records per send: 1 to this many. */
  readonly recordsMax: number;
  /** Pause between a producer's sends. */
  readonly producerIntervalMs: number;
  readonly tailReaders: number;
  readonly probers: number;
  readonly probeIntervalMs: number;
  readonly consumers: number;
  /** Standalone committed-offset clients (commitOffsets outside group membership). */
  readonly committers: number;
  /** Members of one consumer group, each living a few seconds at a time. */
  readonly groupMembers: number;
}

/**
 * Which client library the producers and consumers use:
 * - `native`: raftlog's own client (src/client) on the nodes' native listeners;
 * - `kafkajs`: kafkajs 2.2.4 on the nodes' Kafka listeners (every node gets one) for the
 *   producers, the plain consumers, the group members and the group observer
 *   (workloads/kafkajs/); the tail readers, probes, committers and final reads stay on the native
 *   client, since kafkajs cannot express them (see KAFKAJS_MIX).
 */
export type ChaosClient = 'native' | 'kafkajs';
export const CHAOS_CLIENTS: readonly ChaosClient[] = ['native', 'kafkajs'];

/** What a kafkajs run runs on which client, for its log and report. */
export const KAFKAJS_MIX =
  'kafkajs 2.2.4 on the Kafka listeners: producers (idempotent, acks -1), plain consumers (a one-member group each, seek), group members (commits), group observer (admin fetchOffsets); ' +
  'native client: tail readers, probes and final reads (one fetch of one partition at a chosen node, which kafkajs has no API for) and committers (commits outside group membership, generation -1: kafkajs\'s admin setOffsets joins the group instead)';

export const DEFAULT_WORKLOAD: WorkloadMix = {
  producers: 4,
  recordsMax: 3,
  producerIntervalMs: 10,
  tailReaders: 1,
  probers: 1,
  probeIntervalMs: 100,
  consumers: 1,
  committers: 1,
  groupMembers: 2,
};

export interface RunOptions {
  /** The run folder (created; must not hold an earlier run). */
  readonly dir: string;
  readonly nodes: number;
  /** Length of the faulty phase. */
  readonly timeMs: number;
  readonly seed: number;
  /** Fault kinds of the random schedule. */
  readonly nemesis: readonly NemesisKind[];
  /**
   * A fixed list of faults instead of the random schedule, applied in order, `gapMs` apart, each
   * held in full even past `timeMs` (which is then the least length of the faulty phase).
   */
  readonly plan?: readonly FaultSpec[];
  /** Healthy time before each fault, ms. */
  readonly gapMs?: readonly [number, number];
  /** How long each fault is held, ms. */
  readonly holdMs?: readonly [number, number];
  /** An unsafe mutant every node runs (mutants.ts), to prove the checker catches it. */
  readonly mutant?: string;
  readonly partitions?: number;
  readonly workload?: Partial<WorkloadMix>;
  readonly timeouts?: Partial<WorkloadTimeouts>;
  /** Kills lose what was not fsynced (default true). */
  readonly loseUnsynced?: boolean;
  /** What `corrupt` damages (default `torn-write`; `acked-frame` is outside Raft's fault model). */
  readonly corruptMode?: CorruptMode;
  /** Calm time after the final heal, before the workloads stop. */
  readonly calmMs?: number;
  readonly livenessBoundMs?: number;
  /** The client library of producers and consumers (default native). */
  readonly client?: ChaosClient;
  /** Keep the nodes' data folders in the run folder (default false: only their logs). */
  readonly keepData?: boolean;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Seconds between progress lines (0: none). */
  readonly progressSec?: number;
}

export interface RunResult {
  readonly dir: string;
  readonly report: Report;
  readonly reportText: string;
  /** Problems of the run itself (not anomalies): a node that would not restart, unfinished final reads... */
  readonly notes: readonly string[];
  /** Bugs of the harness: a workload that threw (its history is still checked; it covers less). */
  readonly harnessErrors: readonly string[];
  /** What the nemesis could not do or wait for: a node that would not restart or catch up... */
  readonly nemesisProblems: readonly string[];
  readonly faults: readonly FaultRecord[];
  readonly durationMs: number;
  /** Which client ran which workload. */
  readonly clients: string;
  /** With hostile clients (the `hostile` nemesis): node liveness, producer latency in and out of attacks, each attack's outcome. */
  readonly hostile?: HostileReport;
}

export const TOPIC = 'chaos';
/** The consumer group whose members the group workload runs. */
export const GROUP = 'chaos-members';
/** The sync tracker's log, under each node's data folder. */
export const SYNC_LOG_NAME = 'chaos-synced.log';
const LEADERS_MS_MAX = 30_000;
/** How long the moves asked for may take to finish after the workloads stopped. */
const PLACEMENT_MS_MAX = 60_000;
const FINAL_READS_MS_MAX = 60_000;

export async function runChaos(o: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const log = o.log ?? ((): void => undefined);
  const random = seededRandom(o.seed);
  fs.mkdirSync(o.dir, { recursive: true });
  const historyFile = path.join(o.dir, 'history.jsonl');
  if (fs.existsSync(historyFile)) throw new Error(`${o.dir} already holds a run (history.jsonl); choose a new folder`);
  const partitions = o.partitions ?? Math.max(3, o.nodes);
  const loseUnsyncedWrites = o.loseUnsynced ?? true;
  const client = o.client ?? 'native';
  const clients = client === 'kafkajs' ? KAFKAJS_MIX : 'native client for every workload';
  const hostile = o.nemesis.includes('hostile') || (o.plan ?? []).some((f) => f.kind === 'hostile');
  // Hostile clients attack the Kafka listeners too.
  const kafka = client === 'kafkajs' || hostile;
  const cluster = new LocalCluster({
    kafka,
    nodes: o.nodes,
    dir: path.join(o.dir, 'cluster'),
    args: ['--chaos-endpoints', ...(o.mutant !== undefined ? ['--unsafe-mutant', o.mutant] : [])],
    nodeArgs: loseUnsyncedWrites ? ['--import', pathToFileURL(trackerModule()).href] : [],
    env: loseUnsyncedWrites ? { [SYNC_LOG_ENV]: SYNC_LOG_NAME } : {},
  });
  const notes: string[] = [];
  const harnessErrors: string[] = [];
  let recorder: Recorder | null = null;
  let nemesis: Nemesis | null = null;
  let membership: MembershipNemesis | null = null;
  const attackers = hostile ? new HostileClients() : null;
  let pidsAtStart = new Map<string, number | null>();
  let pidsAtEnd = new Map<string, number | null>();
  let stopped = false;
  const placementFile = path.join(o.dir, 'placement.json');
  try {
    log(`starting ${o.nodes} nodes in ${cluster.dir}${o.mutant !== undefined ? ` with the UNSAFE mutant '${o.mutant}'` : ''}`);
    await cluster.start();
    pidsAtStart = pids(cluster);
    await createTopic(cluster.brokers, partitions, Math.min(3, o.nodes));
    const topicKeys = Array.from({ length: partitions }, (_, p) => `${TOPIC}/${p}`);
    if ((await waitForLeaders(cluster, [...topicKeys, META_GROUP], LEADERS_MS_MAX)) === null) {
      throw new Error(`the new cluster did not elect leaders for ${TOPIC} within ${LEADERS_MS_MAX} ms; see the node logs in ${cluster.dir}`);
    }
    if (client === 'kafkajs') {
      log(`clients: ${clients}`);
      await waitForKafkaListeners(cluster, LEADERS_MS_MAX);
    }
    // The history's clock starts when the clients do.
    recorder = new Recorder(historyFile);

    const workload = { ...DEFAULT_WORKLOAD, ...o.workload };
    const stopper = new Stopper();
    const ctx: WorkloadContext = {
      recorder,
      topic: TOPIC,
      partitions,
      nodes: cluster.nodes.map((n) => ({ id: n.id, address: n.address, ...(n.kafka !== undefined ? { kafka: n.kafka } : {}) })),
      random,
      stopper,
      timeouts: { ...DEFAULT_TIMEOUTS, ...o.timeouts },
      knownHw: new Map(),
      notes,
    };
    const offsetsProblem = workload.committers + workload.groupMembers > 0 ? await offsetsSupported(ctx) : null;
    if (offsetsProblem !== null) notes.push(`committers and group members left out: ${offsetsProblem}`);
    const workers: Promise<void>[] = [];
    const spawn = (n: number, work: () => Promise<void>, what: string): void => {
      for (let i = 0; i < n; i++) {
        workers.push(
          work().catch((err: unknown) => {
            harnessErrors.push(`a ${what} worker stopped on a harness error: ${(err as Error).stack ?? String(err)}`);
          }),
        );
      }
    };
    const kafkajs = client === 'kafkajs';
    const producing = { recordsMax: workload.recordsMax, intervalMs: workload.producerIntervalMs };
    const consuming = { batchesMax: 30, lifeMs: 8000 };
    const grouping = { group: GROUP, lifeMs: [4000, 12_000] as const, commitChance: 0.2 };
    spawn(workload.producers, () => (kafkajs ? kafkajsProducerWorker(ctx, producing) : producerWorker(ctx, producing)), 'producer');
    spawn(workload.tailReaders, () => tailReader(ctx), 'tail reader');
    spawn(workload.probers, () => prober(ctx, workload.probeIntervalMs), 'prober');
    spawn(workload.consumers, () => (kafkajs ? kafkajsConsumerWorker(ctx, consuming) : consumerWorker(ctx, consuming)), 'consumer');
    if (offsetsProblem === null) {
      spawn(workload.committers, () => committerWorker(ctx, { groups: ['chaos-a', 'chaos-b'], rounds: 8, intervalMs: 50 }), 'committer');
      spawn(workload.groupMembers, () => (kafkajs ? kafkajsGroupWorker(ctx, grouping) : groupWorker(ctx, grouping)), 'group member');
      spawn(workload.groupMembers > 0 ? 1 : 0, () => (kafkajs ? kafkajsGroupObserver(ctx, GROUP, 500) : groupObserver(ctx, GROUP, 500)), 'group observer');
    }

    const rec = recorder;
    const progress = startProgress(rec, o.progressSec ?? 0, log, () => nemesis?.faults.length ?? 0);
    membership = new MembershipNemesis({ cluster, recorder: rec, random, topic: TOPIC, partitions, log: (l) => log(`[${secs(rec.now())}] ${l}`) });
    await membership.init();
    nemesis = new Nemesis({
      membership,
      cluster,
      recorder: rec,
      random,
      keys: keys(ctx),
      syncLog: loseUnsyncedWrites ? SYNC_LOG_NAME : null,
      ...(o.corruptMode !== undefined ? { corruptMode: o.corruptMode } : {}),
      ...(attackers !== null ? { hostile: { clients: attackers, topic: TOPIC, partitions } } : {}),
      log: (l) => log(`[${secs(rec.now())}] ${l}`),
    });
    const faultPhase = new Stopper();
    const timer = setTimeout(() => faultPhase.stop(), o.timeMs);
    const gapMs = o.gapMs ?? [3000, 6000];
    const holdMs = o.holdMs ?? [2000, 5000];
    const kinds = o.nemesis;
    if (o.plan !== undefined) {
      // Every planned fault is injected and held in full, however long that takes; the rest of
      // the faulty phase, if any, is calm.
      const planned = new Stopper();
      for (const spec of o.plan) {
        await planned.sleep(between(random, gapMs));
        await nemesis.apply(spec, planned);
      }
      await faultPhase.sleep(o.timeMs);
    } else if (kinds.length > 0) {
      await nemesis.run(faultPhase, () => randomFault(random, { kinds, gapMs, holdMs, attacks: hostileAttacks(kafka) }), () => between(random, gapMs));
    } else {
      await faultPhase.sleep(o.timeMs);
    }
    clearTimeout(timer);

    log(`[${secs(rec.now())}] final heal`);
    await nemesis.healAll();
    if (!nemesis.healthy) notes.push('the final heal left a fault in place (see the nemesis problems)');
    await new Promise((r) => setTimeout(r, o.calmMs ?? 3000));
    stopper.stop();
    log(`[${secs(rec.now())}] stopping the workloads`);
    await Promise.all(workers);
    progress.stop();

    await nemesis.settle('after the final heal');
    log(`[${secs(rec.now())}] final reads`);
    const unfinished = await finalReads(ctx, Date.now() + FINAL_READS_MS_MAX);
    for (const u of unfinished) notes.push(`final read not finished: ${u}`);
    if (!(await waitForCatchUp(cluster, topicKeys, 15_000))) notes.push('replicas had not all caught up when the cluster was stopped: replica agreement covers less');
    if (membership !== null) {
      log(`[${secs(rec.now())}] waiting for every partition to hold the replicas asked for`);
      fs.writeFileSync(placementFile, JSON.stringify(await settledPlacement(cluster, membership.targets, PLACEMENT_MS_MAX)));
    }
    rec.close();
    pidsAtEnd = pids(cluster);
    await cluster.stop(true);
    stopped = true;
  } finally {
    attackers?.close();
    recorder?.close();
    if (!stopped) await cluster.stop(true).catch(() => undefined);
  }
  const nemesisProblems = [...(nemesis?.problems ?? [])];

  log('reading the replicas and checking the history');
  const dataDirs = new Map(cluster.nodes.map((n) => [n.id, n.dataDir]));
  const { replicas, problems } = collectReplicas(dataDirs);
  notes.push(...problems);
  const replicasFile = path.join(o.dir, 'replicas.json');
  fs.writeFileSync(replicasFile, JSON.stringify(replicas));
  const parsed = parseHistoryFile(fs.readFileSync(historyFile, 'utf8'));
  if (parsed.format !== 'jsonl') throw new Error(`${historyFile} was not read back as JSON Lines`);
  const report = checkHistory(parsed.events, {
    replicas: parseReplicaLogs(fs.readFileSync(replicasFile, 'utf8')),
    ...(fs.existsSync(placementFile) ? { placement: parsePlacements(fs.readFileSync(placementFile, 'utf8')) } : {}),
    ...(o.livenessBoundMs !== undefined ? { livenessBoundNs: o.livenessBoundMs * 1e6 } : {}),
  });
  const faults = nemesis?.faults ?? [];
  const hostileResult = hostile
    ? hostileReport({
        events: parsed.events,
        faults,
        attacks: nemesis?.attacks ?? [],
        ownExits: nemesis?.ownExits ?? [],
        pidsAtStart,
        pidsAtEnd,
        stopsNodes: [...o.nemesis, ...(o.plan ?? []).map((f) => f.kind)].some((k) => k !== 'hostile' && k !== 'partition'),
      })
    : undefined;
  const title = `raftlog chaos: ${o.nodes} nodes, ${secs(parsed.events.at(-1)?.time ?? 0)}, seed ${o.seed}${client !== 'native' ? `, client ${client}` : ''}${o.mutant !== undefined ? `, mutant ${o.mutant}` : ''}: ${summarize(report)}`;
  const reportText = [
    renderReport(report, 'history.jsonl'),
    `  clients: ${clients}`,
    ...(hostileResult !== undefined ? [renderHostile(hostileResult)] : []),
    ...notes.map((n) => `  run note: ${n}`),
    ...nemesisProblems.map((n) => `  nemesis problem: ${n}`),
    ...harnessErrors.map((e) => `  HARNESS ERROR: ${e}`),
  ].join('\n');
  fs.writeFileSync(path.join(o.dir, 'report.txt'), `${reportText}\n`);
  const series = timeSeries(parsed.events);
  const windows = faults.map((f) => ({ kind: f.kind, startSec: (f.startNs - series.originNs) / 1e9, endSec: ((f.endNs ?? f.startNs) - series.originNs) / 1e9 }));
  fs.writeFileSync(path.join(o.dir, 'chart.svg'), drawChart(series, windows, title).toString());
  const durationMs = Date.now() - started;
  fs.writeFileSync(
    path.join(o.dir, 'report.json'),
    JSON.stringify({ options: { ...o, log: undefined }, clients, verdict: report.verdict, report, faults, notes, nemesisProblems, harnessErrors, durationMs, ...(hostileResult !== undefined ? { hostile: hostileResult } : {}) }, null, 1),
  );
  if (o.keepData !== true) for (const d of dataDirs.values()) fs.rmSync(d, { recursive: true, force: true });
  return { dir: o.dir, report, reportText, notes, harnessErrors, nemesisProblems, faults, durationMs, clients, ...(hostileResult !== undefined ? { hostile: hostileResult } : {}) };
}

/** Each node's process id now (null while it is down). */
function pids(cluster: LocalCluster): Map<string, number | null> {
  return new Map(cluster.nodes.map((n) => [n.id, n.process?.pid ?? null]));
}

type PlacementJson = Record<string, { target: readonly string[]; replicas: Record<string, { voters: string[]; learners: string[]; committed: boolean }> }>;

/**
 * What every node says of each partition's configuration, once each holds exactly its target
 * with that target committed (or, after `timeoutMs`, as it is then: the check says what is wrong).
 */
async function settledPlacement(cluster: LocalCluster, targets: ReadonlyMap<string, readonly string[]>, timeoutMs: number): Promise<PlacementJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await clusterView(cluster);
    const out: PlacementJson = {};
    for (const [key, target] of targets) out[key] = { target, replicas: {} };
    for (const [name, g] of view.groups) {
      const entry = out[groupName(name)];
      if (entry === undefined) continue;
      for (const [node, r] of g.replicas) entry.replicas[node] = { voters: [...(r.voters ?? [])], learners: [...(r.learners ?? [])], committed: r.membershipCommitted === true };
    }
    // Settled is what the final replica set check accepts.
    const placements = new Map(Object.entries(out).map(([key, p]) => [key, { target: p.target, replicas: new Map(Object.entries(p.replicas)) }]));
    if (checkPlacement(placements).length === 0 || Date.now() >= deadline) return out;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The compiled sync tracker, which nodes preload (nodes run from dist/). */
export function trackerModule(): string {
  const file = path.join(repoRoot(), 'dist', 'chaos', 'sync-tracker.js');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (nodes preload the compiled sync tracker)`);
  return file;
}

async function createTopic(brokers: readonly string[], partitions: number, replicationFactor: number): Promise<void> {
  const client = new Client({ brokers, logger: silentLogger, retry: { retries: 30, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 } });
  const admin = client.admin();
  try {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: partitions, replicationFactor }], timeoutMs: 20_000 });
  } finally {
    await admin.disconnect();
  }
}

function startProgress(recorder: Recorder, everySec: number, log: (l: string) => void, faults: () => number): { stop(): void } {
  if (everySec <= 0) return { stop: () => undefined };
  let last = { ...recorder.counts };
  const timer = setInterval(() => {
    const c = recorder.counts;
    const d = (k: keyof typeof c): number => c[k] - last[k];
    log(`[${secs(recorder.now())}] ops ${c.invoke} (last ${everySec}s: ok ${d('ok')}, fail ${d('fail')}, info ${d('info')}); faults ${faults()}`);
    last = { ...c };
  }, everySec * 1000);
  return { stop: () => clearInterval(timer) };
}

function secs(ns: number): string {
  return `${(ns / 1e9).toFixed(1)}s`;
}
