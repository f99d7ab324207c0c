import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_VALUE_BYTES,
  normaliseSalt,
  readReplyItem,
  signable,
  signMutable,
  targetOf,
  verifyMutable,
} from '../../src/dht/bep44.js';
import { randomKeys, utf8 } from '../helpers/dht.js';

interface Vector {
  name: string;
  publicKey: string;
  salt?: string;
  value: string;
  seq: number;
  signable: string;
  target: string;
  signature: string;
}

const vectors = JSON.parse(readFileSync(new URL('../vectors/bep44.json', import.meta.url), 'utf8')) as {
  source: string;
  mutable: Vector[];
};

describe('BEP 44 test vectors', () => {
  it('name their source', () => {
    expect(vectors.source).toMatch(/BEP 44/);
    expect(vectors.mutable).toHaveLength(2);
  });

  for (const v of vectors.mutable) {
    describe(v.name, () => {
      const publicKey = hexToBytes(v.publicKey);
      const salt = v.salt === undefined ? undefined : utf8(v.salt);
      const item = { publicKey, salt, seq: v.seq, value: utf8(v.value), signature: hexToBytes(v.signature) };

      it('signable', () => {
        expect(new TextDecoder().decode(signable(item))).toBe(v.signable);
      });

      it('target', () => {
        expect(bytesToHex(targetOf(publicKey, salt))).toBe(v.target);
      });

      it('signature verifies, and fails when anything changes', () => {
        expect(verifyMutable(item)).toBe(true);
        expect(verifyMutable({ ...item, seq: item.seq + 1 })).toBe(false);
        expect(verifyMutable({ ...item, value: utf8(`${v.value}?`) })).toBe(false);
        expect(verifyMutable({ ...item, salt: utf8('other') })).toBe(false);
        expect(verifyMutable({ ...item, publicKey: randomKeys().publicKey })).toBe(false);
      });
    });
  }
});

describe('signMutable / verifyMutable', () => {
  it('round-trips for any value, salt and seq', () => {
    const keys = randomKeys();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: MAX_VALUE_BYTES }),
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { nil: undefined }),
        fc.maxSafeNat(),
        (value, salt, seq) => {
          const signature = signMutable(keys.secretKey, { salt, seq, value });
          expect(verifyMutable({ publicKey: keys.publicKey, salt, seq, value, signature })).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('signs exactly signable() with ed25519', () => {
    const keys = randomKeys();
    const item = { salt: utf8('s'), seq: 7, value: utf8('v') };
    expect(ed25519.verify(signMutable(keys.secretKey, item), signable(item), keys.publicKey)).toBe(true);
  });

  it('verifyMutable never throws on malformed input', () => {
    const item = {
      publicKey: new Uint8Array(31),
      seq: -1,
      value: new Uint8Array(2000),
      signature: new Uint8Array(3),
    };
    expect(verifyMutable(item)).toBe(false);
  });
});

describe('empty salt is no salt', () => {
  it('normalises to undefined and gives the unsalted target and signable', () => {
    const { publicKey } = randomKeys();
    expect(normaliseSalt(new Uint8Array(0))).toBeUndefined();
    expect(targetOf(publicKey, new Uint8Array(0))).toEqual(targetOf(publicKey));
    const item = { seq: 1, value: utf8('x') };
    expect(signable({ ...item, salt: new Uint8Array(0) })).toEqual(signable(item));
  });
});

describe('input checks', () => {
  const value = utf8('v');
  it.each([
    ['seq above 2^53', () => signable({ seq: 2 ** 53, value }), RangeError, /safe integer/],
    ['negative seq', () => signable({ seq: -1, value }), RangeError, /safe integer/],
    ['fractional seq', () => signable({ seq: 1.5, value }), RangeError, /safe integer/],
    ['seq of the wrong type', () => signable({ seq: '1' as unknown as number, value }), TypeError, /"seq"/],
    ['a 997-byte value', () => signable({ seq: 1, value: new Uint8Array(997) }), RangeError, /at most 996/],
    ['a 65-byte salt', () => targetOf(randomKeys().publicKey, new Uint8Array(65)), RangeError, /at most 64/],
    [
      'a 31-byte key',
      () => targetOf(new Uint8Array(31)),
      RangeError,
      /"publicKey" expected Uint8Array of length 32, got length=31/,
    ],
    ['a key that is not bytes', () => targetOf('k' as unknown as Uint8Array), TypeError, /"publicKey"/],
    ['a 31-byte seed', () => signMutable(new Uint8Array(31), { seq: 1, value }), RangeError, /"seed"/],
  ])('rejects %s', (_name, run, type, message) => {
    expect(run).toThrow(type);
    expect(run).toThrow(message);
  });

  it('accepts a 996-byte value and seq 2^53 - 1', () => {
    expect(signable({ seq: Number.MAX_SAFE_INTEGER, value: new Uint8Array(996) }).length).toBeGreaterThan(
      996,
    );
  });
});

describe('readReplyItem', () => {
  const keys = randomKeys();
  const slot = { publicKey: keys.publicKey };
  const good = { k: keys.publicKey, sig: new Uint8Array(64), seq: 3, v: utf8('v') };

  it('reads a candidate (signature left to the caller) or nothing', () => {
    expect(readReplyItem({}, slot)).toEqual({ kind: 'none' });
    expect(readReplyItem(good, slot)).toMatchObject({ kind: 'candidate', item: { seq: 3 } });
    expect(readReplyItem(good, { ...slot, salt: utf8('s') })).toMatchObject({ item: { salt: utf8('s') } });
  });

  it.each([
    ['malformed', { v: good.v }],
    ['malformed', { ...good, sig: new Uint8Array(63) }],
    ['malformed', { ...good, seq: '3' }],
    ['malformed', { ...good, v: 42 }],
    ['wrong-key', { ...good, k: randomKeys().publicKey }],
    ['unsafe-seq', { ...good, seq: 2 ** 60 }],
    ['unsafe-seq', { ...good, seq: -1 }],
    ['oversize', { ...good, v: new Uint8Array(997) }],
  ])('%s: %o', (reason, fields) => {
    expect(readReplyItem(fields, slot)).toEqual({ kind: 'invalid', reason });
  });
});
