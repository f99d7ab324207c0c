/** Garbage at every stage never throws: it is a reason (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CipherState,
  decodeFramePlaintext,
  decodeIdentityPayload,
  Handshake,
  NoiseXX,
  openFrame,
} from '../../src/net/index.js';
import { handshakePair, key, sideOptions } from './helpers.js';

const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.uint8Array({ minLength: 32, maxLength: 1300 }),
  fc.constantFrom(new Uint8Array(0), new Uint8Array(32), new Uint8Array(96), new Uint8Array(1300)),
);

/** A handshake machine waiting for message `n` (1, 2 or 3), plus the genuine message for mutation. */
function at(n: 1 | 2 | 3): { hs: Handshake; genuine: Uint8Array } {
  const i = new Handshake(sideOptions('alice', 'initiator'));
  const r = new Handshake(sideOptions('bob', 'responder'));
  const m1 = i.start()!;
  if (n === 1) return { hs: r, genuine: m1 };
  const m2 = r.receive(m1).send!;
  if (n === 2) return { hs: i, genuine: m2 };
  return { hs: r, genuine: i.receive(m2).send! };
}

const REASONS =
  /^(oversize|malformed|tampered|bad-key|unexpected-message|unknown-version|bad-identity|unexpected-peer)$/;

describe('fuzz: handshake', () => {
  it.each([1, 2, 3] as const)('random bytes as message %i never throw and never complete', (n) => {
    fc.assert(
      fc.property(bytes, (b) => {
        const { hs } = at(n);
        const step = hs.receive(b);
        expect(step.done).toBeUndefined();
        // Message 1 is plaintext: a random low-order-free 32-byte key is a valid message 1.
        if (n === 1 && b.length === 32 && !step.error) return;
        expect(step.error).toMatch(REASONS);
        expect(hs.state).toBe('failed');
        expect(hs.receive(b)).toEqual({ error: 'unexpected-message' });
      }),
      { numRuns: 50 },
    );
  });

  it.each([2, 3] as const)('mutated genuine message %i never throws and never completes', (n) => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: -40, max: 40 }),
        (p, x, cut) => {
          const { hs, genuine } = at(n);
          const m = genuine.slice();
          m[p % m.length]! ^= x;
          const input =
            cut < 0
              ? m.subarray(0, m.length + cut)
              : cut > 0
                ? Uint8Array.of(...m, ...new Uint8Array(cut))
                : m;
          const step = hs.receive(input);
          expect(step.done).toBeUndefined();
          expect(step.error).toMatch(REASONS);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('NoiseXX.readMessage never throws on any stage', () => {
    fc.assert(
      fc.property(bytes, bytes, (a, b) => {
        const r = new NoiseXX({ role: 'responder', staticSecretKey: key('s'), ephemeralSecretKey: key('e') });
        const first = r.readMessage(a);
        if (first.ok) r.writeMessage();
        expect(r.readMessage(b).ok).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('decodeIdentityPayload never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (b) => {
        const r = decodeIdentityPayload(b);
        if (r.ok) expect(r.payload.id.length).toBe(32);
      }),
    );
  });
});

describe('fuzz: frames', () => {
  const { init, resp } = handshakePair();

  it('random bytes into openFrame never throw and never open', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const r = openFrame(resp.recv, b);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
    // The stream is still intact afterwards: failures did not consume nonces.
    const sealed = init.send.encryptWithAd(new Uint8Array(0), Uint8Array.of(2));
    expect(sealed.ok && openFrame(resp.recv, sealed.ciphertext).ok).toBe(true);
  });

  it('any authentic plaintext decodes to a frame or a reason, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (p) => {
        const tx = new CipherState(key('f'));
        const rx = new CipherState(key('f'));
        const c = tx.encryptWithAd(new Uint8Array(0), p);
        const r = c.ok ? openFrame(rx, c.ciphertext) : undefined;
        const d = decodeFramePlaintext(p);
        if (r && p.length > 0) expect(r).toEqual(d);
      }),
      { numRuns: 300 },
    );
  });
});
