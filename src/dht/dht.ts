/**
 * A typed BEP 44 client over bittorrent-dht 11.0.12 (pinned).
 *
 * bittorrent-dht owns the UDP socket, the routing table (BEP 5) and the storage of other nodes' items
 * (BEP 44, it answers `get`/`put` queries). For our own lookups and stores we send KRPC queries on its
 * socket directly (`_rpc.socket.query`), because the library's `get`/`put` hide what we need:
 * - `get` keeps one value (the first valid reply for the highest seq). A topic slot can hold different
 *   values on different nodes, and the tracker wants all of them, so {@link Dht.getAll} keeps every
 *   distinct signature-valid item and the nodes that returned it.
 * - `put` folds every per-node outcome except 3xx into "All queries failed". {@link Dht.put} sends the
 *   `put` queries itself and reports each node's outcome: accepted, an error code (203 bad token,
 *   205 too large, 301 CAS mismatch, 302 seq not greater, 400 cannot verify, …) or a timeout.
 *
 * Racing writers (PROTOCOL.md §6.2, §6.3). A storing node keeps one item per target, and for an equal
 * seq bittorrent-dht keeps the first and answers 302, while libtorrent keeps the first and answers
 * success. Two measures keep `accepted` true:
 * - **BEP 44 `cas`.** A put to a node that held an item when our walk (or the borrowed `responders`)
 *   read it carries `cas` = that item's seq. A node whose item changed in the meantime answers 301 (both
 *   bittorrent-dht and libtorrent check `cas` before `seq`), a conflict like 302. A node that held
 *   nothing gets no `cas` (BEP 44 defines it against a stored seq).
 * - **Read-back.** Where a "stored" answer cannot be trusted (a libtorrent node that no `cas` protected,
 *   see {@link needsReadBack}), one `get` query to that node checks that it holds our exact item (seq,
 *   value, signature); one that does not is moved to `rejected` with code `ENOTSTORED`.
 * - k-rpc's own walk (`_rpc.closest`) hides failed queries, cannot be stopped without a reply, waits
 *   a whole query timeout for every dead node among the closest, and never calls back after
 *   `destroy()`. Our walk (`lookup.ts`, the BEP 5 iterative lookup) sees each outcome, so timeouts are
 *   counted, and it stops waiting for a silent node after a stall delay that follows the measured
 *   round trips (`rtt.ts`; at most `queryStallMs`).
 * - k-rpc's query queue (`_rpc.query`) caps queries in flight per socket, and a query to a dead node
 *   holds its place until it times out, so a few dead nodes would stall every other query. Each walk
 *   caps its own queries in flight instead (`concurrency`), and an attempt's puts go out at once.
 *
 * Every promise is settled by this class (see `op.ts`): by the operation, its timer, its `AbortSignal`
 * or `close()`. KRPC callbacks that come after their walk ended only update counters and the routing
 * table. `close()` destroys the library (its timers and socket) and waits for the socket to close,
 * after which nothing of ours keeps the process alive.
 *
 * Limits: bittorrent-dht is IPv4 only (udp4). BEP 44 values here are byte strings of at most 996
 * bytes (see `bep44.ts`).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { bytesToHex } from '@noble/hashes/utils.js';
import DHT, { type KrpcError, type KrpcMessage, type QueryCallback, type QueryTarget } from 'bittorrent-dht';
import { z } from 'zod';
import { Lru } from '../crypto/lru.js';
import type { CryptoSuite } from '../crypto/suite.js';
import { GttError, throwIfAborted } from '../errors.js';
import {
  assertBytes,
  assertSeq,
  assertValue,
  equalBytes,
  type MutableItem,
  normaliseSalt,
  PUBLIC_KEY_BYTES,
  type RejectReason,
  type ReplyItemFields,
  readReplyItem,
  SEED_BYTES,
  signMutable,
  TARGET_BYTES,
  targetOf,
  verifyMutable,
} from './bep44.js';
import {
  type DhtConfig,
  type DhtOptions,
  type HostPort,
  MIN_QUERY_STALL_MS,
  parseDhtOptions,
} from './config.js';
import { BootstrapAttempts, createLivenessStats, Liveness, type LivenessStats } from './liveness.js';
import { type Contact, compareDistance, decodeNodes, Lookup } from './lookup.js';
import { abortable, Operation, type Tracked } from './op.js';
import { QueryPacer } from './pacer.js';
import { RttEstimator } from './rtt.js';
import {
  createServerStats,
  type ImpairedNode,
  type Impairment,
  impairReplies,
  type ServerStats,
  sendReadOnly,
  tuneServing,
} from './serve.js';

/** A DHT node: its id and UDP address. */
export interface NodeRef {
  readonly id: Uint8Array;
  readonly host: string;
  readonly port: number;
}

/** A distinct, signature-valid item found by a lookup, and every node that returned it. */
export interface FoundValue extends MutableItem {
  /** The nodes that returned this item; grows until the lookup settles. */
  readonly from: NodeRef[];
}

/** A node that answered a lookup with a write token (so it can be asked to store). */
export interface LookupNode extends NodeRef {
  /** The write token it handed out (BEP 5 / BEP 44); valid for a few minutes. */
  readonly token: Uint8Array;
  /** The verified item it holds for the slot, if any. */
  readonly item?: MutableItem;
  /** Why the item it returned was rejected, if it returned a bad one. */
  readonly invalid?: RejectReason;
}

