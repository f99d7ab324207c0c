import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  createIdentityPayload,
  decodeIdentityPayload,
  type Frame,
  Handshake,
  MAX_HANDSHAKE_MESSAGE_BYTES,
  MAX_IDENTITY_EXTENSION_BYTES,
  MAX_IDENTITY_PAYLOAD_BYTES,
  NOISE_PROLOGUE,
  NoiseXX,
  openFrame,
  sealFrame,
  verifyIdentityPayload,
  x25519PublicKey,
} from '../../src/net/index.js';
import { handshakePair, hex, key, sideOptions, VECTORS } from './helpers.js';
import { refX25519Public } from './reference.js';

const ex = VECTORS.example;

describe('worked example (PROTOCOL.md §9.6, test/vectors/noise-xx.json)', () => {
  const init = {
    role: 'initiator' as const,
    identitySecretKey: hex(ex.initiator.identitySecretKey),
    staticSecretKey: hex(ex.initiator.staticSecretKey),
    ephemeralSecretKey: hex(ex.initiator.ephemeralSecretKey),
    extension: hex(ex.initiator.extension),
    expectedRemoteId: hex(ex.responder.id),
  };
  const resp = {
    role: 'responder' as const,
    identitySecretKey: hex(ex.responder.identitySecretKey),
    staticSecretKey: hex(ex.responder.staticSecretKey),
    ephemeralSecretKey: hex(ex.responder.ephemeralSecretKey),
    extension: hex(ex.responder.extension),
  };

  it('reproduces the messages, the handshake hash and the proved ids', () => {
    expect(bytesToHex(NOISE_PROLOGUE)).toBe(ex.prologue);
    expect(bytesToHex(x25519PublicKey(hex(ex.responder.staticSecretKey)))).toBe(ex.responder.staticPublicKey);
    const p = handshakePair(init, resp);
    expect(p.messages.map(bytesToHex)).toEqual(ex.messages);
    expect(bytesToHex(p.init.handshakeHash)).toBe(ex.handshakeHash);
    expect(bytesToHex(p.resp.handshakeHash)).toBe(ex.handshakeHash);
    expect(bytesToHex(p.init.remoteId)).toBe(ex.responder.id);
    expect(bytesToHex(p.resp.remoteId)).toBe(ex.initiator.id);
    expect(bytesToHex(p.init.extension)).toBe(ex.responder.extension);
    expect(p.resp.extension).toEqual(new Uint8Array(0));
    expect(bytesToHex(p.init.remoteStatic)).toBe(ex.responder.staticPublicKey);
  });

  it('identity payloads match the vector and verify', () => {
    const payload = createIdentityPayload(
      hex(ex.initiator.identitySecretKey),
      hex(ex.initiator.staticPublicKey),
      hex(ex.initiator.extension),
    );
    expect(bytesToHex(payload)).toBe(ex.initiator.identityPayload);
    const d = decodeIdentityPayload(payload);
    expect(d.ok && verifyIdentityPayload(d.payload, hex(ex.initiator.staticPublicKey))).toBe(true);
    expect(d.ok && verifyIdentityPayload(d.payload, hex(ex.responder.staticPublicKey))).toBe(false);
  });

  it('seals and opens the example frames', () => {
    const p = handshakePair(init, resp);
    for (const f of ex.frames) {
      const fr = f.frame;
      const frame: Frame =
        fr.type === 'gossip'
          ? { type: 'gossip', message: hex(fr.message!) }
          : fr.type === 'close'
            ? { type: 'close', reason: fr.reason! }
            : { type: fr.type as 'ping' | 'pong', data: hex(fr.data!) };
      const [from, to] = f.from === 'initiator' ? [p.init, p.resp] : [p.resp, p.init];
      const sealed = sealFrame(from.send, frame);
      expect(sealed.ok && bytesToHex(sealed.bytes)).toBe(f.ciphertext);
      expect(openFrame(to.recv, hex(f.ciphertext))).toEqual({ ok: true, frame });
    }
  });
});

