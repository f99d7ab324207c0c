/**
 * The layering of ARCHITECTURE.md with src/native in it: imports go one way, cli → tracker → net / dht
 * → native → proto / crypto. src/native (OpenSSL) is the one I/O module that both net and dht use, so
 * dht never needs net; the pure layers never reach OpenSSL, and src/proto reaches no other layer at all
 * (its own copies of the two byte lengths it shares with src/crypto are checked in
 * test/proto/wire.test.ts), as test/proto/purity.test.ts also checks. Checked on source text, like
 * test/helpers/purity.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../../src/', import.meta.url);

/** The other src/ directories (and src/errors.ts) each layer may import from. */
const ALLOWED: Record<string, string[]> = {
  crypto: [],
  proto: ['errors'],
  native: ['crypto'],
  dht: ['errors', 'crypto', 'native'],
  net: ['errors', 'crypto', 'proto', 'native'],
  tracker: ['errors', 'crypto', 'proto', 'native', 'dht', 'net'],
};

/** The first path segment after `../` of every import and re-export of `file`. */
function layersImported(dir: string, file: string): string[] {
  const src = readFileSync(new URL(`${dir}/${file}`, SRC), 'utf8');
  return [...src.matchAll(/(?:import|export)[^'"]*from\s+'\.\.\/([a-z-]+)(?:\/|\.js')/g)].map((m) => m[1]!);
}

describe.each(Object.keys(ALLOWED))('src/%s', (dir) => {
  const files = readdirSync(new URL(`${dir}/`, SRC)).filter((f) => f.endsWith('.ts'));

  it.each(files)('%s imports only the layers below it', (file) => {
    for (const layer of layersImported(dir, file)) {
      expect(ALLOWED[dir], `${dir}/${file} imports ../${layer}`).toContain(layer);
    }
  });
});

describe('src/native', () => {
  it('holds the OpenSSL suite, and its only package import is node:crypto', () => {
    expect(readdirSync(new URL('native/', SRC))).toEqual(['crypto.ts']);
    const src = readFileSync(new URL('native/crypto.ts', SRC), 'utf8');
    const packages = [...src.matchAll(/from\s+'([^'.][^']*)'/g)].map((m) => m[1]);
    expect(packages).toEqual(['node:crypto']);
  });
});