/** Outcome of {@link Dht.getAll}. */
export interface GetAllResult {
  /** SHA-1(publicKey || salt). */
  readonly target: Uint8Array;
  /** Every distinct valid item (by seq, value and signature), highest seq first. */
  readonly values: FoundValue[];
  /** Every node that answered with a token, closest to the target first. */
  readonly nodes: LookupNode[];
  /** Nodes that answered at all. */
  readonly responded: number;
  /** Replies whose item was rejected, by reason (reasons never seen are absent). */
  readonly rejected: Partial<Record<RejectReason, number>>;
  /** True when the overall timeout ended the lookup before it converged. */
  readonly timedOut: boolean;
}

/** The slot an item lives in: an ed25519 public key and an optional salt (empty salt = no salt). */
export interface Slot {
  readonly publicKey: Uint8Array;
  readonly salt?: Uint8Array;
}

/** A slot we can write: its public key with the 32-byte ed25519 seed (`secretKey`). */
export interface SigningSlot extends Slot {
  readonly secretKey: Uint8Array;
}

/** Options of {@link Dht.getAll}. */
export interface GetAllOptions {
  readonly signal?: AbortSignal;
  /** Overall budget (default `getTimeoutMs`); on expiry the lookup resolves with what it has. */
  readonly timeoutMs?: number;
  /** Called once per new distinct valid item, as soon as it arrives. If it throws, `getAll` rejects. */
  readonly onValue?: (value: FoundValue) => void;
  /**
   * Ask only these nodes, all at once, and do not walk on to the nodes their replies name: one round
   * trip instead of a walk. For a second look at a slot whose closest nodes a recent `getAll` found
   * (its `nodes`): what they hold may have changed within seconds, who they are has not. Nodes beyond
   * the `k` closest given are not asked.
   */
  readonly nodes?: readonly NodeRef[];
}

/** Options of {@link Dht.put}. */
export interface PutOptions {
  /** BEP 44 sequence number: a safe integer ≥ 0, greater than what the nodes hold. */
  readonly seq: number;
  readonly signal?: AbortSignal;
  /** Budget of one attempt's lookup (default `putTimeoutMs`); puts then wait for their own replies. */
  readonly timeoutMs?: number;
  /** Extra attempts after a failed one (default `putRetries`). */
  readonly retries?: number;
  /** Base delay before a retry (default `putRetryDelayMs`). */
  readonly retryDelayMs?: number;
  /** Maximum random delay added to a retry (default `putRetryJitterMs`). */
  readonly retryJitterMs?: number;
  /** Nodes that must store the item for an attempt to succeed (default 1). */
  readonly minAccepted?: number;
  /**
   * Picks the nodes to store on from the lookup's responders (closest first). Default: the `k`
   * closest.
   */
  readonly select?: (nodes: LookupNode[]) => LookupNode[];
  /**
   * The responders (with their tokens) of a recent `getAll` of the same slot: the first attempt stores
   * on them without a walk of its own. Tokens stay valid for 5–10 minutes (bittorrent-dht rotates its
   * secret every 5, libtorrent accepts the last two), so a read a few seconds old saves one walk. If
   * that attempt falls short for any reason but a conflict, a normal attempt (walk, then put) follows
   * at once, without counting as a retry.
   */
  readonly responders?: readonly LookupNode[];
}

/**
 * A node that refused a put: `code` is the KRPC error code (e.g. 302) or a string such as
 * 'EUNEXPECTEDNODE', or 'ENOTSTORED' for a node that answered success but whose read-back showed
 * another item or none (see the module comment).
 */
export interface PutRejection {
  readonly node: NodeRef;
  readonly code: number | string;
  readonly message: string;
  /**
   * True when the node holds another item that keeps ours out, so the same seq cannot win there: 301
   * (its item changed since we read it), 302 (it holds an equal or higher seq), and `ENOTSTORED` when
   * the read-back showed an item.
   */
  readonly conflict: boolean;
}

/** Per-node outcomes of one put attempt. */
export interface PutAttempt {
  /**
   * Nodes that stored the item: they answered success, and where that answer could not be trusted, a
   * read-back showed our exact item (module comment).
   */
  readonly accepted: NodeRef[];
  /**
   * Nodes that answered 302 while holding exactly this item (same seq, value and signature, as their
   * `get` reply showed): bittorrent-dht answers 302 to an identical re-put. They count toward
   * `minAccepted`.
   */
  readonly alreadyStored: NodeRef[];
  readonly rejected: PutRejection[];
  /** Nodes whose put query timed out, or whose read-back did not answer within the attempt's budget. */
  readonly timedOut: NodeRef[];
  /** Nodes that answered the lookup. */
  readonly responded: number;
  /** True when the attempt's budget ended its lookup early. */
  readonly lookupTimedOut: boolean;
  /** Nodes the put queries went to (after `select`). */
  readonly selected: number;
}

/** Outcome of {@link Dht.put}: the per-node outcomes of the last attempt, and every attempt's. */
export interface PutResult extends PutAttempt {
  /** True when the last attempt reached `minAccepted` (accepted + alreadyStored). */
  readonly ok: boolean;
  readonly target: Uint8Array;
  readonly seq: number;
  /** Attempts made (1 + retries used, + 1 when borrowed `responders` fell short). */
  readonly attempts: number;
  readonly history: PutAttempt[];
}

/** Outcome of {@link Dht.refresh}. */
export interface RefreshResult {
  /** Nodes that answered the walk. */
  readonly responded: number;
  /** True when `getTimeoutMs` ended the walk before it converged. */
  readonly timedOut: boolean;
}

