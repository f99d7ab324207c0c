/**
 * Random walks and shuffles from a connection that is not a neighbour (PROTOCOL.md §8.7: FORWARD_JOIN
 * and SHUFFLE only from an active neighbour, SHUFFLE_REPLY only as the answer to a SHUFFLE we sent),
 * with ttl 255 and peer data naming the attacker's own listening ports. Three attacker processes, one
 * per message kind and each from its own IP, hit one victim at once; an observer (a fourth process,
 * a real neighbour of the victim) records every walk the victim passes on.
 *
 * Bounds: no TCP connect by the victim or its honest neighbours to an attacker's listener for the
 * two walk kinds, and at most a small named bound for SHUFFLE_REPLY (see below); no walk naming an
 * attacker's address reaches a neighbour (no amplification); the victim's address book grows by at
 * most a small named bound; its heap by at most 50 MB; honest broadcasts keep crossing it (≥ 99 %).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expectDelivered, expectHeapGrowth } from './bounds.js';
import type { AttackerHandle, NodeHandle } from './harness.js';
import { delivery, HEAP_BOUND_MB, heapGrowthMB, Lab, Sampler, until } from './harness.js';
import { type AttackReport, type DialRecord, asNumber as num, asObject as obj, type Sample } from './spec.js';

const ATTACK_MS = 5000;
/** Frames per second per attacker: 25× a settled node's whole walk traffic, yet no CPU flood. */
const RATE_PER_SEC = 200;
/**
 * SHUFFLE_REPLY carries no nonce (PROTOCOL.md §8.7), so any peer may answer a SHUFFLE of ours while it
 * awaits its reply: at most `maxShufflesAwaitingReply` (4) replies of at most ka + kp = 7 peers each are
 * taken in 10 s. Those peers are passive candidates like any other, and repair may dial them; an
 * attacker that is not a neighbour can thus name at most 4 × 7 = 28 peers per reply window. Bound
 * on the connects the victim and its honest neighbours make to the SHUFFLE_REPLY attacker's ports.
 */
const SHUFFLE_REPLY_DIAL_BOUND = 28;
/** Peers the victim's address book may gain during the attack: the SHUFFLE_REPLY peers above, and slack. */
const ADDRESS_BOOK_GROWTH_BOUND = 2 * SHUFFLE_REPLY_DIAL_BOUND;

type Kind = 'forward-join' | 'shuffle' | 'shuffle-reply';
const ATTACKERS: { message: Kind; host: string; peersPerFrame: number }[] = [
  { message: 'forward-join', host: '127.0.0.66', peersPerFrame: 1 },
  // More peers than a full sample (ka + kp = 7): the rest must be ignored.
  { message: 'shuffle', host: '127.0.0.67', peersPerFrame: 32 },
  { message: 'shuffle-reply', host: '127.0.0.68', peersPerFrame: 255 },
];
const OBSERVER_HOST = '127.0.0.70';

const lab = new Lab('walks');
afterEach(() => lab.close());

/** Connects `node` attempted to one of `report`'s listeners. */
async function dialsTo(node: NodeHandle, report: AttackReport): Promise<DialRecord[]> {
  const ports = new Set(report.listeners.map((a) => `${a.host}:${a.port}`));
  return (await node.dials()).filter((d) => ports.has(`${d.host}:${d.port}`));
}

