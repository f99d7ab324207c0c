/**
 * The pure layers of ARCHITECTURE.md, checked on source text: a pure layer imports only what it is
 * allowed to, and uses no clock, randomness, timers, I/O globals or async. Shared by the purity tests of each pure layer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const BANNED = [
  /Date\.now|new Date\b|performance\./,
  /Math\.random|getRandomValues|randomBytes/,
  /setTimeout|setInterval|setImmediate|queueMicrotask/,
  /\bprocess\b|\bglobalThis\b|\bconsole\./,
  // `\s` after the keyword: state names such as 'await-e' are fine.
  /\basync\s|\bawait\s|Promise/,
];

/** Source without comments (good enough for our own files: no comment markers inside strings). */
function code(dir: URL, file: string): string {
  return readFileSync(new URL(file, dir), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

/** Declares the purity tests of the layer in `dir` (a URL ending in '/'). */
export function describePureLayer(
  name: string,
  dir: URL,
  allowedImports: RegExp[],
  expectedFiles: string[],
  /** Check only these files (a layer whose other modules do I/O); default: every .ts file. */
  only?: string[],
): void {
  const files = only ?? readdirSync(dir).filter((f) => f.endsWith('.ts'));
  describe(`${name} is pure`, () => {
    it('has the expected files', () => {
      expect(files).toEqual(expect.arrayContaining(expectedFiles));
    });

    it.each(files)('%s imports only what the layer may use', (f) => {
      const src = code(dir, f);
      for (const m of src.matchAll(/(?:import|export)[^'"]*from\s+'([^']+)'/g)) {
        expect(
          allowedImports.some((re) => re.test(m[1]!)),
          `${f}: ${m[1]}`,
        ).toBe(true);
      }
      expect(src).not.toMatch(/\bimport\s*\(|\brequire\s*\(/);
    });

    it.each(files)('%s uses no clock, randomness, timers, globals with I/O or async', (f) => {
      const src = code(dir, f);
      for (const banned of BANNED) expect(src, `${f} matches ${banned}`).not.toMatch(banned);
    });
  });
}
