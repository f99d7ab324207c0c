/**
 * The identity payload of the handshake (PROTOCOL.md §9.2): how a node proves that its ed25519 node id
 * owns the X25519 static key it uses in Noise. The idea is libp2p-noise's: the payload of the message
 * that carries a side's static key holds its identity key and a signature, by that identity key, over
 * the static key. The peer checks it against the static key Noise just authenticated.
 *
 * ```
 * offset size
 * 0      1    version = 1
 * 1      32   id: the ed25519 public key
 * 33     64   signature = ed25519.sign("gossip-topic-tracker/noise-static-key:" || static public key, id key)
 * 97     2    n = extension length u16be, 0..MAX_IDENTITY_EXTENSION_BYTES
 * 99     n    extension: opaque bytes for later (e.g. the node's advertised addresses)
 * ```
 * Nothing may follow the extension. The extension is not signed: it travels encrypted inside the
 * Noise message that also proves the static key (`es`/`se`), and so is authenticated by it.
 * Decoding never throws. Ed25519 comes from a {@link CryptoSuite} argument (default the @noble
 * reference `nobleSuite`; the transport passes OpenSSL's).
 */
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { type CryptoSuite, KEY_BYTES, nobleSuite, SIGNATURE_BYTES } from '../crypto/suite.js';
import { abytes } from '../crypto/utils.js';

/** The identity payload version this code writes and reads. */
export const IDENTITY_PAYLOAD_VERSION = 1;
/** Domain string that prefixes the static key in the identity signature. */
export const NOISE_STATIC_KEY_DOMAIN = 'gossip-topic-tracker/noise-static-key:';
/** Most extension bytes an identity payload carries. Same bound as the gossip peer data (PROTOCOL.md §8.1). */
export const MAX_IDENTITY_EXTENSION_BYTES = 1024;
/** Smallest identity payload: version, id, signature, zero extension length (99 bytes). */
export const MIN_IDENTITY_PAYLOAD_BYTES = 1 + KEY_BYTES + SIGNATURE_BYTES + 2;
/** Largest identity payload (1123 bytes). */
export const MAX_IDENTITY_PAYLOAD_BYTES = MIN_IDENTITY_PAYLOAD_BYTES + MAX_IDENTITY_EXTENSION_BYTES;

const DOMAIN = utf8ToBytes(NOISE_STATIC_KEY_DOMAIN);

/** A decoded identity payload. */
export interface IdentityPayload {
  /** The sender's node id: its ed25519 public key. */
  id: Uint8Array;
  /** Its signature over the domain string and its Noise static public key. */
  signature: Uint8Array;
  /** Opaque extension bytes (empty when absent). */
  extension: Uint8Array;
}

/** Why an identity payload was refused. */
export type IdentityRejectReason = 'malformed' | 'unknown-version' | 'bad-identity';

/** Result of {@link decodeIdentityPayload}. */
export type IdentityDecodeResult =
  | { ok: true; payload: IdentityPayload }
  | { ok: false; reason: 'malformed' | 'unknown-version' };

/** `domain || staticPublicKey`: the message the identity signature signs. */
export function identitySignedMessage(staticPublicKey: Uint8Array): Uint8Array {
  return concatBytes(DOMAIN, abytes(staticPublicKey, KEY_BYTES, 'staticPublicKey'));
}

/**
 * The identity payload of a node whose ed25519 secret key (32-byte seed) is `identitySecretKey` and
 * whose Noise static public key is `staticPublicKey`.
 * @throws {TypeError} when an argument is not a Uint8Array.
 * @throws {RangeError} when a key is not 32 bytes or the extension exceeds MAX_IDENTITY_EXTENSION_BYTES.
 */
export function createIdentityPayload(
  identitySecretKey: Uint8Array,
  staticPublicKey: Uint8Array,
  extension: Uint8Array = new Uint8Array(0),
  suite: CryptoSuite = nobleSuite,
): Uint8Array {
  abytes(identitySecretKey, KEY_BYTES, 'identitySecretKey');
  abytes(extension, undefined, 'extension');
  if (extension.length > MAX_IDENTITY_EXTENSION_BYTES) {
    throw new RangeError(
      `"extension" expected at most ${MAX_IDENTITY_EXTENSION_BYTES} bytes, got length=${extension.length}`,
    );
  }
  const id = suite.ed25519PublicKey(identitySecretKey);
  const signature = suite.ed25519Sign(identitySignedMessage(staticPublicKey), identitySecretKey);
  const len = Uint8Array.of(extension.length >>> 8, extension.length & 0xff);
  return concatBytes(Uint8Array.of(IDENTITY_PAYLOAD_VERSION), id, signature, len, extension);
}

/** Decodes an identity payload without checking its signature. Never throws. */
export function decodeIdentityPayload(bytes: Uint8Array): IdentityDecodeResult {
  if (!(bytes instanceof Uint8Array) || bytes.length < 1) return { ok: false, reason: 'malformed' };
  if (bytes[0] !== IDENTITY_PAYLOAD_VERSION) return { ok: false, reason: 'unknown-version' };
  if (bytes.length < MIN_IDENTITY_PAYLOAD_BYTES || bytes.length > MAX_IDENTITY_PAYLOAD_BYTES) {
    return { ok: false, reason: 'malformed' };
  }
  const n = (bytes[97]! << 8) | bytes[98]!;
  if (n > MAX_IDENTITY_EXTENSION_BYTES || bytes.length !== MIN_IDENTITY_PAYLOAD_BYTES + n) {
    return { ok: false, reason: 'malformed' };
  }
  return {
    ok: true,
    payload: {
      id: bytes.slice(1, 1 + KEY_BYTES),
      signature: bytes.slice(1 + KEY_BYTES, 1 + KEY_BYTES + SIGNATURE_BYTES),
      extension: bytes.slice(MIN_IDENTITY_PAYLOAD_BYTES),
    },
  };
}

/**
 * True when `payload.signature` is the signature of `payload.id` over the domain string and
 * `staticPublicKey` (strict RFC 8032: see `CryptoSuite.ed25519Verify`). Never throws (an invalid
 * point or a wrong length is `false`).
 */
export function verifyIdentityPayload(
  payload: IdentityPayload,
  staticPublicKey: Uint8Array,
  suite: CryptoSuite = nobleSuite,
): boolean {
  try {
    return suite.ed25519Verify(payload.signature, identitySignedMessage(staticPublicKey), payload.id);
  } catch {
    return false;
  }
}
