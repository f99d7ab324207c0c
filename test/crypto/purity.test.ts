/**
 * House rule 1 and 4 for src/crypto: pure functions only. No node: modules, no other layer, no clock,
 * no randomness of its own, no timers, no async. Checked on the source text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../src/crypto/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

/** Source without comments (good enough for our own files: no comment markers inside strings). */
const code = (f: string): string =>
  readFileSync(new URL(f, dir), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');

const ALLOWED_IMPORTS = [
  /^@noble\/hashes\/(?:sha2|hkdf|utils)\.js$/,
  /^@noble\/curves\/ed25519\.js$/,
  /^@noble\/ciphers\/chacha\.js$/,
  /^\.\/[a-z-]+\.js$/,
];

describe('src/crypto is pure', () => {
  it('has the expected files', () => {
    expect(files).toEqual(
      expect.arrayContaining(['address.ts', 'index.ts', 'keys.ts', 'record.ts', 'seal.ts', 'topic.ts']),
    );
  });

  it.each(files)('%s imports only @noble/* and its own modules', (f) => {
    const specifiers = [...code(f).matchAll(/(?:import|export)[^'"]*from\s+'([^']+)'/g)].map((m) => m[1]!);
    for (const s of specifiers)
      expect(
        ALLOWED_IMPORTS.some((re) => re.test(s)),
        `${f}: ${s}`,
      ).toBe(true);
    expect(code(f)).not.toMatch(/\bimport\s*\(|\brequire\s*\(/);
  });

  it.each(files)('%s uses no clock, randomness, timers, globals with I/O or async', (f) => {
    const src = code(f);
    for (const banned of [
      /Date\.now|new Date\b|performance\./,
      /Math\.random|getRandomValues|randomBytes/,
      /setTimeout|setInterval|setImmediate|queueMicrotask/,
      /\bprocess\b|\bglobalThis\b|\bconsole\./,
      /\basync\b|\bawait\b|Promise/,
    ]) {
      expect(src, `${f} matches ${banned}`).not.toMatch(banned);
    }
  });
});
