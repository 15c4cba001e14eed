import { describe, expect, it } from 'vitest';
import { runSeedRange } from './run-seeds.js';

// Seeds 1-1000 here and 1001-2000 in seeds-b.test.ts, so the two halves run on two workers.
describe('deterministic simulation, seeds 1-1000', () => {
  it('keeps every safety invariant after every event, and recovers after healing', () => {
    const results = runSeedRange(1, 1000);
    // The runs must exercise what they claim to: elections, crashes, partitions, snapshots, reads.
    const total = (k: 'leaders' | 'crashes' | 'partitions' | 'snapshotsInstalled' | 'reads' | 'acked' | 'damagedDisks' | 'promotions') => results.reduce((n, r) => n + r.stats[k], 0);
    if (process.env['SEED'] === undefined) {
      expect(total('leaders')).toBeGreaterThan(results.length * 3);
      expect(total('crashes')).toBeGreaterThan(results.length);
      expect(total('partitions')).toBeGreaterThan(results.length);
      expect(total('snapshotsInstalled')).toBeGreaterThan(10);
      expect(total('reads')).toBeGreaterThan(results.length * 10);
      expect(total('acked')).toBeGreaterThan(results.length * 50);
      // Disks that lost synced data, and the replicas that rejoined and were promoted (raft/rejoin.ts).
      expect(total('damagedDisks')).toBeGreaterThan(results.length / 2);
      expect(total('promotions')).toBeGreaterThan(results.length / 2);
    }
  });
});
