/**
 * Per-minute key derivation (PROTOCOL.md §3).
 *
 * Every unix minute of every topic has its own root key, from which the seal key (XChaCha20-Poly1305),
 * the BEP 44 slot signing key and the four slot salts are expanded. With a topic secret, the root
 * depends on the secret, so all of them need the secret. Without one, anyone who knows the topic name
 * can derive them all: read the records, and also pre-fill the slots with junk (a documented risk).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { expand, hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { type CryptoSuite, KEY_BYTES } from './suite.js';
import { TOPIC_HASH_BYTES, TopicId } from './topic.js';
import { abytes, aint, aobject, copy, u64be } from './utils.js';

/** Number of BEP 44 slots (salts) per topic per minute. Source: PROTOCOL.md §3. */
export const SLOTS_PER_MINUTE = 4;
/** Length in bytes of a slot salt. BEP 44 allows up to 64. */
export const SLOT_SALT_BYTES = 16;
/** Largest minute number: minutes travel as u32be in records. */
export const MAX_MINUTE = 0xffff_ffff;

const MS_PER_MINUTE = 60_000;
const ROOT_SALT = utf8ToBytes('gossip-topic-tracker/v1');
const INFO_ROTATE = utf8ToBytes('gtt/v1/rotate');
const INFO_MINUTE = utf8ToBytes('gtt/v1/minute');
const INFO_SEAL = utf8ToBytes('gtt/v1/seal');
const INFO_SLOT_KEY = utf8ToBytes('gtt/v1/slot-key');
const INFO_SLOT_SALT = utf8ToBytes('gtt/v1/slot-salt');
const EMPTY = new Uint8Array(0);

/**
 * The unix minute containing `unixMs`: `floor(unixMs / 60000)`.
 * @throws {TypeError} when `unixMs` is not a number.
 * @throws {RangeError} when `unixMs` is not finite or is negative.
 */
export function unixMinute(unixMs: number): number {
  if (typeof unixMs !== 'number') throw new TypeError(`"unixMs" expected number, got type=${typeof unixMs}`);
  if (!Number.isFinite(unixMs) || unixMs < 0) {
    throw new RangeError(`"unixMs" expected finite number >= 0, got ${unixMs}`);
  }
  return Math.floor(unixMs / MS_PER_MINUTE);
}

/**
 * A hook that turns the initial secret hash into the secret of one minute, so that applications can
 * rotate secrets over time. It must be pure and return 32 bytes; every member of a topic must use the
 * same hook.
 */
export type SecretRotation = (
  topicHash: Uint8Array,
  minute: number,
  initialSecretHash: Uint8Array,
) => Uint8Array;

/**
 * The default rotation: `HKDF-SHA256(ikm = initialSecretHash, salt = topicHash,
 * info = "gtt/v1/rotate" || u64be(minute), L = 32)`.
 * @throws {TypeError} when an argument has the wrong type.
 * @throws {RangeError} when a hash is not 32 bytes or `minute` is not an integer in [0, 2^32-1].
 */
export const defaultSecretRotation: SecretRotation = (topicHash, minute, initialSecretHash) => {
  abytes(topicHash, TOPIC_HASH_BYTES, 'topicHash');
  aint(minute, 0, MAX_MINUTE, 'minute');
  abytes(initialSecretHash, TOPIC_HASH_BYTES, 'initialSecretHash');
  return hkdf(sha256, initialSecretHash, topicHash, concatBytes(INFO_ROTATE, u64be(minute)), 32);
};

/** Everything derived for one topic and one minute. Frozen. */
export interface MinuteKeys {
  /** The topic hash (32 bytes). */
  readonly topic: Uint8Array;
  /** The unix minute. */
  readonly minute: number;
  /** Whether a secret went into the derivation. */
  readonly hasSecret: boolean;
  /** XChaCha20-Poly1305 key that seals this minute's records (32 bytes). */
  readonly sealKey: Uint8Array;
  /** ed25519 seed of this minute's BEP 44 slots, shared by every member (32 bytes). */
  readonly slotSeed: Uint8Array;
  /** ed25519 public key of `slotSeed` (32 bytes). */
  readonly slotPublicKey: Uint8Array;
  /** `SLOTS_PER_MINUTE` BEP 44 salts of `SLOT_SALT_BYTES` bytes each. */
  readonly salts: readonly Uint8Array[];
}

