/**
 * Options of the WebSocket transport and of `Gossip`: one zod schema, every default a named constant
 * with its source. Durations end in `Ms`.
 *
 * Sources: "PROTOCOL.md §n" = our spec; "measured" = the figure named beside it; "guess" = not
 * measured yet.
 */
import { z } from 'zod';
import { HOST_PORT_MESSAGE, parseOptions, splitHostPort } from '../errors.js';
import { DEFAULT_MAX_FRAME_PLAINTEXT_BYTES, MAX_FRAME_PLAINTEXT_LIMIT } from './frame.js';

/** Bind host of the listener: every IPv4 interface (guess: the usual server default). */
export const DEFAULT_LISTEN_HOST = '0.0.0.0';
/** Bind port of the listener: any free port. */
export const DEFAULT_LISTEN_PORT = 0;
/** Largest frame plaintext (PROTOCOL.md §9.4: 1 + the gossip core's 64 KiB maxMessageBytes). */
export const DEFAULT_MAX_FRAME_BYTES = DEFAULT_MAX_FRAME_PLAINTEXT_BYTES;
/**
 * A connection whose handshake has not finished after this long is closed (guess: three messages
 * of at most 1219 bytes take a few round trips; 5 s leaves room for a slow link).
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
/** A peer silent for this long is dropped and reported as `timeout` (a lost peer is noticed within 5 s). */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 5000;
/**
 * A PING goes out after this long without sending anything (guess: a quarter of the timeout, so three
 * PINGs can be lost before a live peer is dropped).
 */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 1250;
/**
 * Open and pending connections together, inbound (from TCP accept) and outbound: the bound on this
 * node's sockets (guess: 30 topics × 5 neighbours, with slack).
 */
export const DEFAULT_MAX_CONNECTIONS = 256;
/**
 * Bytes a connection may hold unsent: frames queued while its dial or handshake runs plus what the
 * socket has not written yet (guess: 16 full-size frames).
 */
export const DEFAULT_MAX_SEND_QUEUE_BYTES = 16 * DEFAULT_MAX_FRAME_PLAINTEXT_BYTES;
/**
 * What a full send queue does with a frame: `disconnect` closes the connection (the core sees
 * `peer-disconnected`/`error` and repairs: HyParView replaces the neighbour, PlumTree GRAFTs what it
 * misses), `drop` drops the frame. Both are counted in `stats.sendQueueOverflows`. Guess: `disconnect`,
 * since a silently thinned link breaks PlumTree's eager tree without anyone noticing.
 */
export const DEFAULT_SEND_QUEUE_OVERFLOW = 'disconnect';
/** After a graceful close, a socket whose peer does not finish the close handshake is destroyed after this long (guess). */
export const DEFAULT_CLOSE_TIMEOUT_MS = 1000;
/**
 * A connection the gossip core released (`disconnect-peer`) stays open this long, idle, and is reused
 * if the core needs the peer again. Guess, from the first real-socket runs: HyParView repair asks the
 * same few passive peers every `repairIntervalMs` (200 ms) while a view is short, and without reuse
 * every ask cost a fresh handshake (then in pure-JS crypto; the CPU of one per side, in both suites, is
 * in BENCHMARKS.md "Crypto suites"): 50 nodes in one process spent their time re-handshaking. 0 closes
 * at once.
 */
export const DEFAULT_RELEASE_LINGER_MS = 5000;
// ---------------------------------------------------------------------------------------------------
// Connection manager (PROTOCOL.md §9.8). "Per IP" and "per prefix" limits count inbound sockets only
// (our own dials are bounded by the total and the dial bounds below) and never peers on one of this
// node's own hosts, so a one-machine testnet on 127.0.0.1 is limited by the totals alone.

/**
 * Inbound sockets accepted whose WebSocket upgrade is not done (the HTTP stage). When full, a newcomer
 * takes the place of the one accepted longest ago: an honest dialer's upgrade request comes with its
 * first packet, so this stage is where half-open and slow-HTTP floods stay, and they evict each other.
 * Guess: a quarter of the table; with {@link DEFAULT_MAX_PENDING_INBOUND} half of it is pending at
 * most, and a flood from 300 hosts (each at its per-IP rate, ~800 sockets/s in test:adversarial
 * slow-tcp) still leaves a socket ~80 ms to be read, ten times an honest dialer's measured p99 (16 ms).
 */
