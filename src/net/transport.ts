/**
 * The connection table (PROTOCOL.md §9.7): a WebSocket listener, a dialer, and at most one open
 * connection per peer, shared by every topic. It knows nothing of gossip: it moves GOSSIP frame bodies
 * between peers and reports peers it lost or could not reach.
 *
 * - **Dials** try a peer's known addresses in order; frames sent meanwhile wait in the peer's queue
 *   (bounded by `maxSendQueueBytes`). A dial that runs out of addresses is reported as
 *   `peer-disconnected` with cause `dial-failed` and the last close reason.
 * - **Simultaneous dials**: when a second connection to a peer opens, both sides keep the one dialed
 *   by the smaller id (byte order of the hex ids), or the newer one when the same side dialed both (the
 *   older is then a stale link the dialer already gave up). The other is closed gracefully as
 *   `duplicate`; frames already on it are still delivered.
 * - **Connection manager** (`conn-manager.ts`, PROTOCOL.md §9.8): every socket holds a slot from TCP
 *   accept (inbound) or dial (outbound) until it closes; open plus pending slots never exceed
 *   `maxConnections`, with caps per IP and per prefix, accept rates (per IP at accept; in all when a
 *   handshake starts), short timeouts for the HTTP upgrade (`upgradeTimeoutMs`) and for the dialer's
 *   first message (`firstMessageTimeoutMs`), and eviction of idle topicless connections and of the
 *   pending socket longest without progress to admit newcomers. Open
 *   connections no topic uses (the injected `inUse`) are closed after `topiclessGraceMs`.
 * - **Address policy** (`src/crypto/address-policy.ts`): every address learned from the network is
 *   checked before it enters the address book and again before it is dialed; host names are resolved
 *   at dial time and each result checked. The book is an LRU of `maxAddressBookPeers` peers.
 * - **Dial bounds** (`limits.ts`): dials per address per minute and exponential back-off after
 *   failures; a dial refused by them, by the policy or by a ban fails at once as `dial-failed`.
 * - **Bans**: `ban(peer, ms)` closes the peer's connections and refuses it until the ban ends.
 * - **Application gate**: the app's `firewall` and its `block`ed peers are asked where the remote's
 *   id is known: when a handshake proved it (`#onOpen`, both directions, before the connection is
 *   linked or reported) and before each address of a dial (`#nextAddress`). A refusal closes with
 *   CLOSE `"banned"` or opens no socket; a firewall that throws refuses (ARCHITECTURE.md).
 *
 * The listener is our own `http.Server` (its `headersTimeout`/`requestTimeout` bound slow clients)
 * with a `noServer` WebSocketServer for the upgrade; the manager sees each socket at accept, before
 * any byte is parsed, so a refused socket costs one accept and one close.
 */
import { randomBytes } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { EventEmitter } from 'eventemitter3';
import { WebSocket, WebSocketServer } from 'ws';
import type { Address } from '../crypto/address.js';
import { formatAddress } from '../crypto/address.js';
import {
  type AddressPolicy,
  type AddressRejectReason,
  canonicalHost,
  checkAddress,
  classifyHost,
  dialOrder,
  netGroup,
  resolvePolicy,
} from '../crypto/address-policy.js';
import type { KeyPair } from '../crypto/keys.js';
import { AEAD_TAG_BYTES, type CryptoSuite } from '../crypto/suite.js';
import { GttError } from '../errors.js';
import { defaultSuite } from '../native/crypto.js';
import type { DisconnectCause, PeerId } from '../proto/types.js';
import { encodeAddressList } from './addresses.js';
import type { CloseInfo, CloseReason, ConnectionCounters } from './close.js';
import {
  MAX_RESOLVED_ADDRESSES,
  parseTransportConfig,
  type TransportConfig,
  type TransportOptions,
} from './config.js';
import { type AdmitRefusal, ConnectionManager, type Slot } from './conn-manager.js';
import { Connection } from './connection.js';
import { MAX_HANDSHAKE_MESSAGE_BYTES } from './handshake.js';
import { BanList, DialBounds, type DialRefusal } from './limits.js';

/**
 * Why a dial failed before any socket: the peer is banned, the application refused it (its
 * `firewall` or `block`), the address's dial bounds, or (`other-lan`) a private address of a peer
 * behind another NAT than ours (`dialOrder` in src/crypto/address-policy.ts, PROTOCOL.md §9.8).
 */
export type DialRefusalReason = DialRefusal | 'banned' | 'firewall' | 'other-lan';

/** What an application firewall is asked about: a peer whose id a handshake proved, or that we would dial. */
export interface FirewallPeer {
  /** The peer's id: its ed25519 public key, 64 lower-case hex characters. */
  id: string;
  /** The socket's remote address (a connection), or the address about to be dialed. */
  address?: Address;
}

/**
 * The application's access control, Hyperswarm's `firewall` turned to ids: return `true` to refuse
 * the peer. Asked for every connection once its handshake proved the remote's id (inbound and
 * outbound), and before each address of a dial to a peer whose id we know. Synchronous; a callback
 * that throws (or returns anything truthy, a Promise included) refuses.
 */
export type Firewall = (peer: FirewallPeer) => boolean;

/** Refusals of the application (`firewall` and `block`), counted in {@link TransportStats.firewall}. */
export interface FirewallStats {
  /** Inbound connections closed once their handshake proved a refused id. */
  inbound: number;
  /** Outbound connections closed at their handshake's end (refused since the dial started). */
  outbound: number;
  /** Dial addresses skipped before any socket (a dial with none left fails with reason `banned`). */
  dials: number;
  /** Calls of the firewall that threw (each is a refusal too, counted above). */
  errors: number;
}

/** Why an admitted inbound socket was dropped before its WebSocket upgrade. */
export type UpgradeFailure =
  /** No finished upgrade within `upgradeTimeoutMs` of the TCP accept (slow or silent client). */
  | 'timeout'
  /** Dropped to admit a newcomer to a full HTTP stage (`maxPendingUpgrades`), or to a full table. */
  | 'evicted'
  /** A plain HTTP request (answered 426). */
  | 'not-websocket'
  /** An upgrade request the WebSocket server refused, or an HTTP parse error. */
  | 'bad-request';

