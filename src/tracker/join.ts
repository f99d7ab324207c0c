/**
 * A tracked topic: a topic found through the mainline DHT with no server of ours. {@link trackTopic}
 * wires a {@link RecordStore}, our {@link Gossip} topic (as the tracker's {@link Mesh}) and the
 * {@link Tracker} together on a node's gossip and DHT (`TopicNode.join`, node.ts); `joinTopic()` is the
 * one-topic convenience over a node of its own.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { EventEmitter } from 'eventemitter3';
import type { Address, KeyPair, PeerInfo, SecretRotation } from '../crypto/index.js';
import { TopicId } from '../crypto/index.js';
import type { Dht, DhtOptions } from '../dht/index.js';
import { GttError, throwIfAborted } from '../errors.js';
import type { Gossip, GossipOptions } from '../net/gossip.js';
import type { Peer, Topic, TopicEvents, TopicMessage } from '../net/topic.js';
import type { NeighborDownCause } from '../proto/types.js';
import type { Clock } from './clock.js';
import { checkJoinTopicOptions, type TrackerConfig, type TrackerConfigInput } from './config.js';
import type { Mesh } from './mesh.js';
import { openNode } from './node.js';
import { RecordStore, type RecordStoreStats } from './record-store.js';
import { Tracker, type TrackerEvent, type TrackerStats } from './tracker.js';

/**
 * Options of {@link joinTopic}. Unknown keys are errors, here and in every nested object (`dht`,
 * `gossip`, `config`), and all are checked before anything starts (schema: `JoinTopicOptionsSchema`
 * in config.ts).
 */
export interface JoinTopicOptions {
  /** The topic secret: only holders can read or write its records (README, Security model). */
  secret?: string | Uint8Array;
  /** Secret rotation hook (default: the secret as is, every minute). */
  rotation?: SecretRotation;
  /** Our identity (default: the gossip's, or a fresh random one). */
  keyPair?: KeyPair;
  /**
   * Closes the topic (and what was created for it) when it aborts: before joining, `joinTopic` then
   * rejects with `ABORTED`; after joining too, so one signal can bound the topic's whole life.
   */
  signal?: AbortSignal;
  /** Resolve once joined (default `true`); `false` resolves at once and bootstraps in the background. */
  wait?: boolean;
  /** An existing DHT, or options to create one (default: the public mainline routers). */
  dht?: Dht | DhtOptions;
  /**
   * An existing gossip node, or options to create one (default: listen on 0.0.0.0, any port; `listen`
   * takes `"host:port"`, `"[ipv6]:port"` or `{ host, port }`).
   */
  gossip?: Gossip | GossipOptions;
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
}

/** Events of a {@link TrackedTopic}: the gossip topic's events plus the tracker's `status`. */
export interface TrackedTopicEvents extends TopicEvents {
  /** What the bootstrap loop and the workers do, as it happens. */
  status: (event: TrackerEvent) => void;
}

/** Counters of a {@link TrackedTopic}. */
export interface TrackedTopicStats {
  tracker: Readonly<TrackerStats>;
  records: Readonly<RecordStoreStats>;
}

/**
 * Joins `topic` through the DHT: resolves once it has a neighbour (or at once with `wait: false`).
 * The convenience for one topic: a {@link TopicNode} (`createNode`) of its own, joined to `topic`,
 * and closed with it (the DHT and gossip node are closed only if this call created them).
 * @throws {GttError} `ABORTED` when `signal` aborts first (everything created is closed),
 *   `INVALID_CONFIG` for bad options or an unknown key (before anything starts),
 *   `DHT_BOOTSTRAP_FAILED` / `LISTEN_FAILED` when the DHT or the listener cannot start.
 * @throws {TypeError|RangeError} for an empty topic name or a bad secret.
 */
export async function joinTopic(
  topic: string | TopicId,
  options: JoinTopicOptions = {},
): Promise<TrackedTopic> {
  const topicId = toTopicId(topic);
  const checked = checkJoinTopicOptions(options);
  const signal = options.signal;
  throwIfAborted(signal);
  const node = await openNode(
    {
      keyPair: options.keyPair,
      dht: options.dht,
      gossip: options.gossip,
      signal,
    },
    { closeWithLastTopic: true },
  );
  let tracked: TrackedTopic;
  try {
    tracked = node.join(topicId, {
      secret: options.secret,
      rotation: options.rotation,
      peers: options.peers,
      config: checked.config,
      clock: options.clock,
      random: options.random,
      signal,
    });
  } catch (e) {
    await node.close();
    throw e;
  }
  if (options.wait === false) return tracked;
  try {
    await tracked.joined({ signal });
  } catch (e) {
    await tracked.close();
    throw e;
  }
  return tracked;
}

/** A string names a topic (`TopicId.fromName`); a TopicId is taken as is. */
export function toTopicId(topic: string | TopicId): TopicId {
  const topicId = typeof topic === 'string' ? TopicId.fromName(topic) : topic;
  if (!(topicId instanceof TopicId)) throw new TypeError('"topic" expected a string or a TopicId');
  return topicId;
}