export const DEFAULT_MAX_PENDING_UPGRADES = 64;
/**
 * Inbound WebSockets whose handshake has not finished (upgraded, not open). When an upgrade finds it
 * full, the one upgraded longest ago that has not sent Noise message 1 is dropped for it (else the
 * upgrade is refused): silent WebSockets evict each other, and an honest dialer, whose message 1
 * follows the upgrade by one round trip, is newer than all of them.
 * Guess: a quarter of the table; an honest handshake takes a few round trips, and 50 peers joining one
 * node at once stay below it.
 */
export const DEFAULT_MAX_PENDING_INBOUND = 64;
/** Pending inbound sockets from one IP (guess: a few nodes behind one NAT dialing at once). */
export const DEFAULT_MAX_PENDING_PER_IP = 4;
/** Pending inbound sockets from one /24 or /48 (guess: twice the per-IP cap). */
export const DEFAULT_MAX_PENDING_PER_PREFIX = 8;
/** Inbound connections (pending and open) from one IP (guess: a NAT with a few nodes behind it). */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 8;
/** Inbound connections (pending and open) from one /24 or /48 (guess: a campus NAT or a rack). */
export const DEFAULT_MAX_CONNECTIONS_PER_PREFIX = 16;
/**
 * Inbound handshakes started per second, in all, and the burst (token bucket), charged when the
 * dialer's Noise message 1 arrives: over it the socket is closed before any handshake work. Not
 * charged at TCP accept, where sockets that never cost a handshake drained it from many hosts each
 * under its per-IP rate (test:adversarial silent-websockets, slow-tcp) and refused honest dialers.
 * Guess: at the responder's CPU per handshake with OpenSSL (BENCHMARKS.md "Crypto suites",
 * `npm run bench:crypto`), 100/s is well under a tenth of a core; the burst refills a whole
 * table at once, for the join of a 50-node testnet.
 */
export const DEFAULT_ACCEPT_RATE_PER_SECOND = 100;
/** Burst of {@link DEFAULT_ACCEPT_RATE_PER_SECOND} (guess: one full table). */
export const DEFAULT_ACCEPT_BURST = DEFAULT_MAX_CONNECTIONS;
/** Inbound sockets admitted per second from one IP (guess: an honest node dials us once per peer). */
export const DEFAULT_ACCEPT_RATE_PER_IP_PER_SECOND = 2;
/** Burst of {@link DEFAULT_ACCEPT_RATE_PER_IP_PER_SECOND} (guess: the per-IP connection cap). */
export const DEFAULT_ACCEPT_BURST_PER_IP = DEFAULT_MAX_CONNECTIONS_PER_IP;
/** IPs whose accept rate is tracked (LRU; a forgotten IP starts with a full bucket). Guess. */
export const DEFAULT_MAX_TRACKED_IPS = 4096;
/**
 * From TCP accept to a finished WebSocket upgrade (the HTTP stage: a slow-headers client is cut
 * here). Guess: an honest client sends its upgrade request with its first packet.
 */
export const DEFAULT_UPGRADE_TIMEOUT_MS = 3000;
/**
 * From the upgrade to the dialer's Noise message 1 (an inbound socket that never starts its handshake
 * is cut here). Guess: the dialer sends message 1 as soon as the upgrade completes; 3 s is twice the
 * worst dial measured in bench:join (~1.5 s, 50 nodes joining in one loaded process).
 */
export const DEFAULT_FIRST_MESSAGE_TIMEOUT_MS = 3000;
/**
 * An open connection no topic uses (the core's `isConnected`) for this long is closed as `unused`.
 * Guess: the first JOIN/NEIGHBOR/SHUFFLE arrives within one round trip of the handshake; 10 s is
 * twice `releaseLingerMs`, so a link the core released lingers first.
 */
export const DEFAULT_TOPICLESS_GRACE_MS = 10_000;

// ---------------------------------------------------------------------------------------------------
// Address book and dials (PROTOCOL.md §9.8)

/**
 * Peers whose addresses the transport remembers (LRU; a peer with a live link or dial is never
 * evicted). Guess: 30 topics × a 30-peer passive view, and the peers of a few records, ×2.
 */
