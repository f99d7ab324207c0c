/**
 * The two CryptoSuites: `nobleSuite` (src/crypto/suite.ts, the reference of the pure code) and
 * `nativeSuite` (src/native/crypto.ts, OpenSSL, the default of the transport, the DHT and the record
 * store) against the RFC vectors (test/vectors/rfc8032-ed25519.json, rfc7748-x25519.json,
 * rfc8439-aead.json), against each other on random inputs (fast-check), and on the edge cases where
 * OpenSSL and noble could disagree.
 */
import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveMinuteKeys, hashSecret, TopicId } from '../../src/crypto/index.js';
import { type CryptoSuite, isCryptoSuite, nobleSuite } from '../../src/crypto/suite.js';
import { defaultSuite, NATIVE_PUBLIC_KEY_CACHE_SIZE, nativeSuite } from '../../src/native/crypto.js';
import {
  decodeIdentityPayload,
  Gossip,
  Handshake,
  type HandshakeOptions,
  openFrame,
  sealFrame,
  verifyIdentityPayload,
} from '../../src/net/index.js';
import { handshakePair, hex, key, sideOptions, VECTORS } from './helpers.js';

const vectors = <T>(file: string): T =>
  JSON.parse(readFileSync(new URL(`../vectors/${file}`, import.meta.url), 'utf8')) as T;

const ED = vectors<{
  source: string;
  vectors: { name: string; secretKey: string; publicKey: string; message: string; signature: string }[];
}>('rfc8032-ed25519.json');
const X = vectors<{
  source: string;
  scalarMult: { scalar: string; u: string; output: string }[];
  iterated: { start: string; after: { iterations: number; k: string }[] };
  diffieHellman: Record<'alicePrivate' | 'alicePublic' | 'bobPrivate' | 'bobPublic' | 'shared', string>;
}>('rfc7748-x25519.json');
const AEAD = vectors<{
  source: string;
  vectors: {
    name: string;
    key: string;
    nonce: string;
    ad: string;
    plaintextUtf8: string;
    ciphertext: string;
    tag: string;
  }[];
}>('rfc8439-aead.json');

const SUITES = [nobleSuite, nativeSuite];
const EMPTY = new Uint8Array(0);

/** p = 2^255 - 19 and L, the order of the Ed25519 base point (RFC 8032 §5.1). */
const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const le = (b: Uint8Array): bigint => {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
};
const toLe = (x: bigint, n = 32): Uint8Array => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
};

/** A "signature" with R = [s]B and S = s: cofactorless-valid for any message under a key of order 1. */
const forged = (s: bigint): Uint8Array => concatBytes(ed25519.Point.BASE.multiply(s).toBytes(), toLe(s));

