/**
 * Noise_XX_25519_ChaChaPoly_SHA256, following the Noise Protocol Framework revision 34
 * (https://noiseprotocol.org/noise.html; "§" below refers to that document). PROTOCOL.md §9.
 *
 * ```
 * XX:
 *   -> e
 *   <- e, ee, s, es
 *   -> s, se
 * ```
 *
 * Pure: no I/O, no clock, no randomness of its own. The static and ephemeral X25519 secret keys come in
 * as arguments; X25519 and ChaCha20-Poly1305 come from a {@link CryptoSuite} (default the @noble
 * reference `nobleSuite`; the transport passes OpenSSL's). SHA-256 and HMAC stay @noble: with OpenSSL
 * doing the rest they are a minor part of a handshake's CPU (BENCHMARKS.md "Crypto suites" has the
 * whole handshake's, per side). Remote bytes never make anything here throw: `readMessage` and
 * `decryptWithAd` return a reason. Only local misuse (a wrong argument type, writing out of turn) throws.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { AEAD_TAG_BYTES, type CryptoSuite, KEY_BYTES, nobleSuite } from '../crypto/suite.js';
import { abytes, copy, equalBytes } from '../crypto/utils.js';
import { GttError } from '../errors.js';

/** The full Noise protocol name (§8): pattern XX, DH 25519, cipher ChaChaPoly, hash SHA256. */
export const NOISE_PROTOCOL_NAME = 'Noise_XX_25519_ChaChaPoly_SHA256';
/** The prologue both sides mix in before the first message (§6): a version tag of our transport. */
export const NOISE_PROLOGUE: Uint8Array = utf8ToBytes('gossip-topic-tracker/noise/v1');
/** HASHLEN for SHA-256 (§12.5). */
export const HASH_BYTES = 32;
/** Largest Noise message (§3): handshake messages never exceed it. */
export const NOISE_MAX_MESSAGE_BYTES = 65535;
/** The reserved nonce 2^64-1 (§5.1): a CipherState whose `n` reaches it can no longer be used. */
export const MAX_NONCE = 0xffff_ffff_ffff_ffffn;

const EMPTY = new Uint8Array(0);

/**
 * Thrown when the local side misuses a handshake: writing out of turn, writing or splitting after it
 * failed, or reading the result before it finished. Remote bytes never cause it.
 */
export class NoiseStateError extends GttError {
  constructor(message: string) {
    super('NOISE_STATE', message);
  }
}

// ---------------------------------------------------------------------------------------------------
// Crypto functions (§4, §12)

/** HMAC-SHA256(key, data). */
function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(sha256, key, data);
}

/**
 * HKDF(chaining_key, input_key_material, 2) of §4.3, with HMAC-SHA256: two 32-byte outputs.
 * (Equal to RFC 5869 HKDF with salt = chaining key and empty info; the tests check it against OpenSSL.)
 */
export function noiseHkdf(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array): [Uint8Array, Uint8Array] {
  const tempKey = hmacSha256(chainingKey, inputKeyMaterial);
  const output1 = hmacSha256(tempKey, Uint8Array.of(0x01));
  const output2 = hmacSha256(tempKey, concatBytes(output1, Uint8Array.of(0x02)));
  return [output1, output2];
}

/** ChaChaPoly nonce (§12.3): 32 bits of zeros followed by the little-endian 64-bit `n`. */
function chachaNonce(n: bigint): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, n, true);
  return nonce;
}

/**
 * The X25519 public key of a 32-byte secret key.
 * @throws {TypeError} when `secretKey` is not a Uint8Array; {RangeError} when it is not 32 bytes.
 */
export function x25519PublicKey(secretKey: Uint8Array, suite: CryptoSuite = nobleSuite): Uint8Array {
  return suite.x25519PublicKey(abytes(secretKey, KEY_BYTES, 'secretKey'));
}

// ---------------------------------------------------------------------------------------------------
// CipherState (§5.1)

/** Why a CipherState refused to encrypt or decrypt. */
export type CipherFailReason = 'tampered' | 'nonce-exhausted';

/** Result of {@link CipherState.encryptWithAd}. */
export type EncryptResult = { ok: true; ciphertext: Uint8Array } | { ok: false; reason: 'nonce-exhausted' };
/** Result of {@link CipherState.decryptWithAd}. */
export type DecryptResult = { ok: true; plaintext: Uint8Array } | { ok: false; reason: CipherFailReason };

