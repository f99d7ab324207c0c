/**
 * A peer alone on a topic stays cheap and findable (src/tracker/bootstrap.ts, "watching"), on a real
 * 30-node DHT testnet with real WebSocket gossip: over three minutes of its tracker's clock (a scaled
 * clock, so the minutes pass in seconds; the DHT's own timeouts stay real) it publishes one record per
 * minute and sends at most 300 DHT queries per minute (walk and put queries and read-backs: `Dht.stats`),
 * where it walked every 1.5 s before (~6,000). Then a newcomer on the same clock joins it through its
 * records.
 */
import { describe, expect, it } from 'vitest';
import type { Dht } from '../../src/dht/index.js';
import { scaledClock } from '../../src/tracker/clock.js';
import { until } from '../helpers/net.js';
import { recordStatus, statusEvent, trackerTestnet, uniq } from '../helpers/tracker.js';

const { peers, pool } = trackerTestnet({ nodes: 30, pool: 2 });

/** Tracker time runs this many times faster than real time (3 tracker minutes ≈ 9 s real). */
const SPEED = 20;
/** The bound: DHT queries per minute of the tracker's clock. */
const MAX_QUERIES_PER_MINUTE = 300;

const queries = (dht: Dht) => dht.stats.queriesSent + dht.stats.putsSent + dht.stats.putsReadBack;

describe('a lone peer', () => {
  it('publishes once a minute, stays under 300 DHT queries a minute, and a newcomer joins it', async () => {
    const clock = scaledClock({ speed: SPEED });
    const dht = pool[0]!;
    const before = queries(dht);
    const t0 = clock.now();
    const minute0 = Math.floor(t0 / 60_000);
    const topic = uniq('lone');
    const alone = await peers.start(topic, { dht, clock });
    const log = recordStatus(alone);
    // At least three whole tracker minutes after the one it started in, each with a record of ours.
    await statusEvent(alone, 'published', (e) => e.minute === minute0 + 4, 60_000);
    const elapsedMin = (clock.now() - t0) / 60_000;
    const sent = queries(dht) - before;
    const perMinute = sent / elapsedMin;
    expect(elapsedMin).toBeGreaterThanOrEqual(3);
    expect(perMinute, `${sent} queries in ${elapsedMin.toFixed(2)} tracker minutes`).toBeLessThanOrEqual(
      MAX_QUERIES_PER_MINUTE,
    );
    // One publish per minute: the start-up record (or the first no-records one), then one a minute.
    const published = log.filter((l) => l.event.type === 'published').map((l) => l.event);
    const minutes = published.map((e) => (e.type === 'published' ? e.minute : -1));
    expect(new Set(minutes).size).toBe(minutes.length);
    expect(minutes).toEqual(expect.arrayContaining([minute0 + 1, minute0 + 2, minute0 + 3, minute0 + 4]));
    expect(alone.stats.tracker.joinedAfterMs).toBeUndefined();
    // Full passes only on a new minute: the first, and about one per minute after it.
    expect(alone.stats.tracker.passes).toBeLessThanOrEqual(6);

    const newcomer = await peers.start(topic, { dht: pool[1], clock });
    await newcomer.joined();
    await until(() => newcomer.neighbors().includes(alone.id), 30_000, 'the newcomer joined the lone peer');
    await alone.joined();
  }, 120_000);
});
