import { defineConfig } from 'vitest/config';

// Integration tests run real UDP DHT nodes and sockets on 127.0.0.1; a loaded 2-core CI machine needs
// generous per-test budgets. Tests never sleep to let things settle: they wait for events.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The 50-node WebSocket mesh (test/net/mesh.test.ts) runs with `npm run test:mesh` only, for now:
    // it passes on an idle 2-core machine (~55 s) but not yet with both cores busy, where starved
    // event loops miss keepalives and the mesh churns. CI must not be flaky, so it stays out of
    // `npm test` until the transport copes with that (issue 4).
    exclude: [
      'test/bench/**',
      'test/live/**',
      'node_modules/**',
      ...(process.env.GTT_MESH === '1' ? [] : ['test/net/mesh.test.ts']),
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Fail a run that leaves handles open instead of hanging CI.
    teardownTimeout: 10_000,
  },
});