describe('adversarial: walks and shuffles from a non-neighbour', () => {
  it('FORWARD_JOIN / SHUFFLE / SHUFFLE_REPLY with ttl 255 and attacker addresses: no dials, no amplification, bounded state', async () => {
    const { victim, honest } = await lab.star({ honest: 2 });
    const [sender, receiver] = honest as [NodeHandle, NodeHandle];

    // The observer is a real neighbour: walks the victim forwards reach it as they reach honest peers.
    const observer = lab.attacker({
      name: 'observer',
      victim,
      bindHost: OBSERVER_HOST,
      durationMs: 60_000,
      attack: { kind: 'observe' },
    });
    await observer.attacking;
    await until(async () => (await victim.neighbors()).length >= 3, {
      timeoutMs: 20_000,
      what: 'the observer among the victim neighbours',
      detail: async () => JSON.stringify(await victim.neighbors()),
    });

    const baseline = await victim.sample({ gc: true });
    const sampler = new Sampler(victim).start();
    await sender.startBroadcast({ everyMs: 100, bytes: 64 });
    const attackers: AttackerHandle[] = ATTACKERS.map((a) =>
      lab.attacker({
        name: `walk ${a.message}`,
        victim,
        bindHost: a.host,
        durationMs: ATTACK_MS,
        listenPorts: 4,
        attack: {
          kind: 'walk',
          message: a.message,
          ttl: 255,
          neighbour: false,
          peersPerFrame: a.peersPerFrame,
          addresses: 'listeners',
          ratePerSec: RATE_PER_SEC,
        },
      }),
    );
    const reports = await Promise.all(attackers.map((a) => a.report));
    await sender.stopBroadcast();
    const samples = await sampler.stop();
    const final = await victim.sample({ gc: true });
    samples.push(final);
    const observed = await observer.stop();
    const from = Math.min(...reports.map((r) => r.attackStartedAt ?? r.startedAt));
    const to = Math.max(...reports.map((r) => r.attackEndedAt ?? r.startedAt));
    const d = await delivery({ senders: [sender], receivers: [receiver], from, to });

    const rows: string[] = [];
    const dials: Record<Kind, number> = { 'forward-join': 0, shuffle: 0, 'shuffle-reply': 0 };
    const incoming: Record<Kind, number> = { 'forward-join': 0, shuffle: 0, 'shuffle-reply': 0 };
    const leaked: Record<Kind, number> = { 'forward-join': 0, shuffle: 0, 'shuffle-reply': 0 };
    const walkHosts = obj(observed.notes.walkHosts);
    for (const [i, a] of ATTACKERS.entries()) {
      const r = reports[i]!;
      expect(r.ok, `${a.message} attacker: ${r.error}`).toBe(true);
      const byNode = await Promise.all([victim, sender, receiver].map((n) => dialsTo(n, r)));
      dials[a.message] = byNode.reduce((n, l) => n + l.length, 0);
      incoming[a.message] = r.counters.incomingDials;
      leaked[a.message] = num(walkHosts[a.host] ?? 0);
      rows.push(
        `${a.message}: ${r.counters.framesSent} frames from ${a.host}; connects to its ports by ` +
          `victim/honest-1/honest-2 ${byNode.map((l) => l.length).join('/')} (its listeners saw ` +
          `${r.counters.incomingDials}, ${r.counters.incomingHttp} HTTP); its addresses in walks passed to the observer ${leaked[a.message]}`,
      );
    }
    const book = (s: Sample): number => num(obj(s.stats.transport).addressBookPeers);
    const bookGrowth = Math.max(...samples.map(book)) - book(baseline);
    const growth = heapGrowthMB(baseline, samples);
    const dropped = obj(obj(final.stats.proto).dropped);
    const frames = reports.reduce((n, r) => n + r.counters.framesSent, 0);
    console.log(
      `walks: ${rows.join('; ')}. Observer got walks ${JSON.stringify(observed.notes.walks)} ` +
        `(max ttl ${String(observed.notes.walkMaxTtl)}), hosts ${JSON.stringify(walkHosts)}; victim ` +
        `address book +${bookGrowth}, heap +${growth.toFixed(1)} MB, dropped ${JSON.stringify(dropped)}; ` +
        `honest ${d.delivered}/${d.expected} p99 ${d.p99Ms.toFixed(0)} ms`,
    );

    // The attacks ran, from sessions that never became neighbours.
    for (const r of reports) expect(r.counters.framesSent, `${r.name} frames sent`).toBeGreaterThan(100);
    for (const r of reports) expect(r.counters.joinsSent, `${r.name} sent no JOIN`).toBe(0);
    expect(observed.ok, `observer: ${observed.error}`).toBe(true);

    for (const k of ['forward-join', 'shuffle'] as const) {
      expect
        .soft(dials[k], `connects by the victim and its honest neighbours to the ${k} attacker's ports`)
        .toBe(0);
      expect.soft(incoming[k], `TCP connections the ${k} attacker's listeners accepted`).toBe(0);
    }
    expect
      .soft(
        dials['shuffle-reply'],
        `connects by the victim and its honest neighbours to the shuffle-reply attacker's ports ` +
          `(bound ${SHUFFLE_REPLY_DIAL_BOUND}: 4 awaited replies × 7 peers)`,
      )
      .toBeLessThanOrEqual(SHUFFLE_REPLY_DIAL_BOUND);
    // Not amplified: a non-neighbour's walk goes nowhere. The observer is one of the victim's three
    // neighbours, so it would see about a third of the walks the victim passed on.
    const leaks = leaked['forward-join'] + leaked.shuffle;
    expect
      .soft(leaks, `attacker addresses in walks the victim passed to the observer, after ${frames} frames`)
      .toBe(0);
    expect
      .soft(
        leaked['shuffle-reply'],
        `shuffle-reply attacker addresses in walks the victim passed to the observer (bound ${SHUFFLE_REPLY_DIAL_BOUND})`,
      )
      .toBeLessThanOrEqual(SHUFFLE_REPLY_DIAL_BOUND);
    expect
      .soft(
        bookGrowth,
        `victim address book grew by ${bookGrowth} peers (bound ${ADDRESS_BOOK_GROWTH_BOUND}) after ${frames} frames`,
      )
      .toBeLessThanOrEqual(ADDRESS_BOOK_GROWTH_BOUND);
    expectHeapGrowth(growth, HEAP_BOUND_MB, `gc'd, baseline ${baseline.heapUsedMB.toFixed(1)} MB`);
    expectDelivered(d);
    expect(await victim.ping(), victim.describe()).toBe(true);
  });
});
