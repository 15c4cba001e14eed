import { describe, it } from 'vitest';
import { HOST_MUTANTS } from './host-simulation.js';
import { expectCaught } from './run-host-seeds.js';

// Each broken shell or core (HOST_MUTANTS: the host's own mutants and raft/config.ts UnsafeMutations,
// on the real groups) must fail within the host seeds npm test runs. second half of HOST_MUTANTS here,
// the first in host-mutants-a.test.ts, so the two run on two workers.
describe('the host simulation catches a shell or a core broken on purpose (second half)', () => {
  for (const mutant of HOST_MUTANTS.slice(Math.ceil(HOST_MUTANTS.length / 2))) {
    it(`catches ${mutant}`, () => expectCaught(mutant), 600_000);
  }
});
