/**
 * The Gossip actor (ARCHITECTURE.md "Transport"): the one place that owns the sockets (through its
 * `Transport`) and the timer heap, feeds the pure `GossipNode` its in-events and executes its
 * out-events, in order, one event at a time.
 *
 * ```
 * socket frames ─▶ chargeFrame ─▶ decodeFrame ─▶ recv ──────────────┐
 * lost link / failed dial ─────────────────────▶ peer-disconnected ─┤
 * timer heap ──────────────────────────────────▶ timer-expired ─────┼─▶ inbox ─▶ GossipNode.handle(ev, now) ─▶ out-events
 * Topic handles ───────────────────────────────▶ command ───────────┘
 *   chargeFrame refuses: dropped undecoded; over budget, Transport.pause(peer) until it fits
 * out-events: send ─▶ encodeFrame ─▶ Transport.send (dials when needed)   emit ─▶ Topic handle
 *             schedule-timer ─▶ timer heap                                disconnect-peer ─▶ Transport.disconnect
 * ```
 * Events raised while the actor executes out-events (a send that overflows, a listener that
 * subscribes) queue in the inbox and run after the current event, never re-entering the core.
 */
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { bytesToHex } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { type Address, normalizeAddressAs } from '../crypto/address.js';
import { canonicalHost, classifyHost } from '../crypto/address-policy.js';
import { type KeyPair, keyPairFromSeed } from '../crypto/keys.js';
import { type CryptoSuite, isCryptoSuite, KEY_BYTES } from '../crypto/suite.js';
import { TopicId } from '../crypto/topic.js';
import { GttError, parseOptions, throwIfAborted, withAliases } from '../errors.js';
import { defaultSuite } from '../native/crypto.js';
import { ProtoConfigSchema } from '../proto/config.js';
import type { ProtoOptions, ProtoStats } from '../proto/index.js';
import { GossipNode } from '../proto/node.js';
import { createSecureRng } from '../proto/rng.js';
import {
  assertNever,
  type InEvent,
  type Message,
  type OutEvent,
  type PeerId,
  type PeerInfo,
  type Timer,
  type TopicKey,
} from '../proto/types.js';
import { decodeFrame, encodeFrame, GOSSIP_OVERHEAD_BYTES, type WireRejectReason } from '../proto/wire.js';
import { decodeAddressList, encodeAddressList } from './addresses.js';
import {
  DEFAULT_TOPIC_BUFFER_MESSAGES,
  hostPortSchema,
  ListenSchema,
  TransportConfigSchema,
  type TransportOptions,
} from './config.js';
import { NAT_PMP_PORT, type PortMapStateName, type PortMapStats } from './nat-pmp.js';
import { defaultGateway } from './port-map.js';
import { PortMapper } from './port-mapper.js';
import { TimerHeap } from './timers.js';
import { type Peer, Topic, type TopicDriver, type TopicHandlers } from './topic.js';
import { type Firewall, Transport, type TransportStats } from './transport.js';
import type { UpnpStateName, UpnpStats } from './upnp.js';
import { UpnpMapper } from './upnp-mapper.js';

