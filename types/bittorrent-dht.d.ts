/**
 * Types for the parts of bittorrent-dht 11.0.12 (pinned) that `src/dht/krpc.ts` (the one module that
 * imports it) and the test helpers use. The package ships no types. Members whose names start with `_`
 * are internals of bittorrent-dht / k-rpc / k-rpc-socket, not public API: they are typed here because
 * `src/dht/krpc.ts` drives the KRPC layer itself (its header lists why), and a version bump must
 * re-check every one of them.
 */
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';

  /** A contact in a routing table (k-bucket entry). */
  export interface DhtContact {
    id: Buffer;
    host: string;
    port: number;
    /** Set by k-rpc when the node was last heard from (ms since epoch). */
    seen?: number;
  }

  /** The address a query is sent to; `id` makes k-rpc-socket reject a reply from another node id. */
  export interface QueryTarget {
    host: string;
    port: number;
    id?: Buffer;
    /** Copied into `message.a.token` by k-rpc's `query` (for `put` / `announce_peer`). */
    token?: Buffer;
  }

  /** The sender of a datagram, as Node's dgram reports it. */
  export interface RemoteInfo {
    address: string;
    port: number;
    family?: string;
    size?: number;
  }

  /** A decoded KRPC message (bencode 2: byte strings are Buffers, integers are numbers). */
  export interface KrpcMessage {
    t?: Buffer;
    y?: Buffer | string;
    q?: Buffer | string;
    a?: Record<string, unknown>;
    r?: Record<string, unknown>;
    e?: unknown;
  }

  /** A KRPC error: `code` is the numeric code of an `e` reply (203, 205, 301, 302, 400, …) or a string. */
  export interface KrpcError extends Error {
    code?: number | string;
  }

  export type QueryCallback = (
    err: KrpcError | null,
    reply: KrpcMessage | null,
    peer: RemoteInfo | QueryTarget | undefined,
  ) => void;

  /** The routing table: a k-bucket keyed by node id. */
  export interface KBucket extends EventEmitter {
    count(): number;
    toArray(): DhtContact[];
    closest(id: Uint8Array, n?: number): DhtContact[];
    get(id: Uint8Array): DhtContact | null;
    add(contact: DhtContact): KBucket;
    remove(id: Uint8Array): KBucket;
  }

  /** @internal k-rpc-socket: the UDP socket with per-query timeouts. */
  export interface KrpcSocket extends EventEmitter {
    /** Per-query timeout in ms (the `timeout` option, default 2000). */
    timeout: number;
    /** Queries sent and not yet answered or timed out. */
    inflight: number;
    /**
     * Sends one query now (no queue; `message.a.id` must be set). `cb` runs once with the reply, the
     * `e` error (numeric `code`), or `code: 'ETIMEDOUT'` / `'EUNEXPECTEDNODE'`. Returns the transaction id.
     */
    query(node: QueryTarget, message: KrpcMessage, cb: QueryCallback): number | undefined;
  }

  /** @internal k-rpc: the KRPC layer under bittorrent-dht. */
  export interface Krpc extends EventEmitter {
    /** This node's id (20 bytes). */
    id: Buffer;
    /** The routing table. */
    nodes: KBucket;
    /** Maximum queries in flight on the socket; more wait in a queue. */
    concurrency: number;
    k: number;
    socket: KrpcSocket;
    /** Sends a reply; `nodes` (contacts) go out as compact node info in `response.nodes`. */
    response(
      node: RemoteInfo | QueryTarget,
      query: KrpcMessage,
      response: Record<string, unknown>,
      nodes?: DhtContact[] | null,
      cb?: () => void,
    ): void;
    /**
     * Sends one query, or queues it while `concurrency` queries are in flight on the socket. Copies
     * `node.token` into `message.a.token`. `cb` runs once with the reply or an error.
     */
    query(node: QueryTarget, message: KrpcMessage, cb: QueryCallback): void;
    /**
     * k-rpc's iterative walk toward `target`: `visit` runs for every reply that has an `r`; returning
     * `false` stops sending further queries. `cb` never runs if the DHT is destroyed meanwhile.
     */
    closest(
      target: Uint8Array,
      message: KrpcMessage,
      visit: ((reply: KrpcMessage, peer: RemoteInfo) => boolean | undefined) | null,
      cb: (err: Error | null, responded: number) => void,
    ): void;
  }

  /** A stored BEP 44 item in a node's value store. */
  export interface StoredItem {
    v: Buffer;
    id: Buffer;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
    salt?: Buffer;
  }

  export interface DHTOptions {
    /** `false` for none, or a list of `"host:port"` / `{host, port}` (default: three public routers). */
    bootstrap?: false | Array<string | { host: string; port: number }>;
    /** Used only as this node's own address when it announces (not the bind address). */
    host?: string | false;
    /** Per-query timeout in ms, passed through to k-rpc-socket (default 2000). */
    timeout?: number;
    /** Verifies a mutable item's signature; without it mutable puts are refused with error 400. */
    verify?: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
    /** Bucket size (default 20). */
    k?: number;
    /** Maximum queries in flight (default 16). */
    concurrency?: number;
    /** Maximum stored BEP 44 items (default 1000). */
    maxValues?: number;
    /** This node's id (20 bytes); random by default. */
    nodeId?: Uint8Array | string;
  }

  export interface GetResult {
    id: Buffer;
    v: Buffer;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
  }

  export default class DHT extends EventEmitter {
    constructor(options?: DHTOptions);
    readonly nodeId: Buffer;
    readonly nodes: KBucket;
    listening: boolean;
    destroyed: boolean;
    /** Set once the first bootstrap walk ended (even with an empty routing table). */
    ready?: boolean;
    /** Binds the UDP socket (`port` 0 for any). */
    listen(port?: number, host?: string, onlistening?: () => void): void;
    /** The bound address; throws if not bound. */
    address(): { address: string; family: string; port: number };
    /** Closes the socket and clears the library's timers; `cb` runs on socket close. */
    destroy(cb?: () => void): void;
    /** One lookup that keeps one value: the first valid reply with the highest seq. */
    get(
      target: Uint8Array | string,
      opts: { verify?: DHTOptions['verify']; salt?: Uint8Array; cache?: boolean },
      cb: (err: Error | null, value: GetResult | null) => void,
    ): void;

    on(event: 'ready' | 'listening' | 'close', listener: () => void): this;
    on(
      event: 'error' | 'warning',
      listener: (err: Error & { code?: string; syscall?: string }) => void,
    ): this;
    on(event: 'node', listener: (node: DhtContact) => void): this;
    once(event: 'ready' | 'listening' | 'close', listener: () => void): this;
    once(
      event: 'error' | 'warning',
      listener: (err: Error & { code?: string; syscall?: string }) => void,
    ): this;
    off(event: string, listener: (...args: never[]) => void): this;

    /** @internal The KRPC layer. */
    readonly _rpc: Krpc;
    /** @internal The token for `host`: hash(host ‖ secret), `secret` defaulting to the current one. */
    _generateToken(host: string, secret?: Buffer): Buffer;
    /** @internal [current, previous] token secrets, rotated every 5 minutes. */
    _secrets: [Buffer, Buffer];
    /** @internal The value store (an LRU keyed by the hex target). */
    readonly _values: { get(key: string): StoredItem | undefined; set(key: string, value: StoredItem): void };
  }
}
