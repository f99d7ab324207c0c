import { hkdfSync } from 'node:crypto';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  CipherState,
  MAX_NONCE,
  NOISE_MAX_MESSAGE_BYTES,
  NOISE_PROTOCOL_NAME,
  NoiseStateError,
  NoiseXX,
  nativeSuite,
  nobleSuite,
  x25519PublicKey,
} from '../../src/net/index.js';
import { noiseHkdf } from '../../src/net/noise.js';
import { key, VECTORS } from './helpers.js';
import { refAead, refX25519Public, refXX } from './reference.js';

const EMPTY = new Uint8Array(0);

function pair(prologueI?: Uint8Array, prologueR?: Uint8Array) {
  const i = new NoiseXX({
    role: 'initiator',
    staticSecretKey: key('i/s'),
    ephemeralSecretKey: key('i/e'),
    ...(prologueI ? { prologue: prologueI } : {}),
  });
  const r = new NoiseXX({
    role: 'responder',
    staticSecretKey: key('r/s'),
    ephemeralSecretKey: key('r/e'),
    ...(prologueR ? { prologue: prologueR } : {}),
  });
  return { i, r };
}

describe('Noise_XX_25519_ChaChaPoly_SHA256 published vectors', () => {
  it('names its source', () => {
    expect(VECTORS.source).toMatch(/cacophony/);
    expect(VECTORS.noise.map((v) => v.name)).toEqual(['cacophony', 'snow']);
  });

  // The default (@noble, the reference) and OpenSSL (what the transport uses) give the same bytes.
  const cases = VECTORS.noise.flatMap((v) => [
    { ...v, suite: undefined, suiteName: 'default' },
    { ...v, suite: nativeSuite, suiteName: nativeSuite.name },
  ]);
  it.each(cases)(
    '$name ($suiteName suite): handshake, hash and transport messages match byte for byte',
    (v) => {
      expect(v.protocol_name).toBe(NOISE_PROTOCOL_NAME);
      const crypto = v.suite === undefined ? {} : { crypto: v.suite };
      const i = new NoiseXX({
        role: 'initiator',
        staticSecretKey: hexToBytes(v.init_static),
        ephemeralSecretKey: hexToBytes(v.init_ephemeral),
        prologue: hexToBytes(v.init_prologue),
        ...crypto,
      });
      const r = new NoiseXX({
        role: 'responder',
        staticSecretKey: hexToBytes(v.resp_static),
        ephemeralSecretKey: hexToBytes(v.resp_ephemeral),
        prologue: hexToBytes(v.resp_prologue),
        ...crypto,
      });
      v.messages.forEach((m, n) => {
        const [writer, reader] = n % 2 === 0 ? [i, r] : [r, i];
        const payload = hexToBytes(m.payload);
        if (n < 3) {
          const out = writer.writeMessage(payload);
          expect(bytesToHex(out), `message ${n + 1}`).toBe(m.ciphertext);
          expect(reader.readMessage(out)).toEqual({ ok: true, payload });
          return;
        }
        const enc = writer.result().send.encryptWithAd(EMPTY, payload);
        expect(enc.ok && bytesToHex(enc.ciphertext), `transport ${n + 1}`).toBe(m.ciphertext);
        expect(reader.result().recv.decryptWithAd(EMPTY, hexToBytes(m.ciphertext))).toEqual({
          ok: true,
          plaintext: payload,
        });
      });
      expect(i.result().handshakeHash).toEqual(r.result().handshakeHash);
      if (v.handshake_hash) expect(bytesToHex(i.result().handshakeHash)).toBe(v.handshake_hash);
      expect(i.result().remoteStatic).toEqual(x25519PublicKey(hexToBytes(v.resp_static)));
      expect(r.result().remoteStatic).toEqual(
        x25519PublicKey(hexToBytes(v.init_static), v.suite ?? nobleSuite),
      );
    },
  );

  it.each(VECTORS.noise)('$name: the node:crypto reference agrees with the vector too', (v) => {
    const ref = refXX({
      prologue: hexToBytes(v.init_prologue),
      initStatic: hexToBytes(v.init_static),
      initEphemeral: hexToBytes(v.init_ephemeral),
      respStatic: hexToBytes(v.resp_static),
      respEphemeral: hexToBytes(v.resp_ephemeral),
      payloads: [0, 1, 2].map((n) => hexToBytes(v.messages[n]!.payload)) as [
        Uint8Array,
        Uint8Array,
        Uint8Array,
      ],
    });
    expect(ref.messages.map((m) => m.toString('hex'))).toEqual(
      v.messages.slice(0, 3).map((m) => m.ciphertext),
    );
  });
});

