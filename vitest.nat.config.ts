import { defineConfig } from 'vitest/config';

// The NAT lab (test/nat): network namespaces with a NAT router between a home host and a small
// internet of DHT nodes (test/helpers/nat-lab.ts). Root only: files skip, with a one-line reason,
// elsewhere. One file at a time: each builds its own namespaces and runs its nodes in child processes.
export default defineConfig({
  test: {
    include: ['test/nat/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 90_000,
    pool: 'forks',
    fileParallelism: false,
    teardownTimeout: 20_000,
  },
});
