/**
 * Scenarios shared by the acceptance tests (`test/sim/*.test.ts`) and `npm run sim` (`run.ts`).
 * Everything is deterministic for a given seed.
 */
import { below } from '../../src/proto/index.js';
import { type MessageRecord, Sim, type SimOptions } from './sim.js';

/** What a scenario measured. */
export interface Result {
  scenario: string;
  n: number;
  messages: number;
  /** Deliveries that never happened (live member × message). */
  missed: number;
  /** Relative message redundancy: payload sends / (receivers − 1) − 1, receivers counting the sender. */
  rmr: number;
  /** Last delivery hop: the largest hop count of a message, averaged over messages and its maximum. */
  ldhMean: number;
  ldhMax: number;
  /** After a kill: virtual ms until every survivor has ≥ 4 neighbours (null: not a kill scenario or never). */
  healMs: number | null;
  /** Active-view sizes of live members at the end. */
  activeMin: number;
  activeMean: number;
  /** Connected components of the active-view graph at the end. */
  components: number;
  /** Wall-clock ms the scenario took. */
  wallMs: number;
}

/**
 * Join pace of the broadcast scenarios: one node every 20 virtual ms, about one link latency, so each
 * JOIN's random walks run over the overlay that earlier joins built. Measured at N = 100 (seed 1): a
 * flash crowd 2 ms apart ends with an active-view graph of diameter 7 (walks stop early at nodes that
 * have just joined themselves), 20 ms apart with diameter 5; a tree's depth (LDH) cannot be below the
 * sender's distance in that graph (8 vs 5–6 hops).
 */
export const JOIN_STAGGER_MS = 20;
/** Join pace of the join scenario: a flash crowd, the hardest case for "one component, no one alone". */
export const FLASH_JOIN_STAGGER_MS = 2;
/** Virtual time the swarm is given to settle: from the first join, and at least 3 s after the last. */
export const SETTLE_MS = 5000;
const SETTLE_AFTER_LAST_JOIN_MS = 3000;

/**
 * N nodes join, node i through one random node among 0..i-1, `staggerMs` apart; then runs until
 * SETTLE_MS after the first join (and at least 3 s after the last).
 */
export function joined(n: number, opts: SimOptions = {}, staggerMs = JOIN_STAGGER_MS): Sim {
  const sim = new Sim(opts);
  sim.addNodes(n);
  for (let i = 0; i < n; i++) {
    sim.runUntil(i * staggerMs);
    sim.join(i, i === 0 ? [] : [below(sim.rng, i)]);
  }
  sim.runUntil(Math.max(SETTLE_MS, (n - 1) * staggerMs + SETTLE_AFTER_LAST_JOIN_MS));
  return sim;
}

/** Warm-up: 10 broadcasts from random members, then quiet time, so trees have formed. */
export function warmUp(sim: Sim, sender?: number): void {
  const members = sim.liveMembers();
  for (let k = 0; k < 10; k++) {
    sim.broadcast(sender ?? members[below(sim.rng, members.length)]!);
    sim.runFor(100);
  }
  sim.runFor(2000);
}

export function summarize(
  sim: Sim,
  scenario: string,
  recs: MessageRecord[],
  t0: number,
  healMs: number | null = null,
): Result {
  let payloads = 0;
  let receivers = 0;
  let missed = 0;
  let ldhSum = 0;
  let ldhMax = 0;
  for (const r of recs) {
    payloads += r.payloads;
    receivers += r.deliveredCount;
    missed += sim.missed(r);
    ldhSum += r.maxHops;
    ldhMax = Math.max(ldhMax, r.maxHops);
  }
  const sizes = sim.activeSizes();
  return {
    scenario,
    n: sim.nodes.length,
    messages: recs.length,
    missed,
    rmr: receivers === 0 ? 0 : payloads / receivers - 1,
    ldhMean: recs.length === 0 ? 0 : ldhSum / recs.length,
    ldhMax,
    healMs,
    activeMin: Math.min(...sizes),
    activeMean: sizes.reduce((a, b) => a + b, 0) / sizes.length,
    components: sim.components(),
    wallMs: Date.now() - t0,
  };
}