/**
 * A key `k` (or none) and a 64-bit nonce `n` (§5.1). Without a key, encryption is the identity, as the
 * handshake needs before the first DH. Failures are results, not exceptions: a failed decryption
 * leaves `n` unchanged, and `n = 2^64-1` is never used (the state is then exhausted).
 */
export class CipherState {
  #k: Uint8Array | undefined;
  #n = 0n;
  readonly #suite: CryptoSuite;

  /**
   * @param key a 32-byte key, or undefined for an empty state.
   * @param suite where ChaCha20-Poly1305 comes from (default `nobleSuite`).
   * @throws {RangeError} on a bad key length.
   */
  constructor(key?: Uint8Array, suite: CryptoSuite = nobleSuite) {
    this.#k = key === undefined ? undefined : copy(abytes(key, KEY_BYTES, 'key'));
    this.#suite = suite;
  }

  /** True once a key was set (InitializeKey). */
  hasKey(): boolean {
    return this.#k !== undefined;
  }

  /** The next nonce `n`. */
  get nonce(): bigint {
    return this.#n;
  }

  /**
   * SetNonce (§5.1). Only for tests and for rekey schemes agreed out of band.
   * @throws {RangeError} when `n` is outside [0, 2^64-1].
   */
  setNonce(n: bigint): void {
    if (typeof n !== 'bigint' || n < 0n || n > MAX_NONCE) {
      throw new RangeError(`"n" expected bigint in [0, 2^64-1], got ${String(n)}`);
    }
    this.#n = n;
  }

  /** EncryptWithAd (§5.1): `ciphertext || tag` under nonce `n`, then `n += 1`; the plaintext when no key. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): EncryptResult {
    if (this.#k === undefined) return { ok: true, ciphertext: copy(plaintext) };
    if (this.#n >= MAX_NONCE) return { ok: false, reason: 'nonce-exhausted' };
    const ciphertext = this.#suite.aeadEncrypt(this.#k, chachaNonce(this.#n), ad, plaintext);
    this.#n += 1n;
    return { ok: true, ciphertext };
  }

  /** DecryptWithAd (§5.1). A wrong tag is `tampered` and does not advance `n`. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): DecryptResult {
    if (this.#k === undefined) return { ok: true, plaintext: copy(ciphertext) };
    if (this.#n >= MAX_NONCE) return { ok: false, reason: 'nonce-exhausted' };
    if (ciphertext.length < AEAD_TAG_BYTES) return { ok: false, reason: 'tampered' };
    const plaintext = this.#suite.aeadDecrypt(this.#k, chachaNonce(this.#n), ad, ciphertext);
    if (plaintext === undefined) return { ok: false, reason: 'tampered' };
    this.#n += 1n;
    return { ok: true, plaintext };
  }

  /**
   * Rekey (§4.2, §11.3): `k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes)`. `n` is kept.
   * @throws {NoiseStateError} when the state has no key.
   */
  rekey(): void {
    if (this.#k === undefined) throw new NoiseStateError('rekey() needs a key');
    const out = this.#suite.aeadEncrypt(this.#k, chachaNonce(MAX_NONCE), EMPTY, new Uint8Array(KEY_BYTES));
    this.#k = out.subarray(0, KEY_BYTES).slice();
  }
}

// ---------------------------------------------------------------------------------------------------
// SymmetricState (§5.2)

/** `ck`, `h` and a CipherState (§5.2). Internal to the handshake; exported for the tests. */
export class SymmetricState {
  ck: Uint8Array;
  h: Uint8Array;
  readonly #suite: CryptoSuite;
  #cipher: CipherState;

  /** InitializeSymmetric(protocol_name) (§5.2); `suite` is what its CipherStates encrypt with. */
  constructor(protocolName: string = NOISE_PROTOCOL_NAME, suite: CryptoSuite = nobleSuite) {
    this.#suite = suite;
    this.#cipher = new CipherState(undefined, suite);
    const name = utf8ToBytes(protocolName);
    if (name.length <= HASH_BYTES) {
      this.h = new Uint8Array(HASH_BYTES);
      this.h.set(name);
    } else {
      this.h = sha256(name);
    }
    this.ck = this.h.slice();
  }

  /** MixKey(input_key_material): `ck, temp_k = HKDF(ck, ikm, 2)`; InitializeKey(temp_k). */
  mixKey(inputKeyMaterial: Uint8Array): void {
    const [ck, tempK] = noiseHkdf(this.ck, inputKeyMaterial);
    this.ck = ck;
    this.#cipher = new CipherState(tempK, this.#suite);
  }

