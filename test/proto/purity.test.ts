/** House rules 1 and 4 for src/proto: no node:, no other layer but errors.ts, no clock, randomness, timers or async. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../src/proto/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
const code = (f: string): string =>
  readFileSync(new URL(f, dir), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
const ALLOWED = [/^@noble\/hashes\/(?:sha2|utils)\.js$/, /^zod$/, /^\.\.\/errors\.js$/, /^\.\/[a-z-]+\.js$/];

describe('src/proto is pure', () => {
  it.each(files)('%s imports only @noble/*, zod, errors.ts and its own modules', (f) => {
    for (const m of code(f).matchAll(/(?:import|export)[^'"]*from\s+'([^']+)'/g)) {
      expect(
        ALLOWED.some((re) => re.test(m[1]!)),
        `${f}: ${m[1]}`,
      ).toBe(true);
    }
  });
  it.each(files)('%s uses no clock, randomness, timers or async', (f) => {
    expect(code(f)).not.toMatch(
      /Date\.now|Math\.random|setTimeout|setInterval|setImmediate|\bawait\b|\basync\b|process\./,
    );
  });
});
