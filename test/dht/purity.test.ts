/**
 * Purity (ARCHITECTURE.md) for src/dht's pure modules: the BEP 44 codec, the BEP 5 walk state, the round-trip
 * estimator, the item store, the per-IP rate table and the put retry policy. They import only @noble,
 * src/crypto (its asserters included) and each other; the I/O files (`krpc.ts`, `walk.ts`, `put.ts`,
 * `serve.ts`, `dht.ts`, …) drive them.
 */
import { describePureLayer } from '../helpers/purity.js';

const PURE = ['bep44.ts', 'lookup.ts', 'put-retry.ts', 'rtt.ts', 'server-blocker.ts', 'store.ts'];

describePureLayer(
  'src/dht (pure modules)',
  new URL('../../src/dht/', import.meta.url),
  [
    /^@noble\/hashes\/(?:legacy|utils)\.js$/,
    /^\.\.\/crypto\/(?:lru|suite|utils)\.js$/,
    /^\.\/(?:bep44|lookup|put-retry|rtt|server-blocker|store)\.js$/,
  ],
  PURE,
  PURE,
);
