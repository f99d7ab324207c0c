/**
 * GRAFT amplification: a neighbour asks again and again (as fast as its socket drains) for one cached
 * 60 kB message, each GRAFT a ~80-byte frame. PROTOCOL.md §8.7: a GRAFT is answered at most once per
 * (neighbour, id) while the payload is cached, within the neighbour's GRAFT byte budget; the flood of
 * GRAFT frames itself is over the sender's message budget and gets it banned. So the victim's bytes
 * out per attacker byte in stay below a small bound, even when the attacker comes back under fresh
 * identities; honest broadcasts keep crossing the victim (≥ 99 %).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expectAttackBounds } from './bounds.js';
import type { NodeHandle } from './harness.js';
import { Lab, measureAttack, summary, until } from './harness.js';

const CONTENT_BYTES = 60_000;
const ATTACK_MS = 5000;
/** Victim bytes out (to the attacker) per attacker byte in (before the hardening: 76; measured here 103–147). */
const AMPLIFICATION_BOUND = 2;

const lab = new Lab('graft-flood');
afterEach(() => lab.close());

describe('adversarial: GRAFT flood for a cached message', () => {
  it(`GRAFT(id) for a cached ${CONTENT_BYTES / 1000} kB message: ≤ ${AMPLIFICATION_BOUND} bytes out per byte in`, async () => {
    const { victim, honest } = await lab.star({ honest: 2 });
    const [sender, receiver] = honest as [NodeHandle, NodeHandle];
    const run = measureAttack(lab, {
      name: 'graft-flood',
      victim,
      senders: [sender],
      receivers: [receiver],
      attack: { durationMs: ATTACK_MS, attack: { kind: 'graft-flood', minContentBytes: CONTENT_BYTES } },
    });
    // The attacker takes the first payload of ≥ 60 kB the victim pushes to it: broadcast one once it
    // is the victim's neighbour (the honest periodic broadcasts are 64 bytes).
    await until(async () => (await victim.neighbors()).length >= 3, {
      timeoutMs: 20_000,
      what: 'the attacker among the victim neighbours',
      detail: async () => JSON.stringify(await victim.neighbors()),
    });
    await sender.request('broadcast', { bytes: CONTENT_BYTES });
    const r = await run;
    const amplification = Number(r.report.notes.amplification);
    const c = r.report.counters;
    console.log(
      `${summary(r)}; attacker sent ${(c.bytesSent / 1e6).toFixed(2)} MB, got ${(c.bytesReceived / 1e6).toFixed(2)} MB ` +
        `(${c.receivedByKind.gossip ?? 0} GOSSIP) in ${c.sessionsOpened} sessions; amplification ${amplification.toFixed(3)}`,
    );

    expect(r.report.ok, `attacker: ${r.report.error}`).toBe(true);
    expect(Number(r.report.notes.contentBytes), 'the GRAFTed payload is the 60 kB message').toBe(
      CONTENT_BYTES,
    );
    expect(c.framesSent, 'GRAFT frames sent').toBeGreaterThan(1000);
    expect
      .soft(
        amplification,
        `victim bytes out per attacker byte in: ${amplification.toFixed(3)} (bound ${AMPLIFICATION_BOUND}); ` +
          `${c.framesSent} GRAFTs, ${c.receivedByKind.gossip ?? 0} payloads back`,
      )
      .toBeLessThanOrEqual(AMPLIFICATION_BOUND);
    expectAttackBounds(r);
  });
});
