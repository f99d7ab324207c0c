/**
 * Discovery only: the bootstrap loop, the publisher and the merges without our gossip mesh,
 * for apps that bring their own gossip layer or transport. The app says who it is and where it listens,
 * and reports its current neighbours (and, optionally, recent message ids) through a callback; we
 * publish its records and hand it candidate peers `{ id, addresses }` to connect to, as they are found.
 *
 * ```ts
 * const discovery = await discoverPeers('my-topic', { keyPair, addresses, state: () => ({ neighbors }) });
 * for await (const peer of discovery) myTransport.connect(peer.id, peer.addresses);
 * ```
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { EventEmitter } from 'eventemitter3';
import { type Address, normalizeAddressAs } from '../crypto/address.js';
import { checkAddress, resolvePolicy } from '../crypto/address-policy.js';
import { type KeyPair, keyPairFromSeed, type SecretRotation, TopicId } from '../crypto/index.js';
import { Dht, type DhtOptions } from '../dht/index.js';
import { splitHostPort, throwIfAborted } from '../errors.js';
import type { Clock } from './clock.js';
import { checkDiscoverPeersOptions, parseTrackerConfig, type TrackerConfigInput } from './config.js';
import { trackerStore } from './join.js';
import type { Mesh } from './mesh.js';
import type { RecordStore, RecordStoreStats } from './record-store.js';
import { Tracker, type TrackerEvent, type TrackerStats } from './tracker.js';

/**
 * A candidate peer: connect to it with your own transport. Its addresses passed the address policy
 * (PROTOCOL.md §9.8) resolved from your own `addresses`; a peer with none left is not offered.
 */
export interface DiscoveredPeer {
  /** Hex ed25519 public key (the id it publishes records under). */
  id: string;
  addresses: Address[];
}

/** What the app reports about its own mesh. */
export interface DiscoveryState {
  /** Current neighbours: hex or 32-byte ids, with the addresses you know for them (may be empty). */
  neighbors: readonly { id: string | Uint8Array; addresses?: readonly Address[] }[];
  /** Recent message ids (newest first; the first 16 bytes of each are used), for the overlap merge. */
  messageIds?: readonly Uint8Array[];
}

/**
 * Options of {@link discoverPeers}. Unknown keys are errors, here and in `dht` and `config`, checked
 * before anything starts (schema: `DiscoverPeersOptionsSchema` in config.ts).
 */
export interface DiscoverPeersOptions {
  /** The identity our records are published under: your transport's peers must know you by it. */
  keyPair?: KeyPair;
  /**
   * Where your transport can be reached, each `"host:port"`, `"[ipv6]:port"` or `{ host, port }`:
   * published in our records.
   */
  addresses: readonly (string | Address)[] | (() => readonly (string | Address)[]);
  /** Your mesh right now; called whenever the loop needs it. */
  state: () => DiscoveryState;
  secret?: string | Uint8Array;
  rotation?: SecretRotation;
  /** An existing DHT, or options to create one (default: the public mainline routers). */
  dht?: Dht | DhtOptions;
  signal?: AbortSignal;
  config?: TrackerConfigInput;
  clock?: Clock;
  random?: () => number;
  /** Candidates buffered for the async iterator before the oldest are dropped (DEFAULT_BUFFER_PEERS). */
  bufferPeers?: number;
}

interface DiscoveryEvents {
  /** A candidate peer to connect to. */
  peer: (peer: DiscoveredPeer) => void;
  /** What the tracker does, as it happens. */
  status: (event: TrackerEvent) => void;
}

/**
 * Starts discovering the peers of `topic` for an app's own transport.
 * @throws {GttError} `ABORTED`, `INVALID_CONFIG`, `DHT_BOOTSTRAP_FAILED`.
 * @throws {TypeError|RangeError} for a bad topic, key pair, address or secret.
 */
export async function discoverPeers(
  topic: string | TopicId,
  options: DiscoverPeersOptions,
): Promise<PeerDiscovery> {
  return PeerDiscovery.create(topic, options);
}

/** A running discovery: an event emitter and an async iterable of candidate peers. */
export class PeerDiscovery extends EventEmitter<DiscoveryEvents> implements AsyncIterable<DiscoveredPeer> {
  readonly topicId: TopicId;
  readonly dht: Dht;
  readonly #tracker: Tracker;
  readonly #store: RecordStore;
  readonly #ownsDht: boolean;
  readonly #buffer: DiscoveredPeer[] = [];
  readonly #bufferMax: number;
  readonly #pending: ((r: IteratorResult<DiscoveredPeer>) => void)[] = [];
  readonly #notify: Set<() => void>;
  /** Removes our listener from the caller's `signal`: a long-lived signal must not keep us. */
  #signalCleanup: () => void = () => {};
  #closing: Promise<void> | undefined;
  #dropped = 0;

