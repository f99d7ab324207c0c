/**
 * Every TypeScript snippet of README.md compiles against the package's entry points and runs, as a
 * user's file would. Type-checked: each is a module of its own, its `gossip-topic-tracker[/subpath]`
 * imports resolved to the entry files under src/ (the package.json "exports" map, pointed at the
 * sources), checked with the repository's compiler options; the placeholders a snippet leaves to the
 * reader (`myTransport`, …) are declared below. Run: in one child process, one after the other, with
 * the package's imports bound to test/helpers/readme-shim/ (the real exports, on a loopback testnet
 * instead of the public DHT, with a partner peer in every topic a snippet joins), each to its end: its
 * joins joined, its discovery loop ended by its first candidate, its closes closed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build, stop } from 'esbuild';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { createTestnet } from '../src/dht/index.js';
import { NODE_BUNDLE } from './helpers/bundle-children.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What snippets use without defining: the reader's own parts. */
const PRELUDE = `
declare const mySavedSeed: Uint8Array;
declare function myConnections(): { id: string; addresses?: { host: string; port: number }[] }[];
declare function myRecentIds(): Uint8Array[];
declare const myTransport: { connect(id: string, addresses: readonly { host: string; port: number }[]): void };
`;

/** The ```ts blocks of README.md. */
function snippets(): string[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

it('README.md has TypeScript snippets, and each imports the package by its public name', () => {
  const all = snippets();
  expect(all.length).toBeGreaterThanOrEqual(4);
  for (const s of all) {
    for (const m of s.matchAll(/from '([^']+)'/g)) {
      expect(m[1]).toMatch(/^(node:[a-z/]+|gossip-topic-tracker(\/(records|dht|gossip|testing))?)$/);
    }
  }
});

it('every TypeScript snippet of README.md type-checks against the entry points', () => {
  const config = ts.readConfigFile(`${ROOT}tsconfig.json`, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    baseUrl: ROOT,
    paths: { 'gossip-topic-tracker': ['src/index.ts'], 'gossip-topic-tracker/*': ['src/*.ts'] },
  };
  const virtual = new Map<string, string>([[`${ROOT}readme-snippets/prelude.d.ts`, PRELUDE]]);
  snippets().forEach((s, i) => {
    virtual.set(`${ROOT}readme-snippets/snippet-${i}.ts`, s);
  });
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f);
  host.readFile = (f) => virtual.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, language, ...rest) => {
    const text = virtual.get(f);
    return text === undefined
      ? getSourceFile.call(host, f, language, ...rest)
      : ts.createSourceFile(f, text, language, true);
  };
  // The repository's own declarations of untyped dependencies (types/), as tsconfig.json includes them.
  const declarations = parsed.fileNames.filter((f) => f.startsWith(`${ROOT}types/`));
  const program = ts.createProgram([...declarations, ...virtual.keys()], options, host);
  const problems = ts.getPreEmitDiagnostics(program).map((d) => {
    const where =
      d.file === undefined
        ? ''
        : `${d.file.fileName.slice(ROOT.length)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: `;
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  expect(problems).toEqual([]);
}, 120_000);

it('every TypeScript snippet of README.md runs to its end on a loopback testnet', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gtt-readme-'));
  const shim = `${ROOT}test/helpers/readme-shim/`;
  const testnet = await createTestnet({ nodes: 12 });
  try {
    const all = snippets();
    all.forEach((s, i) => {
      // The reader's placeholders first (imports may come in any order in a module).
      writeFileSync(
        join(dir, `snippet-${i}.ts`),
        `import { myConnections, myRecentIds, mySavedSeed, myTransport } from '${shim}prelude.ts';\n` +
          'void [myConnections, myRecentIds, mySavedSeed, myTransport];\n' +
          s,
      );
    });
    writeFileSync(
      join(dir, 'run.ts'),
      `import { closePartners } from '${shim}index.ts';\n` +
        all
          .map((_, i) => `await import('./snippet-${i}.ts');\nconsole.log('snippet ${i} done');\n`)
          .join('') +
        'await closePartners();\n',
    );
    await build({
      ...NODE_BUNDLE,
      entryPoints: [join(dir, 'run.ts')],
      outdir: join(dir, 'out'),
      plugins: [
        {
          name: 'readme-shim',
          setup(b) {
            b.onResolve({ filter: /^gossip-topic-tracker(\/[a-z]+)?$/ }, (args) => ({
              path: `${shim}${args.path.split('/')[1] ?? 'index'}.ts`,
            }));
          },
        },
      ],
    });
    stop();
    const run = await promisify(execFile)(process.execPath, [join(dir, 'out', 'run.js')], {
      env: { ...process.env, GTT_README_BOOTSTRAP: testnet.bootstrap.join(',') },
      timeout: 90_000,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`${e.message}\nstdout:\n${e.stdout}\nstderr:\n${e.stderr}`);
    });
    expect(run.stdout.split('\n').filter((l) => l.startsWith('snippet '))).toEqual(
      all.map((_, i) => `snippet ${i} done`),
    );
    expect(run.stderr).toBe('');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await testnet.close();
  }
}, 120_000);
