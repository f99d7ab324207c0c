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
 * - **Limits**: open plus handshaking connections never exceed `maxConnections`; an inbound socket
 *   over the limit is refused, a dial over it fails at once.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { EventEmitter } from 'eventemitter3';
import { WebSocket, WebSocketServer } from 'ws';
import type { Address } from '../crypto/address.js';
import { formatAddress } from '../crypto/address.js';
import type { KeyPair } from '../crypto/keys.js';
import type { CryptoSuite } from '../crypto/suite.js';
import { GttError } from '../errors.js';
import { defaultSuite } from '../native/crypto.js';
import type { DisconnectCause, PeerId } from '../proto/types.js';
import { encodeAddressList } from './addresses.js';
import { parseTransportConfig, type TransportConfig, type TransportOptions } from './config.js';
import { type CloseInfo, type CloseReason, Connection, type ConnectionCounters } from './connection.js';
import { MAX_HANDSHAKE_MESSAGE_BYTES } from './handshake.js';
import { TAG_BYTES } from './noise.js';

/** Counters of a {@link Transport} (house rule 14). */
export interface TransportStats extends ConnectionCounters {
  /** Open connections. */
  connections: number;
  /** Connections still in their handshake (inbound and outbound). */
  handshaking: number;
  /** Peers being dialed (a dial may try several addresses). */
  pendingDials: number;
  dialsStarted: number;
  dialsFailed: number;
  inboundAccepted: number;
  /** Inbound sockets refused because the table was full. */
  inboundRefused: number;
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
}

interface Dial {
  addresses: Address[];
  index: number;
  conn: Connection | undefined;
  last: CloseInfo | undefined;
}

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

/** Smaller-id-wins order of two hex ids (lower-case hex compares like the bytes). */
const less = (a: string, b: string): boolean => a < b;

/** The WebSocket transport. */
export class Transport extends EventEmitter<TransportEvents> {
  /** This node's id (hex). */
  readonly id: PeerId;
  readonly config: TransportConfig;
  readonly stats: TransportStats = {
    connections: 0,
    handshaking: 0,
    pendingDials: 0,
    dialsStarted: 0,
    dialsFailed: 0,
    inboundAccepted: 0,
    inboundRefused: 0,
    sendQueueOverflows: 0,
    droppedOnDialFailure: 0,
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    pingsOut: 0,
    closed: {},
    handshakeFailures: {},
  };
  readonly #keyPair: KeyPair;
  readonly #suite: CryptoSuite;
  readonly #static = randomBytes(32);
  #extension: Uint8Array = new Uint8Array(0);
  #advertised: Address[] = [];
  #server: WebSocketServer | undefined;
  readonly #all = new Set<Connection>();
  readonly #links = new Map<PeerId, PeerLink>();
  readonly #book = new Map<PeerId, Address[]>();
  #closing: Promise<void> | undefined;

  private constructor(keyPair: KeyPair, config: TransportConfig, suite: CryptoSuite) {
    super();
    this.#keyPair = keyPair;
    this.#suite = suite;
    this.id = bytesToHex(keyPair.publicKey);
    this.config = config;
  }

  /**
   * Starts a transport, listening when `listen` is given.
   * @throws {GttError} `INVALID_CONFIG` for bad options, `LISTEN_FAILED` when the port cannot be bound.
   */
  static async create(opts: TransportCreateOptions): Promise<Transport> {
    const t = new Transport(opts.keyPair, parseTransportConfig(opts.config), opts.crypto ?? defaultSuite());
    if (opts.listen !== null) {
      const bound = await t.#listen(opts.listen);
      t.setAdvertised(opts.advertise?.(bound) ?? [bound]);
    }
    return t;
  }

  /** The addresses this node advertises. */
  addresses(): Address[] {
    return this.#advertised.map((a) => ({ ...a }));
  }

  /** Sets the advertised addresses (sent in every later handshake's extension). */
  setAdvertised(addresses: Address[]): void {
    this.#advertised = addresses.map((a) => ({ ...a }));
    this.#extension = encodeAddressList(this.#advertised);
  }

  /** The advertised addresses, encoded (the gossip peer data). */
  get extension(): Uint8Array {
    return this.#extension;
  }

