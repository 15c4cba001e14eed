/**
 * `checkHistory(events, options)` runs every check of CHECKER.md on a log history and returns a
 * `Report`; `checkParsed` does the same for any parsed file, including the register and
 * key-value reference formats, which only have the linearizability check.
 *
 * The verdict is `invalid` when there is any anomaly, else `unknown` when a linearizability
 * search hit its step limit, else `valid`.
 */
import { ANOMALY_KINDS, type Anomaly, type AnomalyKind } from './anomaly.js';
import { unreachable } from './errors.js';
import type { HistoryEvent, Outcome } from './history.js';
import { kvKeyModel, type KvInput, type KvOutput } from './lin/kv.js';
import type { LinOp } from './lin/model.js';
import { checkPartitions, groupBy, type PartitionResult } from './lin/partitioned.js';
import { casRegisterModel } from './lin/register.js';
import { SEARCH_STEPS_MAX } from './lin/wgl.js';
import { pairOperations } from './ops.js';
import type { HistoryFormat, ParsedHistory } from './parse/index.js';
import { decodeOps } from './values.js';
import { checkCommittedOffsets, type UnknownPartition } from './checks/committed-offsets.js';
import { checkCompleteness, findFinalReads } from './checks/completeness.js';
import { failoverTimes, faultWindows, type FailoverStats, type FaultWindow } from './checks/faults.js';
import { checkLiveness, LIVENESS_BOUND_NS } from './checks/liveness.js';
import { buildLogIndex } from './checks/log-index.js';
import { checkLogValues } from './checks/log-values.js';
import { checkPollOrder } from './checks/poll-order.js';
import { checkPlacement, type Placements } from './checks/placement.js';
import { checkReplicas, type ReplicaLogs } from './checks/replicas.js';
import { checkResumePositions } from './checks/resume-position.js';
import { checkRealTimeOrder, checkSendOrder } from './checks/send-order.js';
import { checkStaleReads } from './checks/stale-read.js';

/** Anomalies of one kind kept in a report; `anomalyCounts` still counts them all. */
export const ANOMALIES_PER_KIND_MAX = 50;

export interface CheckOptions {
  /** The replicas' logs after the run, for the replica agreement check. */
  readonly replicas?: ReplicaLogs;
  /** Each partition's target and its replicas' configurations after the run, for the final replica set check. */
  readonly placement?: Placements;
  /** Time allowed after the final heal for operations to succeed again (default 10 s). */
  readonly livenessBoundNs?: number;
  /** Step limit of each linearizability search. */
  readonly searchStepsMax?: number;
  readonly anomaliesPerKindMax?: number;
}

export type Verdict = 'valid' | 'invalid' | 'unknown';

export interface OutcomeCounts {
  ok: number;
  fail: number;
  info: number;
  open: number;
}

export interface Counts {
  readonly events: number;
  readonly ops: OutcomeCounts;
  readonly byF: Readonly<Record<string, OutcomeCounts>>;
  /** For log histories: keys written or read, values sent, acknowledged and read. */
  readonly log?: { readonly keys: number; readonly sent: number; readonly acknowledged: number; readonly read: number };
}

export interface Report {
  readonly format: HistoryFormat;
  readonly verdict: Verdict;
  /** True exactly when the verdict is `valid`. */
  readonly valid: boolean;
  /** Kinds of the anomalies found, in the order of CHECKER.md's table. */
  readonly anomalyKinds: readonly AnomalyKind[];
  readonly anomalies: readonly Anomaly[];
  readonly anomalyCounts: Readonly<Partial<Record<AnomalyKind, number>>>;
  /** Linearizability searches that hit their step limit. */
  readonly unknown: readonly UnknownPartition[];
  readonly counts: Counts;
  readonly windows: readonly FaultWindow[];
  readonly failover: FailoverStats | null;
  /** Checks that could not run, and why. */
  readonly notes: readonly string[];
}

export function checkParsed(parsed: ParsedHistory, options: CheckOptions = {}): Report {
  switch (parsed.format) {
    case 'jsonl':
      return checkHistory(parsed.events, options);
    case 'etcd-log': {
      const ops = parsed.history.ops;
      const results = checkPartitions(casRegisterModel(null), new Map([['', ops]]), stepsMax(options));
      const outcome = (o: (typeof ops)[number]): Outcome =>
        o.ret === undefined ? 'info' : o.output?.f === 'cas' && !o.output.ok ? 'fail' : 'ok';
      return linearizabilityReport('etcd-log', parsed.history.events, ops, results, options, outcome);
    }
    case 'kv-edn': {
      const parts = new Map<string, LinOp<KvInput, KvOutput>[]>();
      for (const [key, list] of groupBy(parsed.history.ops, (o) => o.key)) parts.set(key, list.map((o) => o.op));
      const results = checkPartitions(kvKeyModel, parts, stepsMax(options));
      const ops = parsed.history.ops.map((o) => o.op);
      return linearizabilityReport('kv-edn', parsed.history.events, ops, results, options, (o) =>
        o.ret === undefined ? 'info' : 'ok',
      );
    }
    default:
      return unreachable(parsed);
  }
}

