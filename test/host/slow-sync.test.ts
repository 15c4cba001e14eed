/** When the group host warns about a slow disk (group-host.ts SlowSyncWarnings). */
import { describe, expect, it } from 'vitest';
import { SLOW_SYNC_MS, SLOW_SYNC_WARN_EVERY_MS, SlowSyncWarnings } from '../../src/host/group-host.js';

describe('slow sync warnings', () => {
  it('say nothing about rounds under the limit', () => {
    const w = new SlowSyncWarnings();
    for (let t = 0; t < 100; t++) expect(w.observe(SLOW_SYNC_MS - 1, t * 1000)).toBeNull();
  });

  it('warn about the first slow round, count the next ones quietly, and tell the count with the next warning', () => {
    const w = new SlowSyncWarnings();
    expect(w.observe(SLOW_SYNC_MS + 500, 0)).toEqual({ ms: SLOW_SYNC_MS + 500, slowSinceLast: 0 });
    expect(w.observe(SLOW_SYNC_MS * 2, 1000)).toBeNull();
    expect(w.observe(SLOW_SYNC_MS * 3, 2000)).toBeNull();
    // A fast round in between changes nothing.
    expect(w.observe(1, 3000)).toBeNull();
    expect(w.observe(SLOW_SYNC_MS, SLOW_SYNC_WARN_EVERY_MS - 1)).toBeNull();
    expect(w.observe(SLOW_SYNC_MS, SLOW_SYNC_WARN_EVERY_MS)).toEqual({ ms: SLOW_SYNC_MS, slowSinceLast: 3 });
    expect(w.observe(SLOW_SYNC_MS, 2 * SLOW_SYNC_WARN_EVERY_MS)).toEqual({ ms: SLOW_SYNC_MS, slowSinceLast: 0 });
  });
});