/** Counters of a {@link Transport}. */
export interface TransportStats extends ConnectionCounters {
  /** Open connections. */
  connections: number;
  /**
   * Connections still in their handshake (inbound and outbound), read live: one closed by us (evicted,
   * timed out) stops counting at once, not when its socket's close event comes.
   */
  readonly handshaking: number;
  /** Inbound sockets admitted and not open yet: HTTP upgrade or handshake not done. */
  readonly pending: number;
  /** Peers being dialed (a dial may try several addresses). */
  pendingDials: number;
  dialsStarted: number;
  dialsFailed: number;
  /** Sockets opened by dials (one per address tried). */
  dialAttempts: number;
  /** Addresses a dial skipped before any socket, by reason (the dial fails if none is left). */
  dialsRefused: Partial<Record<DialRefusalReason, number>>;
  /** Host names resolved at dial time, and resolutions that failed or timed out. */
  dnsLookups: number;
  dnsFailures: number;
  /** Inbound WebSockets accepted (upgrade done). */
  inboundAccepted: number;
  /**
   * Inbound sockets refused (by reason in `refused`): at accept (table full or any other limit), at
   * the upgrade when every pending handshake is under way (`pending-full`), or when their Noise
   * message 1 arrived over the total accept rate (`accept-rate`, closed as `max-connections`).
   */
  inboundRefused: number;
  refused: Partial<Record<AdmitRefusal, number>>;
  /** Admitted inbound sockets dropped before their upgrade, by reason. */
  upgradeFailures: Partial<Record<UpgradeFailure, number>>;
  /** Slots freed for newcomers: idle open connections (`closed.evicted`) and stalled pending sockets. */
  readonly evictions: number;
  /** Addresses refused by the address policy (when stored and when dialed), by reason. */
  addressRejects: Partial<Record<AddressRejectReason, number>>;
  /** Peers in the address book, and peers dropped from it to respect `maxAddressBookPeers`. */
  readonly addressBookPeers: number;
  addressBookEvictions: number;
  /** Entries in the ban list. */
  readonly bans: number;
  /** Peers blocked by the application (`block`). */
  readonly blocked: number;
  /** Connections and dials the application refused (`firewall` option, `block`). */
  firewall: FirewallStats;
  /** Frames refused by a full send queue (dial queue or socket buffer). */
  sendQueueOverflows: number;
  /** Frames dropped because their dial failed. */
  droppedOnDialFailure: number;
  /** Connections closed, by reason. */
  closed: Partial<Record<CloseReason, number>>;
  /** Handshake refusals, by reason. */
  handshakeFailures: Record<string, number>;
}

/** Events of a {@link Transport}. */
export interface TransportEvents {
  /** A connection to `peer` opened; `extension` is its identity extension. */
  'peer-connected': (peer: PeerId, extension: Uint8Array) => void;
  /** A GOSSIP frame body from `peer`. */
  message: (peer: PeerId, bytes: Uint8Array) => void;
  /**
   * The connection to `peer` was lost, or a dial to it failed. Not emitted for connections we closed
   * on purpose (`disconnect`, duplicates, shutdown).
   */
  'peer-disconnected': (peer: PeerId, cause: DisconnectCause, info: CloseInfo) => void;
  /** A frame did not fit a send queue (also counted). */
  overflow: (peer: PeerId, bytes: number) => void;
}

/** Options of {@link Transport.create}. */
export interface TransportCreateOptions {
  keyPair: KeyPair;
  /** Where to listen; null for a node that only dials. */
  listen: { host: string; port: number } | null;
  /** Addresses to advertise; default: the listener's address (see `Gossip.addresses`). */
  advertise?: (bound: Address) => Address[];
  config?: TransportOptions;
  /** Crypto of every handshake and frame; default `defaultSuite()` (OpenSSL on Node). */
  crypto?: CryptoSuite | undefined;
  /**
   * Whether a topic uses `peer` (the gossip core's `isConnected`). Open connections it says no to are
   * closed after `topiclessGraceMs` and go first when the table is full. Default: every peer is in
   * use (a transport without a gossip core closes nothing for being idle). See also `setInUse`.
   */
  inUse?: ((peer: PeerId) => boolean) | undefined;
  /** The application's firewall (see {@link Firewall}); default: none, every peer is let in. */
  firewall?: Firewall | undefined;
  /** Host name resolver (default `dns.promises.lookup(host, { all: true })`); for tests. @internal */
  lookup?: ((host: string) => Promise<readonly { address: string; family: number }[]>) | undefined;
}

/** One address a dial may try; `key` is what its dial bounds count (the name, for a resolved IP). */
interface DialTarget {
  address: Address;
  key: string;
  resolved: boolean;
}

interface Dial {
  targets: DialTarget[];
  index: number;
  conn: Connection | undefined;
  last: CloseInfo | undefined;
  /** A host name of this dial is being resolved. */
  resolving: boolean;
}

/** An admitted inbound socket before its WebSocket upgrade. */
interface PendingSocket {
  socket: Socket;
  slot: Slot<Owner>;
  remote: Address;
  timer: NodeJS.Timeout;
  upgraded: boolean;
}

/** What a slot holds: an inbound socket, then the Connection; undefined while a dial sets up. */
type Owner = Connection | Duplex | undefined;

interface PeerLink {
  /** The open connection frames go out on. */
  conn: Connection | undefined;
  dial: Dial | undefined;
  queue: Uint8Array[];
  queuedBytes: number;
  /** Set while a released connection lingers (see `releaseLingerMs`). */
  linger: NodeJS.Timeout | undefined;
}

const now = (): number => performance.now();

const NO_ADDRESS: CloseInfo = { reason: 'socket-error', detail: 'no address', established: false };

/** Key of an address in the dial bounds (hosts are canonical). */
const keyOf = (a: Address): string => `${a.host}|${a.port}`;

/** Close reasons of a failed dial that are not the remote's fault: no back-off for them. */
const OUR_OWN: ReadonlySet<CloseReason> = new Set<CloseReason>([
  'local',
  'send-queue-overflow',
  'banned',
  'evicted',
  'duplicate',
]);

const defaultLookup = (host: string) => dns.lookup(host, { all: true, verbatim: true });

function bump<K extends string>(m: Partial<Record<K, number>>, k: K, n = 1): void {
  m[k] = (m[k] ?? 0) + n;
}

/** Smaller-id-wins order of two hex ids (lower-case hex compares like the bytes). */
const less = (a: string, b: string): boolean => a < b;

