/**
 * A local mainline DHT for tests: real bittorrent-dht nodes (through {@link Dht}) on 127.0.0.1,
 * bootstrapped to each other. Exported so applications can test against it too. It binds and
 * contacts loopback addresses only.
 *
 * Readiness (BEP 5 routing tables): `ready` alone proves nothing (bittorrent-dht emits it even with an
 * empty table), so the testnet resolves only when every node's routing table holds at least
 * min(n − 1, k) nodes. It gets there in three steps:
 * 1. the first node starts alone; it is the bootstrap node of all others;
 * 2. the other n − 1 nodes start in parallel, each running its bootstrap walk through the first one
 *    (every node a walk queries adds the walker to its own table);
 * 3. once all exist, every node runs one refresh walk (`find_node` toward its own id), so early
 *    joiners also learn the late ones. Nodes still short of the threshold then walk toward random ids
 *    (BEP 5 bucket refreshes, a few per round), up to {@link TESTNET_MAX_REFRESH_ROUNDS} rounds in all,
 *    then creation fails.
 * Measured on 2 cores (idle, and with both cores busy; 14 runs of 30 and 50 nodes): the threshold
 * already held after step 2 in every run, one refresh round took 70–470 ms, and the whole testnet was
 * ready in 0.15–1.1 s. Walks from any node then found all of the true 20 closest nodes of 40 random
 * targets.
 *
 * A testnet that behaves like the real DHT, when asked: `latency` (each node's replies wait a delay
 * drawn once per node), `loss` (a share of replies dropped) and `dead` (a share of nodes that stop
 * sending anything `afterMs` after readiness, while staying bound and in every routing table, as nodes
 * of the real DHT vanish). They start once the testnet is ready, so readiness is unchanged, and touch
 * the testnet's own nodes only, not those of `createNode`.
 */
import { setMaxListeners } from 'node:events';
import type { CryptoSuite } from '../crypto/suite.js';
import { closest, GttError, throwIfAborted } from '../errors.js';
import { DEFAULT_K, type DhtOptions } from './config.js';
import { Dht, kImpair } from './dht.js';

/** Refresh rounds before giving up on filling routing tables (guess; one round sufficed when measured). */
export const TESTNET_MAX_REFRESH_ROUNDS = 5;
/** Random-target refresh walks per short node and round after the first (guess). */
const RANDOM_WALKS_PER_ROUND = 4;
/** Nodes in a testnet by default (guess). */
export const TESTNET_DEFAULT_NODES = 10;

/** Options of {@link createTestnet}. */
export interface TestnetOptions {
  /** Nodes to start (default 10). */
  readonly nodes?: number;
  /** Loopback address to bind (default 127.0.0.1; must be in 127.0.0.0/8). */
  readonly host?: string;
  /** Per-query timeout of the testnet's nodes (default: bittorrent-dht's 2000 ms). */
  readonly queryTimeoutMs?: number;
  /** Stall delay of the testnet's nodes' walks (default: the Dht default, `DEFAULT_QUERY_STALL_MS`). */
  readonly queryStallMs?: number;
  /**
   * Crypto suite of the testnet's nodes and, unless they pass their own, of `createNode`'s (default:
   * the Dht default, `defaultSuite()`).
   */
  readonly crypto?: CryptoSuite;
  /**
   * Each of the testnet's own nodes answers after a delay drawn once per node, uniformly in
   * [minMs, maxMs] (default: none). Like `loss` and `dead`, it starts once the testnet is ready.
   */
  readonly latency?: { readonly minMs: number; readonly maxMs: number };
  /** Share of replies each testnet node drops, 0–1 (default 0). */
  readonly loss?: number;
  /**
   * This share of the testnet's nodes (never the bootstrap node) goes silent `afterMs` after the
   * testnet is ready, while staying in everyone's routing tables (default: none).
   */
  readonly dead?: { readonly share: number; readonly afterMs: number };
  readonly signal?: AbortSignal;
}

const TESTNET_OPTION_KEYS: readonly (keyof TestnetOptions)[] = [
  'nodes',
  'host',
  'queryTimeoutMs',
  'queryStallMs',
  'crypto',
  'latency',
  'loss',
  'dead',
  'signal',
];

/** Options of {@link Testnet.createNode}: any {@link Dht} option except where it binds and bootstraps. */
export type TestnetNodeOptions = Omit<DhtOptions, 'bootstrap' | 'host'>;

