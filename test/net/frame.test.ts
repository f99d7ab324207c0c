import { utf8ToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CipherState,
  DEFAULT_MAX_FRAME_PLAINTEXT_BYTES,
  decodeFramePlaintext,
  encodeFramePlaintext,
  type Frame,
  MAX_CLOSE_REASON_BYTES,
  MAX_NONCE,
  MAX_PING_DATA_BYTES,
  openFrame,
  sealFrame,
} from '../../src/net/index.js';
import { handshakePair, key } from './helpers.js';

const EMPTY = new Uint8Array(0);

/** A sender/receiver pair sharing one direction's key. */
const link = () => ({ tx: new CipherState(key('k')), rx: new CipherState(key('k')) });

const seal = (cs: CipherState, f: Frame): Uint8Array => {
  const r = sealFrame(cs, f);
  if (!r.ok) throw new Error(r.reason);
  return r.bytes;
};

/** Raw encrypted plaintext, for frames our encoder would not produce. */
const rawSeal = (cs: CipherState, plaintext: Uint8Array): Uint8Array => {
  const r = cs.encryptWithAd(EMPTY, plaintext);
  if (!r.ok) throw new Error(r.reason);
  return r.ciphertext;
};

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((message) => ({ type: 'gossip' as const, message })),
  fc.uint8Array({ maxLength: MAX_PING_DATA_BYTES }).map((data) => ({ type: 'ping' as const, data })),
  fc.uint8Array({ maxLength: MAX_PING_DATA_BYTES }).map((data) => ({ type: 'pong' as const, data })),
  fc
    .string({ unit: 'grapheme', maxLength: 30 })
    .filter((s) => utf8ToBytes(s).length <= MAX_CLOSE_REASON_BYTES)
    .map((reason) => ({ type: 'close' as const, reason })),
);

describe('frames', () => {
  it('round-trip any sequence of frames over a handshake', () => {
    const { init, resp } = handshakePair();
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 5 }), (frames) => {
        for (const f of frames)
          expect(openFrame(resp.recv, seal(init.send, f))).toEqual({ ok: true, frame: f });
        for (const f of frames)
          expect(openFrame(init.recv, seal(resp.send, f))).toEqual({ ok: true, frame: f });
      }),
      { numRuns: 50 },
    );
  });

  it('plaintext codec round-trips and costs one type byte + 16 tag bytes', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const p = encodeFramePlaintext(f);
        expect(decodeFramePlaintext(p)).toEqual({ ok: true, frame: f });
        const { tx } = link();
        expect(seal(tx, f).length).toBe(p.length + 16);
      }),
    );
  });

  it('a largest gossip frame fits the default limit; one byte more is oversize on both ends', () => {
    const { tx, rx } = link();
    const big: Frame = { type: 'gossip', message: new Uint8Array(DEFAULT_MAX_FRAME_PLAINTEXT_BYTES - 1) };
    expect(openFrame(rx, seal(tx, big)).ok).toBe(true);
    const over: Frame = { type: 'gossip', message: new Uint8Array(DEFAULT_MAX_FRAME_PLAINTEXT_BYTES) };
    expect(sealFrame(tx, over)).toEqual({ ok: false, reason: 'oversize' });
    expect(openFrame(rx, rawSeal(tx, encodeFramePlaintext(over)))).toEqual({ ok: false, reason: 'oversize' });
    // Checked before decryption: the nonce did not move.
    expect(rx.nonce).toBe(1n);
  });

  it('honours a configured limit', () => {
    const { tx, rx } = link();
    const limits = { maxPlaintextBytes: 100 };
    const f: Frame = { type: 'gossip', message: new Uint8Array(100) };
    expect(sealFrame(tx, f, limits)).toEqual({ ok: false, reason: 'oversize' });
    expect(openFrame(rx, seal(tx, f), limits)).toEqual({ ok: false, reason: 'oversize' });
    expect(() => openFrame(rx, new Uint8Array(20), { maxPlaintextBytes: 1 })).toThrow(RangeError);
  });

  it('every flipped bit is tampered, and the genuine frame still opens afterwards', () => {
    const { tx, rx } = link();
    const bytes = seal(tx, { type: 'gossip', message: utf8ToBytes('hello gossip') });
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i]! ^= 1 << (i % 8);
      expect(openFrame(rx, bad)).toEqual({ ok: false, reason: 'tampered' });
    }
    expect(openFrame(rx, bytes).ok).toBe(true);
  });

  it('replayed, reordered, dropped and reflected frames are tampered', () => {
    const { init, resp } = handshakePair();
    const a = seal(init.send, { type: 'ping', data: Uint8Array.of(1) });
    const b = seal(init.send, { type: 'ping', data: Uint8Array.of(2) });
    const c = seal(init.send, { type: 'ping', data: Uint8Array.of(3) });
    expect(openFrame(resp.recv, b)).toEqual({ ok: false, reason: 'tampered' }); // reordered / a dropped
    expect(openFrame(resp.recv, a).ok).toBe(true);
    expect(openFrame(resp.recv, a)).toEqual({ ok: false, reason: 'tampered' }); // replay
    expect(openFrame(resp.recv, c)).toEqual({ ok: false, reason: 'tampered' }); // b skipped
    expect(openFrame(init.recv, a)).toEqual({ ok: false, reason: 'tampered' }); // reflected to its sender
    // Another session's frame.
    const other = handshakePair(undefined, undefined);
    expect(
      openFrame(other.resp.recv, seal(handshakePair().init.send, { type: 'pong', data: EMPTY })).ok,
    ).toBe(true);
  });

  it('authentic but invalid plaintexts are malformed', () => {
    const cases = [
      Uint8Array.of(0),
      Uint8Array.of(9, 1, 2),
      Uint8Array.of(1),
      Uint8Array.of(2, ...new Uint8Array(MAX_PING_DATA_BYTES + 1)),
      Uint8Array.of(4, 0xff, 0xfe),
      Uint8Array.of(4, ...new Uint8Array(MAX_CLOSE_REASON_BYTES + 1).fill(97)),
    ];
    for (const p of cases) {
      const { tx, rx } = link();
      expect(openFrame(rx, rawSeal(tx, p)), `plaintext ${p.slice(0, 3)}`).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
    const { rx } = link();
    expect(openFrame(rx, new Uint8Array(16))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeFramePlaintext(EMPTY)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('an exhausted CipherState refuses to seal or open', () => {
    const { tx, rx } = link();
    tx.setNonce(MAX_NONCE);
    rx.setNonce(MAX_NONCE);
    expect(sealFrame(tx, { type: 'ping', data: EMPTY })).toEqual({ ok: false, reason: 'nonce-exhausted' });
    expect(openFrame(rx, new Uint8Array(20))).toEqual({ ok: false, reason: 'nonce-exhausted' });
  });

  it('local misuse throws with noble-style messages', () => {
    const { tx } = link();
    expect(() => sealFrame(tx, { type: 'gossip', message: EMPTY })).toThrow(
      '"message" expected at least 1 byte, got length=0',
    );
    expect(() => sealFrame(tx, { type: 'ping', data: new Uint8Array(33) })).toThrow(RangeError);
    expect(() => sealFrame(tx, { type: 'close', reason: 'x'.repeat(124) })).toThrow(RangeError);
    expect(() => sealFrame(tx, { type: 'nope' } as unknown as Frame)).toThrow(TypeError);
    expect(() => sealFrame(tx, { type: 'gossip', message: 'str' } as unknown as Frame)).toThrow(
      '"message" expected Uint8Array, got type=string',
    );
  });
});
