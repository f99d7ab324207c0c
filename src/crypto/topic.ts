/**
 * Topic ids and topic secrets (PROTOCOL.md §2).
 *
 * A topic is named by an application string; its id is the first 32 bytes of SHA-512 of the name's
 * UTF-8 bytes. An optional shared secret is hashed the same way into the "initial secret hash" that
 * per-minute key derivation (`keys.ts`) consumes.
 */
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { abytes, astring, copy, equalBytes, isBytes } from './utils.js';

/** Length in bytes of a topic hash and of a secret hash. */
export const TOPIC_HASH_BYTES = 32;

/** `SHA-512(bytes)[0..32]`. */
function sha512Trunc(bytes: Uint8Array): Uint8Array {
  return sha512(bytes).slice(0, TOPIC_HASH_BYTES);
}

/** A topic's 32-byte id. Immutable by convention: `hash` is a private copy, do not write to it. */
export class TopicId {
  /** `SHA-512(utf8(name))[0..32]`, or the bytes given to `fromHash`. */
  readonly hash: Uint8Array;

  private constructor(hash: Uint8Array) {
    this.hash = hash;
  }

  /**
   * The id of the topic called `name`: `SHA-512(utf8(name))[0..32]`.
   * Lone UTF-16 surrogates in `name` encode as U+FFFD, as `TextEncoder` does.
   * @throws {TypeError} when `name` is not a string.
   * @throws {RangeError} when `name` is empty.
   */
  static fromName(name: string): TopicId {
    astring(name, 'name');
    if (name.length === 0) throw new RangeError('"name" expected non-empty string');
    return new TopicId(sha512Trunc(utf8ToBytes(name)));
  }

  /**
   * A topic id from its 32-byte hash (copied).
   * @throws {TypeError} when `hash` is not a Uint8Array.
   * @throws {RangeError} when `hash` is not 32 bytes long.
   */
  static fromHash(hash: Uint8Array): TopicId {
    return new TopicId(copy(abytes(hash, TOPIC_HASH_BYTES, 'hash')));
  }

  /** The hash as 64 lower-case hex characters. */
  toHex(): string {
    return bytesToHex(this.hash);
  }

  /** True when `other` is a TopicId with the same hash; false for anything else. */
  equals(other: unknown): boolean {
    return other instanceof TopicId && equalBytes(this.hash, other.hash);
  }
}

/**
 * The initial secret hash of a topic secret: `SHA-512(bytes)[0..32]`, where a string secret is taken
 * as its UTF-8 bytes.
 * @throws {TypeError} when `secret` is neither a string nor a Uint8Array.
 * @throws {RangeError} when `secret` is empty.
 */
export function hashSecret(secret: string | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof secret === 'string') bytes = utf8ToBytes(secret);
  else if (isBytes(secret)) bytes = secret;
  else
    throw new TypeError(
      `"secret" expected string or Uint8Array, got type=${secret === null ? 'null' : typeof secret}`,
    );
  if (bytes.length === 0) throw new RangeError('"secret" expected non-empty string or Uint8Array');
  return sha512Trunc(bytes);
}
