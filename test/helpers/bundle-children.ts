/**
 * Vitest global setup: compiles the programs the tests run as child processes (test/helpers/child.ts)
 * once per run, so that each child is a plain `node` process. Under `node --import tsx` a child spent
 * ~0.7 s CPU loading tsx and passing every module of src/ through its loader before it did anything
 * (`gtt testnet` up to its ready line: 0.9 s CPU with tsx, 0.25 s bundled), and some forty children run
 * per `npm test`.
 *
 * esbuild (a devDependency: the compiler tsx itself runs on, at the version tsx installs) bundles each entry with everything it
 * imports, src/ and node_modules alike, into one temporary folder that mirrors the repository's paths
 * (`src/cli/main.ts` → `DIR/src/cli/main.js`); child.ts runs the bundle when there is one and falls back
 * to tsx when there is not (a script of a config that has no such setup). The bundles are rebuilt from
 * the working tree at every run (and every rerun of watch mode) and removed after it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildOptions, build, stop } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { BUNDLES_ENV } from './child.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every program a test of this config runs as a child (child.ts: `Gtt`, `runChild`, the examples). */
function entries(): string[] {
  const dir = (d: string, keep: (f: string) => boolean) =>
    readdirSync(join(ROOT, d))
      .filter(keep)
      .map((f) => join(ROOT, d, f));
  return [
    join(ROOT, 'src/cli/main.ts'),
    ...dir('examples', (f) => f.endsWith('.ts')),
    ...dir('test/helpers', (f) => f.endsWith('-exit.ts')),
  ];
}

/** How every child program is bundled (here, and the README snippets of test/readme.test.ts). */
export const NODE_BUNDLE = {
  bundle: true,
  // Shared modules in shared chunks, and main.ts's lazy `import()` of each command stays lazy.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // The CommonJS packages (bittorrent-dht and its dependencies) call require() for node's modules.
  banner: {
    js: "import { createRequire as gttCreateRequire } from 'node:module'; const require = gttCreateRequire(import.meta.url);",
  },
} as const satisfies BuildOptions;

/** Compiles every entry into `out`. */
async function compile(out: string): Promise<void> {
  await build({
    ...NODE_BUNDLE,
    entryPoints: entries(),
    outbase: ROOT,
    outdir: out,
    plugins: [
      {
        // A module that reads a file next to itself (main.ts reads package.json for --version) must
        // see its own URL, not the bundle's.
        name: 'source-import-meta-url',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, (args) => ({
            contents: readFileSync(args.path, 'utf8').replaceAll(
              'import.meta.url',
              JSON.stringify(pathToFileURL(args.path).href),
            ),
            loader: 'ts',
          }));
        },
      },
    ],
  });
  stop(); // esbuild's compiler process, until the next compile
}

export default async function setup(project: TestProject): Promise<() => void> {
  const out = mkdtempSync(join(tmpdir(), 'gtt-test-children-'));
  await compile(out);
  // `vitest` in watch mode: a rerun after an edit runs the edited programs.
  project.onTestsRerun(() => compile(out));
  process.env[BUNDLES_ENV] = out;
  return () => rmSync(out, { recursive: true, force: true });
}
