/** Joining helpers shared by the benches that join topics (join.bench.ts, interop.bench.ts). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dht } from '../../src/dht/index.js';
import type { Gossip } from '../../src/net/gossip.js';
import type { Clock } from '../../src/tracker/clock.js';
import { joinTopic, type TrackedTopic } from '../../src/tracker/join.js';

/** Gossip nodes of the benches listen on loopback, any free port. */
export const LISTEN = { host: '127.0.0.1', port: 0 };

/**
 * `joinTopic` with `wait: true`, time-boxed by an abort (which closes what it created); undefined when
 * it did not join within `budgetMs`. The timer is cleared once joined: the signal of `joinTopic` stays
 * the topic's for its whole life, and a later abort would close it.
 */
export async function joinWithin(
  topic: string,
  opts: { dht: Dht; gossip: Gossip | { listen: typeof LISTEN }; clock?: Clock },
  budgetMs: number,
): Promise<TrackedTopic | undefined> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), budgetMs);
  try {
    return await joinTopic(topic, { ...opts, signal: ac.signal });
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** Closes the topics, then the gossip nodes, whatever fails. */
export async function closeAll(
  topics: readonly (TrackedTopic | undefined)[],
  gossips: readonly Gossip[] = [],
): Promise<void> {
  await Promise.allSettled(topics.map((t) => t?.close()));
  await Promise.allSettled(gossips.map((g) => g.close()));
}

/** Polls `cond` every `pollMs`: ms since `t0` once it holds, or undefined once `budgetMs` passed. */
export async function until(
  cond: () => boolean,
  t0: number,
  budgetMs: number,
  pollMs = 25,
): Promise<number | undefined> {
  for (;;) {
    if (cond()) return performance.now() - t0;
    if (performance.now() - t0 >= budgetMs) return undefined;
    await sleep(pollMs);
  }
}

/**
 * The members of a warm join: one peer per DHT node of `dhts` joins `topic` (each within `budgetMs`),
 * and one of them has published its record. Undefined, with all of them closed, when that does not
 * happen within the budget.
 */
export async function landedMembers(
  topic: string,
  dhts: readonly Dht[],
  budgetMs: number,
): Promise<TrackedTopic[] | undefined> {
  const live = await Promise.all(
    dhts.map((dht) => joinWithin(topic, { dht, gossip: { listen: LISTEN } }, budgetMs)),
  );
  const members = live.filter((p) => p !== undefined);
  const landed =
    members.length === dhts.length &&
    (await until(() => members.some((p) => p.stats.tracker.published > 0), performance.now(), budgetMs)) !==
      undefined;
  if (landed) return members;
  await closeAll(live);
  return undefined;
}
