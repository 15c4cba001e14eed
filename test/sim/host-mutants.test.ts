import { describe, expect, it } from 'vitest';
import { HOST_MUTANTS, runHostSeed } from './host-simulation.js';

/**
 * The host seeds that `npm test` runs (host-seeds-a and -b). Each broken shell or core (HOST_MUTANTS:
 * the host's own mutants and raft/config.ts UnsafeMutations, on the real groups) must fail within them.
 */
const SEEDS_IN_TEST = 2000;

describe('the host simulation catches a shell or a core broken on purpose', () => {
  for (const mutant of HOST_MUTANTS) {
    it(`catches ${mutant}`, async () => {
      let caughtAt: number | null = null;
      let error = '';
      for (let seed = 1; seed <= SEEDS_IN_TEST && caughtAt === null; seed++) {
        const r = await runHostSeed(seed, mutant);
        if (!r.ok) {
          caughtAt = seed;
          error = r.error ?? '';
        }
      }
      console.log(`${mutant}: caught at host seed ${caughtAt} (${error.split('\n')[0]})`);
      expect(caughtAt, `${mutant} survived ${SEEDS_IN_TEST} host seeds`).not.toBeNull();
    }, 600_000);
  }
});
