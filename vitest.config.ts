import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Cluster tests spawn child processes; give them room, but keep the suite well under 10 minutes.
    testTimeout: 120_000,
    // Two files at a time on a 2-core machine: most files wait on child processes and timers, so
    // the suite takes ~300 s instead of ~500 s one file at a time (vitest's default here).
    maxWorkers: 2,
    hookTimeout: 60_000,
  },
});