  /** MixHash(data): `h = HASH(h || data)`. */
  mixHash(data: Uint8Array): void {
    this.h = sha256(concatBytes(this.h, data));
  }

  /** EncryptAndHash(plaintext): encrypt with `h` as associated data, then MixHash(ciphertext). */
  encryptAndHash(plaintext: Uint8Array): EncryptResult {
    const r = this.#cipher.encryptWithAd(this.h, plaintext);
    if (r.ok) this.mixHash(r.ciphertext);
    return r;
  }

  /** DecryptAndHash(ciphertext): decrypt with `h` as associated data, then MixHash(ciphertext). */
  decryptAndHash(ciphertext: Uint8Array): DecryptResult {
    const r = this.#cipher.decryptWithAd(this.h, ciphertext);
    if (r.ok) this.mixHash(ciphertext);
    return r;
  }

  /** True once MixKey ran: encrypted fields then carry a tag. */
  hasKey(): boolean {
    return this.#cipher.hasKey();
  }

  /** Split() (§5.2): the initiator-to-responder and responder-to-initiator CipherStates. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = noiseHkdf(this.ck, EMPTY);
    return [new CipherState(k1, this.#suite), new CipherState(k2, this.#suite)];
  }
}

// ---------------------------------------------------------------------------------------------------
// HandshakeState for XX (§5.3, §7.5)

/** Which side of the handshake. The initiator writes the first message. */
export type NoiseRole = 'initiator' | 'responder';

/** Why `readMessage` refused bytes. */
export type NoiseReadReason =
  /** Longer than NOISE_MAX_MESSAGE_BYTES. */
  | 'oversize'
  /** Too short for the pattern's keys and tags. */
  | 'malformed'
  /** An authentication tag did not verify (wrong key, tampering, other prologue). */
  | 'tampered'
  /** A DH with the remote key gave the all-zero output (a low-order point). */
  | 'bad-key'
  /** A message arrived when it was this side's turn to write, or after the handshake ended. */
  | 'unexpected-message';

/** Result of {@link NoiseXX.readMessage}. */
export type NoiseReadResult = { ok: true; payload: Uint8Array } | { ok: false; reason: NoiseReadReason };

/** What a finished handshake gives (§5.3, after Split). */
export interface NoiseResult {
  /** CipherState for messages this side sends. */
  send: CipherState;
  /** CipherState for messages this side receives. */
  recv: CipherState;
  /** The handshake hash `h` (§11.2): identical on both sides, unique to this session. */
  handshakeHash: Uint8Array;
  /** The remote side's X25519 static public key. */
  remoteStatic: Uint8Array;
}

/** Our copy of each static secret key given to a handshake, by the caller's array (see {@link staticCopy}). */
const staticCopies = new WeakMap<Uint8Array, Uint8Array>();

/**
 * A copy of a static secret key that the caller cannot modify, the same copy for every handshake given
 * the same array with the same bytes. A node passes one static key to all its handshakes, and the
 * suite's key import is cached per array (src/native/crypto.ts: OpenSSL's import is most of its
 * cost): a copy per handshake would import that key again every time, ~70 µs per side.
 */
function staticCopy(key: Uint8Array): Uint8Array {
  const hit = staticCopies.get(key);
  if (hit !== undefined && equalBytes(hit, key)) return hit;
  const c = copy(key);
  staticCopies.set(key, c);
  return c;
}

/** Options of {@link NoiseXX}. */
export interface NoiseXXOptions {
  /** Which side this is. */
  role: NoiseRole;
  /** This side's 32-byte X25519 static secret key. */
  staticSecretKey: Uint8Array;
  /** This side's 32-byte X25519 ephemeral secret key: fresh randomness for every handshake. */
  ephemeralSecretKey: Uint8Array;
  /** Prologue (§6); both sides must use the same bytes. Default {@link NOISE_PROLOGUE}. */
  prologue?: Uint8Array;
  /** X25519 and ChaCha20-Poly1305 (default `nobleSuite`); the bytes on the wire do not depend on it. */
  crypto?: CryptoSuite;
}

/** Message index → [writer, tokens] of the XX pattern (§7.5). */
const XX_MESSAGES: readonly (readonly [NoiseRole, readonly ('e' | 's' | 'ee' | 'es' | 'se')[]])[] = [
  ['initiator', ['e']],
  ['responder', ['e', 'ee', 's', 'es']],
  ['initiator', ['s', 'se']],
];

/**
 * The XX HandshakeState (§5.3) of one side. Call `writeMessage` and `readMessage` in turn (the
 * initiator writes first); after the third message `result()` gives the transport CipherStates.
 * Any failed read ends the handshake: later reads return `unexpected-message`, later writes throw.
 */
export class NoiseXX {
  readonly role: NoiseRole;
  readonly #suite: CryptoSuite;
  readonly #ss: SymmetricState;
  readonly #s: Uint8Array;
  readonly #sPub: Uint8Array;
  readonly #e: Uint8Array;
  readonly #ePub: Uint8Array;
  #rs: Uint8Array | undefined;
  #re: Uint8Array | undefined;
  /** DH(e, re), computed once when `re` arrives (the low-order check) and reused for the `ee` token. */
  #ee: Uint8Array | undefined;
  /** Index of the next message in XX_MESSAGES; 3 = finished. */
  #next = 0;
  #failed = false;
  #result: NoiseResult | undefined;

