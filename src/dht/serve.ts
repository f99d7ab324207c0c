/**
 * Our node's serving side. bittorrent-dht 11.0.12 (pinned) answers `ping`, `find_node`, `get_peers`
 * and `announce_peer` itself; everything here changes one instance right after construction.
 *
 * ## Cheaper replies (the wire changes only in 1)
 * 1. **Nodes per reply.** It asks its routing table for `closest(target)` with no count and so sends
 *    the whole table: several kB with a few hundred nodes known (IP fragments on the public DHT), and
 *    every asker decodes and ranks all of it. Replies now carry the `k` (default 20) closest, as the
 *    Rust `mainline` crate sends. BEP 5 says K = 8 (libtorrent sends 8); our walks want the 20 closest
 *    responders, which replies of 8 reach only when the askers' tables differ widely (measured on a
 *    30-node testnet: refresh walks then met 8–12 nodes, and puts reached 10 of the 20 closest).
 *    The asker itself is left out of its reply.
 * 2. **Compact node info** is encoded once per routing-table entry (k-rpc splits the host string and
 *    parses four integers for every node of every reply).
 * 3. **`get_peers` tokens** (BEP 5: a hash of the asker's IP and a secret rotated every 5 minutes) are
 *    computed once per asker and secret instead of on every query.
 * Measured in bench:join (50 peers at once, 80 DHT nodes in one process): ~80 nodes per reply before
 * (1); encoding, sending, decoding and ranking them took about a third of the process's CPU. After (1),
 * answering a `get` still cost ~0.1 ms, of which (2) and (3) were about half.
 *
 * ## BEP 44 storage (`get` / `put` are answered here, from `store.ts`)
 * - **Write tokens are tied to the target** (BEP 44 allows it; libtorrent does it): a `get` for a
 *   target hands out SHA-1(secret ‖ IP ‖ target), and a `put` is accepted only with a token of its own
 *   target, current or previous secret (203 otherwise). One `get` no longer lets an address write any
 *   number of items.
 * - **Immutable items are verified**: their target is the SHA-1 of the bencoded `v`, computed here, so
 *   a put reaches only the target its token was handed out for. A `v` whose bencoding we would not
 *   serve byte for byte (BEP 44: targets hash the verbatim bencoding) hashes elsewhere and is refused
 *   the same way.
 * - **Size**: the bencoded `v` is at most 1000 bytes (BEP 44), for every type of `v` (205), and a
 *   salt at most 64 bytes (207). bittorrent-dht checked `v.length`, which a dict does not have.
 * - **Cheap checks first** for mutable puts: shape, sizes, token, then CAS (301) and seq (302) against
 *   the stored item, and only then the Ed25519 signature, so a flood of stale or unauthorised puts
 *   costs a hash each. A put with a bad signature is dropped without an answer, as bittorrent-dht
 *   does. An identical re-put (same seq, value and signature) restarts the item's lifetime and is
 *   answered 302 as before (BEP 44: an equal seq is refused; `Dht.put` reads it as "already stored").
 * - The store bounds items by lifetime, per source and in all (see `store.ts`); values are copied out
 *   of their datagram, so a stored item never holds a 64 kB datagram alive.
 *
 * ## Routing table and rate limit (on the socket, before bittorrent-dht sees a datagram)
 * - **Per-IP rate limit** (`server-blocker.ts`, libtorrent's `dht_block_ratelimit`): a blocked address's
 *   datagrams are dropped unread. Replies to our own queries are not counted (a node we walk through
 *   often must not get blocked for answering us); everything else is. Loopback is exempt by default.
 * - **Read-only queriers** (BEP 43: `ro=1`) are answered but never enter our routing table: they
 *   answer no queries, so our walks would wait on them. (k-rpc adds every querier.)
 * - **Unsolicited responses**, whose transaction id matches no query of ours, no longer enter the
 *   routing table (k-rpc added the id of every `r` message it could not match).
 * - **IP diversity** (libtorrent's `dht_restrict_routing_ips`): the routing table holds one node per
 *   IPv4 address and at most `maxNodesPerPrefix` per /24 (`IpDiversity` of `lookup.ts`; on loopback one
 *   per host:port, as testnets run every node on 127.0.0.1). A node already in the table may change
 *   address only to one the rule admits. One host with many ports cannot fill our buckets.
 *
 * Every refusal is a counted reason in {@link ServerStats} (`Dht.stats.server`), never a throw.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:dgram';
import type DHT from 'bittorrent-dht';
import type { DhtContact, KrpcMessage, RemoteInfo } from 'bittorrent-dht';
import { Lru } from '../crypto/lru.js';
import type { DhtConfig } from './config.js';
import { COMPACT_NODE_BYTES, IpDiversity } from './lookup.js';
import { IpBlocker } from './server-blocker.js';
import { ItemStore, ownerOf, type StoredValue, type StoreStats } from './store.js';

/** Askers (`get_peers`) and asker–target pairs (`get`) whose token is remembered, most recent first (guess). */
const TOKEN_MEMO_MAX = 4096;
/** Largest bencoded `v` (BEP 44). */
export const MAX_BENCODED_VALUE_BYTES = 1000;
/** Largest salt (BEP 44). */
const MAX_SALT_BYTES = 64;
/** The source our own node's items (bittorrent-dht's own `put`) are charged to. */
const LOCAL_OWNER = 'local';