export function checkHistory(events: readonly HistoryEvent[], options: CheckOptions = {}): Report {
  const paired = pairOperations(events);
  const { decoded, problems } = decodeOps(paired.ops);
  const index = buildLogIndex(decoded);
  const final = findFinalReads(index, paired.nemesis);
  const committed = checkCommittedOffsets(index, stepsMax(options));
  const anomalies: Anomaly[] = [
    ...paired.problems,
    ...problems,
    ...index.problems,
    ...checkLogValues(index),
    ...checkCompleteness(index, final),
    ...checkPollOrder(index),
    ...checkSendOrder(index),
    ...checkRealTimeOrder(index),
    ...checkStaleReads(index),
    ...committed.anomalies,
    ...checkResumePositions(index),
    ...(options.replicas === undefined ? [] : checkReplicas(options.replicas)),
    ...(options.placement === undefined ? [] : checkPlacement(options.placement)),
    ...checkLiveness(paired.ops, paired.nemesis, options.livenessBoundNs ?? LIVENESS_BOUND_NS),
  ];
  const notes: string[] = [];
  if (final === null) notes.push('no final reads after the last send and nemesis action: unseen and offset gap not checked');
  if (options.replicas === undefined) notes.push('no replica logs given: replica agreement not checked');
  if (paired.nemesis.length === 0) notes.push('no nemesis actions: liveness not checked');

  const keys = new Set<string>(index.log.keys());
  for (const w of index.writers.values()) keys.add(w.key);
  return assemble('jsonl', anomalies, committed.unknown, options, {
    counts: {
      events: events.length,
      ...countOutcomes(paired.ops.map((o) => ({ f: o.f, outcome: o.outcome }))),
      log: {
        keys: keys.size,
        sent: index.writers.size,
        acknowledged: [...index.writers.values()].filter((w) => w.ackOffset !== null).length,
        read: index.readers.size,
      },
    },
    windows: faultWindows(paired.ops, paired.nemesis),
    failover: failoverTimes(paired.ops, paired.nemesis),
    notes,
  });
}

function linearizabilityReport<I, O>(
  format: HistoryFormat,
  events: number,
  ops: readonly LinOp<I, O>[],
  results: readonly PartitionResult[],
  options: CheckOptions,
  outcomeOf: (op: LinOp<I, O>) => Outcome,
): Report {
  const anomalies: Anomaly[] = [];
  const unknown: UnknownPartition[] = [];
  for (const r of results) {
    switch (r.result.kind) {
      case 'linearizable':
        break;
      case 'nonlinearizable':
        anomalies.push({ kind: 'nonlinearizable', partition: r.partition, witness: r.result.witness });
        break;
      case 'unknown':
        unknown.push({ check: 'linearizability', partition: r.partition, ops: r.ops, steps: r.result.steps });
        break;
      default:
        unreachable(r.result);
    }
  }
  const outcomes = ops.map((o) => ({ f: o.ref.f, outcome: outcomeOf(o) }));
  return assemble(format, anomalies, unknown, options, {
    counts: { events, ...countOutcomes(outcomes) },
    windows: [],
    failover: null,
    notes: [],
  });
}

function assemble(
  format: HistoryFormat,
  all: readonly Anomaly[],
  unknown: readonly UnknownPartition[],
  options: CheckOptions,
  rest: Pick<Report, 'counts' | 'windows' | 'failover' | 'notes'>,
): Report {
  const perKind = options.anomaliesPerKindMax ?? ANOMALIES_PER_KIND_MAX;
  const anomalyCounts: Partial<Record<AnomalyKind, number>> = {};
  const anomalies: Anomaly[] = [];
  for (const a of all) {
    const n = (anomalyCounts[a.kind] ?? 0) + 1;
    anomalyCounts[a.kind] = n;
    if (n <= perKind) anomalies.push(a);
  }
  const anomalyKinds = ANOMALY_KINDS.filter((k) => anomalyCounts[k] !== undefined);
  const verdict: Verdict = anomalies.length > 0 ? 'invalid' : unknown.length > 0 ? 'unknown' : 'valid';
  return { format, verdict, valid: verdict === 'valid', anomalyKinds, anomalies, anomalyCounts, unknown, ...rest };
}

function countOutcomes(ops: ReadonlyArray<{ f: string; outcome: Outcome }>): Pick<Counts, 'ops' | 'byF'> {
  const total: OutcomeCounts = { ok: 0, fail: 0, info: 0, open: 0 };
  const byF: Record<string, OutcomeCounts> = {};
  for (const o of ops) {
    total[o.outcome]++;
    (byF[o.f] ??= { ok: 0, fail: 0, info: 0, open: 0 })[o.outcome]++;
  }
  return { ops: total, byF };
}

function stepsMax(options: CheckOptions): number {
  return options.searchStepsMax ?? SEARCH_STEPS_MAX;
}
