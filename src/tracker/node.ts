/**
 * The front door: `createNode()` starts one DHT node and one gossip node (one identity, one listener),
 * and `node.join(topic)` tracks as many topics as the application wants on them (ARCHITECTURE.md,
 * "The front door"). Each topic is a {@link TrackedTopic} with its own record store and tracker; the
 * node owns what it created and closes it last.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Address } from '../crypto/address.js';
import type { KeyPair, SecretRotation } from '../crypto/index.js';
import { keyPairFromSeed } from '../crypto/index.js';
import type { TopicId } from '../crypto/topic.js';
import { Dht, type DhtOptions, type DhtStats } from '../dht/index.js';
import { GttError, throwIfAborted } from '../errors.js';
import { Gossip, type GossipOptions, type GossipStats, gossipKeyPair } from '../net/gossip.js';
import type { Peer } from '../net/topic.js';
import type { Firewall } from '../net/transport.js';
import type { Clock } from './clock.js';
import {
  checkNodeJoinOptions,
  checkTopicNodeOptions,
  parseTrackerConfig,
  type TrackerConfigInput,
} from './config.js';
import { type TrackedTopic, toTopicId, trackTopic } from './join.js';

/**
 * Options of {@link createNode}. Unknown keys are errors, here and in every nested object (`dht`,
 * `transport`, `proto`), all checked before anything starts (schema: `TopicNodeOptionsSchema` in
 * config.ts).
 */
export interface TopicNodeOptions {
  /** Our ed25519 identity, in the gossip mesh and in every topic's records (default: a fresh random one). */
  keyPair?: KeyPair;
  /** An existing DHT (not closed by the node), or options to create one (default: the public mainline routers). */
  dht?: Dht | DhtOptions;
  /**
   * Where the gossip node listens: `"host:port"`, `"[ipv6]:port"` or `{ host, port }` (default
   * 0.0.0.0, any port); `null` for a node that only dials.
   */
  listen?: GossipOptions['listen'];
  /** Addresses to advertise instead of the listener's, each `"host:port"` or `{ host, port }`. */
  advertise?: GossipOptions['advertise'];
  /**
   * Access control: `firewall({ id, address })` returns `true` to refuse the peer (as Hyperswarm's
   * `firewall`; `id` is its proven ed25519 public key, hex). Asked for every connection once its
   * handshake proved the remote's id, inbound and outbound, and before each address of a dial. It
   * must be synchronous; one that throws refuses. Refusals: `node.stats.gossip.transport.firewall`.
   */
  firewall?: Firewall;
  /** Transport options (timeouts, limits); see `src/net/config.ts`. */
  transport?: GossipOptions['transport'];
  /** Gossip core options; see `src/proto/config.ts`. */
  proto?: GossipOptions['proto'];
  /** Crypto suite of the gossip node (`nativeSuite` or `nobleSuite`; see `GossipOptions.crypto`). */
  crypto?: GossipOptions['crypto'];
  /** Messages each topic iterator buffers (see `GossipOptions.topicBufferMessages`). */
  topicBufferMessages?: number;
  /**
   * NAT-PMP port mapping on the home router once the DHT shows we are behind a NAT (default `true`;
   * `false` turns it off; see `GossipOptions.portMapping`).
   */
  portMapping?: GossipOptions['portMapping'];
  /** Aborts the start (nothing is left open); aborted later, it closes the node. */
  signal?: AbortSignal;
}

/** Options of {@link TopicNode.join}; unknown keys are errors (schema: `NodeJoinOptionsSchema`). */
export interface NodeJoinOptions {
  /** The topic secret: only holders can read or write its records (README, Security model). */
  secret?: string | Uint8Array;
  /** Secret rotation hook (default: the secret as is, every minute). */
  rotation?: SecretRotation;
  /**
   * Peers to join through directly. They get `config.bootstrap.confirmMs` to answer before the DHT
   * records are read; the DHT is the fallback, and the publisher and merges run either way.
   */
  peers?: readonly Peer[];
  /** Tracker options: bootstrap loop, publisher, merges, record store (src/tracker/config.ts). */
  config?: TrackerConfigInput;
  /** Clock of the tracker (minute and waits); default the system clock. */
  clock?: Clock;
  /** Uniform [0, 1) source for jitter and merge picks; default Math.random. */
  random?: () => number;
  /** Aborting it leaves the topic (and makes `joined()` reject with `ABORTED`). */
  signal?: AbortSignal;
}

/** Counters of a {@link TopicNode}. */
export interface TopicNodeStats {
  /** Topics joined and not left. */
  topics: number;
  /** The gossip node's (connections, firewall refusals in `transport.firewall`, core). */
  gossip: GossipStats;
  dht: Readonly<DhtStats>;
}