/** Cheap counters, updated in place. */
export interface DhtStats {
  /** Walks started (getAll, put attempts, refresh); a `getAll` of given `nodes` counts as one. */
  lookups: number;
  /** Walks ended by their budget before converging. */
  lookupsTimedOut: number;
  /** `get` / `find_node` queries sent by our walks. */
  queriesSent: number;
  /** Walk queries a walk stopped waiting for after its stall delay (most later time out). */
  queriesStalled: number;
  /** Queries not sent because their node's pace queue was full (`pacer.ts`; failed with `EPACED`). */
  queriesPaced: number;
  /** Walk and put queries that hit the per-query timeout (also after their walk ended). */
  queriesTimedOut: number;
  /** Walk queries answered with an error, a malformed reply or an unexpected node id. */
  queryErrors: number;
  /** Replies whose item was rejected, by reason (reasons never seen are absent). */
  valuesRejected: Partial<Record<RejectReason, number>>;
  /** `put` queries sent. */
  putsSent: number;
  /** `put` queries a node accepted (after the read-back, when one was needed). */
  putsAccepted: number;
  /**
   * `put` queries refused, by code (e.g. `"302"`, `"EUNEXPECTEDNODE"`; `"ENOTSTORED"`: answered success
   * but the read-back did not show our item).
   */
  putsRejected: Record<string, number>;
  /** Read-back `get` queries sent after a "stored" answer that could not be trusted. */
  putsReadBack: number;
  /** Socket errors reported by bittorrent-dht after start-up. */
  socketErrors: number;
  /** Warnings reported by bittorrent-dht (undecodable datagrams, stray replies, …). */
  warnings: number;
  /** The serving side: rate limit, stored items, refused puts by reason (see `serve.ts`). */
  server: ServerStats;
  /** Bucket refreshes and re-bootstraps (see `liveness.ts`). */
  liveness: LivenessStats;
}

/** Verified items remembered per node (guess: a topic's two minutes hold a few dozen; ≤ 256 kB). */
const VERIFIED_CACHE_ITEMS = 256;

/** KRPC codes meaning the node holds a newer or conflicting item: retrying the same seq cannot win. */
const CONFLICT_CODES: ReadonlySet<number | string> = new Set([301, 302]);
/** libtorrent's KRPC client version prefix (BEP 5 `v`: two letters naming the client, then its version). */
const LIBTORRENT_VERSION = [0x4c, 0x54]; // "LT"

/** @internal `createTestnet`'s hook: impair this node's replies like a real DHT node's (`serve.ts`). */
export const kImpair: unique symbol = Symbol('gossip-topic-tracker.impair');

const Bytes = z.instanceof(Uint8Array);
/** The envelope of a `get` / `find_node` reply (BEP 5, BEP 44); item fields are read by `readReplyItem`. */
const ReplyEnvelope = z.looseObject({
  id: Bytes.refine((b) => b.length === TARGET_BYTES, 'node id must be 20 bytes'),
  token: Bytes.optional(),
  nodes: Bytes.optional(),
});
type ReplyEnvelope = z.infer<typeof ReplyEnvelope>;

type Walk = { stop(): void };

/**
 * A BEP 44 client and storing node on the mainline DHT. Create with {@link Dht.create}; always
 * {@link Dht.close}.
 */
