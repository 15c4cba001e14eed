/**
 * Committed offsets: per (group, key) the committed offset must be a linearizable register that
 * starts at null. A commit writes the offset of each of its keys (an `info` or open commit may
 * take effect at any time after its invoke, or never; a failed one never did); a successful
 * fetchCommitted reads them. Each (group, key) is searched on its own with the Wing–Gong–Lowe
 * search.
 */
import type { Anomaly } from '../anomaly.js';
import type { LinOp } from '../lin/model.js';
import { checkPartitions } from '../lin/partitioned.js';
import { committedOffsetModel, type RegisterInput, type RegisterOutput } from '../lin/register.js';
import { refOf } from '../ops.js';
import { getOrSet, type LogIndex } from './log-index.js';

/** A partition the search gave up on. */
export interface UnknownPartition {
  readonly check: string;
  readonly partition: string;
  readonly ops: number;
  readonly steps: number;
}

type RegisterOp = LinOp<RegisterInput, RegisterOutput>;

export function checkCommittedOffsets(
  index: LogIndex,
  stepsMax: number,
): { anomalies: Anomaly[]; unknown: UnknownPartition[] } {
  const parts = new Map<string, RegisterOp[]>();
  const names = new Map<string, { group: string; key: string }>();
  const add = (group: string, key: string, op: RegisterOp): void => {
    const name = `${group}/${key}`;
    names.set(name, { group, key });
    getOrSet(parts, name, () => []).push(op);
  };
  for (const c of index.commits) {
    if (c.op.outcome === 'fail') continue;
    const done = c.op.outcome === 'ok' ? c.op.completion : undefined;
    for (const [key, offset] of c.offsets) {
      add(c.group, key, {
        call: c.op.invoke.index,
        ret: done?.index,
        input: { f: 'write', value: offset },
        output: done === undefined ? undefined : { f: 'write' },
        ref: refOf(c.op, `${c.group} ${key}=${offset}`),
      });
    }
  }
  for (const r of index.fetches) {
    if (r.offsets === null || r.op.completion === undefined) continue;
    for (const [key, offset] of r.offsets) {
      add(r.group, key, {
        call: r.op.invoke.index,
        ret: r.op.completion.index,
        input: { f: 'read' },
        output: { f: 'read', value: offset },
        ref: refOf(r.op, `${r.group} ${key}→${offset === null ? 'null' : offset}`),
      });
    }
  }
  for (const ops of parts.values()) ops.sort((a, b) => a.call - b.call);

  const anomalies: Anomaly[] = [];
  const unknown: UnknownPartition[] = [];
  for (const p of checkPartitions(committedOffsetModel, parts, stepsMax)) {
    const { group, key } = names.get(p.partition)!;
    switch (p.result.kind) {
      case 'linearizable':
        break;
      case 'nonlinearizable':
        anomalies.push({ kind: 'committed-offsets', group, key, witness: p.result.witness });
        break;
      case 'unknown':
        unknown.push({ check: 'committed-offsets', partition: p.partition, ops: p.ops, steps: p.result.steps });
        break;
    }
  }
  return { anomalies, unknown };
}