  private constructor(init: {
    topicId: TopicId;
    dht: Dht;
    ownsDht: boolean;
    store: RecordStore;
    tracker: Tracker;
    bufferMax: number;
    notify: Set<() => void>;
    /** Receives the handle's intake of candidates (the tracker's `join`), kept off the public class. */
    bindOffer: (offer: (peer: DiscoveredPeer) => void) => void;
  }) {
    super();
    this.topicId = init.topicId;
    this.dht = init.dht;
    this.#ownsDht = init.ownsDht;
    this.#store = init.store;
    this.#tracker = init.tracker;
    this.#bufferMax = init.bufferMax;
    this.#notify = init.notify;
    this.#tracker.on('event', (e) => this.emit('status', e));
    init.bindOffer((peer) => this.#offer(peer));
  }

  /** @internal Use {@link discoverPeers}. */
  static async create(topic: string | TopicId, options: DiscoverPeersOptions): Promise<PeerDiscovery> {
    const topicId = typeof topic === 'string' ? TopicId.fromName(topic) : topic;
    if (!(topicId instanceof TopicId)) throw new TypeError('"topic" expected a string or a TopicId');
    const checked = checkDiscoverPeersOptions(options);
    if (typeof options?.state !== 'function') throw new TypeError('"state" expected a function');
    const config = checked.config ?? parseTrackerConfig(undefined);
    const keyPair = options.keyPair ?? keyPairFromSeed(randomBytes(32));
    const given = options.addresses;
    const addressesOf = (): Address[] =>
      (typeof given === 'function' ? given() : given).map((a, i) =>
        normalizeAddressAs(splitHostPort(a), `addresses[${i}]`),
      );
    addressesOf();
    throwIfAborted(options.signal);
    const ownsDht = !(options.dht instanceof Dht);
    const dht =
      options.dht instanceof Dht
        ? options.dht
        : await Dht.create(options.dht ?? {}, { signal: options.signal });
    try {
      throwIfAborted(options.signal);
      const store = trackerStore(dht, topicId, keyPair, options, config);
      let offer: ((peer: DiscoveredPeer) => void) | undefined;
      const notify = new Set<() => void>();
      const settled = new Set<(peer: Uint8Array) => void>();
      const mesh: Mesh = {
        addresses: addressesOf,
        neighbors: () =>
          options.state().neighbors.map((n) => ({
            id: typeof n.id === 'string' ? hexToBytes(n.id) : n.id,
            addresses: [...(n.addresses ?? [])],
          })),
        recentMessageIds: () => [...(options.state().messageIds ?? [])],
        isJoined: () => options.state().neighbors.length > 0,
        join: (peer) => {
          // Records are remote input: hand the app only addresses our own would be allowed to dial
          // (PROTOCOL.md §9.8; loopback and private ranges when the app's own addresses are such).
          const policy = resolvePolicy(addressesOf().map((a) => a.host));
          const addresses = peer.addresses.filter((a) => checkAddress(a, policy).ok);
          if (addresses.length > 0) offer?.({ id: bytesToHex(peer.id), addresses });
          // Handing the candidate to the app is all we do with it: for us the attempt is over.
          for (const fire of settled) fire(peer.id);
        },
        onNeighborUp: (fire) => {
          notify.add(fire);
          return () => notify.delete(fire);
        },
        onJoinSettled: (fire) => {
          settled.add(fire);
          return () => settled.delete(fire);
        },
      };
      const tracker = new Tracker({
        store,
        mesh,
        config,
        selfHex: bytesToHex(keyPair.publicKey),
        clock: options.clock,
        random: options.random,
      });
      const d = new PeerDiscovery({
        topicId,
        dht,
        ownsDht,
        store,
        tracker,
        bufferMax: checked.bufferPeers,
        notify,
        bindOffer: (fn) => {
          offer = fn;
        },
      });
      const signal = options.signal;
      const onAbort = () => void d.close();
      signal?.addEventListener('abort', onAbort, { once: true });
      d.#signalCleanup = () => signal?.removeEventListener('abort', onAbort);
      // Start on the next turn, so that the caller can subscribe to `status` and `peer` first. A loop
      // that fails is counted and reported by the tracker (an `error` status, `during: 'bootstrap'`).
      setImmediate(() => void tracker.start().catch(() => {}));
      return d;
    } catch (e) {
      if (ownsDht) await dht.close();
      throw e;
    }
  }

  /**
   * Tell the tracker your neighbours changed (a connection came up): a bootstrap wait ends early and the
   * loop re-checks `state()`. Optional: without it the loop notices at its next step.
   */
  notify(): void {
    for (const fire of [...this.#notify]) fire();
  }

  /** Counters of the tracker and the record store; `dropped` counts candidates the iterator buffer shed. */
  get stats(): { tracker: Readonly<TrackerStats>; records: Readonly<RecordStoreStats>; dropped: number } {
    return { tracker: this.#tracker.stats, records: this.#store.stats, dropped: this.#dropped };
  }

  /** A candidate from the tracker. */
  #offer(peer: DiscoveredPeer): void {
    if (this.#closing !== undefined) return;
    this.emit('peer', peer);
    const waiter = this.#pending.shift();
    if (waiter !== undefined) {
      waiter({ value: peer, done: false });
      return;
    }
    this.#buffer.push(peer);
    if (this.#buffer.length > this.#bufferMax) {
      this.#buffer.shift();
      this.#dropped += 1;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<DiscoveredPeer> {
    return {
      next: () => {
        const value = this.#buffer.shift();
        if (value !== undefined) return Promise.resolve({ value, done: false });
        if (this.#closing !== undefined) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#pending.push(resolve));
      },
      return: () => {
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** Stops publishing and discovering; ends the iterators; closes the DHT if we created it. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#signalCleanup();
      for (const w of this.#pending.splice(0)) w({ value: undefined, done: true });
      this.#buffer.length = 0;
      this.#notify.clear();
      await this.#tracker.close();
      if (this.#ownsDht) await this.dht.close();
    })();
    return this.#closing;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }
}