/** Why a `put` was refused; each is counted in {@link ServerStats.putsRefused}. */
export type PutRefusal =
  /** Missing or mistyped arguments, or a `v` that is not bencodable (203). */
  | 'malformed'
  /** Bencoded `v` over 1000 bytes (205). */
  | 'oversize'
  /** Salt over 64 bytes (207). */
  | 'salt-oversize'
  /** A token not handed out to this address for this target in the last two secrets (203). */
  | 'bad-token'
  /** `cas` is not the stored seq (301). */
  | 'cas-mismatch'
  /** seq lower than stored, or equal with another value (302). */
  | 'old-seq'
  /** The Ed25519 signature does not verify (dropped without an answer). */
  | 'bad-signature'
  /** No `verify` configured: mutable items cannot be stored (400). */
  | 'no-verify';

/** Counters of the serving side, updated in place (`Dht.stats.server`). */
export interface ServerStats extends StoreStats {
  /** Datagrams dropped unread because their address is blocked. */
  droppedBlocked: number;
  /** Times an address went over the rate limit and was blocked. */
  ipsBlocked: number;
  /** Queries with `ro=1` (BEP 43) answered without adding the sender to the routing table. */
  readOnlyQueries: number;
  /** Responses matching no query of ours, kept out of the routing table. */
  unsolicitedResponses: number;
  /** Nodes kept out of the routing table: their IP (loopback: host:port) is taken or their /24 full. */
  routingDiversityRefused: number;
  /** `get` queries answered. */
  gets: number;
  /** `get` queries refused for a missing or malformed target (203). */
  getsMalformed: number;
  /** `put`s stored: a new item, or a newer seq of a stored one. */
  putsStored: number;
  /** Identical re-puts that restarted a stored item's lifetime. */
  putsRefreshed: number;
  /** Refused `put`s by reason (reasons never seen are absent). */
  putsRefused: Partial<Record<PutRefusal, number>>;
  /** Ed25519 verifications run for `put`s (every other check passed first). */
  signaturesChecked: number;
}

export function createServerStats(): ServerStats {
  return {
    items: 0,
    itemsEvicted: { expired: 0, share: 0, full: 0 },
    droppedBlocked: 0,
    ipsBlocked: 0,
    readOnlyQueries: 0,
    unsolicitedResponses: 0,
    routingDiversityRefused: 0,
    gets: 0,
    getsMalformed: 0,
    putsStored: 0,
    putsRefreshed: 0,
    putsRefused: {},
    signaturesChecked: 0,
  };
}

type Listener = (...args: unknown[]) => void;
type Peer = RemoteInfo & { host?: string };
type Verify = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

/** The bittorrent-dht / k-rpc / k-rpc-socket internals this module replaces or wraps. */
interface Internals {
  _values: { get(key: string): StoredValue | undefined; set(key: string, value: StoredValue): void };
  _onget(query: KrpcMessage, peer: Peer): void;
  _onput(query: KrpcMessage, peer: Peer): void;
  _verify: Verify | null;
  _rpc: { error(peer: Peer, query: KrpcMessage, error: [number, string]): void };
}