export class Dht {
  /** This node's 20-byte id. */
  readonly id: Uint8Array;
  readonly #dht: DHT;
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
  };
  /**
   * Items whose BEP 44 signature checked out, by target | seq | signature, with their value; the least
   * recently used goes first when full. A record is held by several nodes and read again by later walks (the publisher's and the
   * merges' reads, a put's own walk): one Ed25519 verification per distinct item, not one per walk.
   */
  readonly #verified = new Lru<string, Uint8Array>(VERIFIED_CACHE_ITEMS);
  /** Stall delays of walks; undefined when stalls are off (`queryStallMs` ≥ `queryTimeoutMs`). */
  readonly #rtt: RttEstimator | undefined;
  #address: { host: string; port: number } | undefined;
  #closing: Promise<void> | undefined;
  readonly #liveness: Liveness;
  /** Every query we send goes through it: at most a few per second to one node (`pacer.ts`). */
  readonly #pacer = new QueryPacer();
  /** Set by a testnet that impairs this node (`kImpair`). */
  #impaired: ImpairedNode | undefined;

  private constructor(config: DhtConfig, bootstrap: readonly HostPort[]) {
    this.#config = config;
    this.#bootstrap = bootstrap;
    this.#rtt =
      config.queryStallMs < config.queryTimeoutMs
        ? new RttEstimator({ minMs: MIN_QUERY_STALL_MS, maxMs: config.queryStallMs })
        : undefined;
    this.#dht = new DHT({
      // We run the bootstrap walk ourselves (see #awaitBootstrap) and fall back on `bootstrap` in
      // every walk while the routing table is small.
      bootstrap: false,
      timeout: config.queryTimeoutMs,
      k: config.k,
      concurrency: config.concurrency,
      maxValues: config.maxStoredValues,
      verify: storeVerifier(config.crypto),
    });
    this.id = new Uint8Array(this.#dht.nodeId);
    tuneServing(this.#dht, config, this.#stats.server);
    if (config.readOnly) sendReadOnly(this.#dht);
    // Bucket refresh and re-bootstrap; its timer starts once `create` has bootstrapped.
    this.#liveness = new Liveness({
      rpc: this.#dht._rpc,
      bootstrap,
      config: config.liveness,
      stats: this.#stats.liveness,
      queriesSent: () => this.#stats.queriesSent + this.#stats.putsSent,
      query: (to, message, cb) =>
        this.#query(to, message, (error, reply) => cb(!error && reply?.r !== undefined)),
      refresh: (target) => this.refresh({ target }),
    });
    // An 'error' event without a listener would throw: count it instead.
    this.#dht.on('error', () => {
      this.#stats.socketErrors++;
    });
    this.#dht.on('warning', () => {
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

  /** Nodes in the routing table. */
  nodeCount(): number {
    return this.#closing ? 0 : this.#dht.nodes.count();
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
    assertBytes(slot.publicKey, 'publicKey', PUBLIC_KEY_BYTES);
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
      this.#verifyItem,
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
    const local = this.#dht._values.get(bytesToHex(target));
    if (local) collector.addLocal(local, { id: this.id, ...this.address() });
    const walk = this.#walk(op, target, 'get', collector, () => op.resolve(collector.result(false)), only);
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
   * (`ok: false`). Puts to nodes that held an item carry BEP 44 `cas` (see the module comment).
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
    assertBytes(slot.publicKey, 'publicKey', PUBLIC_KEY_BYTES);
    assertBytes(slot.secretKey, 'secretKey', SEED_BYTES);
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
    let responders = options.responders;
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
    const history: PutAttempt[] = [];
    for (;;) {
      const attempt = await this.#putAttempt(item, target, timeoutMs, select, options.signal, responders);
      history.push(attempt);
      const ok = attempt.accepted.length + attempt.alreadyStored.length >= minAccepted;
      const conflict = attempt.rejected.some((r) => r.conflict);
      if (responders !== undefined && !ok && !conflict) {
        // The borrowed responders fell short (gone, new tokens): walk for fresh ones, now.
        responders = undefined;
        continue;
      }
      responders = undefined;
      // A custom `select` that picked no node among live responders chose not to store: a retry would
      // see the same nodes and choose the same way.
      const declined = select !== undefined && attempt.selected === 0 && attempt.responded > 0;
      if (ok || conflict || declined || history.length > retries) {
        return { ...attempt, ok, target, seq: item.seq, attempts: history.length, history };
      }
      await this.#sleep(retryDelayMs + Math.floor(c.random() * retryJitterMs), options.signal);
    }
  }

  #verifyItem = (item: MutableItem, target: string): boolean => {
    const key = `${target}|${item.seq}|${bytesToHex(item.signature)}`;
    const known = this.#verified.get(key);
    if (known !== undefined && equalBytes(known, item.value)) return true;
    if (!verifyMutable(item, this.#config.crypto)) return false;
    this.#verified.set(key, new Uint8Array(item.value));
    return true;
  };

  /**
   * Refreshes the routing table (BEP 5): one `find_node` walk toward our own id, which adds the nodes
   * closest to us and makes them add us, or toward `target` (BEP 5's bucket refresh walks toward a
   * random id in a bucket's range; every node that answers lands in our table). Resolves when the walk
   * converges or after `getTimeoutMs`.
   * @throws {GttError} `ABORTED` when `signal` aborts, `CLOSED` when the Dht is or gets closed;
   *   RangeError when `target` is not 20 bytes.
   */
  async refresh({
    signal,
    target,
  }: {
    signal?: AbortSignal;
    target?: Uint8Array;
  } = {}): Promise<RefreshResult> {
    if (target !== undefined && (!(target instanceof Uint8Array) || target.length !== this.id.length)) {
      throw new RangeError(
        `"target" expected Uint8Array of length ${this.id.length}, got length=${target?.length}`,
      );
    }
    const op = this.#begin<RefreshResult>(signal);
    if (op.settled) return op.promise;
    let responded = 0;
    const counter = { add: () => void responded++ };
    const walk = this.#walk(op, target ?? this.id, 'find_node', counter, () =>
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
    this.#impaired = impairReplies(this.#dht, impairment);
    return this.#impaired;
  }

  async #close(): Promise<void> {
    const closed = GttError.closed('Dht');
    this.#impaired?.close();
    this.#liveness.close();
    this.#pacer.close();
    for (const op of [...this.#ops]) op.reject(closed);
    await new Promise<void>((resolve) => {
      try {
        this.#dht.destroy(() => resolve());
      } catch {
        // The socket was never running (e.g. a failed bind): nothing left to close.
        resolve();
      }
    });
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
    const dht = this.#dht;
    const onListening = () => {
      const address = dht.address();
      this.#address = { host: address.address, port: address.port };
      op.resolve();
    };
    const onError = (error: Error) => {
      op.reject(
        new GttError('DHT_LISTEN_FAILED', `Could not bind UDP ${host}:${port}: ${error.message}`, {
          cause: error,
        }),
      );
    };
    // k-rpc-socket reports EACCES/EADDRINUSE as 'error' and other bind errors as 'warning'.
    const onWarning = (error: Error & { syscall?: string }) => {
      if (error.syscall === 'bind') onError(error);
    };
    dht.once('listening', onListening);
    dht.on('error', onError);
    dht.on('warning', onWarning);
    op.defer(() => {
      dht.off('listening', onListening);
      dht.off('error', onError);
      dht.off('warning', onWarning);
    });
    dht.listen(port, host);
    return op.promise;
  }

  /**
   * The bootstrap walk (BEP 5): a `find_node` walk toward our own id, seeded with the bootstrap
   * addresses. bittorrent-dht's own bootstrap walk is disabled (`bootstrap: false`): it waits a whole
   * query timeout for every dead node, and its `ready` event fires even when nobody answered.
   */
  #awaitBootstrap(signal: AbortSignal | undefined): Promise<void> {
    if (this.#bootstrap.length === 0) return Promise.resolve();
    const op = this.#begin<void>(signal);
    const ms = this.#config.bootstrapTimeoutMs;
    const attempts = new BootstrapAttempts(this.#bootstrap, this.#config.queryTimeoutMs);
    const stats = this.#stats;
    const before = { sent: stats.queriesSent, timedOut: stats.queriesTimedOut, errors: stats.queryErrors };
    let responded = 0;
    let walk: Walk | undefined;
    // k-rpc adds a responder to the routing table just after our callback runs: count replies too.
    const joined = (): boolean => responded > 0 || this.#dht.nodes.count() > 0;
    const start = (): void => {
      attempts.started();
      walk = this.#walk(op, this.id, 'find_node', { add: () => void responded++ }, ended);
    };
    // A walk nobody answered lost its datagrams or met a node still starting: walk again (paced by
    // BootstrapAttempts) until the deadline, rather than failing at the first lost packet.
    const ended = (): void => {
      if (joined()) op.resolve();
      else op.timer(attempts.retryDelayMs(), start);
    };
    op.timer(ms, () => {
      walk?.stop();
      if (joined()) {
        op.resolve();
        return;
      }
      const counts = {
        sent: stats.queriesSent - before.sent,
        timedOut: stats.queriesTimedOut - before.timedOut,
        errors: stats.queryErrors - before.errors,
      };
      op.reject(new GttError('DHT_BOOTSTRAP_FAILED', attempts.message(ms, counts)));
    });
    start();
    return op.promise;
  }

  /**
   * Runs one iterative walk (see `lookup.ts`) toward `target` with `get` or `find_node` queries, calling
   * `sink.add` for every valid reply and `onDone` once when it converges. Stops when `op` settles or
   * `stop()` is called; later replies are ignored, except that failures are still counted and a node
   * that timed out still leaves the routing table. With `only`, a single round instead: those nodes
   * (the `k` closest of them) are asked at once and the nodes their replies name are not.
   */
  #walk(
    op: Tracked,
    target: Uint8Array,
    query: 'get' | 'find_node',
    sink: { add(reply: Record<string, unknown>, envelope: ReplyEnvelope, from: NodeRef): void },
    onDone: () => void,
    only?: readonly NodeRef[],
  ): Walk {
    const rpc = this.#dht._rpc;
    const { k, concurrency } = this.#config;
    const lookup = new Lookup(target, rpc.id, {
      k,
      alpha: only === undefined ? concurrency : k,
      maxPerReply: this.#config.walkContactsPerReply,
      maxCandidates: this.#config.walkMaxCandidates,
      maxPerPrefix: this.#config.maxNodesPerPrefix,
      distrustAfter: this.#config.walkDistrustAfter,
    });
    if (only !== undefined) {
      lookup.add(only.map((n) => ({ id: n.id, host: n.host, port: n.port })));
    } else {
      const seeds = rpc.nodes.closest(target, k);
      lookup.add(seeds);
      // Like k-rpc: fall back on the bootstrap nodes while the routing table is smaller than their list.
      if (seeds.length < this.#bootstrap.length) lookup.add(this.#bootstrap);
    }
    const message: KrpcMessage = { q: query, a: { id: rpc.id, target: toBuffer(target) } };
    const stallTimers = new Set<() => void>();
    let ended = false;
    const end = (): void => {
      ended = true;
      for (const cancel of stallTimers) cancel();
      stallTimers.clear();
    };
    op.defer(end);
    this.#stats.lookups++;

    const pump = (): void => {
      if (ended) return;
      for (let batch = lookup.next(); batch.length > 0 && !ended; batch = lookup.next()) {
        for (const contact of batch) send(contact);
      }
      if (!ended && lookup.finished) {
        end();
        onDone();
      }
    };
    const stall = (contact: Contact): void => {
      this.#stats.queriesStalled++;
      lookup.onStall(contact);
      pump();
    };
    const send = (contact: Contact): void => {
      this.#stats.queriesSent++;
      const sentAt = performance.now();
      // Bootstrap addresses (no id yet) are the last resort: wait for them until they answer or fail.
      // The stall runs from setImmediate, after the I/O phase: a reply that arrived while the event
      // loop was busy is read first, so CPU load alone does not set a live node aside.
      const cancelStall =
        contact.id && this.#rtt ? this.#schedule(stallTimers, this.#rtt.delayMs, () => stall(contact)) : noop;
      this.#query(toQueryTarget(contact), message, (error, reply) => {
        cancelStall();
        if (this.#closing) return; // destroy() cancels every query: not the nodes' fault
        const r = reply?.r;
        const envelope = r && !error ? ReplyEnvelope.safeParse(r) : undefined;
        if (!r || !envelope?.success) {
          this.#countFailure(contact, error ?? undefined);
          if (!ended) lookup.onFailure(contact);
        } else if (!ended) {
          this.#rtt?.sample(performance.now() - sentAt);
          const { id, nodes } = envelope.data;
          lookup.onResponse(contact, id, nodes && only === undefined ? decodeNodes(nodes) : []);
          sink.add(r, envelope.data, { id: new Uint8Array(id), host: contact.host, port: contact.port });
        }
        pump();
      });
    };
    pump();
    return { stop: end };
  }

  /**
   * `rpc.socket.query` through the pacer (`pacer.ts`): a query over its node's pace waits its turn; one
   * its node's full queue refuses fails, a microtask later, with code `EPACED` (a walk moves on).
   */
  #query(to: QueryTarget, message: KrpcMessage, cb: QueryCallback): void {
    const socket = this.#dht._rpc.socket;
    if (this.#pacer.run(to, () => socket.query(to, message, cb))) return;
    this.#stats.queriesPaced++;
    const error = Object.assign(new Error(`Over the query pace of ${to.host}:${to.port}`), {
      code: 'EPACED',
    }) as KrpcError;
    queueMicrotask(() => cb(error, null, undefined));
  }

  /**
   * Runs `fn` from setImmediate after `ms` (see the stall comment in #walk), unless cancelled. The
   * canceller is kept in `pending` until it runs or is cancelled.
   */
  #schedule(pending: Set<() => void>, ms: number, fn: () => void): () => void {
    let immediate: NodeJS.Immediate | undefined;
    const timer = setTimeout(() => {
      immediate = setImmediate(() => {
        pending.delete(cancel);
        fn();
      });
    }, ms);
    const cancel = (): void => {
      clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
      pending.delete(cancel);
    };
    pending.add(cancel);
    return cancel;
  }

  #countFailure(contact: Contact, error: KrpcError | undefined): void {
    const code = error?.code;
    if (code === 'ETIMEDOUT') this.#stats.queriesTimedOut++;
    else this.#stats.queryErrors++;
    // Like k-rpc's walk: a node that timed out or answered with another id leaves the routing table.
    if ((code === 'ETIMEDOUT' || code === 'EUNEXPECTEDNODE') && contact.id) {
      const nodes = this.#dht._rpc.nodes;
      if (nodes.get(contact.id)) nodes.remove(contact.id);
    }
  }

  #putAttempt(
    item: MutableItem,
    target: Uint8Array,
    timeoutMs: number,
    select: PutOptions['select'],
    signal: AbortSignal | undefined,
    responders?: readonly LookupNode[],
  ): Promise<PutAttempt> {
    const op = this.#begin<PutAttempt>(signal);
    if (op.settled) return op.promise;
    // The attempt's budget bounds its walk and its read-backs (puts wait for their own replies).
    const deadline = performance.now() + timeoutMs;
    if (responders !== undefined) {
      let chosen: LookupNode[];
      try {
        const nodes = [...responders].sort((a, b) => compareDistance(a.id, b.id, target));
        chosen = select ? select(nodes) : nodes.slice(0, this.#config.k);
      } catch (error) {
        op.reject(error);
        return op.promise;
      }
      this.#sendPuts(op, chosen, item, target, {
        responded: responders.length,
        lookupTimedOut: false,
        deadline,
      });
      return op.promise;
    }
    const slot = item.salt ? { publicKey: item.publicKey, salt: item.salt } : { publicKey: item.publicKey };
    const collector = new Collector(slot, target, this.#stats, this.#verifyItem);
    let lookupTimedOut = false;
    let storing = false;
    const store = (): void => {
      if (storing || op.settled) return;
      storing = true;
      cancelTimer();
      let chosen: LookupNode[];
      try {
        const nodes = collector.sortedNodes();
        chosen = select ? select(nodes) : nodes.slice(0, this.#config.k);
      } catch (error) {
        op.reject(error);
        return;
      }
      this.#sendPuts(op, chosen, item, target, { responded: collector.responded, lookupTimedOut, deadline });
    };
    // The timer is armed first: a walk with no candidates converges (and stores) synchronously.
    const cancelTimer = op.timer(timeoutMs, () => {
      walk.stop();
      lookupTimedOut = true;
      this.#stats.lookupsTimedOut++;
      store();
    });
    const walk = this.#walk(op, target, 'get', collector, store);
    return op.promise;
  }

  /**
   * Sends the `put` queries (with `cas` where the node held an item), reads back the "stored" answers
   * that {@link needsReadBack} distrusts, and resolves `op` once every node is settled.
   */
  #sendPuts(
    op: Operation<PutAttempt>,
    nodes: readonly LookupNode[],
    item: MutableItem,
    target: Uint8Array,
    context: { responded: number; lookupTimedOut: boolean; deadline: number },
  ): void {
    const rpc = this.#dht._rpc;
    const seen = new Set<string>();
    const targets = nodes.filter((n) => {
      const key = `${n.host}:${n.port}`;
      if (seen.has(key) || !(n.token instanceof Uint8Array) || !(n.id instanceof Uint8Array)) return false;
      seen.add(key);
      return true;
    });
    const attempt = {
      accepted: [] as NodeRef[],
      alreadyStored: [] as NodeRef[],
      rejected: [] as PutRejection[],
      timedOut: [] as NodeRef[],
      responded: context.responded,
      lookupTimedOut: context.lookupTimedOut,
      selected: targets.length,
    };
    let pending = targets.length;
    if (pending === 0) {
      op.resolve(attempt);
      return;
    }
    const settleOne = (): void => {
      if (--pending === 0) op.resolve(attempt);
    };
    const accept = (ref: NodeRef): void => {
      this.#stats.putsAccepted++;
      attempt.accepted.push(ref);
    };
    const reject = (ref: NodeRef, code: number | string, message: string, conflict: boolean): void => {
      this.#stats.putsRejected[String(code)] = (this.#stats.putsRejected[String(code)] ?? 0) + 1;
      attempt.rejected.push({ node: ref, code, message, conflict });
    };
    const getMessage: KrpcMessage = { q: 'get', a: { id: rpc.id, target: toBuffer(target) } };
    const slot = item.salt ? { publicKey: item.publicKey, salt: item.salt } : { publicKey: item.publicKey };
    /** One `get` to a node that said it stored the item: accepted only if it shows exactly our item. */
    const readBack = (node: QueryTarget, ref: NodeRef): void => {
      this.#stats.putsReadBack++;
      let done = false;
      // The rest of the attempt's budget, but at least the stall delay: the node answered our put a
      // moment ago, so a live node answers within a round trip even when the walk used the budget up.
      const floorMs = this.#rtt?.delayMs ?? this.#config.queryTimeoutMs;
      const cancel = op.timer(Math.max(context.deadline - performance.now(), floorMs), () => {
        if (done) return;
        done = true;
        attempt.timedOut.push(ref);
        settleOne();
      });
      this.#query(node, getMessage, (error, reply) => {
        const timedOut = error?.code === 'ETIMEDOUT';
        if (timedOut) this.#stats.queriesTimedOut++;
        if (op.settled || done) return;
        done = true;
        cancel();
        if (timedOut) attempt.timedOut.push(ref);
        else {
          const held = error || !reply?.r ? undefined : readReplyItem(reply.r, slot);
          if (held?.kind === 'candidate' && sameItem(held.item, item)) accept(ref);
          else {
            const what =
              held === undefined
                ? `its get failed (${error?.message ?? 'no reply'})`
                : held.kind === 'none'
                  ? 'it holds no item'
                  : held.kind === 'candidate'
                    ? `it holds another item (seq ${held.item.seq})`
                    : `it holds an item that does not parse (${held.reason})`;
            // An item there keeps ours out (as 302 would say); an empty node just did not store it.
            reject(
              ref,
              'ENOTSTORED',
              `Answered put with success, but ${what}`,
              held?.kind === 'candidate' || held?.kind === 'invalid',
            );
          }
        }
        settleOne();
      });
    };
    for (const node of targets) {
      const ref: NodeRef = { id: node.id, host: node.host, port: node.port };
      const a: Record<string, unknown> = {
        id: rpc.id,
        token: toBuffer(node.token),
        k: toBuffer(item.publicKey),
        seq: item.seq,
        sig: toBuffer(item.signature),
        v: toBuffer(item.value),
      };
      if (item.salt) a.salt = toBuffer(item.salt);
      // BEP 44 `cas`: store only if the node still holds the seq our read saw (else 301).
      if (node.item !== undefined) a.cas = node.item.seq;
      this.#stats.putsSent++;
      const to: QueryTarget = { host: node.host, port: node.port, id: toBuffer(node.id) };
      this.#query(to, { q: 'put', a }, (error, reply) => {
        if (op.settled) return;
        if (!error) {
          if (needsReadBack(node, item, reply)) {
            readBack(to, ref);
            return;
          }
          accept(ref);
        } else if (error.code === 'ETIMEDOUT') {
          this.#stats.queriesTimedOut++;
          attempt.timedOut.push(ref);
        } else {
          const code = error.code ?? 'UNKNOWN';
          if (code === 302 && node.item && sameItem(node.item, item)) {
            this.#stats.putsRejected[String(code)] = (this.#stats.putsRejected[String(code)] ?? 0) + 1;
            attempt.alreadyStored.push(ref);
          } else reject(ref, code, error.message, CONFLICT_CODES.has(code));
        }
        settleOne();
      });
    }
  }

  /** Waits `ms`; rejects with ABORTED / CLOSED like any other operation. */
  #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    const op = this.#begin<void>(signal);
    op.timer(ms, () => op.resolve());
    return op.promise;
  }
}

