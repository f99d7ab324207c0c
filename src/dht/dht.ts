/**
 * A typed BEP 44 client and storing node over bittorrent-dht 11.0.12 (pinned), reached only through
 * `krpc.ts` (which lists the library's defects we work around). `Dht` owns the lifecycle and wires the
 * parts: `krpc.ts` (the socket, routing table and serving hooks), `serve.ts` (answering `get` / `put`),
 * `walk.ts` (the BEP 5 walk over `lookup.ts`), `collector.ts` (what a walk toward a slot found),
 * `put.ts` and `put-retry.ts` (stores with per-node outcomes and their retries), `liveness.ts`
 * (bucket refresh, re-bootstrap) and `pacer.ts` (the pace of our queries per node). The public types
 * are in `types.ts`.
 *
 * Every promise is settled by this class (see `op.ts`): by the operation, its timer, its `AbortSignal`
 * or `close()`. KRPC callbacks that come after their walk ended only update counters and the routing
 * table. `close()` destroys the library (its timers and socket) and waits for the socket to close,
 * after which nothing of ours keeps the process alive.
 *
 * Limits: bittorrent-dht is IPv4 only (udp4). BEP 44 values here are byte strings of at most 996
 * bytes (see `bep44.ts`).
 */
import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import { bytesToHex } from '@noble/hashes/utils.js';
import { type CryptoSuite, KEY_BYTES } from '../crypto/suite.js';
import { abytes, equalBytes } from '../crypto/utils.js';
import { GttError, throwIfAborted } from '../errors.js';
import { assertSeq, assertValue, type MutableItem, normaliseSalt, signMutable, targetOf } from './bep44.js';
import { resolveBootstrap, runBootstrap } from './bootstrap.js';
import { Collector, VerifiedItems } from './collector.js';
import {
  type DhtConfig,
  type DhtOptions,
  type HostPort,
  MIN_QUERY_STALL_MS,
  parseDhtOptions,
} from './config.js';
import { type ExternalAddress, ExternalAddressVotes, Reachability } from './external.js';
import { KrpcNode, toBuffer } from './krpc.js';
import { hostOf, type Peer } from './krpc-types.js';
import { createLivenessStats, Liveness } from './liveness.js';
import { abortable, Operation, type Tracked } from './op.js';
import { QueryPacer } from './pacer.js';
import { type PutHost, runPut } from './put.js';
import { RttEstimator } from './rtt.js';
import {
  createItemServer,
  createServerStats,
  type ImpairedNode,
  type Impairment,
  impairReplies,
} from './serve.js';
import type {
  DhtEvents,
  DhtStats,
  GetAllOptions,
  GetAllResult,
  PutOptions,
  PutResult,
  RefreshResult,
  SigningSlot,
  Slot,
} from './types.js';
import { pacedQuery, startWalk } from './walk.js';

/** @internal `createTestnet`'s hook: impair this node's replies like a real DHT node's (`serve.ts`). */
export const kImpair: unique symbol = Symbol('gossip-topic-tracker.impair');

/**
 * A BEP 44 client and storing node on the mainline DHT. Create with {@link Dht.create}; always
 * {@link Dht.close}.
 */
