/**
 * An independent Noise_XX_25519_ChaChaPoly_SHA256 for the tests, on node:crypto (OpenSSL) only: HMAC,
 * SHA-256, X25519, ChaCha20-Poly1305 and Ed25519 from another code base than @noble/*. Written from
 * the Noise spec (rev 34) as one straight-line transcript, deliberately unlike src/net/noise.ts.
 */
import {
  createCipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  sign,
} from 'node:crypto';

const b = (x: Uint8Array | string): Buffer =>
  typeof x === 'string' ? Buffer.from(x, 'hex') : Buffer.from(x);

const X25519_PKCS8 = b('302e020100300506032b656e04220420');
const X25519_SPKI = b('302a300506032b656e032100');
const ED25519_PKCS8 = b('302e020100300506032b657004220420');

const x25519Private = (secret: Uint8Array) =>
  createPrivateKey({ key: Buffer.concat([X25519_PKCS8, b(secret)]), format: 'der', type: 'pkcs8' });

/** X25519 public key of a secret (OpenSSL). */
export function refX25519Public(secret: Uint8Array): Buffer {
  const der = createPublicKey(x25519Private(secret)).export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

/** X25519 shared secret (OpenSSL). */
export function refDh(secret: Uint8Array, pub: Uint8Array): Buffer {
  const publicKey = createPublicKey({
    key: Buffer.concat([X25519_SPKI, b(pub)]),
    format: 'der',
    type: 'spki',
  });
  return diffieHellman({ privateKey: x25519Private(secret), publicKey });
}

/** Ed25519 public key and signature (OpenSSL). */
export function refEd25519(seed: Uint8Array, message: Uint8Array): { publicKey: Buffer; signature: Buffer } {
  const key = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8, b(seed)]),
    format: 'der',
    type: 'pkcs8',
  });
  const der = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return { publicKey: der.subarray(der.length - 32), signature: sign(null, b(message), key) };
}

const hmac = (key: Buffer, data: Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const sha = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/** ChaCha20-Poly1305 (RFC 8439) with the Noise nonce: 4 zero bytes, then n as u64 little-endian. */
export function refAead(key: Buffer, n: number, ad: Buffer, plaintext: Buffer): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64LE(BigInt(n), 4);
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: plaintext.length });
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

/** Inputs of a deterministic XX run. */
export interface RefInput {
  prologue: Uint8Array;
  initStatic: Uint8Array;
  initEphemeral: Uint8Array;
  respStatic: Uint8Array;
  respEphemeral: Uint8Array;
  /** Payloads of messages 1, 2 and 3. */
  payloads: [Uint8Array, Uint8Array, Uint8Array];
}

/** The three handshake messages, the handshake hash and the two transport keys. */
export function refXX(input: RefInput): {
  messages: Buffer[];
  handshakeHash: Buffer;
  k1: Buffer;
  k2: Buffer;
} {
  // InitializeSymmetric: the 32-byte name is used as h directly (it is exactly HASHLEN long).
  let h: Buffer = Buffer.from('Noise_XX_25519_ChaChaPoly_SHA256', 'ascii');
  let ck: Buffer = h;
  let k: Buffer | undefined;
  let n = 0;
  const mixHash = (d: Buffer) => {
    h = sha(Buffer.concat([h, d]));
  };
  const hkdf = (ikm: Buffer): [Buffer, Buffer] => {
    const t = hmac(ck, ikm);
    const o1 = hmac(t, Buffer.from([1]));
    return [o1, hmac(t, Buffer.concat([o1, Buffer.from([2])]))];
  };
  const mixKey = (ikm: Buffer) => {
    [ck, k] = hkdf(ikm);
    n = 0;
  };
  const encryptAndHash = (p: Buffer) => {
    const c = k === undefined ? p : refAead(k, n++, h, p);
    mixHash(c);
    return c;
  };
  mixHash(b(input.prologue));

  const ie = refX25519Public(input.initEphemeral);
  const re = refX25519Public(input.respEphemeral);
  const is = refX25519Public(input.initStatic);
  const rs = refX25519Public(input.respStatic);

  // -> e
  mixHash(ie);
  const m1 = Buffer.concat([ie, encryptAndHash(b(input.payloads[0]))]);
  // <- e, ee, s, es
  mixHash(re);
  mixKey(refDh(input.initEphemeral, re));
  const encS2 = encryptAndHash(rs);
  mixKey(refDh(input.initEphemeral, rs));
  const m2 = Buffer.concat([re, encS2, encryptAndHash(b(input.payloads[1]))]);
  // -> s, se
  const encS3 = encryptAndHash(is);
  mixKey(refDh(input.initStatic, re));
  const m3 = Buffer.concat([encS3, encryptAndHash(b(input.payloads[2]))]);

  const [k1, k2] = hkdf(Buffer.alloc(0));
  return { messages: [m1, m2, m3], handshakeHash: h, k1, k2 };
}