/** A running local DHT. */
export interface Testnet {
  /** `"host:port"` of the bootstrap node; pass it as `bootstrap` to join the testnet. */
  readonly bootstrap: string[];
  /** The testnet's own nodes (the first is the bootstrap node). */
  readonly nodes: readonly Dht[];
  /**
   * Starts a fresh {@link Dht} bound to the testnet's host and bootstrapped to it; it is closed with
   * the testnet. Its queries to nodes on the testnet's host are not paced (ours do not rate-limit loopback
   * senders; `pace.unpaced`), those to any other host are.
   * @throws {GttError} `CLOSED` after {@link close}; whatever {@link Dht.create} throws.
   */
  createNode(options?: TestnetNodeOptions, opts?: { signal?: AbortSignal }): Promise<Dht>;
  /** Closes every node, including those from {@link createNode}. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts `nodes` DHT nodes on a loopback address and resolves once every routing table holds at
 * least min(nodes − 1, k) nodes (see the module comment).
 * @throws {GttError} `INVALID_CONFIG` on bad options; `DHT_BOOTSTRAP_FAILED` when the routing tables do
 *   not fill; `ABORTED` when `signal` aborts; whatever {@link Dht.create} throws. Nodes already started
 *   are closed before it rejects.
 */
export async function createTestnet(options: TestnetOptions = {}): Promise<Testnet> {
  for (const key of Object.keys(options)) {
    if (TESTNET_OPTION_KEYS.includes(key as keyof TestnetOptions)) continue;
    const near = closest(key, TESTNET_OPTION_KEYS);
    const hint =
      key === 'bootstrap'
        ? ' (a testnet has no bootstrap: it is one)'
        : near
          ? ` (did you mean ${near}?)`
          : '';
    throw GttError.invalidConfig(`Invalid testnet options: ${key}: unknown option${hint}`);
  }
  const count = options.nodes ?? TESTNET_DEFAULT_NODES;
  const host = options.host ?? '127.0.0.1';
  const { signal } = options;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw GttError.invalidConfig(`Invalid testnet options: nodes: expected an integer ≥ 1, got ${count}`);
  }
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
    throw GttError.invalidConfig(`Invalid testnet options: host: expected a 127.x.y.z address, got ${host}`);
  }
  const profile = checkProfile(options);
  throwIfAborted(signal);
  const common: DhtOptions & { host: string } = { host, port: 0 };
  if (options.queryTimeoutMs !== undefined) common.queryTimeoutMs = options.queryTimeoutMs;
  if (options.queryStallMs !== undefined) common.queryStallMs = options.queryStallMs;
  if (options.crypto !== undefined) common.crypto = options.crypto;

  const extra = new Set<Dht>();
  const { nodes, bootstrap, close: closeNodes } = await startDhtNodes({ common, count, signal });
  const impaired = impair(nodes, profile);
  let closing: Promise<void> | undefined;
  return {
    bootstrap,
    nodes,
    async createNode(nodeOptions: TestnetNodeOptions = {}, opts: { signal?: AbortSignal } = {}) {
      if (closing) throw GttError.closed('Testnet');
      // Every node on the testnet's host (its own and those of `createNode`) leaves loopback senders out
      // of its rate limit (`serve.ts`), so pacing our queries to them protects nothing: it would only
      // slow a bench down to the pace a real node needs. Any other host keeps its pace (the interop
      // lab's libtorrent nodes live on other 127.x hosts).
      const unpaced = [...(nodeOptions.pace?.unpaced ?? []), host];
      const pace = { ...nodeOptions.pace, unpaced };
      const node = await Dht.create({ ...common, ...nodeOptions, pace, host, bootstrap }, opts);
      if (closing) {
        await node.close();
        throw GttError.closed('Testnet');
      }
      extra.add(node);
      return node;
    },
    close() {
      impaired.close();
      closing ??= Promise.all([closeNodes(), ...[...extra].map((n) => n.close())]).then(() => undefined);
      return closing;
    },
  };
}

interface Profile {
  latency: { minMs: number; maxMs: number } | undefined;
  loss: number;
  dead: { share: number; afterMs: number } | undefined;
}

/** @throws {GttError} `INVALID_CONFIG` for a latency, loss or dead share out of range. */
function checkProfile(options: TestnetOptions): Profile {
  const bad = (what: string) => GttError.invalidConfig(`Invalid testnet options: ${what}`);
  const { latency, loss = 0, dead } = options;
  if (latency !== undefined && !(latency.minMs >= 0 && latency.maxMs >= latency.minMs)) {
    throw bad('latency: expected 0 ≤ minMs ≤ maxMs');
  }
  if (!(loss >= 0 && loss <= 1)) throw bad(`loss: expected a share in [0, 1], got ${loss}`);
  if (dead !== undefined && !(dead.share >= 0 && dead.share <= 1 && dead.afterMs >= 0)) {
    throw bad('dead: expected share in [0, 1] and afterMs ≥ 0');
  }
  return { latency, loss, dead };
}