/** What {@link trackTopic} needs: the node's parts, and the topic's own options (already checked). */
export interface TrackTopicInit {
  topicId: TopicId;
  gossip: Gossip;
  dht: Dht;
  keyPair: KeyPair;
  secret?: string | Uint8Array | undefined;
  rotation?: SecretRotation | undefined;
  peers?: readonly Peer[] | undefined;
  config: TrackerConfig;
  clock?: Clock | undefined;
  random?: (() => number) | undefined;
  signal?: AbortSignal | undefined;
  /** Runs once the topic has left (from its `close`): the node forgets it, and may close itself. */
  onClose: () => Promise<void>;
}

/** The private constructor of {@link TrackedTopic}, for {@link trackTopic} (set by the class). */
let construct: (init: TrackedTopicInit) => TrackedTopic;

/**
 * A tracked topic on a node's gossip and DHT, its bootstrap loop starting on the next turn. A topic the
 * gossip node holds already (joined through explicit peers, say) gets a tracker attached; otherwise
 * it is subscribed, joining any explicit peers at once. For `TopicNode.join`; not re-exported by
 * any public entry point.
 * @throws {TypeError|RangeError} for a bad secret or peer.
 */
export function trackTopic(init: TrackTopicInit): TrackedTopic {
  const { topicId, gossip, dht, keyPair, config } = init;
  const store = trackerStore(dht, topicId, keyPair, init, config);
  const existing = gossip.topic(topicId);
  const gtopic = existing ?? gossip.subscribe(topicId, { bootstrap: init.peers ?? [] });
  if (existing !== undefined && init.peers !== undefined) gtopic.joinPeers(init.peers);
  const mesh = gossipMesh(gossip, gtopic, config.merge.recentMessageIds);
  const tracker = new Tracker({
    store,
    mesh,
    config,
    selfHex: gossip.id,
    clock: init.clock,
    random: init.random,
    explicitWaitMs: (init.peers?.length ?? 0) > 0 ? config.bootstrap.confirmMs : 0,
  });
  return construct({
    topicId,
    gossip,
    dht,
    topic: gtopic,
    tracker,
    store,
    onClose: init.onClose,
    signal: init.signal,
  });
}

interface TrackedTopicInit {
  topicId: TopicId;
  gossip: Gossip;
  dht: Dht;
  topic: Topic;
  tracker: Tracker;
  store: RecordStore;
  onClose: () => Promise<void>;
  signal: AbortSignal | undefined;
}

/**
 * A topic joined (or being joined) through the DHT. Get it from `node.join` ({@link TopicNode}) or
 * {@link joinTopic}.
 */
export class TrackedTopic extends EventEmitter<TrackedTopicEvents> {
  static {
    construct = (init) => new TrackedTopic(init);
  }

  /** The topic id. */
  readonly topicId: TopicId;
  /** The gossip node (shared by every topic of its node). */
  readonly gossip: Gossip;
  /** The DHT (shared by every topic of its node). */
  readonly dht: Dht;
  /** The underlying gossip topic. */
  readonly topic: Topic;
  readonly #tracker: Tracker;
  readonly #store: RecordStore;
  readonly #onClose: () => Promise<void>;
  readonly #signalCleanup: () => void;
  /** The `signal` of the join: aborting it closes the topic. */
  readonly #signal: AbortSignal | undefined;
  /** Rejects with what ended the bootstrap loop, if it failed (never settles otherwise). */
  readonly #bootstrapFailure: Promise<never>;
  #closing: Promise<void> | undefined;

