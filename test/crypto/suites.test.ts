/**
 * Records with either crypto suite: `signRecord`, `verifyRecordSignature` and `openRecord` give the
 * same signatures and the same verdicts with `nobleSuite` (the default, @noble) and `nativeSuite`
 * (OpenSSL, what the record store uses through its Dht), on every vector of
 * test/vectors/record-v1.json and on records that must fail.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type Address,
  deriveMinuteKeys,
  encodeRecordBody,
  encodeSignedRecord,
  hashSecret,
  keyPairFromSeed,
  openRecord,
  RECORD_SIGNATURE_DOMAIN,
  type RecordBody,
  sealRecord,
  signRecord,
  TopicId,
  verifyRecordSignature,
} from '../../src/crypto/index.js';
import { type CryptoSuite, nobleSuite } from '../../src/crypto/suite.js';
import { nativeSuite } from '../../src/native/crypto.js';
import { bytes, keysAt, makeBody, OTHER_PUBLISHER, PUBLISHER } from './fixtures.js';
import { ed25519Sign, hex, unhex, utf8, type VectorInput, xchachaEncrypt } from './reference.js';

const file = JSON.parse(readFileSync(new URL('../vectors/record-v1.json', import.meta.url), 'utf8')) as {
  vectors: { name: string; input: VectorInput; output: { signature: string; sealed: string } }[];
};

const SUITES: readonly CryptoSuite[] = [nobleSuite, nativeSuite];

/** `f` with each suite, or the error each threw. */
function both<T>(f: (s: CryptoSuite) => T): (T | string)[] {
  return SUITES.map((s) => {
    try {
      return f(s);
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  });
}

describe.each(file.vectors)('vector $name', ({ input, output }) => {
  const topic = TopicId.fromName(input.topicName);
  const keys = deriveMinuteKeys(topic, input.minute, {
    secretHash: input.secret === null ? undefined : hashSecret(input.secret),
  });
  const seed = unhex(input.publisherSeed);
  const body: RecordBody = {
    topic: topic.hash,
    minute: input.minute,
    publisher: keyPairFromSeed(seed).publicKey,
    addresses: input.addresses as Address[],
    peers: input.peers.map((p) => ({ id: unhex(p.id), addresses: p.addresses as Address[] })),
    messageIds: input.messageIds.map(unhex),
  };

  it.each(SUITES)('signs to the vector signature and sealed bytes with $name', (suite) => {
    const rec = signRecord(body, seed, suite);
    expect(hex(rec.signature)).toBe(output.signature);
    expect(hex(sealRecord(rec, keys, unhex(input.nonce)))).toBe(output.sealed);
    expect(verifyRecordSignature(rec, suite)).toBe(true);
  });

  it('opens the vector to the same record with either suite', () => {
    const [noble, native] = both((s) => openRecord(unhex(output.sealed), keys, s));
    expect(noble).toMatchObject({ ok: true });
    expect(native).toEqual(noble);
    expect(noble).toEqual(openRecord(unhex(output.sealed), keys));
  });

  it('refuses the vector as bad-signature in both when its signature or a signed byte changes', () => {
    const rec = signRecord(body, seed);
    const plaintext = encodeSignedRecord(rec);
    // The last signature byte, a byte of S, a byte of R, and the last body byte.
    for (const at of [
      plaintext.length - 1,
      plaintext.length - 20,
      plaintext.length - 60,
      plaintext.length - 65,
    ]) {
      const bad = plaintext.slice();
      bad[at]! ^= 0x01;
      const sealed = new Uint8Array([
        ...unhex(input.nonce),
        ...xchachaEncrypt(keys.sealKey, unhex(input.nonce), bad),
      ]);
      const verdicts = both((s) => openRecord(sealed, keys, s));
      // A flipped body byte may also break the structure (malformed); whatever it is, both agree.
      expect(verdicts[1], `byte ${at}`).toEqual(verdicts[0]);
      expect(verdicts[0], `byte ${at}`).toMatchObject({ ok: false });
    }
  });
});

describe('signing and verifying records with either suite', () => {
  it('a record signed by another key than its publisher fails in both', () => {
    const body = makeBody();
    const message = new Uint8Array([...utf8(RECORD_SIGNATURE_DOMAIN), 0, ...encodeRecordBody(body)]);
    const forged = { ...body, signature: ed25519Sign(OTHER_PUBLISHER.secretKey, message) };
    expect(both((s) => verifyRecordSignature(forged, s))).toEqual([false, false]);
    const keys = keysAt();
    const sealed = sealRecord(forged, keys, bytes(24, 3));
    expect(both((s) => openRecord(sealed, keys, s))).toEqual([
      { ok: false, reason: 'bad-signature' },
      { ok: false, reason: 'bad-signature' },
    ]);
  });

  it('a signature of the wrong length, or a small-order publisher key, is false in both, never thrown', () => {
    const rec = signRecord(makeBody(), PUBLISHER.secretKey);
    expect(both((s) => verifyRecordSignature({ ...rec, signature: rec.signature.subarray(1) }, s))).toEqual([
      false,
      false,
    ]);
    // The identity point (y = 1) as publisher, R = the identity and S = 0: [S]B = R + [k]A holds for
    // every message, so only the small-order key check refuses it.
    const identity = bytes(32);
    identity[0] = 1;
    const signature = new Uint8Array(64);
    signature.set(identity);
    const forged = { ...makeBody({ publisher: identity }), signature };
    expect(both((s) => verifyRecordSignature(forged, s))).toEqual([false, false]);
  });

  it('signRecord throws the same errors with either suite', () => {
    const cases: ((s: CryptoSuite) => unknown)[] = [
      (s) => signRecord(makeBody(), OTHER_PUBLISHER.secretKey, s),
      (s) => signRecord(makeBody(), bytes(31), s),
      (s) => signRecord(makeBody(), 'seed' as unknown as Uint8Array, s),
      (s) => signRecord(makeBody({ minute: -1 }), PUBLISHER.secretKey, s),
    ];
    for (const f of cases) {
      const [a, b] = both(f);
      expect(a).toMatch(/^(TypeError|RangeError): "/);
      expect(b).toBe(a);
    }
  });
});
