import { describe, expect, it } from 'vitest';
import { hashSecret, TopicId } from '../../src/crypto/index.js';
import { hex, sha512Trunc, utf8 } from './reference.js';

describe('TopicId', () => {
  it('fromName is the first 32 bytes of SHA-512 of the UTF-8 name', () => {
    for (const name of ['a', 'chat', 'ünïcödé 😀', 'x'.repeat(10_000)]) {
      const id = TopicId.fromName(name);
      expect(id.hash).toHaveLength(32);
      expect(id.toHex()).toBe(hex(sha512Trunc(utf8(name))));
    }
  });

  it('fromName of "abc" matches the FIPS 180-2 SHA-512 example, truncated', () => {
    expect(TopicId.fromName('abc').toHex()).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a',
    );
  });

  it('fromName rejects non-strings with TypeError and empty names with RangeError', () => {
    expect(() => TopicId.fromName(42 as unknown as string)).toThrow(
      new TypeError('"name" expected string, got type=number'),
    );
    expect(() => TopicId.fromName(undefined as unknown as string)).toThrow(TypeError);
    expect(() => TopicId.fromName('')).toThrow(new RangeError('"name" expected non-empty string'));
  });

  it('fromHash copies exactly 32 bytes', () => {
    const raw = new Uint8Array(32).fill(5);
    const id = TopicId.fromHash(raw);
    raw[0] = 9;
    expect(id.hash[0]).toBe(5);
    expect(id.toHex()).toBe('05'.repeat(32));
    expect(() => TopicId.fromHash(new Uint8Array(31))).toThrow(
      new RangeError('"hash" expected Uint8Array of length 32, got length=31'),
    );
    expect(() => TopicId.fromHash('00' as unknown as Uint8Array)).toThrow(
      new TypeError('"hash" expected Uint8Array of length 32, got type=string'),
    );
  });

  it('equals compares hashes', () => {
    const a = TopicId.fromName('a');
    expect(a.equals(TopicId.fromName('a'))).toBe(true);
    expect(a.equals(TopicId.fromHash(a.hash))).toBe(true);
    expect(a.equals(TopicId.fromName('b'))).toBe(false);
    expect(a.equals(a.hash)).toBe(false);
  });
});

describe('hashSecret', () => {
  it('hashes strings as UTF-8 and bytes as they are', () => {
    expect(hex(hashSecret('pässword'))).toBe(hex(sha512Trunc(utf8('pässword'))));
    expect(hashSecret(utf8('pässword'))).toEqual(hashSecret('pässword'));
    expect(hex(hashSecret(Uint8Array.of(0)))).toBe(hex(sha512Trunc(Uint8Array.of(0))));
  });

  it('rejects empty secrets and other types', () => {
    expect(() => hashSecret('')).toThrow(new RangeError('"secret" expected non-empty string or Uint8Array'));
    expect(() => hashSecret(new Uint8Array(0))).toThrow(RangeError);
    expect(() => hashSecret(null as unknown as string)).toThrow(
      new TypeError('"secret" expected string or Uint8Array, got type=null'),
    );
    expect(() => hashSecret([1] as unknown as string)).toThrow(TypeError);
  });
});