describe('Noise primitives against node:crypto', () => {
  it('HKDF (§4.3) equals RFC 5869 HKDF-SHA256 with salt = ck, empty info', () => {
    for (const [ck, ikm] of [
      [key('ck1'), key('ikm1')],
      [key('ck2'), EMPTY],
      [new Uint8Array(32), utf8ToBytes('x'.repeat(100))],
    ] as const) {
      const [a, b] = noiseHkdf(ck, ikm);
      const ossl = new Uint8Array(hkdfSync('sha256', ikm, ck, EMPTY, 64));
      expect(bytesToHex(a) + bytesToHex(b)).toBe(bytesToHex(ossl));
    }
  });

  it('X25519 public keys match OpenSSL', () => {
    for (const l of ['a', 'b', 'c'])
      expect(x25519PublicKey(key(l))).toEqual(new Uint8Array(refX25519Public(key(l))));
  });

  it('CipherState nonces are 4 zero bytes || u64 little-endian (checked at n = 0, 1 and 2^40+5)', () => {
    const k = key('k');
    const cs = new CipherState(k);
    for (const n of [0, 1]) {
      const r = cs.encryptWithAd(utf8ToBytes('ad'), utf8ToBytes('hi'));
      expect(r.ok && Buffer.from(r.ciphertext)).toEqual(
        refAead(Buffer.from(k), n, Buffer.from('ad'), Buffer.from('hi')),
      );
    }
    cs.setNonce(2n ** 40n + 5n);
    const r = cs.encryptWithAd(EMPTY, utf8ToBytes('x'));
    expect(r.ok && Buffer.from(r.ciphertext)).toEqual(
      refAead(Buffer.from(k), 2 ** 40 + 5, Buffer.alloc(0), Buffer.from('x')),
    );
  });
});

describe('CipherState', () => {
  it('without a key passes plaintext through', () => {
    const cs = new CipherState();
    expect(cs.hasKey()).toBe(false);
    expect(cs.encryptWithAd(EMPTY, utf8ToBytes('p'))).toEqual({ ok: true, ciphertext: utf8ToBytes('p') });
  });

  it('a failed decryption does not advance the nonce', () => {
    const a = new CipherState(key('k'));
    const b = new CipherState(key('k'));
    const c = a.encryptWithAd(EMPTY, utf8ToBytes('one'));
    if (!c.ok) throw new Error();
    const bad = c.ciphertext.slice();
    bad[0]! ^= 1;
    expect(b.decryptWithAd(EMPTY, bad)).toEqual({ ok: false, reason: 'tampered' });
    expect(b.decryptWithAd(EMPTY, new Uint8Array(5))).toEqual({ ok: false, reason: 'tampered' });
    expect(b.nonce).toBe(0n);
    expect(b.decryptWithAd(EMPTY, c.ciphertext)).toEqual({ ok: true, plaintext: utf8ToBytes('one') });
    expect(b.nonce).toBe(1n);
  });

  it('never uses the reserved nonce 2^64-1 (§5.1)', () => {
    const a = new CipherState(key('k'));
    const b = new CipherState(key('k'));
    a.setNonce(MAX_NONCE - 1n);
    b.setNonce(MAX_NONCE - 1n);
    const last = a.encryptWithAd(EMPTY, utf8ToBytes('last'));
    expect(last.ok).toBe(true);
    expect(a.encryptWithAd(EMPTY, utf8ToBytes('more'))).toEqual({ ok: false, reason: 'nonce-exhausted' });
    if (last.ok) expect(b.decryptWithAd(EMPTY, last.ciphertext).ok).toBe(true);
    expect(b.decryptWithAd(EMPTY, new Uint8Array(20))).toEqual({ ok: false, reason: 'nonce-exhausted' });
    expect(() => a.setNonce(MAX_NONCE + 1n)).toThrow(RangeError);
  });

  it('rekey (§4.2) changes the key the same way on both ends', () => {
    const a = new CipherState(key('k'));
    const b = new CipherState(key('k'));
    a.rekey();
    b.rekey();
    const c = a.encryptWithAd(EMPTY, utf8ToBytes('after'));
    if (!c.ok) throw new Error();
    expect(b.decryptWithAd(EMPTY, c.ciphertext).ok).toBe(true);
    expect(new CipherState(key('k')).decryptWithAd(EMPTY, c.ciphertext).ok).toBe(false);
    expect(() => new CipherState().rekey()).toThrow(NoiseStateError);
  });

  it('rejects a key of the wrong length with a noble-style message', () => {
    expect(() => new CipherState(new Uint8Array(31))).toThrow(
      '"key" expected Uint8Array of length 32, got length=31',
    );
  });
});

