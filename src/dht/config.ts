/**
 * Options of {@link Dht}: one zod schema, every default a named constant with its source.
 *
 * Sources: "bittorrent-dht default" = the value bittorrent-dht 11 / k-rpc / k-rpc-socket use when the
 * option is absent; "distributed-topic-tracker default" = `DhtConfig::default()` of the Rust crate this
 * library follows; "BEP 5" = the mainline DHT spec; "guess" = not measured yet.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { type CryptoSuite, isCryptoSuite } from '../crypto/suite.js';
import { HOST_PORT_MESSAGE, parseOptions, splitHostPort } from '../errors.js';
import { defaultSuite } from '../native/crypto.js';
import { REACHABILITY_WINDOW_MS } from './external.js';

/** A bootstrap address. Host names are resolved to IPv4 by {@link Dht.create}. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Public mainline DHT routers: the three k-rpc (bittorrent-dht default) routers, plus libtorrent's
 * router dht.libtorrent.org:25401 (libtorrent default).
 */
export const DEFAULT_BOOTSTRAP: readonly HostPort[] = [
  { host: 'router.bittorrent.com', port: 6881 },
  { host: 'router.utorrent.com', port: 6881 },
  { host: 'dht.transmissionbt.com', port: 6881 },
  { host: 'dht.libtorrent.org', port: 25401 },
];
/** Bind address: every IPv4 interface (bittorrent-dht default: dgram binds 0.0.0.0). */
export const DEFAULT_HOST = '0.0.0.0';
/** Bind port: any free port (bittorrent-dht default). */
export const DEFAULT_PORT = 0;
/** Per-query timeout (bittorrent-dht default: k-rpc-socket `timeout`). */
export const DEFAULT_QUERY_TIMEOUT_MS = 2000;
/**
 * Longest a walk waits for a node before moving on without it (its reply still counts if it comes
 * while the walk runs). The delay adapts to measured round trips (RFC 6298: srtt + 4·rttvar) between
 * MIN_QUERY_STALL_MS and this. Guess: half the query timeout.
 */
export const DEFAULT_QUERY_STALL_MS = 1000;
/**
 * Shortest stall delay. Guess, checked on a loopback testnet: well above idle round trips (< 5 ms);
 * with both cores busy a few live nodes stall (their late replies still count), and a dead node costs
 * a walk about this long instead of a 2–2.5 s query timeout.
 */
export const MIN_QUERY_STALL_MS = 100;
/** Budget of one `getAll` (distributed-topic-tracker default `get_timeout`). */
export const DEFAULT_GET_TIMEOUT_MS = 10_000;
/** Budget of one `put` attempt (distributed-topic-tracker default `put_timeout`). */
export const DEFAULT_PUT_TIMEOUT_MS = 10_000;
/** Extra put attempts after the first (distributed-topic-tracker default `retries`). */
export const DEFAULT_PUT_RETRIES = 3;
/** Base delay before a put retry (distributed-topic-tracker default `base_retry_interval`). */
export const DEFAULT_PUT_RETRY_DELAY_MS = 5000;
/** Maximum random delay added to a put retry (distributed-topic-tracker default `max_retry_jitter`). */
export const DEFAULT_PUT_RETRY_JITTER_MS = 10_000;
/** How long `Dht.create` waits for a bootstrap node to answer (guess). */
export const DEFAULT_BOOTSTRAP_TIMEOUT_MS = 10_000;
/** Queries in flight at once (bittorrent-dht default: k-rpc `concurrency`). */
export const DEFAULT_CONCURRENCY = 16;
/** Bucket size and number of closest nodes a walk converges on (BEP 5; bittorrent-dht default). */
export const DEFAULT_K = 20;
/**
 * New contacts a walk takes from one reply, closest first: BEP 5's K = 8 (libtorrent sends 8; ours send
 * the k = 20 closest, `serve.ts`). Measured on a 30-node testnet, 20 getAll walks each: taking 8 found
 * 400/400 of the true 20 closest (20 taken: 387/400), ~20 queries and 6–10 ms per walk either way; with
 * 8 hostile responders a walk sent 84 queries in 0.56 s (20 taken: 181 in 1.1 s).
 */
