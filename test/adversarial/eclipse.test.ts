/**
 * Eclipse by free identities: 30 identities from 5 attacker IPs (each in its own /24, so the
 * transport's per-IP and per-prefix caps do not stop them before the gossip core sees them) ask to be
 * the victim's neighbours with JOIN or NEIGHBOR(high) and ask again as soon as they are evicted.
 *
 * The defences under test (PROTOCOL.md §8.7): accepting a JOIN / NEIGHBOR(high) that needs an eviction
 * is rate-limited; the longest-serving neighbours, active for `protectAfterMs` without a strike, are
 * never evicted by newcomers; at most `maxActivePerGroup` neighbours share one address group. So the
 * honest neighbours, joined before the attack and serving for `protectAfterMs`, must all stay: the
 * victim keeps ≥ 2 honest neighbours at every sample, and honest broadcasts keep crossing it (≥ 99 %).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PROTECT_AFTER_MS } from '../../src/proto/config.js';
import { expectDelivered } from './bounds.js';
import type { NodeHandle } from './harness.js';
import { delivery, honestNeighbors, Lab, Sampler, until } from './harness.js';

const ATTACK_MS = 6000;
const ATTACKER_HOSTS = ['127.0.1.66', '127.0.2.66', '127.0.3.66', '127.0.4.66', '127.0.5.66'];
const IDENTITIES_PER_HOST = 6; // 30 in all
const MIN_HONEST_NEIGHBORS = 2;
/** The core's `protectAfterMs` (the fallback keeps the file runnable against a core without the option, for comparison). */
const PROTECT_AFTER_MS = DEFAULT_PROTECT_AFTER_MS;

const lab = new Lab('eclipse');
afterEach(() => lab.close());

describe('adversarial: eclipse by 30 re-joining identities', () => {
  it(`30 identities from 5 IPs re-JOIN / NEIGHBOR(high) when evicted: the victim keeps ≥ ${MIN_HONEST_NEIGHBORS} honest neighbours at every sample`, async () => {
    const t0 = Date.now();
    const { victim, honest } = await lab.star({ honest: 2 });
    const tStar = Date.now();
    const [sender, receiver] = honest as [NodeHandle, NodeHandle];
    const honestIds = honest.map((h) => h.id);

    // Honest neighbours that have served `protectAfterMs` are the ones the core protects: the attack
    // starts once both have (the victim's own neighbour-up times say when they entered).
    const upAt = async (): Promise<number> => {
      const ups = (await victim.links()).filter(
        (l) => l.event === 'neighbor-up' && honestIds.includes(l.peer),
      );
      return Math.max(
        ...honestIds.map((id) => Math.max(...ups.filter((u) => u.peer === id).map((u) => u.at))),
      );
    };
    await until(async () => Date.now() - (await upAt()) >= PROTECT_AFTER_MS + 500, {
      timeoutMs: PROTECT_AFTER_MS + 20_000,
      what: `both honest neighbours serving for ${PROTECT_AFTER_MS} ms`,
      everyMs: 250,
      detail: async () => `victim neighbours ${JSON.stringify(await victim.neighbors())}`,
    });

    const tProtected = Date.now();
    const sampler = new Sampler(victim, { everyMs: 100 }).start();
    await sender.startBroadcast({ everyMs: 100, bytes: 64 });
    const attackers = ATTACKER_HOSTS.map((host, i) =>
      lab.attacker({
        name: `eclipse ${host}`,
        victim,
        bindHost: host,
        durationMs: ATTACK_MS,
        attack: {
          kind: 'eclipse',
          identities: IDENTITIES_PER_HOST,
          request: i % 2 === 0 ? 'join' : 'neighbor-high',
        },
      }),
    );
    const reports = await Promise.all(attackers.map((a) => a.report));
    await sender.stopBroadcast();
    const samples = await sampler.stop();
    const from = Math.min(...reports.map((r) => r.attackStartedAt ?? r.startedAt));
    const to = Math.max(...reports.map((r) => r.attackEndedAt ?? r.startedAt));
    const tAttack = Date.now();
    const d = await delivery({ senders: [sender], receivers: [receiver], from, to });
    const tDelivery = Date.now();

    const inWindow = samples.filter((s) => s.at >= from && s.at <= to);
    const counts = inWindow.map((s) => honestNeighbors(s, honestIds));
    const below = counts.filter((n) => n < MIN_HONEST_NEIGHBORS).length;
    const zero = counts.filter((n) => n === 0).length;
    const sybilPeak = Math.max(0, ...inWindow.map((s) => s.neighbors.length - honestNeighbors(s, honestIds)));
    const sum = (f: (r: (typeof reports)[number]) => number): number => reports.reduce((n, r) => n + f(r), 0);
    // Honest neighbour-downs at the victim during the attack, by peer and cause.
    const honestDowns: Record<string, Record<string, number>> = {};
    for (const l of await victim.links()) {
      if (l.event !== 'neighbor-down' || l.at < from || l.at > to) continue;
      const h = honest.find((n) => n.id === l.peer);
      if (h === undefined) continue;
      const byCause = honestDowns[h.name] ?? {};
      byCause[l.cause ?? '?'] = (byCause[l.cause ?? '?'] ?? 0) + 1;
      honestDowns[h.name] = byCause;
    }
    console.log(
      `eclipse: ${inWindow.length} samples, honest neighbours min ${Math.min(...counts)}, below ` +
        `${MIN_HONEST_NEIGHBORS} in ${below}, zero in ${zero}; sybil neighbours peak ${sybilPeak}; ` +
        `attackers: sessions ${sum((r) => r.counters.sessionsOpened)}/${sum((r) => r.counters.sessionsAttempted)}, ` +
        `requests ${sum((r) => r.counters.joinsSent)} (accepted ${sum((r) => r.counters.joinsAccepted)}, ` +
        `refused ${sum((r) => r.counters.joinsRefused)}), evictions ${sum((r) => r.counters.evictions)}, ` +
        `session failures ${JSON.stringify(reports.map((r) => r.counters.failures))}; ` +
        `honest neighbour-downs at the victim ${JSON.stringify(honestDowns)}; ` +
        `honest ${d.delivered}/${d.expected} p99 ${d.p99Ms.toFixed(0)} ms; phases: star ${tStar - t0} ms, ` +
        `protection ${tProtected - tStar} ms, attack ${tAttack - tProtected} ms, delivery ${tDelivery - tAttack} ms`,
    );

    for (const r of reports) expect(r.ok, `${r.name}: ${r.error}`).toBe(true);
    // The attack ran: sybils were let in at some point, and asked again and again.
    expect(
      sum((r) => r.counters.sessionsOpened),
      'attacker sessions',
    ).toBeGreaterThanOrEqual(30);
    expect(
      sum((r) => r.counters.joinsSent),
      'JOIN / NEIGHBOR requests',
    ).toBeGreaterThanOrEqual(30);
    expect(inWindow.length, 'victim samples during the attack').toBeGreaterThanOrEqual(10);

    expect
      .soft(
        below,
        `samples with fewer than ${MIN_HONEST_NEIGHBORS} honest neighbours: ${below} of ${inWindow.length} ` +
          `(zero honest in ${zero}); honest neighbour-downs ${JSON.stringify(honestDowns)}`,
      )
      .toBe(0);
    expectDelivered(d);
    expect(await victim.ping(), victim.describe()).toBe(true);
  });
});
