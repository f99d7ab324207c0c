/** The core's generators: `createSecureRng` against a vector and an independent SHA-256, and its asserter. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRng, createSecureRng, nextU64, SECURE_RNG_DOMAIN } from '../../src/proto/index.js';

const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
const draw = (rng: { nextU32(): number }, n: number): number[] =>
  Array.from({ length: n }, () => rng.nextU32());

describe('createSecureRng', () => {
  it('matches its vector (seed 00 01 … 1f): SHA-256(domain || 0 || seed || u64be counter), big-endian u32s', () => {
    // Our own vector, computed with node:crypto from the construction in src/proto/rng.ts.
    expect(draw(createSecureRng(seed), 16)).toEqual([
      0xec5da148, 0x110eaa31, 0x43e5fe2e, 0xe7e43f4d, 0x6a0813e6, 0xe8a84602, 0xd5f94afb, 0xe9026138,
      0x4d3add3b, 0xc2b89167, 0xbcb02fe6, 0x3d6eafac, 0x583e4f68, 0x6d9f647e, 0xb03ac6e5, 0x9ba6757f,
    ]);
  });

  it('agrees with node:crypto for 100 blocks of a random seed', () => {
    const s = Uint8Array.from(createHash('sha256').update('another seed').digest());
    const expected: number[] = [];
    for (let k = 0n; k < 100n; k++) {
      const ctr = Buffer.alloc(8);
      ctr.writeBigUInt64BE(k);
      const h = createHash('sha256')
        .update(Buffer.concat([Buffer.from(SECURE_RNG_DOMAIN), Buffer.from([0]), s, ctr]))
        .digest();
      for (let i = 0; i < 8; i++) expected.push(h.readUInt32BE(4 * i));
    }
    expect(draw(createSecureRng(s), 800)).toEqual(expected);
  });

  it('keeps no reference to a seed the caller reuses, and distinct seeds give distinct streams', () => {
    const s = seed.slice();
    const rng = createSecureRng(s);
    s.fill(0xff);
    expect(rng.nextU32()).toBe(0xec5da148);
    expect(nextU64(createSecureRng(new Uint8Array(32)))).not.toBe(nextU64(createSecureRng(s)));
  });

  it('asserts its seed like noble: TypeError for a wrong type, RangeError for a wrong length', () => {
    expect(() => createSecureRng('00'.repeat(32) as unknown as Uint8Array)).toThrow(
      new TypeError('"seed" expected Uint8Array of length 32, got type=string'),
    );
    expect(() => createSecureRng(new Uint8Array(31))).toThrow(
      new RangeError('"seed" expected Uint8Array of length 32, got length=31'),
    );
    expect(() => createSecureRng([] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => createSecureRng(new Uint8Array(33))).toThrow(RangeError);
  });
});

describe('createRng', () => {
  it('is deterministic for a seed (the simulator relies on it)', () => {
    expect(draw(createRng(7), 4)).toEqual(draw(createRng(7), 4));
    expect(draw(createRng(7), 4)).not.toEqual(draw(createRng(8), 4));
  });
});