  /**
   * Initialize (§5.3) with an empty pre-message pattern: only the prologue is mixed in.
   * @throws {TypeError|RangeError} when a key is not a 32-byte Uint8Array, the role is unknown or the
   *   prologue is not a Uint8Array.
   */
  constructor(opts: NoiseXXOptions) {
    if (opts.role !== 'initiator' && opts.role !== 'responder') {
      throw new TypeError(`"role" expected 'initiator' or 'responder', got ${String(opts.role)}`);
    }
    this.role = opts.role;
    this.#suite = opts.crypto ?? nobleSuite;
    this.#ss = new SymmetricState(NOISE_PROTOCOL_NAME, this.#suite);
    this.#s = staticCopy(abytes(opts.staticSecretKey, KEY_BYTES, 'staticSecretKey'));
    this.#e = copy(abytes(opts.ephemeralSecretKey, KEY_BYTES, 'ephemeralSecretKey'));
    this.#sPub = this.#suite.x25519PublicKey(this.#s);
    this.#ePub = this.#suite.x25519PublicKey(this.#e);
    this.#ss.mixHash(abytes(opts.prologue ?? NOISE_PROLOGUE, undefined, 'prologue'));
  }

  /** This side's X25519 static public key. */
  get localStatic(): Uint8Array {
    return this.#sPub.slice();
  }

  /** The remote static public key once learned (after message 2 for the initiator, 3 for the responder). */
  get remoteStatic(): Uint8Array | undefined {
    return this.#rs?.slice();
  }

  /** The current handshake hash `h`. */
  get handshakeHash(): Uint8Array {
    return this.#ss.h.slice();
  }

  /** True when it is this side's turn to write. */
  get canWrite(): boolean {
    const m = XX_MESSAGES[this.#next];
    return !this.#failed && m !== undefined && m[0] === this.role;
  }

  /** True after a failed read. */
  get failed(): boolean {
    return this.#failed;
  }

  /** True once all three messages were written or read. */
  get finished(): boolean {
    return this.#result !== undefined;
  }

  /** DH(key_pair, public_key) of §4.1, or undefined for a low-order point (all-zero output). */
  #dh(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
    return this.#suite.x25519(secretKey, publicKey);
  }

