import { defineConfig } from 'vitest/config';

// The adversarial suite (test/adversarial): a victim, honest peers and attackers, each in its own
// process, over real sockets. One file at a time: two attacks sharing a 2-core machine would measure
// each other. Budgets are generous because a victim under attack answers late by design.
export default defineConfig({
  test: {
    include: ['test/adversarial/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    teardownTimeout: 20_000,
  },
});
