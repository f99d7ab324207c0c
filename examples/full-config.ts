/**
 * Every option of `createNode` and `node.join`, and every tracker setting, each at its default, with
 * what it is for.
 * Copy it, then change only what you have a reason to change: the defaults are tuned (their sources are
 * next to them in src/tracker/config.ts).
 *
 *   npx tsx examples/full-config.ts                         # on a private DHT on this machine
 *   npx tsx examples/full-config.ts --bootstrap host:port   # against a DHT you name
 *
 * This file also checks itself: tsc rejects it when the tracker config gains or loses a field, or
 * `createNode` or `node.join` gains an option, and it throws at start-up when a tracker default here
 * no longer matches.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createNode, createTestnet, type NodeJoinOptions, type TopicNodeOptions } from '../src/index.js';
import {
  DEFAULT_CLOSEST_WINDOW,
  DEFAULT_MAX_RECORDS_PER_MINUTE,
  DEFAULT_REPLICAS,
  defaultSecretRotation,
  keyPairFromSeed,
} from '../src/records.js';
import { systemClock } from '../src/testing.js';
// The self-check below reads the library's own defaults: a repository module, not the package's API.
import { parseTrackerConfig, type TrackerConfig } from '../src/tracker/config.js';

/** The tracker: how we find peers through the DHT and keep the topic findable. */
const config = {
  /** The bootstrap loop: read the records of this minute and the last, ask their peers to let us in. */
  bootstrap: {
    publishOnStart: true, // publish right after the first read when the topic looks empty: peers starting together meet sooner
    checkOlderFirst: false, // first pass also reads the two minutes before (members gone quiet)
    noRecordsRetryMs: 1500, // a pass that found no records waits this long (or for a neighbour), then asks slot 0's nodes again
    loneWatchMaxMs: 12_000, // … while still alone, that wait doubles up to this; a full read only on a new minute
    afterPublishRetryMs: 150, // … except the first one: re-read as soon as our start-up record landed
    pollMs: 2000, // a pass that found records but got no one to let us in waits this long
    settleMs: 100, // after asking one candidate, wait this long (or for a neighbour) before the next
    dialWaitMs: 1000, // … or up to this long in all while connecting to it or awaiting its answer
    confirmMs: 500, // after the last candidate, wait this long; also the time explicit `peers` get
    maxJoinPeers: 4, // candidates asked per pass, one at a time
  },
  /** Once joined: keep a fresh record in the DHT, so that newcomers find the topic. */
  publisher: {
    enabled: true, // off: the topic is findable only while someone is bootstrapping (without-mergers.ts)
    initialDelayMs: 10_000, // first run after joining …
    intervalMs: 10_000, // … then every intervalMs + random(0, jitterMs), so members do not run in step
    jitterMs: 50_000,
    maxIntervalMs: 600_000, // while healthy: doubles up to this after a run with nothing to write, halves after a publish
  },
  /** Once joined: repair the mesh from the records (see without-mergers.ts for turning these off). */
  merge: {
    bubble: true, // with fewer than minNeighbors neighbours, join more peers from the records
    overlap: true, // join publishers whose recent message ids we never saw: the mesh split in two
    initialDelayMs: 5_000, // first run after joining (early: heals a split formed while joining) …
    intervalMs: 60_000, // … then every intervalMs + random(0, jitterMs)
    jitterMs: 120_000,
    maxIntervalMs: 600_000, // the interval doubles up to this while healthy and no split is seen
    minNeighbors: 4, // "few neighbours" for the bubble merge
    maxJoinPeers: 2, // peers one merge run joins
    recentMessageIds: 1024, // message ids remembered for the overlap check
  },
  /** The record store: how records are laid out in the DHT (PROTOCOL.md). */
  store: {
    maxRecordsPerMinute: DEFAULT_MAX_RECORDS_PER_MINUTE, // 5: skip publishing when the minute holds this many
    replicas: DEFAULT_REPLICAS, // 5: DHT nodes each record is stored on
    closestWindow: DEFAULT_CLOSEST_WINDOW, // 16: records go to nodes among this many closest to a slot
  },
  readReuseMs: 15_000, // the publisher and the merge worker share one read of the minute this long
} satisfies TrackerConfig; // TrackerConfig (the parsed form) has no optional fields: tsc wants them all

// The check promised above: every value here is the library's default.
assert.deepEqual(config, parseTrackerConfig({}));

// Unless told otherwise, a few DHT nodes on 127.0.0.1 stand in for the public mainline DHT.
const flag = process.argv.indexOf('--bootstrap');
const testnet = flag === -1 ? await createTestnet({ nodes: 10 }) : undefined;
const bootstrap = testnet?.bootstrap ?? [process.argv[flag + 1]!];

/** Everything createNode takes. A function, because each peer needs its own identity. */
const nodeOptions = () =>
  ({
    keyPair: keyPairFromSeed(randomBytes(32)), // our identity; keep the seed to stay the same peer
    // Default: the public mainline routers. Or pass a `Dht` (left open by the node's close()).
    dht: testnet ? { bootstrap, host: '127.0.0.1' } : { bootstrap },
    listen: testnet ? '127.0.0.1:0' : '0.0.0.0:0', // default 0.0.0.0, any port; `null` to only dial
    advertise: undefined, // the listener's addresses; set to a port forward's address behind a NAT
    firewall: undefined, // none: `(peer) => true` refuses a peer (many-topics.ts)
    transport: undefined, // timeouts and limits of the connections: src/net/config.ts
    proto: undefined, // the gossip core (HyParView, PlumTree): src/proto/config.ts
    crypto: undefined, // OpenSSL where Node has it, else the pure-JS suite
    topicBufferMessages: undefined, // messages each topic's iterator buffers: src/net/config.ts
    portMapping: true, // NAT-PMP on the home router once the DHT shows we are behind a NAT; false: off
    signal: undefined, // none; an AbortSignal aborts the start, and later closes the node
  }) satisfies Record<keyof TopicNodeOptions, unknown>; // tsc: an option missing here is an error

/** Everything node.join takes. */
const joinOptions = {
  secret: undefined, // none: anyone who knows the topic name can read its records. Set one in real apps
  rotation: defaultSecretRotation, // turns the secret into each minute's secret (secret-rotation.ts)
  peers: [], // none: peers ({ id, addresses }) to ask first; the DHT is the fallback
  config, // the tracker, above; leave out any part to get its defaults
  clock: systemClock, // where the minute and every wait come from (tests pass a fake one)
  random: Math.random, // jitter and merge picks (tests pass a seeded one)
  signal: undefined, // none; aborting it leaves the topic
} satisfies Record<keyof NodeJoinOptions, unknown>; // tsc: an option missing here is an error

const name = `full-config-example-${randomBytes(4).toString('hex')}`;
const nodes = await Promise.all([createNode(nodeOptions()), createNode(nodeOptions())]);
const [alice, bob] = nodes.map((node) => node.join(name, joinOptions));
await Promise.all([alice!.joined(), bob!.joined()]);
console.log(`joined with every default: alice ↔ bob = ${alice!.neighbors().includes(bob!.id)}`);
const { tracker } = alice!.stats;
console.log(
  `alice: ${tracker.passes} bootstrap pass(es), ${tracker.recordsRead} record(s) read, ${tracker.published} published`,
);

await Promise.all(nodes.map((node) => node.close()));
await testnet?.close();