/**
 * Collects the replies of one walk toward a slot: the responders with tokens, and each distinct item
 * (by seq, value and signature), verified once: the same item served by several storing nodes costs
 * one Ed25519 verification per walk.
 */
class Collector {
  responded = 0;
  readonly rejected: Partial<Record<RejectReason, number>> = {};
  readonly #nodes: LookupNode[] = [];
  readonly #values: FoundValue[] = [];
  /** Distinct item key → the found value, or why it was rejected. */
  readonly #verdicts = new Map<string, FoundValue | RejectReason>();
  readonly #slot: Slot;
  readonly #target: Uint8Array;
  readonly #stats: DhtStats;
  /** Checks an item's signature (`target`: hex, for the node's cache of verified items). */
  readonly #verify: (item: MutableItem, target: string) => boolean;
  readonly #targetHex: string;
  readonly #onValue: ((value: FoundValue) => void) | undefined;

  constructor(
    slot: Slot,
    target: Uint8Array,
    stats: DhtStats,
    verify: (item: MutableItem, target: string) => boolean,
    onValue?: (value: FoundValue) => void,
  ) {
    this.#slot = slot;
    this.#target = target;
    this.#targetHex = bytesToHex(target);
    this.#stats = stats;
    this.#verify = verify;
    this.#onValue = onValue;
  }

