/**
 * The one module that reaches bittorrent-dht 11.0.12 (pinned) and the k-rpc 5.1.0 / k-rpc-socket
 * 1.11.1 / k-bucket 5.1.0 under it. Everything else in `src/dht` sees {@link KrpcNode}: a UDP socket
 * that sends KRPC queries and hands back the whole reply, a routing table, the token secrets, and the
 * serving hooks. bittorrent-dht keeps the socket, the routing table (BEP 5) and answers `ping`,
 * `find_node`, `get_peers` and `announce_peer` itself; `get` / `put` are answered by `serve.ts`.
 * A version bump must re-check every internal named in `types/bittorrent-dht.d.ts`.
 *
 * Where messages pass (BEP 42 reads and writes top-level keys there):
 * - every reply to a query of ours (our walks and puts, and bittorrent-dht's own pings) reaches
 *   {@link KrpcNode.query}'s callback as the whole decoded message (`reply.ip`, `reply.v`, …) with the
 *   responder's address, through the one wrapper of k-rpc-socket's `query` in `guardSocket`;
 * - every reply and error our node sends, ours and bittorrent-dht's own, leaves through `sendReply`,
 *   which has the querier's address and the message before it is encoded.
 *
 * ## Defects of bittorrent-dht 11.0.12 we work around, and the fix upstream would take
 * Client side:
 * 1. **`get` keeps one value** (the first valid reply for the highest seq). A topic slot holds different
 *    values on different nodes: `Dht.getAll` sends its own `get` queries and keeps every distinct
 *    signature-valid item and the nodes that returned it (`collector.ts`). Upstream: report every
 *    distinct value (a per-value callback).
 * 2. **`put` folds every per-node outcome except 3xx into "All queries failed"** (`queryAll`).
 *    `put.ts` sends the `put` queries itself and reports each node's outcome (accepted, 203, 205, 301,
 *    302, 400, …, timeout). Upstream: hand back the per-node errors.
 * 3. **k-rpc's walk (`closest`) hides failed queries**, cannot be stopped without a reply, waits a whole
 *    query timeout for every dead node among the closest, and **never calls back after `destroy()`**.
 *    Our walk (`lookup.ts` driven by `walk.ts`) sees each outcome, counts timeouts, stops waiting for a
 *    silent node after a stall delay that follows the measured round trips (`rtt.ts`), and every
 *    promise is settled by the Dht itself (`op.ts`). Upstream: pass failures to `visit`, a stall
 *    delay, and call back with an error on destroy.
 * 4. **k-rpc's query queue stalls**: `_rpc.query` caps queries in flight per socket (`concurrency`), and
 *    a query to a dead node holds its place until it times out, so a few dead nodes stall every other
 *    query. We send on k-rpc-socket directly ({@link KrpcNode.query}); each walk caps its own queries
 *    in flight and an attempt's puts go out at once. Upstream: a cap per operation, not per socket.
 * 5. **`ready` fires with an empty routing table**, after a bootstrap walk that waits a whole timeout for
 *    every dead node. We pass `bootstrap: false` and run our own bootstrap walk with retries (`Dht.create`,
 *    `BootstrapAttempts`). Upstream: `ready` only once a node answered, else an error.
 * 6. **The routing table is never refilled**: k-rpc removes a node whose query timed out and nothing adds
 *    nodes back (bittorrent-dht re-bootstraps only once the table is empty). `liveness.ts` runs BEP 5
 *    bucket refreshes and re-bootstraps with back-off. Upstream: BEP 5 bucket refresh.
 * 7. **Bind errors other than EACCES / EADDRINUSE come as `warning`**, not `error`: {@link KrpcNode.listen}
 *    reads a `warning` from `bind` as a failure too. Upstream: emit every bind error as `error`.
 * 8. **Timers are not unref'd** (k-rpc-socket's timeout check, bittorrent-dht's secret rotation and
 *    bucket check): they keep the process alive until `destroy()`, which `Dht.close()` always calls.
 *    Upstream: `unref()` them.
 * Serving side (installed by {@link KrpcNode.serve}; policy in `serve.ts`, `store.ts`,
 * `server-blocker.ts`, `lookup.ts`):
 * 9. **Replies carry the whole routing table**: the handlers call `closest(target)` with no count (several
 *    kB with a few hundred nodes known); replies now carry the `k` closest. Upstream: pass `k`. And
 *    k-bucket ranks each contact by a 20-byte float distance (about 7 µs per reply on a loaded node);
 *    {@link closestInTree} reads the same buckets and ranks on a 32-bit prefix. Upstream: k-bucket.
 * 10. **The asker is listed in its own reply** (libtorrent then queries itself and waits out a timeout:
 *    a put of a libtorrent client stalled 15 s in the interop lab). Left out here. Upstream: filter it.
 * 11. **Compact node info is encoded on every reply** (k-rpc splits the host string and parses four
 *    integers per node per reply); encoded once per routing-table entry here. Upstream: cache it.
 * 12. **Tokens are hashed on every query**, and are per IP, not per target: one `get` lets an address
 *    write any number of items. `get_peers` tokens are memoised per asker and secret here; `serve.ts`
 *    ties BEP 44 write tokens to the target (immutable targets hashed from the bencoded `v` we would
 *    serve). Upstream: tokens of SHA-1(secret ‖ IP ‖ target), memoised.
 * 13. **The `put` size check reads `v.length` of the decoded value** (a dict or an integer has none, so
 *    any size passes) and salts are not checked; `serve.ts` checks the bencoded length (205) and the
 *    salt (207). Upstream: check the bencoded size.
 * 14. **The Ed25519 signature is checked before CAS and seq**, so stale puts cost a verification each;
 *    `serve.ts` checks shape, sizes, token, CAS and seq first. Upstream: reorder.
 * 15. **The item store keeps the 1,000 most recently read or written items forever**; `store.ts` adds a
 *    lifetime, a share per source and a cap. Upstream: BEP 44 expiry and per-source bounds.
 * 16. **No per-IP rate limit**: `server-blocker.ts` (libtorrent's `dht_block_ratelimit`) drops a blocked
 *    address's datagrams before they are decoded. Upstream: a rate limit on the socket.
 * 17. **Every querier enters the routing table, also BEP 43 read-only ones (`ro=1`)**, which answer no
 *    queries; they are answered but kept out here. Upstream: honour `ro`.
 * 18. **Unsolicited responses enter the routing table**: k-rpc-socket emits `response` for a reply whose
 *    transaction id matches no query (or came from another address), and k-rpc adds its sender. Kept
 *    out here. Upstream: add only the senders of matched replies.
 * 19. **No IP diversity in the routing table**: one host with many ports can fill the buckets. One node per
 *    IPv4 address and at most `maxNodesPerPrefix` per /24 here (libtorrent `dht_restrict_routing_ips`).
 *    Upstream: the same rule in k-bucket's `add`.
 * 20. **Queries never carry BEP 43 `ro=1`** (k-rpc-socket's `query` builds `t`, `y`, `q`, `a` only):
 *    {@link KrpcNode.sendReadOnly} adds it. Upstream: a `readOnly` option.
 *
 * Limits: bittorrent-dht is IPv4 only (udp4).
 */