/** `count` broadcasts `gapMs` apart, from `sender` or from random live members; then drains. */
export function broadcasts(sim: Sim, count: number, gapMs: number, sender?: number): MessageRecord[] {
  const recs: MessageRecord[] = [];
  for (let k = 0; k < count; k++) {
    const members = sim.liveMembers();
    recs.push(sim.broadcast(sender ?? members[below(sim.rng, members.length)]!));
    sim.runFor(gapMs);
  }
  sim.runFor(3000);
  return recs;
}

export function joinScenario(n: number, opts: SimOptions = {}): Result {
  const t0 = Date.now();
  const sim = joined(n, opts, FLASH_JOIN_STAGGER_MS);
  return summarize(sim, 'join', [], t0);
}

export function singleSender(n: number, count = 100, opts: SimOptions = {}): Result {
  const t0 = Date.now();
  const sim = joined(n, opts);
  warmUp(sim, 0);
  return summarize(sim, 'single-sender', broadcasts(sim, count, 100, 0), t0);
}

export function randomSenders(n: number, count = 100, opts: SimOptions = {}): Result {
  const t0 = Date.now();
  const sim = joined(n, opts);
  warmUp(sim);
  const before = totalStats(sim);
  const r = summarize(sim, 'random-senders', broadcasts(sim, count, 100), t0);
  if (process.env.DEBUG_STATS) {
    const after = totalStats(sim);
    console.log(Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)])));
  }
  return r;
}

export function allAtOnce(n: number, opts: SimOptions = {}): Result {
  const t0 = Date.now();
  const sim = joined(n, opts);
  warmUp(sim);
  const recs = sim.liveMembers().map((i) => sim.broadcast(i));
  sim.runFor(5000);
  return summarize(sim, 'all-at-once', recs, t0);
}

/**
 * Kills `fraction` of n nodes at once (never node 0's choice matters: victims are a seeded sample),
 * measures the time until every survivor has ≥ 4 neighbours, then broadcasts `count` messages from
 * random survivors starting `delayMs` after the kill.
 */
export function killScenario(
  n: number,
  fraction: number,
  delayMs: number,
  count = 20,
  opts: SimOptions = {},
): Result {
  const t0 = Date.now();
  const sim = joined(n, opts);
  warmUp(sim);
  const members = sim.liveMembers();
  const victims: number[] = [];
  const pool = members.slice();
  for (let k = 0; k < Math.round(n * fraction); k++)
    victims.push(pool.splice(below(sim.rng, pool.length), 1)[0]!);
  const killedAt = sim.now;
  sim.kill(victims);
  let healMs: number | null = null;
  const stepMs = 10;
  while (sim.now - killedAt < Math.max(delayMs, 5000)) {
    sim.runFor(stepMs);
    if (healMs === null && Math.min(...sim.activeSizes()) >= 4) healMs = sim.now - killedAt;
    if (sim.now - killedAt >= delayMs && healMs !== null) break;
  }
  sim.runUntil(killedAt + delayMs);
  const recs = broadcasts(sim, count, 50);
  return summarize(sim, `kill-${Math.round(fraction * 100)}%`, recs, t0, healMs);
}

/** Sum of every node's counters (diagnostics); drop reasons as `dropped.<reason>`. */
export function totalStats(sim: Sim): Record<string, number> {
  const agg: Record<string, number> = {};
  const add = (k: string, v: number): void => {
    agg[k] = (agg[k] ?? 0) + v;
  };
  for (const node of sim.nodes) {
    for (const [k, v] of Object.entries(node.stats)) {
      if (typeof v === 'number') add(k, v);
      else for (const [r, n] of Object.entries(v as Record<string, number>)) add(`${k}.${r}`, n);
    }
  }
  return agg;
}