  private constructor(init: TrackedTopicInit) {
    super();
    this.topicId = init.topicId;
    this.gossip = init.gossip;
    this.dht = init.dht;
    this.topic = init.topic;
    this.#tracker = init.tracker;
    this.#store = init.store;
    this.#onClose = init.onClose;
    const t = this.topic;
    t.on('message', (m: TopicMessage) => this.emit('message', m));
    t.on('neighbor-up', (p: string) => this.emit('neighbor-up', p));
    t.on('neighbor-down', (p: string, c: NeighborDownCause) => this.emit('neighbor-down', p, c));
    t.on('joined', () => this.emit('joined'));
    t.on('lagged', (n: number) => this.emit('lagged', n));
    t.on('sent', (m) => this.emit('sent', m));
    this.#tracker.on('event', (e) => this.emit('status', e));
    const signal = init.signal;
    this.#signal = signal;
    const onAbort = () => void this.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#signalCleanup = () => signal?.removeEventListener('abort', onAbort);
    // Start on the next turn, so that whoever gets the topic can subscribe to `status` first. A loop
    // that fails (the tracker counts it and emits an `error` status) fails `joined()` too.
    const tracker = this.#tracker;
    this.#bootstrapFailure = new Promise<never>((_, reject) => {
      setImmediate(() => {
        tracker.start().catch((error: unknown) => {
          if (!(error instanceof GttError && error.code === 'CLOSED')) reject(error);
        });
      });
    });
    this.#bootstrapFailure.catch(() => {}); // nobody may be waiting in joined()
  }

  /** Our node id (hex ed25519 public key). */
  get id(): string {
    return this.gossip.id;
  }

  /** The addresses we advertise. */
  addresses(): Address[] {
    return this.gossip.addresses();
  }

  /**
   * Broadcasts `content` to every member.
   * @throws {GttError} `CLOSED` after `close()`; TypeError/RangeError for bad content.
   */
  broadcast(content: Uint8Array): void {
    this.topic.broadcast(content);
  }

  /**
   * Sends `content` to the current neighbours only.
   * @throws {GttError} `CLOSED` after `close()`; TypeError/RangeError for bad content.
   */
  broadcastNeighbors(content: Uint8Array): void {
    this.topic.broadcastNeighbors(content);
  }

  /** Current neighbours, hex ids. */
  neighbors(): string[] {
    return this.topic.neighbors();
  }

  /** Whether we have at least one neighbour. */
  isJoined(): boolean {
    return this.topic.isJoined();
  }

  /**
   * Resolves once joined.
   * @throws {GttError} `ABORTED` when `signal` (or the `signal` of the join) aborts; `CLOSED`
   *   when the topic closes before joining (as `Topic.joined`); whatever ended the bootstrap loop, if
   *   it failed.
   */
  async joined(opts: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      if (this.#closing !== undefined) throw GttError.closed('topic');
      await Promise.race([this.topic.joined(opts), this.#bootstrapFailure]);
    } catch (e) {
      // A close that an abort caused is the abort (the signal closes the topic).
      if (e instanceof GttError && e.code === 'CLOSED' && this.#aborted(opts.signal))
        throw GttError.aborted(e);
      throw e;
    }
  }

  #aborted(signal: AbortSignal | undefined): boolean {
    return signal?.aborted === true || this.#signal?.aborted === true;
  }

  /** Messages from now on (bounded; see `Topic.messages`). */
  messages(opts: { signal?: AbortSignal } = {}): AsyncIterableIterator<TopicMessage> {
    return this.topic.messages(opts);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TopicMessage> {
    return this.topic.messages();
  }

  /** Counters of the tracker and the record store. */
  get stats(): TrackedTopicStats {
    return { tracker: this.#tracker.stats, records: this.#store.stats };
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Stops the bootstrap loop and the workers and leaves this topic; the node's other topics go on. A
   * topic of {@link joinTopic} also closes its node, and so the gossip node and the DHT if that call
   * created them. Idempotent; nothing of this topic keeps the process alive afterwards.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#signalCleanup();
      await this.#tracker.close();
      this.topic.leave();
      await this.#onClose();
    })();
    return this.#closing;
  }

  /** Same as {@link close}: leaves this topic only. */
  leave(): Promise<void> {
    return this.close();
  }
}

/** Recent swarm message ids in a ring (adding is O(1): it runs for every message). */
class RecentIds {
  readonly #ring: string[] = [];
  #next = 0;
  constructor(private readonly max: number) {}
  add(idHex: string): void {
    this.#ring[this.#next] = idHex;
    this.#next = (this.#next + 1) % this.max;
  }
  /** Newest first. */
  list(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const n = this.#ring.length;
    for (let i = 1; i <= n; i++) out.push(hexToBytes(this.#ring[(this.#next - i + n) % n]!));
    return out;
  }
}

/** Our gossip topic as the tracker's {@link Mesh}. */
function gossipMesh(gossip: Gossip, topic: Topic, recent: number): Mesh {
  const ids = new RecentIds(recent);
  const settled = new Set<(peer: Uint8Array) => void>();
  topic.on('message', (m) => {
    if (m.scope === 'swarm') ids.add(m.id);
  });
  topic.on('sent', (m) => {
    if (m.scope === 'swarm') ids.add(m.id);
  });
  return {
    addresses: () => gossip.addresses(),
    neighbors: (): PeerInfo[] =>
      topic.neighbors().map((id) => ({ id: hexToBytes(id), addresses: gossip.peerAddresses(id) })),
    recentMessageIds: () => ids.list(),
    isJoined: () => topic.isJoined(),
    join: (peer) => {
      if (topic.left) return;
      topic.joinPeers([peer]);
      gossip.whenJoinSettled(topic.key, bytesToHex(peer.id), () => {
        for (const fire of settled) fire(peer.id);
      });
    },
    onNeighborUp: (fire) => {
      topic.on('neighbor-up', fire);
      return () => topic.off('neighbor-up', fire);
    },
    onJoinSettled: (fire) => {
      settled.add(fire);
      return () => settled.delete(fire);
    },
    onAddressesChanged: (fire) => gossip.watchAddresses(fire),
  };
}

/** The record store of a tracked topic: its minute comes from the tracker's clock. */
export function trackerStore(
  dht: Dht,
  topic: TopicId,
  keyPair: KeyPair,
  options: { secret?: string | Uint8Array; rotation?: SecretRotation; clock?: Clock },
  config: TrackerConfig,
): RecordStore {
  const clock = options.clock;
  return new RecordStore({
    dht,
    topic,
    keyPair,
    secret: options.secret,
    rotation: options.rotation,
    config: config.store,
    now: clock ? () => clock.now() : undefined,
  });
}
