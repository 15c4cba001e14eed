/** Shared by the seed suites: runs a range of seeds and fails with the seed and its trace. */
import { expect } from 'vitest';
import { runSeed, type SimResult } from './simulation.js';

export function runSeedRange(first: number, last: number): SimResult[] {
  const only = process.env['SEED'];
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: last - first + 1 }, (_, i) => first + i);
  const results: SimResult[] = [];
  for (const seed of seeds) {
    const r = runSeed(seed);
    if (!r.ok) {
      const trace = r.trace.slice(-80).join('\n');
      expect.fail(`seed ${seed} failed: ${r.error}\nreplay: SEED=${seed} npm run sim\nlast events:\n${trace}`);
    }
    results.push(r);
  }
  return results;
}
