/**
 * The tracker's link step (`Tracker#linkUp`), on a real 20-node DHT testnet: a member that was joined
 * without asking anyone (someone dialed it) joins the minute's leading publisher, the one with the
 * lowest id in slot 0, unless it is that leader or already its neighbour. The mesh is a stand-in that
 * records what the tracker asks of it: this tests the tracker's decisions, not the gossip layer.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerInfo } from '../../src/crypto/index.js';
import { createTestnet, type Dht, type Testnet } from '../../src/dht/index.js';
import { manualClock } from '../../src/tracker/clock.js';
import { parseTrackerConfig } from '../../src/tracker/config.js';
import type { Mesh } from '../../src/tracker/mesh.js';
import { Tracker, type TrackerEvent } from '../../src/tracker/tracker.js';
import { contentFor, freshNodes, makeStore, randomKeyPair, TEST_MINUTE } from '../helpers/records.js';

let testnet: Testnet;
let nodes: Dht[];

beforeAll(async () => {
  testnet = await createTestnet({ nodes: 20 });
  nodes = await freshNodes(testnet, 5);
});

afterAll(async () => {
  await testnet?.close();
});

const hex = (b: Uint8Array) => bytesToHex(b);

/** A key pair whose id sorts after every other (first byte 0xff): it is never the leader. */
function lastKeyPair() {
  for (;;) {
    const kp = randomKeyPair();
    if (kp.publicKey[0] === 0xff) return kp;
  }
}

/** Three publishers' records in slot 0 of TEST_MINUTE (they publish as peers starting together do). */
async function threeRecords(topic: string): Promise<string[]> {
  const stores = nodes.slice(0, 3).map((dht) => makeStore(dht, topic, { secret: 's' }));
  const empty = await stores[0]!.store.read(TEST_MINUTE, { slots: [0] });
  const results = await Promise.all(
    stores.map((p, i) => p.store.publish(contentFor(i), { read: empty, reuseResponders: false })),
  );
  expect(results.every((r) => r.status === 'published')).toBe(true);
  const view = await makeStore(nodes[3]!, topic, { secret: 's' }).store.read(TEST_MINUTE, { slots: [0] });
  expect(view.records.length).toBeGreaterThan(0);
  return view.records.map((r) => hex(r.publisher)).sort();
}

/** A mesh that someone already joined (one neighbour, `neighbor`), recording `join` calls. */
function joinedMesh(neighbor: PeerInfo): Mesh & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    addresses: () => [{ host: '127.0.0.1', port: 1 }],
    neighbors: () => [neighbor],
    recentMessageIds: () => [],
    isJoined: () => true,
    join: (peer) => void asked.push(hex(peer.id)),
    onNeighborUp: () => () => {},
  };
}

async function runTracker(topic: string, mesh: Mesh): Promise<{ tracker: Tracker; events: TrackerEvent[] }> {
  const keyPair = lastKeyPair();
  const tracker = new Tracker({
    store: makeStore(nodes[4]!, topic, { secret: 's', keyPair }).store,
    mesh,
    config: parseTrackerConfig({
      publisher: { enabled: false },
      merge: { bubble: false, overlap: false },
    }),
    selfHex: hex(keyPair.publicKey),
    clock: manualClock(TEST_MINUTE * 60_000 + 1_000),
  });
  const events: TrackerEvent[] = [];
  tracker.on('event', (e) => events.push(e));
  await tracker.start();
  return { tracker, events };
}

/** Waits for the link step's read of slot 0 to finish (the tracker's only read here). */
async function linkDone(tracker: Tracker, events: TrackerEvent[]): Promise<void> {
  await new Promise<void>((resolve) => {
    const check = () => {
      if (events.some((e) => e.type === 'read-done')) resolve();
      else tracker.once('event', check);
    };
    check();
  });
}

describe('link step', () => {
  it('a member joined without asking anyone joins the lowest-id publisher of slot 0', async () => {
    const topic = `link-${Math.random()}`;
    const ids = await threeRecords(topic);
    const mesh = joinedMesh({ id: randomKeyPair().publicKey, addresses: [] });
    const { tracker, events } = await runTracker(topic, mesh);
    await linkDone(tracker, events);
    expect(mesh.asked).toEqual([ids[0]]);
    expect(tracker.stats.links).toBe(1);
    expect(events).toContainEqual({ type: 'merge', kind: 'link', peers: [ids[0]] });
    await tracker.close();
  });

  it('does nothing when the leader is a neighbour already', async () => {
    const topic = `link-neighbor-${Math.random()}`;
    const ids = await threeRecords(topic);
    const mesh = joinedMesh({ id: Uint8Array.from(Buffer.from(ids[0]!, 'hex')), addresses: [] });
    const { tracker, events } = await runTracker(topic, mesh);
    await linkDone(tracker, events);
    expect(mesh.asked).toEqual([]);
    expect(tracker.stats.links).toBe(0);
    await tracker.close();
  });
});
