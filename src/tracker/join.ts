/**
 * `joinTopic()`: the product's headline. Name a topic (and optionally a secret); get a joined gossip
 * topic, found through the mainline DHT with no server of ours. Wires a {@link RecordStore}, our
 * {@link Gossip} topic (as the tracker's {@link Mesh}) and the {@link Tracker} together, and owns
 * whatever it created.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { EventEmitter } from 'eventemitter3';
import type { Address, KeyPair, PeerInfo, SecretRotation } from '../crypto/index.js';
import { keyPairFromSeed, TopicId } from '../crypto/index.js';
import { Dht, type DhtOptions } from '../dht/index.js';
import { GttError, throwIfAborted } from '../errors.js';
import { Gossip, type GossipOptions, kKeyPair } from '../net/gossip.js';
import type { Peer, Topic, TopicEvents, TopicMessage } from '../net/topic.js';
import type { NeighborDownCause } from '../proto/types.js';
import type { Clock } from './clock.js';
import {
  checkJoinTopicOptions,
  parseTrackerConfig,
  type TrackerConfig,
  type TrackerConfigInput,
} from './config.js';
import type { Mesh } from './mesh.js';
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
  /** Aborts the join (and closes what was created for it). */
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
 * @throws {GttError} `ABORTED` when `signal` aborts first (everything created is closed),
 *   `INVALID_CONFIG` for bad options or an unknown key (before anything starts),
 *   `DHT_BOOTSTRAP_FAILED` / `LISTEN_FAILED` when the DHT or the listener cannot start.
 * @throws {TypeError|RangeError} for an empty topic name or a bad secret.
 */
export async function joinTopic(
  topic: string | TopicId,
  options: JoinTopicOptions = {},
): Promise<TrackedTopic> {
  const tracked = await TrackedTopic.create(topic, options);
  if (options.wait === false) return tracked;
  try {
    await tracked.joined({ signal: options.signal });
  } catch (e) {
    await tracked.close();
    throw e;
  }
  return tracked;
}

/** A topic joined (or being joined) through the DHT. Get it from {@link joinTopic}. */
export class TrackedTopic extends EventEmitter<TrackedTopicEvents> {
  /** The topic id. */
  readonly topicId: TopicId;
  /** The gossip node (ours or the one passed in). */
  readonly gossip: Gossip;
  /** The DHT (ours or the one passed in). */
  readonly dht: Dht;
  /** The underlying gossip topic. */
  readonly topic: Topic;
  readonly #tracker: Tracker;
  readonly #store: RecordStore;
  readonly #owned: { gossip: boolean; dht: boolean };
  readonly #signalCleanup: () => void;
  /** The `signal` of {@link joinTopic}: aborting it closes the topic. */
  readonly #signal: AbortSignal | undefined;
  /** Rejects with what ended the bootstrap loop, if it failed (never settles otherwise). */
  readonly #bootstrapFailure: Promise<never>;
  #closing: Promise<void> | undefined;

