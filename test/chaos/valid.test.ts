/**
 * Short chaos runs against a correct 3-node cluster: every fault kind, chosen by a fixed plan so
 * each run covers what it names, must leave a valid history (CHECKER.md) and agreeing replicas.
 */
import { describe, expect, it } from 'vitest';
import type { FaultSpec } from '../../chaos/nemesis.js';
import { explain, scenario } from './helpers.js';

const RUN_MS = 25_000;
const TEST_TIMEOUT_MS = 180_000;

interface Plan {
  readonly faults: readonly FaultSpec[];
  /** Nodes the cluster starts with (default 3). */
  readonly nodes?: number;
  /** Server-side produce timeout: short ones make producers retry batches that were written. */
  readonly produceRequestMs?: number;
}

const PLANS: Record<string, Plan> = {
  'leader kills and pauses': {
    faults: [
      { kind: 'kill', target: 'partition-leader', holdMs: 2000 },
      { kind: 'pause', target: 'partition-leader', holdMs: 250 },
      { kind: 'kill', target: 'controller', holdMs: 2000 },
      { kind: 'pause', target: 'partition-leader', holdMs: 2000 },
      { kind: 'pause', target: 'partition-leader', holdMs: 250 },
      { kind: 'partition', shape: 'isolate-leader', holdMs: 2500 },
    ],
    // As in the skip-idempotence mutant's test: the short pauses make producers retry.
    produceRequestMs: 100,
  },
  'network partitions': {
    faults: [
      { kind: 'partition', shape: 'majority-minority', holdMs: 2500 },
      { kind: 'partition', shape: 'bridge', holdMs: 2500 },
      { kind: 'partition', shape: 'one-way-from-leader', holdMs: 2500 },
      { kind: 'partition', shape: 'one-way-to-leader', holdMs: 2500 },
      { kind: 'pause', target: 'controller', holdMs: 2000 },
    ],
  },
  'crashes with power loss and a torn tail write': {
    faults: [
      { kind: 'corrupt', holdMs: 1000 },
      { kind: 'kill', target: 'all', holdMs: 1000 },
      { kind: 'kill', target: 'minority', holdMs: 1500 },
      { kind: 'partition', shape: 'isolate-follower', holdMs: 2000 },
      { kind: 'partition', shape: 'isolate-controller', holdMs: 2000 },
    ],
  },
  // Ends with the check that every partition holds the replicas last asked for (checks/placement.ts).
  'membership changes among kills and partitions': {
    faults: [
      { kind: 'membership', op: 'join', holdMs: 0 },
      { kind: 'membership', op: 'move', holdMs: 0 },
      { kind: 'kill', target: 'partition-leader', holdMs: 1500 },
      { kind: 'membership', op: 'replace', holdMs: 0 },
      { kind: 'disk-loss', leaderDies: true, holdMs: 2000 },
      { kind: 'membership', op: 'move', holdMs: 0 },
      { kind: 'partition', shape: 'isolate-leader', holdMs: 2000 },
      { kind: 'membership', op: 'move', holdMs: 0 },
    ],
  },
};

describe('chaos runs against a correct cluster', () => {
  for (const [name, { faults: plan, produceRequestMs, nodes }] of Object.entries(PLANS)) {
    it(
      `${name}: the history is valid`,
      async () => {
        const r = await scenario(
          name.replace(/\W+/g, '-'),
          {
            nodes: nodes ?? 3,
            timeMs: RUN_MS,
            seed: 1,
            nemesis: [],
            plan,
            gapMs: [1500, 2500],
            ...(produceRequestMs !== undefined ? { timeouts: { produceRequestMs } } : {}),
          },
          (res) => !res.report.valid || res.faults.length !== plan.length || res.harnessErrors.length > 0 || res.nemesisProblems.length > 0,
        );
        expect(r.report.verdict, explain(r)).toBe('valid');
        expect(r.harnessErrors, explain(r)).toEqual([]);
        // A node that would not restart or catch up after a torn write is a failure too.
        expect(r.nemesisProblems, explain(r)).toEqual([]);
        // Every planned fault was injected, and the run did enough to mean something.
        expect(r.faults.map((f) => f.kind), explain(r)).toEqual(plan.map((p) => p.kind));
        expect(r.report.counts.log?.acknowledged ?? 0, explain(r)).toBeGreaterThan(500);
      },
      TEST_TIMEOUT_MS,
    );
  }
});
