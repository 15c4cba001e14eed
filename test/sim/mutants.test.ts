import { describe, expect, it } from 'vitest';
import { MUTANTS, runSeed } from './simulation.js';

/** The seeds that `npm test` runs (seeds-a and seeds-b). Each broken core must fail within them. */
const SEEDS_IN_TEST = 2000;

describe('the simulator catches a core broken on purpose', () => {
  for (const mutant of MUTANTS) {
    it(`catches ${mutant}`, () => {
      let caughtAt: number | null = null;
      let error = '';
      for (let seed = 1; seed <= SEEDS_IN_TEST && caughtAt === null; seed++) {
        const r = runSeed(seed, mutant);
        if (!r.ok) {
          caughtAt = seed;
          error = r.error ?? '';
        }
      }
      console.log(`${mutant}: caught at seed ${caughtAt} (${error})`);
      expect(caughtAt, `${mutant} survived ${SEEDS_IN_TEST} seeds`).not.toBeNull();
    });
  }
});