/** Options of {@link Gossip.create}. */
export interface GossipOptions {
  /** The node's ed25519 identity; default a fresh random one. */
  keyPair?: KeyPair;
  /**
   * Where to listen: `"host:port"`, `"[ipv6]:port"` or `{ host, port }` (default 0.0.0.0, any port;
   * port 0 is any free port); `null` for a node that only dials.
   */
  listen?: string | { host?: string; port?: number } | null;
  /**
   * Addresses to advertise instead of the listener's, each `"host:port"`, `"[ipv6]:port"` or
   * `{ host, port }` (see {@link Gossip.addresses}).
   */
  advertise?: readonly (string | Address)[];
  /** Transport options (timeouts, limits); see `src/net/config.ts`. */
  transport?: TransportOptions;
  /** Gossip core options; see `src/proto/config.ts`. */
  proto?: ProtoOptions;
  /** Messages each topic iterator buffers (default DEFAULT_TOPIC_BUFFER_MESSAGES). */
  topicBufferMessages?: number;
  /**
   * Crypto of the handshakes, frames and broadcast signatures: `nativeSuite` (OpenSSL) or
   * `nobleSuite` (pure JS, ~10-30× the CPU). Default `defaultSuite()`: OpenSSL when node:crypto has
   * Ed25519, X25519 and ChaCha20-Poly1305 (Node ≥ 20 does). Nodes with different suites interoperate.
   */
  crypto?: CryptoSuite;
  /**
   * Access control: `firewall({ id, address })` returns `true` to refuse that peer (as Hyperswarm's
   * `firewall`, but given the proven ed25519 id, hex). Asked for every connection once its handshake
   * proved the remote's id, inbound and outbound, and before dialing a peer; synchronous; a callback
   * that throws refuses. Refusals are counted in `stats.transport.firewall`. See also {@link Gossip.ban}.
   */
  firewall?: Firewall;
  /**
   * Port mapping on the home router (NAT-PMP, RFC 6886, and UPnP IGD v1, asked at once, the first
   * mapping kept; PROTOCOL.md §9.7): once the node learns that it is behind a NAT (`setExternalHost`
   * with a public host while it listens on no public address), it asks the default gateway to forward
   * a public port to its listener, advertises `external:mappedPort` first, renews the mapping while it
   * runs and deletes it on `close()`. `false` turns it off; `{ gateway: "host" }` (or `"host:port"`,
   * the NAT-PMP port, default 5351) names the gateway instead of the default route's (Linux's
   * `/proc/net/route`; elsewhere there is none unless named). Default `true`. Only with no `advertise`
   * option and a listener on a private or unspecified host.
   */
  portMapping?: boolean | { gateway?: string | { host: string; port?: number } };
}

/** What {@link Gossip.stats} says of the port mapping. */
export type PortMappingStats =
  | { state: 'off' | 'not-needed' | 'no-gateway' }
  | {
      /** `asking` until one protocol maps (or both gave up: `unavailable`, asked again later). */
      state: 'asking' | 'mapped' | 'unavailable';
      /** The protocol whose mapping we hold (NAT-PMP and UPnP are asked at once; the first wins). */
      protocol?: 'nat-pmp' | 'upnp';
      /** The mapped public address we advertise. */
      address?: Address;
      natPmp: PortMapStats & { state: PortMapStateName; gateway: string };
      upnp: UpnpStats & { state: UpnpStateName; gateway: string };
    };

/** The two port mappers of a node, and the one whose mapping it keeps. */
interface Mappers {
  natPmp: PortMapper;
  upnp: UpnpMapper;
  winner?: PortMapper | UpnpMapper;
}

/** Counters of a {@link Gossip}. */
export interface GossipStats {
  topics: number;
  /** Pending protocol timers. */
  timers: number;
  /** Gossip frames refused by the wire codec, by reason. */
  wireRejects: Partial<Record<WireRejectReason, number>>;
  /** Peer data (address lists) that did not decode. */
  badPeerData: number;
  transport: TransportStats;
  proto: ProtoStats;
  portMapping: PortMappingStats;
}

/**
 * The options of {@link Gossip.create}, checked in full before anything is bound (transport and core
 * options included). Unknown keys are errors; the aliases name Hyperswarm's options that we have
 * under another name.
 */
export const GossipOptionsSchema = withAliases(
  z.strictObject({
    keyPair: z
      .custom<KeyPair>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          (v as KeyPair).secretKey instanceof Uint8Array &&
          (v as KeyPair).secretKey.length === KEY_BYTES,
        'expected { publicKey, secretKey } with a 32-byte secretKey',
      )
      .optional(),
    listen: ListenSchema.nullable().default(() => ListenSchema.parse({})),
    advertise: z.array(hostPortSchema(z.string(), z.int())).optional(),
    topicBufferMessages: z.int().min(1).default(DEFAULT_TOPIC_BUFFER_MESSAGES),
    crypto: z
      .custom<CryptoSuite>(isCryptoSuite, 'expected a CryptoSuite (nativeSuite or nobleSuite)')
      .optional(),
    transport: TransportConfigSchema.optional(),
    proto: ProtoConfigSchema.optional(),
    firewall: z
      .custom<Firewall>((v) => typeof v === 'function', 'expected a function (peer) => boolean')
      .optional(),
    portMapping: z
      .union([
        z.boolean(),
        z.strictObject({
          // An IPv4 literal: NAT-PMP is IPv4 only, and a gateway is not looked up by name.
          gateway: hostPortSchema(
            z.ipv4({ error: 'expected an IPv4 address' }),
            z.int().min(1).max(65_535).default(NAT_PMP_PORT),
          ).optional(),
        }),
      ])
      .default(true),
  } satisfies Record<keyof GossipOptions, z.ZodType>),
  {
    seed: { use: 'keyPair', note: 'keyPairFromSeed(seed)' },
    maxPeers: { use: 'transport.maxConnections' },
    host: { use: 'listen', note: '"host:port" or { host, port }' },
    port: { use: 'listen', note: '"host:port" or { host, port }' },
  },
);

