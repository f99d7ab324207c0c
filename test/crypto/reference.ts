/**
 * Independent re-implementations of the primitives `src/crypto` uses, on top of `node:crypto`
 * (OpenSSL), to cross-check noble's outputs. Test- and script-only: `src/crypto` must not import this.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  type KeyObject,
  sign,
} from 'node:crypto';

/** `SHA-512(bytes)[0..32]`. */
export function sha512Trunc(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha512').update(bytes).digest().subarray(0, 32));
}

/** RFC 5869 extract-and-expand with SHA-256. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

/** RFC 5869 §2.3 HKDF-Expand with SHA-256, written out with HMAC (node has no expand-only call). */
export function hkdfExpandSha256(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let t = new Uint8Array(0);
  for (let i = 1, filled = 0; filled < length; i++) {
    t = new Uint8Array(createHmac('sha256', prk).update(t).update(info).update(Uint8Array.of(i)).digest());
    out.set(t.subarray(0, Math.min(t.length, length - filled)), filled);
    filled += t.length;
  }
  return out;
}

/** PKCS#8 DER prefix of an ed25519 private key (RFC 8410); the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function privateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The ed25519 public key of a 32-byte seed. */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKey(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

/** RFC 8032 ed25519 signature (deterministic, so it must equal noble's). */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKey(seed)));
}

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

/**
 * HChaCha20 from OpenSSL's ChaCha20: with IV = the 16-byte HChaCha nonce (counter || nonce), the first
 * keystream block is rounds(state) + state; subtracting the known input words gives HChaCha20's output
 * (words 0..3 and 12..15 of rounds(state)).
 */
function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20', key, nonce16);
  const block = Buffer.concat([c.update(new Uint8Array(64)), c.final()]);
  const out = Buffer.alloc(32);
  for (let i = 0; i < 4; i++) {
    out.writeUInt32LE((block.readUInt32LE(4 * i) - SIGMA[i]!) >>> 0, 4 * i);
    const n = Buffer.from(nonce16).readUInt32LE(4 * i);
    out.writeUInt32LE((block.readUInt32LE(48 + 4 * i) - n) >>> 0, 16 + 4 * i);
  }
  return new Uint8Array(out);
}

/** XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03) from HChaCha20 and OpenSSL's ChaCha20-Poly1305. */
function xchachaParams(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; iv: Uint8Array } {
  const iv = new Uint8Array(12);
  iv.set(nonce.subarray(16, 24), 4);
  return { subkey: hchacha20(key, nonce.subarray(0, 16)), iv };
}

/** `ciphertext || tag`. */
export function xchachaEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const { subkey, iv } = xchachaParams(key, nonce);
  const c = createCipheriv('chacha20-poly1305', subkey, iv, { authTagLength: 16 });
  return new Uint8Array(Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]));
}

/** Plaintext, or throws when the tag does not verify. */
export function xchachaDecrypt(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array {
  const { subkey, iv } = xchachaParams(key, nonce);
  const d = createDecipheriv('chacha20-poly1305', subkey, iv, { authTagLength: 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return new Uint8Array(Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]));
}

/** UTF-8 bytes. */
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Lower-case hex. */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Bytes of a hex string. */
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** `u64be(n)`. */
export function u64be(n: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return new Uint8Array(b);
}

/**
 * The per-minute keys of PROTOCOL.md §3 recomputed with node:crypto only. `secret` null = no secret;
 * the default rotation is used.
 */
export function referenceMinuteKeys(topicName: string, secret: string | null, minute: number) {
  const topicHash = sha512Trunc(utf8(topicName));
  const secretHash = secret === null ? null : sha512Trunc(utf8(secret));
  const minuteSecret =
    secretHash === null
      ? null
      : hkdfSha256(secretHash, topicHash, Buffer.concat([utf8('gtt/v1/rotate'), u64be(minute)]), 32);
  const root = hkdfSha256(
    Buffer.concat([topicHash, minuteSecret ?? new Uint8Array(0)]),
    utf8('gossip-topic-tracker/v1'),
    Buffer.concat([utf8('gtt/v1/minute'), u64be(minute), Uint8Array.of(secret === null ? 0 : 1)]),
    32,
  );
  const slotSeed = hkdfExpandSha256(root, utf8('gtt/v1/slot-key'), 32);
  return {
    topicHash,
    secretHash,
    minuteSecret,
    root,
    sealKey: hkdfExpandSha256(root, utf8('gtt/v1/seal'), 32),
    slotSeed,
    slotPublicKey: ed25519PublicKey(slotSeed),
    salts: [0, 1, 2, 3].map((i) =>
      hkdfExpandSha256(root, Buffer.concat([utf8('gtt/v1/slot-salt'), Uint8Array.of(i)]), 16),
    ),
  };
}

/** Inputs of one record-v1.json vector (shared by the generator script and the vector test). */
export interface VectorInput {
  topicName: string;
  secret: string | null;
  minute: number;
  publisherSeed: string;
  nonce: string;
  addresses: { host: string; port: number }[];
  peers: { id: string; addresses: { host: string; port: number }[] }[];
  messageIds: string[];
}
