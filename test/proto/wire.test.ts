import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SIGNATURE_BYTES as CRYPTO_SIGNATURE_BYTES, KEY_BYTES } from '../../src/crypto/suite.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  decodeFrame,
  encodeFrame,
  frameSize,
  GOSSIP_OVERHEAD_BYTES,
  MAX_SENT_AT,
  type Message,
  WIRE_VERSION,
} from '../../src/proto/index.js';
import { ID_BYTES, SIGNATURE_BYTES } from '../../src/proto/wire.js';

const hexId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const data = fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: undefined });
const peers = fc.array(fc.record({ id: hexId, data }, { requiredKeys: ['id'] }), { maxLength: 8 });
const strip = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const message: fc.Arbitrary<Message> = fc.oneof(
  data.map((d) => strip({ type: 'join' as const, data: d })),
  fc
    .record({ peer: hexId, ttl: fc.integer({ min: 0, max: 255 }), data })
    .map((m) => strip({ type: 'forward-join' as const, ...m })),
  fc
    .record({ priority: fc.constantFrom('high' as const, 'low' as const), data })
    .map((m) => strip({ type: 'neighbor' as const, ...m })),
  fc.record({ accepted: fc.boolean(), data }).map((m) => strip({ type: 'neighbor-reply' as const, ...m })),
  fc.boolean().map((alive) => ({ type: 'disconnect' as const, alive })),
  fc
    .record({ origin: hexId, ttl: fc.integer({ min: 0, max: 255 }), originData: data, peers })
    .map((m) => strip({ type: 'shuffle' as const, ...m, peers: m.peers.map(strip) })),
  peers.map((p) => ({ type: 'shuffle-reply' as const, peers: p.map(strip) })),
  fc
    .record({
      origin: hexId,
      seq: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      sentAt: fc.oneof(fc.constant(0), fc.constant(Number.MAX_SAFE_INTEGER), fc.nat()),
      scope: fc.constantFrom('swarm' as const, 'neighbors' as const),
      hops: fc.integer({ min: 0, max: 65_535 }),
      content: fc.uint8Array({ maxLength: 200 }),
      signature: fc.option(fc.uint8Array({ minLength: 64, maxLength: 64 }), { nil: undefined }),
    })
    .map((m) => strip({ type: 'gossip' as const, ...m })),
  fc
    .array(fc.record({ id: hexId, hops: fc.integer({ min: 0, max: 65_535 }) }), { maxLength: 10 })
    .map((entries) => ({ type: 'ihave' as const, entries })),
  fc.option(hexId, { nil: undefined }).map((id) => strip({ type: 'graft' as const, id })),
  fc.constant({ type: 'prune' as const }),
);