  /** DH for a token from this side's point of view. */
  #dhToken(token: 'ee' | 'es' | 'se'): Uint8Array | undefined {
    if (token === 'ee') return this.#ee;
    const init = this.role === 'initiator';
    // es = DH(initiator's e, responder's s); se = DH(initiator's s, responder's e) (§7.1).
    const [mine, theirs] =
      token === 'es'
        ? init
          ? [this.#e, this.#rs]
          : [this.#s, this.#re]
        : init
          ? [this.#s, this.#re]
          : [this.#e, this.#rs];
    return theirs === undefined ? undefined : this.#dh(mine, theirs);
  }

  /**
   * WriteMessage(payload) (§5.3): the bytes of the next handshake message.
   * @throws {NoiseStateError} when it is not this side's turn, the handshake failed, or a DH gave the
   *   all-zero output (only possible after a read that should have failed first).
   * @throws {RangeError} when the message would exceed NOISE_MAX_MESSAGE_BYTES.
   */
  writeMessage(payload: Uint8Array = EMPTY): Uint8Array {
    abytes(payload, undefined, 'payload');
    const m = XX_MESSAGES[this.#next];
    if (this.#failed) throw new NoiseStateError('writeMessage() after the handshake failed');
    if (m === undefined || m[0] !== this.role) {
      throw new NoiseStateError(`writeMessage() out of turn: ${this.role} at message ${this.#next + 1}`);
    }
    const parts: Uint8Array[] = [];
    for (const token of m[1]) {
      if (token === 'e') {
        parts.push(this.#ePub);
        this.#ss.mixHash(this.#ePub);
      } else if (token === 's') {
        parts.push(this.#encrypt(this.#sPub));
      } else {
        const shared = this.#dhToken(token);
        if (shared === undefined) throw new NoiseStateError(`DH for "${token}" failed`);
        this.#ss.mixKey(shared);
      }
    }
    parts.push(this.#encrypt(payload));
    const out = concatBytes(...parts);
    if (out.length > NOISE_MAX_MESSAGE_BYTES) {
      throw new RangeError(`"payload" expected a message of at most ${NOISE_MAX_MESSAGE_BYTES} bytes`);
    }
    this.#advance();
    return out;
  }

  #encrypt(plaintext: Uint8Array): Uint8Array {
    const r = this.#ss.encryptAndHash(plaintext);
    // Handshake CipherStates use nonces 0..2 of a fresh key: exhaustion cannot happen.
    if (!r.ok) throw new NoiseStateError('handshake nonce exhausted');
    return r.ciphertext;
  }

  /**
   * ReadMessage(message) (§5.3): the payload, or why the message was refused. Never throws on any
   * Uint8Array. A refusal ends the handshake.
   */
  readMessage(message: Uint8Array): NoiseReadResult {
    const r = this.#read(message);
    if (!r.ok) this.#failed = true;
    return r;
  }

  #read(message: Uint8Array): NoiseReadResult {
    const m = XX_MESSAGES[this.#next];
    if (this.#failed || m === undefined || m[0] === this.role)
      return { ok: false, reason: 'unexpected-message' };
    if (!(message instanceof Uint8Array)) return { ok: false, reason: 'malformed' };
    if (message.length > NOISE_MAX_MESSAGE_BYTES) return { ok: false, reason: 'oversize' };
    let pos = 0;
    for (const token of m[1]) {
      if (token === 'e') {
        if (message.length - pos < KEY_BYTES) return { ok: false, reason: 'malformed' };
        this.#re = message.slice(pos, pos + KEY_BYTES);
        pos += KEY_BYTES;
        this.#ss.mixHash(this.#re);
        // Refuse a low-order remote ephemeral now: every later DH of ours with it (ee, and es or se when
        // this side writes next) would give the all-zero output, and writes must not fail on remote bytes.
        this.#ee = this.#dh(this.#e, this.#re);
        if (this.#ee === undefined) return { ok: false, reason: 'bad-key' };
      } else if (token === 's') {
        const len = KEY_BYTES + (this.#ss.hasKey() ? AEAD_TAG_BYTES : 0);
        if (message.length - pos < len) return { ok: false, reason: 'malformed' };
        const r = this.#ss.decryptAndHash(message.subarray(pos, pos + len));
        if (!r.ok) return { ok: false, reason: 'tampered' };
        this.#rs = r.plaintext;
        pos += len;
      } else {
        const shared = this.#dhToken(token);
        if (shared === undefined) return { ok: false, reason: 'bad-key' };
        this.#ss.mixKey(shared);
      }
    }
    const rest = message.subarray(pos);
    if (this.#ss.hasKey() && rest.length < AEAD_TAG_BYTES) return { ok: false, reason: 'malformed' };
    const r = this.#ss.decryptAndHash(rest);
    if (!r.ok) return { ok: false, reason: 'tampered' };
    this.#advance();
    return { ok: true, payload: r.plaintext };
  }

  #advance(): void {
    this.#next += 1;
    if (this.#next < XX_MESSAGES.length) return;
    const [c1, c2] = this.#ss.split();
    const init = this.role === 'initiator';
    this.#result = {
      send: init ? c1 : c2,
      recv: init ? c2 : c1,
      handshakeHash: this.#ss.h.slice(),
      remoteStatic: this.#rs!.slice(),
    };
  }

  /**
   * The transport CipherStates and handshake hash (§5.3 Split). Each call returns the same objects.
   * @throws {NoiseStateError} before the handshake finished.
   */
  result(): NoiseResult {
    if (this.#result === undefined) throw new NoiseStateError('result() before the handshake finished');
    return this.#result;
  }
}
