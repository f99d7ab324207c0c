import { describe, expect, it } from 'vitest';
import {
  defaultSecretRotation,
  deriveMinuteKeys,
  hashSecret,
  keyPairFromSeed,
  type SecretRotation,
  SLOT_SALT_BYTES,
  SLOTS_PER_MINUTE,
  TopicId,
  unixMinute,
} from '../../src/crypto/index.js';
import { bytes, SECRET_HASH, TOPIC } from './fixtures.js';
import { ed25519PublicKey, hex, hkdfSha256, referenceMinuteKeys, u64be, utf8 } from './reference.js';

describe('unixMinute', () => {
  it('floors milliseconds to minutes', () => {
    expect(unixMinute(0)).toBe(0);
    expect(unixMinute(59_999)).toBe(0);
    expect(unixMinute(60_000)).toBe(1);
    expect(unixMinute(1_764_000_000_000)).toBe(29_400_000);
    expect(unixMinute(1_764_000_059_999.9)).toBe(29_400_000);
  });

  it('rejects non-numbers, NaN, infinities and negatives', () => {
    expect(() => unixMinute('1' as unknown as number)).toThrow(
      new TypeError('"unixMs" expected number, got type=string'),
    );
    expect(() => unixMinute(-1)).toThrow(new RangeError('"unixMs" expected finite number >= 0, got -1'));
    expect(() => unixMinute(Number.NaN)).toThrow(RangeError);
    expect(() => unixMinute(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('defaultSecretRotation', () => {
  it('is HKDF-SHA256(secretHash, topicHash, "gtt/v1/rotate" || u64be(minute), 32)', () => {
    for (const minute of [0, 1, 29_400_000, 0xffff_ffff]) {
      const expected = hkdfSha256(
        SECRET_HASH,
        TOPIC.hash,
        new Uint8Array([...utf8('gtt/v1/rotate'), ...u64be(minute)]),
        32,
      );
      expect(hex(defaultSecretRotation(TOPIC.hash, minute, SECRET_HASH))).toBe(hex(expected));
    }
  });

  it('validates its arguments', () => {
    expect(() => defaultSecretRotation(bytes(31), 0, SECRET_HASH)).toThrow(
      new RangeError('"topicHash" expected Uint8Array of length 32, got length=31'),
    );
    expect(() => defaultSecretRotation(TOPIC.hash, -1, SECRET_HASH)).toThrow(
      new RangeError('"minute" expected integer in [0, 4294967295], got -1'),
    );
    expect(() => defaultSecretRotation(TOPIC.hash, 0, bytes(33))).toThrow(
      new RangeError('"initialSecretHash" expected Uint8Array of length 32, got length=33'),
    );
  });
});

describe('deriveMinuteKeys', () => {
  it('matches an independent node:crypto derivation, with and without a secret', () => {
    for (const [name, secret, minute] of [
      ['chat', 'hunter2', 29_400_000],
      ['chat', null, 29_400_000],
      ['other', 'x', 0],
      ['other', null, 0xffff_ffff],
    ] as const) {
      const ref = referenceMinuteKeys(name, secret, minute);
      const keys = deriveMinuteKeys(TopicId.fromName(name), minute, {
        secretHash: secret === null ? undefined : hashSecret(secret),
      });
      expect(keys.minute).toBe(minute);
      expect(keys.hasSecret).toBe(secret !== null);
      expect(hex(keys.topic)).toBe(hex(ref.topicHash));
      expect(hex(keys.sealKey)).toBe(hex(ref.sealKey));
      expect(hex(keys.slotSeed)).toBe(hex(ref.slotSeed));
      expect(hex(keys.slotPublicKey)).toBe(hex(ref.slotPublicKey));
      expect(keys.salts.map(hex)).toEqual(ref.salts.map(hex));
    }
  });

  it('returns frozen keys of the documented sizes, all distinct', () => {
    const keys = deriveMinuteKeys(TOPIC, 5, { secretHash: SECRET_HASH });
    expect(Object.isFrozen(keys)).toBe(true);
    expect(Object.isFrozen(keys.salts)).toBe(true);
    expect(keys.salts).toHaveLength(SLOTS_PER_MINUTE);
    for (const salt of keys.salts) expect(salt).toHaveLength(SLOT_SALT_BYTES);
    expect(keys.sealKey).toHaveLength(32);
    expect(keys.slotSeed).toHaveLength(32);
    expect(keys.slotPublicKey).toHaveLength(32);
    const all = [keys.sealKey, keys.slotSeed, ...keys.salts].map(hex);
    expect(new Set(all).size).toBe(all.length);
  });

  it('depends on the topic, the minute and the secret', () => {
    const base = hex(deriveMinuteKeys(TOPIC, 5, { secretHash: SECRET_HASH }).sealKey);
    expect(hex(deriveMinuteKeys(TopicId.fromName('else'), 5, { secretHash: SECRET_HASH }).sealKey)).not.toBe(
      base,
    );
    expect(hex(deriveMinuteKeys(TOPIC, 6, { secretHash: SECRET_HASH }).sealKey)).not.toBe(base);
    expect(hex(deriveMinuteKeys(TOPIC, 5, { secretHash: hashSecret('other') }).sealKey)).not.toBe(base);
    expect(hex(deriveMinuteKeys(TOPIC, 5).sealKey)).not.toBe(base);
  });

  it('without a secret, anyone with the topic name derives the same slot key and salts', () => {
    const a = deriveMinuteKeys(TopicId.fromName('public'), 7);
    const b = deriveMinuteKeys(TopicId.fromName('public'), 7, {});
    expect(hex(a.slotPublicKey)).toBe(hex(b.slotPublicKey));
    expect(a.salts.map(hex)).toEqual(b.salts.map(hex));
    expect(a.hasSecret).toBe(false);
  });

  it('calls the rotation hook with copies and uses its output', () => {
    const calls: [string, number, string][] = [];
    const rotation: SecretRotation = (topicHash, minute, initial) => {
      calls.push([hex(topicHash), minute, hex(initial)]);
      topicHash.fill(0); // must not damage the topic
      return bytes(32, minute & 0xff);
    };
    const a = deriveMinuteKeys(TOPIC, 300, { secretHash: SECRET_HASH, rotation });
    expect(calls).toEqual([[TOPIC.toHex(), 300, hex(SECRET_HASH)]]);
    expect(TOPIC.toHex()).toBe(hex(TopicId.fromName('test/topic').hash));
    // Same hook output for another secret hash: the same keys (the hook replaces the secret).
    const b = deriveMinuteKeys(TOPIC, 300, { secretHash: hashSecret('zzz'), rotation });
    expect(hex(a.sealKey)).toBe(hex(b.sealKey));
    // Rotation is ignored without a secret.
    const c = deriveMinuteKeys(TOPIC, 300, { rotation });
    expect(calls).toHaveLength(2);
    expect(c.hasSecret).toBe(false);
  });

  it('names the hook when it returns a bad value', () => {
    const short: SecretRotation = () => bytes(16);
    const wrongType = (() => 'abc') as unknown as SecretRotation;
    expect(() => deriveMinuteKeys(TOPIC, 1, { secretHash: SECRET_HASH, rotation: short })).toThrow(
      new RangeError('"rotation() result" expected Uint8Array of length 32, got length=16'),
    );
    expect(() => deriveMinuteKeys(TOPIC, 1, { secretHash: SECRET_HASH, rotation: wrongType })).toThrow(
      new TypeError('"rotation() result" expected Uint8Array of length 32, got type=string'),
    );
  });

  it('validates topic, minute and options', () => {
    expect(() => deriveMinuteKeys(TOPIC.hash as unknown as TopicId, 1)).toThrow(
      new TypeError('"topic" expected TopicId'),
    );
    expect(() => deriveMinuteKeys(TOPIC, 2 ** 32)).toThrow(
      new RangeError('"minute" expected integer in [0, 4294967295], got 4294967296'),
    );
    expect(() => deriveMinuteKeys(TOPIC, 1.5)).toThrow(RangeError);
    expect(() => deriveMinuteKeys(TOPIC, '1' as unknown as number)).toThrow(
      new TypeError('"minute" expected number, got type=string'),
    );
    expect(() => deriveMinuteKeys(TOPIC, 1, { secretHash: bytes(16) })).toThrow(
      new RangeError('"secretHash" expected Uint8Array of length 32, got length=16'),
    );
    expect(() => deriveMinuteKeys(TOPIC, 1, { secretHash: null as unknown as Uint8Array })).toThrow(
      new TypeError('"secretHash" expected Uint8Array of length 32, got type=null'),
    );
    expect(() => deriveMinuteKeys(TOPIC, 1, { rotation: 5 as unknown as SecretRotation })).toThrow(
      new TypeError('"rotation" expected function, got type=number'),
    );
    expect(() => deriveMinuteKeys(TOPIC, 1, 'x' as unknown as object)).toThrow(
      new TypeError('"opts" expected object, got type=string'),
    );
  });
});

describe('keyPairFromSeed', () => {
  it('matches node:crypto and copies the seed', () => {
    const seed = bytes(32, 3);
    const kp = keyPairFromSeed(seed);
    seed[0] = 0;
    expect(hex(kp.secretKey)).toBe('03'.repeat(32));
    expect(hex(kp.publicKey)).toBe(hex(ed25519PublicKey(bytes(32, 3))));
  });

  it('matches RFC 8032 §7.1 test 1', () => {
    const seed = new Uint8Array(
      Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'),
    );
    expect(hex(keyPairFromSeed(seed).publicKey)).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
  });

  it('rejects seeds that are not 32 bytes', () => {
    expect(() => keyPairFromSeed(bytes(64))).toThrow(
      new RangeError('"seed" expected Uint8Array of length 32, got length=64'),
    );
    expect(() => keyPairFromSeed([] as unknown as Uint8Array)).toThrow(
      new TypeError('"seed" expected Uint8Array of length 32, got type=array'),
    );
  });
});
