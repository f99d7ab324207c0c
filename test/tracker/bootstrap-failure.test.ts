/**
 * A bootstrap loop that fails (here: a mesh that throws) is not swallowed: `start()` rejects with the
 * error, the tracker counts it in `stats.errors` and emits an `error` event `during: 'bootstrap'` (what
 * `TrackedTopic` and `PeerDiscovery` pass on as a `status` event). Real 10-node DHT testnet.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestnet, type Testnet } from '../../src/dht/index.js';
import { parseTrackerConfig } from '../../src/tracker/config.js';
import { Tracker, type TrackerEvent } from '../../src/tracker/tracker.js';
import { hex } from '../helpers/net.js';
import { makeStore, randomKeyPair } from '../helpers/records.js';
import { uniq } from '../helpers/tracker.js';

let testnet: Testnet;

beforeAll(async () => {
  testnet = await createTestnet({ nodes: 10 });
});

afterAll(async () => {
  await testnet?.close();
});

it('a failed bootstrap loop rejects start(), is counted and emitted as an error event', async () => {
  const keyPair = randomKeyPair();
  const broken = new TypeError('mesh broke');
  const tracker = new Tracker({
    store: makeStore(testnet.nodes[0]!, uniq('broken'), { keyPair }).store,
    mesh: {
      addresses: () => [{ host: '127.0.0.1', port: 1 }],
      neighbors: () => [],
      recentMessageIds: () => [],
      isJoined: () => {
        throw broken;
      },
      join: () => {},
      onNeighborUp: () => () => {},
    },
    config: parseTrackerConfig({ publisher: { enabled: false }, merge: { bubble: false, overlap: false } }),
    selfHex: hex(keyPair.publicKey),
  });
  const events: TrackerEvent[] = [];
  tracker.on('event', (e) => events.push(e));
  await expect(tracker.start()).rejects.toBe(broken);
  expect(tracker.stats.errors).toBe(1);
  expect(events.at(-1)).toEqual({ type: 'error', during: 'bootstrap', error: broken });
  await tracker.close();
});
