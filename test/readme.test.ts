/**
 * Every TypeScript snippet of README.md compiles against the package's entry points, as a user's file
 * would: each is a module of its own, its `gossip-topic-tracker[/subpath]` imports resolved to the
 * entry files under src/ (the package.json "exports" map, pointed at the sources), checked with the
 * repository's compiler options. The placeholders a snippet leaves to the reader (`myTransport`, …)
 * are declared below. What the snippets do at run time is what the examples run
 * (test/examples/examples.test.ts): they would reach the public DHT as written.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

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
