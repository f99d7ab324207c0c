import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Integration tests run real UDP DHT nodes and sockets on 127.0.0.1; a loaded 2-core CI machine needs
// generous per-test budgets. Tests never sleep to let things settle: they wait for events.
//
// Files run in parallel in reused workers (isolate: false): a fresh process per file cost ~0.35 s CPU
// of start-up and imports each, a third of the suite's CPU; every file closes what it opens and
// restores what it spies on, so nothing carries over. Three workers, not one per core: most files
// spend their time waiting on sockets, timers and child processes, so a third keeps both cores busy.
// The 1000-node simulator run asserts its own wall time (test/sim/large.test.ts): it gets a group of
// its own, after the others, so that no other file of ours shares the cores while it is timed.
const WALL_TIMED = ['test/sim/large.test.ts'];

/**
 * The files that took longest when the children still ran under tsx (wall time, `npx vitest run
 * --reporter=verbose` on the 2-core machine: 8–20 s each), longest first. Since the children are
 * bundled (test/helpers/bundle-children.ts) test/tracker/node.test.ts (14 s) and lone.test.ts (12 s)
 * lead, but starting them first measured no faster (60.4 s vs 63.5 s), so the list stays. They start
 * first, so that the run does not end with one of them alone on one worker. Vitest's own order (longest first by its
 * cache of the last run) decides among the others, and for all of them when that cache is present;
 * without it (a fresh checkout, as in CI) the files would run in the order they were found.
 */
const SLOWEST_FIRST = [
  'test/examples/examples.test.ts',
  'test/cli/join.test.ts',
  'test/net/mesh.test.ts',
  'test/tracker/record-store.test.ts',
  'test/dht/liveness.test.ts',
  'test/tracker/join.test.ts',
  'test/crypto/properties.test.ts',
  'test/cli/pipe.test.ts',
];

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = SLOWEST_FIRST.indexOf(relative(this.ctx.config.root, f.moduleId));
      return i === -1 ? SLOWEST_FIRST.length : i;
    };
    const order = new Map(sorted.map((f, i) => [f, i]));
    return sorted.sort(
      (a, b) =>
        a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder ||
        rank(a) - rank(b) ||
        order.get(a)! - order.get(b)!,
    );
  }
}

export default defineConfig({
  test: {
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
    isolate: false,
    // Fail a run that leaves handles open instead of hanging CI.
    teardownTimeout: 10_000,
    sequence: { sequencer: SlowestFirst },
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          // The programs the tests run as child processes, compiled once (see the file).
          globalSetup: ['test/helpers/bundle-children.ts'],
          exclude: WALL_TIMED,
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'wall-timed',
          include: WALL_TIMED,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