describe('wire codec', () => {
  it('round-trips every message, and frameSize is exact', () => {
    fc.assert(
      fc.property(hexId, message, (topic, m) => {
        const bytes = encodeFrame(topic, m);
        expect(bytes.length).toBe(frameSize(m));
        const d = decodeFrame(bytes);
        expect(d).toEqual({ ok: true, topic, message: m });
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const d = decodeFrame(bytes);
        if (!d.ok)
          expect(['oversize', 'truncated', 'unknown-version', 'unknown-kind', 'malformed']).toContain(
            d.reason,
          );
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on mutated valid frames; every strict prefix is truncated', () => {
    fc.assert(
      fc.property(hexId, message, fc.nat(), fc.integer({ min: 0, max: 255 }), (topic, m, at, v) => {
        const bytes = encodeFrame(topic, m);
        const mutated = bytes.slice();
        mutated[at % bytes.length] = v;
        decodeFrame(mutated);
        expect(decodeFrame(bytes.subarray(0, at % bytes.length))).toMatchObject({ ok: false });
        expect(decodeFrame(bytes.subarray(0, at % bytes.length))).toMatchObject({
          reason: expect.stringMatching(/truncated|unknown-version/),
        });
      }),
      { numRuns: 500 },
    );
  });

  it('names its reasons', () => {
    const topic = 'ab'.repeat(32);
    const ok = encodeFrame(topic, { type: 'prune' });
    expect(ok[0]).toBe(WIRE_VERSION);
    // Version 1 (GOSSIP without sentAt, PROTOCOL.md §8.2) and unknown later ones.
    for (const version of [1, 3]) {
      expect(decodeFrame(Uint8Array.of(version, ...ok.subarray(1)))).toEqual({
        ok: false,
        reason: 'unknown-version',
      });
    }
    expect(decodeFrame(Uint8Array.of(WIRE_VERSION, 99, ...ok.subarray(2)))).toEqual({
      ok: false,
      reason: 'unknown-kind',
    });
    expect(decodeFrame(Uint8Array.of(...ok, 0))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeFrame(new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES + 1))).toEqual({
      ok: false,
      reason: 'oversize',
    });
    const dis = encodeFrame(topic, { type: 'disconnect', alive: true });
    dis[dis.length - 1] = 2;
    expect(decodeFrame(dis)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('a full-size signed payload fits the default frame size exactly', () => {
    const content = new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES - GOSSIP_OVERHEAD_BYTES);
    const m: Message = {
      type: 'gossip',
      origin: 'cd'.repeat(32),
      seq: 1n,
      sentAt: 1_800_000_000_000,
      scope: 'swarm',
      hops: 1,
      content,
      signature: new Uint8Array(64),
    };
    expect(encodeFrame('ab'.repeat(32), m).length).toBe(DEFAULT_MAX_MESSAGE_BYTES);
  });

  it('lays GOSSIP out as PROTOCOL.md §8.2 says: sentAt is a u64 after seq; beyond 2^53 − 1 it is malformed', () => {
    const m: Message = {
      type: 'gossip',
      origin: 'cd'.repeat(32),
      seq: 0x0102030405060708n,
      sentAt: 1_800_000_000_123,
      scope: 'swarm',
      hops: 1,
      content: Uint8Array.of(0xee),
    };
    const bytes = encodeFrame('ab'.repeat(32), m);
    const hex = Buffer.from(bytes).toString('hex');
    // version 2, kind 8, topic, flags 0, origin, seq, sentAt (0x1a3185c507b), hops, len, content
    const sentAt = '000001a3185c507b';
    expect(hex).toBe(`0208${'ab'.repeat(32)}00${'cd'.repeat(32)}0102030405060708${sentAt}000100000001ee`);
    expect(GOSSIP_OVERHEAD_BYTES).toBe(153);
    const over = bytes.slice();
    new DataView(over.buffer).setBigUint64(2 + 32 + 1 + 32 + 8, BigInt(MAX_SENT_AT) + 1n);
    expect(decodeFrame(over)).toEqual({ ok: false, reason: 'malformed' });
    new DataView(over.buffer).setBigUint64(2 + 32 + 1 + 32 + 8, BigInt(MAX_SENT_AT));
    expect(decodeFrame(over)).toMatchObject({ ok: true, message: { sentAt: MAX_SENT_AT } });
    expect(() => encodeFrame('ab'.repeat(32), { ...m, sentAt: -1 })).toThrow(RangeError);
    expect(() => encodeFrame('ab'.repeat(32), { ...m, sentAt: 1.5 })).toThrow(RangeError);
  });

  it('refuses to encode out-of-range fields', () => {
    expect(() => encodeFrame('AB'.repeat(32), { type: 'prune' })).toThrow(RangeError);
    expect(() =>
      encodeFrame('ab'.repeat(32), { type: 'forward-join', peer: 'ab'.repeat(32), ttl: 256 }),
    ).toThrow(new RangeError('"ttl" expected integer in [0, 255], got 256'));
  });

  it('keeps the sizes src/crypto/suite.ts defines (src/proto imports no other layer)', () => {
    expect(ID_BYTES).toBe(KEY_BYTES);
    expect(SIGNATURE_BYTES).toBe(CRYPTO_SIGNATURE_BYTES);
  });
});
