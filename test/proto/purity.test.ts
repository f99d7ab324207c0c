/** src/proto is pure: @noble/hashes, zod, errors.ts and its own modules; no clock, randomness or I/O. */
import { describePureLayer } from '../helpers/purity.js';

describePureLayer(
  'src/proto',
  new URL('../../src/proto/', import.meta.url),
  [/^@noble\/hashes\/(?:sha2|utils)\.js$/, /^zod$/, /^\.\.\/errors\.js$/, /^\.\/[a-z-]+\.js$/],
  ['node.ts', 'hyparview.ts', 'plumtree.ts', 'wire.ts', 'config.ts', 'rng.ts', 'budget.ts', 'heap.ts'],
);