export const DEFAULT_WALK_CONTACTS_PER_REPLY = 8;
/**
 * Candidates one walk holds (guess: ~40 replies' worth at 20 contacts taken each; a walk on a network
 * of millions queries a few dozen nodes). Beyond it, only contacts closer than the farthest waiting
 * candidate get in.
 */
export const DEFAULT_WALK_MAX_CANDIDATES = 800;
/**
 * Contacts listed by one responder that may fail or stall, none answering, before a walk forgets the
 * rest of them (guess: a few stale entries are normal in an honest reply; a hostile one's are all dead).
 */
export const DEFAULT_WALK_DISTRUST_AFTER = 2;
/**
 * Nodes per IPv4 /24 among a walk's candidates and in the routing table, beside one per IP (guess;
 * libtorrent `dht_restrict_search_ips` / `dht_restrict_routing_ips` allow one per /24 in a search and a
 * bucket). Loopback is per host:port and has no /24 limit (testnets run every node on 127.0.0.1).
 */
export const DEFAULT_MAX_NODES_PER_PREFIX = 2;
/**
 * BEP 43: a read-only node sends `ro=1` in every query, so that others keep it out of their routing
 * tables and no walk waits on a node nobody outside can reach. `'auto'`: read-only once we know we are
 * behind a NAT that lets nobody in (`external.ts`: our BEP 42 address is not ours, and no query came
 * from an address we never contacted within `reachabilityWindowMs`); until then, and on any network
 * where we hold our external address ourselves (testnets, public hosts), a full node.
 */
export const DEFAULT_READ_ONLY = 'auto';
/**
 * Queries per second our node sends one node address (host:port), retries and read-backs included.
 * libtorrent `dht_block_ratelimit` (5) blocks an IP for `dht_block_timeout` (300 s) once 50 packets
 * arrive within 10 s; 2.8/s with a burst of 16 sends at most 44 in any 10 s (see `pacer.ts`). The
 * burst is what one member's start-up asks of one node on a small network: reads of four slots, a
 * second look at each, a put and its read-back (on a 30-node testnet, a burst of 4 made publishes
 * wait and retry) ...
 */
export const DEFAULT_PACE_PER_SECOND = 2.8;
/** ... with this burst. */
export const DEFAULT_PACE_BURST = 16;
/** Paced queries waiting per address; a walk skips a node whose queue is full (guess: ~3 s at 2.8/s). */
export const DEFAULT_PACE_MAX_QUEUED = 8;
/** Addresses the pacer tracks at once; beyond it, queries to new addresses are refused (guess). */
export const DEFAULT_PACE_TRACKED = 65_536;
/** Extra random delay of a paced query, so paced senders do not fall into step (guess). */
export const DEFAULT_PACE_JITTER_MS = 50;
/** BEP 44 items this node stores for others (bittorrent-dht default `maxValues`). */
export const DEFAULT_MAX_STORED_VALUES = 1000;
/**
 * Smallest accepted per-query timeout. k-rpc-socket checks timeouts every `timeout / 4` ms, so a tiny
 * value would spin a busy interval (guess).
 */
export const MIN_QUERY_TIMEOUT_MS = 20;

/**
 * Queries per second one IPv4 address may send us, averaged over 10 s, before it is blocked
 * (libtorrent `dht_block_ratelimit`, which defaults to 5). Ours is 20 (guess, from our own traffic):
 * a walk toward a random target asks most of the asker's farthest bucket, so a node there gets about
 * 0.4 queries per walk; a peer polling 4 slots every 2 s sends it ~0.8 queries/s per topic, and 5/s
 * would block an honest peer with a handful of topics. 20/s still bounds one address to ~2 ms of CPU
 * per second (a put with a bad signature costs ~0.1 ms, its Ed25519 verification).
 */
export const DEFAULT_SERVER_RATE_LIMIT = 20;
/** How long a blocked address stays ignored after its last datagram (libtorrent `dht_block_timeout`). */
export const DEFAULT_SERVER_BLOCK_MS = 300_000;
/** Addresses the rate limit tracks at once, least recently heard forgotten first (guess; libtorrent: 20). */
export const DEFAULT_SERVER_TRACKED_IPS = 4096;
/**
 * Loopback (127.0.0.0/8) senders are not rate-limited (guess): a testnet runs all its nodes on one
 * loopback address, and that traffic comes from this machine, not from the network.
 */
