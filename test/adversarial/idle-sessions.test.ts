/**
 * Idle sessions (PROTOCOL.md §9.8, the connection manager): 256 completed Noise handshakes under
 * fresh random identities that never join a topic and only answer PINGs, enough to fill the victim's
 * whole connection table (`maxConnections`). They come from 32 hosts of the attacker's own, 8 each
 * (`maxConnectionsPerIp`), so that the per-IP caps alone cannot shed them, and every session the
 * victim closes is back 250 ms later.
 *
 * Bounds:
 * - honest peers are still accepted: ≥ 99 % of 100 honest connects (fresh identities from ten hosts
 *   of their own, one every 150 ms, each a handshake and a PING answered) succeed;
 * - the victim's own dials work: it joins two reachable honest nodes during the attack, once while
 *   the table is full and once later, and both become its neighbours;
 * - the idle sessions get closed: none lives longer than the topicless grace (`topiclessGraceMs`)
 *   plus one sweep and some slack, over an attack twice as long;
 * - heap growth ≤ 50 MB, alive, honest broadcasts through the victim ≥ 99 %.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_TOPICLESS_GRACE_MS,
} from '../../src/net/config.js';
import { expectAttackBounds, expectHonestConnects, expectLifetimes } from './bounds.js';
import { Lab, loopbackHosts, measureTransportAttack, type NodeHandle, summary, until } from './harness.js';
import { asObject } from './spec.js';

/** The whole table. */
const SESSIONS = DEFAULT_MAX_CONNECTIONS;
/** What one host may hold. */
const SESSIONS_PER_HOST = DEFAULT_MAX_CONNECTIONS_PER_IP;
const TOPICLESS_GRACE_MS = DEFAULT_TOPICLESS_GRACE_MS;

const ATTACK_HOSTS = SESSIONS / SESSIONS_PER_HOST;
/** Twice the grace: sessions opened at the start must be gone well before the end. */
const ATTACK_MS = 2 * TOPICLESS_GRACE_MS;
/** The transport sweeps for unused connections every grace / 4; 3 s more for a loaded machine. */
const LIFETIME_BOUND_MS = TOPICLESS_GRACE_MS + TOPICLESS_GRACE_MS / 4 + 3000;
const HONEST_CONNECTS = 100;
const HONEST_EVERY_MS = 150;
/** Longest wait for a join of the victim to become a neighbourhood (a dial, a handshake, JOIN and its reply). */
const DIAL_DEADLINE_MS = 15_000;

const lab = new Lab('idle-sessions');
afterEach(() => lab.close());

describe('adversarial: idle sessions', () => {
  it(`${SESSIONS} idle sessions from ${ATTACK_HOSTS} hosts: honest connects and the victim's own dials succeed, the sessions are closed`, async () => {
    const { victim, honest } = await lab.star({ honest: 2 });
    const [sender, receiver] = honest as [NodeHandle, NodeHandle];
    // Reachable honest nodes (they advertise their listener) that the victim dials during the attack.
    const targets = await Promise.all(
      [1, 2].map((i) => lab.node({ name: `dial-target-${i}`, bootstrap: [] })),
    );

    const dialed: { target: string; ok: boolean; ms: number; tableAtDial: number }[] = [];
    const dial = async (target: NodeHandle): Promise<void> => {
      const tableAtDial = (await victim.sample()).connections;
      const start = performance.now();
      await victim.join([target.peer()]);
      const ok = await until(async () => (await victim.neighbors()).includes(target.id), {
        timeoutMs: DIAL_DEADLINE_MS,
        what: `the victim's join of ${target.name}`,
      }).then(
        () => true,
        () => false,
      );
      dialed.push({ target: target.name, ok, ms: Math.round(performance.now() - start), tableAtDial });
    };

    const { r, connects, transport } = await measureTransportAttack(lab, {
      name: 'idle-sessions',
      victim,
      sender,
      receiver,
      durationMs: ATTACK_MS,
      bindHosts: loopbackHosts(ATTACK_HOSTS),
      attack: { kind: 'idle-sessions', sessions: SESSIONS },
      connects: { count: HONEST_CONNECTS, everyMs: HONEST_EVERY_MS },
      // Once the table is full, and again after the first wave of sessions was closed.
      alongside: async ({ attacker, end }) => {
        await until(async () => (await victim.sample()).connections >= SESSIONS - 8, {
          timeoutMs: 10_000,
          what: 'a full connection table',
        }).catch(() => {});
        await dial(targets[0]!);
        await until(() => (attacker.progress?.closedByVictim ?? 0) >= SESSIONS, {
          timeoutMs: Math.max(1, end - 4000 - performance.now()),
          what: 'a table of idle sessions closed by the victim',
        }).catch(() => {});
        await dial(targets[1]!);
      },
    });
    const notes = r.report.notes;
    const lived = asObject(notes.victimClosedAfterMs);
    const detail =
      `honest connects ${JSON.stringify(connects)}; victim dials ${JSON.stringify(dialed)}; sessions ` +
      `open at start ${String(notes.openAtStart)}, closed by the victim ${r.report.counters.closedByVictim} ` +
      `(lifetimes ${JSON.stringify(lived)}), oldest still open at the end ${String(notes.oldestOpenMs)} ms; ` +
      `victim refused ${JSON.stringify(transport.refused ?? null)} closed ${JSON.stringify(transport.closed ?? null)}`;
    console.log(`${summary(r)}\n${detail}`);

    // The attack really ran and really filled the table: otherwise every bound below holds vacuously.
    expect(r.report.ok, `attacker: ${r.report.error}`).toBe(true);
    expect(r.peakConnections, `peak connections of the victim; ${detail}`).toBeGreaterThanOrEqual(
      SESSIONS - 8,
    );

    expectHonestConnects(connects, { count: HONEST_CONNECTS, detail });
    expect.soft(dialed.length, `victim dials attempted; ${detail}`).toBe(2);
    for (const d of dialed) {
      expect
        .soft(
          d.ok,
          `the victim's dial to ${d.target} (table at ${d.tableAtDial}) made it a neighbour; ${detail}`,
        )
        .toBe(true);
    }
    expectLifetimes(r.report, { what: 'idle session', boundMs: LIFETIME_BOUND_MS, detail });
    expect
      .soft(r.report.counters.closedByVictim, `idle sessions the victim closed; ${detail}`)
      .toBeGreaterThanOrEqual(Number(notes.openAtStart));
    expectAttackBounds(r);
  });
});
