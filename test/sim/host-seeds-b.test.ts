import { describe, it } from 'vitest';
import { expectCoverage, runHostSeedRange } from './run-host-seeds.js';

// Host seeds 1-1000 in host-seeds-a.test.ts and 1001-2000 in host-seeds-b.test.ts, so the halves run on two workers.
describe('host simulation (the real GroupHost, RaftGroup, Partition, MetaStateMachine and SegmentLog on a simulated disk and LevelDB), seeds 1001-2000', () => {
  it('keeps the invariants after every event, and the checker finds every history valid', async () => {
    expectCoverage(await runHostSeedRange(1001, 2000));
  }, 600_000);
});