export const DEFAULT_SERVER_EXEMPT_LOOPBACK = true;
/**
 * A stored item expires this long after its last put or identical re-put (BEP 44 "Expiration": items
 * MAY expire after 2 hours without re-announcement. libtorrent `dht_item_lifetime` defaults to 0, never).
 */
export const DEFAULT_SERVER_ITEM_LIFETIME_MS = 2 * 60 * 60_000;
/**
 * Items one source (an IPv4 address; address and port on loopback) may have stored here (guess: a
 * tenth of DEFAULT_MAX_STORED_VALUES, so ten addresses are needed to fill the store, while an honest
 * node rarely has more than a few items on one storing node).
 */
export const DEFAULT_SERVER_MAX_ITEMS_PER_IP = 100;

/**
 * A bucket not changed for this long gets a `find_node` walk toward a random id in its range (BEP 5:
 * "Buckets that have not been changed in 15 minutes should be refreshed").
 */
export const DEFAULT_BUCKET_REFRESH_MS = 15 * 60_000;
/** How often the routing table's liveness is checked (guess; libtorrent's DHT ticks every 5 s). */
export const DEFAULT_LIVENESS_CHECK_MS = 5000;
/**
 * Below this many nodes in the routing table, bootstrap again from the bootstrap nodes (guess: fewer
 * than a walk's worth of parallel queries; a node of a smaller network retries at the back-off maximum).
 */
export const DEFAULT_REBOOTSTRAP_BELOW_NODES = 8;
/** Bootstrap again when every query sent for this long went unanswered (guess: 30 query timeouts). */
export const DEFAULT_REBOOTSTRAP_SILENCE_MS = 60_000;
/** First delay between re-bootstraps that did not restore the table; doubles after each (guess). */
export const DEFAULT_REBOOTSTRAP_MIN_DELAY_MS = 5000;
/** Longest delay between re-bootstraps (guess: a bootstrap router sees ≤ 1 query per 5 min per node). */
export const DEFAULT_REBOOTSTRAP_MAX_DELAY_MS = 5 * 60_000;

const IPV6_MESSAGE = 'IPv6 addresses are not supported: bittorrent-dht speaks IPv4 only (udp4)';

const Port = z.int().min(0).max(65_535);
const DurationMs = z.int().min(1);

/**
 * `"host:port"` or `{host, port}` (`splitHostPort`, src/options.ts); `"[v6]:port"` keeps the v6 host
 * so the IPv6 check names it.
 */
const BootstrapEntry = z.preprocess(
  splitHostPort,
  z.strictObject(
    {
      host: z
        .string()
        .min(1)
        .refine((h) => isIP(h) !== 6 && !h.includes(':'), IPV6_MESSAGE),
      port: Port.min(1),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? HOST_PORT_MESSAGE : undefined) },
  ),
);

/** How this node serves other nodes (see `serve.ts`); every field is optional. */
export const ServerOptionsSchema = z.strictObject({
  /** Queries per second per IPv4 address, averaged over 10 s; above it the address is blocked. */
  rateLimit: z.number().positive().default(DEFAULT_SERVER_RATE_LIMIT),
  /** A blocked address is ignored until it has been silent this long. */
  blockMs: DurationMs.default(DEFAULT_SERVER_BLOCK_MS),
  /** Addresses the rate limit tracks at once. */
  trackedIps: z.int().min(1).default(DEFAULT_SERVER_TRACKED_IPS),
  /** Leave loopback senders out of the rate limit (testnets). */
  exemptLoopback: z.boolean().default(DEFAULT_SERVER_EXEMPT_LOOPBACK),
  /** A stored item expires this long after its last put or identical re-put. */
  itemLifetimeMs: DurationMs.default(DEFAULT_SERVER_ITEM_LIFETIME_MS),
  /** Items one source may have stored here (at most `maxStoredValues` in all). */
  maxItemsPerIp: z.int().min(1).default(DEFAULT_SERVER_MAX_ITEMS_PER_IP),
});

/**
 * Keeping the routing table alive (see `liveness.ts`): bucket refresh (BEP 5) and re-bootstrap with
 * back-off. Every field is optional; scale the durations down in tests.
 */
