/**
 * A short chaos run whose producers and consumers are kafkajs's, on the nodes' Kafka listeners
 * (run.ts `client: 'kafkajs'`): leader kills and a pause must leave a valid history, recorded in
 * the same CHECKER.md format as with the native client.
 */
import { describe, expect, it } from 'vitest';
import type { FaultSpec } from '../../chaos/nemesis.js';
import { explain, scenario } from './helpers.js';

const RUN_MS = 25_000;
const TEST_TIMEOUT_MS = 180_000;

const PLAN: readonly FaultSpec[] = [
  { kind: 'kill', target: 'partition-leader', holdMs: 2000 },
  { kind: 'pause', target: 'partition-leader', holdMs: 2000 },
  { kind: 'kill', target: 'controller', holdMs: 2000 },
  { kind: 'partition', shape: 'isolate-leader', holdMs: 2500 },
];

describe('a chaos run on kafkajs', () => {
  it(
    'leader and controller kills, a pause and a partition: the history of kafkajs producers, consumers and group members is valid',
    async () => {
      const r = await scenario(
        'kafkajs',
        { nodes: 3, timeMs: RUN_MS, seed: 1, nemesis: [], plan: PLAN, gapMs: [1500, 2500], client: 'kafkajs' },
        (res) => !res.report.valid || res.harnessErrors.length > 0 || res.nemesisProblems.length > 0,
      );
      expect(r.report.verdict, explain(r)).toBe('valid');
      expect(r.harnessErrors, explain(r)).toEqual([]);
      expect(r.nemesisProblems, explain(r)).toEqual([]);
      expect(r.faults.map((f) => f.kind), explain(r)).toEqual(PLAN.map((p) => p.kind));
      // kafkajs wrote, and group members resumed from commits and committed: the run meant something.
      expect(r.report.counts.log?.acknowledged ?? 0, explain(r)).toBeGreaterThan(500);
      expect(r.report.counts.byF['commit']?.ok ?? 0, explain(r)).toBeGreaterThan(10);
      expect(r.report.counts.byF['assign']?.ok ?? 0, explain(r)).toBeGreaterThan(3);
      expect(r.clients, explain(r)).toMatch(/^kafkajs/);
    },
    TEST_TIMEOUT_MS,
  );
});
