/**
 * The transport handshake as an explicit state machine (PROTOCOL.md §9.3): Noise XX plus the identity
 * payloads, driven by a transport that only moves bytes. Pure: keys, randomness and the crypto suite come
 * in as options.
 *
 * ```
 * initiator: idle ──start()──▶ await-e-ee-s-es ──receive(msg 2)──▶ done      (sends msg 1, then msg 3)
 * responder: await-e ──receive(msg 1)──▶ await-s-se ──receive(msg 3)──▶ done (sends msg 2)
 * any state ──bad bytes──▶ failed
 * ```
 * `receive` never throws on remote bytes: refusals are `{ error: reason }` and leave the machine in
 * `failed`; the transport then drops the connection.
 */
import { AEAD_TAG_BYTES, type CryptoSuite, KEY_BYTES, nobleSuite } from '../crypto/suite.js';
import { abytes, copy, equalBytes } from '../crypto/utils.js';
import {
  createIdentityPayload,
  decodeIdentityPayload,
  MAX_IDENTITY_PAYLOAD_BYTES,
  verifyIdentityPayload,
} from './identity.js';
import { type CipherState, type NoiseReadReason, type NoiseRole, NoiseStateError, NoiseXX } from './noise.js';

/** Size of message 1 (`-> e`, empty payload). */
export const HANDSHAKE_MESSAGE_1_BYTES = KEY_BYTES;
/**
 * Largest handshake message this code reads: message 2 with the largest identity payload,
 * `e` 32 + encrypted `s` 48 + payload + tag 16 (1219 bytes). Larger input is `oversize`.
 */
export const MAX_HANDSHAKE_MESSAGE_BYTES =
  KEY_BYTES + KEY_BYTES + AEAD_TAG_BYTES + MAX_IDENTITY_PAYLOAD_BYTES + AEAD_TAG_BYTES;

/** The states of {@link Handshake}. */
export type HandshakeStateName = 'idle' | 'await-e' | 'await-e-ee-s-es' | 'await-s-se' | 'done' | 'failed';

/** Why a handshake failed. */
export type HandshakeFailReason =
  | NoiseReadReason
  /** The identity payload has another version. */
  | 'unknown-version'
  /** The identity signature does not bind the id to the Noise static key. */
  | 'bad-identity'
  /** The remote proved an id other than the expected one. */
  | 'unexpected-peer';

/** What a finished handshake gives the transport. */
export interface HandshakeDone {
  /** The remote node id (ed25519 public key), proved by the handshake. */
  remoteId: Uint8Array;
  /** The remote X25519 static public key. */
  remoteStatic: Uint8Array;
  /** The remote identity payload's extension bytes (empty when absent). */
  extension: Uint8Array;
  /** CipherState for frames this side sends. */
  send: CipherState;
  /** CipherState for frames this side receives. */
  recv: CipherState;
  /** The Noise handshake hash: the same on both sides, unique to this session. */
  handshakeHash: Uint8Array;
}

/** What `receive` asks the transport to do: send bytes, use the finished session, or drop the link. */
export interface HandshakeStep {
  /** Bytes to send to the remote, when there are any. */
  send?: Uint8Array;
  /** Set once the handshake finished (together with `send` for the initiator's message 3). */
  done?: HandshakeDone;
  /** Set when the handshake failed: drop the connection. */
  error?: HandshakeFailReason;
}

