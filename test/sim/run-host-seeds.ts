/** Shared by the host seed suites: runs a range of seeds of the host simulation and fails with the seed and its trace. */
import { expect } from 'vitest';
import { runHostSeed, type HostMutant, type HostSimResult } from './host-simulation.js';

export async function runHostSeedRange(first: number, last: number): Promise<HostSimResult[]> {
  const only = process.env['SEED'];
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: last - first + 1 }, (_, i) => first + i);
  const results: HostSimResult[] = [];
  for (const seed of seeds) {
    const r = await runHostSeed(seed);
    if (!r.ok) {
      const trace = r.trace.slice(-80).join('\n');
      expect.fail(`host seed ${seed} failed: ${r.error}\nreplay: npm run sim -- --seed ${seed}\nlast events:\n${trace}`);
    }
    results.push(r);
  }
  return results;
}

/** The runs must exercise what they claim to. */
export function expectCoverage(results: readonly HostSimResult[]): void {
  if (process.env['SEED'] !== undefined) return;
  const total = (k: Exclude<keyof HostSimResult['stats'], 'meta'>): number => results.reduce((n, r) => n + r.stats[k], 0);
  const meta = (k: keyof HostSimResult['stats']['meta']): number => results.reduce((n, r) => n + r.stats.meta[k], 0);
  expect(total('leaders')).toBeGreaterThan(results.length * 3);
  expect(total('crashes')).toBeGreaterThan(results.length * 2);
  expect(total('damagedDisks')).toBeGreaterThan(results.length / 4);
  expect(total('ioFailures')).toBeGreaterThan(results.length / 4);
  expect(total('bitFlips')).toBeGreaterThan(results.length / 10);
  expect(total('acked')).toBeGreaterThan(results.length * 50);
  expect(total('polls')).toBeGreaterThan(results.length * 30);
  expect(total('segmentsDropped')).toBeGreaterThan(results.length / 4);
  // About 1.5-2% of seeds install a snapshot since a third of them are Figure 8 storms (one-entry
  // appends, new leaders cut off): 15 and 19 in seeds 1001-2000 and 1-1000.
  expect(total('snapshotsInstalled')).toBeGreaterThan(results.length / 100);
  // Half the seeds change membership: about 2 changes, 1 replica created and 0.6 deleted per seed
  // over seeds 1-200.
  expect(total('membershipChanges')).toBeGreaterThan(results.length);
  expect(total('replicasAdded')).toBeGreaterThan(results.length / 2);
  expect(total('replicasDeleted')).toBeGreaterThan(results.length / 4);
  expect(meta('leaders')).toBeGreaterThan(results.length * 2);
  expect(meta('commitsAcked')).toBeGreaterThan(results.length * 10);
  expect(meta('fetches')).toBeGreaterThan(results.length * 5);
  expect(meta('topicsCreated')).toBeGreaterThan(results.length * 2);
  expect(meta('producerIds')).toBeGreaterThan(results.length * 2);
  expect(meta('compactions')).toBeGreaterThan(results.length);
  expect(meta('snapshotsInstalled')).toBeGreaterThan(results.length / 10);
  expect(meta('rejoins')).toBeGreaterThan(results.length / 5);
  expect(meta('storesRemoved')).toBeGreaterThan(results.length / 20);
  expect(meta('storeBatchesLost')).toBeGreaterThan(results.length * 2);
}

/** The host seeds that `npm test` runs (host-seeds-a and -b): each mutant must be caught within them. */
export const SEEDS_IN_TEST = 2000;

/**
 * Runs host seeds from 1 with `mutant` until one fails, and fails the test if none of the
 * SEEDS_IN_TEST does (host-mutants-a and -b, halves of HOST_MUTANTS, so that they run on two workers).
 */
export async function expectCaught(mutant: HostMutant): Promise<void> {
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
}
