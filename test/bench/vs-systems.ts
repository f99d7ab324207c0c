/**
 * The two systems of `npm run bench:vs-hyperswarm` (vs-hyperswarm.bench.ts) behind one small interface,
 * so that every scenario runs the same code for both.
 *
 * - **gtt**: our `joinTopic` on a loopback testnet of bittorrent-dht nodes (`createTestnet`). DHT nodes
 *   are pooled (`testnet.createNode()` once, reused with a fresh topic name per trial: a closed DHT node
 *   lingers in the others' routing tables and stalls later lookups); a peer's `Gossip` node is created
 *   per trial, before its clock starts, and closed after it. A peer's neighbours are
 *   `TrackedTopic.neighbors()`; its sends are `stats.proto.payloadsSent` (GOSSIP frames).
 * - **hyperswarm**: `new Hyperswarm({ dht })` per peer, whose HyperDHT node comes from the
 *   @hyperswarm/testnet's `createNode()` (ephemeral, bound to 127.0.0.1, bootstrapped to the testnet
 *   only). `new Hyperswarm({ bootstrap })` would bind 0.0.0.0, so the DHT is passed in; with a
 *   127.0.0.1 socket hyperdht also shares only 127.0.0.1 as its local address. A peer joins with the
 *   defaults (`server: true, client: true`) and nothing else; its neighbours are its open connections
 *   (`swarm.connections`, keyed by `remotePublicKey`). Broadcasts are an app-level flood over those
 *   connections ({@link Flood}), since Hyperswarm has none.
 *
 * Every socket of both systems is bound to 127.0.0.1 and every bootstrap address is a testnet node on
 * 127.0.0.1; {@link assertLoopback} checks the bound DHT addresses of every peer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import createHyperswarmTestnet, { type Testnet as HyperswarmTestnet } from '@hyperswarm/testnet';
import type HyperDHT from 'hyperdht';
import Hyperswarm, { type PeerDiscovery, type SwarmConnection } from 'hyperswarm';
import { createTestnet, type Dht, type Testnet } from '../../src/dht/index.js';
import { Gossip } from '../../src/net/gossip.js';
import { joinTopic, type TrackedTopic } from '../../src/tracker/join.js';
import { meshComponents } from '../../src/tracker/mesh.js';

export type SystemName = 'gtt' | 'hyperswarm';
export const SYSTEMS: readonly SystemName[] = ['gtt', 'hyperswarm'];

const LOOPBACK = '127.0.0.1';
const POLL_MS = 25;
const LISTEN = { host: LOOPBACK, port: 0 };

/** A peer of either system, created (DHT node bootstrapped, listener bound) before any clock starts. */
export interface BenchPeer {
  readonly system: SystemName;
  /** Its id as neighbours report it (hex public key). */
  readonly id: string;
  /**
   * Starts joining `topic`; resolves once the join is under way (at once for Hyperswarm). `serverOnly`
   * (Hyperswarm only) announces without looking up, as a topic's first member would.
   */
  join(topic: string, opts?: { serverOnly?: boolean }): Promise<void>;
  /**
   * Resolves once others can find this peer (gtt: its first record was published; Hyperswarm: its
   * announce query finished, `discovery.flushed()`): true, or false once `budgetMs` passed.
   */
  announced(budgetMs: number): Promise<boolean>;
  /** Whether it has at least one neighbour. */
  hasNeighbor(): boolean;
  /** Resolves at its first neighbour: true, or false once `budgetMs` passed. */
  firstNeighbor(budgetMs: number): Promise<boolean>;
  /** Ids of its current neighbours. */
  neighbors(): string[];
  /**
   * Whether nothing can change before the system's next periodic work: always false for gtt (its
   * bootstrap loop and workers keep running); for Hyperswarm see {@link HyperswarmPeer.quiescent}.
   */
  quiescent(): boolean;
  /** Broadcasts `content` to the whole topic (gtt: PlumTree; Hyperswarm: {@link Flood}). */
  broadcast(content: Uint8Array): void;
  /** Calls `fn` for every message delivered to this peer (each broadcast once). */
  onMessage(fn: (content: Uint8Array) => void): void;
  /** Payload-carrying messages this peer sent so far. */
  payloadSends(): number;
  /** Other protocol messages it sent (gtt: IHAVE, GRAFT, PRUNE, HyParView); null for the flood. */
  controlSends(): number | null;
  /**
   * Milestones of its join, ms from the `join` call: gtt's first record read (`firstRecordMs`) and
   * first dial (`firstDialMs`); none for Hyperswarm (its lookup is opaque).
   */
  phases(): Record<string, number>;
  /** Leaves and frees what the trial created (gtt: the gossip node; its pooled DHT node stays). */
  close(): Promise<void>;
}

