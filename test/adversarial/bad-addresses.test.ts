/**
 * Hostile addresses in peer data (PROTOCOL.md §9.8, the address policy): an attacker names loopback,
 * unspecified, link-local, cloud-metadata, multicast and broadcast hosts (127.0.0.1, 0.0.0.0,
 * 169.254.169.254, 224.0.0.1, 255.255.255.255, ::1, `localhost`, and their IPv6, IPv4-mapped and NAT64
 * spellings) as the addresses of fresh peer ids, in all three places peer data travels: the data of
 * its JOINs (fresh identities, from four hosts of its own), the joiner of FORWARD_JOINs and the
 * origin and sample of SHUFFLEs (from a neighbour session), with ttl 0 (the victim is the walk end
 * and would dial) and ttl 6 (the walk goes on to the honest peers, which would dial).
 *
 * Every named address carries the port of a trap listener of this process, so every connect any
 * node attempts to it is attributable (the nodes' dial guards record each attempt and refuse any
 * host outside 127.0.0.0/8 before a packet leaves; the trap counts the loopback ones that connect).
 * Bounds, for the victim and its honest peers alike:
 * - never a dial to an unspecified, link-local, metadata, multicast or broadcast host, under any
 *   policy;
 * - a victim whose policy does not allow loopback (`addressPolicy.loopback: false`) dials none of the
 *   loopback names either. A victim on a loopback testnet allows loopback peers by design, so there
 *   the loopback names are the positive control: it does dial them, which shows that the walks did
 *   make it dial and that zero for the rest is not vacuous. The other victim's control is a
 *   documentation-range address (192.0.2.1, public by the policy; its dial guard refuses it);
 * - heap growth ≤ 50 MB, alive, honest broadcasts through the victim ≥ 99 %.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Address } from '../../src/crypto/address.js';
import { expectAttackBounds } from './bounds.js';
import {
  type AttackResult,
  CONTROL_HOST,
  hostileWalkFrames,
  isLoopback,
  Lab,
  LOOPBACK_HOSTS,
  loopbackHosts,
  measureAttack,
  NEVER_HOSTS,
  type NodeHandle,
  openTrap,
  summary,
  type Trap,
} from './harness.js';
import type { AttackReport, DialRecord, JsonObject } from './spec.js';

const ATTACK_MS = 8000;
/** Walk frames per second from the neighbour session: a busy swarm's walk traffic, no flood. */
const WALK_RATE_PER_SEC = 24;
/** JOINs per second, each from a fresh identity. */
const JOIN_RATE_PER_SEC = 4;

const lab = new Lab('bad-addresses');
/** The trap listener of the running test (see `openTrap`): the port every named address carries. */
let trap: Trap | undefined;
afterEach(async () => {
  await lab.close();
  await trap?.close();
  trap = undefined;
});

/** Dials of `nodes` to the trap port, by node name and host. */
async function trapDials(
  nodes: readonly NodeHandle[],
  port: number,
): Promise<{ node: string; dials: DialRecord[] }[]> {
  return Promise.all(
    nodes.map(async (n) => ({ node: n.name, dials: (await n.dials()).filter((d) => d.port === port) })),
  );
}

function countByHost(dials: readonly DialRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of dials) out[d.host] = (out[d.host] ?? 0) + 1;
  return out;
}

interface Run {
  r: AttackResult;
  join: AttackReport;
  dials: { node: string; dials: DialRecord[] }[];
  trapConnections: number;
  victim: NodeHandle;
  addressRejects: string;
}

/** One victim (policy `transport`) and two honest peers under both attackers. */
async function run(name: string, transport: JsonObject | undefined, addresses: Address[]): Promise<Run> {
  const t = await openTrap();
  trap = t;
  const named = addresses.map((a) => ({ host: a.host, port: t.port }));
  const { victim, honest } = await lab.star({
    honest: 2,
    ...(transport === undefined ? {} : { victim: { gossip: { transport } } }),
  });
  const [sender, receiver] = honest as [NodeHandle, NodeHandle];
  let join: AttackReport | undefined;
  const r = await measureAttack(lab, {
    name,
    victim,
    senders: [sender],
    receivers: [receiver],
    attack: {
      durationMs: ATTACK_MS,
      bindHost: '127.0.0.66',
      attack: {
        kind: 'frames',
        frames: hostileWalkFrames(lab.topic, named, Math.ceil((WALK_RATE_PER_SEC * ATTACK_MS) / 1000) + 8),
        neighbour: true,
        ratePerSec: WALK_RATE_PER_SEC,
        reconnect: true,
      },
    },
    during: async () => {
      join = await lab.attacker({
        name: `${name}: joins`,
        victim,
        durationMs: ATTACK_MS,
        bindHosts: loopbackHosts(4, 68),
        attack: { kind: 'bad-addresses', via: 'join', addresses: named, ratePerSec: JOIN_RATE_PER_SEC },
      }).report;
    },
  });
  const last = r.samples.at(-1);
  const transportStats = (last?.stats.transport ?? {}) as JsonObject;
  return {
    r,
    join: join!,
    dials: await trapDials([victim, sender, receiver], t.port),
    trapConnections: t.connections(),
    victim,
    addressRejects: JSON.stringify(transportStats.addressRejects ?? null),
  };
}

