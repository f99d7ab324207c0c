import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import {
  deriveMinuteKeys,
  encodeRecordBody,
  encodeSignedRecord,
  hashSecret,
  MAX_SEALED_RECORD_BYTES,
  type MinuteKeys,
  maxSealedRecordSize,
  openRecord,
  RECORD_REJECT_REASONS,
  RECORD_SIGNATURE_DOMAIN,
  SEAL_OVERHEAD,
  sealRecord,
  signRecord,
} from '../../src/crypto/index.js';
import { MAX_VALUE_BYTES } from '../../src/dht/bep44.js';
import {
  bytes,
  keysAt,
  MINUTE,
  makeBody,
  makeRecord,
  OTHER_PUBLISHER,
  OTHER_TOPIC,
  PUBLISHER,
  TOPIC,
  worstCaseBody,
} from './fixtures.js';
import { ed25519Sign, hex, utf8, xchachaDecrypt, xchachaEncrypt } from './reference.js';

const NONCE = bytes(24, 0x5a);
const KEYS = keysAt();

/** Seals arbitrary plaintext under `keys` directly, bypassing sealRecord's checks. */
function sealRaw(plaintext: Uint8Array, keys: MinuteKeys = KEYS, nonce = NONCE): Uint8Array {
  return new Uint8Array([...nonce, ...xchacha20poly1305(keys.sealKey, nonce).encrypt(plaintext)]);
}

describe('sealRecord', () => {
  it('is nonce || XChaCha20-Poly1305(sealKey, nonce, record), as node:crypto computes it', () => {
    const rec = makeRecord();
    const sealed = sealRecord(rec, KEYS, NONCE);
    const plaintext = encodeSignedRecord(rec);
    expect(sealed).toHaveLength(plaintext.length + SEAL_OVERHEAD);
    expect(hex(sealed.subarray(0, 24))).toBe(hex(NONCE));
    expect(hex(sealed.subarray(24))).toBe(hex(xchachaEncrypt(KEYS.sealKey, NONCE, plaintext)));
    expect(hex(xchachaDecrypt(KEYS.sealKey, NONCE, sealed.subarray(24)))).toBe(hex(plaintext));
  });

  it('opens what it seals, also from a Buffer (as bittorrent-dht returns values)', () => {
    const rec = makeRecord();
    const sealed = sealRecord(rec, KEYS, NONCE);
    expect(openRecord(sealed, KEYS)).toEqual({ ok: true, record: rec });
    expect(openRecord(Buffer.from(sealed), KEYS)).toEqual({ ok: true, record: rec });
  });

  it('fits the largest record into the BEP 44 budget', () => {
    const rec = signRecord(worstCaseBody(), PUBLISHER.secretKey);
    const sealed = sealRecord(rec, KEYS, NONCE);
    expect(encodeSignedRecord(rec)).toHaveLength(942);
    expect(sealed.length).toBe(maxSealedRecordSize());
    expect(sealed.length).toBe(982);
    expect(sealed.length).toBeLessThanOrEqual(MAX_SEALED_RECORD_BYTES);
    // A bencoded BEP 44 value "<len>:<bytes>" must stay within 1000 bytes.
    expect(`${sealed.length}:`.length + sealed.length).toBeLessThanOrEqual(1000);
    expect(openRecord(sealed, KEYS).ok).toBe(true);
    // src/crypto may not import src/dht: the two copies of the bound agree.
    expect(MAX_SEALED_RECORD_BYTES).toBe(MAX_VALUE_BYTES);
  });

  it('refuses to seal under keys of another topic or minute', () => {
    expect(() => sealRecord(makeRecord(), keysAt(MINUTE + 1), NONCE)).toThrow(
      new RangeError(`"record.minute" expected ${MINUTE + 1} (the minute of "keys"), got ${MINUTE}`),
    );
    expect(() => sealRecord(makeRecord(), keysAt(MINUTE, true, OTHER_TOPIC), NONCE)).toThrow(
      new RangeError('"record.topic" expected the topic of "keys", got another topic'),
    );
  });

  it('validates nonce, keys and record', () => {
    expect(() => sealRecord(makeRecord(), KEYS, bytes(12))).toThrow(
      new RangeError('"nonce" expected Uint8Array of length 24, got length=12'),
    );
    expect(() => sealRecord(makeRecord(), {} as MinuteKeys, NONCE)).toThrow(
      new TypeError('"keys.topic" expected Uint8Array of length 32, got type=undefined'),
    );
    expect(() => sealRecord({ ...makeRecord(), signature: bytes(1) }, KEYS, NONCE)).toThrow(
      new RangeError('"signature" expected Uint8Array of length 64, got length=1'),
    );
  });
});

