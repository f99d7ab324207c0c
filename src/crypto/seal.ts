/**
 * Sealing records into BEP 44 values, and opening them (PROTOCOL.md §5).
 *
 * `sealed = nonce(24) || XChaCha20-Poly1305(sealKey, nonce).encrypt(record)`, no associated data. The
 * seal key is shared by everyone who can derive the minute's keys, so the seal hides records from
 * outsiders (with a secret) but authenticates nothing: the publisher's signature inside does.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { MAX_MINUTE, type MinuteKeys } from './keys.js';
import {
  encodeSignedRecord,
  maxRecordSize,
  parseRecord,
  rememberBody,
  type SignedRecord,
  verifyBody,
} from './record.js';
import { AEAD_TAG_BYTES, type CryptoSuite, KEY_BYTES, nobleSuite } from './suite.js';
import { TOPIC_HASH_BYTES } from './topic.js';
import { abytes, aint, aobject, equalBytes, isBytes } from './utils.js';

/** Length in bytes of the XChaCha20 nonce at the start of a sealed value. */
export const SEAL_NONCE_BYTES = 24;
/** Bytes a seal adds to a record: nonce and tag (40). */
export const SEAL_OVERHEAD = SEAL_NONCE_BYTES + AEAD_TAG_BYTES;
/**
 * Largest sealed value we write or accept. BEP 44 bounds the bencoded value at 1000 bytes, and
 * `996:` + 996 bytes is 1000; libtorrent rejects raw values of 997-999 bytes that bittorrent-dht lets
 * through, so 996 is the largest size every storing node keeps. src/dht/bep44.ts calls the same bound
 * `MAX_VALUE_BYTES`; src/crypto imports no other layer, so each keeps its copy and test/crypto/seal.test.ts
 * checks they agree.
 */
export const MAX_SEALED_RECORD_BYTES = 996;
/** Smallest value worth decrypting: the seal overhead and one byte (the version). */
export const MIN_SEALED_RECORD_BYTES = SEAL_OVERHEAD + 1;

/** Every reason `openRecord` can give, in the order it checks them. */
export const RECORD_REJECT_REASONS = [
  'malformed',
  'oversize',
  'truncated',
  'undecryptable',
  'unknown-version',
  'wrong-topic',
  'wrong-minute',
  'bad-signature',
] as const;

/** Why a sealed value was rejected. */
export type RecordRejectReason = (typeof RECORD_REJECT_REASONS)[number];

/** Result of {@link openRecord}. */
export type OpenResult = { ok: true; record: SignedRecord } | { ok: false; reason: RecordRejectReason };

/** Largest sealed v1 value: `SEAL_OVERHEAD + maxRecordSize()` (982 bytes, within the 996 budget). */
export function maxSealedRecordSize(): number {
  return SEAL_OVERHEAD + maxRecordSize();
}

/** Asserts the fields of `keys` that sealing and opening use. */
function akeys(keys: MinuteKeys): void {
  aobject(keys, 'keys');
  abytes(keys.topic, TOPIC_HASH_BYTES, 'keys.topic');
  aint(keys.minute, 0, MAX_MINUTE, 'keys.minute');
  abytes(keys.sealKey, KEY_BYTES, 'keys.sealKey');
}

/**
 * Seals a signed record for the DHT: `nonce || ciphertext || tag`. The nonce must come from a CSPRNG
 * (24 random bytes make collisions negligible). Does not check the signature.
 * @throws {TypeError} when an argument has the wrong type.
 * @throws {RangeError} when the record is invalid, `nonce` is not 24 bytes, or the record's topic or
 *   minute differs from `keys` (readers would reject it as wrong-topic or wrong-minute).
 */
export function sealRecord(rec: SignedRecord, keys: MinuteKeys, nonce: Uint8Array): Uint8Array {
  akeys(keys);
  abytes(nonce, SEAL_NONCE_BYTES, 'nonce');
  const plaintext = encodeSignedRecord(rec);
  if (!equalBytes(rec.topic, keys.topic)) {
    throw new RangeError('"record.topic" expected the topic of "keys", got another topic');
  }
  if (rec.minute !== keys.minute) {
    throw new RangeError(`"record.minute" expected ${keys.minute} (the minute of "keys"), got ${rec.minute}`);
  }
  const sealed = concatBytes(nonce, xchacha20poly1305(keys.sealKey, nonce).encrypt(plaintext));
  // Cannot happen while maxSealedRecordSize() <= MAX_SEALED_RECORD_BYTES (checked by a test).
  if (sealed.length > MAX_SEALED_RECORD_BYTES)
    throw new RangeError(`sealed record too large: ${sealed.length}`);
  return sealed;
}

/**
 * Opens a value read from the DHT with this minute's keys, checking in this order: not bytes →
 * `malformed`; longer than MAX_SEALED_RECORD_BYTES → `oversize`; shorter than MIN_SEALED_RECORD_BYTES →
 * `truncated`; AEAD failure → `undecryptable`; version ≠ 1 → `unknown-version`; bad structure →
 * `malformed`; topic ≠ keys.topic → `wrong-topic`; minute ≠ keys.minute → `wrong-minute`; invalid
 * publisher signature → `bad-signature`. Never throws for any `value`.
 * @param suite where the signature check's Ed25519 comes from (default `nobleSuite`). The seal itself
 *   (XChaCha20-Poly1305) is always @noble: OpenSSL has no XChaCha, and ~35 µs per record is small
 *   next to a noble verification (~3.7 ms).
 * @throws {TypeError} when `keys` is not a MinuteKeys (a local bug, not bad network bytes).
 * @throws {RangeError} when a field of `keys` has the wrong length or range.
 */
export function openRecord(value: unknown, keys: MinuteKeys, suite: CryptoSuite = nobleSuite): OpenResult {
  akeys(keys);
  if (!isBytes(value)) return { ok: false, reason: 'malformed' };
  if (value.length > MAX_SEALED_RECORD_BYTES) return { ok: false, reason: 'oversize' };
  if (value.length < MIN_SEALED_RECORD_BYTES) return { ok: false, reason: 'truncated' };
  let plaintext: Uint8Array;
  try {
    const nonce = value.subarray(0, SEAL_NONCE_BYTES);
    plaintext = xchacha20poly1305(keys.sealKey, nonce).decrypt(value.subarray(SEAL_NONCE_BYTES));
  } catch {
    return { ok: false, reason: 'undecryptable' };
  }
  const parsed = parseRecord(plaintext);
  if (!parsed.ok) return parsed;
  const { record, body } = parsed;
  if (!equalBytes(record.topic, keys.topic)) return { ok: false, reason: 'wrong-topic' };
  if (record.minute !== keys.minute) return { ok: false, reason: 'wrong-minute' };
  if (!verifyBody(body, record.signature, record.publisher, suite)) {
    return { ok: false, reason: 'bad-signature' };
  }
  rememberBody(record, body);
  return { ok: true, record };
}