/**
 * Applies the changes of the module comment to `dht` (once, right after construction, before it
 * binds). `stats` is filled in place.
 */
export function tuneServing(
  dht: DHT,
  config: Pick<DhtConfig, 'k' | 'maxStoredValues' | 'server' | 'maxNodesPerPrefix'>,
  stats: ServerStats,
): void {
  tuneReplies(dht, config.k);
  serveItems(dht, config, stats);
  guardSocket(dht, config.server, stats);
  diverseTable(dht, config.maxNodesPerPrefix, stats);
}

/**
 * IP diversity of the routing table (module comment): every `add` of k-rpc and bittorrent-dht goes
 * through `table.add`; k-bucket's `added` / `removed` / `updated` events keep the counts.
 */
function diverseTable(dht: DHT, maxPerPrefix: number, stats: ServerStats): void {
  const table = dht._rpc.nodes;
  const diversity = new IpDiversity(maxPerPrefix);
  const hostOfNode = (n: DhtContact): string => n.host ?? (n as { address?: string }).address ?? '';
  table.on('added', (n: DhtContact) => diversity.add(hostOfNode(n), n.port));
  table.on('removed', (n: DhtContact) => diversity.remove(hostOfNode(n), n.port));
  table.on('updated', (old: DhtContact, now: DhtContact) => {
    diversity.remove(hostOfNode(old), old.port);
    diversity.add(hostOfNode(now), now.port);
  });
  const add = table.add.bind(table);
  table.add = (node: DhtContact) => {
    const known = node.id instanceof Uint8Array ? table.get(node.id) : null;
    const moved = known === null || hostOfNode(known) !== hostOfNode(node) || known.port !== node.port;
    if (moved && !diversity.admits(hostOfNode(node), node.port)) {
      stats.routingDiversityRefused++;
      return table;
    }
    return add(node);
  };
}

