import { describe, expect, it } from 'vitest';
import { runHostSeed } from './host-simulation.js';

/**
 * Host seeds past the 2,000 that `npm test` runs which once failed in a longer run
 * (`npm run sim -- --seeds N --start 2001`), each with what it found. Each is replayed on every
 * run, so the defect it found stays fixed even once other changes move what seeds 1-2000 do.
 */
const FOUND: readonly { readonly seed: number; readonly found: string }[] = [
  {
    seed: 3569,
    found:
      "a state store write the simulator failed while the metadata replica opened (reconcileMetaState importing the snapshot into a rebuilt store): the node must fail to start saying so (NodeStartError: check the disk), and start again; before, the raw EIO escaped the replica's open",
  },
  {
    seed: 6619,
    found: 'the same with a failed sync: the snapshot import into a rebuilt store failed its fdatasync while the metadata replica opened',
  },
  {
    seed: 9473,
    found: 'the same on a 4-node cluster, a failed fdatasync of the import',
  },
];

describe('host seeds found by longer runs', () => {
  for (const { seed, found } of FOUND) {
    it(`seed ${seed}: ${found.split(':')[0]}`, async () => {
      const r = await runHostSeed(seed);
      expect(r.ok, `host seed ${seed} failed: ${r.error}\nreplay: npm run sim -- --seed ${seed}\n${r.trace.slice(-60).join('\n')}`).toBe(true);
    });
  }
});
