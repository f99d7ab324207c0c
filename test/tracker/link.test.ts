/**
 * The tracker's link step (bootstrap.ts, "linking"), on a real 20-node DHT testnet: a member whose start-up
 * record landed (here then joined by someone who dialed it) joins the minute's leading publisher, the
 * one with the lowest id in slot 0 other than itself, unless that one is already its neighbour. The mesh is a stand-in that records what the tracker asks of it: this tests the tracker's
 * decisions, not the gossip layer. No wall-clock waits: the bootstrap machine's two `afterPublishRetryMs`
 * timers (`after-publish`, `link`) are held by its clock until the test releases them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PeerInfo } from '../../src/crypto/index.js';
import { createTestnet, type Dht, type Testnet } from '../../src/dht/index.js';
import type { BootstrapTimer } from '../../src/tracker/bootstrap.js';
import { type Clock, systemClock } from '../../src/tracker/clock.js';
import { parseTrackerConfig } from '../../src/tracker/config.js';
import type { Mesh } from '../../src/tracker/mesh.js';
import { Tracker, type TrackerEvent } from '../../src/tracker/tracker.js';
import { hex, until } from '../helpers/net.js';
import { contentFor, freshNodes, makeStore, randomKeyPair, TEST_MINUTE } from '../helpers/records.js';
import { uniq } from '../helpers/tracker.js';

let testnet: Testnet;
let nodes: Dht[];

beforeAll(async () => {
  testnet = await createTestnet({ nodes: 20 });
  nodes = await freshNodes(testnet, 5);
});

/** Trackers a test started: closed after it, pass or fail. */
const trackers: Tracker[] = [];
afterEach(async () => {
  await Promise.all(trackers.splice(0).map((t) => t.close()));
});

afterAll(async () => {
  await testnet?.close();
});

/** A key pair whose id sorts after (first byte 0xff) or before (0x00) every other. */
function edgeKeyPair(edge: 'last' | 'first') {
  for (;;) {
    const kp = randomKeyPair();
    if (kp.publicKey[0] === (edge === 'last' ? 0xff : 0x00)) return kp;
  }
}

/**
 * The waits held by the clock: the bootstrap machine's timers before the start-up record's second
 * look (`after-publish`) and before the link step's read (`link`), both `afterPublishRetryMs` long.
 */
const GATED: readonly BootstrapTimer[] = ['after-publish', 'link'];

/**
 * The tracker's clock: TEST_MINUTE, real timers, except that the {@link GATED} timers are held until
 * `release()`; so the test decides when the start-up re-read and the link step may go on.
 */
function gatedClock() {
  const held: { fn: () => void; live: boolean }[] = [];
  const clock: Clock = {
    now: () => TEST_MINUTE * 60_000 + 1_000,
    setTimeout(fn, ms, label) {
      if (!GATED.includes(label as BootstrapTimer)) return systemClock.setTimeout(fn, ms);
      const h = { fn, live: true };
      held.push(h);
      return {
        cancel: () => {
          h.live = false;
        },
      };
    },
  };
  const release = () => {
    for (const h of held.splice(0)) if (h.live) h.fn();
  };
  return { clock, release, held: () => held.filter((h) => h.live).length };
}

/** A mesh nobody joined yet; `dialedBy(peer)` makes it joined, as when someone dials us. */
function mesh(): Mesh & { asked: string[]; dialedBy(peer: PeerInfo): void } {
  const asked: string[] = [];
  const neighbors: PeerInfo[] = [];
  const fire = new Set<() => void>();
  return {
    asked,
    addresses: () => [{ host: '127.0.0.1', port: 1 }],
    neighbors: () => [...neighbors],
    recentMessageIds: () => [],
    isJoined: () => neighbors.length > 0,
    join: (peer) => void asked.push(hex(peer.id)),
    onNeighborUp: (f) => {
      fire.add(f);
      return () => fire.delete(f);
    },
    dialedBy(peer) {
      neighbors.push(peer);
      for (const f of fire) f();
    },
  };
}