/** Changes 1–3 of the module comment. */
function tuneReplies(dht: DHT, k: number): void {
  const rpc = dht._rpc;
  const table = rpc.nodes;

  const closest = table.closest.bind(table);
  // The reply handlers call closest(target) without a count; calls with one (k-rpc's walk, ours) are
  // unchanged.
  table.closest = (id: Uint8Array, n?: number) => closest(id, n ?? k);

  const compact = new WeakMap<DhtContact, Buffer | null>();
  const encode = (nodes: readonly DhtContact[]): Buffer => {
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
      // Never the asker itself: libtorrent then queries its own session and waits out a timeout
      // (seen in the interop lab: a put of a libtorrent client stalled 15 s).
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

/** BEP 44 `get` / `put` from our own store (see the module comment). */
function serveItems(
  dht: DHT,
  config: Pick<DhtConfig, 'maxStoredValues' | 'server'>,
  stats: ServerStats,
): void {
  const internals = dht as unknown as Internals;
  const rpc = dht._rpc;
  const store = new ItemStore(
    {
      maxItems: config.maxStoredValues,
      maxPerOwner: Math.min(config.server.maxItemsPerIp, config.maxStoredValues),
      lifetimeMs: config.server.itemLifetimeMs,
    },
    stats,
  );
  const now = () => performance.now();
  // `Dht.getAll` reads our own item from here; bittorrent-dht's own `put` writes here.
  internals._values = {
    get: (key) => store.get(key, now()),
    set: (key, value) => store.set(key, value, LOCAL_OWNER, now()),
  };

  const hashToken = (host: string, target: Buffer, secret: Buffer): Buffer =>
    createHash('sha1').update(secret).update(host).update(target).digest();
  // The current secret's tokens, by asker and target: a reader polls the same targets, and a put
  // follows its own get.
  const memo = new Lru<string, { secret: Buffer; token: Buffer }>(TOKEN_MEMO_MAX);
  const currentToken = (host: string, target: Buffer): Buffer => {
    const secret = dht._secrets[0];
    const key = `${host}/${target.toString('latin1')}`;
    const hit = memo.get(key);
    if (hit !== undefined && hit.secret === secret) return hit.token;
    const token = hashToken(host, target, secret);
    memo.set(key, { secret, token });
    return token;
  };
  const tokenValid = (host: string, target: Buffer, token: Buffer): boolean =>
    token.length === 20 &&
    (token.equals(currentToken(host, target)) || token.equals(hashToken(host, target, dht._secrets[1])));

  internals._onget = (query, peer) => {
    const target = query.a?.target;
    if (!isBytes(target, 20)) {
      stats.getsMalformed++;
      internals._rpc.error(peer, query, [203, '`get` needs a 20-byte `target`']);
      return;
    }
    stats.gets++;
    const token = currentToken(hostOf(peer), target);
    const item = store.get(target.toString('hex'), now());
    if (item === undefined) {
      rpc.response(peer, query, { id: rpc.id, token }, rpc.nodes.closest(target));
      return;
    }
    const r: Record<string, unknown> = { id: rpc.id, token, v: item.v };
    if (item.sig !== undefined) {
      r.sig = item.sig;
      r.k = item.k;
      r.seq = item.seq;
    }
    rpc.response(peer, query, r);
  };

  internals._onput = (query, peer) => {
    const refuse = (reason: PutRefusal, code?: number, message?: string): void => {
      stats.putsRefused[reason] = (stats.putsRefused[reason] ?? 0) + 1;
      if (code !== undefined) internals._rpc.error(peer, query, [code, message ?? '']);
    };
    const a = query.a ?? {};
    const { v, token, id } = a;
    if (v === undefined || v === null || !isBytes(token) || !isBytes(id)) {
      return refuse('malformed', 203, '`put` needs `v`, `token` and `id`');
    }
    const size = bencodedLength(v, MAX_BENCODED_VALUE_BYTES);
    if (Number.isNaN(size)) return refuse('malformed', 203, '`v` is not a bencoded value');
    if (size > MAX_BENCODED_VALUE_BYTES) return refuse('oversize', 205, 'data payload too large');
    const host = hostOf(peer);
    const owner = ownerOf(host, peer.port);
    const encoded = bencodeValue(v);

    if (a.k === undefined && a.sig === undefined) {
      const target = sha1(encoded);
      if (!tokenValid(host, target, token)) return refuse('bad-token', 203, 'cannot `put` with bad token');
      const key = target.toString('hex');
      const t = now();
      if (store.refresh(key, t)) stats.putsRefreshed++;
      else {
        store.set(key, { v: copyValue(v), id: Buffer.from(id) }, owner, t);
        stats.putsStored++;
      }
      rpc.response(peer, query, { id: rpc.id });
      return;
    }

    const { k, sig, salt, seq, cas } = a;
    if (
      !isBytes(k, 32) ||
      !isBytes(sig, 64) ||
      !isSeq(seq) ||
      (salt !== undefined && !isBytes(salt)) ||
      (cas !== undefined && !isSeq(cas))
    ) {
      return refuse('malformed', 203, 'mutable `put` needs `k` (32 bytes), `sig` (64 bytes) and `seq`');
    }
    if (salt !== undefined && salt.length > MAX_SALT_BYTES)
      return refuse('salt-oversize', 207, 'salt too big');
    // BEP 44: an empty salt is no salt.
    const saltBytes = salt !== undefined && salt.length > 0 ? salt : undefined;
    const target = sha1(saltBytes ? Buffer.concat([k, saltBytes]) : k);
    if (!tokenValid(host, target, token)) return refuse('bad-token', 203, 'cannot `put` with bad token');
    const key = target.toString('hex');
    const prev = store.get(key, now());
    if (prev !== undefined && typeof prev.seq === 'number') {
      if (cas !== undefined && cas !== prev.seq) {
        return refuse('cas-mismatch', 301, 'CAS mismatch, re-read and try again');
      }
      if (seq <= prev.seq) {
        if (seq === prev.seq && prev.sig?.equals(sig) && bencodeValue(prev.v).equals(encoded)) {
          store.refresh(key, now());
          stats.putsRefreshed++;
          internals._rpc.error(peer, query, [302, 'sequence number less than current']);
          return;
        }
        return refuse('old-seq', 302, 'sequence number less than current');
      }
    }
    const verify = internals._verify;
    if (verify === null) return refuse('no-verify', 400, 'verification not supported');
    stats.signaturesChecked++;
    if (!verify(sig, signable(saltBytes, seq, encoded), k)) return refuse('bad-signature');
    const item: StoredValue = {
      v: copyValue(v),
      id: Buffer.from(id),
      k: Buffer.from(k),
      sig: Buffer.from(sig),
      seq,
      ...(saltBytes ? { salt: Buffer.from(saltBytes) } : {}),
    };
    store.set(key, item, owner, now());
    stats.putsStored++;
    rpc.response(peer, query, { id: rpc.id });
  };
}

/**
 * The socket-level guards of the module comment: the rate limit on the UDP socket's `message` event
 * (k-rpc-socket's listener runs behind it), and filters on k-rpc-socket's `query` and `response`
 * events in front of k-rpc's listeners, which add the sender to the routing table.
 */
function guardSocket(dht: DHT, server: DhtConfig['server'], stats: ServerStats): void {
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
  // whose transaction id and address match; then it emits `response` for it.
  const query = krpcSocket.query.bind(krpcSocket);
  krpcSocket.query = (node, message, cb) =>
    query(node, message, (...args) => {
      if (reading) solicited = true;
      cb?.(...args);
    });

  const onResponse = krpcSocket.listeners('response') as Listener[];
  krpcSocket.removeAllListeners('response');
  krpcSocket.on('response', (...args: unknown[]) => {
    if (!(reading && solicited)) {
      stats.unsolicitedResponses++;
      return;
    }
    for (const listener of onResponse) listener(...args);
  });

  const onQuery = krpcSocket.listeners('query') as Listener[];
  krpcSocket.removeAllListeners('query');
  krpcSocket.on('query', (message: KrpcMessage & { ro?: unknown }, peer: RemoteInfo) => {
    if (message.ro === 1) {
      // What k-rpc's listener does, without adding the sender to the routing table.
      stats.readOnlyQueries++;
      dht._rpc.emit('query', message, peer);
      return;
    }
    for (const listener of onQuery) (listener as (m: KrpcMessage, p: RemoteInfo) => void)(message, peer);
  });
}

function hostOf(peer: Peer): string {
  return peer.address ?? peer.host ?? '';
}

function isBytes(value: unknown, length?: number): value is Buffer {
  return Buffer.isBuffer(value) && (length === undefined || value.length === length);
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function sha1(bytes: Uint8Array): Buffer {
  return createHash('sha1').update(bytes).digest();
}

function digits(n: number): number {
  return String(n).length;
}

/**
 * The length of `value`'s bencoding, as decoded by k-rpc-socket (Buffers, integers, lists, dicts):
 * NaN for anything else, and any number above `budget` as soon as it is exceeded (so a deep or large
 * structure costs at most `budget` steps).
 */
function bencodedLength(value: unknown, budget: number): number {
  if (Buffer.isBuffer(value)) return digits(value.length) + 1 + value.length;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value).length + 2 : Number.NaN;
  if (typeof value !== 'object' || value === null) return Number.NaN;
  let n = 2;
  if (Array.isArray(value)) {
    for (const item of value) {
      n += bencodedLength(item, budget - n);
      if (!(n <= budget)) return n;
    }
    return n;
  }
  for (const [key, item] of Object.entries(value)) {
    const keyLength = Buffer.byteLength(key);
    n += digits(keyLength) + 1 + keyLength;
    n += bencodedLength(item, budget - n);
    if (!(n <= budget)) return n;
  }
  return n;
}

/**
 * The bencoding of a value {@link bencodedLength} accepted, as k-rpc-socket's encoder writes it when
 * we serve it (dict keys sorted as strings).
 */
function bencodeValue(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return Buffer.concat([Buffer.from(`${value.length}:`), value]);
  const parts: Buffer[] = [];
  const walk = (v: unknown): void => {
    if (Buffer.isBuffer(v)) parts.push(Buffer.from(`${v.length}:`), v);
    else if (typeof v === 'number') parts.push(Buffer.from(`i${v}e`));
    else if (Array.isArray(v)) {
      parts.push(Buffer.from('l'));
      for (const item of v) walk(item);
      parts.push(Buffer.from('e'));
    } else {
      const dict = v as Record<string, unknown>;
      parts.push(Buffer.from('d'));
      for (const key of Object.keys(dict).sort()) {
        parts.push(Buffer.from(`${Buffer.byteLength(key)}:${key}`));
        walk(dict[key]);
      }
      parts.push(Buffer.from('e'));
    }
  };
  walk(value);
  return Buffer.concat(parts);
}

/** A copy of a decoded value that shares no memory with its datagram. */
function copyValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (Array.isArray(value)) return value.map(copyValue);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, copyValue(item)]));
  }
  return value;
}