function expectHealthy(x: Run): void {
  const { r } = x;
  expect(r.report.ok, `walk attacker: ${r.report.error}`).toBe(true);
  expect(r.report.counters.framesSent, 'walk frames sent').toBeGreaterThan(0);
  expect(x.join.ok, `join attacker: ${x.join.error}`).toBe(true);
  expect(x.join.counters.joinsSent, 'JOINs sent').toBeGreaterThan(0);
  expectAttackBounds(r);
}

function describeRun(x: Run): string {
  const per = x.dials.map((d) => `${d.node} ${JSON.stringify(countByHost(d.dials))}`).join('; ');
  return (
    `dials to attacker-named addresses: ${per}; trap connections ${x.trapConnections}; victim ` +
    `addressRejects ${x.addressRejects}; joins ${x.join.counters.joinsAccepted}/${x.join.counters.joinsSent} ` +
    `accepted; walk frames ${x.r.report.counters.framesSent}`
  );
}

describe('adversarial: hostile addresses in JOIN, FORWARD_JOIN and SHUFFLE peer data', () => {
  it('a victim whose policy refuses loopback dials none of them; its honest peers dial no unspecified/link-local/metadata/multicast/broadcast host', async () => {
    // 16 addresses: all fit `maxAddressesPerPeer`, so no cap hides one.
    const addresses = [CONTROL_HOST, ...NEVER_HOSTS, ...LOOPBACK_HOSTS].map((host) => ({ host, port: 1 }));
    const x = await run('bad-addresses, loopback refused', { addressPolicy: { loopback: false } }, addresses);
    console.log(`${summary(x.r)}\n${describeRun(x)}`);
    expectHealthy(x);

    const victimDials = x.dials.find((d) => d.node === x.victim.name)!.dials;
    const control = victimDials.filter((d) => d.host === CONTROL_HOST).length;
    expect
      .soft(control, `the victim dialed the control address (proof it acted on the walks); ${describeRun(x)}`)
      .toBeGreaterThan(0);
    const forbidden = victimDials.filter((d) => d.host !== CONTROL_HOST);
    expect
      .soft(
        forbidden.length,
        `victim (loopback refused) dials to attacker-named hosts ${JSON.stringify(countByHost(forbidden))}; ${describeRun(x)}`,
      )
      .toBe(0);
    for (const { node, dials } of x.dials.filter((d) => d.node !== x.victim.name)) {
      const never = dials.filter((d) => !isLoopback(d.host) && d.host !== CONTROL_HOST);
      expect
        .soft(never.length, `${node} dials to never-dialable hosts ${JSON.stringify(countByHost(never))}`)
        .toBe(0);
    }
  });

  it('a victim on a loopback testnet dials the loopback names (control) and never the others; nor do its honest peers', async () => {
    const addresses = [...NEVER_HOSTS, ...LOOPBACK_HOSTS].map((host) => ({ host, port: 1 }));
    const x = await run('bad-addresses, loopback testnet', undefined, addresses);
    console.log(`${summary(x.r)}\n${describeRun(x)}`);
    expectHealthy(x);

    const victimDials = x.dials.find((d) => d.node === x.victim.name)!.dials;
    expect(
      victimDials.filter((d) => isLoopback(d.host)).length,
      `the victim dialed attacker-named loopback addresses (control: proof it acted on the walks); ${describeRun(x)}`,
    ).toBeGreaterThan(0);
    for (const { node, dials } of x.dials) {
      const never = dials.filter((d) => !isLoopback(d.host));
      expect
        .soft(never.length, `${node} dials to never-dialable hosts ${JSON.stringify(countByHost(never))}`)
        .toBe(0);
    }
  });
});
