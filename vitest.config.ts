import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Cluster tests spawn child processes; give them room, but keep the suite well under 10 minutes.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
