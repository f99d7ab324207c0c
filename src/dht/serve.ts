/**
 * Our node's serving side: the policy. bittorrent-dht answers `ping`, `find_node`, `get_peers` and
 * `announce_peer` itself; `krpc.ts` installs every change below in it right after construction
 * (`KrpcNode.serve`; the library's defects these work around, and their upstream fixes, are listed
 * there) and the `get` / `put` handlers of {@link createItemServer} here.
 *
 * ## Cheaper replies (the wire changes only in 1)
 * 1. **Nodes per reply** (`krpc.ts`, defects 9 and 10). bittorrent-dht sends the whole routing table:
 *    several kB with a few hundred nodes known (IP fragments on the public DHT), and every asker decodes
 *    and ranks all of it. Replies now carry the `k` (default 20) closest, as the Rust `mainline` crate
 *    sends. BEP 5 says K = 8 (libtorrent sends 8); our walks want the 20 closest
 *    responders, which replies of 8 reach only when the askers' tables differ widely (measured on a
 *    30-node testnet: refresh walks then met 8–12 nodes, and puts reached 10 of the 20 closest).
 *    The asker itself is left out of its reply.
 * 2. **Compact node info** is encoded once per routing-table entry (`krpc.ts`, defect 11).
 * 3. **`get_peers` tokens** (BEP 5: a hash of the asker's IP and a secret rotated every 5 minutes) are
 *    computed once per asker and secret instead of on every query (`krpc.ts`, defect 12).
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
 *   salt at most 64 bytes (207).
 * - **Cheap checks first** for mutable puts: shape, sizes, token, then CAS (301) and seq (302) against
 *   the stored item, and only then the Ed25519 signature, so a flood of stale or unauthorised puts
 *   costs a hash each. A put with a bad signature is dropped without an answer, as bittorrent-dht
 *   does. An identical re-put (same seq, value and signature) restarts the item's lifetime and is
 *   answered 302 as before (BEP 44: an equal seq is refused; `Dht.put` reads it as "already stored").
 * - The store bounds items by lifetime, per source and in all (see `store.ts`); values are copied out
 *   of their datagram, so a stored item never holds a 64 kB datagram alive.
 *
 * ## Routing table and rate limit (before bittorrent-dht sees a datagram; `krpc.ts`, defects 16–19)
 * - **Per-IP rate limit** (`server-blocker.ts`, libtorrent's `dht_block_ratelimit`): a blocked address's
 *   datagrams are dropped unread. Replies to our own queries are not counted (a node we walk through
 *   often must not get blocked for answering us); everything else is. Loopback is exempt by default.
 * - **Read-only queriers** (BEP 43: `ro=1`) are answered but never enter our routing table: they
 *   answer no queries, so our walks would wait on them.
 * - **Unsolicited responses**, whose transaction id matches no query of ours, no longer enter the
 *   routing table.
 * - **IP diversity** (libtorrent's `dht_restrict_routing_ips`): the routing table holds one node per
 *   IPv4 address and at most `maxNodesPerPrefix` per /24 (`IpDiversity` of `lookup.ts`; on loopback one
 *   per host:port, as testnets run every node on 127.0.0.1). A node already in the table may change
 *   address only to one the rule admits. One host with many ports cannot fill our buckets.
 *
 * Every refusal is a counted reason in {@link ServerStats} (`Dht.stats.server`), never a throw.
 */
import { createHash } from 'node:crypto';
import { Lru } from '../crypto/lru.js';
import { MAX_SALT_BYTES } from './bep44.js';
import type { DhtConfig } from './config.js';
import {
  hostOf,
  type KrpcIncoming,
  type KrpcResponder,
  type Peer,
  type SendFn,
  type ServeHandlers,
} from './krpc-types.js';
import { ItemStore, ownerOf, type StoredValue, type StoreStats } from './store.js';

/**
 * Askers (`get_peers`, `krpc.ts`) and asker–target pairs (`get`) whose token is remembered, most recent
 * first (guess).
 */
