/**
 * Final replica sets (beyond CHECKER.md's table, for runs that change membership: issue 20 §5):
 * after the run, every partition must be held by exactly the replicas it was last asked to move
 * to, and every one of them must agree that this is its committed configuration, with no learner
 * left over. A move that never finished, a replica left behind on a node the partition moved off,
 * or two replicas that disagree on who the members are, is an anomaly `replica-set`.
 *
 * The placement is not in the history; it comes as a separate JSON file, what each node's
 * `/status` said of each group it holds once the run settled:
 *
 *     { "<key>": { "target": ["n4", "n2", "n3"],
 *                  "replicas": { "<node>": { "voters": [...], "learners": [...], "committed": true } } } }
 *
 * `target` is what the run last asked for (its order gives the preferred leader and does not
 * matter here), or the partition's replicas at creation when it never moved.
 */
import type { Anomaly } from '../anomaly.js';
import { HistoryFormatError } from '../errors.js';

export interface ReplicaConfiguration {
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly committed: boolean;
}

export interface KeyPlacement {
  readonly target: readonly string[];
  /** node → what its replica says of the group's configuration. */
  readonly replicas: ReadonlyMap<string, ReplicaConfiguration>;
}

export type Placements = ReadonlyMap<string, KeyPlacement>;

const sorted = (ids: readonly string[]): string => [...ids].sort().join(',');

export function checkPlacement(placements: Placements): Anomaly[] {
  const out: Anomaly[] = [];
  for (const [key, p] of placements) {
    const want = sorted(p.target);
    const problems: string[] = [];
    const holders = sorted([...p.replicas.keys()]);
    if (holders !== want) problems.push(`held by ${holders === '' ? 'no node' : holders}, not ${want}`);
    for (const [node, r] of p.replicas) {
      if (!r.committed) problems.push(`${node}'s configuration is not committed`);
      if (sorted(r.voters) !== want) problems.push(`${node} has voters ${sorted(r.voters) === '' ? 'none' : sorted(r.voters)}`);
      if (r.learners.length > 0) problems.push(`${node} has learners ${sorted(r.learners)}`);
    }
    if (problems.length > 0) out.push({ kind: 'replica-set', key, target: [...p.target], reason: problems.join('; ') });
  }
  return out;
}

export function parsePlacements(text: string): Placements {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new HistoryFormatError('placement: not JSON', null, { cause });
  }
  const strings = (v: unknown, where: string): string[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new HistoryFormatError(`${where}: not a list of node ids`);
    return v;
  };
  const out = new Map<string, KeyPlacement>();
  for (const [key, v] of Object.entries(object(raw, 'placement'))) {
    const o = object(v, `placement of ${key}`);
    const replicas = new Map<string, ReplicaConfiguration>();
    for (const [node, r] of Object.entries(object(o['replicas'], `replicas of ${key}`))) {
      const c = object(r, `${node}'s replica of ${key}`);
      if (typeof c['committed'] !== 'boolean') throw new HistoryFormatError(`${node}'s replica of ${key}: committed must be true or false`);
      replicas.set(node, { voters: strings(c['voters'], `${node}'s voters of ${key}`), learners: strings(c['learners'], `${node}'s learners of ${key}`), committed: c['committed'] });
    }
    out.set(key, { target: strings(o['target'], `target of ${key}`), replicas });
  }
  return out;
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HistoryFormatError(`${where}: not an object`);
  return v as Record<string, unknown>;
}