  /** Remembers addresses to dial `peer` at (newest first, deduplicated). */
  addAddresses(peer: PeerId, addresses: readonly Address[]): void {
    if (addresses.length === 0 || peer === this.id) return;
    const old = this.#book.get(peer) ?? [];
    const seen = new Set<string>();
    const merged: Address[] = [];
    for (const a of [...addresses, ...old]) {
      const k = `${a.host}|${a.port}`;
      if (seen.has(k)) continue;
      seen.add(k);
      merged.push({ host: a.host, port: a.port });
    }
    this.#book.set(peer, merged.slice(0, 16));
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

  /**
   * Sends a GOSSIP frame body to `peer`, dialing it first when needed (at `addresses`, else at what
   * the address book knows). Failures come back as events, never as exceptions.
   */
  send(peer: PeerId, bytes: Uint8Array, addresses?: readonly Address[]): void {
    if (this.#closing !== undefined || peer === this.id) return;
    if (addresses !== undefined) this.addAddresses(peer, addresses);
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
    if (link.dial === undefined && link.conn === undefined) this.#dial(peer, link);
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

  /** Whether the connection to `peer` lingers after the core released it. */
  isLingering(peer: PeerId): boolean {
    return this.#links.get(peer)?.linger !== undefined;
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
    const serverClosed =
      server === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...closed, serverClosed]);
    this.#links.clear();
    this.removeAllListeners();
  }

  #listen(listen: { host: string; port: number }): Promise<Address> {
    const server = new WebSocketServer({
      host: listen.host,
      port: listen.port,
      maxPayload: this.#maxPayload(),
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#server = server;
    server.on('connection', (socket) => this.#onInbound(socket));
    return new Promise<Address>((resolve, reject) => {
      const onError = (err: Error): void => {
        server.close();
        this.#server = undefined;
        reject(
          new GttError('LISTEN_FAILED', `cannot listen on ${listen.host}:${listen.port}`, { cause: err }),
        );
      };
      server.once('error', onError);
      server.once('listening', () => {
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

  #maxPayload(): number {
    return Math.max(this.config.maxFrameBytes + TAG_BYTES, MAX_HANDSHAKE_MESSAGE_BYTES);
  }

  #counters(): ConnectionCounters {
    return this.stats;
  }

  #newConnection(socket: WebSocket, expected: PeerId | undefined): Connection {
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
      },
      this.#counters(),
    );
    this.#all.add(conn);
    this.stats.handshaking++;
    conn.on('open', () => this.#onOpen(conn));
    conn.on('message', (bytes) => {
      const peer = conn.remoteId;
      if (peer !== undefined && this.#closing === undefined) this.emit('message', peer, bytes);
    });
    conn.on('overflow', (bytes) => this.#overflow(conn.remoteId ?? '', bytes));
    conn.on('close', (info) => this.#onClose(conn, info));
    return conn;
  }

  #onInbound(socket: WebSocket): void {
    if (this.#closing !== undefined) {
      socket.terminate();
      return;
    }
    if (this.#all.size >= this.config.maxConnections) {
      this.stats.inboundRefused++;
      this.#count('max-connections');
      socket.on('error', () => {});
      socket.close(1013, 'max-connections');
      return;
    }
    this.stats.inboundAccepted++;
    this.#newConnection(socket, undefined);
  }

  #link(peer: PeerId): PeerLink {
    let link = this.#links.get(peer);
    if (link === undefined) {
      link = { conn: undefined, dial: undefined, queue: [], queuedBytes: 0, linger: undefined };
      this.#links.set(peer, link);
    }
    return link;
  }

  #dial(peer: PeerId, link: PeerLink): void {
    const addresses = this.#book.get(peer) ?? [];
    link.dial = { addresses: [...addresses], index: 0, conn: undefined, last: undefined };
    this.stats.pendingDials++;
    this.stats.dialsStarted++;
    this.#nextAddress(peer, link);
  }

  /** Tries the dial's next address, or fails the dial when none is left. */
  #nextAddress(peer: PeerId, link: PeerLink): void {
    const dial = link.dial;
    if (dial === undefined) return;
    const address = dial.addresses[dial.index++];
    if (address === undefined || this.#all.size >= this.config.maxConnections) {
      const last: CloseInfo =
        address === undefined
          ? (dial.last ?? { reason: 'socket-error', detail: 'no address', established: false })
          : { reason: 'max-connections', established: false };
      if (address !== undefined) this.#count('max-connections');
      this.#endDial(link);
      this.stats.dialsFailed++;
      if (link.conn === undefined) {
        this.stats.droppedOnDialFailure += link.queue.length;
        link.queue = [];
        link.queuedBytes = 0;
        this.#gc(peer, link);
        this.emit('peer-disconnected', peer, 'dial-failed', last);
      }
      return;
    }
    let url: string;
    try {
      url = `ws://${formatAddress(address)}`;
    } catch {
      dial.last = { reason: 'socket-error', detail: 'bad address', established: false };
      this.#nextAddress(peer, link);
      return;
    }
    const socket = new WebSocket(url, {
      maxPayload: this.#maxPayload(),
      perMessageDeflate: false,
      handshakeTimeout: this.config.handshakeTimeoutMs,
    });
    dial.conn = this.#newConnection(socket, peer);
  }

  #endDial(link: PeerLink): void {
    if (link.dial === undefined) return;
    link.dial = undefined;
    this.stats.pendingDials--;
  }

  #onOpen(conn: Connection): void {
    this.stats.handshaking--;
    const peer = conn.remoteId;
    if (peer === undefined) return;
    if (this.#closing !== undefined) {
      conn.close('local');
      return;
    }
    if (peer === this.id) {
      conn.close('self');
      return;
    }
    this.stats.connections++;
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
    if (info.established) this.stats.connections--;
    else {
      this.stats.handshaking--;
      if (info.reason === 'handshake-failed' || info.reason === 'handshake-timeout') {
        const k = info.detail ?? info.reason;
        this.stats.handshakeFailures[k] = (this.stats.handshakeFailures[k] ?? 0) + 1;
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
      else this.#endDial(link);
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
    this.stats.sendQueueOverflows++;
    this.emit('overflow', peer, bytes);
    if (this.config.sendQueueOverflow === 'disconnect') {
      const link = this.#links.get(peer);
      if (link?.dial !== undefined && link.conn === undefined) {
        // A dial whose queue is full: give up on the peer rather than thin its frames silently.
        const conn = link.dial.conn;
        link.dial.index = link.dial.addresses.length;
        link.dial.last = { reason: 'send-queue-overflow', established: false };
        link.dial.conn = undefined;
        conn?.destroy('send-queue-overflow');
        this.#nextAddress(peer, link);
      }
    }
  }

  #count(reason: CloseReason): void {
    this.stats.closed[reason] = (this.stats.closed[reason] ?? 0) + 1;
  }
}

/** The core's view of a close reason. */
function causeOf(reason: CloseReason): DisconnectCause {
  switch (reason) {
    case 'keepalive-timeout':
    case 'handshake-timeout':
      return 'timeout';
    case 'remote-close':
    case 'socket-closed':
    case 'local':
    case 'duplicate':
    case 'self':
      return 'closed';
    default:
      return 'error';
  }
}