export const TOKEN_MEMO_MAX = 4096;
/** Largest bencoded `v` (BEP 44). */
export const MAX_BENCODED_VALUE_BYTES = 1000;
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

/**
 * BEP 44 `get` / `put` from our own store (see the module comment), answered through `node`;
 * {@link KrpcNode.serve} installs them. `stats` is filled in place.
 */
export function createItemServer(
  node: KrpcResponder,
  config: Pick<DhtConfig, 'maxStoredValues' | 'server'>,
  stats: ServerStats,
): ServeHandlers {
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
  const values: ServeHandlers['values'] = {
    get: (key) => store.get(key, now()),
    set: (key, value) => store.set(key, value, LOCAL_OWNER, now()),
  };

  const hashToken = (host: string, target: Buffer, secret: Buffer): Buffer =>
    createHash('sha1').update(secret).update(host).update(target).digest();
  // The current secret's tokens, by asker and target: a reader polls the same targets, and a put
  // follows its own get. A hit is a peek: a token costs one SHA-1 to make again, so the memo drops
  // the oldest made rather than pay a reorder on every reply.
  const memo = new Lru<string, { secret: Buffer; token: Buffer }>(TOKEN_MEMO_MAX);
  const currentToken = (host: string, target: Buffer): Buffer => {
    const secret = node.tokenSecrets()[0];
    const key = `${host}/${target.toString('latin1')}`;
    const hit = memo.peek(key);
    if (hit !== undefined && hit.secret === secret) return hit.token;
    const token = hashToken(host, target, secret);
    memo.set(key, { secret, token });
    return token;
  };
  const tokenValid = (host: string, target: Buffer, token: Buffer): boolean =>
    token.length === 20 &&
    (token.equals(currentToken(host, target)) ||
      token.equals(hashToken(host, target, node.tokenSecrets()[1])));

  const get = (query: KrpcIncoming, peer: Peer): void => {
    const target = query.a?.target;
    if (!isBytes(target, 20)) {
      stats.getsMalformed++;
      node.error(peer, query, 203, '`get` needs a 20-byte `target`');
      return;
    }
    stats.gets++;
    const token = currentToken(hostOf(peer), target);
    const item = store.get(target.toString('hex'), now());
    if (item === undefined) {
      node.respond(peer, query, { id: node.idBuffer, token }, target);
      return;
    }
    const r: Record<string, unknown> = { id: node.idBuffer, token, v: item.v };
    if (item.sig !== undefined) {
      r.sig = item.sig;
      r.k = item.k;
      r.seq = item.seq;
    }
    node.respond(peer, query, r);
  };

  const put = (query: KrpcIncoming, peer: Peer) => {
    const refuse = (reason: PutRefusal, code?: number, message?: string): void => {
      stats.putsRefused[reason] = (stats.putsRefused[reason] ?? 0) + 1;
      if (code !== undefined) node.error(peer, query, code, message ?? '');
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
      node.respond(peer, query, { id: node.idBuffer });
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
          node.error(peer, query, 302, 'sequence number less than current');
          return;
        }
        return refuse('old-seq', 302, 'sequence number less than current');
      }
    }
    const verify = node.verify;
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
    node.respond(peer, query, { id: node.idBuffer });
  };
  return { values, get, put };
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
 * Makes a node answer like a node of the real DHT (testnets only): replies delayed and some lost, and,
 * once silenced, nothing sent at all while it stays bound and in others' routing tables (a node gone
 * without a trace). Wraps the node's `send` (`KrpcNode.wrapSend`), through which every datagram of the
 * node leaves.
 */
export function impairReplies(
  node: { wrapSend(wrap: (send: SendFn) => SendFn): void },
  impairment: Impairment,
): ImpairedNode {
  const timers = new Set<NodeJS.Timeout>();
  let silent = false;
  let closed = false;
  node.wrapSend((send) => (peer, message, cb) => {
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
