/**
 * Purity (ARCHITECTURE.md) for src/net's pure modules (handshake, identity, Noise, frames): @noble/*,
 * src/crypto (the `CryptoSuite` interface included), src/proto and their own files; nothing with I/O.
 * The WebSocket actor does the I/O, and OpenSSL (`src/native/crypto.ts`) reaches only the I/O files.
 */
import { describePureLayer } from '../helpers/purity.js';

const PURE = ['frame.ts', 'handshake.ts', 'identity.ts', 'noise.ts'];

describePureLayer(
  'src/net (handshake and frames)',
  new URL('../../src/net/', import.meta.url),
  [
    /^@noble\/hashes\/(?:sha2|hmac|utils)\.js$/,
    /^@noble\/curves\/ed25519\.js$/,
    /^@noble\/ciphers\/chacha\.js$/,
    /^\.\.\/crypto\/(?:suite|utils)\.js$/,
    /^\.\.\/proto\/config\.js$/,
    /^\.\.\/errors\.js$/,
    /^\.\/[a-z-]+\.js$/,
  ],
  PURE,
  PURE,
);
