/**
 * A record follows our addresses (PROTOCOL.md §9.7): when the gossip node's advertised list changes
 * (a port mapping granted, an external address learned) after this minute's record went out, the
 * tracker refreshes the record at once, so a newcomer reading the minute dials the new list. Real
 * DHT testnet and gossip node on 127.0.0.1; the "external" host is a documentation address nobody
 * dials.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/tracker/clock.js';
import { until } from '../helpers/net.js';
import { makeStore, TEST_MINUTE } from '../helpers/records.js';
import { trackerTestnet, uniq } from '../helpers/tracker.js';

const { peers, pool } = trackerTestnet({ nodes: 20, pool: 2 });

describe('address refresh', () => {
  it("republishes this minute's record when the advertised addresses change", async () => {
    const topic = uniq('addresses');
    const clock = manualClock(TEST_MINUTE * 60_000 + 1_000);
    const a = await peers.start(topic, { dht: pool[0], clock });
    await until(() => a.stats.tracker.published > 0, 30_000, 'the start-up record');
    const reader = makeStore(pool[1]!, topic);
    const mine = async () =>
      (await reader.store.read(TEST_MINUTE)).records.find((r) => bytesToHex(r.publisher) === a.id);
    expect((await mine())?.addresses.map((x) => x.host)).toEqual(['127.0.0.1']);

    const published = a.stats.tracker.published;
    a.gossip.setExternalHost('203.0.113.9', { reachable: true });
    expect(a.addresses()[0]!.host).toBe('203.0.113.9');
    await until(() => a.stats.tracker.published > published, 30_000, 'the refreshed record');
    expect(a.stats.tracker.addressRefreshes).toBe(1);
    expect((await mine())?.addresses.map((x) => x.host)).toEqual(['203.0.113.9', '127.0.0.1']);

    // The same list again is no change: nothing more is published.
    a.gossip.setExternalHost('203.0.113.9', { reachable: true });
    expect(a.stats.tracker.addressRefreshes).toBe(1);
  }, 60_000);
});
