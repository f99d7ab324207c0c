/**
 * The Dht's `crypto` option on real testnets on 127.0.0.1: the suite signs our puts, verifies the
 * values our lookups read (each distinct item once) and verifies the puts other nodes send us to
 * store. `nobleSuite` and the default (`defaultSuite()`, OpenSSL on Node ≥ 20) interoperate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CryptoSuite, nobleSuite } from '../../src/crypto/suite.js';
import { signMutable, verifyMutable } from '../../src/dht/bep44.js';
import { createTestnet, Dht, type Testnet } from '../../src/dht/index.js';
import { defaultSuite, nativeSuite } from '../../src/native/crypto.js';
import { randomKeys, utf8 } from '../helpers/dht.js';
import { rawPut } from '../helpers/raw-krpc.js';

/** `base` with its Ed25519 signatures and verifications counted. */
function counted(base: CryptoSuite): { suite: CryptoSuite; calls: { sign: number; verify: number } } {
  const calls = { sign: 0, verify: 0 };
  const suite: CryptoSuite = Object.freeze({
    ...base,
    name: `counted-${base.name}`,
    ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
      calls.sign++;
      return base.ed25519Sign(message, seed);
    },
    ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
      calls.verify++;
      return base.ed25519Verify(signature, message, publicKey);
    },
  });
  return { suite, calls };
}

let testnet: Testnet;
let noble: Dht;
let native: Dht;

beforeAll(async () => {
  testnet = await createTestnet({ nodes: 12 });
  noble = await testnet.createNode({ crypto: nobleSuite });
  native = await testnet.createNode();
});

afterAll(() => testnet?.close());

describe('Dht crypto option', () => {
  it('defaults to defaultSuite() (OpenSSL here) and exposes the suite as dht.crypto', () => {
    expect(defaultSuite()).toBe(nativeSuite);
    expect(native.crypto).toBe(defaultSuite());
    expect(testnet.nodes[0]!.crypto).toBe(defaultSuite());
    expect(noble.crypto).toBe(nobleSuite);
  });

  it('Dht.create refuses a crypto option that is not a suite with INVALID_CONFIG', async () => {
    for (const crypto of [{}, { ...nobleSuite, ed25519Sign: 'sign' }]) {
      await expect(
        Dht.create({ bootstrap: [], host: '127.0.0.1', crypto: crypto as unknown as CryptoSuite }),
      ).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('crypto') });
    }
  });

  it.each([
    { writer: 'noble', reader: 'default' },
    { writer: 'default', reader: 'noble' },
  ] as const)('a $writer writer and a $reader reader store and read the same item', async (names) => {
    const pick = (name: 'noble' | 'default') => (name === 'noble' ? noble : native);
    const [writer, reader] = [pick(names.writer), pick(names.reader)];
    const keys = randomKeys();
    const salt = utf8(`salt-${names.writer}`);
    const value = utf8(`written with ${names.writer}`);
    const put = await writer.put({ ...keys, salt }, value, { seq: 3 });
    expect(put.ok).toBe(true);
    expect(put.rejected).toEqual([]);

    const got = await reader.getAll({ publicKey: keys.publicKey, salt });
    expect(got.rejected).toEqual({});
    expect(got.values).toHaveLength(1);
    const item = got.values[0]!;
    expect(item).toMatchObject({ seq: 3, value, salt });
    // Deterministic signatures (RFC 8032): both suites sign the same bytes, and both accept them.
    const signature = signMutable(keys.secretKey, { salt, seq: 3, value }, nobleSuite);
    expect(signMutable(keys.secretKey, { salt, seq: 3, value }, nativeSuite)).toEqual(signature);
    expect(item.signature).toEqual(signature);
    expect([verifyMutable(item, nobleSuite), verifyMutable(item, nativeSuite), verifyMutable(item)]).toEqual([
      true,
      true,
      true,
    ]);
  });
});

describe('where the suite is used', () => {
  let small: Testnet;
  const storing = counted(nobleSuite);
  const writer = counted(nativeSuite);
  const reader = counted(nativeSuite);
  let writerNode: Dht;
  let readerNode: Dht;

  beforeAll(async () => {
    small = await createTestnet({ nodes: 8, crypto: storing.suite });
    writerNode = await small.createNode({ crypto: writer.suite });
    readerNode = await small.createNode({ crypto: reader.suite });
  });

  afterAll(() => small?.close());

  it('signs each put once, storing nodes verify it with theirs, a read verifies each distinct item once', async () => {
    expect(small.nodes[0]!.crypto).toBe(storing.suite);
    const keys = randomKeys();
    const value = utf8('counted');
    const before = { ...storing.calls };
    const readerVerified = reader.calls.verify;
    const put = await writerNode.put(keys, value, { seq: 1 });
    expect(put.ok).toBe(true);
    expect(writer.calls.sign).toBe(1);
    // Every node that stored the item verified it with its own suite (the readerNode is one of them).
    const storedBy = put.accepted.length;
    expect(storedBy).toBeGreaterThan(1);
    const verified = storing.calls.verify - before.verify + (reader.calls.verify - readerVerified);
    expect(verified).toBeGreaterThanOrEqual(storedBy);
    expect(storing.calls.sign).toBe(before.sign);

    reader.calls.verify = 0;
    const got = await readerNode.getAll({ publicKey: keys.publicKey });
    expect(got.values).toHaveLength(1);
    expect(got.values[0]!.from.length).toBeGreaterThan(1);
    expect(reader.calls.verify).toBe(1);
    expect(reader.calls.sign).toBe(0);
    // A later walk finds the same item: the node remembers it verified it.
    const again = await readerNode.getAll({ publicKey: keys.publicKey });
    expect(again.values.map((v) => v.value)).toEqual([value]);
    expect(reader.calls.verify).toBe(1);
  });

  it('storing nodes drop a put whose signature their suite refuses, and store one it accepts', async () => {
    const keys = randomKeys();
    const got = await readerNode.getAll({ publicKey: keys.publicKey });
    // The testnet's own nodes, whose suite is `storing`.
    const ports = new Set(small.nodes.map((n) => n.address().port));
    const targets = got.nodes
      .filter((n) => ports.has(n.port))
      .map((n) => ({ host: n.host, port: n.port, token: n.token }));
    expect(targets.length).toBeGreaterThan(0);
    const value = utf8('forged?');
    const signature = signMutable(keys.secretKey, { seq: 1, value });
    const verified = storing.calls.verify;
    const forged = signature.slice();
    forged[10]! ^= 1;
    // bittorrent-dht drops a put that fails `verify` without an answer.
    expect(
      await rawPut(targets, { publicKey: keys.publicKey, seq: 1, value, signature: forged }, 300),
    ).toEqual(targets.map(() => 'none'));
    expect(await rawPut(targets, { publicKey: keys.publicKey, seq: 1, value, signature }, 3000)).toEqual(
      targets.map(() => 'r'),
    );
    // Each node read both puts in order from its socket, so both were verified by now.
    expect(storing.calls.verify - verified).toBe(2 * targets.length);
    const read = await readerNode.getAll({ publicKey: keys.publicKey });
    expect(read.values.map((v) => v.value)).toEqual([value]);
  });
});