  /** A node's reply to our `get`. */
  add(reply: Record<string, unknown>, envelope: ReplyEnvelope, from: NodeRef): void {
    this.responded++;
    this.#take(reply, from, envelope.token);
  }

  /** The item our own node stores for the slot (it is one of the DHT's nodes too). */
  addLocal(stored: ReplyItemFields, self: NodeRef): void {
    this.#take(stored, self, undefined);
  }

  #take(fields: ReplyItemFields, from: NodeRef, token: Uint8Array | undefined): void {
    const read = readReplyItem(fields, this.#slot);
    let found: FoundValue | undefined;
    let invalid: RejectReason | undefined;
    let isNew = false;
    if (read.kind === 'invalid') invalid = read.reason;
    else if (read.kind === 'candidate') {
      const key = itemKey(read.item);
      let verdict = this.#verdicts.get(key);
      if (verdict === undefined) {
        verdict = this.#verify(read.item, this.#targetHex) ? copyItem(read.item) : 'bad-signature';
        this.#verdicts.set(key, verdict);
        isNew = typeof verdict !== 'string';
        if (isNew) this.#values.push(verdict as FoundValue);
      }
      if (typeof verdict === 'string') invalid = verdict;
      else {
        found = verdict;
        found.from.push(from);
      }
    }
    if (invalid) {
      this.rejected[invalid] = (this.rejected[invalid] ?? 0) + 1;
      this.#stats.valuesRejected[invalid] = (this.#stats.valuesRejected[invalid] ?? 0) + 1;
    }
    if (token) {
      const node: LookupNode = { ...from, token: new Uint8Array(token) };
      this.#nodes.push(found ? { ...node, item: found } : invalid ? { ...node, invalid } : node);
    }
    if (isNew && found) this.#onValue?.(found);
  }

