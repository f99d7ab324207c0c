/**
 * Purity (ARCHITECTURE.md) for src/tracker's pure module: the bootstrap state machine (bootstrap.ts). It
 * imports values only from @noble/hashes and the pure gossip core's types; the record store's and the
 * config's types are types only. The tracker (tracker.ts) drives it.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describePureLayer } from '../helpers/purity.js';

const PURE = ['bootstrap.ts'];
const dir = new URL('../../src/tracker/', import.meta.url);

describePureLayer(
  'src/tracker (pure modules)',
  dir,
  [
    /^@noble\/hashes\/utils\.js$/,
    /^\.\.\/proto\/types\.js$/,
    /^\.\.\/crypto\/index\.js$/,
    /^\.\/(?:config|record-store)\.js$/,
  ],
  PURE,
  PURE,
);

it('bootstrap.ts takes only types from the crypto index, the config and the record store (both do I/O)', () => {
  const src = readFileSync(new URL('bootstrap.ts', dir), 'utf8');
  let imports = 0;
  for (const m of src.matchAll(
    /^import\s+(type\s+)?[^;]*?from\s+'(\.\.\/crypto\/index|\.\/config|\.\/record-store)\.js'/gm,
  )) {
    expect(m[1], `import from ${m[2]}`).toBe('type ');
    imports += 1;
  }
  expect(imports).toBe(3);
});
