/**
 * A short chaos run with hostile clients (chaos/hostile.ts) and no other fault: while the
 * workloads produce and consume, attacks of issue 22 §1 hit the live cluster one after another.
 * The history must be valid, every node must stay the process it started as, and each attack
 * must come to what it should (answered, or its connections closed). The attacks whose outcome
 * takes a node's 30 s limits to show (half-frame, unread-replies) are left to the longer runs of
 * `npm run chaos -- --nemesis hostile`.
 */
import { describe, expect, it } from 'vitest';
import type { FaultSpec } from '../../chaos/nemesis.js';
import { explain, scenario } from './helpers.js';

const RUN_MS = 25_000;
const TEST_TIMEOUT_MS = 180_000;

const PLAN: readonly FaultSpec[] = [
  { kind: 'hostile', attack: 'fetch-repeat', holdMs: 2500 },
  { kind: 'hostile', attack: 'junk-60mb-client', holdMs: 3000 },
  { kind: 'hostile', attack: 'junk-60mb-peer', holdMs: 3000 },
  { kind: 'hostile', attack: 'junk-flood-client', holdMs: 2500 },
  { kind: 'hostile', attack: 'preauth-large-peer', holdMs: 2500 },
  { kind: 'hostile', attack: 'kafka-junk', holdMs: 2500 },
  { kind: 'hostile', attack: 'idle-flood', holdMs: 3000 },
  { kind: 'hostile', attack: 'fetch-huge', holdMs: 2500 },
];

describe('a chaos run with hostile clients', () => {
  it(
    'keeps a valid history, every node alive, and answers or closes each attack as it should',
    async () => {
      const r = await scenario('hostile', { nodes: 3, timeMs: RUN_MS, seed: 22, nemesis: [], plan: PLAN, gapMs: [1000, 1500] }, (res) => !res.report.valid || res.hostile?.nodesAlive !== true);
      expect(r.report.verdict, explain(r)).toBe('valid');
      expect(r.harnessErrors, explain(r)).toEqual([]);
      expect(r.hostile?.nodesAlive, explain(r)).toBe(true);
      expect(r.hostile!.attacks.map((a) => a.attack), explain(r)).toEqual(PLAN.map((f) => (f.kind === 'hostile' ? f.attack : '')));
      expect(r.hostile!.attacks.filter((a) => !a.asExpected), explain(r)).toEqual([]);
      expect(r.report.counts.log?.acknowledged ?? 0, explain(r)).toBeGreaterThan(500);
    },
    TEST_TIMEOUT_MS,
  );
});
