/**
 * Collects every replica's log after a run, for the checker's replica agreement check.
 *
 * Followers refuse fetches, so the logs are read from the files: after the cluster has been
 * stopped cleanly (SIGTERM: each group saves its commit index and closes its log), each node's
 * partition folders are opened with storage/segment-log.ts, every batch from the log start to the
 * log end is decoded, and the replica's commit index (its hard state, as an offset: the offset just
 * past the last committed batch) says how far the log is committed.
 *
 * The result is the replicas file of chaos/checker/checks/replicas.ts:
 *
 *     { "<node>": { "<topic>/<partition>": { "logStart": n, "commitIndex": n, "entries": [[offset, value], ...] } } }
 *
 * Record values are decoded as UTF-8 (the workloads write strings). A replica that cannot be read
 * (its log is corrupt beyond recovery) is left out and named in `problems`.
 */
import { readHardState } from '../storage/hard-state.js';
import { records } from '../src/wire/record-batch/decode.js';
import { BatchAttributes, readBatchHeader } from '../src/wire/record-batch/header.js';
import { SegmentLog } from '../storage/segment-log.js';
import { partitionDirs } from './disk.js';
import path from 'node:path';

export interface ReplicaLogJson {
  readonly logStart: number;
  readonly commitIndex: number;
  readonly entries: Array<[number, string | null]>;
}

export type ReplicasJson = Record<string, Record<string, ReplicaLogJson>>;

/** Bytes read per call while walking a log. */
const READ_BYTES = 4 * 1024 * 1024;

export function readReplica(dir: string): ReplicaLogJson {
  const log = SegmentLog.open({ dir: path.join(dir, 'log'), recordBatches: true });
  try {
    const hs = readHardState(dir);
    const commit = Math.min(hs.kind === 'ok' ? hs.hardState.commit : 0, log.lastIndex());
    const commitIndex = log.offsetAfterIndex(commit);
    const logStart = log.logStartOffset();
    const end = log.logEndOffset();
    const entries: Array<[number, string | null]> = [];
    for (let from = logStart; from < end; ) {
      const r = log.readBatches(from, READ_BYTES, log.lastIndex());
      if (r.batches.length === 0) break;
      for (const b of r.batches) {
        if ((readBatchHeader(b).attributes & BatchAttributes.Control) !== 0) continue;
        for (const rec of records(b)) {
          if (rec.offset < from) continue;
          entries.push([rec.offset, rec.value === null ? null : Buffer.from(rec.value).toString('utf8')]);
        }
      }
      from = r.nextOffset;
    }
    return { logStart, commitIndex, entries };
  } finally {
    log.close();
  }
}

/** Reads the replicas of every node; `nodes` maps node id → data folder. */
export function collectReplicas(nodes: ReadonlyMap<string, string>): { replicas: ReplicasJson; problems: string[] } {
  const replicas: ReplicasJson = {};
  const problems: string[] = [];
  for (const [node, dataDir] of nodes) {
    const logs: Record<string, ReplicaLogJson> = {};
    for (const p of partitionDirs(dataDir)) {
      try {
        logs[p.key] = readReplica(p.dir);
      } catch (err) {
        problems.push(`replica ${p.key} on ${node} cannot be read: ${(err as Error).message}`);
      }
    }
    replicas[node] = logs;
  }
  return { replicas, problems };
}
