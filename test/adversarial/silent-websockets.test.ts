/**
 * Silent WebSockets (PROTOCOL.md §9.8, the connection manager): 300 WebSockets whose HTTP upgrade
 * completes and that never send Noise message 1. Each holds a pending slot (upgraded, no handshake
 * progress) until the first-message timeout cuts it. They come from 75 hosts of the attacker's own,
 * 4 each (`maxPendingPerIp`), so that the per-IP caps alone cannot shed them, and every one the
 * victim closes is back 250 ms later.
 *
 * Bounds:
 * - honest peers are still accepted: ≥ 99 % of 100 honest connects (fresh identities from ten hosts
 *   of their own, one every 100 ms, each a handshake and a PING answered) succeed;
 * - the silent sockets are cut: none lives longer than the first-message timeout plus slack, and the
 *   victim never holds more pending handshakes than its pending cap (`maxPendingInbound`) and the
 *   honest ones in flight;
 * - heap growth ≤ 50 MB, alive, honest broadcasts through the victim ≥ 99 %.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_FIRST_MESSAGE_TIMEOUT_MS,
  DEFAULT_MAX_PENDING_INBOUND,
  DEFAULT_MAX_PENDING_PER_IP,
} from '../../src/net/config.js';
import { expectAttackBounds, expectHonestConnects, expectLifetimes } from './bounds.js';
import { Lab, loopbackHosts, measureTransportAttack, type NodeHandle, summary } from './harness.js';
import { asObject } from './spec.js';

const PENDING_PER_HOST = DEFAULT_MAX_PENDING_PER_IP;
const MAX_PENDING_INBOUND = DEFAULT_MAX_PENDING_INBOUND;
const FIRST_MESSAGE_TIMEOUT_MS = DEFAULT_FIRST_MESSAGE_TIMEOUT_MS;

const SOCKETS = 300;
const ATTACK_HOSTS = SOCKETS / PENDING_PER_HOST;
const ATTACK_MS = 12_000;
const HONEST_CONNECTS = 100;
const HONEST_EVERY_MS = 100;
/** Pending handshakes besides the silent ones: honest connects in flight. */
const HONEST_PENDING_SLACK = 8;
/** Timers of a loaded machine fire late: 2 s of slack over the timeout. */
const LIFETIME_BOUND_MS = FIRST_MESSAGE_TIMEOUT_MS + 2000;

const lab = new Lab('silent-websockets');
afterEach(() => lab.close());

describe('adversarial: silent WebSockets', () => {
  it(`${SOCKETS} upgraded WebSockets from ${ATTACK_HOSTS} hosts that never send Noise message 1: honest peers are accepted`, async () => {
    const { victim, honest } = await lab.star({ honest: 2 });
    const [sender, receiver] = honest as [NodeHandle, NodeHandle];
    const { r, connects, transport } = await measureTransportAttack(lab, {
      name: 'silent-websockets',
      victim,
      sender,
      receiver,
      durationMs: ATTACK_MS,
      bindHosts: loopbackHosts(ATTACK_HOSTS),
      attack: { kind: 'silent-websockets', sockets: SOCKETS },
      connects: { count: HONEST_CONNECTS, everyMs: HONEST_EVERY_MS },
    });
    const notes = r.report.notes;
    const lived = asObject(notes.victimClosedAfterMs);
    const c = r.report.counters;
    const detail =
      `honest connects ${JSON.stringify(connects)}; silent sockets opened ${c.socketsOpened} of ` +
      `${c.socketsAttempted} attempts (${String(notes.openAtStart)} at the start, peak ${c.peakOpen}), ` +
      `closed by the victim ${c.closedByVictim} (lifetimes ${JSON.stringify(lived)}), oldest open at the ` +
      `end ${String(notes.oldestOpenMs)} ms; victim refused ${JSON.stringify(transport.refused ?? null)} ` +
      `upgrade failures ${JSON.stringify(transport.upgradeFailures ?? null)} closed ${JSON.stringify(transport.closed ?? null)}`;
    console.log(`${summary(r)}\n${detail}`);

    // The attack really ran: otherwise every bound below holds vacuously.
    expect(r.report.ok, `attacker: ${r.report.error}`).toBe(true);
    expect(c.socketsOpened, `silent WebSockets upgraded; ${detail}`).toBeGreaterThanOrEqual(SOCKETS);

    expectHonestConnects(connects, { count: HONEST_CONNECTS, detail });
    expectLifetimes(r.report, { what: 'silent WebSocket', boundMs: LIFETIME_BOUND_MS });
    expect
      .soft(
        r.peakHandshaking,
        `victim's peak pending handshakes; bound ${MAX_PENDING_INBOUND} + ${HONEST_PENDING_SLACK}`,
      )
      .toBeLessThanOrEqual(MAX_PENDING_INBOUND + HONEST_PENDING_SLACK);
    expectAttackBounds(r);
  });
});
