/**
 * The public-key and AEAD primitives of the transport, the DHT and the records, behind one interface so
 * that the I/O layers (src/net, src/dht, src/tracker) can use OpenSSL (`nativeSuite`,
 * src/native/crypto.ts) while the pure code, its tests and the vectors keep @noble as the reference
 * (`nobleSuite`, the default of every pure function that takes a suite: src/crypto/record.ts,
 * src/crypto/seal.ts, src/dht/bep44.ts, src/net's handshake, identity and Noise).
 *
 * Why: pure-JS @noble costs an order of magnitude more CPU than node:crypto per Ed25519 and X25519
 * operation and per Noise XX handshake (BENCHMARKS.md "Crypto suites", measured by
 * `npm run bench:crypto`), and every receiver verifies each broadcast's origin signature
 * (49 verifications per broadcast in a 50-node mesh: ARCHITECTURE.md "Crypto suite" has what that cost
 * on noble, against a 30 ms reach-all target). The DHT and the records pay the same prices: every
 * distinct BEP 44 value a lookup sees, every put a storing node receives and every record opened is an
 * Ed25519 verification, and every put and record published a signature.
 *
 * Both suites compute the same bytes: X25519 (RFC 7748), Ed25519 (RFC 8032, deterministic) and
 * ChaCha20-Poly1305 (RFC 8439); test/net/suite.test.ts checks them against each other and against the
 * RFC vectors. Nothing on the wire depends on the choice. The one known difference is in verifying
 * signatures that only their key's owner can craft: see {@link CryptoSuite.ed25519Verify}.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { abytes } from './utils.js';

/**
 * Length of X25519 keys and shared secrets (Noise DHLEN), Ed25519 seeds and public keys (our node and
 * publisher ids), ChaCha20-Poly1305 keys. The one definition outside src/proto, which imports no other
 * layer and keeps its own `ID_BYTES` in src/proto/wire.ts.
 */
export const KEY_BYTES = 32;
/** Length of a ChaCha20-Poly1305 nonce (RFC 8439 §2.8). */
export const AEAD_NONCE_BYTES = 12;
/** Length of a Poly1305 tag (ChaCha20-Poly1305 of Noise and frames, XChaCha20-Poly1305 of the seal). */
export const AEAD_TAG_BYTES = 16;
/**
 * Length of an Ed25519 signature (RFC 8032). The one definition outside src/proto, which imports no
 * other layer and keeps its own `SIGNATURE_BYTES` in src/proto/wire.ts.
 */
export const SIGNATURE_BYTES = 64;

/**
 * The primitives the transport needs. Every function is synchronous and pure over `Uint8Array`s and
 * returns fresh arrays (plain `Uint8Array`, never a `Buffer`). Local misuse (a wrong type or length of
 * a secret key, AEAD key or nonce) throws like noble: TypeError for a wrong type, RangeError for a
 * wrong length. Remote bytes (public keys, signatures, ciphertexts) never make anything throw.
 */