export const DEFAULT_MAX_ADDRESS_BOOK_PEERS = 2048;
/** Addresses remembered per peer, newest first (the limit before the cap had a name). */
export const DEFAULT_MAX_ADDRESSES_PER_PEER = 16;
/**
 * Dials to one address (host:port) per minute (token bucket, burst the same). Guess: an honest node
 * re-dials a peer when its lingering link expired (`releaseLingerMs`, 5 s), i.e. at most ~12 a minute.
 */
export const DEFAULT_MAX_DIALS_PER_ADDRESS_PER_MINUTE = 20;
/**
 * After a failed dial to an address, the next waits this long, doubling per failure up to
 * {@link DEFAULT_DIAL_BACKOFF_MAX_MS}, reset by a dial that opens. Guess (libp2p's dialer backs off
 * from a few seconds; ours is shorter because a restarting testnet peer should be back quickly).
 */
export const DEFAULT_DIAL_BACKOFF_BASE_MS = 1000;
/** Longest dial back-off (guess: a minute, the record period of the tracker). */
export const DEFAULT_DIAL_BACKOFF_MAX_MS = 60_000;
/** Addresses whose dial rate and back-off are tracked (LRU). Guess: twice the address book. */
export const DEFAULT_MAX_DIAL_ADDRESS_STATES = 4096;
/** A host name's resolution (at dial time) gives up after this long (guess: one resolver retry). */
export const DEFAULT_DNS_TIMEOUT_MS = 2000;
/** Resolved addresses of one name tried per dial (guess: an IPv4 and an IPv6 of two hosts). */
export const MAX_RESOLVED_ADDRESSES = 4;
/** Banned peers remembered (when full, the ban that ends first is dropped). Guess. */
export const DEFAULT_MAX_BANS = 1024;
/**
 * Loopback and private (LAN) peer addresses: `'auto'` allows loopback when this node listens on or
 * advertises a loopback address (a one-machine testnet) and private addresses when it advertises a
 * private one (a LAN); `true`/`false` decide outright. `private: true` is "allow LAN peers".
 */
export const DEFAULT_ADDRESS_POLICY = { loopback: 'auto', private: 'auto' } as const;

/** Messages a topic's async iterator buffers before it drops the oldest and reports `lagged` (guess). */
export const DEFAULT_TOPIC_BUFFER_MESSAGES = 1024;

const DurationMs = z.int().min(1).max(2_147_483_647);

