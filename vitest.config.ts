import { defineConfig } from 'vitest/config';

// Integration tests run real UDP DHT nodes and sockets on 127.0.0.1; a loaded 2-core CI machine needs
// generous per-test budgets. Tests never sleep to let things settle: they wait for events.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [
      'test/bench/**',
      'test/live/**',
      'test/adversarial/**',
      'test/interop/**',
      'test/nat/**',
      'node_modules/**',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Fail a run that leaves handles open instead of hanging CI.
    teardownTimeout: 10_000,
  },
});
