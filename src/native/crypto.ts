/**
 * `nativeSuite`: the {@link CryptoSuite} on node:crypto (OpenSSL), the default of the I/O layers
 * (`Connection`, `Transport`, `Gossip` in src/net; `Dht` in src/dht, for BEP 44 signatures; the
 * `RecordStore` in src/tracker, through its Dht, for record signatures). Same bytes as `nobleSuite`,
 * 3-30× less CPU (numbers in src/crypto/suite.ts); test/net/suite.test.ts checks the two against each
 * other and the RFC vectors.
 *
 * This is the one shared I/O module below net and dht (layers import one way: dht must not import net). It
 * imports only node:crypto and src/crypto.
 *
 * Key import is most of OpenSSL's cost, so keys are imported once:
 * - public Ed25519 keys (gossip origins, peer ids, BEP 44 slot keys, record publishers) in a bounded
 *   LRU keyed by their hex, refused keys included; verification with a cached key is ~3× faster than
 *   with a fresh import;
 * - secret keys (our identity seed, our X25519 static and ephemeral keys, a minute's slot seed) in a
 *   WeakMap keyed by the array itself, so an entry lives exactly as long as its owner's array: an
 *   ephemeral key is gone with its handshake instead of lingering in a global cache (forward secrecy).
 *   An entry whose array was modified is imported again.
 *
 * Keys go in as JWK (RFC 8037 OKP), not DER: on OpenSSL 3.0 a PKCS#8 import runs the generic decoder
 * chain and costs ~1200 µs (SPKI ~270 µs) against ~95 µs (public ~21 µs) for JWK, measured on
 * Node 20.20 / OpenSSL 3.0.19. A JWK secret key needs an `x` member, which Node ignores and recomputes
 * from `d`; we pass an empty one. A self-test on first use (RFC 8032 §7.1 TEST 1) checks that Node
 * still does that and switches to PKCS#8 DER otherwise.
 *
 * Where OpenSSL and noble differ, this file adds noble's checks so OpenSSL never accepts more: Ed25519
 * public keys that are non-canonical (y ≥ 2^255-19) or of small order are refused before OpenSSL
 * sees them (OpenSSL 3.0 accepts both). The remaining difference (cofactorless vs cofactored
 * equation) is described on `CryptoSuite.ed25519Verify`.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { Lru } from '../crypto/lru.js';
import {
  AEAD_TAG_BYTES,
  aeadInputs,
  type CryptoSuite,
  KEY_BYTES,
  nobleSuite,
  SIGNATURE_BYTES,
} from '../crypto/suite.js';
import { abytes, equalBytes, isBytes } from '../crypto/utils.js';

/** Ed25519 public keys whose KeyObject (or refusal) is kept (guess: a few meshes' worth of origins). */
export const NATIVE_PUBLIC_KEY_CACHE_SIZE = 1024;

type Curve = 'Ed25519' | 'X25519';

/** PKCS#8 DER of a 32-byte secret key: this prefix, then the key (RFC 8410 §7). The fallback import. */
const PKCS8_PREFIX: Record<Curve, Buffer> = {
  Ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
  X25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
};

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const b64url = (b: Uint8Array): string => buf(b).toString('base64url');

/** A plain Uint8Array of a Buffer's bytes: a view when it owns its memory, else a copy. */
function plain(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) {
    return new Uint8Array(b.buffer, 0, b.byteLength);
  }
  return new Uint8Array(b);
}

/** Whether JWK import of secret keys works as assumed; decided on first use. */
let jwkSecrets: boolean | undefined;

function importSecretJwk(curve: Curve, secretKey: Uint8Array): KeyObject {
  // `x` is required by Node's JWK validation but not used for a secret key: Node derives it from `d`.
  return createPrivateKey({ key: { kty: 'OKP', crv: curve, d: b64url(secretKey), x: '' }, format: 'jwk' });
}

function importSecretDer(curve: Curve, secretKey: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX[curve], secretKey]),
    format: 'der',
    type: 'pkcs8',
  });
}

/** The raw public key of a KeyObject. */
function rawPublic(key: KeyObject): Uint8Array {
  const x = key.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('node:crypto exported an OKP key without "x"');
  return plain(Buffer.from(x, 'base64url'));
}

/** RFC 8032 §7.1 TEST 1: secret key and public key. */
const TEST1_SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const TEST1_PUBLIC = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');

function importSecret(curve: Curve, secretKey: Uint8Array): KeyObject {
  if (jwkSecrets === undefined) {
    try {
      jwkSecrets = TEST1_PUBLIC.equals(rawPublic(importSecretJwk('Ed25519', TEST1_SEED)));
    } catch {
      jwkSecrets = false;
    }
  }
  return jwkSecrets ? importSecretJwk(curve, secretKey) : importSecretDer(curve, secretKey);
}

/** @throws when OpenSSL refuses the bytes (never for 32 bytes). */
function importPublic(curve: Curve, publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: curve, x: b64url(publicKey) }, format: 'jwk' });
}

interface SecretEntry {
  /** A copy of the key bytes, to notice an array modified after it was cached. */
  bytes: Uint8Array;
  key: KeyObject;
  publicKey: Uint8Array;
}

const secrets: Record<Curve, WeakMap<Uint8Array, SecretEntry>> = {
  Ed25519: new WeakMap(),
  X25519: new WeakMap(),
};

/** The imported secret key of `bytes` (asserted 32 bytes), cached for the array's lifetime. */
function secret(curve: Curve, bytes: Uint8Array, title: string): SecretEntry {
  abytes(bytes, KEY_BYTES, title);
  const map = secrets[curve];
  const hit = map.get(bytes);
  if (hit !== undefined && equalBytes(hit.bytes, bytes)) return hit;
  const key = importSecret(curve, bytes);
  const entry = { bytes: bytes.slice(), key, publicKey: rawPublic(key) };
  map.set(bytes, entry);
  return entry;
}

