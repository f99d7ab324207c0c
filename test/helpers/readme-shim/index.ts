/**
 * The package root as README.md's snippets see it when test/readme.test.ts runs them: the real
 * exports, with `createNode`, `joinTopic` and `discoverPeers` pointed at the loopback testnet the test
 * started (`GTT_README_BOOTSTRAP`) instead of the public DHT, listening on 127.0.0.1, and a partner
 * peer in every topic a snippet joins (already published when the snippet's join starts, and kept
 * for the snippets after it), so that
 * `await topic.joined()` and a discovery's first candidate come as they would on a live topic.
 */

import type {
  DiscoverPeersOptions,
  JoinTopicOptions,
  PeerDiscovery,
  TopicNodeOptions,
} from '../../../src/index.js';
import * as real from '../../../src/index.js';
import { keyPairFromSeed } from '../../../src/records.js';

export * from '../../../src/index.js';

const bootstrap = (process.env.GTT_README_BOOTSTRAP ?? '').split(',').filter((b) => b !== '');
if (bootstrap.length === 0) throw new Error('GTT_README_BOOTSTRAP: the testnet bootstrap, "host:port,…"');
/** DHT options of every node here: the testnet, on loopback. */
export const testDht = { bootstrap, host: '127.0.0.1' };

/** A listen address on loopback instead of every interface (the lab is 127.0.0.1 only). */
function loopback(listen: TopicNodeOptions['listen']): TopicNodeOptions['listen'] {
  if (listen === undefined || listen === null) return listen ?? '127.0.0.1:0';
  if (typeof listen === 'string') return listen.replace(/^0\.0\.0\.0:/, '127.0.0.1:');
  return { ...listen, host: listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host };
}

/** What the shim opened besides the snippet's own objects: closed by {@link closePartners}. */
const opened: { close(): Promise<void> }[] = [];
let partnerNode: Promise<real.TopicNode> | undefined;
const partnerTopics = new Map<string, Promise<void>>();

type TopicName = Parameters<real.TopicNode['join']>[0];
type Secret = JoinTopicOptions['secret'];

/** The key of a topic and secret among the partners. */
function keyOf(name: TopicName, secret: Secret): string {
  const bytes = (s: string | Uint8Array) => (typeof s === 'string' ? s : Buffer.from(s).toString('hex'));
  return `${typeof name === 'string' ? name : name.toHex()}\0${secret === undefined ? '' : bytes(secret)}`;
}

/** The partners' node (one DHT node and listener for every partner, until {@link closePartners}). */
function partners(): Promise<real.TopicNode> {
  partnerNode ??= real.createNode({ dht: testDht, listen: '127.0.0.1:0' }).then((n) => {
    opened.push(n);
    return n;
  });
  return partnerNode;
}

async function partnerDht(): Promise<real.Dht> {
  return (await partners()).dht;
}

/** A partner peer in topic `name` (with `secret`), resolved once its record is published. */
function partner(name: TopicName, secret: Secret): Promise<void> {
  const key = keyOf(name, secret);
  let ready = partnerTopics.get(key);
  if (ready === undefined) {
    ready = (async () => {
      const topic = (await partners()).join(name, secret === undefined ? {} : { secret });
      await published(topic);
    })();
    partnerTopics.set(key, ready);
  }
  return ready;
}

/** Resolves at the first published record of a topic or discovery (or a topic's first neighbour). */
function published(topic: real.TrackedTopic | PeerDiscovery): Promise<void> {
  return new Promise((resolve) => {
    (topic as { on(event: 'status', fn: (e: real.TrackerEvent) => void): unknown }).on('status', (e) => {
      if (e.type === 'published' && e.result.status === 'published') resolve();
    });
    if ('joined' in topic) topic.on('joined', () => resolve());
  });
}

export async function createNode(options: TopicNodeOptions = {}): Promise<real.TopicNode> {
  const node = await real.createNode({
    ...options,
    dht: options.dht ?? testDht,
    listen: loopback(options.listen),
  });
  const join = node.join.bind(node);
  // `join` returns at once, so the partner joins beside the snippet's topic (not before it): the two
  // find each other once either has published. A partner that fails to start fails the run.
  node.join = (name, joinOptions) => {
    partner(name, joinOptions?.secret).catch((e: unknown) => {
      console.error('readme-shim: partner failed', e);
      process.exitCode = 1;
    });
    return join(name, joinOptions);
  };
  return node;
}

export async function joinTopic(name: TopicName, options: JoinTopicOptions = {}): Promise<real.TrackedTopic> {
  await partner(name, options.secret);
  return real.joinTopic(name, {
    ...options,
    dht: options.dht ?? testDht,
    gossip: options.gossip ?? { listen: '127.0.0.1:0' },
  });
}

/** The discovery a snippet started last: `myTransport.connect` (prelude.ts) ends its loop. */
export let lastDiscovery: PeerDiscovery | undefined;

export async function discoverPeers(name: TopicName, options: DiscoverPeersOptions): Promise<PeerDiscovery> {
  // Its own partner: a discovery, whose record names a public address (below).
  const key = `discovery\0${keyOf(name, options.secret)}`;
  if (!partnerTopics.has(key)) {
    const other = await real.discoverPeers(name, {
      keyPair: keyPairFromSeed(crypto.getRandomValues(new Uint8Array(32))),
      ...(options.secret === undefined ? {} : { secret: options.secret }),
      // Never dialed (the snippet's transport is a placeholder); a documentation address, so that a
      // snippet that advertises one (a public address) is handed it (PROTOCOL.md §9.8).
      addresses: ['198.51.100.20:4000'],
      dht: await partnerDht(),
      state: () => ({ neighbors: [] }),
    });
    opened.push(other);
    const ready = published(other);
    partnerTopics.set(key, ready);
    await ready;
  }
  lastDiscovery = await real.discoverPeers(name, { ...options, dht: options.dht ?? testDht });
  return lastDiscovery;
}

/** Closes every partner (after the last snippet). */
export async function closePartners(): Promise<void> {
  const all = opened.splice(0);
  partnerNode = undefined;
  partnerTopics.clear();
  await Promise.all(all.map((o) => o.close()));
}