/** Both suites' result of `f`, or the error each threw. */
function both<T>(f: (s: CryptoSuite) => T): [T | string, T | string] {
  const run = (s: CryptoSuite) => {
    try {
      return f(s);
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  return [run(nobleSuite), run(nativeSuite)];
}

function expectSame<T>(f: (s: CryptoSuite) => T): T | string {
  const [a, b] = both(f);
  expect(b).toEqual(a);
  return a;
}

describe('RFC vectors, in both suites', () => {
  it('the vector files name their source', () => {
    expect(ED.source).toMatch(/RFC 8032/);
    expect(X.source).toMatch(/RFC 7748/);
    expect(AEAD.source).toMatch(/RFC 8439/);
  });

  describe.each(SUITES)('$name', (suite) => {
    it.each(ED.vectors)('Ed25519 $name (RFC 8032 §7.1): public key, signature, verification', (v) => {
      const seed = hexToBytes(v.secretKey);
      const message = hexToBytes(v.message);
      expect(bytesToHex(suite.ed25519PublicKey(seed))).toBe(v.publicKey);
      expect(bytesToHex(suite.ed25519Sign(message, seed))).toBe(v.signature);
      expect(suite.ed25519Verify(hexToBytes(v.signature), message, hexToBytes(v.publicKey))).toBe(true);
      const other = concatBytes(message, Uint8Array.of(0));
      expect(suite.ed25519Verify(hexToBytes(v.signature), other, hexToBytes(v.publicKey))).toBe(false);
    });

    it('X25519 RFC 7748 §5.2: scalar multiplications', () => {
      for (const v of X.scalarMult) {
        expect(bytesToHex(suite.x25519(hexToBytes(v.scalar), hexToBytes(v.u))!)).toBe(v.output);
      }
    });

    it('X25519 RFC 7748 §5.2: iterated test, after 1 and 1000 iterations', () => {
      // 1000 iterations take ~2.5 s in pure JS: noble does the first (its own tests do the rest).
      const after = X.iterated.after.filter((a) => suite === nativeSuite || a.iterations === 1);
      let k: Uint8Array = hexToBytes(X.iterated.start);
      let u: Uint8Array = k;
      const seen = new Map<number, string>();
      for (let i = 1; i <= Math.max(...after.map((a) => a.iterations)); i++) {
        [k, u] = [suite.x25519(k, u)!, k];
        seen.set(i, bytesToHex(k));
      }
      for (const a of after) expect(seen.get(a.iterations)).toBe(a.k);
    });

    it('X25519 RFC 7748 §6.1: public keys and the shared secret, both ways', () => {
      const d = X.diffieHellman;
      expect(bytesToHex(suite.x25519PublicKey(hexToBytes(d.alicePrivate)))).toBe(d.alicePublic);
      expect(bytesToHex(suite.x25519PublicKey(hexToBytes(d.bobPrivate)))).toBe(d.bobPublic);
      expect(bytesToHex(suite.x25519(hexToBytes(d.alicePrivate), hexToBytes(d.bobPublic))!)).toBe(d.shared);
      expect(bytesToHex(suite.x25519(hexToBytes(d.bobPrivate), hexToBytes(d.alicePublic))!)).toBe(d.shared);
    });

    it.each(AEAD.vectors)('ChaCha20-Poly1305 $name: seal and open', (v) => {
      const [k, n, ad] = [hexToBytes(v.key), hexToBytes(v.nonce), hexToBytes(v.ad)];
      const sealed = suite.aeadEncrypt(k, n, ad, utf8ToBytes(v.plaintextUtf8));
      expect(bytesToHex(sealed)).toBe(v.ciphertext + v.tag);
      expect(suite.aeadDecrypt(k, n, ad, sealed)).toEqual(utf8ToBytes(v.plaintextUtf8));
    });

    it('returns plain Uint8Arrays, never Buffers', () => {
      const seed = key('seed');
      const outs = [
        suite.x25519PublicKey(seed),
        suite.x25519(seed, suite.x25519PublicKey(key('other')))!,
        suite.ed25519PublicKey(seed),
        suite.ed25519Sign(EMPTY, seed),
        suite.aeadEncrypt(seed, new Uint8Array(12), EMPTY, EMPTY),
        suite.aeadDecrypt(
          seed,
          new Uint8Array(12),
          EMPTY,
          suite.aeadEncrypt(seed, new Uint8Array(12), EMPTY, seed),
        )!,
      ];
      for (const o of outs) expect(Object.getPrototypeOf(o)).toBe(Uint8Array.prototype);
    });
  });
});

describe('the suites agree on random inputs (fast-check)', () => {
  const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const msg = fc.uint8Array({ maxLength: 300 });

  it('Ed25519: same public key and signature; each verifies the other', () => {
    fc.assert(
      fc.property(b32, msg, (seed, m) => {
        const pk = expectSame((s) => bytesToHex(s.ed25519PublicKey(seed)));
        const sig = expectSame((s) => bytesToHex(s.ed25519Sign(m, seed)));
        expect(both((s) => s.ed25519Verify(hexToBytes(sig), m, hexToBytes(pk)))).toEqual([true, true]);
      }),
      { numRuns: 40 },
    );
  });

  it('Ed25519: a one-bit change of signature, message or key fails in both', () => {
    fc.assert(
      fc.property(b32, msg, fc.nat(), fc.integer({ min: 0, max: 2 }), (seed, m, bit, what) => {
        const pk = nobleSuite.ed25519PublicKey(seed);
        const sig = nobleSuite.ed25519Sign(m, seed);
        const target = [sig, m, pk][what]!;
        if (target.length === 0) return;
        const flipped = target.slice();
        flipped[(bit >>> 3) % flipped.length]! ^= 1 << (bit & 7);
        const args = [sig, m, pk];
        args[what] = flipped;
        expect(both((s) => s.ed25519Verify(args[0]!, args[1]!, args[2]!))).toEqual([false, false]);
      }),
      { numRuns: 40 },
    );
  });

  it('Ed25519: random signature, message and key bytes give the same answer (false)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), msg, b32, (sig, m, pk) => {
        expect(both((s) => s.ed25519Verify(sig, m, pk))).toEqual([false, false]);
      }),
      { numRuns: 40 },
    );
  });

  it('X25519: same public keys and shared secrets, symmetric, on random secrets', () => {
    fc.assert(
      fc.property(b32, b32, (a, b) => {
        const pa = expectSame((s) => bytesToHex(s.x25519PublicKey(a)));
        const pb = expectSame((s) => bytesToHex(s.x25519PublicKey(b)));
        const ab = expectSame((s) => bytesToHex(s.x25519(a, hexToBytes(pb))!));
        expect(expectSame((s) => bytesToHex(s.x25519(b, hexToBytes(pa))!))).toBe(ab);
      }),
      { numRuns: 30 },
    );
  });

  it('X25519: same result on arbitrary 32-byte public keys (twist points, top bit, u ≥ p)', () => {
    fc.assert(
      fc.property(b32, b32, (a, u) => {
        expectSame((s) => {
          const r = s.x25519(a, u);
          return r === undefined ? 'refused' : bytesToHex(r);
        });
      }),
      { numRuns: 30 },
    );
  });

  it('minute keys: the same with either suite as without one (noble)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.boolean(),
        (name, minute, secret) => {
          const topic = TopicId.fromName(name);
          const opts = secret ? { secretHash: hashSecret(name) } : {};
          const reference = deriveMinuteKeys(topic, minute, opts);
          for (const suite of [nativeSuite, nobleSuite]) {
            expect(deriveMinuteKeys(topic, minute, { ...opts, suite })).toEqual(reference);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('ChaCha20-Poly1305: same ciphertext; each opens the other; a tampered byte fails in both', () => {
    fc.assert(
      fc.property(
        b32,
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 2000 }),
        fc.nat(),
        (k, n, ad, pt, at) => {
          const ct = expectSame((s) => bytesToHex(s.aeadEncrypt(k, n, ad, pt)));
          const sealed = hexToBytes(ct);
          expect(both((s) => s.aeadDecrypt(k, n, ad, sealed))).toEqual([pt, pt]);
          const bad = sealed.slice();
          bad[at % bad.length]! ^= 0x80;
          expect(both((s) => s.aeadDecrypt(k, n, ad, bad))).toEqual([undefined, undefined]);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('edge cases: the same outcome in both suites', () => {
  const seed = key('edge/seed');
  const pk = nobleSuite.ed25519PublicKey(seed);
  const m = utf8ToBytes('edge');
  const sig = nobleSuite.ed25519Sign(m, seed);
  const verifyBoth = (s: Uint8Array, msg: Uint8Array, k: Uint8Array) =>
    both((x) => x.ed25519Verify(s, msg, k));

  it('Ed25519 verify: a tampered R or S is false', () => {
    for (const i of [0, 31, 32, 63]) {
      const bad = sig.slice();
      bad[i]! ^= 0x01;
      expect(verifyBoth(bad, m, pk)).toEqual([false, false]);
    }
  });

  it('Ed25519 verify: a non-canonical S (S + L, and S with the top bits set) is false', () => {
    const s = le(sig.subarray(32));
    for (const big of [s + L, s + 2n * L, s | (7n << 253n)]) {
      const bad = concatBytes(sig.subarray(0, 32), toLe(big % 2n ** 256n));
      expect(verifyBoth(bad, m, pk)).toEqual([false, false]);
    }
  });

  it('Ed25519 verify: wrong lengths and types are false, never an exception', () => {
    for (const [s, k] of [
      [sig.subarray(0, 63), pk],
      [concatBytes(sig, Uint8Array.of(0)), pk],
      [EMPTY, pk],
      [sig, pk.subarray(0, 31)],
      [sig, concatBytes(pk, Uint8Array.of(0))],
      [sig, EMPTY],
    ] as const) {
      expect(verifyBoth(s, m, k)).toEqual([false, false]);
    }
    const notBytes = [...sig] as unknown as Uint8Array;
    expect(verifyBoth(notBytes, m, pk)).toEqual([false, false]);
    expect(verifyBoth(sig, 'edge' as unknown as Uint8Array, pk)).toEqual([false, false]);
  });

  it('Ed25519 verify: the all-zero public key is false', () => {
    expect(verifyBoth(sig, m, new Uint8Array(32))).toEqual([false, false]);
  });

  it('Ed25519 verify: small-order keys are refused, though OpenSSL alone accepts the identity', () => {
    const identity = toLe(1n);
    // Why nativeSuite checks keys itself: OpenSSL 3.0 accepts this forgery under the identity key.
    const raw = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(identity).toString('base64url') },
      format: 'jwk',
    });
    expect(opensslVerify(null, m, raw, forged(5n))).toBe(true);
    // The eight points of order dividing 8, with either sign bit.
    const t8 = ed25519.Point.fromBytes(
      hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'),
    );
    let point = ed25519.Point.ZERO;
    for (let i = 0; i < 8; i++, point = point.add(t8)) {
      for (const signBit of [0, 0x80]) {
        const k = point.toBytes().slice();
        k[31] = (k[31]! & 0x7f) | signBit;
        for (const s of [5n, 6n, 7n, 8n]) expect(verifyBoth(forged(s), m, k)).toEqual([false, false]);
      }
    }
  });

  it('Ed25519 verify: non-canonical keys (y ≥ p) are refused, though OpenSSL alone accepts y = p + 1', () => {
    const raw = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(toLe(P + 1n)).toString('base64url') },
      format: 'jwk',
    });
    expect(opensslVerify(null, m, raw, forged(5n))).toBe(true);
    for (let y = P; y < 2n ** 255n; y++) {
      for (const signBit of [0n, 1n << 255n]) {
        expect(verifyBoth(forged(5n), m, toLe(y | signBit))).toEqual([false, false]);
      }
    }
  });

  it('Ed25519 verify, the known difference: a small-order component in R passes noble (cofactored) but not OpenSSL', () => {
    // Only the key's owner can build this: R = [r]B + T8, S = r + k·a. An honest signer never does.
    const { scalar } = ed25519.utils.getExtendedPublicKey(seed);
    const t8 = ed25519.Point.fromBytes(
      hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'),
    );
    const R = ed25519.Point.BASE.multiply(12345n).add(t8).toBytes();
    const k = le(sha512(concatBytes(R, pk, m))) % L;
    const odd = concatBytes(R, toLe((12345n + k * scalar) % L));
    expect(verifyBoth(odd, m, pk)).toEqual([true, false]);
  });

  it('X25519: every low-order u (and its non-canonical and top-bit forms) is refused by both', () => {
    const lowOrder = [
      0n,
      1n,
      P - 1n,
      325606250916557431795983626356110631294008115727848805560023387167927233504n,
      39382357235489614581723060781553021112529911719440698176882885853963445705823n,
    ];
    for (const u of lowOrder) {
      for (const form of [u, u + P, u | (1n << 255n), (u + P) | (1n << 255n)]) {
        // Only forms that still decode to u: the top bit is dropped before reducing mod p.
        if ((form & (2n ** 255n - 1n)) % P !== u) continue;
        const r = both((s) => s.x25519(key('x/secret'), toLe(form)));
        expect(r).toEqual([undefined, undefined]);
      }
    }
  });

  it('X25519: the top bit is ignored and u ≥ p is reduced, in both', () => {
    const sk = key('x/secret');
    const good = nobleSuite.x25519PublicKey(key('x/peer'));
    const expected = bytesToHex(nobleSuite.x25519(sk, good)!);
    const high = good.slice();
    high[31]! |= 0x80;
    expect(both((s) => bytesToHex(s.x25519(sk, high)!))).toEqual([expected, expected]);
    const nine = bytesToHex(nobleSuite.x25519(sk, toLe(9n))!);
    expect(both((s) => bytesToHex(s.x25519(sk, toLe(P + 9n))!))).toEqual([nine, nine]);
  });

  it('X25519: a public key of the wrong length is refused; a bad secret key throws the same error', () => {
    const sk = key('x/secret');
    expect(both((s) => s.x25519(sk, new Uint8Array(31)))).toEqual([undefined, undefined]);
    expect(both((s) => s.x25519(sk, new Uint8Array(33)))).toEqual([undefined, undefined]);
    const [a, b] = both((s) => s.x25519(new Uint8Array(31), nobleSuite.x25519PublicKey(sk)));
    expect(a).toBe('RangeError: "secretKey" expected Uint8Array of length 32, got length=31');
    expect(b).toBe(a);
  });

  it('local misuse throws the same errors in both suites', () => {
    const cases: ((s: CryptoSuite) => unknown)[] = [
      (s) => s.x25519PublicKey(new Uint8Array(31)),
      (s) => s.ed25519PublicKey(new Uint8Array(33)),
      (s) => s.ed25519Sign(m, new Uint8Array(31)),
      (s) => s.ed25519Sign('m' as unknown as Uint8Array, seed),
      (s) => s.aeadEncrypt(new Uint8Array(31), new Uint8Array(12), EMPTY, EMPTY),
      (s) => s.aeadEncrypt(seed, new Uint8Array(8), EMPTY, EMPTY),
      (s) => s.aeadDecrypt(seed, new Uint8Array(12), 'ad' as unknown as Uint8Array, EMPTY),
    ];
    for (const f of cases) {
      const [a, b] = both(f);
      expect(a).toMatch(/^(TypeError|RangeError): "/);
      expect(b).toBe(a);
    }
  });

  it('ChaCha20-Poly1305: tampered ciphertext, tag, nonce, key or associated data, and short input, fail the same way', () => {
    const k = key('aead/key');
    const n = new Uint8Array(12);
    const ad = utf8ToBytes('ad');
    const sealed = nobleSuite.aeadEncrypt(k, n, ad, utf8ToBytes('hello'));
    const flip = (b: Uint8Array, i: number) => {
      const c = b.slice();
      c[i]! ^= 1;
      return c;
    };
    for (const [kk, nn, aa, cc] of [
      [k, n, ad, flip(sealed, 0)],
      [k, n, ad, flip(sealed, sealed.length - 1)],
      [k, flip(n, 11), ad, sealed],
      [flip(k, 3), n, ad, sealed],
      [k, n, EMPTY, sealed],
      [k, n, ad, sealed.subarray(0, 15)],
      [k, n, ad, EMPTY],
      [k, n, ad, sealed.subarray(5)],
    ] as const) {
      expect(both((s) => s.aeadDecrypt(kk, nn, aa, cc))).toEqual([undefined, undefined]);
    }
    // An empty plaintext is just the tag.
    const tagOnly = nobleSuite.aeadEncrypt(k, n, ad, EMPTY);
    expect(both((s) => s.aeadDecrypt(k, n, ad, tagOnly))).toEqual([EMPTY, EMPTY]);
  });
});

describe('nativeSuite caches', () => {
  it('a secret key array modified after use is imported again', () => {
    const seed = key('cache/seed').slice();
    expect(nativeSuite.ed25519PublicKey(seed)).toEqual(nobleSuite.ed25519PublicKey(seed));
    seed[0]! ^= 1;
    expect(nativeSuite.ed25519PublicKey(seed)).toEqual(nobleSuite.ed25519PublicKey(seed));
    expect(nativeSuite.ed25519Sign(EMPTY, seed)).toEqual(nobleSuite.ed25519Sign(EMPTY, seed));
    const x = key('cache/x').slice();
    expect(nativeSuite.x25519PublicKey(x)).toEqual(nobleSuite.x25519PublicKey(x));
    x[5]! ^= 1;
    expect(nativeSuite.x25519PublicKey(x)).toEqual(nobleSuite.x25519PublicKey(x));
  });

  it('verification stays right past the public-key cache size, for valid and refused keys', () => {
    const seeds = Array.from({ length: 20 }, (_, i) => key(`cache/${i}`));
    const signed = seeds.map((s) => ({
      pk: nobleSuite.ed25519PublicKey(s),
      sig: nobleSuite.ed25519Sign(EMPTY, s),
    }));
    const check = () => {
      for (const { pk, sig } of signed) {
        expect(nativeSuite.ed25519Verify(sig, EMPTY, pk)).toBe(true);
        expect(nativeSuite.ed25519Verify(sig, Uint8Array.of(1), pk)).toBe(false);
      }
      // A refused key stays refused when it comes from the cache (second call).
      expect(nativeSuite.ed25519Verify(forged(5n), EMPTY, toLe(1n))).toBe(false);
      expect(nativeSuite.ed25519Verify(forged(5n), EMPTY, toLe(1n))).toBe(false);
    };
    check();
    // Push every key out with junk keys (random bytes, mostly not on the curve), then check again.
    for (let i = 0; i < NATIVE_PUBLIC_KEY_CACHE_SIZE + 10; i++) {
      expect(nativeSuite.ed25519Verify(signed[0]!.sig, EMPTY, key(`junk/${i}`))).toBe(false);
    }
    check();
  });
});

describe('suites in the handshake', () => {
  const ex = VECTORS.example;
  const side = (
    s: typeof ex.initiator,
    role: 'initiator' | 'responder',
    crypto: CryptoSuite,
  ): HandshakeOptions => ({
    role,
    identitySecretKey: hex(s.identitySecretKey),
    staticSecretKey: hex(s.staticSecretKey),
    ephemeralSecretKey: hex(s.ephemeralSecretKey),
    extension: hex(s.extension),
    crypto,
  });

  it.each([
    { i: nativeSuite, r: nativeSuite },
    { i: nobleSuite, r: nativeSuite },
    { i: nativeSuite, r: nobleSuite },
  ])(
    'the worked example (PROTOCOL.md §9.6), initiator $i.name, responder $r.name: same bytes',
    ({ i, r }) => {
      const p = handshakePair(side(ex.initiator, 'initiator', i), side(ex.responder, 'responder', r));
      expect(p.messages.map(bytesToHex)).toEqual(ex.messages);
      expect(bytesToHex(p.init.handshakeHash)).toBe(ex.handshakeHash);
      expect(bytesToHex(p.resp.remoteId)).toBe(ex.initiator.id);
      for (const f of ex.frames.filter((fr) => fr.frame.type === 'gossip')) {
        const [from, to] = f.from === 'initiator' ? [p.init, p.resp] : [p.resp, p.init];
        const sealed = sealFrame(from.send, { type: 'gossip', message: hex(f.frame.message!) });
        expect(sealed.ok && bytesToHex(sealed.bytes)).toBe(f.ciphertext);
        expect(openFrame(to.recv, hex(f.ciphertext)).ok).toBe(true);
      }
    },
  );

  it('identity payloads verify the same in both suites', () => {
    const p = hex(ex.initiator.identityPayload);
    const d = decodeIdentityPayload(p);
    if (!d.ok) throw new Error('vector does not decode');
    expect(both((s) => verifyIdentityPayload(d.payload, hex(ex.initiator.staticPublicKey), s))).toEqual([
      true,
      true,
    ]);
    expect(both((s) => verifyIdentityPayload(d.payload, hex(ex.responder.staticPublicKey), s))).toEqual([
      false,
      false,
    ]);
    expect(both((s) => verifyIdentityPayload(d.payload, new Uint8Array(31), s))).toEqual([false, false]);
  });

  it('a low-order ephemeral key fails message 1 as bad-key in both suites', () => {
    for (const crypto of SUITES) {
      const responder = new Handshake(sideOptions('bob', 'responder', 0, { crypto }));
      expect(responder.receive(new Uint8Array(32))).toEqual({ error: 'bad-key' });
    }
  });
});

describe('choosing a suite', () => {
  it('defaultSuite() is OpenSSL on this Node', () => {
    expect(defaultSuite()).toBe(nativeSuite);
  });

  it('isCryptoSuite accepts both suites and refuses partial objects', () => {
    expect(isCryptoSuite(nobleSuite) && isCryptoSuite(nativeSuite)).toBe(true);
    expect(isCryptoSuite({ ...nobleSuite, aeadDecrypt: undefined })).toBe(false);
    expect(isCryptoSuite(null)).toBe(false);
  });

  it('Gossip.create refuses a crypto option that is not a suite', async () => {
    await expect(Gossip.create({ crypto: {} as CryptoSuite, listen: null })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });
});
