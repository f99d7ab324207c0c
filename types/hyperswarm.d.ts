/**
 * Types for the parts of hyperswarm 4.17, hyperdht 6.x and @hyperswarm/testnet 3.1 that
 * test/bench/vs-hyperswarm.bench.ts uses (dev dependencies; the packages ship no types). Members are
 * documented in the packages' READMEs unless marked as an internal field read by the bench.
 */
declare module 'hyperdht' {
  import { EventEmitter } from 'node:events';

  export interface HyperDhtOptions {
    /** `"host:port"` strings or `{ host, port }`; default the public Hyperswarm bootstrap nodes. */
    bootstrap?: (string | { host: string; port: number })[];
    /** UDP bind address (default 0.0.0.0). */
    host?: string;
    /** UDP port (default 49737, any free port when it is taken). */
    port?: number;
    /** Whether this node joins others' routing tables (default: adaptive, ephemeral at first). */
    ephemeral?: boolean;
  }

  export default class HyperDHT extends EventEmitter {
    constructor(options?: HyperDhtOptions);
    /** Resolves once the bootstrap walk is done. */
    fullyBootstrapped(): Promise<void>;
    /** The bound UDP socket's address. */
    address(): { host: string; family: number; port: number } | null;
    destroy(opts?: { force?: boolean }): Promise<void>;
  }
}

declare module 'hyperswarm' {
  import { EventEmitter } from 'node:events';
  import type { Duplex } from 'node:stream';
  import type HyperDHT from 'hyperdht';

  /** An end-to-end (Noise) encrypted duplex stream to one peer. */
  export interface SwarmConnection extends Duplex {
    /** The peer's Noise public key. */
    readonly remotePublicKey: Buffer;
  }

  export interface PeerInfo {
    readonly publicKey: Buffer;
  }

  export interface PeerDiscovery {
    /** Resolves once the topic's current announce/lookup query finished. */
    flushed(): Promise<boolean>;
    destroy(): Promise<void>;
  }

  export interface HyperswarmOptions {
    /** A DHT instance (default: a new one on 0.0.0.0 and the public bootstrap nodes). */
    dht?: HyperDHT;
    bootstrap?: (string | { host: string; port: number })[];
    maxPeers?: number;
  }

  export default class Hyperswarm extends EventEmitter<{
    connection: [conn: SwarmConnection, info: PeerInfo];
    update: [];
  }> {
    constructor(options?: HyperswarmOptions);
    readonly keyPair: { publicKey: Buffer; secretKey: Buffer };
    readonly dht: HyperDHT;
    /** Open connections. */
    readonly connections: Set<SwarmConnection>;
    /** Connections in progress. */
    readonly connecting: number;
    /** Peers known to the swarm, by hex public key. */
    readonly peers: Map<string, PeerInfo>;
    join(topic: Buffer, opts?: { server?: boolean; client?: boolean; limit?: number }): PeerDiscovery;
    flush(): Promise<boolean>;
    destroy(opts?: { force?: boolean }): Promise<void>;
  }
}

declare module '@hyperswarm/testnet' {
  import type HyperDHT from 'hyperdht';
  import type { HyperDhtOptions } from 'hyperdht';

  export interface Testnet {
    /** The testnet's nodes, plus every node `createNode` made (all destroyed by `destroy`). */
    readonly nodes: HyperDHT[];
    readonly bootstrap: { host: string; port: number }[];
    /** An ephemeral node on 127.0.0.1 bootstrapped to the testnet (and added to `nodes`). */
    createNode(opts?: HyperDhtOptions): HyperDHT;
    destroy(): Promise<void>;
  }

  /** `size` non-ephemeral DHT nodes bound to `host` (default 127.0.0.1), created one after another. */
  export default function createTestnet(size?: number, opts?: { host?: string }): Promise<Testnet>;
}