describe('openRecord: one test per reject reason, with real bytes', () => {
  const rec = makeRecord();
  const sealed = sealRecord(rec, KEYS, NONCE);

  it('lists every reason in check order', () => {
    expect(RECORD_REJECT_REASONS).toEqual([
      'malformed',
      'oversize',
      'truncated',
      'undecryptable',
      'unknown-version',
      'wrong-topic',
      'wrong-minute',
      'bad-signature',
    ]);
  });

  it('malformed: not bytes', () => {
    for (const v of [null, undefined, 'x', 5, {}, [1, 2, 3], hex(sealed)]) {
      expect(openRecord(v, KEYS)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('oversize: longer than 996 bytes, checked before anything else', () => {
    expect(openRecord(new Uint8Array(997), KEYS)).toEqual({ ok: false, reason: 'oversize' });
    expect(openRecord(new Uint8Array(996), KEYS)).toEqual({ ok: false, reason: 'undecryptable' });
  });

  it('truncated: shorter than nonce + tag + 1', () => {
    expect(openRecord(new Uint8Array(0), KEYS)).toEqual({ ok: false, reason: 'truncated' });
    expect(openRecord(sealed.subarray(0, 40), KEYS)).toEqual({ ok: false, reason: 'truncated' });
    expect(openRecord(sealed.subarray(0, 41), KEYS)).toEqual({ ok: false, reason: 'undecryptable' });
  });

  it('undecryptable: another secret, no secret, another topic, another minute, a cut value', () => {
    expect(openRecord(sealed, keysAt(MINUTE, false))).toEqual({ ok: false, reason: 'undecryptable' });
    expect(openRecord(sealRecord(rec, keysAt(MINUTE, false), NONCE), KEYS)).toEqual({
      ok: false,
      reason: 'undecryptable',
    });
    expect(openRecord(sealed, keysAt(MINUTE, true, OTHER_TOPIC))).toEqual({
      ok: false,
      reason: 'undecryptable',
    });
    expect(openRecord(sealed, keysAt(MINUTE + 1))).toEqual({ ok: false, reason: 'undecryptable' });
    expect(openRecord(sealed.subarray(0, sealed.length - 1), KEYS)).toEqual({
      ok: false,
      reason: 'undecryptable',
    });
  });

  it('undecryptable: a record sealed with a different topic secret', () => {
    const other = deriveMinuteKeys(TOPIC, MINUTE, { secretHash: hashSecret('not the test secret') });
    expect(hex(other.sealKey)).not.toBe(hex(KEYS.sealKey));
    expect(openRecord(sealRecord(rec, other, NONCE), KEYS)).toEqual({ ok: false, reason: 'undecryptable' });
  });

  it('unknown-version: version 2 sealed under the right key', () => {
    const plaintext = encodeSignedRecord(rec);
    plaintext[0] = 2;
    expect(openRecord(sealRaw(plaintext), KEYS)).toEqual({ ok: false, reason: 'unknown-version' });
    expect(openRecord(sealRaw(Uint8Array.of(2)), KEYS)).toEqual({ ok: false, reason: 'unknown-version' });
  });

  it('malformed: bad structure sealed under the right key', () => {
    const plaintext = encodeSignedRecord(rec);
    expect(openRecord(sealRaw(plaintext.subarray(0, 100)), KEYS)).toEqual({ ok: false, reason: 'malformed' });
    expect(openRecord(sealRaw(new Uint8Array([...plaintext, 0])), KEYS)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it("wrong-topic: another topic's record sealed under this topic's key", () => {
    const foreign = signRecord(makeBody({ topic: OTHER_TOPIC.hash }), PUBLISHER.secretKey);
    expect(openRecord(sealRaw(encodeSignedRecord(foreign)), KEYS)).toEqual({
      ok: false,
      reason: 'wrong-topic',
    });
  });

  it("wrong-minute: another minute's record re-sealed under this minute's key", () => {
    const old = signRecord(makeBody({ minute: MINUTE - 1 }), PUBLISHER.secretKey);
    const oldSealed = sealRecord(old, keysAt(MINUTE - 1), NONCE);
    expect(openRecord(oldSealed, keysAt(MINUTE - 1)).ok).toBe(true);
    // Anyone holding both minutes' keys can re-seal it; the signed minute gives it away.
    const plaintext = xchacha20poly1305(keysAt(MINUTE - 1).sealKey, NONCE).decrypt(oldSealed.subarray(24));
    expect(openRecord(sealRaw(plaintext), KEYS)).toEqual({ ok: false, reason: 'wrong-minute' });
  });

  it('bad-signature: signed by a key other than its publisher field', () => {
    const body = encodeRecordBody(rec);
    const sig = ed25519Sign(
      OTHER_PUBLISHER.secretKey,
      new Uint8Array([...utf8(RECORD_SIGNATURE_DOMAIN), 0, ...body]),
    );
    expect(openRecord(sealRaw(new Uint8Array([...body, ...sig])), KEYS)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('bad-signature: a field changed after signing', () => {
    const plaintext = encodeSignedRecord(rec);
    plaintext[plaintext.length - 65]! ^= 1; // last byte of the last message id
    expect(openRecord(sealRaw(plaintext), KEYS)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('accepts a record of a public topic under public keys', () => {
    const keys = keysAt(MINUTE, false);
    expect(openRecord(sealRecord(rec, keys, NONCE), keys)).toEqual({ ok: true, record: rec });
  });

  it('throws TypeError for keys that are not MinuteKeys (a local bug)', () => {
    expect(() => openRecord(sealed, null as unknown as MinuteKeys)).toThrow(
      new TypeError('"keys" expected object, got type=null'),
    );
    expect(() => openRecord(sealed, { ...KEYS, sealKey: bytes(16) })).toThrow(
      new RangeError('"keys.sealKey" expected Uint8Array of length 32, got length=16'),
    );
  });

  it('rejects every single bit flip of a sealed value', () => {
    const small = sealRecord(makeRecord({ addresses: [], peers: [], messageIds: [] }), KEYS, NONCE);
    const seen = new Set<string>();
    for (let bit = 0; bit < small.length * 8; bit++) {
      const v = small.slice();
      v[bit >> 3]! ^= 1 << (bit & 7);
      const out = openRecord(v, KEYS);
      expect(out.ok, `bit ${bit}`).toBe(false);
      if (!out.ok) seen.add(out.reason);
    }
    expect([...seen]).toEqual(['undecryptable']);
  });
});
