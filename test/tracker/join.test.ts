/**
 * Issue 5 acceptance, part 1: `joinTopic` on a 30-node DHT testnet with real WebSocket peers.
 * Cold start (two at once, 10 runs), 20 peers staggered, the warm path (one candidate at a time),
 * minute rollover on an injected clock, and close() during bootstrap.
 */
import { describe, expect, it } from 'vitest';
import { GttError } from '../../src/errors.js';
import { manualClock } from '../../src/tracker/clock.js';
import { joinTopic } from '../../src/tracker/join.js';
import { until } from '../helpers/net.js';
import { components, recordStatus, statusEvent, trackerTestnet, uniq } from '../helpers/tracker.js';

/** DHT nodes reused across runs (fresh topics each run), so starting a peer costs no DHT bootstrap. */
const { peers, pool } = trackerTestnet({ nodes: 30, pool: 20 });

describe('joinTopic', () => {
  it('two peers started at the same instant on an empty topic join one mesh, 10 runs of 10', async () => {
    let ok = 0;
    for (let run = 0; run < 10; run++) {
      const topic = uniq(`pair-${run}`);
      const [a, b] = await Promise.all([
        peers.start(topic, { dht: pool[0] }),
        peers.start(topic, { dht: pool[1] }),
      ]);
      await Promise.all([a.joined(), b.joined()].map((p) => p.then(() => {})));
      await until(() => a.neighbors().includes(b.id) && b.neighbors().includes(a.id), 30_000, 'a ↔ b');
      if (components([a, b])[0] === 2) ok++;
      await peers.closePeers();
    }
    expect(ok).toBe(10);
  }, 180_000);

  it('20 peers joining staggered over 5 s all join one connected mesh', async () => {
    const topic = uniq('stagger');
    const started = Array.from(
      { length: 20 },
      (_, i) =>
        new Promise<Awaited<ReturnType<typeof peers.start>>>((resolve, reject) => {
          // A start schedule (peer i at i × 250 ms), not a settle wait.
          setTimeout(() => peers.start(topic, { dht: pool[i] }).then(resolve, reject), i * 250);
        }),
    );
    const all = await Promise.all(started);
    await Promise.all(all.map((p) => p.joined()));
    await until(() => components(all)[0] === 20, 60_000, 'one component of 20');
    expect(components(all)).toEqual([20]);
  }, 120_000);

  it('a peer joining a live topic joins through the records, one candidate at a time', async () => {
    const topic = uniq('warm');
    const settleMs = 300;
    const live = await Promise.all([0, 1, 2].map((i) => peers.start(topic, { dht: pool[i] })));
    await Promise.all(live.map((p) => p.joined()));
    // The live peers' start-up records must have landed before the newcomer reads.
    await until(() => live.some((p) => p.stats.tracker.published > 0), 30_000, 'a live record');

    const lookupsBefore = pool[3]!.stats.lookups;
    const newcomer = await peers.start(topic, {
      dht: pool[3],
      config: { bootstrap: { settleMs, publishOnStart: false } },
    });
    const log = recordStatus(newcomer);
    await newcomer.joined();
    const dials = log.filter((l) => l.event.type === 'dial');
    const joinedAt = log.find((l) => l.event.type === 'joined');
    expect(joinedAt).toBeDefined();
    // The warm path: the first pass found records and dialed from them.
    expect(newcomer.stats.tracker.passes).toBe(1);
    expect(dials.length).toBeGreaterThan(0);
    const liveIds = new Set(live.map((p) => p.id));
    for (const d of dials) expect(d.event.type === 'dial' && liveIds.has(d.event.peer)).toBe(true);
    // One by one: a next candidate only after the previous one's settle time.
    for (let i = 1; i < dials.length; i++) {
      expect(dials[i]!.at - dials[i - 1]!.at).toBeGreaterThanOrEqual(settleMs - 5);
    }
    expect(newcomer.neighbors().some((n) => liveIds.has(n))).toBe(true);
    // Reads in stages: slot 0 of the current minute names the live peers (one lookup), where the
    // reference reads two minutes' four slots (eight).
    expect(newcomer.stats.tracker.reads).toBeLessThanOrEqual(2);
    expect(pool[3]!.stats.lookups - lookupsBefore).toBeLessThan(8);
  }, 60_000);

  it("an empty topic: the start-up record goes onto the first read's nodes, and the second look asks them again in one round", async () => {
    const dht = pool[8]!;
    const before = { ...dht.stats };
    let atSecondLook: typeof before | undefined;
    let readsDone = 0;
    const alone = await peers.start(uniq('startup'), { dht });
    const secondLook = statusEvent(alone, 'read-done', () => {
      if (++readsDone !== 2) return false;
      atSecondLook = { ...dht.stats };
      return true;
    });
    const published = await statusEvent(alone, 'published');
    expect(published.reason).toBe('startup');
    expect(published.result).toMatchObject({ status: 'published', slot: 0, attempts: 1 });
    await secondLook;
    // One walk (the first read of slot 0), none for the put, and one for the second look: a put that
    // walked again, as an earlier version did, makes it three.
    expect(atSecondLook!.lookups - before.lookups).toBe(2);
    expect(atSecondLook!.putsSent - before.putsSent).toBe(5);
  }, 60_000);

  it('minute rollover: a peer that published in minute m is found by a peer joining in minute m+1', async () => {
    const topic = uniq('rollover');
    const boundary = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000;
    const clock = manualClock(boundary - 5000);
    const m = Math.floor((boundary - 5000) / 60_000);
    // A reads, publishes in minute m and then stays quiet (a long retry), so that B must find A.
    const a = await peers.start(topic, {
      dht: pool[4],
      clock,
      config: { bootstrap: { noRecordsRetryMs: 600_000, afterPublishRetryMs: 600_000 } },
    });
    const published = await statusEvent(a, 'published');
    expect(published.minute).toBe(m);
    expect(published.result.status).toBe('published');

    clock.set(boundary + 1000);
    const b = await peers.start(topic, { dht: pool[5], clock });
    const log = recordStatus(b);
    await b.joined();
    await until(() => b.neighbors().includes(a.id), 30_000, 'b joined a');
    const dialA = log.find((l) => l.event.type === 'dial' && l.event.peer === a.id);
    expect(dialA?.event).toMatchObject({ type: 'dial', peer: a.id, via: a.id, minute: m });
  }, 60_000);

  it('close() during bootstrap returns promptly and rejects the pending join with CLOSED (as Topic.joined)', async () => {
    const alone = await peers.start(uniq('alone'), { dht: pool[6] });
    await statusEvent(alone, 'read-done');
    const pending = alone.joined();
    const t0 = performance.now();
    await alone.close();
    const closeMs = performance.now() - t0;
    await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(alone.joined()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(alone.stats.tracker.joinedAfterMs).toBeUndefined();
    // Generous bound: close aborts the lookups in flight instead of waiting for their timeouts (10 s).
    expect(closeMs).toBeLessThan(5000);
  }, 60_000);

  it('joinTopic rejects with ABORTED when its signal aborts during bootstrap, and closes what it made', async () => {
    const ac = new AbortController();
    const joining = joinTopic(uniq('abort'), {
      dht: pool[7],
      gossip: { listen: { host: '127.0.0.1', port: 0 } },
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 200);
    const err = await joining.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GttError);
    expect((err as GttError).code).toBe('ABORTED');
    expect(pool[7]!.closed).toBe(false); // a DHT passed in is the caller's
  }, 30_000);

  it('bad options fail fast with clear errors', async () => {
    await expect(joinTopic('', { dht: pool[8] })).rejects.toBeInstanceOf(RangeError);
    await expect(
      joinTopic('x', { dht: pool[8], config: { bootstrap: { settleMs: -1 } } }),
    ).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