describe('Handshake', () => {
  it('walks the documented states on both sides', () => {
    const i = new Handshake(sideOptions('alice', 'initiator'));
    const r = new Handshake(sideOptions('bob', 'responder'));
    expect([i.state, r.state]).toEqual(['idle', 'await-e']);
    expect(r.start()).toBeUndefined();
    const m1 = i.start()!;
    expect(i.start()).toBeUndefined();
    expect(m1.length).toBe(32);
    expect(i.state).toBe('await-e-ee-s-es');
    const s2 = r.receive(m1);
    expect(r.state).toBe('await-s-se');
    expect(s2.send!.length).toBeLessThanOrEqual(MAX_HANDSHAKE_MESSAGE_BYTES);
    const s3 = i.receive(s2.send!);
    expect(i.state).toBe('done');
    expect(s3.done!.remoteId).toEqual(r.localId);
    const s4 = r.receive(s3.send!);
    expect(r.state).toBe('done');
    expect(s4).toEqual({ done: expect.anything() });
    expect(s4.done!.remoteId).toEqual(i.localId);
    expect(i.receive(new Uint8Array(1))).toEqual({ error: 'unexpected-message' });
    expect(i.state).toBe('failed');
  });

  it('carries extensions up to the maximum', () => {
    const ext = new Uint8Array(MAX_IDENTITY_EXTENSION_BYTES).fill(7);
    const p = handshakePair(
      sideOptions('alice', 'initiator', 0, { extension: ext }),
      sideOptions('bob', 'responder', 0, { extension: ext }),
    );
    expect(p.init.extension).toEqual(ext);
    expect(p.resp.extension).toEqual(ext);
    expect(
      () =>
        new Handshake(
          sideOptions('a', 'initiator', 0, { extension: new Uint8Array(MAX_IDENTITY_EXTENSION_BYTES + 1) }),
        ),
    ).toThrow(RangeError);
  });

  it('dialing a known id: the right id passes, another valid id is unexpected-peer', () => {
    const bobId = ed25519.getPublicKey(key('bob/identity'));
    expect(
      handshakePair(sideOptions('alice', 'initiator', 0, { expectedRemoteId: bobId })).init.remoteId,
    ).toEqual(bobId);
    const i = new Handshake(sideOptions('alice', 'initiator', 0, { expectedRemoteId: bobId }));
    const carol = new Handshake(sideOptions('carol', 'responder'));
    const s2 = carol.receive(i.start()!);
    expect(i.receive(s2.send!)).toEqual({ error: 'unexpected-peer' });
    expect(i.state).toBe('failed');
    expect(i.error).toBe('unexpected-peer');
  });

  it('a responder expecting an id rejects another initiator', () => {
    const aliceId = ed25519.getPublicKey(key('alice/identity'));
    const r = new Handshake(sideOptions('bob', 'responder', 0, { expectedRemoteId: aliceId }));
    const mallory = new Handshake(sideOptions('mallory', 'initiator'));
    const s3 = mallory.receive(r.receive(mallory.start()!).send!);
    expect(r.receive(s3.send!)).toEqual({ error: 'unexpected-peer' });
  });

  /** A responder whose identity payload claims `claimedSeed`'s id but is signed by `signingSeed`. */
  function impostorResponder(payload: Uint8Array) {
    const i = new Handshake(sideOptions('alice', 'initiator'));
    const r = new NoiseXX({
      role: 'responder',
      staticSecretKey: key('m/static'),
      ephemeralSecretKey: key('m/e'),
    });
    r.readMessage(i.start()!);
    return i.receive(r.writeMessage(payload));
  }

  it('an impostor: identity signature by another key, or over another static key, is bad-identity', () => {
    const mStatic = x25519PublicKey(key('m/static'));
    const bobId = ed25519.getPublicKey(key('bob/identity'));
    // Claims bob's id, signs with its own key.
    const forged = createIdentityPayload(key('mallory/identity'), mStatic);
    forged.set(bobId, 1);
    expect(impostorResponder(forged)).toEqual({ error: 'bad-identity' });
    // Replays bob's genuine payload (signed over bob's static key) with its own static key.
    const replayed = createIdentityPayload(
      key('bob/identity'),
      new Uint8Array(refX25519Public(key('bob/static'))),
    );
    expect(impostorResponder(replayed)).toEqual({ error: 'bad-identity' });
    // Its own honest payload passes.
    expect(impostorResponder(createIdentityPayload(key('mallory/identity'), mStatic)).done).toBeDefined();
    // Garbage payloads.
    expect(impostorResponder(new Uint8Array(0))).toEqual({ error: 'malformed' });
    expect(impostorResponder(Uint8Array.of(2, ...new Uint8Array(98)))).toEqual({ error: 'unknown-version' });
  });

  it('an initiator impostor is refused by the responder', () => {
    const r = new Handshake(sideOptions('bob', 'responder'));
    const i = new NoiseXX({
      role: 'initiator',
      staticSecretKey: key('m/static'),
      ephemeralSecretKey: key('m/e'),
    });
    const m2 = r.receive(i.writeMessage()).send!;
    expect(i.readMessage(m2).ok).toBe(true);
    const forged = createIdentityPayload(key('alice/identity'), x25519PublicKey(key('alice/static')));
    expect(r.receive(i.writeMessage(forged))).toEqual({ error: 'bad-identity' });
  });

  it('every single-byte change of message 2 or 3 fails the handshake', () => {
    const { messages } = handshakePair();
    for (const which of [1, 2] as const) {
      const m = messages[which]!;
      for (let pos = 0; pos < m.length; pos += 13) {
        const i = new Handshake(sideOptions('alice', 'initiator'));
        const r = new Handshake(sideOptions('bob', 'responder'));
        const s2 = r.receive(i.start()!);
        const bad = m.slice();
        bad[pos]! ^= 0x80;
        if (which === 2) i.receive(s2.send!);
        const step = which === 1 ? i.receive(bad) : r.receive(bad);
        expect(step.error, `message ${which + 1} byte ${pos}`).toMatch(/tampered|bad-key/);
        expect(step.done).toBeUndefined();
      }
    }
  });

  it('message 1 must be exactly an ephemeral key; oversize messages are refused before crypto', () => {
    expect(new Handshake(sideOptions('bob', 'responder')).receive(new Uint8Array(33).fill(9))).toEqual({
      error: 'malformed',
    });
    expect(new Handshake(sideOptions('bob', 'responder')).receive(new Uint8Array(31))).toEqual({
      error: 'malformed',
    });
    expect(
      new Handshake(sideOptions('bob', 'responder')).receive(new Uint8Array(MAX_HANDSHAKE_MESSAGE_BYTES + 1)),
    ).toEqual({
      error: 'oversize',
    });
    const i = new Handshake(sideOptions('alice', 'initiator'));
    expect(i.receive(new Uint8Array(10))).toEqual({ error: 'unexpected-message' });
  });

  it('different prologues never complete', () => {
    const i = new Handshake(sideOptions('alice', 'initiator', 0, { prologue: utf8ToBytes('other/v2') }));
    const r = new Handshake(sideOptions('bob', 'responder'));
    expect(i.receive(r.receive(i.start()!).send!)).toEqual({ error: 'tampered' });
  });

  it('fresh ephemeral keys give fresh sessions', () => {
    const a = handshakePair(sideOptions('alice', 'initiator', 1), sideOptions('bob', 'responder', 1));
    const b = handshakePair(sideOptions('alice', 'initiator', 2), sideOptions('bob', 'responder', 2));
    expect(a.init.handshakeHash).not.toEqual(b.init.handshakeHash);
  });

  it('identity payload bounds', () => {
    expect(MAX_IDENTITY_PAYLOAD_BYTES).toBe(1123);
    expect(MAX_HANDSHAKE_MESSAGE_BYTES).toBe(1219);
    const p = createIdentityPayload(key('x'), x25519PublicKey(key('y')), Uint8Array.of(1, 2));
    expect(p.length).toBe(101);
    expect(decodeIdentityPayload(p.subarray(0, 100))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeIdentityPayload(Uint8Array.of(...p, 0))).toEqual({ ok: false, reason: 'malformed' });
    expect(() => createIdentityPayload(new Uint8Array(31), new Uint8Array(32))).toThrow(
      '"identitySecretKey" expected Uint8Array of length 32, got length=31',
    );
  });
});
