/**
 * Replica agreement: after the run, every replica's committed log of a key (partition) must be
 * identical up to the lowest commit index among the replicas of that key.
 *
 * The replicas' logs are not in the history; they come as a separate JSON file:
 *
 *     { "<node>": { "<key>": { "logStart": n, "commitIndex": n, "entries": [[offset, value], ...] } } }
 *
 * - `logStart`: the first offset the replica still holds (earlier ones were compacted);
 * - `commitIndex`: offsets below it are committed (exclusive, like a high watermark);
 * - `entries`: the replica's log, at least from `logStart` to `commitIndex` - 1.
 *
 * Offsets are non-negative safe integers. An offset is compared on the replicas that still hold it
 * (offset ≥ their `logStart`); a replica with no entry there disagrees with one that has it.
 */
import type { Anomaly } from '../anomaly.js';
import { HistoryFormatError } from '../errors.js';
import { valueKey } from '../history.js';

export interface ReplicaLog {
  readonly logStart: number;
  readonly commitIndex: number;
  readonly entries: ReadonlyMap<number, unknown>;
}

/** node → key → that replica's log. */
export type ReplicaLogs = ReadonlyMap<string, ReadonlyMap<string, ReplicaLog>>;

/** Most disagreeing offsets reported per key; the rest are summarised by the first. */
export const REPLICA_DISAGREEMENTS_PER_KEY_MAX = 10;

export function parseReplicaLogs(text: string): ReplicaLogs {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new HistoryFormatError('replica logs: not JSON', null, { cause });
  }
  const nodes = new Map<string, Map<string, ReplicaLog>>();
  for (const [node, keys] of Object.entries(object(raw, 'replica logs'))) {
    const logs = new Map<string, ReplicaLog>();
    for (const [key, log] of Object.entries(object(keys, `replica ${node}`))) {
      const where = `replica ${node} key ${key}`;
      const o = object(log, where);
      const entries = new Map<number, unknown>();
      const list = o['entries'];
      if (!Array.isArray(list)) throw new HistoryFormatError(`${where}: entries must be an array`);
      for (const e of list) {
        if (!Array.isArray(e) || e.length !== 2) throw new HistoryFormatError(`${where}: an entry is not [offset, value]`);
        entries.set(offset(e[0], `${where} entry offset`), e[1]);
      }
      logs.set(key, {
        logStart: offset(o['logStart'], `${where} logStart`),
        commitIndex: offset(o['commitIndex'], `${where} commitIndex`),
        entries,
      });
    }
    nodes.set(node, logs);
  }
  return nodes;
}

export function checkReplicas(replicas: ReplicaLogs): Anomaly[] {
  const byKey = new Map<string, Array<[string, ReplicaLog]>>();
  for (const [node, keys] of replicas) {
    for (const [key, log] of keys) {
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [[node, log]]);
      else list.push([node, log]);
    }
  }
  const out: Anomaly[] = [];
  for (const [key, logs] of byKey) {
    if (logs.length < 2) continue;
    const lowestCommit = Math.min(...logs.map(([, l]) => l.commitIndex));
    const firstHeld = Math.min(...logs.map(([, l]) => l.logStart));
    let reported = 0;
    for (let offset = firstHeld; offset < lowestCommit && reported < REPLICA_DISAGREEMENTS_PER_KEY_MAX; offset++) {
      const holders = logs.filter(([, l]) => offset >= l.logStart);
      if (holders.length < 2) continue;
      const values: Record<string, unknown> = {};
      const distinct = new Set<string>();
      for (const [node, l] of holders) {
        const has = l.entries.has(offset);
        values[node] = has ? l.entries.get(offset) : null;
        distinct.add(has ? valueKey(l.entries.get(offset)) : 'missing');
      }
      if (distinct.size > 1) {
        out.push({ kind: 'replica-disagreement', key, offset, values });
        reported++;
      }
    }
  }
  return out;
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HistoryFormatError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function offset(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new HistoryFormatError(`${what} must be a non-negative integer, not ${JSON.stringify(v)}`);
  }
  return v;
}
