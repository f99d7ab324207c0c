/**
 * Transport-level abuse below the handshake (PROTOCOL.md §9.8, the connection manager): half-open
 * TCP connections that never send a byte and slow-HTTP ones (slowloris: a request line, then one
 * header byte every 500 ms, never the end of the headers), 1,200 wanted open at once by two attacker
 * processes, each from 150 hosts of its own, against a victim whose file-descriptor limit is 1,024
 * (`ulimit -n`). Sockets like these hold descriptors and HTTP-parser state without ever reaching the
 * WebSocket layer; every one the victim closes is back 250 ms later.
 *
 * Bounds:
 * - no EMFILE: the victim never finds itself without a free descriptor (probed every 100 ms), and
 *   its open descriptors stay within its connection table (`maxConnections`) plus its own base;
 * - honest peers are still accepted: ≥ 99 % of 100 honest connects (fresh identities from ten hosts
 *   of their own, one every 100 ms, each a handshake and a PING answered) succeed, and an honest node
 *   that joins during the attack becomes the victim's neighbour;
 * - the sockets are cut by the HTTP-stage timeout (`upgradeTimeoutMs`) plus slack at the latest;
 * - heap growth ≤ 50 MB, alive, honest broadcasts through the victim ≥ 99 %.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_UPGRADE_TIMEOUT_MS } from '../../src/net/config.js';
import { expectAttackBounds, expectHonestConnects, expectLifetimes } from './bounds.js';
import { Lab, loopbackHosts, measureTransportAttack, type NodeHandle, summary, until } from './harness.js';
import type { AttackReport } from './spec.js';

const MAX_CONNECTIONS = DEFAULT_MAX_CONNECTIONS;
const UPGRADE_TIMEOUT_MS = DEFAULT_UPGRADE_TIMEOUT_MS;

const FD_LIMIT = 1024;
/** Per attacker: silent TCP, slow HTTP. */
const SOCKETS = 600;
const HOSTS_PER_ATTACKER = 150;
const ATTACK_MS = 12_000;
const HONEST_CONNECTS = 100;
const HONEST_EVERY_MS = 100;
/** Descriptors of the victim process besides its connections (measured idle: ~30). */
const BASE_FDS = 64;
/** Timers of a loaded machine fire late: 2 s of slack over the timeout. */
const LIFETIME_BOUND_MS = UPGRADE_TIMEOUT_MS + 2000;

const lab = new Lab('slow-tcp');
afterEach(() => lab.close());

const held = (r: AttackReport): string => {
  const c = r.counters;
  return (
    `${r.kind}: ${c.socketsOpened} connected of ${c.socketsAttempted} attempts (peak ${c.peakOpen} at once), ` +
    `closed by the victim ${c.closedByVictim} (lifetimes ${JSON.stringify(r.notes.victimClosedAfterMs ?? null)}, ` +
    `oldest open at the end ${String(r.notes.oldestOpenMs)} ms)`
  );
};

describe('adversarial: half-open TCP and slow HTTP', () => {
  it(`${2 * SOCKETS} silent and slow-header sockets against a ${FD_LIMIT}-descriptor victim: no EMFILE, honest peers accepted`, async () => {
    const { victim, honest } = await lab.star({ honest: 2, victim: { fdLimit: FD_LIMIT } });
    const [sender, receiver] = honest as [NodeHandle, NodeHandle];
    let joiner: { ok: boolean; ms: number } | undefined;
    const { r, reports, connects, transport } = await measureTransportAttack(lab, {
      name: 'slow-tcp',
      victim,
      sender,
      receiver,
      durationMs: ATTACK_MS,
      bindHosts: loopbackHosts(HOSTS_PER_ATTACKER, 66),
      attack: { kind: 'silent-tcp', sockets: SOCKETS },
      more: () => [
        lab.attacker({
          name: 'slow-http',
          victim,
          durationMs: ATTACK_MS,
          bindHosts: loopbackHosts(HOSTS_PER_ATTACKER, 67),
          attack: { kind: 'slow-http', sockets: SOCKETS, byteEveryMs: 500 },
        }),
      ],
      connects: { count: HONEST_CONNECTS, everyMs: HONEST_EVERY_MS },
      alongside: async ({ end }) => {
        const start = performance.now();
        const node = await lab.honest(victim, { name: 'joiner' });
        const ok = await until(async () => (await victim.neighbors()).includes(node.id), {
          timeoutMs: Math.max(1000, end - performance.now()),
          what: 'the joiner became a neighbour of the victim',
        }).then(
          () => true,
          () => false,
        );
        joiner = { ok, ms: Math.round(performance.now() - start) };
      },
    });
    const final = r.samples.at(-1);
    const detail =
      `${reports.map(held).join('; ')}; honest connects ${JSON.stringify(connects)}; joiner ` +
      `${JSON.stringify(joiner)}; victim fds ≤ ${r.peakFds}, no free descriptor ${final?.fdExhausted} times, ` +
      `refused ${JSON.stringify(transport.refused ?? null)} upgrade failures ` +
      `${JSON.stringify(transport.upgradeFailures ?? null)}; samples failed ${r.sampleErrors}`;
    console.log(`${summary(r)}\n${detail}`);

    // The attacks really ran, at the scale of the bound: otherwise every bound below holds vacuously.
    for (const x of reports) expect(x.ok, `${x.kind} attacker: ${x.error}`).toBe(true);
    const opened = reports.reduce((n, x) => n + x.counters.socketsOpened, 0);
    expect(opened, `sockets connected by both attackers; ${detail}`).toBeGreaterThanOrEqual(1000);

    expect.soft(final?.fdExhausted, `times the victim had no free descriptor; ${detail}`).toBe(0);
    expect
      .soft(r.peakFds, `victim's peak open descriptors; bound ${MAX_CONNECTIONS} + ${BASE_FDS}; ${detail}`)
      .toBeLessThanOrEqual(MAX_CONNECTIONS + BASE_FDS);
    expectHonestConnects(connects, { count: HONEST_CONNECTS, detail });
    expect.soft(joiner?.ok, `an honest node joined during the attack; ${detail}`).toBe(true);
    for (const x of reports) {
      expectLifetimes(x, { what: `${x.kind} socket`, boundMs: LIFETIME_BOUND_MS });
    }
    expectAttackBounds(r);
  });
});
