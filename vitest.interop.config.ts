import { defineConfig } from 'vitest/config';

// The interop lab (test/interop): our Dht against real libtorrent DHT nodes (python3-libtorrent, one
// child process per file, test/helpers/libtorrent.ts) on loopback. One file at a time: each file runs
// up to 30 libtorrent sessions, and two files sharing a 2-core machine would slow each other's
// replies past the stall delays they measure. Files skip, with a one-line reason, where libtorrent is
// unavailable.
export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    teardownTimeout: 20_000,
  },
});
