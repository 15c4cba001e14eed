/**
 * The soak's recorded workload: beside the load, on the same raftlog cluster, a topic of the same
 * retention written and read by the chaos run's own workloads (chaos/workloads: the idempotent
 * producer, a consumer group member that commits as it reads, an observer of the group's
 * commits), every operation recorded in the history format of CHECKER.md (chaos/recorder.ts), the
 * soak's leader transfers recorded as nemesis `transfer` events, then final reads and the
 * checker (chaos/checker) with the replicas' logs of that topic for replica agreement.
 *
 * Why not the load itself: at half load the load is thousands of 1 KB records a second, tens of
 * millions in an hour; its history would be gigabytes, more than the checker (which reads a
 * history whole) can take, and recording every record in the benchmark's one process would slow
 * the very latencies it measures. The load has its own counts (missing, duplicates, late) per
 * window; the recorded topic is what the checker proves correct under the same retention,
 * transfers and machine.
 *
 * Files, in the soak's folder: `history.jsonl` (the history), `replicas.json` (the replicas' logs
 * of the recorded topic after the run, chaos/replicas.ts), `check.txt` (the checker's report).
 */
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../../raft/random.js';
import { checkHistory, parseHistoryFile, parseReplicaLogs, renderReport, summarize } from '../../chaos/checker/index.js';
import type { Verdict } from '../../chaos/checker/index.js';
import { partitionDirs } from '../../chaos/disk.js';
import { Recorder } from '../../chaos/recorder.js';
import { readReplica, type ReplicasJson } from '../../chaos/replicas.js';
import { DEFAULT_TIMEOUTS, Stopper, keyOf, type WorkloadContext } from '../../chaos/workloads/context.js';
import { groupObserver, groupWorker } from '../../chaos/workloads/group.js';
import { finalReads } from '../../chaos/workloads/poll.js';
import { producerWorker } from '../../chaos/workloads/producer.js';
import type { RaftlogTarget } from './raftlog.js';
import type { LogOptions } from './target.js';

/**
 * The recorded producer: one send at a time of 1 to RECORDS_MAX records, PRODUCER_INTERVAL_MS
 * (±50%) apart: 40-90 records/s (8-20 sends/s, as the machine allows), a history of 50-120 MB an
 * hour, and a 64 KiB segment of each partition filled every 1.5-4 minutes, so retention deletes
 * some of what the checker checks.
 */
const PRODUCERS = 1;
const RECORDS_MAX = 8;
const PRODUCER_INTERVAL_MS = 40;
/** Chance that the group member commits after a batch it read. */
const COMMIT_CHANCE = 0.2;
/** How often the observer reads the group's commits. */
const OBSERVER_INTERVAL_MS = 2000;
/** How long the final reads may take. */
const FINAL_READS_MS_MAX = 60_000;

export interface CheckedResult {
  readonly verdict: Verdict;
  /** The checker's one-line summary (`valid`, `invalid (lost-write, ...)`, ...). */
  readonly summary: string;
  readonly events: number;
  readonly sent: number;
  readonly acknowledged: number;
  readonly read: number;
  readonly transfers: number;
  /** Records of the recorded topic deleted by retention by the end (null: could not be read). */
  readonly deleted: number | null;
  readonly historyFile: string;
  readonly reportFile: string;
  readonly notes: readonly string[];
}

export interface CheckedRun {
  readonly topic: string;
  /** Moves the recorded topic's `partition` to another leader, recorded as a nemesis `transfer`. */
  transfer(partition: number): Promise<void>;
  /** Stops the workloads and makes the final reads. */
  finish(): Promise<void>;
  /** After the cluster was stopped with its folder kept: reads the replicas and checks the history. */
  check(): CheckedResult;
}