/** Options of {@link deriveMinuteKeys}. */
export interface MinuteKeyOptions {
  /** The initial secret hash (`hashSecret(secret)`); omit for a public topic. */
  secretHash?: Uint8Array | undefined;
  /** Secret rotation hook; default `defaultSecretRotation`. Ignored without `secretHash`. */
  rotation?: SecretRotation | undefined;
  /**
   * Computes `slotPublicKey` (default noble's ed25519). The I/O layers pass their crypto suite: on
   * OpenSSL this is ~20× cheaper, and every member derives a minute's keys as it starts.
   */
  suite?: Pick<CryptoSuite, 'ed25519PublicKey'> | undefined;
}

/**
 * Derives the keys of `topic` for `minute` (PROTOCOL.md §3):
 * ```
 * ms       = secretHash ? rotation(topic.hash, minute, secretHash) : empty
 * root     = HKDF-SHA256(ikm = topic.hash || ms, salt = "gossip-topic-tracker/v1",
 *                        info = "gtt/v1/minute" || u64be(minute) || u8(secret ? 1 : 0), L = 32)
 * sealKey  = HKDF-Expand-SHA256(root, "gtt/v1/seal", 32)
 * slotSeed = HKDF-Expand-SHA256(root, "gtt/v1/slot-key", 32); slotPublicKey = ed25519(slotSeed)
 * salts[i] = HKDF-Expand-SHA256(root, "gtt/v1/slot-salt" || u8(i), 16), i = 0..3
 * ```
 * With a secret, the slot signing key, the salts and the seal key all need the secret. Without one,
 * anyone who knows the topic name can derive them, read the records and pre-fill the slots.
 * @throws {TypeError} when `topic` is not a TopicId, an option has the wrong type, or the rotation hook
 *   returns something other than a Uint8Array.
 * @throws {RangeError} when `minute` is not an integer in [0, 2^32-1], `secretHash` is not 32 bytes, or
 *   the rotation hook returns other than 32 bytes.
 */
export function deriveMinuteKeys(topic: TopicId, minute: number, opts?: MinuteKeyOptions): MinuteKeys {
  if (!(topic instanceof TopicId)) throw new TypeError('"topic" expected TopicId');
  aint(minute, 0, MAX_MINUTE, 'minute');
  if (opts !== undefined) aobject(opts, 'opts');
  const secretHash = opts?.secretHash;
  const rotation = opts?.rotation ?? defaultSecretRotation;
  if (typeof rotation !== 'function')
    throw new TypeError(`"rotation" expected function, got type=${typeof rotation}`);
  const hasSecret = secretHash !== undefined;
  let minuteSecret: Uint8Array = EMPTY;
  if (hasSecret) {
    abytes(secretHash, TOPIC_HASH_BYTES, 'secretHash');
    // Pass copies so a hook cannot alter the topic's or caller's bytes.
    const out: unknown = rotation(copy(topic.hash), minute, copy(secretHash));
    minuteSecret = copy(abytes(out, 32, 'rotation() result'));
  }
  const ikm = concatBytes(topic.hash, minuteSecret);
  const info = concatBytes(INFO_MINUTE, u64be(minute), Uint8Array.of(hasSecret ? 1 : 0));
  const root = hkdf(sha256, ikm, ROOT_SALT, info, 32);
  const slotSeed = expand(sha256, root, INFO_SLOT_KEY, 32);
  const salts: Uint8Array[] = [];
  for (let i = 0; i < SLOTS_PER_MINUTE; i++) {
    salts.push(expand(sha256, root, concatBytes(INFO_SLOT_SALT, Uint8Array.of(i)), SLOT_SALT_BYTES));
  }
  return Object.freeze({
    topic: copy(topic.hash),
    minute,
    hasSecret,
    sealKey: expand(sha256, root, INFO_SEAL, 32),
    slotSeed,
    slotPublicKey: opts?.suite ? copy(opts.suite.ed25519PublicKey(slotSeed)) : ed25519.getPublicKey(slotSeed),
    salts: Object.freeze(salts),
  });
}

/** An ed25519 key pair; `secretKey` is the 32-byte seed (RFC 8032 private key). */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * The ed25519 key pair of a 32-byte seed (copied into `secretKey`). The seed must come from a CSPRNG.
 * @throws {TypeError} when `seed` is not a Uint8Array.
 * @throws {RangeError} when `seed` is not 32 bytes long.
 */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  const secretKey = copy(abytes(seed, KEY_BYTES, 'seed'));
  return { publicKey: ed25519.getPublicKey(secretKey), secretKey };
}
