/** Purity (ARCHITECTURE.md) for src/crypto: pure functions over @noble/* primitives only. */
import { describePureLayer } from '../helpers/purity.js';

describePureLayer(
  'src/crypto',
  new URL('../../src/crypto/', import.meta.url),
  [
    /^@noble\/hashes\/(?:sha2|hkdf|utils)\.js$/,
    /^@noble\/curves\/ed25519\.js$/,
    /^@noble\/ciphers\/chacha\.js$/,
    /^\.\/[a-z-]+\.js$/,
  ],
  ['address.ts', 'address-policy.ts', 'index.ts', 'keys.ts', 'record.ts', 'seal.ts', 'suite.ts', 'topic.ts'],
);