export const LivenessOptionsSchema = z
  .strictObject({
    /** A bucket unchanged for this long is refreshed; 15 min per BEP 5. */
    bucketRefreshMs: DurationMs.default(DEFAULT_BUCKET_REFRESH_MS),
    /** Period of the liveness check (one unref'd interval timer, cleared by `close()`). */
    checkMs: DurationMs.default(DEFAULT_LIVENESS_CHECK_MS),
    /** Bootstrap again while the routing table holds fewer nodes; 0 turns this trigger off. */
    rebootstrapBelowNodes: z.int().min(0).default(DEFAULT_REBOOTSTRAP_BELOW_NODES),
    /** Bootstrap again when no query has been answered for this long while queries were sent. */
    rebootstrapSilenceMs: DurationMs.default(DEFAULT_REBOOTSTRAP_SILENCE_MS),
    /** First back-off delay after a re-bootstrap that did not restore the table. */
    rebootstrapMinDelayMs: DurationMs.default(DEFAULT_REBOOTSTRAP_MIN_DELAY_MS),
    /** Bound of the back-off delay. */
    rebootstrapMaxDelayMs: DurationMs.default(DEFAULT_REBOOTSTRAP_MAX_DELAY_MS),
  })
  .refine((o) => o.rebootstrapMaxDelayMs >= o.rebootstrapMinDelayMs, {
    error: 'rebootstrapMaxDelayMs must be ≥ rebootstrapMinDelayMs',
    path: ['rebootstrapMaxDelayMs'],
  });

/**
 * The pace of our queries to one node address (see `pacer.ts`); every field is optional. Loosen it
 * only for nodes that do not rate-limit us.
 */
export const PaceOptionsSchema = z.strictObject({
  /** Queries per second to one node address, after the burst. */
  perSecond: z.number().positive().default(DEFAULT_PACE_PER_SECOND),
  /** Queries one node address may get at once. */
  burst: z.int().min(1).default(DEFAULT_PACE_BURST),
  /** Queries waiting per node address; a walk skips a node whose queue is full. */
  maxQueued: z.int().min(0).default(DEFAULT_PACE_MAX_QUEUED),
  /** Largest random delay added to a query that waits. */
  jitterMs: z.int().min(0).default(DEFAULT_PACE_JITTER_MS),
  /**
   * IPv4 hosts whose nodes (any port) are known not to rate-limit us, queried unpaced: a testnet's own
   * host, whose nodes leave loopback senders out of their rate limit (`createTestnet` sets it for the
   * nodes of its `createNode`). Default none.
   */
  unpaced: z.array(z.string().refine((h) => isIP(h) === 4, 'expected an IPv4 address')).default([]),
});