export interface CryptoSuite {
  /** A short name for logs and benchmarks: `noble` or `node`. */
  readonly name: string;
  /**
   * The X25519 public key of a 32-byte secret key (RFC 7748 §6.1; the secret is clamped).
   * @throws {TypeError|RangeError} when `secretKey` is not a 32-byte Uint8Array.
   */
  x25519PublicKey(secretKey: Uint8Array): Uint8Array;
  /**
   * The X25519 shared secret, or undefined when `publicKey` is refused: not 32 bytes, or a low-order
   * point (the all-zero output of RFC 7748 §6.1). The top bit of `publicKey` is ignored and a
   * non-canonical u (≥ 2^255-19) is reduced, as RFC 7748 §5 says.
   * @throws {TypeError|RangeError} when `secretKey` is not a 32-byte Uint8Array.
   */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined;
  /**
   * The Ed25519 public key of a 32-byte seed (RFC 8032 §5.1.5).
   * @throws {TypeError|RangeError} when `seed` is not a 32-byte Uint8Array.
   */
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  /**
   * The Ed25519 signature of `message` by `seed` (RFC 8032 §5.1.6): deterministic, so every suite
   * gives the same 64 bytes.
   * @throws {TypeError|RangeError} when `seed` is not a 32-byte Uint8Array or `message` not a Uint8Array.
   */
  ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array;
  /**
   * True when `signature` is `publicKey`'s signature over `message`. Strict RFC 8032 decoding: S < L,
   * canonical encodings of R and A (y < 2^255-19), and small-order public keys refused. Never throws:
   * a wrong type or length, or an undecodable key, is `false`.
   *
   * Known difference: noble checks the cofactored equation `[8][S]B = [8]R + [8][k]A` (RFC 8032
   * §5.1.7 allows it), OpenSSL the cofactorless `[S]B = R + [k]A`. They differ only when R or A has
   * a small-order component, which an honest signer never produces and only the key's owner can
   * craft; noble accepts such a signature, OpenSSL refuses it. Everything OpenSSL accepts, noble does.
   */
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /**
   * ChaCha20-Poly1305 (RFC 8439 §2.8): `ciphertext || tag`, 16 bytes longer than `plaintext`.
   * @throws {TypeError|RangeError} when `key` is not 32 bytes, `nonce` not 12, or `ad`/`plaintext`
   *   not Uint8Arrays.
   */
  aeadEncrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * ChaCha20-Poly1305 decryption of `ciphertext || tag`, or undefined when it is shorter than a tag
   * or the tag does not verify (tampered, wrong key, nonce or associated data).
   * @throws {TypeError|RangeError} when `key` is not 32 bytes, `nonce` not 12, or `ad`/`ciphertext`
   *   not Uint8Arrays.
   */
  aeadDecrypt(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array | undefined;
}

/**
 * Asserts the local inputs of an AEAD call, with the same messages in every suite. @internal
 * @throws {TypeError|RangeError} as {@link CryptoSuite.aeadEncrypt} says.
 */
export function aeadInputs(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  data: Uint8Array,
  dataTitle: 'plaintext' | 'ciphertext',
): void {
  abytes(key, KEY_BYTES, 'key');
  abytes(nonce, AEAD_NONCE_BYTES, 'nonce');
  abytes(ad, undefined, 'ad');
  abytes(data, undefined, dataTitle);
}

/**
 * The reference suite: @noble/curves and @noble/ciphers, the exact calls src/net made before the suite
 * existed. Ed25519 verification uses `{ zip215: false }` (strict RFC 8032 / FIPS 186-5 decoding and
 * small-order keys refused, as src/crypto/record.ts does) rather than noble's ZIP-215 default, so its
 * accepted set matches OpenSSL's up to the cofactor difference described on `ed25519Verify`.
 */
export const nobleSuite: CryptoSuite = Object.freeze({
  name: 'noble',
  x25519PublicKey(secretKey: Uint8Array): Uint8Array {
    return x25519.getPublicKey(abytes(secretKey, KEY_BYTES, 'secretKey'));
  },
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
    abytes(secretKey, KEY_BYTES, 'secretKey');
    try {
      // noble refuses the five low-order u values (mod p) before the ladder; with a clamped secret
      // those are exactly the inputs whose output is all zeros, which OpenSSL refuses after it.
      return x25519.getSharedSecret(secretKey, publicKey);
    } catch {
      return undefined;
    }
  },
  ed25519PublicKey(seed: Uint8Array): Uint8Array {
    return ed25519.getPublicKey(abytes(seed, KEY_BYTES, 'seed'));
  },
  ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
    abytes(message, undefined, 'message');
    return ed25519.sign(message, abytes(seed, KEY_BYTES, 'seed'));
  },
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
  aeadEncrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    aeadInputs(key, nonce, ad, plaintext, 'plaintext');
    return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
  },
  aeadDecrypt(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array | undefined {
    aeadInputs(key, nonce, ad, ciphertext, 'ciphertext');
    if (ciphertext.length < AEAD_TAG_BYTES) return undefined;
    try {
      return chacha20poly1305(key, nonce, ad).decrypt(ciphertext);
    } catch {
      return undefined;
    }
  },
});

const SUITE_FUNCTIONS = [
  'x25519PublicKey',
  'x25519',
  'ed25519PublicKey',
  'ed25519Sign',
  'ed25519Verify',
  'aeadEncrypt',
  'aeadDecrypt',
] as const;

/** True when `value` has every function of a {@link CryptoSuite} (for validating options). */
export function isCryptoSuite(value: unknown): value is CryptoSuite {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && SUITE_FUNCTIONS.every((f) => typeof v[f] === 'function');
}