/**
 * Starts a node: one DHT node and one gossip node, shared by every topic it joins.
 * @throws {GttError} `INVALID_CONFIG` for bad options or an unknown key (before anything starts),
 *   `ABORTED` when `signal` aborts first (nothing is left open), `DHT_BOOTSTRAP_FAILED` /
 *   `LISTEN_FAILED` when the DHT or the listener cannot start.
 */
export async function createNode(options: TopicNodeOptions = {}): Promise<TopicNode> {
  checkTopicNodeOptions(options);
  const { keyPair, dht, signal, ...gossip } = options;
  return openNode({ keyPair, dht, gossip, signal }, { closeWithLastTopic: false });
}

/** The parts {@link openNode} starts from: the node's identity, its DHT and its gossip node. */
interface NodeParts {
  keyPair?: KeyPair | undefined;
  dht?: Dht | DhtOptions | undefined;
  /** An existing gossip node (not closed by the node), or options to create one. */
  gossip?: Gossip | GossipOptions | undefined;
  signal?: AbortSignal | undefined;
}

/** The private constructor of {@link TopicNode}, for {@link openNode} (set by the class). */
let construct: (init: TopicNodeInit) => TopicNode;

interface TopicNodeInit {
  gossip: Gossip;
  dht: Dht;
  keyPair: KeyPair;
  owned: { gossip: boolean; dht: boolean };
  signal: AbortSignal | undefined;
  closeWithLastTopic: boolean;
}

/**
 * Starts a node from checked parts: `createNode`, and `joinTopic` (whose node closes with its one
 * topic, `closeWithLastTopic`, and may be given an existing gossip node). Not re-exported by any
 * public entry point.
 * @throws {GttError} as {@link createNode}; `INVALID_CONFIG` when `keyPair` is not the gossip node's.
 */
export async function openNode(
  parts: NodeParts,
  { closeWithLastTopic }: { closeWithLastTopic: boolean },
): Promise<TopicNode> {
  const signal = parts.signal;
  throwIfAborted(signal);
  const owned = { gossip: false, dht: false };
  let gossip: Gossip | undefined;
  let dht: Dht | undefined;
  let keyPair: KeyPair;
  if (parts.gossip instanceof Gossip) {
    gossip = parts.gossip;
    if (parts.keyPair !== undefined && bytesToHex(parts.keyPair.publicKey) !== gossip.id) {
      throw GttError.invalidConfig('keyPair: differs from the identity of the gossip node passed in');
    }
    keyPair = gossipKeyPair(gossip);
  } else {
    keyPair = parts.keyPair ?? parts.gossip?.keyPair ?? keyPairFromSeed(randomBytes(32));
  }
  try {
    // Assign each as soon as it exists, so that if the other fails the cleanup below closes it.
    if (parts.dht instanceof Dht) dht = parts.dht;
    const startDht =
      dht !== undefined
        ? Promise.resolve()
        : Dht.create((parts.dht as DhtOptions | undefined) ?? {}, { signal }).then((d) => {
            owned.dht = true;
            dht = d;
          });
    const startGossip =
      gossip !== undefined
        ? Promise.resolve()
        : Gossip.create({ ...(parts.gossip as GossipOptions | undefined), keyPair }, { signal }).then((g) => {
            owned.gossip = true;
            gossip = g;
          });
    const started = await Promise.allSettled([startDht, startGossip]);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    if (dht === undefined || gossip === undefined) throw new Error('unreachable: both started');
    throwIfAborted(signal);
    return construct({ gossip, dht, keyPair, owned, signal, closeWithLastTopic });
  } catch (e) {
    await Promise.allSettled([
      owned.gossip ? gossip?.close() : undefined,
      owned.dht ? dht?.close() : undefined,
    ]);
    throw e;
  }
}

/**
 * A node of gossip-topic-tracker: one identity, one DHT node, one gossip listener, many topics. Get it
 * from {@link createNode}.
 */
export class TopicNode {
  static {
    construct = (init) => new TopicNode(init);
  }

  /** The gossip node every topic of this node runs on. */
  readonly gossip: Gossip;
  /** The DHT every topic's records go through. */
  readonly dht: Dht;
  readonly #keyPair: KeyPair;
  readonly #owned: { gossip: boolean; dht: boolean };
  readonly #closeWithLastTopic: boolean;
  readonly #topics = new Map<string, TrackedTopic>();
  readonly #signalCleanup: () => void;
  #closing: Promise<void> | undefined;