  /** Responders with a token, closest to the target first. */
  sortedNodes(): LookupNode[] {
    return [...this.#nodes].sort((a, b) => compareDistance(a.id, b.id, this.#target));
  }

  result(timedOut: boolean): GetAllResult {
    return {
      target: this.#target,
      values: [...this.#values].sort((a, b) => b.seq - a.seq),
      nodes: this.sortedNodes(),
      responded: this.responded,
      rejected: { ...this.rejected },
      timedOut,
    };
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

/** Resolves host names with `dns.lookup(host, {family: 4})`; drops names that do not resolve. */
async function resolveBootstrap(entries: readonly HostPort[]): Promise<HostPort[]> {
  const resolved = await Promise.all(
    entries.map(async (entry) => {
      if (isIP(entry.host) === 4) return entry;
      try {
        const { address } = await dnsLookup(entry.host, { family: 4 });
        return { host: address, port: entry.port };
      } catch {
        return undefined;
      }
    }),
  );
  const unique = new Map<string, HostPort>();
  for (const r of resolved) if (r) unique.set(`${r.host}:${r.port}`, r);
  if (entries.length > 0 && unique.size === 0) {
    const names = entries.map((e) => `${e.host}:${e.port}`).join(', ');
    throw new GttError('DHT_BOOTSTRAP_FAILED', `No bootstrap host resolved to an IPv4 address (${names})`);
  }
  return [...unique.values()];
}

/**
 * Whether a node's "stored" answer to our put must be checked with a read-back (a `get` to that node):
 * when no `cas` protected the put and the node is libtorrent (its reply's BEP 5 `v` starts with "LT").
 *
 * `cas` protects a put whose seq is above the one the node held: the node then stores ours or answers
 * 301, on every implementation. A node holding exactly our item tells the truth either way. Otherwise
 * (it held nothing, junk, or another item at our seq) an equal-seq item of a racing writer may be
 * there: bittorrent-dht answers 302, so its success is true, but libtorrent answers success and keeps
 * the first item. Measured with 5 publishers racing on 30 libtorrent nodes (30 trials,
 * test/interop/racing.test.ts, `npm run test:interop`): without the read-back 40–47 % of the copies
 * reported stored on libtorrent nodes did not exist, and 7–13 of 150 records were lost; with it, none.
 *
 * Why libtorrent only, not every unprotected node: a read-back costs one more round trip (one `get`
 * per node read back, sent as its put reply arrives, all in parallel). bittorrent-dht sends no `v`, so
 * on our testnets (and in `npm run bench:dht`) nothing is read back and a publish costs what it did;
 * reading back every unprotected node would add that round trip to every publish there, to confirm
 * answers that are true.
 */
function needsReadBack(node: LookupNode, item: MutableItem, reply: KrpcMessage | null): boolean {
  const held = node.item;
  if (held !== undefined && (held.seq < item.seq || sameItem(held, item))) return false;
  const version = (reply as { v?: unknown } | null)?.v;
  return (
    version instanceof Uint8Array &&
    version.length >= LIBTORRENT_VERSION.length &&
    LIBTORRENT_VERSION.every((byte, i) => version[i] === byte)
  );
}

function itemKey(item: MutableItem): string {
  return `${item.seq}:${bytesToHex(item.signature)}:${bytesToHex(item.value)}`;
}

function sameItem(a: MutableItem, b: MutableItem): boolean {
  return a.seq === b.seq && equalBytes(a.signature, b.signature) && equalBytes(a.value, b.value);
}

/** Copies an item out of the datagram buffer it was decoded from. */
function copyItem(item: MutableItem): FoundValue {
  const copy = {
    publicKey: new Uint8Array(item.publicKey),
    seq: item.seq,
    value: new Uint8Array(item.value),
    signature: new Uint8Array(item.signature),
    from: [] as NodeRef[],
  };
  return item.salt ? { ...copy, salt: new Uint8Array(item.salt) } : copy;
}

function noop(): void {}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toQueryTarget(contact: Contact): QueryTarget {
  return contact.id
    ? { host: contact.host, port: contact.port, id: toBuffer(contact.id) }
    : { host: contact.host, port: contact.port };
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
