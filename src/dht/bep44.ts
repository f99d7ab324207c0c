/**
 * BEP 44 mutable items, as pure functions over `Uint8Array` (no I/O, no clock, no randomness).
 *
 * A mutable item lives at `target = SHA-1(k || salt)` (BEP 44, "Mutable items"), where `k` is an
 * ed25519 public key and `salt` an optional 1–64 byte string. The author signs the bencoded dictionary
 * `{salt, seq, v}` with its outer `d`/`e` stripped:
 *
 *     4:salt<len>:<salt>3:seqi<seq>e1:v<len>:<value>     (the salt part is absent without a salt)
 *
 * Here `v` is always a byte string, so its bencoding is `<len>:<bytes>`; BEP 44 caps the bencoded `v`
 * at 1000 bytes, which leaves 996 raw bytes (`996:` + 996 bytes). libtorrent rejects 997–999 raw bytes,
 * so 996 is the interoperable limit.
 *
 * An empty salt is normalised to "no salt": bittorrent-dht signs an empty salt as `4:salt0:` but leaves
 * it out of the target hash, and libtorrent refuses such puts, so an empty salt would make an item
 * that only some nodes accept. `seq` must be a safe integer ≥ 0: bencode integers above 2^53 are not
 * representable as JS numbers and bencode decoders turn them into lossy floats.
 *
 * Ed25519 comes from a {@link CryptoSuite} argument (default the @noble reference `nobleSuite`; `Dht`
 * passes its own, OpenSSL by default). Verification is strict RFC 8032 in every suite (canonical
 * encodings, S < L, small-order keys refused; see `CryptoSuite.ed25519Verify`), stricter than noble's
 * ZIP-215 default that this file used before: the items it refuses are ones only their key's owner can
 * craft, never an honest signer's.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { type CryptoSuite, KEY_BYTES, nobleSuite, SIGNATURE_BYTES } from '../crypto/suite.js';
import { abytes, aint, equalBytes } from '../crypto/utils.js';

/**
 * Largest raw value: BEP 44 caps the bencoded `v` at 1000 bytes, and `996:` takes 4 of them. The same
 * bound as `MAX_SEALED_RECORD_BYTES` of src/crypto/seal.ts, which may not import this layer.
 */
export const MAX_VALUE_BYTES = 996;
/** Largest salt (BEP 44). */
export const MAX_SALT_BYTES = 64;
/** SHA-1 target length (BEP 5 node ids and BEP 44 targets). */
export const TARGET_BYTES = 20;

/** A signed BEP 44 mutable item. `salt` is absent for unsalted items (never empty). */
export interface MutableItem {
  readonly publicKey: Uint8Array;
  readonly salt?: Uint8Array;
  readonly seq: number;
  readonly value: Uint8Array;
  readonly signature: Uint8Array;
}

/** Why a value returned by a node was not accepted (counted, never thrown). */
export type RejectReason = 'bad-signature' | 'wrong-key' | 'unsafe-seq' | 'oversize' | 'malformed';

const encoder = new TextEncoder();

/**
 * Asserts `seq` is a BEP 44 sequence number we can represent exactly: a safe integer ≥ 0.
 * @throws {TypeError} when `seq` is not a number.
 * @throws {RangeError} when it is not an integer in [0, 2^53 - 1].
 */
export function assertSeq(seq: unknown): asserts seq is number {
  // A wrong type gets aint's message; a number out of range keeps the message that names the bound.
  if (typeof seq === 'number' && (!Number.isSafeInteger(seq) || seq < 0)) {
    throw new RangeError(`"seq" expected a safe integer in [0, ${Number.MAX_SAFE_INTEGER}], got ${seq}`);
  }
  aint(seq, 0, Number.MAX_SAFE_INTEGER, 'seq');
}

/**
 * Validates a salt and normalises the empty salt to `undefined` ("no salt", see the module comment).
 * @throws {TypeError} when `salt` is neither undefined nor a Uint8Array.
 * @throws {RangeError} when it is longer than 64 bytes.
 */
export function normaliseSalt(salt: Uint8Array | undefined): Uint8Array | undefined {
  if (salt === undefined) return undefined;
  abytes(salt, undefined, 'salt');
  if (salt.length > MAX_SALT_BYTES) {
    throw new RangeError(`"salt" expected at most ${MAX_SALT_BYTES} bytes, got length=${salt.length}`);
  }
  return salt.length === 0 ? undefined : salt;
}

/**
 * Asserts `value` fits in a BEP 44 item.
 * @throws {TypeError} when `value` is not a Uint8Array.
 * @throws {RangeError} when it is longer than {@link MAX_VALUE_BYTES}.
 */
export function assertValue(value: unknown): asserts value is Uint8Array {
  const bytes = abytes(value, undefined, 'value');
  if (bytes.length > MAX_VALUE_BYTES) {
    throw new RangeError(`"value" expected at most ${MAX_VALUE_BYTES} bytes, got length=${bytes.length}`);
  }
}