  private constructor(init: TopicNodeInit) {
    this.gossip = init.gossip;
    this.dht = init.dht;
    this.#keyPair = init.keyPair;
    this.#owned = init.owned;
    this.#closeWithLastTopic = init.closeWithLastTopic;
    // joinTopic's node goes with its topic, which listens to the same signal: one listener is enough
    // (an app may pass one signal to many joinTopic calls).
    const signal = init.closeWithLastTopic ? undefined : init.signal;
    const onAbort = () => void this.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    // The DHT's view of our address (BEP 42) decides what the gossip node advertises and which
    // private addresses it dials (Gossip.setExternalHost, PROTOCOL.md §9.7–9.8).
    const onExternal = () =>
      this.gossip.setExternalHost(this.dht.externalAddress?.host, { reachable: this.dht.reachable });
    this.dht.on('external-address', onExternal);
    this.dht.on('reachable', onExternal);
    if (this.dht.externalAddress !== undefined) onExternal();
    this.#signalCleanup = () => {
      signal?.removeEventListener('abort', onAbort);
      this.dht.off('external-address', onExternal);
      this.dht.off('reachable', onExternal);
    };
  }

  /** Our node id: the ed25519 public key, hex (the id peers dial and records carry). */
  get id(): string {
    return this.gossip.id;
  }

  /** The addresses the gossip node advertises. */
  addresses(): Address[] {
    return this.gossip.addresses();
  }

  /**
   * Joins `topic` (a name, or a TopicId) and returns it at once; the bootstrap loop starts on the next
   * turn (subscribe to `status` first if you want every event), and `await topic.joined()` waits for a
   * neighbour. `topic.leave()` leaves this topic only. A topic the node holds already is refused
   * (`ALREADY_SUBSCRIBED`) rather than shared: its secret and options are the first join's, and two
   * owners of one topic would leave it for each other; after `leave()` it may be joined again.
   * @throws {GttError} `CLOSED` after `close()`, `ALREADY_SUBSCRIBED` for a topic joined already,
   *   `INVALID_CONFIG` for bad options or an unknown key, `ABORTED` when `signal` is aborted.
   * @throws {TypeError|RangeError} for an empty topic name, a bad secret or a bad peer.
   */
  join(topic: string | TopicId, options: NodeJoinOptions = {}): TrackedTopic {
    const topicId = toTopicId(topic);
    const checked = checkNodeJoinOptions(options);
    if (this.#closing !== undefined) throw GttError.closed('node');
    throwIfAborted(options.signal);
    const key = topicId.toHex();
    if (this.#topics.has(key)) {
      throw new GttError('ALREADY_SUBSCRIBED', `this node has joined ${key} already`);
    }
    let tracked: TrackedTopic | undefined;
    const onClose = (): Promise<void> => {
      if (this.#topics.get(key) === tracked) this.#topics.delete(key);
      // joinTopic's node goes with its topic; a node that is closing is on its way already.
      if (this.#closeWithLastTopic && this.#topics.size === 0 && this.#closing === undefined) {
        return this.close();
      }
      return Promise.resolve();
    };
    tracked = trackTopic({
      topicId,
      gossip: this.gossip,
      dht: this.dht,
      keyPair: this.#keyPair,
      secret: options.secret,
      rotation: options.rotation,
      peers: options.peers,
      config: checked.config ?? parseTrackerConfig(undefined),
      clock: options.clock,
      random: options.random,
      signal: options.signal,
      onClose,
    });
    this.#topics.set(key, tracked);
    return tracked;
  }

  /** The topic this node joined under that name or id, if it has not left it. */
  topic(topic: string | TopicId): TrackedTopic | undefined {
    return this.#topics.get(toTopicId(topic).toHex());
  }

  /** Every topic joined and not left. */
  topics(): TrackedTopic[] {
    return [...this.#topics.values()];
  }

  /**
   * Bans `peer` (hex id or 32 bytes) on every topic: its connection is closed now and it is refused,
   * inbound and outbound, until {@link unban} (see `Gossip.ban`). Idempotent.
   * @throws {RangeError} for a bad id.
   */
  ban(peer: string | Uint8Array): void {
    this.gossip.ban(peer);
  }

  /**
   * Lifts a {@link ban}. The peer may connect again; it is dialed again once its addresses are learned
   * anew (records, joins).
   * @throws {RangeError} for a bad id.
   */
  unban(peer: string | Uint8Array): void {
    this.gossip.unban(peer);
  }

  /** Counters of the node's topics, gossip node and DHT. */
  get stats(): TopicNodeStats {
    return { topics: this.#topics.size, gossip: this.gossip.stats, dht: this.dht.stats };
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Leaves every topic, then closes the gossip node and the DHT if the node created them. Idempotent;
   * nothing keeps the process alive afterwards.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#signalCleanup();
      await Promise.allSettled([...this.#topics.values()].map((t) => t.close()));
      this.#topics.clear();
      await Promise.allSettled([
        this.#owned.gossip ? this.gossip.close() : undefined,
        this.#owned.dht ? this.dht.close() : undefined,
      ]);
    })();
    return this.#closing;
  }
}