import type { Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import DHT, {
  type KrpcMessage,
  type DhtContact as LibContact,
  type QueryCallback as LibQueryCallback,
  type RemoteInfo,
} from 'bittorrent-dht';
import { Lru } from '../crypto/lru.js';
import { TARGET_BYTES } from './bep44.js';
import { encodeCompactAddress } from './external.js';
import type {
  KrpcIncoming,
  KrpcQuery,
  KrpcResponder,
  NodeContact,
  Peer,
  QueryCallback,
  QueryTarget,
  SendFn,
  ServeHandlers,
  ServeOptions,
  Verify,
} from './krpc-types.js';
import { hostOf } from './krpc-types.js';
import { COMPACT_NODE_BYTES, compareDistance, IpDiversity } from './lookup.js';
import { type ServerStats, TOKEN_MEMO_MAX } from './serve.js';
import { IpBlocker } from './server-blocker.js';
import type { StoredValue } from './store.js';

/** The bittorrent-dht / k-rpc / k-rpc-socket internals reached here beside the typed ones. */
interface Internals {
  _values: ServeHandlers['values'];
  _onget(query: KrpcIncoming, peer: Peer): void;
  _onput(query: KrpcIncoming, peer: Peer): void;
  _verify: Verify | null;
}
type SocketInternals = {
  socket: Socket;
  send: SendFn;
  response(peer: Peer, query: KrpcIncoming, r: Record<string, unknown>, cb?: unknown): void;
  error(peer: Peer, query: KrpcIncoming, error: unknown, cb?: unknown): void;
};
type Listener = (...args: unknown[]) => void;

/** bittorrent-dht with our changes: the typed interface the rest of `src/dht` uses (module comment). */
export class KrpcNode implements KrpcResponder {
  /** This node's 20-byte id (a copy). */
  readonly id: Uint8Array;
  readonly #dht: DHT;

  constructor(options: {
    timeoutMs: number;
    k: number;
    concurrency: number;
    maxValues: number;
    verify: Verify;
  }) {
    this.#dht = new DHT({
      // We run the bootstrap walk ourselves (defect 5) and fall back on the bootstrap addresses in
      // every walk while the routing table is small.
      bootstrap: false,
      timeout: options.timeoutMs,
      k: options.k,
      concurrency: options.concurrency,
      maxValues: options.maxValues,
      verify: options.verify,
    });
    this.id = new Uint8Array(this.#dht.nodeId);
  }

  get idBuffer(): Buffer {
    return this.#dht._rpc.id;
  }

  get verify(): Verify | null {
    return (this.#dht as unknown as Internals)._verify;
  }

  /** A query message from our node: `{q, a: {id, ...args}}`. */
  message(q: string, args: Record<string, unknown>): KrpcQuery {
    return { q, a: { id: this.#dht._rpc.id, ...args } };
  }

  /** Listens for socket errors (`error`) and other trouble, such as undecodable datagrams (`warning`). */
  on(event: 'error' | 'warning', listener: (error: Error & { syscall?: string }) => void): void {
    this.#dht.on(event, listener);
  }

  /**
   * Binds the UDP socket; `done` runs once it listens, or with the bind error (defect 7). Returns a
   * function that stops listening for either.
   */
  listen(port: number, host: string, done: (error: Error | null) => void): () => void {
    const dht = this.#dht;
    const onListening = () => done(null);
    const onError = (error: Error) => done(error);
    const onWarning = (error: Error & { syscall?: string }) => {
      if (error.syscall === 'bind') done(error);
    };
    dht.once('listening', onListening);
    dht.on('error', onError);
    dht.on('warning', onWarning);
    dht.listen(port, host);
    return () => {
      dht.off('listening', onListening);
      dht.off('error', onError);
      dht.off('warning', onWarning);
    };
  }

  /** The bound address; throws when not bound. */
  address(): { host: string; port: number } {
    const address = this.#dht.address();
    return { host: address.address, port: address.port };
  }

  /** Destroys the library (its timers and socket); resolves once the socket is closed. */
  destroy(): Promise<void> {
    return new Promise<void>((resolve) => {
      try {
        this.#dht.destroy(() => resolve());
      } catch {
        // The socket was never running (e.g. a failed bind): nothing left to close.
        resolve();
      }
    });
  }

  /**
   * Sends one query now, on k-rpc-socket (no queue: defect 4). `cb` runs once, with the whole reply or
   * an error (`ETIMEDOUT` after the query timeout). After {@link destroy}, every query in flight fails.
   */
  query(to: QueryTarget, message: KrpcQuery, cb: QueryCallback): void {
    this.#dht._rpc.socket.query(to, message as KrpcMessage, cb as LibQueryCallback);
  }

  /** Calls `listener` on every `response` k-rpc-socket emits, matched or not; returns its remover. */
  onResponse(listener: () => void): () => void {
    const socket = this.#dht._rpc.socket;
    socket.on('response', listener);
    return () => socket.off('response', listener);
  }

  /** Nodes in the routing table. */
  nodeCount(): number {
    return this.#dht._rpc.nodes.count();
  }

  /** Every routing-table entry. */
  nodes(): NodeContact[] {
    return this.#dht._rpc.nodes.toArray();
  }

  /** The `n` routing-table entries closest to `target`. */
  closest(target: Uint8Array, n: number): NodeContact[] {
    return this.#dht._rpc.nodes.closest(target, n);
  }

  /** Adds a node to the routing table (through the IP-diversity rule once {@link serve} installed it). */
  addNode(node: NodeContact & { readonly id: Buffer }): void {
    this.#dht._rpc.nodes.add(node as LibContact);
  }

  /** Removes a node from the routing table, if it is there. */
  removeNode(id: Uint8Array): void {
    const nodes = this.#dht._rpc.nodes;
    if (nodes.get(id)) nodes.remove(id);
  }

  /** The item our own store holds for `targetHex` (we are a storing node too). */
  localItem(targetHex: string): StoredValue | undefined {
    return this.#dht._values.get(targetHex);
  }

  tokenSecrets(): readonly [Buffer, Buffer] {
    return this.#dht._secrets;
  }

  respond(peer: Peer, query: KrpcIncoming, r: Record<string, unknown>, closestTo?: Uint8Array): void {
    const rpc = this.#dht._rpc;
    if (closestTo === undefined) rpc.response(peer as RemoteInfo, query as KrpcMessage, r);
    else rpc.response(peer as RemoteInfo, query as KrpcMessage, r, rpc.nodes.closest(closestTo));
  }

  error(peer: Peer, query: KrpcIncoming, code: number, message: string): void {
    this.#socket().error(peer, query, [code, message]);
  }

  /**
   * Applies the serving changes (defects 9–19) once, right after construction, before binding: the
   * reply path, the `get` / `put` handlers and store of `options.handlers`, the socket guards and the
   * routing table's IP diversity. `options.stats` is filled in place.
   */
  serve(options: ServeOptions): void {
    replyPath(this.#socket());
    tuneReplies(this.#dht, options.k);
    const internals = this.#dht as unknown as Internals;
    internals._values = options.handlers.values;
    internals._onget = (query, peer) => options.handlers.get(query, peer);
    internals._onput = (query, peer) => options.handlers.put(query, peer);
    guardSocket(this.#dht, options.server, options.stats, options.observer);
    diverseTable(this.#dht, options.maxNodesPerPrefix, options.stats);
  }

  /**
   * BEP 43 (defect 20): every query this node sends carries `ro=1` (ours, liveness pings and
   * bittorrent-dht's own bucket pings all leave through k-rpc-socket's `send`), so that the nodes we ask
   * do not add us to their routing tables. We still answer queries (a querier that reached us may use us).
   */
  sendReadOnly(when: () => boolean): void {
    this.wrapSend(
      (send) => (peer, message, cb) =>
        send(peer, message.y === 'q' && when() ? { ...message, ro: 1 } : message, cb),
    );
  }

  /**
   * Replaces k-rpc-socket's `send`, through which every datagram of the node leaves (queries, and the
   * replies of `sendReply`), with `wrap(the previous send)`.
   */
  wrapSend(wrap: (send: SendFn) => SendFn): void {
    const socket = this.#socket();
    socket.send = wrap(socket.send.bind(socket));
  }

  #socket(): SocketInternals {
    return this.#dht._rpc.socket as unknown as SocketInternals;
  }
}

/** Queriers' hosts whose address bytes the reply path remembers: as many as the token memo's hosts. */
const REPLY_HOSTS_MEMO = TOKEN_MEMO_MAX;

/** A Buffer over the same bytes (bencode encodes Buffers as byte strings). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Every reply and error of the node, k-rpc's and ours, through one function (`sendReply`): as
 * k-rpc-socket's `response` and `error` build them, then its `send`.
 */
function replyPath(socket: SocketInternals): void {
  // The 4 address bytes of recent queriers' hosts (null: not IPv4): every reply needs them, and
  // parsing the host of each was a visible share of a serving node's CPU.
  const octets = new Lru<string, Buffer | null>(REPLY_HOSTS_MEMO);
  const sendReply = (peer: Peer, message: Record<string, unknown>, cb: unknown): void => {
    // BEP 42: tell the querier its address as we see it (behind a NAT: the NAT's, and the port it
    // mapped), so that networks of our nodes teach it as libtorrent's do.
    const host = hostOf(peer);
    let bytes = octets.peek(host);
    if (bytes === undefined) {
      bytes = isIPv4(host) ? toBuffer(encodeCompactAddress(host, 0).subarray(0, 4)) : null;
      octets.set(host, bytes);
    }
    if (bytes !== null) {
      const ip = Buffer.allocUnsafe(6);
      bytes.copy(ip, 0);
      ip.writeUInt16BE(peer.port & 0xffff, 4);
      message.ip = ip;
    }
    socket.send(peer, message, cb);
  };
  socket.response = (peer, query, r, cb) => sendReply(peer, { t: query.t, y: 'r', r }, cb);
  socket.error = (peer, query, error, cb) =>
    sendReply(
      peer,
      { t: query.t, y: 'e', e: ([] as unknown[]).concat((error as { message?: unknown }).message || error) },
      cb,
    );
}

/** A node of k-bucket's tree: a leaf holds `contacts`, an inner node (`contacts` null) `left`/`right`. */
export interface BucketNode<T extends { id: Uint8Array }> {
  contacts: T[] | null;
  left: BucketNode<T>;
  right: BucketNode<T>;
}

/**
 * The `n` contacts of a k-bucket tree closest to `id`, nearest first: the buckets k-bucket's own
 * `closest` visits (nearest subtree first, until `n` are collected), ranked by the XOR distance of the
 * first 4 bytes, ties by the rest. k-bucket ranks each contact by a 20-byte float distance, mapped to
 * pairs and sorted: the biggest share of a serving node's CPU per reply (`npm run bench:dht`).
 */
export function closestInTree<T extends { id: Uint8Array }>(
  root: BucketNode<T>,
  id: Uint8Array,
  n: number,
): T[] {
  const found: T[] = [];
  // k-bucket's walk, bit index and all (it counts every inner node it pops), so that the same buckets
  // are read.
  const nodes = [root];
  for (let bit = 0; nodes.length > 0 && found.length < n; ) {
    const node = nodes.pop() as BucketNode<T>;
    if (node.contacts === null) {
      const byte = bit >> 3;
      const within = bit % 8;
      bit++;
      const right = !(id.length <= byte && within !== 0) && ((id[byte] ?? 0) & (1 << (7 - within))) !== 0;
      nodes.push(right ? node.left : node.right, right ? node.right : node.left);
    } else for (const c of node.contacts) found.push(c);
  }
  // A partial selection sort over a 32-bit distance prefix (the whole distance only on a tie):
  // `found` is a few buckets (tens of contacts), and only the nearest `n` are wanted.
  const m = found.length;
  if (dist.length < m) dist = new Float64Array(Math.max(m, dist.length * 2));
  const t0 = id[0] ?? 0;
  const t1 = id[1] ?? 0;
  const t2 = id[2] ?? 0;
  const t3 = id[3] ?? 0;
  for (let i = 0; i < m; i++) {
    const x = (found[i] as T).id;
    dist[i] =
      ((x[0] ?? 0) ^ t0) * 0x1000000 +
      ((((x[1] ?? 0) ^ t1) << 16) | (((x[2] ?? 0) ^ t2) << 8) | ((x[3] ?? 0) ^ t3));
  }
  const take = Math.min(n, m);
  for (let i = 0; i < take; i++) {
    let best = i;
    for (let j = i + 1; j < m; j++) {
      const dj = dist[j] as number;
      const db = dist[best] as number;
      if (dj < db || (dj === db && compareDistance((found[j] as T).id, (found[best] as T).id, id) < 0))
        best = j;
    }
    if (best !== i) {
      const c = found[i] as T;
      found[i] = found[best] as T;
      found[best] = c;
      const d = dist[i] as number;
      dist[i] = dist[best] as number;
      dist[best] = d;
    }
  }
  found.length = take;
  return found;
}

/** Scratch distances of {@link closestInTree} (grown on demand; one thread, no await inside). */
let dist = new Float64Array(64);

/** Defects 9–12 (nodes per reply, the asker left out, compact node info and `get_peers` tokens once). */
function tuneReplies(dht: DHT, k: number): void {
  const rpc = dht._rpc;
  const table = rpc.nodes;

  // The reply handlers call closest(target) without a count: they get the k closest. Every call (the
  // handlers', k-rpc's walk, ours) ranks by a 32-bit distance prefix (closestInTree).
  const tree = table as unknown as { root: BucketNode<LibContact> };
  table.closest = (id: Uint8Array, n?: number) => closestInTree(tree.root, id, n ?? k);

  const compact = new WeakMap<LibContact, Buffer | null>();
  const encode = (nodes: readonly LibContact[]): Buffer => {
    const parts: Buffer[] = [];
    for (const node of nodes) {
      let entry = compact.get(node);
      if (entry === undefined) {
        entry = compactNode(node);
        compact.set(node, entry);
      }
      if (entry !== null) parts.push(entry);
    }
    return Buffer.concat(parts, parts.length * COMPACT_NODE_BYTES);
  };
  const respond = rpc.response.bind(rpc);
  rpc.response = (node, query, response, nodes, cb) => {
    if (Array.isArray(nodes)) {
      // Never the asker itself (defect 10).
      const host = 'address' in node ? node.address : node.host;
      response.nodes = encode(nodes.filter((n) => n.port !== node.port || n.host !== host));
      respond(node, query, response, null, cb);
    } else respond(node, query, response, nodes, cb);
  };

  const generate = dht._generateToken.bind(dht);
  const memo = new Lru<string, { secret: Buffer; token: Buffer }>(TOKEN_MEMO_MAX);
  dht._generateToken = (host: string, secret?: Buffer) => {
    const s = secret ?? dht._secrets[0];
    const hit = memo.get(host);
    if (hit !== undefined && hit.secret === s) return hit.token;
    const token = generate(host, s);
    // Only the current secret's tokens are worth keeping (replies hand them out; checks of the
    // previous one are rare).
    if (s === dht._secrets[0]) memo.set(host, { secret: s, token });
    return token;
  };
}

/**
 * The socket-level guards (defects 16–18): the rate limit on the UDP socket's `message` event
 * (k-rpc-socket's listener runs behind it), and filters on k-rpc-socket's `query` and `response`
 * events in front of k-rpc's listeners, which add the sender to the routing table.
 */
function guardSocket(
  dht: DHT,
  server: ServeOptions['server'],
  stats: ServerStats,
  observer: ServeOptions['observer'],
): void {
  const krpcSocket = dht._rpc.socket as typeof dht._rpc.socket & { socket: Socket };
  const udp = krpcSocket.socket;
  const blocker = new IpBlocker({
    rate: server.rateLimit,
    blockMs: server.blockMs,
    maxTracked: server.trackedIps,
  });
  // While a datagram is handled (synchronously, by k-rpc-socket), whether it answered a query of ours.
  let reading = false;
  let solicited = false;

  const onMessage = udp.listeners('message') as ((msg: Buffer, rinfo: RemoteInfo) => void)[];
  udp.removeAllListeners('message');
  udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const ip = rinfo.address;
    const limited = !(server.exemptLoopback && ip.startsWith('127.'));
    const t = performance.now();
    if (limited && blocker.blocked(ip, t)) {
      stats.droppedBlocked++;
      return;
    }
    reading = true;
    solicited = false;
    try {
      for (const listener of onMessage) listener.call(udp, msg, rinfo);
    } finally {
      reading = false;
    }
    if (limited && !solicited && blocker.count(ip, t)) stats.ipsBlocked++;
  });

  // k-rpc-socket calls a query's callback, synchronously while reading its reply, only for a reply
  // whose transaction id and address match; then it emits `response` for it. Every reply to a query
  // of ours (and the failures) passes this wrapper, with the whole message and its sender.
  const query = krpcSocket.query.bind(krpcSocket);
  krpcSocket.query = (node, message, cb) => {
    observer.sent(node.host);
    return query(node, message, (error, reply, rinfo) => {
      if (reading) {
        solicited = true;
        // A reply or a KRPC error: either may carry BEP 42 `ip`.
        if (rinfo) observer.replied(rinfo, (reply as { ip?: unknown } | null | undefined)?.ip);
      }
      cb?.(error, reply, rinfo);
    });
  };

  const onResponse = krpcSocket.listeners('response') as Listener[];
  krpcSocket.removeAllListeners('response');
  krpcSocket.on('response', (message: unknown, rinfo: unknown) => {
    if (!(reading && solicited)) {
      stats.unsolicitedResponses++;
      return;
    }
    for (const listener of onResponse) listener(message, rinfo);
  });

  const onQuery = krpcSocket.listeners('query') as Listener[];
  krpcSocket.removeAllListeners('query');
  krpcSocket.on('query', (message: KrpcMessage & { ro?: unknown }, peer: RemoteInfo) => {
    observer.queried(peer);
    if (message.ro === 1) {
      // What k-rpc's listener does, without adding the sender to the routing table.
      stats.readOnlyQueries++;
      dht._rpc.emit('query', message, peer);
      return;
    }
    for (const listener of onQuery) (listener as (m: KrpcMessage, p: RemoteInfo) => void)(message, peer);
  });
}

/**
 * IP diversity of the routing table (defect 19, the rule is `IpDiversity` of `lookup.ts`): every `add`
 * of k-rpc and bittorrent-dht goes through `table.add`; k-bucket's `added` / `removed` / `updated`
 * events keep the counts. A node already in the table may change address only to one the rule admits.
 */
function diverseTable(dht: DHT, maxPerPrefix: number, stats: ServerStats): void {
  const table = dht._rpc.nodes;
  const diversity = new IpDiversity(maxPerPrefix);
  const hostOfNode = (n: LibContact): string => n.host ?? (n as { address?: string }).address ?? '';
  table.on('added', (n: LibContact) => diversity.add(hostOfNode(n), n.port));
  table.on('removed', (n: LibContact) => diversity.remove(hostOfNode(n), n.port));
  table.on('updated', (old: LibContact, now: LibContact) => {
    diversity.remove(hostOfNode(old), old.port);
    diversity.add(hostOfNode(now), now.port);
  });
  const add = table.add.bind(table);
  table.add = (node: LibContact) => {
    const known = node.id instanceof Uint8Array ? table.get(node.id) : null;
    const moved = known === null || hostOfNode(known) !== hostOfNode(node) || known.port !== node.port;
    if (moved && !diversity.admits(hostOfNode(node), node.port)) {
      stats.routingDiversityRefused++;
      return table;
    }
    return add(node);
  };
}

/** BEP 5 compact node info (20-byte id, IPv4, port); null for a contact that has none (k-rpc skips those too). */
function compactNode(node: LibContact): Buffer | null {
  const id = node.id;
  const host = node.host ?? (node as { address?: string }).address;
  const octets = typeof host === 'string' ? host.split('.') : [];
  if (!(id instanceof Uint8Array) || id.length !== TARGET_BYTES || octets.length !== 4) return null;
  const out = Buffer.allocUnsafe(COMPACT_NODE_BYTES);
  out.set(id, 0);
  for (let i = 0; i < 4; i++) out[20 + i] = Number.parseInt(octets[i]!, 10) & 0xff;
  out.writeUInt16BE(node.port & 0xffff, 24);
  return out;
}