/** The bytes a BEP 44 mutable item's signature covers (see `bep44.ts`), from the bencoded `v`. */
function signable(salt: Buffer | undefined, seq: number, encodedValue: Buffer): Buffer {
  const head = salt ? [Buffer.from(`4:salt${salt.length}:`), salt] : [];
  return Buffer.concat([...head, Buffer.from(`3:seqi${seq}e1:v`), encodedValue]);
}

/** BEP 5 compact node info (20-byte id, IPv4, port); null for a contact that has none (k-rpc skips those too). */
function compactNode(node: DhtContact): Buffer | null {
  const id = node.id;
  const host = node.host ?? (node as { address?: string }).address;
  const octets = typeof host === 'string' ? host.split('.') : [];
  if (!(id instanceof Uint8Array) || id.length !== 20 || octets.length !== 4) return null;
  const out = Buffer.allocUnsafe(COMPACT_NODE_BYTES);
  out.set(id, 0);
  for (let i = 0; i < 4; i++) out[20 + i] = Number.parseInt(octets[i]!, 10) & 0xff;
  out.writeUInt16BE(node.port & 0xffff, 24);
  return out;
}

/**
 * BEP 43: every query this node sends carries `ro=1` (ours, liveness pings and bittorrent-dht's own
 * bucket pings all leave through k-rpc-socket's `send`, which encodes the message it is given; its
 * `query` builds a message of `t`, `y`, `q` and `a` only), so that the nodes we ask do not add us to
 * their routing tables. We still answer queries (a querier that reached us may use us).
 */
