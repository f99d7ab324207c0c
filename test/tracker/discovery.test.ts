/** Discovery only: two apps with their own "transport" find each other through the DHT records. */
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { keyPairFromSeed } from '../../src/crypto/index.js';
import { createTestnet, type Testnet } from '../../src/dht/index.js';
import { type DiscoveredPeer, discoverPeers, type PeerDiscovery } from '../../src/tracker/discovery.js';

let testnet: Testnet;

beforeAll(async () => {
  testnet = await createTestnet({ nodes: 20 });
}, 60_000);

afterAll(async () => {
  await testnet?.close();
});

it('two discoveries of one topic each yield the other as a candidate, then stop bootstrapping once connected', async () => {
  const topic = `discovery-${Math.random()}`;
  const keys = [0, 1].map(() => keyPairFromSeed(randomBytes(32)));
  const ids = keys.map((k) => bytesToHex(k.publicKey));
  const connected: DiscoveredPeer[][] = [[], []];
  const handles: PeerDiscovery[] = [];
  try {
    for (const i of [0, 1]) {
      handles.push(
        await discoverPeers(topic, {
          dht: await testnet.createNode(),
          keyPair: keys[i],
          secret: 'shh',
          addresses: [{ host: '127.0.0.1', port: 40_000 + i }],
          // The app's own mesh: whoever it "connected" to.
          state: () => ({ neighbors: connected[i]!.map((p) => ({ id: p.id, addresses: p.addresses })) }),
          // This "transport" is one-sided: the second finds the first's start-up record and connects,
          // but the first never hears of it, and finds the second only once the second, joined,
          // publishes its record. That is the publisher's first run, 10 s after joining by default.
          config: { publisher: { initialDelayMs: 0 } },
        }),
      );
    }
    const firstOf = async (i: number): Promise<DiscoveredPeer> => {
      for await (const peer of handles[i]!) {
        connected[i]!.push(peer);
        handles[i]!.notify();
        return peer;
      }
      throw new Error('ended');
    };
    const [p0, p1] = await Promise.all([firstOf(0), firstOf(1)]);
    expect(p0).toEqual({ id: ids[1], addresses: [{ host: '127.0.0.1', port: 40_001 }] });
    expect(p1).toEqual({ id: ids[0], addresses: [{ host: '127.0.0.1', port: 40_000 }] });
    // Connected: the bootstrap loops end (and report it).
    await Promise.all(
      handles.map(
        (h) =>
          new Promise<void>((resolve) => {
            if (h.stats.tracker.joinedAfterMs !== undefined) resolve();
            h.on('status', (e) => e.type === 'joined' && resolve());
          }),
      ),
    );
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
  // Closed: iterators end.
  const it = handles[0]![Symbol.asyncIterator]();
  expect(await it.next()).toEqual({ value: undefined, done: true });
}, 60_000);

it('rejects bad input with clear errors', async () => {
  const dht = await testnet.createNode();
  await expect(
    discoverPeers('t', {
      dht,
      addresses: [{ host: 'bad host!', port: 1 }],
      state: () => ({ neighbors: [] }),
    }),
  ).rejects.toThrow(/addresses\[0\]/);
  await expect(
    discoverPeers('t', { dht, addresses: [], state: undefined as unknown as () => { neighbors: [] } }),
  ).rejects.toBeInstanceOf(TypeError);
});

it('hands the app only addresses the address policy allows: metadata and multicast addresses in a record are dropped', async () => {
  const topic = `discovery-policy-${Math.random()}`;
  const keys = [0, 1].map(() => keyPairFromSeed(randomBytes(32)));
  // The first publishes a record naming a metadata endpoint and a multicast group beside its own
  // loopback address; the second, on the same loopback testnet, may dial loopback but never those.
  const addresses = [
    [
      { host: '169.254.169.254', port: 80 },
      { host: '127.0.0.1', port: 40_010 },
      { host: '224.0.0.1', port: 40_011 },
    ],
    [{ host: '127.0.0.1', port: 40_012 }],
  ];
  const connected: DiscoveredPeer[][] = [[], []];
  const handles: PeerDiscovery[] = [];
  try {
    for (const i of [0, 1]) {
      handles.push(
        await discoverPeers(topic, {
          dht: await testnet.createNode(),
          keyPair: keys[i],
          addresses: addresses[i]!,
          state: () => ({ neighbors: connected[i]!.map((p) => ({ id: p.id, addresses: p.addresses })) }),
        }),
      );
    }
    for await (const peer of handles[1]!) {
      expect(peer).toEqual({
        id: bytesToHex(keys[0]!.publicKey),
        addresses: [{ host: '127.0.0.1', port: 40_010 }],
      });
      break;
    }
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
}, 60_000);
