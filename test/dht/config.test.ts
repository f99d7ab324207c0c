import { describe, expect, it } from 'vitest';
import { type CryptoSuite, nobleSuite } from '../../src/crypto/suite.js';
import {
  DEFAULT_BOOTSTRAP,
  DEFAULT_QUERY_TIMEOUT_MS,
  type DhtOptions,
  parseDhtOptions,
} from '../../src/dht/config.js';
import { GttError } from '../../src/errors.js';
import { defaultSuite } from '../../src/native/crypto.js';

function invalid(options: unknown): GttError {
  try {
    parseDhtOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(GttError);
    return error as GttError;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('parseDhtOptions', () => {
  it('fills every default', () => {
    const config = parseDhtOptions({});
    expect(config).toMatchObject({
      bootstrap: DEFAULT_BOOTSTRAP,
      host: '0.0.0.0',
      port: 0,
      queryTimeoutMs: DEFAULT_QUERY_TIMEOUT_MS,
      getTimeoutMs: 10_000,
      putTimeoutMs: 10_000,
      putRetries: 3,
      putRetryDelayMs: 5000,
      putRetryJitterMs: 10_000,
      bootstrapTimeoutMs: 10_000,
      concurrency: 16,
      k: 20,
      maxStoredValues: 1000,
    });
    expect(config.random).toBe(Math.random);
    expect(config.crypto).toBe(defaultSuite());
    expect(parseDhtOptions(undefined).k).toBe(20);
  });

  it('keeps a given crypto suite and refuses anything that is not one', () => {
    expect(parseDhtOptions({ crypto: nobleSuite }).crypto).toBe(nobleSuite);
    for (const crypto of [{}, null, 'noble', { ...nobleSuite, ed25519Verify: undefined }]) {
      const error = invalid({ crypto: crypto as unknown as CryptoSuite });
      expect(error.code).toBe('INVALID_CONFIG');
      expect(error.message).toContain('crypto: expected a CryptoSuite');
    }
  });

  it('keeps a deliberate 0 (no `||` defaults)', () => {
    const config = parseDhtOptions({ putRetries: 0, putRetryDelayMs: 0, putRetryJitterMs: 0, port: 0 });
    expect(config).toMatchObject({ putRetries: 0, putRetryDelayMs: 0, putRetryJitterMs: 0 });
  });

  it('parses "host:port" strings and {host, port} objects', () => {
    const options: DhtOptions = { bootstrap: ['127.0.0.1:6881', { host: 'example.org', port: 25401 }] };
    expect(parseDhtOptions(options).bootstrap).toEqual([
      { host: '127.0.0.1', port: 6881 },
      { host: 'example.org', port: 25401 },
    ]);
    expect(parseDhtOptions({ bootstrap: [] }).bootstrap).toEqual([]);
  });

  it('rejects IPv6 with a clear message', () => {
    const error = invalid({ bootstrap: ['[::1]:6881', { host: '2001:db8::1', port: 1 }], host: '::' });
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain('bootstrap[0].host: IPv6 addresses are not supported');
    expect(error.message).toContain('bootstrap[1].host: IPv6');
    expect(error.message).toContain('host: IPv6');
  });

  it('names every offending field', () => {
    const error = invalid({
      bootstrap: ['no-port', 'h:0'],
      host: 'localhost',
      port: 70_000,
      queryTimeoutMs: 5,
      putRetries: -1,
      k: 1.5,
      random: 3,
      typo: true,
    });
    for (const field of [
      'bootstrap[0].port',
      'bootstrap[1].port',
      'host:',
      'port:',
      'queryTimeoutMs',
      'putRetries',
      'k:',
      'random',
      'typo',
    ]) {
      expect(error.message).toContain(field);
    }
  });
});