export async function startChecked(t: RaftlogTarget, o: { dir: string; topic: string; partitions: number; group: string; logOptions: LogOptions; seed: number }): Promise<CheckedRun> {
  await t.createLog(o.topic, o.partitions, o.logOptions);
  const historyFile = path.join(o.dir, 'history.jsonl');
  const recorder = new Recorder(historyFile);
  const notes: string[] = [];
  const ctx: WorkloadContext = {
    recorder,
    topic: o.topic,
    partitions: o.partitions,
    nodes: t.cluster.nodes.map((n) => ({ id: n.id, address: n.client })),
    random: seededRandom(o.seed),
    stopper: new Stopper(),
    timeouts: DEFAULT_TIMEOUTS,
    knownHw: new Map(),
    notes,
  };
  const harness: string[] = [];
  const spawn = (work: () => Promise<void>, what: string): Promise<void> => work().catch((err: unknown) => void harness.push(`a ${what} worker stopped on a harness error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
  // One member for the whole run: the group reads along, as the load's does; it commits as it goes.
  const lifeMs = Number.MAX_SAFE_INTEGER;
  const workers = [
    ...Array.from({ length: PRODUCERS }, () => spawn(() => producerWorker(ctx, { recordsMax: RECORDS_MAX, intervalMs: PRODUCER_INTERVAL_MS }), 'producer')),
    spawn(() => groupWorker(ctx, { group: o.group, lifeMs: [lifeMs, lifeMs], commitChance: COMMIT_CHANCE }), 'group member'),
    spawn(() => groupObserver(ctx, o.group, OBSERVER_INTERVAL_MS), 'group observer'),
  ];
  let transfers = 0;
  let deleted: number | null = null;
  return {
    topic: o.topic,
    async transfer(partition) {
      const value = { key: keyOf(o.topic, partition) };
      recorder.nemesis('invoke', 'transfer', value);
      try {
        await t.transfer(o.topic, partition);
        recorder.nemesis('ok', 'transfer', value);
        transfers++;
      } catch (err) {
        recorder.nemesis('fail', 'transfer', value, err instanceof Error ? err.message : String(err));
      }
    },
    async finish() {
      ctx.stopper.stop();
      await Promise.all(workers);
      const unfinished = await finalReads(ctx, Date.now() + FINAL_READS_MS_MAX);
      for (const u of unfinished) notes.push(`final read not finished: ${u}`);
      recorder.close();
      deleted = await t.deletedRecords(o.topic).catch(() => null);
    },
    check() {
      const replicas: ReplicasJson = {};
      for (const n of t.cluster.nodes) {
        const logs: ReplicasJson[string] = {};
        for (const p of partitionDirs(n.dataDir)) {
          if (!p.key.startsWith(`${o.topic}/`)) continue;
          try {
            logs[p.key] = readReplica(p.dir);
          } catch (err) {
            notes.push(`replica ${p.key} on ${n.id} cannot be read: ${(err as Error).message}`);
          }
        }
        replicas[n.id] = logs;
      }
      const replicasFile = path.join(o.dir, 'replicas.json');
      fs.writeFileSync(replicasFile, JSON.stringify(replicas));
      const parsed = parseHistoryFile(fs.readFileSync(historyFile, 'utf8'));
      if (parsed.format !== 'jsonl') throw new Error(`${historyFile} was not read back as JSON Lines`);
      const report = checkHistory(parsed.events, { replicas: parseReplicaLogs(fs.readFileSync(replicasFile, 'utf8')) });
      const reportFile = path.join(o.dir, 'check.txt');
      const allNotes = [...notes, ...harness.map((h) => `HARNESS ERROR: ${h}`)];
      fs.writeFileSync(reportFile, `${[renderReport(report, 'history.jsonl'), ...allNotes.map((n) => `  run note: ${n}`)].join('\n')}\n`);
      const log = report.counts.log;
      return {
        verdict: harness.length > 0 && report.verdict === 'valid' ? 'unknown' : report.verdict,
        summary: summarize(report),
        events: report.counts.events,
        sent: log?.sent ?? 0,
        acknowledged: log?.acknowledged ?? 0,
        read: log?.read ?? 0,
        transfers,
        deleted,
        historyFile,
        reportFile,
        notes: allNotes,
      };
    },
  };
}