/** Options of the transport (every field defaults). */
export const TransportConfigSchema = z
  .object({
    maxFrameBytes: z.int().min(64).max(MAX_FRAME_PLAINTEXT_LIMIT).default(DEFAULT_MAX_FRAME_BYTES),
    handshakeTimeoutMs: DurationMs.default(DEFAULT_HANDSHAKE_TIMEOUT_MS),
    keepaliveTimeoutMs: DurationMs.default(DEFAULT_KEEPALIVE_TIMEOUT_MS),
    keepaliveIntervalMs: DurationMs.default(DEFAULT_KEEPALIVE_INTERVAL_MS),
    maxConnections: z.int().min(1).max(65_535).default(DEFAULT_MAX_CONNECTIONS),
    maxSendQueueBytes: z.int().min(1024).default(DEFAULT_MAX_SEND_QUEUE_BYTES),
    sendQueueOverflow: z.enum(['disconnect', 'drop']).default(DEFAULT_SEND_QUEUE_OVERFLOW),
    closeTimeoutMs: DurationMs.default(DEFAULT_CLOSE_TIMEOUT_MS),
    releaseLingerMs: z.int().min(0).max(2_147_483_647).default(DEFAULT_RELEASE_LINGER_MS),
    maxPendingUpgrades: z.int().min(1).max(65_535).default(DEFAULT_MAX_PENDING_UPGRADES),
    maxPendingInbound: z.int().min(1).max(65_535).default(DEFAULT_MAX_PENDING_INBOUND),
    maxPendingPerIp: z.int().min(1).max(65_535).default(DEFAULT_MAX_PENDING_PER_IP),
    maxPendingPerPrefix: z.int().min(1).max(65_535).default(DEFAULT_MAX_PENDING_PER_PREFIX),
    maxConnectionsPerIp: z.int().min(1).max(65_535).default(DEFAULT_MAX_CONNECTIONS_PER_IP),
    maxConnectionsPerPrefix: z.int().min(1).max(65_535).default(DEFAULT_MAX_CONNECTIONS_PER_PREFIX),
    acceptRatePerSecond: z.number().positive().default(DEFAULT_ACCEPT_RATE_PER_SECOND),
    acceptBurst: z.int().min(1).default(DEFAULT_ACCEPT_BURST),
    acceptRatePerIpPerSecond: z.number().positive().default(DEFAULT_ACCEPT_RATE_PER_IP_PER_SECOND),
    acceptBurstPerIp: z.int().min(1).default(DEFAULT_ACCEPT_BURST_PER_IP),
    maxTrackedIps: z.int().min(1).default(DEFAULT_MAX_TRACKED_IPS),
    upgradeTimeoutMs: DurationMs.default(DEFAULT_UPGRADE_TIMEOUT_MS),
    firstMessageTimeoutMs: DurationMs.default(DEFAULT_FIRST_MESSAGE_TIMEOUT_MS),
    topiclessGraceMs: DurationMs.default(DEFAULT_TOPICLESS_GRACE_MS),
    maxAddressBookPeers: z.int().min(1).default(DEFAULT_MAX_ADDRESS_BOOK_PEERS),
    maxAddressesPerPeer: z.int().min(1).max(256).default(DEFAULT_MAX_ADDRESSES_PER_PEER),
    maxDialsPerAddressPerMinute: z.int().min(1).default(DEFAULT_MAX_DIALS_PER_ADDRESS_PER_MINUTE),
    dialBackoffBaseMs: DurationMs.default(DEFAULT_DIAL_BACKOFF_BASE_MS),
    dialBackoffMaxMs: DurationMs.default(DEFAULT_DIAL_BACKOFF_MAX_MS),
    maxDialAddressStates: z.int().min(1).default(DEFAULT_MAX_DIAL_ADDRESS_STATES),
    dnsTimeoutMs: DurationMs.default(DEFAULT_DNS_TIMEOUT_MS),
    maxBans: z.int().min(1).default(DEFAULT_MAX_BANS),
    addressPolicy: z
      .object({
        loopback: z.union([z.literal('auto'), z.boolean()]).default(DEFAULT_ADDRESS_POLICY.loopback),
        private: z.union([z.literal('auto'), z.boolean()]).default(DEFAULT_ADDRESS_POLICY.private),
      })
      .strict()
      .default({ ...DEFAULT_ADDRESS_POLICY }),
  })
  .strict()
  .refine((c) => c.keepaliveIntervalMs < c.keepaliveTimeoutMs, {
    message: 'keepaliveIntervalMs must be below keepaliveTimeoutMs',
    path: ['keepaliveIntervalMs'],
  })
  .refine((c) => c.dialBackoffBaseMs <= c.dialBackoffMaxMs, {
    message: 'dialBackoffBaseMs must not exceed dialBackoffMaxMs',
    path: ['dialBackoffBaseMs'],
  });
/** Validated transport options. */
export type TransportConfig = z.output<typeof TransportConfigSchema>;
/** Transport options as callers give them. */
export type TransportOptions = z.input<typeof TransportConfigSchema>;

/**
 * An address option: `"host:port"`, `"[ipv6]:port"` or `{ host, port }` (the one splitter every
 * layer uses, `splitHostPort` in src/options.ts).
 */
export function hostPortSchema<H extends z.ZodType, P extends z.ZodType>(host: H, port: P) {
  return z.preprocess(
    splitHostPort,
    z.strictObject(
      { host, port },
      { error: (issue) => (issue.code === 'invalid_type' ? HOST_PORT_MESSAGE : undefined) },
    ),
  );
}

/** Where to listen: `"host:port"`, `"[ipv6]:port"` or `{ host?, port? }` (port 0: any free port). */
export const ListenSchema = hostPortSchema(
  z.string().min(1).default(DEFAULT_LISTEN_HOST),
  z.int().min(0).max(65_535).default(DEFAULT_LISTEN_PORT),
);

/**
 * Validates transport options and fills in defaults.
 * @throws {GttError} `INVALID_CONFIG` naming every offending field.
 */
export function parseTransportConfig(options?: unknown): TransportConfig {
  return parseOptions(TransportConfigSchema, options, 'transport options');
}
