/**
 * The types of `krpc.ts`'s interface, the one door to bittorrent-dht: what goes out and comes back on
 * the socket, and what the serving side (`serve.ts`) answers through. Nothing here depends on
 * bittorrent-dht's own types.
 */
import type { ServerStats } from './serve.js';
import type { StoredValue } from './store.js';

/** A routing-table entry. `seen`: when the node was last heard from (ms since epoch, k-rpc's clock). */
export interface NodeContact {
  readonly id: Uint8Array;
  readonly host: string;
  readonly port: number;
  readonly seen?: number;
}

/** Where a query goes; with `id`, a reply from another node id fails with `EUNEXPECTEDNODE`. */
export interface QueryTarget {
  readonly host: string;
  readonly port: number;
  readonly id?: Buffer;
}

/** The sender of a datagram (`address`, as dgram reports it) or a query's target (`host`). */
export interface Peer {
  readonly address?: string;
  readonly host?: string;
  readonly port: number;
}

/** A query to send: its method and arguments (`a.id` included; see `KrpcNode.message`). */
export interface KrpcQuery {
  readonly q: string;
  readonly a: Record<string, unknown>;
}

/**
 * A decoded KRPC message (bencode: byte strings are Buffers, integers numbers): for a reply, `r` and
 * any top-level keys (BEP 5 `v`, the client version; BEP 42 `ip`, our address as the responder sees it).
 */
export interface KrpcReply {
  readonly t?: Buffer;
  readonly y?: Buffer | string;
  readonly r?: Record<string, unknown>;
  readonly e?: unknown;
  readonly v?: unknown;
  readonly ip?: unknown;
  readonly [key: string]: unknown;
}

/** A query received (a `get` or `put` for {@link ServeHandlers}). `ro`: BEP 43. */
export interface KrpcIncoming {
  readonly t?: Buffer;
  readonly q?: Buffer | string;
  readonly a?: Record<string, unknown>;
  readonly ro?: unknown;
}

/** A failed query: `code` is the number of an `e` reply (203, 301, …) or a string ('ETIMEDOUT', …). */
export interface KrpcError extends Error {
  code?: number | string;
}

/** Runs once per query: the reply (the whole message) or an error, and whom it came from. */
export type QueryCallback = (
  error: KrpcError | null,
  reply: KrpcReply | null,
  from: Peer | undefined,
) => void;

/** Ed25519 verification of a stored mutable item (signature, signable bytes, public key). */
export type Verify = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

/** A datagram on its way out: `send(peer, message, cb)` as k-rpc-socket's `send` (it encodes `message`). */
export type SendFn = (peer: Peer, message: Record<string, unknown>, cb?: unknown) => void;

/** What `serve.ts` needs to answer `get` / `put` (implemented by `KrpcNode`). */
export interface KrpcResponder {
  /** This node's id as it goes into `r.id`. */
  readonly idBuffer: Buffer;
  /** The `verify` option (null: mutable puts cannot be stored). */
  readonly verify: Verify | null;
  /** [current, previous] token secrets (bittorrent-dht rotates them every 5 minutes). */
  tokenSecrets(): readonly [Buffer, Buffer];
  /** Replies `r`; with `closestTo`, adds the `k` closest nodes to it as compact `nodes`. */
  respond(peer: Peer, query: KrpcIncoming, r: Record<string, unknown>, closestTo?: Uint8Array): void;
  /** Replies with a KRPC error. */
  error(peer: Peer, query: KrpcIncoming, code: number, message: string): void;
}

/** The BEP 44 side of the server (`serve.ts`): our item store and the `get` / `put` handlers. */
export interface ServeHandlers {
  /** Replaces bittorrent-dht's store: `Dht.getAll` reads our own item here; its own `put` writes here. */
  readonly values: { get(key: string): StoredValue | undefined; set(key: string, value: StoredValue): void };
  get(query: KrpcIncoming, peer: Peer): void;
  put(query: KrpcIncoming, peer: Peer): void;
}

/** What `KrpcNode.serve` applies, besides the handlers. */
export interface ServeOptions {
  /** Nodes per reply (defect 9). */
  readonly k: number;
  /** Per-IP rate limit of the socket (defect 16). */
  readonly server: {
    readonly rateLimit: number;
    readonly blockMs: number;
    readonly trackedIps: number;
    readonly exemptLoopback: boolean;
  };
  /** Nodes per /24 in the routing table (defect 19). */
  readonly maxNodesPerPrefix: number;
  readonly stats: ServerStats;
  readonly handlers: ServeHandlers;
  /** Told of the traffic BEP 42 and `readOnly: 'auto'` learn from (`external.ts`). */
  readonly observer: KrpcObserver;
}

/** What the node's traffic tells about our own address and reachability (see `external.ts`). */
export interface KrpcObserver {
  /** A query of ours (ours, liveness's or the library's own) is leaving for `host`. */
  sent(host: string): void;
  /** The reply (or KRPC error) to a query of ours came from `from`; `ip` is its top-level BEP 42 field. */
  replied(from: Peer, ip: unknown): void;
  /** A query from `from` passed the rate limit. */
  queried(from: Peer): void;
}

/** The address of a datagram's sender or of a query's target. */
export function hostOf(peer: Peer): string {
  return peer.address ?? peer.host ?? '';
}