/**
 * The bytes a BEP 44 mutable item's signature covers: `4:salt<len>:<salt>3:seqi<seq>e1:v<len>:<value>`,
 * without the salt part when there is no (or an empty) salt.
 * @throws {TypeError} on arguments of the wrong type.
 * @throws {RangeError} on an unsafe `seq`, a salt over 64 bytes or a value over 996 bytes.
 */
export function signable(item: { salt?: Uint8Array; seq: number; value: Uint8Array }): Uint8Array {
  const salt = normaliseSalt(item.salt);
  assertSeq(item.seq);
  assertValue(item.value);
  const parts: Uint8Array[] = [];
  if (salt) parts.push(encoder.encode(`4:salt${salt.length}:`), salt);
  parts.push(encoder.encode(`3:seqi${item.seq}e1:v${item.value.length}:`), item.value);
  return concatBytes(...parts);
}

/**
 * The DHT target of a mutable item: SHA-1(publicKey || salt) (BEP 44). An empty salt is no salt.
 * @throws {TypeError} on arguments of the wrong type.
 * @throws {RangeError} when `publicKey` is not 32 bytes or `salt` is over 64 bytes.
 */
export function targetOf(publicKey: Uint8Array, salt?: Uint8Array): Uint8Array {
  abytes(publicKey, KEY_BYTES, 'publicKey');
  const s = normaliseSalt(salt);
  return sha1(s ? concatBytes(publicKey, s) : publicKey);
}

/**
 * Signs a mutable item with a 32-byte ed25519 seed (RFC 8032 secret key).
 * @param suite where Ed25519 comes from (default `nobleSuite`); every suite gives the same signature.
 * @returns the 64-byte signature over {@link signable} (the public key is `suite.ed25519PublicKey(seed)`).
 * @throws {TypeError} on arguments of the wrong type.
 * @throws {RangeError} on a seed that is not 32 bytes, an unsafe `seq`, a salt over 64 bytes or a value
 *   over 996 bytes.
 */
export function signMutable(
  seed: Uint8Array,
  item: { salt?: Uint8Array; seq: number; value: Uint8Array },
  suite: CryptoSuite = nobleSuite,
): Uint8Array {
  abytes(seed, KEY_BYTES, 'seed');
  return suite.ed25519Sign(signable(item), seed);
}

/**
 * Checks a mutable item's ed25519 signature over {@link signable}, strictly (see the module comment).
 * Never throws: malformed input (wrong lengths or types, unsafe seq, oversize value or salt) is simply
 * not valid.
 * @param suite where Ed25519 comes from (default `nobleSuite`).
 */
export function verifyMutable(item: MutableItem, suite: CryptoSuite = nobleSuite): boolean {
  try {
    abytes(item.publicKey, KEY_BYTES, 'publicKey');
    abytes(item.signature, SIGNATURE_BYTES, 'signature');
    return suite.ed25519Verify(item.signature, signable(item), item.publicKey);
  } catch {
    return false;
  }
}

/** The BEP 44 fields of a `get` reply, as a KRPC decoder hands them over (not yet trusted). */
export interface ReplyItemFields {
  readonly v?: unknown;
  readonly k?: unknown;
  readonly sig?: unknown;
  readonly seq?: unknown;
}

/** What a `get` reply holds for the slot we asked about; `candidate` still needs {@link verifyMutable}. */
export type ReplyItem =
  | { readonly kind: 'none' }
  | { readonly kind: 'candidate'; readonly item: MutableItem }
  | { readonly kind: 'invalid'; readonly reason: RejectReason };

/**
 * Reads the item in a `get` reply for the slot `{publicKey, salt}` (the reply carries no salt: BEP 44
 * leaves it to the reader). Checks shape, key, seq and size; the signature is left to the caller so it
 * can verify each distinct item once. Never throws.
 */
export function readReplyItem(
  fields: ReplyItemFields,
  slot: { publicKey: Uint8Array; salt?: Uint8Array },
): ReplyItem {
  const { v, k, sig, seq } = fields;
  if (v === undefined) return { kind: 'none' };
  if (!(v instanceof Uint8Array) || !(k instanceof Uint8Array) || !(sig instanceof Uint8Array)) {
    return { kind: 'invalid', reason: 'malformed' };
  }
  if (k.length !== KEY_BYTES || sig.length !== SIGNATURE_BYTES || typeof seq !== 'number') {
    return { kind: 'invalid', reason: 'malformed' };
  }
  if (!equalBytes(k, slot.publicKey)) return { kind: 'invalid', reason: 'wrong-key' };
  if (!Number.isSafeInteger(seq) || seq < 0) return { kind: 'invalid', reason: 'unsafe-seq' };
  if (v.length > MAX_VALUE_BYTES) return { kind: 'invalid', reason: 'oversize' };
  const item = { publicKey: k, seq, value: v, signature: sig };
  return { kind: 'candidate', item: slot.salt ? { ...item, salt: slot.salt } : item };
}