/** The WebSocket transport. */
export class Transport extends EventEmitter<TransportEvents> {
  /** This node's id (hex). */
  readonly id: PeerId;
  readonly config: TransportConfig;
  readonly stats: TransportStats;
  readonly #stats: Omit<
    TransportStats,
    'handshaking' | 'pending' | 'evictions' | 'addressBookPeers' | 'bans' | 'blocked'
  > = {
    connections: 0,
    pendingDials: 0,
    dialsStarted: 0,
    dialsFailed: 0,
    dialAttempts: 0,
    dialsRefused: {},
    dnsLookups: 0,
    dnsFailures: 0,
    inboundAccepted: 0,
    inboundRefused: 0,
    refused: {},
    upgradeFailures: {},
    addressRejects: {},
    addressBookEvictions: 0,
    sendQueueOverflows: 0,
    droppedOnDialFailure: 0,
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    pingsOut: 0,
    readPauses: 0,
    closed: {},
    handshakeFailures: {},
    firewall: { inbound: 0, outbound: 0, dials: 0, errors: 0 },
  };
  readonly #keyPair: KeyPair;
  readonly #suite: CryptoSuite;
  readonly #static = randomBytes(32);
  #extension: Uint8Array = new Uint8Array(0);
  #advertised: Address[] = [];
  /** Our host as others see it (`setExternalHost`): decides which private addresses we dial. */
  #externalHost: string | undefined;
  #server: Server | undefined;
  #wss: WebSocketServer | undefined;
  readonly #all = new Set<Connection>();
  readonly #links = new Map<PeerId, PeerLink>();
  /** Peer → addresses, newest first; Map order is LRU order (oldest first). */
  readonly #book = new Map<PeerId, Address[]>();
  readonly #manager: ConnectionManager<Owner>;
  readonly #dialBounds: DialBounds;
  readonly #bans: BanList;
  /**
   * Peers the application blocked (`block`): refused like a ban, until `unblock`. Filled by the
   * application only, never by the network, so it has no cap of its own.
   */
  readonly #blocked = new Set<PeerId>();
  readonly #firewall: Firewall | undefined;
  /** Connections refused at open: not linked, and whatever they still deliver is dropped. */
  readonly #refused = new WeakSet<Connection>();
  readonly #dialKeys = new WeakMap<Connection, string>();
  readonly #pendingSockets = new Map<Duplex, PendingSocket>();
  /** DNS timeouts in flight (cleared on close). */
  readonly #timers = new Set<NodeJS.Timeout>();
  #sweep: NodeJS.Timeout | undefined;
  #inUse: (peer: PeerId) => boolean;
  readonly #lookup: NonNullable<TransportCreateOptions['lookup']>;
  /** The host we listen on (undefined without a listener). */
  #listenHost: string | undefined;
  /** This node's own hosts, canonical: peers on them are exempt from per-IP/per-prefix limits. */
  #ownHosts: string[] = [];
  #policy: AddressPolicy = { loopback: false, private: false };
  #closing: Promise<void> | undefined;