/** Options of {@link Handshake}. */
export interface HandshakeOptions {
  /** `initiator` for the side that dials. */
  role: NoiseRole;
  /** This node's ed25519 secret key (32-byte seed): its node id is the public key. */
  identitySecretKey: Uint8Array;
  /** This node's 32-byte X25519 static secret key (may be long-lived or per process). */
  staticSecretKey: Uint8Array;
  /** A fresh random 32-byte X25519 secret key for this handshake only. */
  ephemeralSecretKey: Uint8Array;
  /** The id the remote must prove; another id fails with `unexpected-peer`. Usually set when dialing. */
  expectedRemoteId?: Uint8Array;
  /** Extension bytes to send in this side's identity payload (0..MAX_IDENTITY_EXTENSION_BYTES). */
  extension?: Uint8Array;
  /** Noise prologue; default NOISE_PROLOGUE. Both sides must agree. */
  prologue?: Uint8Array;
  /**
   * X25519, Ed25519 and ChaCha20-Poly1305 (default `nobleSuite`, the reference). The transport passes
   * `nativeSuite` (OpenSSL); the bytes on the wire do not depend on the choice.
   */
  crypto?: CryptoSuite;
}

/**
 * One side of the transport handshake. The initiator calls `start()` and sends its result; both sides
 * pass every received handshake message to `receive` and send what it returns.
 */
export class Handshake {
  readonly role: NoiseRole;
  /** This node's id. */
  readonly localId: Uint8Array;
  #state: HandshakeStateName;
  #error: HandshakeFailReason | undefined;
  readonly #noise: NoiseXX;
  readonly #payload: Uint8Array;
  readonly #expected: Uint8Array | undefined;
  readonly #suite: CryptoSuite;

  /**
   * @throws {TypeError} when an option has the wrong type.
   * @throws {RangeError} when a key is not 32 bytes or the extension is too long.
   */
  constructor(opts: HandshakeOptions) {
    this.#suite = opts.crypto ?? nobleSuite;
    this.#noise = new NoiseXX({
      role: opts.role,
      staticSecretKey: opts.staticSecretKey,
      ephemeralSecretKey: opts.ephemeralSecretKey,
      crypto: this.#suite,
      ...(opts.prologue === undefined ? {} : { prologue: opts.prologue }),
    });
    this.role = opts.role;
    this.#payload = identityPayload(
      opts.identitySecretKey,
      this.#noise.localStatic,
      opts.extension,
      this.#suite,
    );
    this.localId = this.#suite.ed25519PublicKey(opts.identitySecretKey);
    this.#expected =
      opts.expectedRemoteId === undefined
        ? undefined
        : copy(abytes(opts.expectedRemoteId, KEY_BYTES, 'expectedRemoteId'));
    this.#state = opts.role === 'initiator' ? 'idle' : 'await-e';
  }

  /** The current state. */
  get state(): HandshakeStateName {
    return this.#state;
  }

  /** Why the handshake failed, once it did. */
  get error(): HandshakeFailReason | undefined {
    return this.#error;
  }

  /**
   * Starts the handshake. For the initiator, the first call returns message 1 to send; every other
   * call (and every call on the responder) returns undefined.
   */
  start(): Uint8Array | undefined {
    if (this.#state !== 'idle') return undefined;
    this.#state = 'await-e-ee-s-es';
    return this.#noise.writeMessage();
  }

  /** Handles one received handshake message. Never throws on remote bytes. */
  receive(message: Uint8Array): HandshakeStep {
    switch (this.#state) {
      case 'await-e':
        return this.#onMessage1(message);
      case 'await-e-ee-s-es':
        return this.#onMessage2(message);
      case 'await-s-se':
        return this.#onMessage3(message);
      case 'idle':
      case 'done':
      case 'failed':
        return this.#fail('unexpected-message');
    }
  }

  #fail(reason: HandshakeFailReason): HandshakeStep {
    // A message in the wrong state does not overwrite the first failure's reason.
    if (this.#state !== 'failed') this.#error = reason;
    this.#state = 'failed';
    return { error: reason };
  }

  #read(message: Uint8Array): Uint8Array | HandshakeFailReason {
    if (!(message instanceof Uint8Array)) return 'malformed';
    if (message.length > MAX_HANDSHAKE_MESSAGE_BYTES) return 'oversize';
    const r = this.#noise.readMessage(message);
    return r.ok ? r.payload : r.reason;
  }

  /** Responder: `-> e` with an empty payload; answer `<- e, ee, s, es` with our identity. */
  #onMessage1(message: Uint8Array): HandshakeStep {
    const payload = this.#read(message);
    if (typeof payload === 'string') return this.#fail(payload);
    if (payload.length !== 0) return this.#fail('malformed');
    const send = this.#noise.writeMessage(this.#payload);
    this.#state = 'await-s-se';
    return { send };
  }

  /** Initiator: `<- e, ee, s, es` with the responder's identity; answer `-> s, se` with ours. */
  #onMessage2(message: Uint8Array): HandshakeStep {
    const payload = this.#read(message);
    if (typeof payload === 'string') return this.#fail(payload);
    const checked = this.#checkIdentity(payload);
    if (typeof checked === 'string') return this.#fail(checked);
    const send = this.#noise.writeMessage(this.#payload);
    return { send, done: this.#finish(checked) };
  }

  /** Responder: `-> s, se` with the initiator's identity. */
  #onMessage3(message: Uint8Array): HandshakeStep {
    const payload = this.#read(message);
    if (typeof payload === 'string') return this.#fail(payload);
    const checked = this.#checkIdentity(payload);
    if (typeof checked === 'string') return this.#fail(checked);
    return { done: this.#finish(checked) };
  }

  /** Decodes the identity payload and checks it against the static key Noise just authenticated. */
  #checkIdentity(bytes: Uint8Array): { id: Uint8Array; extension: Uint8Array } | HandshakeFailReason {
    const decoded = decodeIdentityPayload(bytes);
    if (!decoded.ok) return decoded.reason;
    const remoteStatic = this.#noise.remoteStatic;
    if (remoteStatic === undefined) throw new NoiseStateError('no remote static key after s');
    if (!verifyIdentityPayload(decoded.payload, remoteStatic, this.#suite)) return 'bad-identity';
    if (this.#expected !== undefined && !equalBytes(decoded.payload.id, this.#expected)) {
      return 'unexpected-peer';
    }
    return { id: decoded.payload.id, extension: decoded.payload.extension };
  }

  #finish(identity: { id: Uint8Array; extension: Uint8Array }): HandshakeDone {
    const r = this.#noise.result();
    this.#state = 'done';
    return {
      remoteId: identity.id,
      remoteStatic: r.remoteStatic,
      extension: identity.extension,
      send: r.send,
      recv: r.recv,
      handshakeHash: r.handshakeHash,
    };
  }
}