/** A running system: its testnet and a way to make peers. */
export interface BenchSystem {
  readonly name: SystemName;
  /**
   * Creates `count` peers, ready to join. gtt peers take pooled DHT nodes 0…count−1 (the pool grows as
   * needed), so the peers of one trial must be closed before the next trial creates its own.
   */
  createPeers(count: number): Promise<BenchPeer[]>;
  /** Closes the testnet and every DHT node of the system. Idempotent. */
  close(): Promise<void>;
}

/** Budget of starting a testnet, and of creating one trial's peers. */
const SETUP_BUDGET_MS = 60_000;
/** Budget of closing a peer or a system; past it the bench goes on (and says so). */
const CLOSE_BUDGET_MS = 15_000;

/**
 * Starts a system on a loopback testnet of `nodes` DHT nodes.
 * @throws {Error} when it is not up within {@link SETUP_BUDGET_MS}; whatever the testnet throws.
 */
export function createSystem(name: SystemName, nodes: number): Promise<BenchSystem> {
  const system: Promise<BenchSystem> =
    name === 'gtt' ? GttSystem.create(nodes) : HyperswarmSystem.create(nodes);
  return within(system, SETUP_BUDGET_MS, `starting the ${name} testnet`);
}

/** `promise`, or a rejection once `ms` passed. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits for a close at most {@link CLOSE_BUDGET_MS}; a close that fails or hangs is reported, not thrown. */
async function closeWithin(close: () => Promise<void>, what: string): Promise<void> {
  try {
    await within(close(), CLOSE_BUDGET_MS, what);
  } catch (e) {
    process.stderr.write(`[vs-systems] ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

/** Throws unless `address` is a 127.0.0.1 socket. */
export function assertLoopback(what: string, address: { host: string } | null | undefined): void {
  if (address?.host !== LOOPBACK) {
    throw new Error(`${what} is bound to ${address?.host ?? 'nothing'}, expected ${LOOPBACK}`);
  }
}

// --- gtt ----------------------------------------------------------------------------------------------------

class GttSystem implements BenchSystem {
  readonly name = 'gtt';
  readonly #pool: Dht[] = [];
  #closing: Promise<void> | undefined;

  private constructor(readonly testnet: Testnet) {}

  static async create(nodes: number): Promise<GttSystem> {
    return new GttSystem(await createTestnet({ nodes, host: LOOPBACK }));
  }

  createPeers(count: number): Promise<BenchPeer[]> {
    return within(this.#createPeers(count), SETUP_BUDGET_MS, `creating ${count} gtt peers`);
  }

  async #createPeers(count: number): Promise<BenchPeer[]> {
    while (this.#pool.length < count) {
      const more = await Promise.all(
        Array.from({ length: count - this.#pool.length }, () => this.testnet.createNode()),
      );
      for (const dht of more) assertLoopback('a gtt DHT node', dht.address());
      this.#pool.push(...more);
    }
    const gossips = await Promise.all(Array.from({ length: count }, () => Gossip.create({ listen: LISTEN })));
    return gossips.map((gossip, i) => {
      for (const a of gossip.addresses()) assertLoopback('a gtt gossip listener', a);
      return new GttPeer(this.#pool[i]!, gossip);
    });
  }

  close(): Promise<void> {
    this.#closing ??= closeWithin(() => this.testnet.close(), 'closing the gtt testnet');
    return this.#closing;
  }
}

class GttPeer implements BenchPeer {
  readonly system = 'gtt';
  readonly id: string;
  #topic: TrackedTopic | undefined;
  readonly #listeners: ((content: Uint8Array) => void)[] = [];
  readonly #phases: Record<string, number> = {};

  constructor(
    readonly dht: Dht,
    readonly gossip: Gossip,
  ) {
    this.id = gossip.id;
  }

  /** The tracked topic, once `join` resolved. */
  get topic(): TrackedTopic | undefined {
    return this.#topic;
  }

  async join(topic: string): Promise<void> {
    if (this.#topic !== undefined) throw new Error('already joined');
    const t0 = performance.now();
    // What `wait: true` does, minus the wait: the caller times `firstNeighbor` (= `joined()`).
    const tracked = await joinTopic(topic, { dht: this.dht, gossip: this.gossip, wait: false });
    this.#topic = tracked;
    // Attached after the call returned: only the first, synchronous `read` event is missed.
    tracked.on('status', (e) => {
      const key = e.type === 'record' ? 'firstRecordMs' : e.type === 'dial' ? 'firstDialMs' : undefined;
      if (key !== undefined) this.#phases[key] ??= performance.now() - t0;
    });
    tracked.on('message', (m) => {
      for (const fn of this.#listeners) fn(m.content);
    });
  }

  async announced(budgetMs: number): Promise<boolean> {
    const topic = this.#topic;
    if (topic === undefined) throw new Error('not joined');
    const t0 = performance.now();
    while (topic.stats.tracker.published === 0) {
      if (performance.now() - t0 >= budgetMs) return false;
      await sleep(POLL_MS);
    }
    return true;
  }

  hasNeighbor(): boolean {
    return this.#topic?.isJoined() ?? false;
  }

  async firstNeighbor(budgetMs: number): Promise<boolean> {
    if (this.#topic === undefined) throw new Error('not joined');
    const signal = AbortSignal.timeout(Math.max(1, Math.ceil(budgetMs)));
    try {
      await this.#topic.joined({ signal });
      return true;
    } catch (e) {
      if (signal.aborted) return false;
      throw e;
    }
  }

  neighbors(): string[] {
    return this.#topic?.neighbors() ?? [];
  }

  quiescent(): boolean {
    return false;
  }

  broadcast(content: Uint8Array): void {
    if (this.#topic === undefined) throw new Error('not joined');
    this.#topic.broadcast(content);
  }

  onMessage(fn: (content: Uint8Array) => void): void {
    this.#listeners.push(fn);
  }

  payloadSends(): number {
    return this.gossip.stats.proto.payloadsSent;
  }

  controlSends(): number {
    const s = this.gossip.stats.proto;
    return s.messagesOut - s.payloadsSent;
  }

  phases(): Record<string, number> {
    return { ...this.#phases };
  }

  close(): Promise<void> {
    return closeWithin(async () => {
      await this.#topic?.close();
      await this.gossip.close();
    }, 'closing a gtt peer');
  }
}

// --- Hyperswarm ---------------------------------------------------------------------------------------------

/** Hyperswarm topics are 32 bytes: the SHA-256 of the bench's topic name. */
const hyperswarmTopic = (name: string): Buffer => createHash('sha256').update(name).digest();

class HyperswarmSystem implements BenchSystem {
  readonly name = 'hyperswarm';
  #closing: Promise<void> | undefined;

  private constructor(readonly testnet: HyperswarmTestnet) {}

  static async create(nodes: number): Promise<HyperswarmSystem> {
    // Binds 127.0.0.1 and bootstraps each node to the first one (hyperdht/testnet.js).
    const testnet = await createHyperswarmTestnet(nodes, { host: LOOPBACK });
    for (const node of testnet.nodes) assertLoopback('a Hyperswarm testnet node', node.address());
    for (const b of testnet.bootstrap) assertLoopback('the Hyperswarm bootstrap address', b);
    return new HyperswarmSystem(testnet);
  }

  async createPeers(count: number): Promise<BenchPeer[]> {
    if (this.#closing !== undefined) throw new Error('closed');
    const peers = Array.from({ length: count }, () => new HyperswarmPeer(this.testnet));
    try {
      await within(
        Promise.all(peers.map((p) => p.swarm.dht.fullyBootstrapped())),
        SETUP_BUDGET_MS,
        `bootstrapping ${count} Hyperswarm peers`,
      );
      for (const p of peers) assertLoopback('a Hyperswarm DHT node', p.swarm.dht.address());
    } catch (e) {
      await Promise.all(peers.map((p) => p.close()));
      throw e;
    }
    return peers;
  }

  close(): Promise<void> {
    this.#closing ??= closeWithin(() => this.testnet.destroy(), 'destroying the Hyperswarm testnet');
    return this.#closing;
  }
}

class HyperswarmPeer implements BenchPeer {
  readonly system = 'hyperswarm';
  readonly id: string;
  readonly swarm: Hyperswarm;
  readonly #testnet: HyperswarmTestnet;
  readonly #dht: HyperDHT;
  readonly #flood: Flood;
  #discovery: PeerDiscovery | undefined;
  #flushed = false;
  #flushedPromise: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(testnet: HyperswarmTestnet) {
    this.#testnet = testnet;
    this.#dht = testnet.createNode();
    this.swarm = new Hyperswarm({ dht: this.#dht });
    this.id = this.swarm.keyPair.publicKey.toString('hex');
    this.#flood = new Flood(this.swarm);
  }

  async join(topic: string, opts: { serverOnly?: boolean } = {}): Promise<void> {
    if (this.#discovery !== undefined) throw new Error('already joined');
    // The documented defaults: announce (server) and look up (client). Nothing re-queries later but
    // Hyperswarm's own refresh (10 min + up to 2 min jitter, hyperswarm/lib/peer-discovery.js).
    const discovery = this.swarm.join(
      hyperswarmTopic(topic),
      opts.serverOnly === true ? { server: true, client: false } : {},
    );
    this.#discovery = discovery;
    this.#flushedPromise = discovery.flushed().then(() => {
      this.#flushed = true;
    });
  }

  async announced(budgetMs: number): Promise<boolean> {
    if (this.#flushedPromise === undefined) throw new Error('not joined');
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      this.#flushedPromise.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), budgetMs);
      }),
    ]);
    clearTimeout(timer);
    return ok;
  }

  hasNeighbor(): boolean {
    return this.swarm.connections.size > 0;
  }

  firstNeighbor(budgetMs: number): Promise<boolean> {
    if (this.hasNeighbor()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.swarm.off('connection', onConnection);
        resolve(ok);
      };
      const onConnection = () => done(true);
      const timer = setTimeout(() => done(false), budgetMs);
      this.swarm.on('connection', onConnection);
    });
  }

  neighbors(): string[] {
    return [...this.swarm.connections].map((c) => c.remotePublicKey.toString('hex'));
  }

  /**
   * Nothing can happen before Hyperswarm's next refresh (10 min away): the join's announce/lookup query
   * finished, no connection is in flight, and every peer it knows of has an open connection (none waits
   * for a retry). The caller also checks that the connection graph is symmetric (no server side still
   * opening).
   */
  quiescent(): boolean {
    if (!this.#flushed || this.swarm.connecting > 0) return false;
    const open = new Set(this.neighbors());
    for (const key of this.swarm.peers.keys()) if (!open.has(key)) return false;
    return true;
  }

  broadcast(content: Uint8Array): void {
    this.#flood.broadcast(content);
  }

  onMessage(fn: (content: Uint8Array) => void): void {
    this.#flood.listeners.push(fn);
  }

  payloadSends(): number {
    return this.#flood.sends;
  }

  controlSends(): null {
    return null;
  }

  phases(): Record<string, number> {
    return {};
  }

  close(): Promise<void> {
    this.#closing ??= closeWithin(async () => {
      await this.swarm.destroy();
      // The testnet keeps every node it created, to destroy them with itself; this one is gone already.
      const i = this.#testnet.nodes.indexOf(this.#dht);
      if (i >= 0) this.#testnet.nodes.splice(i, 1);
    }, 'destroying a Hyperswarm peer');
    return this.#closing;
  }
}

/** Bytes of a flood message id. */
const FLOOD_ID_BYTES = 16;

/**
 * An app-level flood over a swarm's connections, framed per connection as
 * `u32 length (BE) ‖ 16-byte random message id ‖ payload`. Each peer delivers and forwards a message id
 * it has not seen to every open connection except the one it came from.
 */
export class Flood {
  /** Frames written (payload messages sent), own and forwarded. */
  sends = 0;
  /** Frames whose id was seen already. */
  duplicates = 0;
  readonly listeners: ((content: Uint8Array) => void)[] = [];
  readonly #seen = new Set<string>();

  constructor(readonly swarm: Hyperswarm) {
    swarm.on('connection', (conn) => this.#attach(conn));
  }

  broadcast(content: Uint8Array): void {
    const id = randomBytes(FLOOD_ID_BYTES);
    this.#seen.add(id.toString('hex'));
    const frame = Buffer.allocUnsafe(4 + FLOOD_ID_BYTES + content.length);
    frame.writeUInt32BE(FLOOD_ID_BYTES + content.length, 0);
    id.copy(frame, 4);
    frame.set(content, 4 + FLOOD_ID_BYTES);
    this.#forward(frame, undefined);
  }

  #forward(frame: Buffer, from: SwarmConnection | undefined): void {
    for (const conn of this.swarm.connections) {
      if (conn === from) continue;
      conn.write(frame);
      this.sends++;
    }
  }

  #attach(conn: SwarmConnection): void {
    // Connections error when a peer goes away (and on duplicate-connection resolution): expected.
    conn.on('error', () => {});
    let buffered: Buffer = Buffer.alloc(0);
    conn.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4) {
        const end = 4 + buffered.readUInt32BE(0);
        if (buffered.length < end) break;
        // Copied out: `buffered` may be a view of a chunk the stream reuses.
        const frame = Buffer.from(buffered.subarray(0, end));
        buffered = buffered.subarray(end);
        this.#onFrame(conn, frame);
      }
    });
  }

  #onFrame(from: SwarmConnection, frame: Buffer): void {
    if (frame.length < 4 + FLOOD_ID_BYTES) return;
    const id = frame.toString('hex', 4, 4 + FLOOD_ID_BYTES);
    if (this.#seen.has(id)) {
      this.duplicates++;
      return;
    }
    this.#seen.add(id);
    const content = frame.subarray(4 + FLOOD_ID_BYTES);
    for (const fn of this.listeners) fn(content);
    this.#forward(frame, from);
  }
}

// --- graphs -------------------------------------------------------------------------------------------------

/** Connected components of `peers` (undirected, largest first): the library's own helper. */
export const componentSets = (peers: readonly BenchPeer[]): Set<string>[] => meshComponents(peers);

/** Whether every peer has a neighbour and all form one component. */
export function oneGraph(peers: readonly BenchPeer[]): boolean {
  return peers.every((p) => p.hasNeighbor()) && (componentSets(peers)[0]?.size ?? 0) === peers.length;
}

/** Peers with no neighbour, or outside the largest component. */
export function isolatedCount(peers: readonly BenchPeer[]): number {
  const main = componentSets(peers)[0] ?? new Set<string>();
  return peers.filter((p) => !p.hasNeighbor() || !main.has(p.id)).length;
}

/** Whether every link is reported by both ends (no connection half-open). */
export function symmetric(peers: readonly BenchPeer[]): boolean {
  const lists = new Map(peers.map((p) => [p.id, new Set(p.neighbors())]));
  for (const [id, ns] of lists) {
    for (const n of ns) if (lists.has(n) && !lists.get(n)!.has(id)) return false;
  }
  return true;
}

/** min / median / max of the peers' neighbour counts. */
export function degrees(peers: readonly BenchPeer[]): { min: number; median: number; max: number } {
  const d = peers.map((p) => p.neighbors().length).sort((a, b) => a - b);
  return { min: d[0] ?? 0, median: d[Math.floor((d.length - 1) / 2)] ?? 0, max: d.at(-1) ?? 0 };
}