  private constructor(
    keyPair: KeyPair,
    config: TransportConfig,
    suite: CryptoSuite,
    opts: TransportCreateOptions,
  ) {
    super();
    this.#keyPair = keyPair;
    this.#suite = suite;
    this.id = bytesToHex(keyPair.publicKey);
    this.config = config;
    this.#inUse = opts.inUse ?? (() => true);
    this.#firewall = opts.firewall;
    this.#lookup = opts.lookup ?? defaultLookup;
    this.#manager = new ConnectionManager<Owner>(config, (slot) => this.#idle(slot), now());
    this.#dialBounds = new DialBounds({
      perMinute: config.maxDialsPerAddressPerMinute,
      backoffBaseMs: config.dialBackoffBaseMs,
      backoffMaxMs: config.dialBackoffMaxMs,
      maxStates: config.maxDialAddressStates,
    });
    this.#bans = new BanList(config.maxBans);
    const manager = this.#manager;
    const book = this.#book;
    const bans = this.#bans;
    const blocked = this.#blocked;
    const all = this.#all;
    // Gauges read live from their structures; the rest are plain counters.
    this.stats = Object.defineProperties(this.#stats as unknown as TransportStats, {
      handshaking: {
        get: () => {
          let n = 0;
          for (const c of all) if (c.state === 'handshaking') n++;
          return n;
        },
        enumerable: true,
      },
      pending: { get: () => manager.pendingInbound, enumerable: true },
      evictions: { get: () => manager.evictions, enumerable: true },
      addressBookPeers: { get: () => book.size, enumerable: true },
      bans: { get: () => bans.size, enumerable: true },
      blocked: { get: () => blocked.size, enumerable: true },
    });
  }

  /**
   * Starts a transport, listening when `listen` is given.
   * @throws {GttError} `INVALID_CONFIG` for bad options, `LISTEN_FAILED` when the port cannot be bound.
   */
  static async create(opts: TransportCreateOptions): Promise<Transport> {
    const t = new Transport(
      opts.keyPair,
      parseTransportConfig(opts.config),
      opts.crypto ?? defaultSuite(),
      opts,
    );
    if (opts.listen !== null) {
      const bound = await t.#listen(opts.listen);
      t.#listenHost = bound.host;
      t.setAdvertised(opts.advertise?.(bound) ?? [bound]);
    }
    const grace = t.config.topiclessGraceMs;
    t.#sweep = setInterval(() => t.#sweepUnused(), Math.max(25, Math.floor(grace / 4)));
    t.#sweep.unref();
    return t;
  }

  /** Sets the `inUse` predicate (see {@link TransportCreateOptions.inUse}). */
  setInUse(inUse: (peer: PeerId) => boolean): void {
    this.#inUse = inUse;
  }

  /** The addresses this node advertises. */
  addresses(): Address[] {
    return this.#advertised.map((a) => ({ ...a }));
  }

  /**
   * Sets the advertised addresses (sent in every later handshake's extension). Not filtered by the
   * address policy: they are the user's own; they decide the `'auto'` settings of the policy.
   */
  setAdvertised(addresses: Address[]): void {
    this.#advertised = addresses.map((a) => ({ ...a }));
    this.#extension = encodeAddressList(this.#advertised);
    this.#refreshPolicy();
  }

  /**
   * Our host as the network outside sees it (the DHT's BEP 42 external address), or undefined when
   * unknown. While it is known, dials leave out the private addresses of peers behind another NAT
   * (`dialOrder`, PROTOCOL.md §9.8).
   */
  setExternalHost(host: string | undefined): void {
    this.#externalHost = host;
  }

  /** The address policy in force (the `'auto'` settings resolved). */
  get addressPolicy(): AddressPolicy {
    return { ...this.#policy };
  }

  /** Own hosts and the `'auto'` policy from the listener's host and the advertised addresses. */
  #refreshPolicy(): void {
    const own = new Set<string>();
    const mine: string[] = [];
    const add = (host: string): void => {
      const c = canonicalHost(host);
      if (c === undefined) return;
      own.add(c);
      mine.push(c);
    };
    if (this.#listenHost !== undefined) {
      if (classifyHost(this.#listenHost) !== 'unspecified') add(this.#listenHost);
      else {
        // Bound to every interface: a peer on any of them is on this machine.
        for (const list of Object.values(networkInterfaces()))
          for (const ni of list ?? []) {
            const c = canonicalHost(ni.address);
            if (c !== undefined) own.add(c);
          }
      }
    }
    for (const a of this.#advertised) add(a.host);
    this.#ownHosts = [...own];
    this.#policy = resolvePolicy(mine, this.config.addressPolicy);
  }

  /** The advertised addresses, encoded (the gossip peer data). */
  get extension(): Uint8Array {
    return this.#extension;
  }

  /**
   * Remembers addresses to dial `peer` at (newest first, deduplicated, at most
   * `maxAddressesPerPeer`), keeping only those the address policy allows (refusals are counted in
   * `stats.addressRejects`). Returns the addresses kept, canonical.
   */
  addAddresses(peer: PeerId, addresses: readonly Address[]): Address[] {
    return this.#store(peer, addresses).accepted;
  }

  #store(
    peer: PeerId,
    addresses: readonly Address[],
  ): { accepted: Address[]; refusal: AddressRejectReason | undefined } {
    const accepted: Address[] = [];
    let refusal: AddressRejectReason | undefined;
    if (peer === this.id || this.#blocked.has(peer) || this.#bans.isBanned(peer, now()))
      return { accepted, refusal };
    for (const a of addresses) {
      const v = checkAddress(a, this.#policy);
      if (!v.ok) {
        bump(this.#stats.addressRejects, v.reason);
        refusal ??= v.reason;
        continue;
      }
      accepted.push({ host: canonicalHost(a.host)!, port: a.port });
    }
    if (accepted.length === 0) return { accepted, refusal };
    const old = this.#book.get(peer) ?? [];
    const seen = new Set<string>();
    const merged: Address[] = [];
    for (const a of [...accepted, ...old]) {
      const k = keyOf(a);
      if (seen.has(k)) continue;
      seen.add(k);
      merged.push({ host: a.host, port: a.port });
      if (merged.length === this.config.maxAddressesPerPeer) break;
    }
    this.#book.delete(peer); // most recently used now
    this.#book.set(peer, merged);
    this.#trimBook(peer);
    return { accepted, refusal };
  }

  /** Drops the least recently used peers without a live link or dial over `maxAddressBookPeers`. */
  #trimBook(keep: PeerId): void {
    while (this.#book.size > this.config.maxAddressBookPeers) {
      let victim: PeerId | undefined;
      for (const p of this.#book.keys()) {
        if (p !== keep && !this.#links.has(p)) {
          victim = p;
          break;
        }
      }
      // Every other peer has a link (bounded by the table): the newcomer waits for a later chance.
      victim ??= this.#links.has(keep) ? undefined : keep;
      if (victim === undefined) return;
      this.#book.delete(victim);
      this.#stats.addressBookEvictions++;
    }
  }

  /** The addresses known for `peer`, newest first (copies). */
  addressesOf(peer: PeerId): Address[] {
    return (this.#book.get(peer) ?? []).map((a) => ({ host: a.host, port: a.port }));
  }

  /** Whether an open connection to `peer` exists. */
  isConnected(peer: PeerId): boolean {
    return this.#links.get(peer)?.conn !== undefined;
  }

  /** Whether a dial to `peer` is under way (connecting or handshaking) with no open connection yet. */
  isDialing(peer: PeerId): boolean {
    const link = this.#links.get(peer);
    return link !== undefined && link.conn === undefined && link.dial !== undefined;
  }

  /** Who dialed the open connection to `peer` (this node's id or the peer's); undefined when none. */
  dialer(peer: PeerId): PeerId | undefined {
    const conn = this.#links.get(peer)?.conn;
    if (conn === undefined) return undefined;
    return conn.role === 'initiator' ? this.id : peer;
  }

  /** Peers with an open connection. */
  peers(): PeerId[] {
    return [...this.#links].filter(([, l]) => l.conn !== undefined).map(([p]) => p);
  }

  /** The remote IP address and port of the open connection to `peer` (a copy), if any. */
  remoteAddress(peer: PeerId): Address | undefined {
    const r = this.#links.get(peer)?.conn?.remote;
    return r === undefined ? undefined : { host: r.host, port: r.port };
  }

  /**
   * The network group of `peer` (`netGroup` of src/crypto/address-policy.ts: its /24 or /48) from the
   * open connection's remote address, else from its first address in the book. Undefined for a peer
   * on one of this node's own hosts (exempt from per-prefix limits) and for a peer with no known
   * address. The gossip core's address-diversity rule reads it.
   */
  netGroupOf(peer: PeerId): string | undefined {
    const host = this.#links.get(peer)?.conn?.remote?.host ?? this.#book.get(peer)?.[0]?.host;
    return host === undefined ? undefined : netGroup(host, this.#ownHosts);
  }

  /**
   * Bans `peer` for `durationMs`: closes every connection to it (reported as `banned`), drops its
   * queued frames and addresses, fails its dial, refuses it after its handshake proves its id, and
   * fails every later dial to it at once (`dial-failed`, reason `banned`), until the ban ends. A
   * later ban extends an earlier one; a duration that is not a positive number is ignored. The ban
   * list holds at most `maxBans` peers.
   */
  ban(peer: PeerId, durationMs: number): void {
    if (peer === this.id || this.#closing !== undefined || !(durationMs > 0)) return;
    const t = now();
    this.#bans.ban(peer, t + durationMs, t);
    this.#cut(peer);
  }

  /**
   * Blocks `peer` for the application (`Gossip.ban`): what {@link ban} does, with no end and no cap,
   * until {@link unblock}. Its refusals are counted in `stats.firewall`.
   */
  block(peer: PeerId): void {
    if (peer === this.id || this.#closing !== undefined) return;
    this.#blocked.add(peer);
    this.#cut(peer);
  }

  /** Lets a blocked peer in again (a ban of the core's stays). */
  unblock(peer: PeerId): void {
    this.#blocked.delete(peer);
  }

  /** Whether the application blocked `peer`. */
  isBlocked(peer: PeerId): boolean {
    return this.#blocked.has(peer);
  }

  /**
   * Whether the application refuses `peer` (at `address`): blocked, or its firewall says so. A
   * firewall that throws refuses: its error never reaches the socket event that asked.
   */
  #refuses(peer: PeerId, address: Address | undefined): boolean {
    if (this.#blocked.has(peer)) return true;
    const firewall = this.#firewall;
    if (firewall === undefined) return false;
    try {
      const a = address === undefined ? undefined : { host: address.host, port: address.port };
      return Boolean(firewall(a === undefined ? { id: peer } : { id: peer, address: a }));
    } catch {
      this.#stats.firewall.errors++;
      return true;
    }
  }

  /** Drops everything of `peer`: addresses, queued frames, its dial and its connections (`banned`). */
  #cut(peer: PeerId): void {
    this.#book.delete(peer);
    const link = this.#links.get(peer);
    if (link !== undefined) {
      this.#stopLinger(link);
      link.queue = [];
      link.queuedBytes = 0;
      const dial = link.dial;
      if (dial !== undefined) {
        const conn = dial.conn;
        dial.conn = undefined;
        dial.index = dial.targets.length;
        conn?.destroy('banned');
        if (link.conn === undefined) this.#failDial(peer, link, { reason: 'banned', established: false });
        else this.#endDial(link);
      }
      // Still linked: its close is reported as lost (cause `error`).
      link.conn?.close('banned');
    }
    for (const c of this.#all) if (c.remoteId === peer && c !== link?.conn) c.destroy('banned');
  }

  /** Whether `peer` is banned now. */
  isBanned(peer: PeerId): boolean {
    return this.#bans.isBanned(peer, now());
  }

  /**
   * Stops reading from `peer`'s connection for `ms` (`Connection.pause`: at most `MAX_READ_PAUSE_MS`),
   * e.g. while it is over its budget (PROTOCOL.md §8.7): TCP back-pressure then slows the sender down
   * and its flood costs us nothing meanwhile. No-op without an open connection.
   */
  pause(peer: PeerId, ms: number): void {
    this.#links.get(peer)?.conn?.pause(ms);
  }

  /**
   * Sends a GOSSIP frame body to `peer`, dialing it first when needed (at `addresses`, else at what
   * the address book knows). Failures come back as events, never as exceptions.
   */
  send(peer: PeerId, bytes: Uint8Array, addresses?: readonly Address[]): void {
    if (this.#closing !== undefined || peer === this.id) return;
    const refusal = addresses === undefined ? undefined : this.#store(peer, addresses).refusal;
    const link = this.#link(peer);
    this.#stopLinger(link);
    if (link.conn !== undefined) {
      const r = link.conn.send(bytes);
      if (r !== 'closed') return;
    }
    if (link.queuedBytes + bytes.length > this.config.maxSendQueueBytes) {
      this.#overflow(peer, bytes.length);
      return;
    }
    link.queue.push(bytes);
    link.queuedBytes += bytes.length;
    if (link.dial === undefined && link.conn === undefined) this.#dial(peer, link, refusal);
  }

  /** Closes the connection to `peer` gracefully after the frames already sent. Not reported as lost. */
  disconnect(peer: PeerId): void {
    const link = this.#links.get(peer);
    if (link === undefined) return;
    if (link.conn !== undefined && this.config.releaseLingerMs > 0) {
      // Keep it idle for a while: the core often needs the peer again soon (repair, shuffle).
      if (link.linger === undefined) {
        link.linger = setTimeout(() => {
          link.linger = undefined;
          this.#release(peer, link);
        }, this.config.releaseLingerMs);
        link.linger.unref();
      }
      return;
    }
    this.#release(peer, link);
  }

  #stopLinger(link: PeerLink): void {
    if (link.linger !== undefined) clearTimeout(link.linger);
    link.linger = undefined;
  }

  #release(peer: PeerId, link: PeerLink): void {
    const conn = link.conn;
    link.conn = undefined;
    conn?.close('local');
    this.#gc(peer, link);
  }

  /**
   * Closes every connection gracefully and the listener; resolves when every socket is closed.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown(false);
    return this.#closing;
  }

  /**
   * Destroys every socket at once, with no CLOSE frame (a crash, for tests); reports nothing.
   * Idempotent with `close()`.
   */
  destroy(): Promise<void> {
    this.#closing ??= this.#shutdown(true);
    return this.#closing;
  }

  async #shutdown(abrupt: boolean): Promise<void> {
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#sweep = undefined;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const p of [...this.#pendingSockets.values()]) {
      clearTimeout(p.timer);
      p.socket.destroy();
    }
    this.#pendingSockets.clear();
    const closed = [...this.#all].map(
      (c) => new Promise<void>((resolve) => c.once('close', () => resolve())),
    );
    for (const link of this.#links.values()) {
      this.#stopLinger(link);
      link.queue = [];
      link.queuedBytes = 0;
    }
    for (const c of [...this.#all]) {
      if (abrupt) c.destroy('local');
      else c.close('local');
    }
    const server = this.#server;
    this.#server = undefined;
    this.#wss?.close();
    this.#wss = undefined;
    const serverClosed =
      server === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...closed, serverClosed]);
    this.#links.clear();
    this.removeAllListeners();
  }

  #listen(listen: { host: string; port: number }): Promise<Address> {
    const upgradeMs = this.config.upgradeTimeoutMs;
    const server = createServer({
      // Node's own bound on slow clients (408 and close), checked every `connectionsCheckingInterval`;
      // the per-socket `upgradeTimeoutMs` timer is the exact one.
      headersTimeout: upgradeMs,
      requestTimeout: upgradeMs,
      connectionsCheckingInterval: Math.max(50, Math.floor(upgradeMs / 2)),
    });
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.#maxPayload(),
      perMessageDeflate: false,
      clientTracking: false,
      // Messages of one read at once; Connection caps them per turn (MAX_MESSAGES_PER_TURN).
      allowSynchronousEvents: true,
    });
    this.#server = server;
    this.#wss = wss;
    // Before the HTTP server's own listener: a refused socket is destroyed before any byte is parsed.
    server.prependListener('connection', (socket: Socket) => this.#onSocket(socket));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(req, socket, head),
    );
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      const p = this.#pendingSockets.get(res.socket as Duplex);
      if (p !== undefined) bump(this.#stats.upgradeFailures, 'not-websocket');
      res.writeHead(426, { Connection: 'close' }).end();
    });
    server.on('clientError', (_err: Error, socket: Duplex) => {
      if (this.#pendingSockets.has(socket)) bump(this.#stats.upgradeFailures, 'bad-request');
      socket.destroy();
    });
    wss.on('wsClientError', (_err: Error, socket: Duplex) => {
      bump(this.#stats.upgradeFailures, 'bad-request');
      socket.destroy();
    });
    return new Promise<Address>((resolve, reject) => {
      const onError = (err: Error): void => {
        server.close();
        this.#server = undefined;
        reject(
          new GttError('LISTEN_FAILED', `cannot listen on ${listen.host}:${listen.port}`, { cause: err }),
        );
      };
      server.once('error', onError);
      server.listen(listen.port, listen.host, () => {
        server.off('error', onError);
        // Later server errors (e.g. EMFILE on accept) must not crash the process.
        server.on('error', () => {});
        const a = server.address();
        if (a === null || typeof a === 'string') {
          reject(new GttError('LISTEN_FAILED', 'the listener has no TCP address'));
          return;
        }
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** A TCP socket was accepted: admit it (a slot from the manager) or destroy it at once. */
  #onSocket(socket: Socket): void {
    socket.on('error', () => {});
    const ip = canonicalHost(socket.remoteAddress ?? '');
    if (this.#closing !== undefined || ip === undefined) {
      socket.destroy();
      return;
    }
    const r = this.#manager.admitInbound(ip, netGroup(ip, this.#ownHosts), socket, now());
    if (!r.ok) {
      this.#stats.inboundRefused++;
      bump(this.#stats.refused, r.reason);
      if (r.reason === 'table-full') this.#count('max-connections');
      socket.destroy();
      return;
    }
    const slot = r.slot;
    const timer = setTimeout(() => {
      bump(this.#stats.upgradeFailures, 'timeout');
      socket.destroy();
    }, this.config.upgradeTimeoutMs);
    timer.unref();
    const p: PendingSocket = {
      socket,
      slot,
      remote: { host: ip, port: socket.remotePort ?? 0 },
      timer,
      upgraded: false,
    };
    slot.evict = () => {
      bump(this.#stats.upgradeFailures, 'evicted');
      socket.destroy();
    };
    this.#pendingSockets.set(socket, p);
    socket.once('close', () => {
      clearTimeout(timer);
      this.#pendingSockets.delete(socket);
      if (!p.upgraded) this.#manager.release(slot);
    });
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const p = this.#pendingSockets.get(socket);
    const wss = this.#wss;
    if (p === undefined || wss === undefined || this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      p.upgraded = true;
      clearTimeout(p.timer);
      this.#pendingSockets.delete(socket);
      if (this.#closing !== undefined || p.slot.released) {
        this.#manager.release(p.slot);
        ws.terminate();
        return;
      }
      if (!this.#manager.upgraded(p.slot, now())) {
        // Every pending handshake is under way (message 1 sent): none is a stalled one to evict.
        this.#stats.inboundRefused++;
        bump(this.#stats.refused, 'pending-full');
        this.#manager.release(p.slot);
        ws.terminate();
        return;
      }
      this.#stats.inboundAccepted++;
      this.#newConnection(ws, undefined, p.slot, p.remote);
    });
  }

  #maxPayload(): number {
    return Math.max(this.config.maxFrameBytes + AEAD_TAG_BYTES, MAX_HANDSHAKE_MESSAGE_BYTES);
  }

  #counters(): ConnectionCounters {
    return this.stats;
  }

  #newConnection(
    socket: WebSocket,
    expected: PeerId | undefined,
    slot: Slot<Owner>,
    remote: Address,
  ): Connection {
    const conn = new Connection(
      {
        socket,
        role: expected === undefined ? 'responder' : 'initiator',
        identitySecretKey: this.#keyPair.secretKey,
        staticSecretKey: this.#static,
        expectedRemoteId: expected === undefined ? undefined : hexToBytes(expected),
        extension: this.#extension,
        config: this.config,
        now,
        crypto: this.#suite,
        remote,
      },
      this.#counters(),
    );
    slot.owner = conn;
    slot.evict = () => conn.destroy('evicted');
    this.#all.add(conn);
    conn.on('progress', () => {
      // Message 1 arrived: the handshake work starts here, and the total accept rate pays for it.
      // Over it, the socket is closed before any of that work (`destroy` ends the handshake at once).
      if (this.#manager.progressed(slot, now())) return;
      this.#stats.inboundRefused++;
      bump(this.#stats.refused, 'accept-rate');
      conn.destroy('max-connections', 'accept-rate');
    });
    conn.on('open', () => {
      this.#manager.opened(slot, conn.remoteId!, now());
      slot.evict = () => conn.close('evicted');
      this.#onOpen(conn);
    });
    conn.on('message', (bytes) => {
      const peer = conn.remoteId;
      if (peer === undefined || this.#closing !== undefined) return;
      // A banned peer's connection may still be closing (graceful close delivers until the socket ends).
      if (this.#bans.size > 0 && this.#bans.isBanned(peer, now())) return;
      if (this.#refused.has(conn) || this.#blocked.has(peer)) return;
      this.emit('message', peer, bytes);
    });
    conn.on('overflow', (bytes) => this.#overflow(conn.remoteId ?? '', bytes));
    conn.on('close', (info) => {
      this.#manager.release(slot);
      this.#onClose(conn, info);
    });
    return conn;
  }

  /**
   * Whether an open slot may be closed to admit a newcomer: its peer's link is this connection, and
   * it lingers or nothing uses it (no topic, no queued frames, no dial).
   */
  #idle(slot: Slot<Owner>): boolean {
    const peer = slot.peer;
    if (peer === undefined) return false;
    const link = this.#links.get(peer);
    if (link === undefined || link.conn !== slot.owner) return false;
    return link.linger !== undefined || !this.#used(peer, link);
  }

  #used(peer: PeerId, link: PeerLink): boolean {
    return link.queue.length > 0 || link.dial !== undefined || this.#inUse(peer);
  }

  /**
   * Closes open connections no topic has used for `topiclessGraceMs` (`unused`). A lingering link is
   * left to its linger timer; a duplicate on its way out to its own close.
   */
  #sweepUnused(): void {
    if (this.#closing !== undefined) return;
    const t = now();
    const grace = this.config.topiclessGraceMs;
    for (const slot of this.#manager.all()) {
      const peer = slot.peer;
      if (slot.pending || peer === undefined) continue;
      const link = this.#links.get(peer);
      if (link === undefined || link.conn !== slot.owner || link.linger !== undefined) continue;
      if (this.#used(peer, link)) slot.idleSince = t;
      else if (t - slot.idleSince >= grace) (slot.owner as Connection).close('unused');
    }
  }

  #link(peer: PeerId): PeerLink {
    let link = this.#links.get(peer);
    if (link === undefined) {
      link = { conn: undefined, dial: undefined, queue: [], queuedBytes: 0, linger: undefined };
      this.#links.set(peer, link);
    }
    return link;
  }

  #dial(peer: PeerId, link: PeerLink, refusal: AddressRejectReason | undefined): void {
    // Public addresses first; private ones only on a LAN we share (PROTOCOL.md §9.8).
    const order = dialOrder(this.#book.get(peer) ?? [], this.#externalHost, this.#ownHosts);
    if (order.skippedPrivate > 0) bump(this.#stats.dialsRefused, 'other-lan', order.skippedPrivate);
    const targets = order.dial.map((address) => ({
      address,
      key: keyOf(address),
      resolved: false,
    }));
    // Nothing to try because the policy refused what the caller gave: say so rather than "no address".
    const last: CloseInfo | undefined =
      refusal !== undefined
        ? { reason: 'address-refused', detail: refusal, established: false }
        : order.skippedPrivate > 0
          ? { reason: 'address-refused', detail: 'other-lan', established: false }
          : undefined;
    link.dial = { targets, index: 0, conn: undefined, last, resolving: false };
    this.#stats.pendingDials++;
    this.#stats.dialsStarted++;
    if (this.#bans.isBanned(peer, now())) {
      bump(this.#stats.dialsRefused, 'banned');
      this.#failDial(peer, link, { reason: 'banned', established: false });
      return;
    }
    if (this.#blocked.has(peer)) {
      bump(this.#stats.dialsRefused, 'firewall');
      this.#stats.firewall.dials++;
      this.#failDial(peer, link, { reason: 'banned', detail: 'firewall', established: false });
      return;
    }
    this.#nextAddress(peer, link);
  }

  /**
   * Tries the dial's next address, or fails the dial when none is left. Each address passes the
   * address policy and its dial bounds first; a host name is resolved (asynchronously) and its
   * results take its place in the list.
   */
  #nextAddress(peer: PeerId, link: PeerLink): void {
    const dial = link.dial;
    if (dial === undefined || dial.resolving) return;
    for (;;) {
      const target = dial.targets[dial.index++];
      if (target === undefined) {
        this.#failDial(peer, link, dial.last ?? NO_ADDRESS);
        return;
      }
      const verdict = checkAddress(target.address, this.#policy);
      if (!verdict.ok) {
        bump(this.#stats.addressRejects, verdict.reason);
        dial.last = { reason: 'address-refused', detail: verdict.reason, established: false };
        continue;
      }
      if (this.#refuses(peer, target.address)) {
        bump(this.#stats.dialsRefused, 'firewall');
        this.#stats.firewall.dials++;
        dial.last = { reason: 'banned', detail: 'firewall', established: false };
        continue;
      }
      const t = now();
      if (!target.resolved) {
        const b = this.#dialBounds.take(target.key, t);
        if (!b.ok) {
          bump(this.#stats.dialsRefused, b.reason);
          const detail =
            b.reason === 'rate'
              ? `rate: at most ${this.config.maxDialsPerAddressPerMinute} dials a minute to ${target.key}`
              : `backoff: ${target.key} failed, next try in ${b.retryInMs} ms`;
          dial.last = { reason: 'dial-throttled', detail, established: false };
          continue;
        }
      }
      // Every name is resolved here, `localhost` too: the policy checks what a name stands for.
      if (isIP(target.address.host) === 0) {
        this.#resolve(peer, link, dial, target);
        return;
      }
      let url: string;
      try {
        url = `ws://${formatAddress(target.address)}`;
      } catch {
        dial.last = { reason: 'socket-error', detail: 'bad address', established: false };
        continue;
      }
      const slot = this.#manager.admitOutbound(undefined, t);
      if (slot === undefined) {
        this.#count('max-connections');
        this.#failDial(peer, link, { reason: 'max-connections', established: false });
        return;
      }
      const socket = new WebSocket(url, {
        maxPayload: this.#maxPayload(),
        perMessageDeflate: false,
        handshakeTimeout: this.config.handshakeTimeoutMs,
        allowSynchronousEvents: true,
      });
      this.#stats.dialAttempts++;
      const conn = this.#newConnection(socket, peer, slot, target.address);
      this.#dialKeys.set(conn, target.key);
      dial.conn = conn;
      return;
    }
  }

  /** Resolves a host name of `dial`, bounded by `dnsTimeoutMs`; continues the dial when done. */
  #resolve(peer: PeerId, link: PeerLink, dial: Dial, target: DialTarget): void {
    dial.resolving = true;
    this.#stats.dnsLookups++;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error('DNS timeout'), { code: 'ETIMEOUT' })),
        this.config.dnsTimeoutMs,
      );
      timer.unref();
      this.#timers.add(timer);
    });
    const done = (results: readonly { address: string }[] | undefined, err: unknown): void => {
      if (timer !== undefined) {
        clearTimeout(timer);
        this.#timers.delete(timer);
      }
      dial.resolving = false;
      if (this.#closing !== undefined || link.dial !== dial || this.#links.get(peer) !== link) return;
      if (link.conn !== undefined) {
        this.#endDial(link);
        return;
      }
      if (results === undefined) {
        this.#stats.dnsFailures++;
        const code = (err as { code?: unknown } | undefined)?.code;
        dial.last = { reason: 'socket-error', detail: `dns: ${String(code ?? err)}`, established: false };
      } else {
        const found: DialTarget[] = [];
        let refusal: AddressRejectReason | undefined;
        for (const r of results) {
          if (found.length >= MAX_RESOLVED_ADDRESSES) break;
          const host = canonicalHost(String(r.address));
          // A resolver answers with IP addresses; anything else is skipped, not resolved again.
          if (host === undefined || isIP(host) === 0 || found.some((f) => f.address.host === host)) continue;
          const address = { host, port: target.address.port };
          const v = checkAddress(address, this.#policy);
          if (!v.ok) {
            bump(this.#stats.addressRejects, v.reason);
            refusal ??= v.reason;
            continue;
          }
          found.push({ address, key: target.key, resolved: true });
        }
        if (found.length === 0) {
          const detail = `${target.address.host}: ${refusal ?? 'no address'}`;
          dial.last = { reason: 'address-refused', detail, established: false };
        } else dial.targets.splice(dial.index, 0, ...found);
      }
      this.#nextAddress(peer, link);
    };
    Promise.race([Promise.resolve().then(() => this.#lookup(target.address.host)), timeout]).then(
      (results) => done(results, undefined),
      (err: unknown) => done(undefined, err),
    );
  }

  /** Ends a dial that has nothing left to try; reports it unless another connection to the peer opened. */
  #failDial(peer: PeerId, link: PeerLink, last: CloseInfo): void {
    this.#endDial(link);
    this.#stats.dialsFailed++;
    if (link.conn === undefined) {
      this.#stats.droppedOnDialFailure += link.queue.length;
      link.queue = [];
      link.queuedBytes = 0;
      this.#gc(peer, link);
      this.emit('peer-disconnected', peer, 'dial-failed', last);
    }
  }

  #endDial(link: PeerLink): void {
    if (link.dial === undefined) return;
    link.dial = undefined;
    this.#stats.pendingDials--;
  }

  #onOpen(conn: Connection): void {
    // Counted before any early close: #onClose takes an established connection off again.
    this.#stats.connections++;
    const peer = conn.remoteId;
    if (peer === undefined) return;
    const key = this.#dialKeys.get(conn);
    if (key !== undefined) this.#dialBounds.succeeded(key);
    if (this.#closing !== undefined) {
      conn.close('local');
      return;
    }
    if (peer === this.id) {
      conn.close('self');
      return;
    }
    if (this.#bans.isBanned(peer, now())) {
      conn.close('banned');
      return;
    }
    // The application's gate: the handshake just proved the remote's id (inbound: its first sight;
    // outbound: the id we dialed). Refused, the connection is never linked, so the gossip core never
    // hears of it; the remote reads CLOSE "banned" (PROTOCOL.md §9.7), as for a ban.
    if (this.#refuses(peer, conn.remote)) {
      this.#refused.add(conn);
      if (conn.role === 'initiator') {
        this.#stats.firewall.outbound++;
        const dial = this.#links.get(peer)?.dial;
        // Nothing else of this peer's is to be tried: the dial ends when this connection closes.
        if (dial?.conn === conn) dial.index = dial.targets.length;
      } else this.#stats.firewall.inbound++;
      conn.close('banned');
      return;
    }
    const link = this.#link(peer);
    if (link.dial?.conn === conn) this.#endDial(link);
    const current = link.conn;
    if (current !== undefined) {
      // Simultaneous dial (§9.7): both sides keep the connection dialed by the smaller id.
      const dialer = (c: Connection): PeerId => (c.role === 'initiator' ? this.id : peer);
      const a = dialer(current);
      const b = dialer(conn);
      const keepNew = a === b || less(b, a);
      const loser = keepNew ? current : conn;
      link.conn = keepNew ? conn : current;
      loser.close('duplicate');
    } else {
      link.conn = conn;
    }
    this.emit('peer-connected', peer, conn.extension);
    this.#flush(peer, link);
  }

  #flush(peer: PeerId, link: PeerLink): void {
    const queue = link.queue;
    link.queue = [];
    link.queuedBytes = 0;
    for (const bytes of queue) {
      if (link.conn === undefined) {
        this.send(peer, bytes);
      } else if (link.conn.send(bytes) === 'closed') {
        this.send(peer, bytes);
      }
    }
  }

  #onClose(conn: Connection, info: CloseInfo): void {
    this.#all.delete(conn);
    this.#count(info.reason);
    if (info.established) this.#stats.connections--;
    else {
      const key = this.#dialKeys.get(conn);
      if (key !== undefined && !OUR_OWN.has(info.reason)) this.#dialBounds.failed(key, now());
      if (info.reason === 'handshake-failed' || info.reason === 'handshake-timeout') {
        const k = info.detail ?? info.reason;
        this.#stats.handshakeFailures[k] = (this.#stats.handshakeFailures[k] ?? 0) + 1;
      }
    }
    if (this.#closing !== undefined) return;
    const peer = conn.remoteId;
    if (peer === undefined) return;
    const link = this.#links.get(peer);
    if (link === undefined) return;
    if (link.dial?.conn === conn) {
      link.dial.conn = undefined;
      link.dial.last = info;
      if (link.conn === undefined) this.#nextAddress(peer, link);
      else if (!link.dial.resolving) this.#endDial(link);
      return;
    }
    if (link.conn !== conn) return; // a duplicate, a disconnected link or an inbound handshake
    link.conn = undefined;
    this.#stopLinger(link);
    this.#gc(peer, link);
    this.emit('peer-disconnected', peer, causeOf(info.reason), info);
  }

  #gc(peer: PeerId, link: PeerLink): void {
    if (link.conn === undefined && link.dial === undefined && link.queue.length === 0)
      this.#links.delete(peer);
  }

  #overflow(peer: PeerId, bytes: number): void {
    this.#stats.sendQueueOverflows++;
    this.emit('overflow', peer, bytes);
    if (this.config.sendQueueOverflow === 'disconnect') {
      const link = this.#links.get(peer);
      if (link?.dial !== undefined && link.conn === undefined) {
        // A dial whose queue is full: give up on the peer rather than thin its frames silently.
        const conn = link.dial.conn;
        link.dial.index = link.dial.targets.length;
        link.dial.last = { reason: 'send-queue-overflow', established: false };
        link.dial.conn = undefined;
        conn?.destroy('send-queue-overflow');
        this.#nextAddress(peer, link);
      }
    }
  }

  #count(reason: CloseReason): void {
    this.#stats.closed[reason] = (this.#stats.closed[reason] ?? 0) + 1;
  }
}

/** The core's view of a close reason. */
function causeOf(reason: CloseReason): DisconnectCause {
  switch (reason) {
    case 'keepalive-timeout':
    case 'handshake-timeout':
    case 'first-message-timeout':
      return 'timeout';
    case 'remote-close':
    case 'socket-closed':
    case 'local':
    case 'duplicate':
    case 'self':
    case 'unused':
    case 'evicted':
      return 'closed';
    default:
      return 'error';
  }
}