/** Our last identity payload per identity key: a node signs the same static key on every connection. */
const payloads = new WeakMap<
  Uint8Array,
  { secret: Uint8Array; static: Uint8Array; extension: Uint8Array; suite: CryptoSuite; payload: Uint8Array }
>();

/** `createIdentityPayload`, reusing the last one made for the same key, static key and extension. */
function identityPayload(
  identitySecretKey: Uint8Array,
  staticPublicKey: Uint8Array,
  extension: Uint8Array | undefined,
  suite: CryptoSuite,
): Uint8Array {
  const ext = extension ?? new Uint8Array(0);
  const hit = payloads.get(identitySecretKey);
  if (
    hit !== undefined &&
    hit.suite === suite &&
    equalBytes(hit.secret, identitySecretKey) &&
    equalBytes(hit.static, staticPublicKey) &&
    equalBytes(hit.extension, ext)
  ) {
    return hit.payload;
  }
  // Validates the arguments (it throws for anything but 32-byte keys), so the key can be a WeakMap key.
  const payload = createIdentityPayload(identitySecretKey, staticPublicKey, ext, suite);
  payloads.set(identitySecretKey, {
    secret: new Uint8Array(identitySecretKey),
    static: new Uint8Array(staticPublicKey),
    extension: new Uint8Array(ext),
    suite,
    payload,
  });
  return payload;
}
