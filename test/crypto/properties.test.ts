import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeRecord,
  deriveMinuteKeys,
  encodeSignedRecord,
  MAX_SEALED_RECORD_BYTES,
  type MinuteKeys,
  maxSealedRecordSize,
  openRecord,
  RECORD_REJECT_REASONS,
  type RecordBody,
  type SignedRecord,
  sealRecord,
  signRecord,
  TopicId,
  verifyRecordSignature,
} from '../../src/crypto/index.js';
import { arbBody, arbBytes, PUBLISHER, SECRET_HASH } from './fixtures.js';

/** Keys matching a body's topic and minute. */
function keysFor(body: RecordBody, secret: boolean): MinuteKeys {
  return deriveMinuteKeys(
    TopicId.fromHash(body.topic),
    body.minute,
    secret ? { secretHash: SECRET_HASH } : {},
  );
}

const sign = (body: RecordBody): SignedRecord => signRecord(body, PUBLISHER.secretKey);

/** A mutation of a byte string: flip one bit, cut it short, or append bytes. */
type Mutation =
  | { kind: 'flip'; at: number }
  | { kind: 'cut'; at: number }
  | { kind: 'extend'; extra: Uint8Array };
const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
);
function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'flip': {
      const c = b.slice();
      const bit = m.at % (b.length * 8);
      c[bit >> 3]! ^= 1 << (bit & 7);
      return c;
    }
    case 'cut':
      return b.subarray(0, m.at % b.length);
    case 'extend':
      return new Uint8Array([...b, ...m.extra]);
  }
}

const REASONS: readonly string[] = RECORD_REJECT_REASONS;
const RUNS = { numRuns: 100 };

describe('records (property)', () => {
  it('decode(encode(sign(body))) is the signed record, and it verifies', () => {
    fc.assert(
      fc.property(arbBody, (body) => {
        const rec = sign(body);
        const bytes = encodeSignedRecord(rec);
        const out = decodeRecord(bytes);
        expect(out).toEqual({ ok: true, record: rec });
        if (out.ok) {
          expect(verifyRecordSignature(out.record)).toBe(true);
          expect(encodeSignedRecord(out.record)).toEqual(bytes);
        }
      }),
      RUNS,
    );
  });

  it('seal then open gives the record back, within the size budget', () => {
    fc.assert(
      fc.property(arbBody, fc.boolean(), arbBytes(24), (body, secret, nonce) => {
        const keys = keysFor(body, secret);
        const rec = sign(body);
        const sealed = sealRecord(rec, keys, nonce);
        expect(sealed.length).toBeLessThanOrEqual(maxSealedRecordSize());
        expect(sealed.length).toBeLessThanOrEqual(MAX_SEALED_RECORD_BYTES);
        expect(openRecord(sealed, keys)).toEqual({ ok: true, record: rec });
      }),
      RUNS,
    );
  });

  it('decodeRecord never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1100 }), (b) => {
        const out = decodeRecord(b);
        if (!out.ok) expect(['malformed', 'unknown-version']).toContain(out.reason);
      }),
      { numRuns: 500 },
    );
  });

  it('decodeRecord never throws on random bytes that start like a v1 record', () => {
    const arb = fc
      .tuple(
        fc.uint8Array({ minLength: 70, maxLength: 70 }),
        fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 30 }),
        fc.uint8Array({ maxLength: 400 }),
      )
      .map(([head, small, tail]) => new Uint8Array([1, ...head.subarray(1), ...small, ...tail]));
    fc.assert(
      fc.property(arb, (b) => {
        const out = decodeRecord(b);
        if (out.ok) expect(verifyRecordSignature(out.record)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('openRecord never throws on random values and returns a listed reason', () => {
    const keys = keysFor({ topic: new Uint8Array(32), minute: 1 } as RecordBody, true);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 1100 }), fc.anything()), (v) => {
        const out = openRecord(v, keys);
        expect(out.ok).toBe(false);
        if (!out.ok) expect(REASONS).toContain(out.reason);
      }),
      { numRuns: 300 },
    );
  });

  it('openRecord never throws on random plaintexts sealed under the right key', () => {
    fc.assert(
      fc.property(arbBody, fc.uint8Array({ maxLength: 900 }), fc.boolean(), (body, junk, v1) => {
        const keys = keysFor(body, true);
        const plaintext = v1 ? new Uint8Array([1, ...junk]) : junk;
        const nonce = new Uint8Array(24);
        const value = new Uint8Array([
          ...nonce,
          ...xchacha20poly1305(keys.sealKey, nonce).encrypt(plaintext),
        ]);
        const out = openRecord(value, keys);
        expect(out.ok).toBe(false);
        if (!out.ok) expect(REASONS).toContain(out.reason);
      }),
      RUNS,
    );
  });

  it('a mutated sealed value is always rejected, and never throws', () => {
    fc.assert(
      fc.property(arbBody, arbMutation, (body, m) => {
        const keys = keysFor(body, true);
        const sealed = sealRecord(sign(body), keys, new Uint8Array(24).fill(9));
        const out = openRecord(mutate(sealed, m), keys);
        expect(out.ok).toBe(false);
        if (!out.ok) expect(REASONS).toContain(out.reason);
      }),
      RUNS,
    );
  });

  it('any single bit flip in a sealed value is rejected', () => {
    fc.assert(
      fc.property(arbBody, fc.nat(), (body, at) => {
        const keys = keysFor(body, false);
        const sealed = sealRecord(sign(body), keys, new Uint8Array(24));
        expect(openRecord(mutate(sealed, { kind: 'flip', at }), keys)).toEqual({
          ok: false,
          reason: 'undecryptable',
        });
      }),
      RUNS,
    );
  });

  it('a mutated plaintext never decodes to a record that verifies', () => {
    fc.assert(
      fc.property(arbBody, arbMutation, (body, m) => {
        const bytes = encodeSignedRecord(sign(body));
        const out = decodeRecord(mutate(bytes, m));
        if (out.ok) expect(verifyRecordSignature(out.record)).toBe(false);
      }),
      RUNS,
    );
  });
});