  private constructor(init: {
    topicId: TopicId;
    gossip: Gossip;
    dht: Dht;
    topic: Topic;
    tracker: Tracker;
    store: RecordStore;
    owned: { gossip: boolean; dht: boolean };
    signal: AbortSignal | undefined;
  }) {
    super();
    this.topicId = init.topicId;
    this.gossip = init.gossip;
    this.dht = init.dht;
    this.topic = init.topic;
    this.#tracker = init.tracker;
    this.#store = init.store;
    this.#owned = init.owned;
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
    // Start on the next turn, so that whoever awaits joinTopic can subscribe to `status` first. A loop
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

  /** @internal Use {@link joinTopic}. */
  static async create(topic: string | TopicId, options: JoinTopicOptions): Promise<TrackedTopic> {
    const topicId = typeof topic === 'string' ? TopicId.fromName(topic) : topic;
    if (!(topicId instanceof TopicId)) throw new TypeError('"topic" expected a string or a TopicId');
    const config = checkJoinTopicOptions(options).config ?? parseTrackerConfig(undefined);
    const signal = options.signal;
    throwIfAborted(signal);

    const owned = { gossip: false, dht: false };
    let gossip: Gossip | undefined;
    let dht: Dht | undefined;
    try {
      if (options.gossip instanceof Gossip) {
        gossip = options.gossip;
        const own = gossip[kKeyPair];
        if (options.keyPair !== undefined && bytesToHex(options.keyPair.publicKey) !== gossip.id) {
          throw GttError.invalidConfig('keyPair: differs from the identity of the gossip node passed in');
        }
        options = { ...options, keyPair: own };
      } else {
        const keyPair = options.keyPair ?? keyPairFromSeed(randomBytes(32));
        options = { ...options, keyPair };
      }
      // Assign each as soon as it exists, so that if the other fails the cleanup below closes it.
      if (options.dht instanceof Dht) dht = options.dht;
      const startDht =
        dht !== undefined
          ? Promise.resolve()
          : Dht.create((options.dht as DhtOptions | undefined) ?? {}, { signal }).then((d) => {
              owned.dht = true;
              dht = d;
            });
      const startGossip =
        gossip !== undefined
          ? Promise.resolve()
          : Gossip.create(
              { ...(options.gossip as GossipOptions | undefined), keyPair: options.keyPair },
              { signal },
            ).then((g) => {
              owned.gossip = true;
              gossip = g;
            });
      const started = await Promise.allSettled([startDht, startGossip]);
      for (const r of started) if (r.status === 'rejected') throw r.reason;
      if (dht === undefined || gossip === undefined) throw new Error('unreachable: both started');
      throwIfAborted(signal);
      const keyPair = options.keyPair!;
      const store = trackerStore(dht, topicId, keyPair, options, config);
      // A topic the gossip node holds already (joined through explicit peers, say) gets a tracker
      // attached; otherwise subscribe, joining any explicit peers at once.
      const existing = gossip.topic(topicId);
      const gtopic = existing ?? gossip.subscribe(topicId, { bootstrap: options.peers ?? [] });
      if (existing !== undefined && options.peers !== undefined) gtopic.joinPeers(options.peers);
      const g = gossip;
      const mesh = gossipMesh(g, gtopic, config.merge.recentMessageIds);
      const tracker = new Tracker({
        store,
        mesh,
        config,
        selfHex: gossip.id,
        clock: options.clock,
        random: options.random,
        explicitWaitMs: (options.peers?.length ?? 0) > 0 ? config.bootstrap.confirmMs : 0,
      });
      const tracked = new TrackedTopic({
        topicId,
        gossip,
        dht,
        topic: gtopic,
        tracker,
        store,
        owned,
        signal,
      });
      return tracked;
    } catch (e) {
      await Promise.allSettled([
        owned.gossip ? gossip?.close() : undefined,
        owned.dht ? dht?.close() : undefined,
      ]);
      throw e;
    }
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
   * @throws {GttError} `ABORTED` when `signal` (or the `signal` of {@link joinTopic}) aborts; `CLOSED`
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
   * Stops the bootstrap loop and the workers, leaves the topic, and closes the gossip node and the DHT
   * if `joinTopic` created them. Idempotent; nothing keeps the process alive afterwards.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#signalCleanup();
      await this.#tracker.close();
      this.topic.leave();
      await Promise.allSettled([
        this.#owned.gossip ? this.gossip.close() : undefined,
        this.#owned.dht ? this.dht.close() : undefined,
      ]);
    })();
    return this.#closing;
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
      if (!topic.left) topic.joinPeers([peer]);
    },
    onNeighborUp: (fire) => {
      topic.on('neighbor-up', fire);
      return () => topic.off('neighbor-up', fire);
    },
    isJoining: (peer) => gossip.isJoining(topic.key, bytesToHex(peer)),
  };
}

/** The record store of a tracked topic: its minute comes from the tracker's clock. @internal */
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
