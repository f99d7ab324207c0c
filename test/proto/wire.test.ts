import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  decodeFrame,
  encodeFrame,
  frameSize,
  GOSSIP_OVERHEAD_BYTES,
  type Message,
} from '../../src/proto/index.js';

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
    expect(decodeFrame(Uint8Array.of(2, ...ok.subarray(1)))).toEqual({
      ok: false,
      reason: 'unknown-version',
    });
    expect(decodeFrame(Uint8Array.of(1, 99, ...ok.subarray(2)))).toEqual({
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
      scope: 'swarm',
      hops: 1,
      content,
      signature: new Uint8Array(64),
    };
    expect(encodeFrame('ab'.repeat(32), m).length).toBe(DEFAULT_MAX_MESSAGE_BYTES);
  });

  it('refuses to encode out-of-range fields', () => {
    expect(() => encodeFrame('AB'.repeat(32), { type: 'prune' })).toThrow(RangeError);
    expect(() =>
      encodeFrame('ab'.repeat(32), { type: 'forward-join', peer: 'ab'.repeat(32), ttl: 256 }),
    ).toThrow(RangeError);
  });
});