/** Ed25519 public keys by hex: the KeyObject, or null for a key refused before or by OpenSSL. */
const edPublics = new Lru<string, KeyObject | null>(NATIVE_PUBLIC_KEY_CACHE_SIZE);

/**
 * `y` (the encoding without its sign bit) of the eight points of order dividing 8: the identity (1),
 * order 2 (p-1), order 4 (0) and order 8 (two values, negatives of each other). A public key with one
 * of these `y` has small order whatever its sign bit (and noble refuses the sign bit on x = 0 too).
 */
const SMALL_ORDER_Y = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
]);

/**
 * True for an Ed25519 public key strict RFC 8032 decoding refuses before any curve arithmetic and
 * OpenSSL 3.0 does not: `y` ≥ p = 2^255-19 (non-canonical) or a small-order point.
 */
function refusedEd25519Key(publicKey: Uint8Array): boolean {
  const y = Uint8Array.from(publicKey);
  y[31]! &= 0x7f;
  // y ≥ 2^255-19: bytes 31..1 all at their maximum (0x7f, 0xff…) and byte 0 ≥ 0xed.
  let top = y[31] === 0x7f && y[0]! >= 0xed;
  for (let i = 1; top && i < 31; i++) top = y[i] === 0xff;
  return top || SMALL_ORDER_Y.has(buf(y).toString('hex'));
}

function edPublic(publicKey: Uint8Array): KeyObject | null {
  const id = buf(publicKey).toString('hex');
  const hit = edPublics.get(id);
  if (hit !== undefined) return hit;
  let key: KeyObject | null = null;
  if (!refusedEd25519Key(publicKey)) {
    try {
      key = importPublic('Ed25519', publicKey);
    } catch {
      key = null;
    }
  }
  edPublics.set(id, key);
  return key;
}

/** The suite on node:crypto (OpenSSL). Same results as `nobleSuite` (see src/crypto/suite.ts). */
export const nativeSuite: CryptoSuite = Object.freeze({
  name: 'node',
  x25519PublicKey(secretKey: Uint8Array): Uint8Array {
    return secret('X25519', secretKey, 'secretKey').publicKey.slice();
  },
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
    const own = secret('X25519', secretKey, 'secretKey');
    if (!isBytes(publicKey) || publicKey.length !== KEY_BYTES) return undefined;
    let out: Buffer;
    try {
      // OpenSSL (ossl_x25519) fails the derivation when the output is all zeros: a low-order point.
      out = diffieHellman({ privateKey: own.key, publicKey: importPublic('X25519', publicKey) });
    } catch {
      return undefined;
    }
    return out.some((b) => b !== 0) ? plain(out) : undefined;
  },
  ed25519PublicKey(seed: Uint8Array): Uint8Array {
    return secret('Ed25519', seed, 'seed').publicKey.slice();
  },
  ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
    abytes(message, undefined, 'message');
    return plain(sign(null, message, secret('Ed25519', seed, 'seed').key));
  },
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    if (!isBytes(signature) || signature.length !== SIGNATURE_BYTES) return false;
    if (!isBytes(message) || !isBytes(publicKey) || publicKey.length !== KEY_BYTES) return false;
    const key = edPublic(publicKey);
    if (key === null) return false;
    try {
      return verify(null, message, key, signature);
    } catch {
      return false;
    }
  },
  aeadEncrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    aeadInputs(key, nonce, ad, plaintext, 'plaintext');
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES });
    c.setAAD(ad, { plaintextLength: plaintext.length });
    const out = new Uint8Array(plaintext.length + AEAD_TAG_BYTES);
    const body = c.update(plaintext);
    out.set(body);
    out.set(c.final(), body.length);
    out.set(c.getAuthTag(), plaintext.length);
    return out;
  },
  aeadDecrypt(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array | undefined {
    aeadInputs(key, nonce, ad, ciphertext, 'ciphertext');
    const n = ciphertext.length - AEAD_TAG_BYTES;
    if (n < 0) return undefined;
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES });
    d.setAAD(ad, { plaintextLength: n });
    d.setAuthTag(ciphertext.subarray(n));
    const out = new Uint8Array(n);
    const body = d.update(ciphertext.subarray(0, n));
    out.set(body);
    try {
      out.set(d.final(), body.length);
    } catch {
      return undefined; // the tag did not verify
    }
    return out;
  },
});

let chosen: CryptoSuite | undefined;

/**
 * `nativeSuite` when node:crypto has what it needs (Ed25519, X25519 and ChaCha20-Poly1305, as on
 * Node ≥ 20; checked once against RFC 8032 §7.1 TEST 1), else `nobleSuite` (a runtime whose crypto
 * module lacks one of them).
 */
export function defaultSuite(): CryptoSuite {
  if (chosen === undefined) {
    try {
      const k = new Uint8Array(KEY_BYTES);
      const n = new Uint8Array(12);
      const ok =
        TEST1_PUBLIC.equals(nativeSuite.ed25519PublicKey(new Uint8Array(TEST1_SEED))) &&
        nativeSuite.x25519(k, nativeSuite.x25519PublicKey(TEST1_SEED)) !== undefined &&
        nativeSuite.aeadDecrypt(k, n, k, nativeSuite.aeadEncrypt(k, n, k, k))?.length === KEY_BYTES;
      chosen = ok ? nativeSuite : nobleSuite;
    } catch {
      chosen = nobleSuite;
    }
  }
  return chosen;
}