/** The options of {@link Dht.create}; every field is optional. */
export const DhtOptionsSchema = z.strictObject({
  /** Bootstrap nodes as `"host:port"` or `{host, port}`; `[]` for none (a first node of a network). */
  bootstrap: z.array(BootstrapEntry).default(() => [...DEFAULT_BOOTSTRAP]),
  /** IPv4 address to bind. */
  host: z
    .string()
    .refine((h) => isIP(h) === 4, {
      error: (issue) =>
        isIP(String(issue.input)) === 6
          ? IPV6_MESSAGE
          : 'expected an IPv4 address such as 0.0.0.0 or 127.0.0.1',
    })
    .default(DEFAULT_HOST),
  /** UDP port to bind; 0 for any free port. */
  port: Port.default(DEFAULT_PORT),
  /** Per-query timeout: a dead node costs a walk this long. */
  queryTimeoutMs: z.int().min(MIN_QUERY_TIMEOUT_MS).default(DEFAULT_QUERY_TIMEOUT_MS),
  /**
   * Longest a walk waits for one node before moving on without it (see DEFAULT_QUERY_STALL_MS). At
   * or above `queryTimeoutMs`, walks wait for every query until it answers or times out.
   */
  queryStallMs: DurationMs.default(DEFAULT_QUERY_STALL_MS),
  /** Budget of one `getAll` walk; on expiry it resolves with what it has. */
  getTimeoutMs: DurationMs.default(DEFAULT_GET_TIMEOUT_MS),
  /** Budget of one put attempt's walk. */
  putTimeoutMs: DurationMs.default(DEFAULT_PUT_TIMEOUT_MS),
  /** Extra put attempts after a failed one. */
  putRetries: z.int().min(0).default(DEFAULT_PUT_RETRIES),
  /** Base delay before a put retry. */
  putRetryDelayMs: z.int().min(0).default(DEFAULT_PUT_RETRY_DELAY_MS),
  /** Maximum random delay added to a put retry. */
  putRetryJitterMs: z.int().min(0).default(DEFAULT_PUT_RETRY_JITTER_MS),
  /** How long `create` waits for a bootstrap node to answer. */
  bootstrapTimeoutMs: DurationMs.default(DEFAULT_BOOTSTRAP_TIMEOUT_MS),
  /** Queries in flight at once (per walk, and on the socket). */
  concurrency: z.int().min(1).default(DEFAULT_CONCURRENCY),
  /** Bucket size; a walk converges on the k closest nodes and a put stores on them. */
  k: z.int().min(1).default(DEFAULT_K),
  /** New contacts a walk takes from one reply, closest first. */
  walkContactsPerReply: z.int().min(1).default(DEFAULT_WALK_CONTACTS_PER_REPLY),
  /** Candidates one walk holds. */
  walkMaxCandidates: z.int().min(1).default(DEFAULT_WALK_MAX_CANDIDATES),
  /** Failed contacts of one responder, none answering, before a walk forgets its others. */
  walkDistrustAfter: z.int().min(1).default(DEFAULT_WALK_DISTRUST_AFTER),
  /** Nodes per IPv4 /24 among a walk's candidates and in the routing table (one per IP always). */
  maxNodesPerPrefix: z.int().min(1).default(DEFAULT_MAX_NODES_PER_PREFIX),
  /**
   * Send `ro=1` (BEP 43) in every query: `true` when this node cannot be reached from outside, `false`
   * never, `'auto'` once it finds it is behind a NAT that lets nobody in (see DEFAULT_READ_ONLY).
   */
  readOnly: z.union([z.literal('auto'), z.boolean()]).default(DEFAULT_READ_ONLY),
  /** `readOnly: 'auto'`: how long a NATed node waits for an unsolicited query before going read-only. */
  reachabilityWindowMs: DurationMs.default(REACHABILITY_WINDOW_MS),
  /** BEP 44 items this node stores for others. */
  maxStoredValues: z.int().min(1).default(DEFAULT_MAX_STORED_VALUES),
  /** How this node serves others: rate limit, item lifetime, per-address share (see `serve.ts`). */
  server: ServerOptionsSchema.default(ServerOptionsSchema.parse({})),
  /** Bucket refresh and re-bootstrap (see `liveness.ts`). */
  liveness: LivenessOptionsSchema.default(LivenessOptionsSchema.parse({})),
  /** The pace of our queries per node (see `pacer.ts`). */
  pace: PaceOptionsSchema.default(PaceOptionsSchema.parse({})),
  /** Uniform random number in [0, 1) for retry jitter; inject a fixed one in tests. */
  random: z
    .custom<() => number>((f) => typeof f === 'function', 'expected a function returning a number in [0, 1)')
    .default(() => Math.random),
  /**
   * Ed25519 of every BEP 44 signature: values read from replies, puts this node stores for others (the
   * `verify` bittorrent-dht calls) and our own puts. Default `defaultSuite()`: `nativeSuite` (OpenSSL,
   * ~25× less CPU per verification) when node:crypto has what it needs, else `nobleSuite`. Nodes with
   * different suites interoperate (same signatures, same verdicts on honest items).
   */
  crypto: z
    .custom<CryptoSuite>(isCryptoSuite, 'expected a CryptoSuite (nativeSuite or nobleSuite)')
    .default(defaultSuite),
});

/** What callers may pass to {@link Dht.create}. */
export type DhtOptions = z.input<typeof DhtOptionsSchema>;
/** The options with every default filled in. */
export type DhtConfig = z.output<typeof DhtOptionsSchema>;

/**
 * Validates options and fills in defaults.
 * @throws {GttError} code `INVALID_CONFIG`, naming every offending field.
 */
export function parseDhtOptions(options: unknown): DhtConfig {
  return parseOptions(DhtOptionsSchema, options, 'DHT options');
}