/**
 * Applies the profile to the testnet's nodes (through the Dht's `kImpair` hook, `serve.ts`): delays
 * and losses from now, and a timer that silences the dead share. `close()` clears everything.
 */
function impair(nodes: readonly Dht[], profile: Profile): { close(): void } {
  const { latency, loss, dead } = profile;
  if (latency === undefined && loss === 0 && dead === undefined) return { close: () => {} };
  const handles = nodes.map((n) =>
    n[kImpair]({
      delayMs: latency === undefined ? 0 : latency.minMs + Math.random() * (latency.maxMs - latency.minMs),
      loss,
      random: Math.random,
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  if (dead !== undefined) {
    // Never the bootstrap node: newcomers must still be able to join.
    const candidates = handles.slice(1).sort(() => Math.random() - 0.5);
    const silenced = candidates.slice(0, Math.round(dead.share * candidates.length));
    timer = setTimeout(() => {
      for (const h of silenced) h.silence();
    }, dead.afterMs);
    timer.unref();
  }
  return {
    close: () => {
      if (timer !== undefined) clearTimeout(timer);
      for (const h of handles) h.close();
    },
  };
}

/**
 * Starts `count` DHT nodes with `common` options (`host` required; `port` is the first node's): the first
 * alone, the others bootstrapped to it, then refresh walks until every routing table holds
 * min(count − 1, k) nodes (steps 1–3 of the module comment). `createTestnet` adds the loopback check and
 * `createNode`; `gtt testnet` uses this directly for `--port` and non-loopback hosts. @internal
 * @throws as {@link createTestnet}; nodes already started are closed first.
 */
export async function startDhtNodes(opts: {
  common: DhtOptions & { host: string };
  count: number;
  signal?: AbortSignal;
}): Promise<{ nodes: Dht[]; bootstrap: string[]; close(): Promise<void> }> {
  const { common, count } = opts;
  const nodes: Dht[] = [];
  // One listener on the caller's signal for all the nodes (each `create` and walk adds one to the
  // signal it is given: with the caller's, 20 nodes would trip Node's MaxListenersExceededWarning).
  const linked = new AbortController();
  setMaxListeners(count * (RANDOM_WALKS_PER_ROUND + 2), linked.signal);
  const forward = () => linked.abort(opts.signal?.reason);
  if (opts.signal?.aborted) forward();
  else opts.signal?.addEventListener('abort', forward, { once: true });
  const signal = linked.signal;
  const close = () => Promise.all(nodes.map((n) => n.close())).then(() => undefined);
  try {
    const first = await Dht.create({ ...common, bootstrap: [] }, { signal });
    nodes.push(first);
    const bootstrap = [`${common.host}:${first.address().port}`];
    const rest = await Promise.allSettled(
      Array.from({ length: count - 1 }, () => Dht.create({ ...common, port: 0, bootstrap }, { signal })),
    );
    for (const r of rest) if (r.status === 'fulfilled') nodes.push(r.value);
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    await fillRoutingTables(nodes, Math.min(count - 1, DEFAULT_K), signal);
    return { nodes, bootstrap, close };
  } catch (error) {
    await close();
    throw error;
  } finally {
    opts.signal?.removeEventListener('abort', forward);
  }
}

/** Refresh walks until every node knows at least `wanted` others (see the module comment). */
async function fillRoutingTables(nodes: readonly Dht[], wanted: number, signal: AbortSignal | undefined) {
  let walkers: readonly Dht[] = nodes;
  for (let round = 0; round < TESTNET_MAX_REFRESH_ROUNDS; round++) {
    // First toward each node's own id; then, for nodes still short, bucket refreshes toward random ids
    // (a walk toward self meets the nodes near self; a late joiner may still be short of far ones).
    await Promise.all(
      walkers.flatMap((n) =>
        round === 0
          ? [n.refresh({ signal })]
          : Array.from({ length: RANDOM_WALKS_PER_ROUND }, () =>
              n.refresh({ signal, target: crypto.getRandomValues(new Uint8Array(n.id.length)) }),
            ),
      ),
    );
    walkers = nodes.filter((n) => n.nodeCount() < wanted);
    if (walkers.length === 0) return;
  }
  const counts = nodes.map((n) => n.nodeCount()).join(',');
  throw new GttError(
    'DHT_BOOTSTRAP_FAILED',
    `Testnet routing tables did not fill after ${TESTNET_MAX_REFRESH_ROUNDS} refresh rounds ` +
      `(wanted ${wanted} per node, got ${counts})`,
  );
}