/**
 * Validates the options of {@link Gossip.create} and fills in defaults.
 * @throws {GttError} `INVALID_CONFIG` naming every offending field.
 */
export function parseGossipOptions(options: GossipOptions | undefined) {
  return parseOptions(GossipOptionsSchema, options, 'gossip options');
}

/** The options of {@link Gossip.subscribe}: peers are checked where they are used (RangeError). */
const SubscribeOptionsSchema = withAliases(
  z.strictObject({ bootstrap: z.custom<readonly Peer[]>().optional() }),
  { peers: { use: 'bootstrap' } },
);

const now = (): number => performance.now();

/** Internal hook for crash tests: destroy every socket with no goodbye and stop. @internal */
export const kCrash: unique symbol = Symbol('gossip-topic-tracker.crash');

/** Each node's key pair, for {@link gossipKeyPair}. */
const keyPairs = new WeakMap<Gossip, KeyPair>();

/**
 * The key pair of `gossip`, for the tracker layer (its records are signed with the gossip identity, so
 * that the ids in records are the ids peers dial). Module-level, not a member: no public entry point
 * re-exports it, so the secret key stays out of the public API.
 */
export function gossipKeyPair(gossip: Gossip): KeyPair {
  const keyPair = keyPairs.get(gossip);
  if (keyPair === undefined) throw new TypeError('"gossip" expected a Gossip');
  return keyPair;
}

/** `peer` as a hex id, or a RangeError naming `what`. */
function peerIdOf(peer: PeerId | Uint8Array, what: string): PeerId {
  const id = typeof peer === 'string' ? peer : peer instanceof Uint8Array ? bytesToHex(peer) : '';
  if (!/^[0-9a-f]{64}$/.test(id)) {
    throw new RangeError(`"${what}" expected 32 bytes or 64 lower-case hex characters`);
  }
  return id;
}

/** A gossip node: one identity, one listener, one connection per peer, many topics. */
export class Gossip {
  /** This node's id: its ed25519 public key, hex. */
  readonly id: PeerId;
  readonly #transport: Transport;
  /** No `advertise` option: the advertised list follows `setExternalHost`. */
  readonly #autoAdvertise: boolean;
  /** What the listener gave us to advertise, before any external host. */
  readonly #ownAdvertised: Address[];
  readonly #node: GossipNode;
  /** The port mapping option, the listener's bound host, and the mapper once started. */
  readonly #portMapping: false | { gateway?: Address };
  readonly #listenHost: string | undefined;
  /** Both mappers while asking; the winner alone once one mapped (the other is closed). */
  #mappers: Mappers | undefined;
  #mapperState: 'off' | 'not-needed' | 'no-gateway';
  /** `watchAddresses` subscribers. */
  readonly #addressWatches = new Set<() => void>();
  /** The last `setExternalHost`: a public host or undefined, and whether others reach us there. */
  #external: { host: string | undefined; reachable: boolean } = { host: undefined, reachable: false };
  readonly #timers: TimerHeap<{ topic: TopicKey; timer: Timer }>;
  readonly #topics = new Map<TopicKey, Topic>();
  /** What each topic handle gave its driver: how the actor delivers to it (see `TopicDriver.attach`). */
  readonly #handlers = new Map<TopicKey, TopicHandlers>();
  readonly #inbox: InEvent[] = [];
  /** The last frame encoded in this run of the actor (see `#encode`). */
  #encoded: { topic: TopicKey; message: Message; bytes: Uint8Array } | undefined;
  readonly #driver: TopicDriver;
  readonly #wireRejects: Partial<Record<WireRejectReason, number>> = {};
  #badPeerData = 0;
  #running = false;
  #closing: Promise<void> | undefined;
  /** `whenJoinSettled` subscriptions, checked after each run of the actor. */
  readonly #joinWatches = new Set<{ topic: TopicKey; peer: PeerId; fire: () => void }>();