export function sendReadOnly(dht: DHT): void {
  wrapSend(
    dht,
    (send) => (peer, message, cb) => send(peer, message.y === 'q' ? { ...message, ro: 1 } : message, cb),
  );
}

type SendFn = (peer: unknown, message: Record<string, unknown>, cb?: unknown) => void;

/**
 * Replaces k-rpc-socket's `send`, through which every datagram of the node leaves (its `query` and
 * `response` build the message and call it), with `wrap(the previous send)`.
 */
function wrapSend(dht: DHT, wrap: (send: SendFn) => SendFn): void {
  const socket = dht._rpc.socket as unknown as { send: SendFn };
  socket.send = wrap(socket.send.bind(socket));
}

/** How a testnet node misbehaves like a real DHT node (see `createTestnet`). */
export interface Impairment {
  /** Every reply waits this long before it leaves. */
  readonly delayMs: number;
  /** Share of replies dropped, 0–1. */
  readonly loss: number;
  readonly random: () => number;
}

/** A node's impairment at work: `silence()` makes it send nothing more; `close()` clears its timers. */
export interface ImpairedNode {
  silence(): void;
  close(): void;
}

/**
 * Makes `dht` answer like a node of the real DHT (testnets only): replies delayed and some lost, and,
 * once silenced, nothing sent at all while it stays bound and in others' routing tables (a node gone
 * without a trace). Wraps k-rpc-socket's `send`, through which every datagram of the node leaves.
 */
export function impairReplies(dht: DHT, impairment: Impairment): ImpairedNode {
  const timers = new Set<NodeJS.Timeout>();
  let silent = false;
  let closed = false;
  wrapSend(dht, (send) => (peer, message, cb) => {
    if (silent || closed) return;
    if (message.y === 'q') {
      send(peer, message, cb);
      return;
    }
    if (impairment.random() < impairment.loss) return;
    if (impairment.delayMs <= 0) {
      send(peer, message, cb);
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!silent && !closed) send(peer, message, cb);
    }, impairment.delayMs);
    timer.unref();
    timers.add(timer);
  });
  return {
    silence: () => {
      silent = true;
    },
    close: () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