function next(tracker: Tracker, type: TrackerEvent['type']): Promise<TrackerEvent> {
  return new Promise((resolve) => {
    const on = (e: TrackerEvent) => {
      if (e.type !== type) return;
      tracker.off('event', on);
      resolve(e);
    };
    tracker.on('event', on);
  });
}

/**
 * A tracker (id sorting last, or first) publishes its start-up record on an empty topic; three peers that
 * started with it publish theirs in slot 0 too (their reads also saw it empty); then one of
 * `dialers` (or a stranger) dials the tracker, which never asked anyone.
 */
async function scenario(
  topic: string,
  dialer: (others: string[]) => PeerInfo,
  edge: 'last' | 'first' = 'last',
) {
  const { clock, release, held } = gatedClock();
  const m = mesh();
  const keyPair = edgeKeyPair(edge);
  const tracker = new Tracker({
    store: makeStore(nodes[4]!, topic, { secret: 's', keyPair }).store,
    mesh: m,
    config: parseTrackerConfig({
      publisher: { enabled: false },
      merge: { bubble: false, overlap: false },
    }),
    selfHex: hex(keyPair.publicKey),
    clock,
  });
  trackers.push(tracker);
  const events: TrackerEvent[] = [];
  tracker.on('event', (e) => events.push(e));
  const others = nodes.slice(0, 3).map((dht) => makeStore(dht, topic, { secret: 's' }));
  const empty = await others[0]!.store.read(TEST_MINUTE, { slots: [0] });
  const published = next(tracker, 'published');
  const joined = tracker.start();
  expect(await published).toMatchObject({ reason: 'startup', result: { status: 'published', slot: 0 } });
  // A minute-old read: too old to lend its responders, so each put walks to slot 0's closest nodes.
  const stale = { ...empty, readAtMs: empty.readAtMs - 60_000 };
  for (const [i, p] of others.entries()) {
    expect(await p.store.publish(contentFor(i), { read: stale })).toMatchObject({
      status: 'published',
      slot: 0,
    });
  }
  const ids = others.map((p) => hex(p.keyPair.publicKey)).sort();
  m.dialedBy(dialer(ids));
  await joined;
  // The re-read was held and then given up (joined); the link step now waits at the gate too.
  await until(() => held() > 0, 10_000, 'the link step at the gate');
  const read = next(tracker, 'read-done');
  release();
  await read;
  return { tracker, mesh: m, events, ids };
}

describe('link step', () => {
  it('a start-up publisher, once joined, joins the lowest-id publisher of slot 0', async () => {
    const {
      tracker,
      mesh: m,
      events,
      ids,
    } = await scenario(uniq('link'), () => ({
      id: randomKeyPair().publicKey,
      addresses: [],
    }));
    expect(m.asked).toEqual([ids[0]]);
    expect(tracker.stats.links).toBe(1);
    expect(events).toContainEqual({ type: 'merge', kind: 'link', peers: [ids[0]] });
    // One dial only, the link's.
    expect(events.filter((e) => e.type === 'dial')).toMatchObject([{ type: 'dial', peer: ids[0] }]);
  });

  it('the lowest-id publisher itself joins the next lowest (a lower record it missed may exist)', async () => {
    const {
      tracker,
      mesh: m,
      ids,
    } = await scenario(uniq('link-first'), () => ({ id: randomKeyPair().publicKey, addresses: [] }), 'first');
    expect(m.asked).toEqual([ids[0]]);
    expect(tracker.stats.links).toBe(1);
  });

  it('does nothing when the leader is a neighbour already', async () => {
    const { tracker, mesh: m } = await scenario(uniq('link-neighbor'), (ids) => ({
      id: Uint8Array.from(Buffer.from(ids[0]!, 'hex')),
      addresses: [],
    }));
    expect(m.asked).toEqual([]);
    expect(tracker.stats.links).toBe(0);
  });
});