describe('NoiseXX static key', () => {
  /** nobleSuite, recording every secret key array that `x25519PublicKey` is given. */
  function spySuite() {
    const seen: Uint8Array[] = [];
    const suite = {
      ...nobleSuite,
      x25519PublicKey(secretKey: Uint8Array) {
        seen.push(secretKey);
        return nobleSuite.x25519PublicKey(secretKey);
      },
    };
    return { suite, seen };
  }

  it('hands the suite one copy of a static key across handshakes, so its key import is reused', () => {
    // nativeSuite caches an imported key per array (src/native/crypto.ts): a fresh copy per
    // handshake imported the node's static key again every time.
    const { suite, seen } = spySuite();
    const s = key('i/s');
    const hs = [1, 2, 3].map(
      (n) =>
        new NoiseXX({
          role: 'initiator',
          staticSecretKey: s,
          ephemeralSecretKey: key(`e${n}`),
          crypto: suite,
        }),
    );
    const statics = seen.filter((a) => bytesToHex(a) === bytesToHex(s));
    expect(statics).toHaveLength(3);
    expect(statics[1]).toBe(statics[0]);
    expect(statics[2]).toBe(statics[0]);
    expect(statics[0]).not.toBe(s); // a copy: the caller cannot change it under a handshake
    expect(hs.map((h) => bytesToHex(h.localStatic))).toEqual(Array(3).fill(bytesToHex(refX25519Public(s))));
  });

  it('takes the new bytes of a static key changed between handshakes, and the old copy stays as it was', () => {
    const { suite, seen } = spySuite();
    const s = key('i/s');
    const before = new NoiseXX({
      role: 'initiator',
      staticSecretKey: s,
      ephemeralSecretKey: key('e1'),
      crypto: suite,
    });
    const first = seen.find((a) => bytesToHex(a) === bytesToHex(s))!;
    const old = bytesToHex(s);
    s.set(key('r/s'));
    const after = new NoiseXX({
      role: 'initiator',
      staticSecretKey: s,
      ephemeralSecretKey: key('e2'),
      crypto: suite,
    });
    expect(bytesToHex(first)).toBe(old);
    expect(bytesToHex(before.localStatic)).toBe(bytesToHex(refX25519Public(hexToBytes(old))));
    expect(bytesToHex(after.localStatic)).toBe(bytesToHex(refX25519Public(key('r/s'))));
  });
});

describe('NoiseXX state machine', () => {
  it('agrees on keys and hash; split directions are crossed', () => {
    const { i, r } = pair();
    r.readMessage(i.writeMessage());
    i.readMessage(r.writeMessage());
    expect(r.readMessage(i.writeMessage()).ok).toBe(true);
    expect(i.finished && r.finished).toBe(true);
    expect(i.result().handshakeHash).toEqual(r.result().handshakeHash);
    const c = i.result().send.encryptWithAd(EMPTY, utf8ToBytes('x'));
    expect(c.ok && r.result().recv.decryptWithAd(EMPTY, c.ciphertext)).toEqual({
      ok: true,
      plaintext: utf8ToBytes('x'),
    });
  });

  it('different prologues fail at message 2 as tampered', () => {
    const { i, r } = pair(utf8ToBytes('a'), utf8ToBytes('b'));
    r.readMessage(i.writeMessage());
    expect(i.readMessage(r.writeMessage())).toEqual({ ok: false, reason: 'tampered' });
    expect(i.failed).toBe(true);
    expect(() => i.writeMessage()).toThrow(NoiseStateError);
  });

  it('out-of-turn writes throw; out-of-turn reads are refused', () => {
    const { i, r } = pair();
    expect(() => r.writeMessage()).toThrow(NoiseStateError);
    expect(i.readMessage(new Uint8Array(32))).toEqual({ ok: false, reason: 'unexpected-message' });
    expect(() => i.result()).toThrow(NoiseStateError);
  });

  it('refuses short, oversize and low-order input', () => {
    expect(pair().r.readMessage(new Uint8Array(31))).toEqual({ ok: false, reason: 'malformed' });
    expect(pair().r.readMessage(new Uint8Array(NOISE_MAX_MESSAGE_BYTES + 1))).toEqual({
      ok: false,
      reason: 'oversize',
    });
    // The all-zero point has order 1: every DH with it is zero.
    expect(pair().r.readMessage(new Uint8Array(32))).toEqual({ ok: false, reason: 'bad-key' });
    const { i, r } = pair();
    r.readMessage(i.writeMessage());
    const m2 = r.writeMessage();
    expect(i.readMessage(m2.subarray(0, 32 + 48 + 15))).toEqual({ ok: false, reason: 'malformed' });
  });
});
