/**
 * Each unsafe mutant (chaos/mutants.ts) against a short run designed to expose it: the checker
 * must flag the history. The same scenarios pass against a correct cluster (valid.test.ts covers
 * their faults; these tests name only what they expect the checker to find).
 */
import { describe, expect, it } from 'vitest';
import type { AnomalyKind } from '../../chaos/checker/index.js';
import type { ScenarioOptions } from './helpers.js';
import { explain, scenario } from './helpers.js';

const TEST_TIMEOUT_MS = 150_000;

interface MutantCase {
  readonly why: string;
  readonly run: Omit<ScenarioOptions, 'nodes' | 'seed' | 'nemesis' | 'mutant'>;
  /** The checker must report at least one of these. */
  readonly expect: readonly AnomalyKind[];
}

const LOST: readonly AnomalyKind[] = ['lost-write', 'unseen', 'inconsistent-offsets'];

const CASES: Record<string, MutantCase> = {
  'ack-before-commit': {
    why: 'an isolated leader acknowledges writes the majority never gets; a new leader overwrites them',
    run: { timeMs: 9000, gapMs: [2000, 2000], plan: [{ kind: 'partition', shape: 'isolate-leader', holdMs: 3000 }] },
    expect: LOST,
  },
  'ack-before-fsync': {
    why: 'a crash of every node loses what no node fsynced, though it was acknowledged',
    run: { timeMs: 8000, gapMs: [3000, 3000], plan: [{ kind: 'kill', target: 'all', holdMs: 500 }] },
    expect: LOST,
  },
  'fetch-without-readindex': {
    why: 'an isolated follower answers probes with a high watermark below acknowledged writes',
    run: { timeMs: 9000, gapMs: [2000, 2000], plan: [{ kind: 'partition', shape: 'isolate-follower', holdMs: 4000 }], workload: { probeIntervalMs: 20 } },
    expect: ['stale-read'],
  },
  'skip-idempotence': {
    why: 'a leader paused past the producers\' 100 ms timeout gets each batch and its retry, and writes both',
    run: {
      timeMs: 9000,
      gapMs: [1000, 1000],
      plan: Array.from({ length: 5 }, () => ({ kind: 'pause', target: 'partition-leader', holdMs: 250 }) as const),
      timeouts: { produceRequestMs: 100 },
    },
    expect: ['duplicate'],
  },
  'rejoiner-votes': {
    why: 'a follower lags while its leader and the other follower write; the leader dies with that follower\'s disk, and the empty replica votes the lagging one in',
    // One partition, so that pausing a follower stalls no producer: they all write through the leader.
    run: { timeMs: 9000, gapMs: [2000, 2000], partitions: 1, plan: [{ kind: 'disk-loss', leaderDies: true, holdMs: 3000 }] },
    expect: LOST,
  },
  'drop-offset-commits': {
    why: 'acknowledged offset commits are not there when read back or resumed from',
    run: { timeMs: 5000, plan: [], workload: { committers: 2 } },
    expect: ['committed-offsets', 'resume-position'],
  },
};

describe('the checker flags every mutant', () => {
  for (const [mutant, c] of Object.entries(CASES)) {
    it(
      `${mutant}: ${c.why}`,
      async () => {
        const r = await scenario(mutant, { nodes: 3, seed: 1, nemesis: [], mutant, ...c.run }, (res) => res.report.valid);
        expect(r.report.verdict, explain(r)).toBe('invalid');
        expect(r.report.anomalyKinds.some((k) => c.expect.includes(k)), `expected one of ${c.expect.join(', ')}\n${explain(r)}`).toBe(true);
      },
      TEST_TIMEOUT_MS,
    );
  }
});