  private constructor(
    transport: Transport,
    keyPair: KeyPair,
    proto: ProtoOptions | undefined,
    buffer: number,
    suite: CryptoSuite,
    autoAdvertise: boolean,
    mapping: { portMapping: false | { gateway?: Address }; listenHost: string | undefined },
  ) {
    this.#transport = transport;
    this.#autoAdvertise = autoAdvertise;
    this.#portMapping = mapping.portMapping;
    this.#listenHost = mapping.listenHost;
    this.#mapperState = mapping.portMapping === false ? 'off' : 'not-needed';
    this.#ownAdvertised = transport.addresses();
    this.id = transport.id;
    keyPairs.set(this, keyPair);
    // nativeSuite imports the signing key once and keeps it for as long as this array lives.
    const secretKey = keyPair.secretKey;
    this.#node = new GossipNode({
      me: this.id,
      // 256 bits of OS entropy into a CSPRNG: the core's draws (sequence numbers, walk targets,
      // evictions) must not let a neighbour recover the state and predict the others.
      rng: createSecureRng(randomBytes(32)),
      // Address diversity of the active view (PROTOCOL.md §8.7): the transport knows where a peer is.
      netGroup: (peer) => transport.netGroupOf(peer),
      config: proto,
      sign: (m) => suite.ed25519Sign(m, secretKey),
      // Never throws: a bad origin key or signature is false.
      verify: (origin, m, sig) => suite.ed25519Verify(sig, m, origin),
      peerData: transport.extension,
    });
    // Connections no topic uses are closed after `topiclessGraceMs` and go first when the table is
    // full (PROTOCOL.md §9.8); lingering links are the transport's own business.
    transport.setInUse((peer) => this.#node.isConnected(peer));
    this.#timers = new TimerHeap((t) => this.#onTimer(t), now);
    const plum = this.#node.config.plumtree;
    this.#driver = {
      command: (topic, command) => this.#dispatch({ type: 'command', topic, command }),
      addPeers: (peers) => this.#peerInfos(peers),
      attach: (topic, handlers) => this.#handlers.set(topic, handlers),
      release: (topic) => {
        this.#topics.delete(topic);
        this.#handlers.delete(topic);
      },
      maxContentBytes: plum.maxMessageBytes - GOSSIP_OVERHEAD_BYTES,
      bufferMessages: buffer,
    };
    transport.on('message', (peer, bytes) => this.#onFrame(peer, bytes));
    transport.on('peer-connected', (peer, extension) => {
      const list = decodeAddressList(extension);
      if (!list.ok) this.#badPeerData++;
      transport.addAddresses(peer, list.addresses);
    });
    transport.on('peer-disconnected', (peer, cause) =>
      this.#dispatch({ type: 'peer-disconnected', peer, cause }),
    );
  }

  /**
   * Starts a node: binds the listener and builds the gossip core.
   * @throws {GttError} `INVALID_CONFIG` for bad options, `LISTEN_FAILED` when the port cannot be bound,
   *   `ABORTED` when `signal` aborts first (nothing is left open).
   */
  static async create(
    options: GossipOptions = {},
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<Gossip> {
    const o = parseGossipOptions(options);
    throwIfAborted(signal);
    const keyPair = o.keyPair ?? keyPairFromSeed(randomBytes(32));
    const suite = o.crypto ?? defaultSuite();
    const advertise = o.advertise?.map((a, i) => normalizeAddressAs(a, `advertise[${i}]`));
    const transport = await Transport.create({
      keyPair,
      listen: o.listen,
      advertise: (bound) => advertise ?? expandUnspecified(bound),
      config: options.transport,
      crypto: suite,
      firewall: o.firewall,
    });
    try {
      throwIfAborted(signal);
      return new Gossip(
        transport,
        keyPair,
        options.proto,
        o.topicBufferMessages,
        suite,
        advertise === undefined,
        {
          portMapping: o.portMapping === true ? {} : o.portMapping,
          listenHost: o.listen?.host,
        },
      );
    } catch (e) {
      await transport.close();
      throw e;
    }
  }

  /** The addresses this node advertises (dialable `{ host, port }`). */
  addresses(): Address[] {
    return this.#transport.addresses();
  }

  /**
   * Tells the node its host as the network outside sees it (`dht.externalAddress.host`: BEP 42
   * votes), or undefined when unknown; a host that is not public counts as unknown. While it is
   * known, dials leave out the private addresses of peers behind another NAT (PROTOCOL.md §9.8).
   * With `reachable` (others can reach us there: `dht.reachable`, a 1:1 NAT or a port forward), a
   * node that listens on no public address and was given no `advertise` advertises
   * `host:listenPort` first, before its own addresses (§9.7). Behind a NAT that lets nobody in it
   * does not: a dial to that address would only hold the dialer until its timeout.
   */
  setExternalHost(host: string | undefined, { reachable = false }: { reachable?: boolean } = {}): void {
    const external = host !== undefined && classifyHost(host) === 'public' ? canonicalHost(host) : undefined;
    this.#external = { host: external, reachable };
    if (external !== undefined) this.#startPortMapping();
    this.#updateAddresses();
  }

  /** The mapped public address, while the gateway grants one with a public external host. */
  #mappedAddress(): Address | undefined {
    const m = this.#mappers?.winner?.mapping;
    return m !== undefined && classifyHost(m.host) === 'public' ? { host: m.host, port: m.port } : undefined;
  }

  /**
   * Starts the port mapper once we know we are behind a NAT, if the options and the listener allow it
   * (see `GossipOptions.portMapping`).
   */
  #startPortMapping(): void {
    if (this.#portMapping === false || this.#mappers !== undefined || this.#closing !== undefined) return;
    const own = this.#ownAdvertised;
    const port = own[0]?.port;
    const bound = this.#listenHost === undefined ? 'invalid' : classifyHost(this.#listenHost);
    if (
      !this.#autoAdvertise ||
      port === undefined ||
      (bound !== 'private' && bound !== 'unspecified') ||
      own.some((a) => classifyHost(a.host) === 'public')
    ) {
      return;
    }
    let gateway = this.#portMapping.gateway;
    if (gateway === undefined) {
      // The default route's gateway, if it is on our LAN: a NAT-PMP or UPnP server is the LAN's router.
      const host = defaultGateway();
      if (host !== undefined && classifyHost(host) === 'private') gateway = { host, port: NAT_PMP_PORT };
    }
    if (gateway === undefined) {
      this.#mapperState = 'no-gateway';
      return;
    }
    const bindHost = bound === 'private' ? { bindHost: this.#listenHost! } : {};
    const m: Mappers = {
      natPmp: new PortMapper({ gateway, internalPort: port, ...bindHost }),
      upnp: new UpnpMapper({ gateway: gateway.host, internalPort: port, ...bindHost }),
    };
    this.#mappers = m;
    for (const [mine, other] of [
      [m.natPmp, m.upnp],
      [m.upnp, m.natPmp],
    ] as const) {
      mine.on('mapped', () => {
        if (m.winner === undefined) {
          // One mapping is enough: the other protocol's (if it mapped too, later) is deleted.
          m.winner = mine;
          void other.close();
        }
        if (m.winner === mine) this.#updateAddresses();
      });
      mine.on('lost', () => {
        if (m.winner === mine) this.#updateAddresses();
      });
    }
  }

  /**
   * Our external host for the transport's dial rule (§9.8: the DHT's, else the mapping's), and the
   * advertised list (§9.7): the mapped address, then `external:listenPort` when others reach us
   * there, then the listener's own addresses (unchanged with an `advertise` option).
   */
  #updateAddresses(): void {
    this.#transport.setExternalHost(this.#external.host ?? this.#mappedAddress()?.host);
    if (!this.#autoAdvertise) return;
    const own = this.#ownAdvertised;
    const port = own[0]?.port;
    const public_ = own.some((a) => classifyHost(a.host) === 'public');
    const { host: external, reachable } = this.#external;
    const list: Address[] = [];
    const mapped = this.#mappedAddress();
    if (mapped !== undefined && !public_) list.push(mapped);
    if (external !== undefined && reachable && port !== undefined && !public_) {
      if (!list.some((a) => a.host === external && a.port === port)) list.push({ host: external, port });
    }
    list.push(...own);
    const current = this.#transport.addresses();
    if (
      list.length === current.length &&
      list.every((a, i) => a.host === current[i]?.host && a.port === current[i]?.port)
    )
      return;
    this.#transport.setAdvertised(list);
    this.#node.setPeerData(this.#transport.extension);
    for (const fire of [...this.#addressWatches]) fire();
  }

  /**
   * Calls `fire` (synchronously, with no arguments) whenever `addresses()` changes: a port mapping was
   * granted or lost, an external address learned. Returns the unsubscribe function. The tracker uses
   * it to refresh records that advertise the old list.
   */
  watchAddresses(fire: () => void): () => void {
    if (typeof fire !== 'function') throw new TypeError('"fire" expected a function');
    this.#addressWatches.add(fire);
    return () => this.#addressWatches.delete(fire);
  }

  /** Counters (a snapshot of the core's and the transport's live objects). */
  get stats(): GossipStats {
    return {
      topics: this.#topics.size,
      timers: this.#timers.size,
      wireRejects: this.#wireRejects,
      badPeerData: this.#badPeerData,
      transport: this.#transport.stats,
      proto: this.#node.stats,
      portMapping: this.#portMappingStats(),
    };
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Subscribes to a topic and joins its swarm through `bootstrap` (none: wait to be joined, or call
   * `topic.joinPeers` later).
   * @throws {GttError} `CLOSED` after `close()`, `ALREADY_SUBSCRIBED` for a topic held already,
   *   `INVALID_CONFIG` for an unknown option.
   * @throws {TypeError|RangeError} for a bad topic id or peer.
   */
  subscribe(topicId: TopicId | Uint8Array, opts: { bootstrap?: readonly Peer[] } = {}): Topic {
    parseOptions(SubscribeOptionsSchema, opts, 'subscribe options');
    if (this.#closing !== undefined) throw GttError.closed('gossip');
    const key = (topicId instanceof TopicId ? topicId : TopicId.fromHash(topicId)).toHex();
    if (this.#topics.has(key)) throw new GttError('ALREADY_SUBSCRIBED', `already subscribed to ${key}`);
    const peers = this.#peerInfos(opts.bootstrap ?? []);
    const topic = new Topic(key, this.#driver);
    this.#topics.set(key, topic);
    this.#dispatch({ type: 'command', topic: key, command: { type: 'join', peers } });
    return topic;
  }

  /** The handle of a subscribed topic, if this node holds it. */
  topic(topicId: TopicId | Uint8Array): Topic | undefined {
    const key = (topicId instanceof TopicId ? topicId : TopicId.fromHash(topicId)).toHex();
    return this.#topics.get(key);
  }

  /** The addresses this node knows for `peer` (from records, joins and its handshake), newest first. */
  peerAddresses(peer: PeerId): Address[] {
    return this.#transport.addressesOf(peer);
  }

  /**
   * Whether joining `peer` in `topic` is under way: its connection is being set up (dialing or in its
   * handshake), or our JOIN or NEIGHBOR request to it awaits its answer.
   */
  isJoining(topic: TopicKey, peer: PeerId): boolean {
    return this.#transport.isDialing(peer) || this.#node.isRequesting(topic, peer);
  }

  /**
   * Bans `peer` (hex id or 32 bytes) on every topic: closes its connection now (its neighbours see
   * `neighbor-down`), forgets its addresses, and refuses it from then on, inbound and outbound, as the
   * `firewall` would (counted in `stats.transport.firewall`), until {@link unban}. Idempotent.
   * @throws {RangeError} for a bad id.
   */
  ban(peer: PeerId | Uint8Array): void {
    const id = peerIdOf(peer, 'peer');
    if (this.#closing !== undefined) return;
    this.#transport.block(id);
  }

  /**
   * Lifts a {@link ban}: the peer may connect and be dialed again (its addresses must be learned anew).
   * A ban the gossip core imposed for misbehaviour (PROTOCOL.md §8.7) stays until it ends.
   * @throws {RangeError} for a bad id.
   */
  unban(peer: PeerId | Uint8Array): void {
    this.#transport.unblock(peerIdOf(peer, 'peer'));
  }

  /** Whether `peer` is banned by {@link ban}. */
  isBanned(peer: PeerId): boolean {
    return this.#transport.isBlocked(peer);
  }

  /**
   * Calls `fire` once joining `peer` in `topic` is no longer under way (`isJoining` turned false: the
   * dial failed, or our request was answered or timed out), at once when it is not under way now.
   * Both change only while the actor runs an event (a failed dial reaches it as `peer-disconnected`),
   * so it is checked after each run: no polling. Returns the unsubscribe function; `close()` drops
   * every subscription unfired.
   */
  whenJoinSettled(topic: TopicKey, peer: PeerId, fire: () => void): () => void {
    if (this.#closing !== undefined) return () => {};
    if (!this.isJoining(topic, peer)) {
      fire();
      return () => {};
    }
    const w = { topic, peer, fire };
    this.#joinWatches.add(w);
    return () => this.#joinWatches.delete(w);
  }

  /**
   * Leaves every topic (DISCONNECT to each neighbour), closes every connection gracefully and the
   * listener, and stops every timer. Resolves when every socket is closed. Idempotent.
   */
  #portMappingStats(): PortMappingStats {
    const m = this.#mappers;
    if (m === undefined) return { state: this.#mapperState };
    const mapped = this.#mappedAddress();
    // Once one protocol won, the other is closed (its stats say so) and only the winner counts.
    const asked = m.winner === undefined ? [m.natPmp, m.upnp] : [m.winner];
    const state =
      m.winner?.mapping !== undefined
        ? 'mapped'
        : asked.every((x) => x.state === 'unavailable')
          ? 'unavailable'
          : 'asking';
    return {
      state,
      ...(m.winner === undefined ? {} : { protocol: m.winner === m.natPmp ? 'nat-pmp' : 'upnp' }),
      ...(mapped === undefined ? {} : { address: mapped }),
      natPmp: m.natPmp.stats,
      upnp: m.upnp.stats,
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown(false);
    return this.#closing;
  }

  /** Crash: destroy every socket with no DISCONNECT or CLOSE, stop every timer. @internal */
  [kCrash](): Promise<void> {
    this.#closing ??= this.#shutdown(true);
    return this.#closing;
  }

  async #shutdown(abrupt: boolean): Promise<void> {
    for (const [key, topic] of [...this.#topics]) {
      if (abrupt) this.#handlers.get(key)?.end();
      else topic.leave();
    }
    this.#topics.clear();
    this.#handlers.clear();
    this.#timers.close();
    this.#inbox.length = 0;
    this.#joinWatches.clear();
    // The mapping is deleted alongside the transport's goodbyes (a crash does not wait for it).
    const m = this.#mappers;
    this.#mappers = undefined;
    const unmapped = m === undefined ? undefined : Promise.all([m.natPmp.close(), m.upnp.close()]);
    if (abrupt) await this.#transport.destroy();
    else await this.#transport.close();
    if (!abrupt) await unmapped;
  }

  #peerInfos(peers: readonly Peer[]): PeerInfo[] {
    if (!Array.isArray(peers)) throw new TypeError('"peers" expected an array');
    return peers.map((p, i) => {
      const id = peerIdOf(p.id, `peers[${i}].id`);
      const addresses = ((p.addresses ?? []) as unknown[]).map((a, j) =>
        normalizeAddressAs(a, `peers[${i}].addresses[${j}]`),
      );
      // The core passes a peer's data on to others (shuffles): only what our address policy allows.
      const allowed = this.#transport.addAddresses(id, addresses);
      return { id, data: encodeAddressList(allowed) };
    });
  }

  /**
   * A frame from `peer`. The core's first checks (PROTOCOL.md §8.7: not banned, within budget, which
   * is charged) run on its size before it is decoded, so that a flood costs no decoding (an IHAVE of
   * 1,900 entries is 1,900 hex strings); a frame over budget is dropped undecoded and the peer is not
   * read from until its budget holds the frame again, so the flood waits in its own socket.
   */
  #onFrame(peer: PeerId, bytes: Uint8Array): void {
    if (this.#closing !== undefined) return;
    // Socket events never arrive while the actor runs; if one did, `handle` charges it in turn.
    const charged = !this.#running;
    if (charged) {
      const c = this.#node.chargeFrame(peer, bytes.length, now());
      if (!c.ok) {
        if (c.pauseMs > 0) this.#transport.pause(peer, c.pauseMs);
        if (c.out.length > 0) this.#run(c.out);
        return;
      }
    }
    const plum = this.#node.config.plumtree;
    const r = decodeFrame(bytes, {
      maxMessageBytes: plum.maxMessageBytes,
      maxPeerDataBytes: this.#node.config.hyparview.maxPeerDataBytes,
    });
    if (!r.ok) {
      this.#wireRejects[r.reason] = (this.#wireRejects[r.reason] ?? 0) + 1;
      return;
    }
    this.#dispatch({
      type: 'recv',
      from: peer,
      topic: r.topic,
      message: r.message,
      size: bytes.length,
      charged,
    });
  }

  /**
   * A protocol timer is due. A JOIN or NEIGHBOR request's timeout (`neighborRequestTimeoutMs`, 500 ms)
   * is meant for a peer that does not answer, so it counts from when the connection is open: while
   * the dial to that peer is still connecting or handshaking it is put off by the same delay again
   * (the dial ends by itself: open, or failed after `handshakeTimeoutMs` per address, which reaches
   * the core as `peer-disconnected`). Measured in bench:join, 50 peers at once on one loaded process:
   * dial to neighbour took ~1.5 s, so requests timed out mid-handshake; the core then released the
   * link, and the peers dialed again.
   */
  #onTimer(t: { topic: TopicKey; timer: Timer }): void {
    if (t.timer.type === 'neighbor-timeout' && this.#transport.isDialing(t.timer.peer)) {
      this.#timers.schedule(this.#node.config.hyparview.neighborRequestTimeoutMs, t);
      return;
    }
    this.#dispatch({ type: 'timer-expired', ...t });
  }

  /** Queues an in-event and, unless already running, runs the inbox to empty. */
  #dispatch(event: InEvent): void {
    if (this.#closing !== undefined && event.type !== 'command') return;
    this.#inbox.push(event);
    if (this.#running) return;
    this.#run([]);
  }

  /** Executes `first` (out-events the core returned outside `handle`), then runs the inbox to empty. */
  #run(first: readonly OutEvent[]): void {
    this.#running = true;
    try {
      for (const o of first) this.#execute(o);
      for (let i = 0; i < this.#inbox.length; i++) {
        const out = this.#node.handle(this.#inbox[i]!, now(), Date.now());
        for (const o of out) this.#execute(o);
      }
    } finally {
      this.#inbox.length = 0;
      this.#running = false;
      this.#encoded = undefined;
    }
    if (this.#joinWatches.size > 0) this.#settleJoins();
  }

  /** Fires the `whenJoinSettled` subscriptions whose join is no longer under way. */
  #settleJoins(): void {
    for (const w of [...this.#joinWatches]) {
      if (!this.#joinWatches.has(w) || this.isJoining(w.topic, w.peer)) continue;
      this.#joinWatches.delete(w);
      w.fire();
    }
  }

  /**
   * The frame of `message`. A payload goes to every eager neighbour as one message object (PlumTree's
   * forward), so the last one encoded in this run is reused: the same bytes, encoded once.
   */
  #encode(topic: TopicKey, message: Message): Uint8Array {
    const last = this.#encoded;
    if (last !== undefined && last.message === message && last.topic === topic) return last.bytes;
    const bytes = encodeFrame(topic, message);
    this.#encoded = { topic, message, bytes };
    return bytes;
  }

  #execute(o: OutEvent): void {
    switch (o.type) {
      case 'send': {
        let addresses: Address[] | undefined;
        if (o.data !== undefined && o.data.length > 0) {
          const list = decodeAddressList(o.data);
          if (!list.ok) this.#badPeerData++;
          addresses = list.addresses;
        }
        this.#transport.send(o.to, this.#encode(o.topic, o.message), addresses);
        break;
      }
      case 'emit': {
        const handlers = this.#handlers.get(o.topic);
        if (handlers === undefined) break;
        try {
          handlers.deliver(o.event);
        } catch (e) {
          // An application listener threw: surface it like an EventEmitter would, without leaving
          // the actor half-way through the core's out-events.
          process.nextTick(() => {
            throw e;
          });
        }
        break;
      }
      case 'schedule-timer':
        this.#timers.schedule(o.delayMs, { topic: o.topic, timer: o.timer });
        break;
      case 'disconnect-peer':
        this.#transport.disconnect(o.peer);
        break;
      case 'ban-peer':
        // The core already dropped the peer from every view; the transport closes its connection
        // (reading no more of it) and refuses it (handshakes and dials) until the ban expires.
        this.#transport.ban(o.peer, o.durationMs);
        break;
      default:
        assertNever(o);
    }
  }
}

/** A listener bound to 0.0.0.0 / :: advertises the machine's external IPv4 addresses (or loopback). */
function expandUnspecified(bound: Address): Address[] {
  if (bound.host !== '0.0.0.0' && bound.host !== '::') return [bound];
  const out: Address[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) {
      if (ni.family === 'IPv4' && !ni.internal) out.push({ host: ni.address, port: bound.port });
    }
  }
  return out.length > 0 ? out : [{ host: '127.0.0.1', port: bound.port }];
}
