/**
 * Relayed GOSSIP with forged origin signatures (random origin, random 64-byte signature) from a
 * neighbour at a high rate, against a victim on the pure-JS noble suite, where every verification is
 * expensive. PROTOCOL.md §8.4 and §8.7: every copy is verified, so a bad signature is always the
 * sender's fault; `maxInvalidSignatures` of them ban the sender, whose later frames are dropped before
 * any verification and whose connection is closed and refused.
 *
 * Two phases against one victim:
 * 1. One attacker session that does not reconnect: the victim must ban it after at most
 *    `maxInvalidSignatures` verifications and close its link within a short deadline.
 * 2. A sustained attack that reconnects under fresh identities as soon as it is cut: the victim's CPU
 *    stays bounded (every identity costs a handshake, a JOIN and at most `maxInvalidSignatures`
 *    verifications), its heap too, and honest broadcasts keep crossing it (≥ 99 %).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_INVALID_SIGNATURES } from '../../src/proto/config.js';
import { expectAttackBounds } from './bounds.js';
import type { NodeHandle } from './harness.js';
import { Lab, measureAttack, summary } from './harness.js';
import { type JsonObject, asNumber as num, type Sample } from './spec.js';

/** Forged frames per second: above the 3.2k/s that pinned a noble victim at 100 % before hardening. */
const RATE_PER_SEC = 10_000;
const ATTACK_MS = 5000;
/** The core's `maxInvalidSignatures` (the fallback keeps the file runnable against a core without the option, for comparison). */
const MAX_INVALID = DEFAULT_MAX_INVALID_SIGNATURES;
/**
 * From the first forged frame to the victim closing the link. Guess: the ban follows the third bad
 * signature at once; the rest is one loaded event loop turn and the close handshake.
 */
const BAN_DEADLINE_MS = 2000;
/**
 * Victim CPU during the sustained attack, % of one core. Measured: 11–13 % with honest traffic alone,
 * 48 % under this attack (17 identities in 5 s, as many as the per-IP accept rate lets in, each a noble
 * handshake, a JOIN, 3 verifications and the decryption of what it had in flight); unhardened,
 * verifying every forged frame pins the core at 100 %.
 */
const CPU_BOUND_PCT = 75;

const lab = new Lab('forged-gossip');
afterEach(() => lab.close());

const proto = (s: Sample): JsonObject => s.stats.proto as JsonObject;

describe('adversarial: forged relayed GOSSIP', () => {
  it(`a neighbour relaying forged signatures at ${RATE_PER_SEC}/s is banned after ≤ ${MAX_INVALID} verifications; CPU stays ≤ ${CPU_BOUND_PCT} %`, async () => {
    const { victim, honest } = await lab.star({ honest: 2, victim: { gossip: { crypto: 'noble' } } });
    const [sender, receiver] = honest as [NodeHandle, NodeHandle];

    // Phase 1: one session, no reconnect. Its attack phase ends when the victim cuts it.
    const before = await victim.sample();
    const one = await lab.attacker({
      name: 'forged-gossip once',
      victim,
      durationMs: ATTACK_MS,
      attack: { kind: 'forged-gossip', ratePerSec: RATE_PER_SEC, reconnect: false },
    }).report;
    const after = await victim.sample();
    const cutAfterMs = (one.attackEndedAt ?? Number.NaN) - (one.attackStartedAt ?? Number.NaN);
    const verified = num(proto(after).badSignature) - num(proto(before).badSignature);
    const bans = num(proto(after).bans) - num(proto(before).bans);
    console.log(
      `forged-gossip once: cut after ${cutAfterMs.toFixed(0)} ms and ${one.counters.framesSent} frames ` +
        `(closed by victim ${one.counters.closedByVictim}); victim verified ${verified} forged signatures, ` +
        `bans +${bans}, dropped ${JSON.stringify(proto(after).dropped)}`,
    );
    expect(one.ok, `attacker: ${one.error}`).toBe(true);
    expect(one.counters.joinsAccepted, 'the attacker became a neighbour').toBeGreaterThan(0);
    expect.soft(one.counters.closedByVictim, 'the victim closed the forging neighbour').toBe(1);
    expect
      .soft(
        cutAfterMs,
        `ms from the first forged frame to the victim closing the link (bound ${BAN_DEADLINE_MS})`,
      )
      .toBeLessThanOrEqual(BAN_DEADLINE_MS);
    expect
      .soft(verified, `forged signatures the victim verified from one neighbour (bound ${MAX_INVALID})`)
      .toBeLessThanOrEqual(MAX_INVALID);
    expect.soft(bans, 'bans by the victim').toBe(1);

    // Phase 2: sustained, with a fresh identity after every cut.
    const r = await measureAttack(lab, {
      name: 'forged-gossip',
      victim,
      senders: [sender],
      receivers: [receiver],
      attack: { durationMs: ATTACK_MS, attack: { kind: 'forged-gossip', ratePerSec: RATE_PER_SEC } },
    });
    const last = r.samples.at(-1) ?? r.baseline;
    const verifiedAll = num(proto(last).badSignature) - num(proto(r.baseline).badSignature);
    const identities = r.report.counters.joinsAccepted;
    console.log(
      `${summary(r)}; identities accepted ${identities}, reconnects ${r.report.counters.reconnects}, ` +
        `victim verified ${verifiedAll} forged signatures (${(verifiedAll / Math.max(1, identities)).toFixed(1)} per identity), ` +
        `bans ${num(proto(last).bans)}`,
    );
    expect(r.report.ok, `attacker: ${r.report.error}`).toBe(true);
    expect(r.report.counters.framesSent, 'forged frames sent').toBeGreaterThan(1000);
    expect
      .soft(
        r.cpuPct,
        Number.isFinite(r.cpuPct)
          ? `victim CPU ${r.cpuPct.toFixed(0)} % of one core during the attack (bound ${CPU_BOUND_PCT} %)`
          : `victim CPU not measurable: it answered fewer than 2 samples during the attack (${r.sampleErrors} ` +
              `sample requests failed)`,
      )
      .toBeLessThanOrEqual(CPU_BOUND_PCT);
    expect
      .soft(
        verifiedAll,
        `forged signatures verified: ${verifiedAll} for ${identities} identities (bound ${MAX_INVALID} each)`,
      )
      .toBeLessThanOrEqual(MAX_INVALID * Math.max(1, identities));
    expectAttackBounds(r);
  });
});