export class Dht extends EventEmitter<DhtEvents> {
  /** This node's 20-byte id. */
  readonly id: Uint8Array;
  readonly #krpc: KrpcNode;
  readonly #config: DhtConfig;
  readonly #bootstrap: readonly HostPort[];
  readonly #ops = new Set<Tracked>();
  readonly #stats: DhtStats = {
    lookups: 0,
    lookupsTimedOut: 0,
    queriesSent: 0,
    queriesStalled: 0,
    queriesPaced: 0,
    queriesTimedOut: 0,
    queryErrors: 0,
    valuesRejected: {},
    putsSent: 0,
    putsAccepted: 0,
    putsRejected: {},
    putsReadBack: 0,
    socketErrors: 0,
    warnings: 0,
    server: createServerStats(),
    liveness: createLivenessStats(),
    external: { votes: 0, votesRejected: {}, changes: 0, unsolicitedQueries: 0, readOnlySwitches: 0 },
  };
  /** BEP 42 votes on our external address (`external.ts`). */
  readonly #votes = new ExternalAddressVotes();
  /** Whether `readOnly: 'auto'` is read-only (`external.ts`). */
  readonly #reach: Reachability;
  #autoReadOnly = false;
  /** Stall delays of walks; undefined when stalls are off (`queryStallMs` ≥ `queryTimeoutMs`). */
  readonly #rtt: RttEstimator | undefined;
  #address: { host: string; port: number } | undefined;
  #closing: Promise<void> | undefined;
  readonly #liveness: Liveness;
  /** Every query we send goes through it: at most a few per second to one node (`pacer.ts`). */
  readonly #pacer: QueryPacer;
  /** Set by a testnet that impairs this node (`kImpair`). */
  #impaired: ImpairedNode | undefined;
  /** What the walks and puts use of this node (`walk.ts`, `put.ts`). */
  readonly #host: PutHost;

  private constructor(config: DhtConfig, bootstrap: readonly HostPort[]) {
    super();
    this.#config = config;
    this.#reach = new Reachability(config.reachabilityWindowMs);
    this.#bootstrap = bootstrap;
    this.#pacer = new QueryPacer({ ...config.pace, random: config.random });
    this.#rtt =
      config.queryStallMs < config.queryTimeoutMs
        ? new RttEstimator({ minMs: MIN_QUERY_STALL_MS, maxMs: config.queryStallMs })
        : undefined;
    const krpc = new KrpcNode({
      timeoutMs: config.queryTimeoutMs,
      k: config.k,
      concurrency: config.concurrency,
      maxValues: config.maxStoredValues,
      verify: storeVerifier(config.crypto),
    });
    this.#krpc = krpc;
    this.id = krpc.id;
    krpc.serve({
      k: config.k,
      server: config.server,
      maxNodesPerPrefix: config.maxNodesPerPrefix,
      stats: this.#stats.server,
      handlers: createItemServer(krpc, config, this.#stats.server),
      observer: {
        sent: (host) => this.#reach.sent(host),
        replied: (from, ip) => this.#vote(from, ip),
        queried: (from) => {
          const was = this.#reach.reachable;
          if (this.#reach.received(hostOf(from))) this.#stats.external.unsolicitedQueries++;
          if (!was && this.#reach.reachable && !this.closed) this.emit('reachable');
        },
      },
    });
    if (config.readOnly !== false) krpc.sendReadOnly(() => this.readOnly);
    const dht = this;
    this.#host = {
      krpc,
      config,
      bootstrap,
      stats: this.#stats,
      rtt: this.#rtt,
      verified: new VerifiedItems(config.crypto),
      get closing() {
        return dht.#closing !== undefined;
      },
      query: (to, message, cb) => pacedQuery(krpc, this.#pacer, this.#stats, to, message, cb),
      begin: (signal) => this.#begin(signal),
    };
    // Bucket refresh and re-bootstrap; its timer starts once `create` has bootstrapped.
    this.#liveness = new Liveness({
      id: krpc.id,
      nodeCount: () => krpc.nodeCount(),
      nodes: () => krpc.nodes(),
      onResponse: (listener) => krpc.onResponse(listener),
      bootstrap,
      config: config.liveness,
      stats: this.#stats.liveness,
      queriesSent: () => this.#stats.queriesSent + this.#stats.putsSent,
      findNode: (to, target, cb) =>
        this.#host.query(to, krpc.message('find_node', { target: toBuffer(target) }), (error, reply) =>
          cb(!error && reply?.r !== undefined),
        ),
      refresh: (target) => this.refresh({ target }),
    });
    // An 'error' event without a listener would throw: count it instead.
    krpc.on('error', () => {
      this.#stats.socketErrors++;
    });
    krpc.on('warning', () => {
      this.#stats.warnings++;
    });
  }

  /**
   * Validates `options`, resolves bootstrap host names to IPv4, binds the UDP socket and waits for the
   * bootstrap walk (BEP 5: a `find_node` walk toward our own id). With bootstrap addresses, resolves
   * once the walk ends with a non-empty routing table, or once `bootstrapTimeoutMs` passes with at
   * least one node known.
   * @throws {GttError} `INVALID_CONFIG` on bad options; `DHT_LISTEN_FAILED` when the socket cannot
   *   bind; `DHT_BOOTSTRAP_FAILED` when no bootstrap host resolves or no node answers within
   *   `bootstrapTimeoutMs`; `ABORTED` when `signal` aborts.
   */
  static async create(options: DhtOptions = {}, { signal }: { signal?: AbortSignal } = {}): Promise<Dht> {
    const config = parseDhtOptions(options);
    throwIfAborted(signal);
    const bootstrap = await abortable(resolveBootstrap(config.bootstrap), signal);
    const dht = new Dht(config, bootstrap);
    try {
      await dht.#listen(signal);
      await dht.#awaitBootstrap(signal);
      dht.#liveness.start();
    } catch (error) {
      await dht.close();
      throw error;
    }
    return dht;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Counters, updated in place (read them, do not write them). */
  get stats(): Readonly<DhtStats> {
    return this.#stats;
  }

  /**
   * The Ed25519 of this node's BEP 44 signatures (option `crypto`, default `defaultSuite()`). Layers
   * above use it for their own signatures too (the record store signs and opens records with it).
   */
  get crypto(): CryptoSuite {
    return this.#config.crypto;
  }

  /** The bound UDP address (`host` is the bind address, e.g. 0.0.0.0). Still answers after close. */
  address(): { host: string; port: number } {
    return { ...this.#address! };
  }

  /**
   * Our IPv4 address and UDP port as the DHT sees them (BEP 42: the `ip` of replies, agreed by nodes in
   * 3 or more distinct /16s; behind a NAT, the NAT's address and mapping), or undefined until known.
   * `'external-address'` is emitted when it changes.
   */
  get externalAddress(): ExternalAddress | undefined {
    return this.#votes.current;
  }

  /**
   * True once a node we never queried queried us: our UDP port is open from outside (no NAT, a 1:1
   * NAT, a port forward). `'reachable'` is emitted when it becomes true.
   */
  get reachable(): boolean {
    return this.#reach.reachable;
  }

  /**
   * Whether our queries carry `ro=1` now (BEP 43; option `readOnly`). With `'auto'`, true once we know
   * we are behind a NAT that lets nobody in (see `external.ts`).
   */
  get readOnly(): boolean {
    const mode = this.#config.readOnly;
    if (mode !== 'auto') return mode;
    const now = this.#reach.readOnly(performance.now());
    if (now !== this.#autoReadOnly) {
      this.#autoReadOnly = now;
      this.#stats.external.readOnlySwitches++;
    }
    return now;
  }

  /** Counts the BEP 42 `ip` of a reply from `from` (see `external.ts`). */
  #vote(from: Peer, ip: unknown): void {
    if (ip === undefined) return;
    const now = performance.now();
    const outcome = this.#votes.vote({ host: hostOf(from), port: from.port }, ip, now);
    const stats = this.#stats.external;
    if (outcome === undefined || outcome === 'changed') stats.votes++;
    else stats.votesRejected[outcome] = (stats.votesRejected[outcome] ?? 0) + 1;
    if (outcome !== 'changed') return;
    stats.changes++;
    const address = this.#votes.current!;
    this.#reach.external(this.#isLocalHost(address.host), now);
    // Not from inside the socket's datagram handler: a listener that throws must not break it.
    process.nextTick(() => {
      if (!this.closed) this.emit('external-address', address);
    });
  }

  /** Whether `host` is an address of this machine (then no NAT stands between us and the DHT). */
  #isLocalHost(host: string): boolean {
    if (this.#address?.host === host) return true;
    return Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address === host));
  }

  /** Nodes in the routing table. */
  nodeCount(): number {
    return this.#closing ? 0 : this.#krpc.nodeCount();
  }

  /**
   * One walk toward the slot's target with BEP 44 `get` queries, collecting every distinct
   * signature-valid item from every node that answers (see {@link GetAllResult}), and from our own
   * store (we are a storing node too, and may be one of the closest). Each distinct item is verified
   * once; `onValue` sees each as soon as it arrives. The walk ends when the k closest nodes that did not
   * fail have answered; on the overall timeout it resolves with what it has and `timedOut: true`.
   * @throws {TypeError} / {RangeError} on a bad slot or options (as a rejection).
   * @throws {GttError} `ABORTED` when `signal` aborts, `CLOSED` when the Dht is or gets closed, or
   *   whatever `onValue` throws.
   */
  async getAll(slot: Slot, options: GetAllOptions = {}): Promise<GetAllResult> {
    abytes(slot.publicKey, KEY_BYTES, 'publicKey');
    const salt = normaliseSalt(slot.salt);
    const timeoutMs = checkDuration(options.timeoutMs ?? this.#config.getTimeoutMs, 'timeoutMs');
    const onValue = options.onValue;
    if (onValue !== undefined && typeof onValue !== 'function') {
      throw new TypeError(`"onValue" expected function, got ${typeof onValue}`);
    }
    const only = options.nodes;
    if (only !== undefined && !Array.isArray(only)) {
      throw new TypeError(`"nodes" expected array, got ${typeof only}`);
    }
    const target = targetOf(slot.publicKey, salt);
    const op = this.#begin<GetAllResult>(options.signal);
    if (op.settled) return op.promise;
    const collector = new Collector(
      salt ? { publicKey: slot.publicKey, salt } : { publicKey: slot.publicKey },
      target,
      this.#stats,
      this.#host.verified.verify,
      onValue &&
        ((value) => {
          try {
            onValue(value);
          } catch (error) {
            op.reject(error);
          }
        }),
    );
    // Our own store counts too: we may be one of the nodes closest to the target.
    const local = this.#krpc.localItem(bytesToHex(target));
    if (local) collector.addLocal(local, { id: this.id, ...this.address() });
    const walk = startWalk(
      this.#host,
      op,
      target,
      'get',
      collector,
      () => op.resolve(collector.result(false)),
      only,
    );
    op.timer(timeoutMs, () => {
      walk.stop();
      this.#stats.lookupsTimedOut++;
      op.resolve(collector.result(true));
    });
    return op.promise;
  }

  /**
   * Signs `value` at `options.seq` and stores it on the nodes closest to the slot's target. Each
   * attempt is one walk (as in {@link getAll}, collecting write tokens and what each node holds)
   * followed by `put` queries to the selected nodes; it succeeds when at least `minAccepted` nodes
   * store the item. A failed attempt is retried after `retryDelayMs` + random jitter, up to `retries`
   * times, except after a conflict (a node answered 301/302, or its read-back showed another item: it
   * holds a newer or conflicting item, so the same seq cannot win: read, bump seq, put again), or when
   * a custom `select` chose no node among live responders. Not storing is a returned outcome
   * (`ok: false`). Puts to nodes that held an item carry BEP 44 `cas` (see `put.ts`).
   * @throws {TypeError} / {RangeError} before any network work on bad arguments: wrong key lengths,
   *   a seed that does not match `publicKey`, a salt over 64 bytes, a value over 996 bytes, an unsafe
   *   seq, bad retry options (as a rejection).
   * @throws {GttError} `ABORTED` when `signal` aborts, `CLOSED` when the Dht is or gets closed, or
   *   whatever `select` throws.
   */
  async put(slot: SigningSlot, value: Uint8Array, options: PutOptions): Promise<PutResult> {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        `"options" expected object with seq, got ${options === null ? 'null' : typeof options}`,
      );
    }
    abytes(slot.publicKey, KEY_BYTES, 'publicKey');
    abytes(slot.secretKey, KEY_BYTES, 'secretKey');
    const salt = normaliseSalt(slot.salt);
    assertValue(value);
    assertSeq(options.seq);
    const c = this.#config;
    const timeoutMs = checkDuration(options.timeoutMs ?? c.putTimeoutMs, 'timeoutMs');
    const retries = checkCount(options.retries ?? c.putRetries, 'retries', 0);
    const retryDelayMs = checkCount(options.retryDelayMs ?? c.putRetryDelayMs, 'retryDelayMs', 0);
    const retryJitterMs = checkCount(options.retryJitterMs ?? c.putRetryJitterMs, 'retryJitterMs', 0);
    const minAccepted = checkCount(options.minAccepted ?? 1, 'minAccepted', 1);
    const select = options.select;
    if (select !== undefined && typeof select !== 'function') {
      throw new TypeError(`"select" expected function, got ${typeof select}`);
    }
    const responders = options.responders;
    if (responders !== undefined && !Array.isArray(responders)) {
      throw new TypeError(`"responders" expected array, got ${typeof responders}`);
    }
    this.#assertUsable(options.signal);
    const suite = this.#config.crypto;
    if (!equalBytes(suite.ed25519PublicKey(slot.secretKey), slot.publicKey)) {
      throw new RangeError('"secretKey" is not the seed of "publicKey"');
    }
    const signature = signMutable(slot.secretKey, { salt, seq: options.seq, value }, suite);
    const signed = { publicKey: slot.publicKey, seq: options.seq, value, signature };
    const item: MutableItem = salt ? { ...signed, salt } : signed;
    const target = targetOf(item.publicKey, salt);
    return runPut(this.#host, {
      item,
      target,
      timeoutMs,
      retries,
      retryDelayMs,
      retryJitterMs,
      minAccepted,
      select,
      responders,
      signal: options.signal,
    });
  }

  /**
   * Refreshes the routing table (BEP 5): one `find_node` walk toward our own id, which adds the nodes
   * closest to us and makes them add us, or toward `target` (BEP 5's bucket refresh walks toward a
   * random id in a bucket's range; every node that answers lands in our table). Resolves when the walk
   * converges or after `getTimeoutMs`.
   * @throws {GttError} `ABORTED` when `signal` aborts, `CLOSED` when the Dht is or gets closed;
   *   TypeError when `target` is not a Uint8Array, RangeError when it is not 20 bytes.
   */
  async refresh({
    signal,
    target,
  }: {
    signal?: AbortSignal;
    target?: Uint8Array;
  } = {}): Promise<RefreshResult> {
    if (target !== undefined) abytes(target, this.id.length, 'target');
    const op = this.#begin<RefreshResult>(signal);
    if (op.settled) return op.promise;
    let responded = 0;
    const counter = { add: () => void responded++ };
    const walk = startWalk(this.#host, op, target ?? this.id, 'find_node', counter, () =>
      op.resolve({ responded, timedOut: false }),
    );
    op.timer(this.#config.getTimeoutMs, () => {
      walk.stop();
      this.#stats.lookupsTimedOut++;
      op.resolve({ responded, timedOut: true });
    });
    return op.promise;
  }

  /**
   * Closes the node: rejects every operation in flight with `GttError('CLOSED')`, destroys
   * bittorrent-dht (its timers and socket) and resolves once the socket is closed. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** @internal See {@link kImpair}. Returns the handle that silences the node. */
  [kImpair](impairment: Impairment): ImpairedNode {
    this.#impaired?.close();
    this.#impaired = impairReplies(this.#krpc, impairment);
    return this.#impaired;
  }

  async #close(): Promise<void> {
    const closed = GttError.closed('Dht');
    this.#impaired?.close();
    this.#liveness.close();
    this.#pacer.close();
    for (const op of [...this.#ops]) op.reject(closed);
    await this.#krpc.destroy();
  }

  /** Starts an operation tracked for close(); rejects it at once when closed or `signal` is aborted. */
  #begin<T>(signal: AbortSignal | undefined): Operation<T> {
    const op = new Operation<T>(signal);
    if (this.#closing) op.reject(GttError.closed('Dht'));
    if (op.settled) return op;
    this.#ops.add(op);
    op.defer(() => this.#ops.delete(op));
    return op;
  }

  #assertUsable(signal: AbortSignal | undefined): void {
    if (this.#closing) throw GttError.closed('Dht');
    throwIfAborted(signal);
  }

  #listen(signal: AbortSignal | undefined): Promise<void> {
    const { host, port } = this.#config;
    const op = this.#begin<void>(signal);
    const stop = this.#krpc.listen(port, host, (error) => {
      if (error === null) {
        this.#address = this.#krpc.address();
        op.resolve();
        return;
      }
      op.reject(
        new GttError('DHT_LISTEN_FAILED', `Could not bind UDP ${host}:${port}: ${error.message}`, {
          cause: error,
        }),
      );
    });
    op.defer(stop);
    return op.promise;
  }

  /** The bootstrap walk (see `bootstrap.ts`), tracked for close(). */
  #awaitBootstrap(signal: AbortSignal | undefined): Promise<void> {
    if (this.#bootstrap.length === 0) return Promise.resolve();
    const op = this.#begin<void>(signal);
    runBootstrap(this.#host, op, this.#config);
    return op.promise;
  }
}

/**
 * The `verify` option bittorrent-dht needs to store mutable items (it answers 400 without one): it
 * runs for every `put` another node sends us, on the BEP 44 signable bytes. Strict RFC 8032, as
 * `verifyMutable`.
 */
function storeVerifier(
  suite: CryptoSuite,
): (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean {
  return (signature, message, publicKey) => {
    try {
      return suite.ed25519Verify(signature, message, publicKey);
    } catch {
      // A suite never throws on remote bytes; a custom one that does must not crash the socket handler.
      return false;
    }
  };
}

function checkDuration(value: unknown, name: string): number {
  if (typeof value !== 'number') throw new TypeError(`"${name}" expected number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`"${name}" expected a positive integer (ms), got ${value}`);
  }
  return value;
}

function checkCount(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number') throw new TypeError(`"${name}" expected number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`"${name}" expected an integer ≥ ${min}, got ${value}`);
  }
  return value;
}
