/**
 * Configuration of the gossip core: one zod schema per protocol, every default a named constant with
 * its source.
 *
 * Sources: "HyParView §n" = Leitão, Pereira, Rodrigues, "HyParView: a membership protocol for reliable
 * gossip-based broadcast", DSN 2007; "PlumTree §n" = Leitão, Pereira, Rodrigues, "Epidemic Broadcast
 * Trees", SRDS 2007; "iroh-gossip default" = the value iroh-gossip's `proto` config uses; "tuned by the
 * simulator" = chosen with `npm run sim` (the reason is next to the value).
 */
import { z } from 'zod';
import { parseOptions } from '../errors.js';

// --- HyParView ---------------------------------------------------------------------------------------

/** Active view size: fanout 4 + 1 (HyParView §5, experimental setup; iroh-gossip default). */
export const DEFAULT_ACTIVE_VIEW_CAPACITY = 5;
/** Passive view size (HyParView §5, experimental setup; iroh-gossip default). */
export const DEFAULT_PASSIVE_VIEW_CAPACITY = 30;
/** Active Random Walk Length, the FORWARD_JOIN ttl (HyParView §4.2 and §5: ARWL = 6). */
export const DEFAULT_ACTIVE_RANDOM_WALK_LENGTH = 6;
/** Passive Random Walk Length: at this ttl a FORWARD_JOIN also fills the passive view (HyParView §5: PRWL = 3). */
export const DEFAULT_PASSIVE_RANDOM_WALK_LENGTH = 3;
/** SHUFFLE walk length (iroh-gossip default; the paper reuses ARWL). */
export const DEFAULT_SHUFFLE_RANDOM_WALK_LENGTH = 6;
/** Active peers sampled into a SHUFFLE, ka (HyParView §5: ka = 3). */
export const DEFAULT_SHUFFLE_ACTIVE_COUNT = 3;
/** Passive peers sampled into a SHUFFLE, kp (HyParView §5: kp = 4). */
export const DEFAULT_SHUFFLE_PASSIVE_COUNT = 4;
/** Period of the passive-view SHUFFLE (iroh-gossip default; the paper leaves it open). */
export const DEFAULT_SHUFFLE_INTERVAL_MS = 60_000;
/**
 * Delay of the first SHUFFLE after a join command. Tuned by the simulator: a newcomer's passive view
 * is empty until its first SHUFFLE (nothing in §4.2 fills it), so a node evicted down to 1–2 neighbours
 * had nobody to repair with for a whole `shuffleIntervalMs`; 1 s fills it while the swarm settles.
 */
export const DEFAULT_FIRST_SHUFFLE_DELAY_MS = 1000;
/**
 * A NEIGHBOR or JOIN request without a reply is given up after this long and the peer dropped from the
 * passive view (iroh-gossip default 500 ms).
 */
export const DEFAULT_NEIGHBOR_REQUEST_TIMEOUT_MS = 500;
/**
 * While the active view is below capacity, a passive peer that refused or failed is not asked again
 * before this delay, and the view is re-checked this often. Guess, checked by the simulator (not swept): with 50 % of
 * 500 nodes killed, survivors are back to ≥ 4 neighbours in 910 ms.
 */
export const DEFAULT_REPAIR_INTERVAL_MS = 200;
/**
 * Repair asks with high priority (always accepted) while the active view holds fewer than this many
 * peers. The paper (§4.3) uses high only for an empty view, i.e. 1. Tuned by the simulator: with 1,
 * a few nodes of a 100-node swarm stay at 1–2 neighbours for good (every candidate is full and says
 * no), which stretches the tree; with 3, survivors of a 50 % kill stay at 3; 4 heals them to ≥ 4
 * neighbours in < 1 s, and the evicted side (back to 4) asks with low priority, so it settles.
 */
export const DEFAULT_HIGH_PRIORITY_BELOW = 4;
/** Most bytes of opaque peer data (addresses) accepted per peer (guess: 16 longest address TLVs). */
export const DEFAULT_MAX_PEER_DATA_BYTES = 1024;

/** Options of the HyParView membership protocol. */
export const HyParViewConfigSchema = z
  .strictObject({
    activeViewCapacity: z.int().min(1).max(255).default(DEFAULT_ACTIVE_VIEW_CAPACITY),
    passiveViewCapacity: z.int().min(0).max(255).default(DEFAULT_PASSIVE_VIEW_CAPACITY),
    activeRandomWalkLength: z.int().min(0).max(255).default(DEFAULT_ACTIVE_RANDOM_WALK_LENGTH),
    passiveRandomWalkLength: z.int().min(0).max(255).default(DEFAULT_PASSIVE_RANDOM_WALK_LENGTH),
    shuffleRandomWalkLength: z.int().min(0).max(255).default(DEFAULT_SHUFFLE_RANDOM_WALK_LENGTH),
    shuffleActiveCount: z.int().min(0).max(100).default(DEFAULT_SHUFFLE_ACTIVE_COUNT),
    shufflePassiveCount: z.int().min(0).max(100).default(DEFAULT_SHUFFLE_PASSIVE_COUNT),
    shuffleIntervalMs: z.int().min(1).default(DEFAULT_SHUFFLE_INTERVAL_MS),
    firstShuffleDelayMs: z.int().min(1).default(DEFAULT_FIRST_SHUFFLE_DELAY_MS),
    neighborRequestTimeoutMs: z.int().min(1).default(DEFAULT_NEIGHBOR_REQUEST_TIMEOUT_MS),
    repairIntervalMs: z.int().min(1).default(DEFAULT_REPAIR_INTERVAL_MS),
    highPriorityBelow: z.int().min(1).max(255).default(DEFAULT_HIGH_PRIORITY_BELOW),
    maxPeerDataBytes: z.int().min(0).max(4096).default(DEFAULT_MAX_PEER_DATA_BYTES),
  })
  .refine((c) => c.passiveRandomWalkLength <= c.activeRandomWalkLength, {
    message: 'passiveRandomWalkLength must not exceed activeRandomWalkLength',
  });
/** Validated HyParView options. */
export type HyParViewConfig = z.output<typeof HyParViewConfigSchema>;

// --- PlumTree ----------------------------------------------------------------------------------------

/**
 * Wait after the first IHAVE for a missing message before the first GRAFT (PlumTree §3.3 leaves it
 * open; iroh-gossip uses 80 ms). Tuned by the simulator (N = 100, links 10–50 ms, seeds 1–4): with one
 * tree for every origin, a node's tree path to a new origin is often much longer than a lazy
 * neighbour's, and at 80 ms such IHAVEs trigger needless GRAFTs that keep reshaping the tree; with
 * `pruneAfterDuplicates` = 3, random-sender RMR is 0.68 at 80 ms, 0.26–0.36 at 150 ms, 0.26–0.42 at
 * 250 ms. The shortest good value wins, since it is also how long a real loss waits for repair.
 */
export const DEFAULT_GRAFT_TIMEOUT_1_MS = 150;
/** Wait between further GRAFTs to other announcers (iroh-gossip default 40 ms). */
export const DEFAULT_GRAFT_TIMEOUT_2_MS = 40;
/**
 * IHAVEs are batched per peer and flushed this long after the first one is queued (PlumTree §3.3 allows
 * any lazy-push policy; iroh-gossip uses 5 ms). 50 ms, measured: in the simulator (N = 100, links
 * 10–50 ms, seed 1) random-sender RMR falls from 0.39 to 0.23 and all-at-once from 0.60 to 0.45 with 0
 * missed, because fewer IHAVEs outrun a slow tree path and trigger needless GRAFTs; over real sockets
 * (50 nodes, one process) the IHAVE wave no longer competes with the payload wave for the CPU, and
 * reach-all drops by about a quarter. The cost: a lost payload is repaired up to 45 ms later.
 */
export const DEFAULT_IHAVE_DISPATCH_MS = 50;
/**
 * The tree optimisation (PlumTree §3.8): a lazy link replaces the eager parent when its announced hop
 * count is more than this many hops shorter (iroh-gossip default 7). Checked with the simulator: a
 * swap that shortens one origin's path reshapes the tree every origin shares, and with several
 * senders lower values churn it (random-sender RMR 0.74–0.96 at 3, 0.29 at 7, N = 100). The tree is
 * shallow without swaps once the overlay is (LDH 6 at N = 100, 9–10 at N = 1000).
 */
export const DEFAULT_OPTIMIZATION_THRESHOLD = 7;
/**
 * An eager neighbour is PRUNEd after this many duplicates in a row from it (PlumTree §3.3 prunes on
 * the first). Tuned by the simulator: with concurrent messages from several origins, two messages can
 * each cut a different edge of the same cycle on their first duplicate, and the eager graph falls
 * apart (measured at N = 100, random senders: 14–47 components, half of all deliveries by GRAFT,
 * RMR ≈ 0.9). Waiting for a streak lets the first cut end the cycle's duplicates before a second cut;
 * a first copy from the neighbour resets its streak. RMR 0.29 at 3, 0.61–0.77 at 2, 0.36 at 6.
 */
export const DEFAULT_PRUNE_AFTER_DUPLICATES = 3;
/** Payloads are kept for GRAFT answers this long (iroh-gossip default 30 s). */
export const DEFAULT_MESSAGE_CACHE_MS = 30_000;
/**
 * A delivered message whose origin's `sentAt` is more than this before our clock is marked `replay`
 * even when it came by eager push (PROTOCOL.md §8.6). Guess: a live push crosses a swarm in well
 * under a second (LDH 6–10 hops of 10–50 ms links in the simulator; a busy link's read pause is at
 * most 1 s, §8.7), and NTP-synced clocks agree within milliseconds; 30 s leaves room for a loaded
 * path and clocks seconds apart. It equals `messageCacheMs`: older payloads are no longer cached, so
 * only a copy held somewhere else (a relay that was cut off, a replay) can be this old.
 */
export const DEFAULT_REPLAY_AFTER_MS = 30_000;
/** And up to this many payload bytes, oldest dropped first (guess: 64 full-size messages). */
export const DEFAULT_MESSAGE_CACHE_BYTES = 4 * 1024 * 1024;
/** Seen ids are remembered this long, so late duplicates are still recognised (iroh-gossip default 90 s). */
export const DEFAULT_SEEN_ID_MS = 90_000;
/** And at most this many, oldest dropped first (guess: 1000 messages/s for the full retention time). */
export const DEFAULT_SEEN_ID_COUNT = 90_000;
/** How often expired cache and seen entries are swept (iroh-gossip default 1 s). */
export const DEFAULT_CACHE_EVICT_INTERVAL_MS = 1000;
/** Largest encoded gossip frame (PROTOCOL.md §8.2: 64 KiB; iroh-gossip default max_message_size 4 KiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

/** Options of the PlumTree broadcast protocol. */
export const PlumTreeConfigSchema = z
  .strictObject({
    graftTimeout1Ms: z.int().min(1).default(DEFAULT_GRAFT_TIMEOUT_1_MS),
    graftTimeout2Ms: z.int().min(1).default(DEFAULT_GRAFT_TIMEOUT_2_MS),
    ihaveDispatchMs: z.int().min(0).default(DEFAULT_IHAVE_DISPATCH_MS),
    optimizationThreshold: z.int().min(0).max(65_535).default(DEFAULT_OPTIMIZATION_THRESHOLD),
    pruneAfterDuplicates: z.int().min(1).max(1000).default(DEFAULT_PRUNE_AFTER_DUPLICATES),
    messageCacheMs: z.int().min(0).default(DEFAULT_MESSAGE_CACHE_MS),
    messageCacheBytes: z.int().min(0).default(DEFAULT_MESSAGE_CACHE_BYTES),
    seenIdMs: z.int().min(1).default(DEFAULT_SEEN_ID_MS),
    seenIdCount: z.int().min(1).default(DEFAULT_SEEN_ID_COUNT),
    cacheEvictIntervalMs: z.int().min(1).default(DEFAULT_CACHE_EVICT_INTERVAL_MS),
    replayAfterMs: z.int().min(0).default(DEFAULT_REPLAY_AFTER_MS),
    /** Largest encoded frame; payloads and IHAVE batches are sized to fit. */
    maxMessageBytes: z
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(DEFAULT_MAX_MESSAGE_BYTES),
    /**
     * Send a new neighbour IHAVEs for our newest cached payloads (at most
     * `limits.maxAnnounceOnNeighborUp`), so that messages broadcast while the overlay was split or
     * churning still reach everyone (a deviation from PlumTree; see plumtree.ts).
     */
    announceCacheToNewNeighbors: z.boolean().default(true),
    /** Sign own broadcasts and require valid origin signatures (on by default; off for throughput). */
    signatures: z.boolean().default(true),
  })
  .refine((c) => c.seenIdMs >= c.messageCacheMs, { message: 'seenIdMs must be at least messageCacheMs' });
/** Validated PlumTree options. */
export type PlumTreeConfig = z.output<typeof PlumTreeConfigSchema>;

// --- Limits on remote input (PROTOCOL.md §8.7) -----------------------------------------------------
//
// Every structure a peer can fill and every piece of work a peer can ask for has a bound here. "Honest
// use" below means the busiest load the library is sized for: 50 members broadcasting 10 messages/s
// each, i.e. 500 messages/s through the swarm, of 1 KiB (bench:gossip's payload). A leaf of the shared
// PlumTree tree gets every one of them over its one eager link, so a link's honest peak is about
// 500 GOSSIP + 20 IHAVE frames/s and 500 × (1 KiB + 153 B) ≈ 0.56 MiB/s.

/**
 * A SHUFFLE_REPLY is accepted only while a SHUFFLE of ours awaits its answer, for this long after we
 * sent it (guess: 6 walk hops and a dial plus handshake to us, which took up to ~1.5 s on a loaded
 * machine in bench:join, with room to spare). The wire has no nonce: each SHUFFLE admits one reply.
 */
export const DEFAULT_SHUFFLE_REPLY_TIMEOUT_MS = 10_000;
/** Most SHUFFLEs awaiting their reply; the oldest is forgotten (guess: one per interval, a few early). */
export const DEFAULT_MAX_SHUFFLES_AWAITING_REPLY = 4;
/**
 * A NEIGHBOR_REPLY from a peer whose request timed out is still taken (the late-reply path, see
 * hyparview.ts) only if we asked it within this window (guess: a slow handshake plus the 500 ms timeout).
 */
export const DEFAULT_LATE_REPLY_WINDOW_MS = 10_000;
/** Peers remembered as recently asked (repair pacing, late replies); the oldest is forgotten (guess: 8 × passive view). */
export const DEFAULT_MAX_RECENTLY_ASKED = 256;
/**
 * Most JOIN/NEIGHBOR requests of ours in flight per topic; beyond it a peer only becomes a passive
 * candidate (guess: a join command's contacts plus repair, which asks at most the free slots).
 */
export const DEFAULT_MAX_PENDING_REQUESTS = 64;
/**
 * Messages of the kinds a neighbour may send (walks, GOSSIP) are still taken from a peer that left the
 * active view this recently: they were in flight when the link was dropped (an eviction crossing a
 * FORWARD_JOIN). Measured in the simulator: dropping them lost ~900 walks of the 1000-node flash crowd
 * and left nodes with no neighbour. Guess: a few round trips.
 */
export const DEFAULT_LEFT_GRACE_MS = 2000;
/** Peers remembered as having left lately, per topic and per node (their budgets); oldest forgotten (guess). */
export const DEFAULT_MAX_RECENTLY_LEFT = 64;
/**
 * Dials made on another peer's behalf, i.e. a FORWARD_JOIN walk end asking the joiner, or a SHUFFLE
 * walk end answering an origin we hold no link to, pass a token bucket of this burst (per node) ...
 * Measured with the simulator (flash crowd of 1000, 100 nodes 20 ms apart, the 50 % kill of 500; seeds
 * 1–4): one node ends at most 10 walks that dial within 1 s, 15 within 5 s, 20 in all; beyond the
 * bucket the joiner is only a passive candidate.
 */
export const DEFAULT_WALK_DIAL_BURST = 16;
/** ... refilled at this rate (guess: a settled node ends about one SHUFFLE walk per shuffle interval). */
export const DEFAULT_WALK_DIALS_PER_SECOND = 1;
/**
 * A JOIN or NEIGHBOR(high) that needs an eviction to enter a full active view passes a token bucket of
 * this burst (per topic) ... beyond it the requester is refused and kept passive. Measured with the
 * simulator (same runs): one node evicts at most 20 neighbours within 1 s, 30 within 5 s, 36 in all.
 */
export const DEFAULT_EVICTION_BURST = 32;
/** ... refilled at this rate (guess: a settled swarm evicts rarely; sybils get one slot per second). */
export const DEFAULT_EVICTIONS_PER_SECOND = 1;
/**
 * A neighbour active this long that has not misbehaved (no budget overrun, no invalid signature) is
 * protected from eviction by newcomers (a guess: long enough that re-joining sybils cannot qualify
 * between evictions, short enough that honest neighbours qualify soon after a join burst).
 */
export const DEFAULT_PROTECT_AFTER_MS = 10_000;
/** At most this many of them, the longest-serving (guess: 2 of 5, so 1 slot stays evictable beside the 2 newest). */
export const DEFAULT_PROTECTED_NEIGHBORS = 2;
/**
 * Most active neighbours sharing one address group (`netGroup`: /24 for IPv4, /48 for IPv6): identities
 * are free, addresses are not (guess; Bitcoin Core's netgroup diversity for outbound peers is the model).
 */
export const DEFAULT_MAX_ACTIVE_PER_GROUP = 2;

/** Announcers remembered per missing id, one per peer (guess: above the active view size). */
export const DEFAULT_MAX_ANNOUNCERS_PER_ID = 8;
/**
 * Missing ids one peer may have us wait for (guess: honest IHAVEs for ids not yet received are a rate
 * times the tree's lag, 500/s × ~0.2 s ≈ 100, plus a new neighbour's cache announcement).
 */
export const DEFAULT_MAX_MISSING_PER_PEER = 512;
/** Missing ids in all, per topic (guess: 8 × the per-peer cap; each costs ~0.3 kB and one timer). */
export const DEFAULT_MAX_MISSING = 4096;
/** IHAVE entries queued for one peer between flushes (guess: two full 64 KiB frames). */
export const DEFAULT_MAX_IHAVE_QUEUE_PER_PEER = 4096;
/**
 * A new neighbour hears of this many of our newest cached ids at most, so that an honest
 * announcement fits the receiver's `maxMissingPerPeer` (guess: a few seconds of honest traffic).
 */
export const DEFAULT_MAX_ANNOUNCE_ON_NEIGHBOR_UP = 256;
/** (id, signature) pairs that failed verification, remembered so a replay costs no verification (guess). */
export const DEFAULT_MAX_BAD_IDS = 4096;
/**
 * Bytes of GRAFT answers per neighbour and second (each id is also served to a neighbour at most once
 * while cached). Guess: 4× an honest link's whole payload rate would still be a flood, so a quarter
 * MiB/s suffices for repairs ...
 */
export const DEFAULT_GRAFT_SERVE_BYTES_PER_SECOND = 256 * 1024;
/** ... with this burst: a new neighbour's catch-up of 16 full-size messages at once (guess). */
export const DEFAULT_GRAFT_SERVE_BURST_BYTES = 1024 * 1024;
/**
 * GRAFTs we send one neighbour per second, i.e. work its IHAVEs may make us do: an honest lazy
 * neighbour is asked only for what the tree did not bring, a repair of a lost eager parent at most a
 * fifth of a link's honest 500 payloads/s (guess). Measured in bench:attack: without it, IHAVE floods
 * of fresh ids made us send 512 GRAFTs per frame in one timer run (150–400 ms stalls) ...
 */
export const DEFAULT_GRAFT_REQUESTS_PER_SECOND = 100;
/** ... with this burst: a GRAFT for every id of a new neighbour's announcement (`maxAnnounceOnNeighborUp`). */
export const DEFAULT_GRAFT_REQUEST_BURST = 256;
/**
 * GOSSIP of one origin accepted per second, after its signature checked (per topic): 10× the honest
 * 10 msg/s of an origin. A flooding origin is throttled at its first honest hop, so its flood never
 * reaches the rest of the swarm at the rate of a link budget ...
 */
export const DEFAULT_ORIGIN_MESSAGES_PER_SECOND = 100;
/**
 * ... with this burst (10 s of an origin's honest rate at once). Measured in bench:attack: every
 * message of the burst from a flooding origin is verified and forwarded on the same links as honest
 * traffic; 400 held honest p99 at 63 ms in signed-flood, 100 at 32 ms (median of 3 runs) ...
 */
export const DEFAULT_ORIGIN_MESSAGE_BURST = 100;
/** ... and this many content bytes per second (16× an origin's honest 10 × 1 KiB/s) ... */
export const DEFAULT_ORIGIN_BYTES_PER_SECOND = 256 * 1024;
/** ... with this burst (32 full-size messages). */
export const DEFAULT_ORIGIN_BYTE_BURST = 2 * 1024 * 1024;
/** Origins whose budgets are tracked per topic; the least recently seen is forgotten (guess: 20 × 50 members). */
export const DEFAULT_MAX_ORIGINS = 1024;

/** Messages per second accepted from one active neighbour, over all topics: 4× a link's honest peak (≈ 520/s) ... */
export const DEFAULT_MESSAGES_PER_SECOND = 2000;
/** ... with this burst ... */
export const DEFAULT_MESSAGE_BURST = 4000;
/** ... and this many frame bytes per second: ~1.8× a link's honest peak (≈ 0.56 MiB/s) ... */
export const DEFAULT_BYTES_PER_SECOND = 1024 * 1024;
/** ... with this burst. */
export const DEFAULT_BYTE_BURST = 4 * 1024 * 1024;
/**
 * A neighbour is banned after more than this many messages dropped for its budget within
 * `overBudgetWindowMs`. Honest use never drops one (the budgets are 4× and 1.8× a link's honest peak,
 * and the origin budget 10× an origin's). Since the driver stops reading from a peer over budget, a
 * sustained overrun drops only what was already read: 1–2 frames per pause for max-size frames (≈ 16
 * pauses/s at the default rates), a socket read's worth for small ones. Measured in bench:attack: 20
 * bans a flood of max-size frames within 1.2–1.7 s and one of small frames at once (100 would take
 * ~6 s at 16 drops/s).
 */
export const DEFAULT_MAX_OVER_BUDGET_DROPS = 20;
/** The window of `maxOverBudgetDrops` (guess). */
export const DEFAULT_OVER_BUDGET_WINDOW_MS = 10_000;
/**
 * A neighbour is banned after this many GOSSIP with an invalid origin signature. Every node verifies
 * before forwarding (PROTOCOL.md §8.4), so an honest neighbour sends none; 3 leaves room for a bug.
 */
export const DEFAULT_MAX_INVALID_SIGNATURES = 3;
/**
 * A GOSSIP whose `sentAt` is more than this ahead of our clock is dropped (`clock-skew`, PROTOCOL.md
 * §8.6), so that no message shows a send time in the future beyond it. The tracker already needs
 * members' clocks to agree on the unix minute (records are per minute and a bootstrap reads the
 * current and the previous one, §10.2), so a member more than a minute off cannot use it anyway.
 */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 60_000;
/** How long a ban lasts (guess; libtorrent blocks abusive DHT nodes for minutes). */
export const DEFAULT_BAN_MS = 60_000;
/** Banned peers remembered; the oldest ban is lifted first (guess). */
export const DEFAULT_MAX_BANNED_PEERS = 1024;

/** Bounds on remote input and per-peer budgets (PROTOCOL.md §8.7, ARCHITECTURE.md "Gossip core"). */
export const LimitsConfigSchema = z
  .strictObject({
    shuffleReplyTimeoutMs: z.int().min(1).default(DEFAULT_SHUFFLE_REPLY_TIMEOUT_MS),
    maxShufflesAwaitingReply: z.int().min(1).max(1000).default(DEFAULT_MAX_SHUFFLES_AWAITING_REPLY),
    lateReplyWindowMs: z.int().min(0).default(DEFAULT_LATE_REPLY_WINDOW_MS),
    maxRecentlyAsked: z.int().min(1).default(DEFAULT_MAX_RECENTLY_ASKED),
    maxPendingRequests: z.int().min(1).default(DEFAULT_MAX_PENDING_REQUESTS),
    leftGraceMs: z.int().min(0).default(DEFAULT_LEFT_GRACE_MS),
    maxRecentlyLeft: z.int().min(0).default(DEFAULT_MAX_RECENTLY_LEFT),
    walkDialBurst: z.number().min(0).default(DEFAULT_WALK_DIAL_BURST),
    walkDialsPerSecond: z.number().min(0).default(DEFAULT_WALK_DIALS_PER_SECOND),
    evictionBurst: z.number().min(0).default(DEFAULT_EVICTION_BURST),
    evictionsPerSecond: z.number().min(0).default(DEFAULT_EVICTIONS_PER_SECOND),
    protectAfterMs: z.int().min(0).default(DEFAULT_PROTECT_AFTER_MS),
    protectedNeighbors: z.int().min(0).max(255).default(DEFAULT_PROTECTED_NEIGHBORS),
    maxActivePerGroup: z.int().min(1).max(255).default(DEFAULT_MAX_ACTIVE_PER_GROUP),
    maxAnnouncersPerId: z.int().min(1).max(1000).default(DEFAULT_MAX_ANNOUNCERS_PER_ID),
    maxMissingPerPeer: z.int().min(1).default(DEFAULT_MAX_MISSING_PER_PEER),
    maxMissing: z.int().min(1).default(DEFAULT_MAX_MISSING),
    maxIHaveQueuePerPeer: z.int().min(1).default(DEFAULT_MAX_IHAVE_QUEUE_PER_PEER),
    maxAnnounceOnNeighborUp: z.int().min(0).default(DEFAULT_MAX_ANNOUNCE_ON_NEIGHBOR_UP),
    maxBadIds: z.int().min(0).default(DEFAULT_MAX_BAD_IDS),
    graftServeBytesPerSecond: z.number().min(0).default(DEFAULT_GRAFT_SERVE_BYTES_PER_SECOND),
    graftServeBurstBytes: z.number().min(0).default(DEFAULT_GRAFT_SERVE_BURST_BYTES),
    graftRequestsPerSecond: z.number().min(0).default(DEFAULT_GRAFT_REQUESTS_PER_SECOND),
    graftRequestBurst: z.number().min(1).default(DEFAULT_GRAFT_REQUEST_BURST),
    originMessagesPerSecond: z.number().min(0).default(DEFAULT_ORIGIN_MESSAGES_PER_SECOND),
    originMessageBurst: z.number().min(1).default(DEFAULT_ORIGIN_MESSAGE_BURST),
    originBytesPerSecond: z.number().min(0).default(DEFAULT_ORIGIN_BYTES_PER_SECOND),
    originByteBurst: z.number().min(0).default(DEFAULT_ORIGIN_BYTE_BURST),
    maxOrigins: z.int().min(1).default(DEFAULT_MAX_ORIGINS),
    messagesPerSecond: z.number().min(0).default(DEFAULT_MESSAGES_PER_SECOND),
    messageBurst: z.number().min(1).default(DEFAULT_MESSAGE_BURST),
    bytesPerSecond: z.number().min(0).default(DEFAULT_BYTES_PER_SECOND),
    byteBurst: z.number().min(0).default(DEFAULT_BYTE_BURST),
    maxOverBudgetDrops: z.int().min(0).default(DEFAULT_MAX_OVER_BUDGET_DROPS),
    overBudgetWindowMs: z.int().min(1).default(DEFAULT_OVER_BUDGET_WINDOW_MS),
    maxInvalidSignatures: z.int().min(1).default(DEFAULT_MAX_INVALID_SIGNATURES),
    maxClockSkewMs: z.int().min(0).default(DEFAULT_MAX_CLOCK_SKEW_MS),
    banMs: z.int().min(0).default(DEFAULT_BAN_MS),
    maxBannedPeers: z.int().min(1).default(DEFAULT_MAX_BANNED_PEERS),
  })
  .refine((c) => c.maxMissingPerPeer <= c.maxMissing, {
    message: 'maxMissingPerPeer must not exceed maxMissing',
  })
  .refine((c) => c.maxAnnounceOnNeighborUp <= c.maxMissingPerPeer, {
    message: 'maxAnnounceOnNeighborUp must not exceed maxMissingPerPeer',
  });
/** Validated limits. */
export type LimitsConfig = z.output<typeof LimitsConfigSchema>;

/** Options of the whole core. */
export const ProtoConfigSchema = z
  .strictObject({
    hyparview: HyParViewConfigSchema.default(HyParViewConfigSchema.parse({})),
    plumtree: PlumTreeConfigSchema.default(PlumTreeConfigSchema.parse({})),
    limits: LimitsConfigSchema.default(LimitsConfigSchema.parse({})),
  })
  // A frame larger than a bucket's burst could never pass it.
  .refine((c) => c.limits.byteBurst >= c.plumtree.maxMessageBytes, {
    message: 'limits.byteBurst must be at least plumtree.maxMessageBytes',
    path: ['limits', 'byteBurst'],
  })
  .refine((c) => c.limits.graftServeBurstBytes >= c.plumtree.maxMessageBytes, {
    message: 'limits.graftServeBurstBytes must be at least plumtree.maxMessageBytes',
    path: ['limits', 'graftServeBurstBytes'],
  })
  .refine((c) => c.limits.originByteBurst >= c.plumtree.maxMessageBytes, {
    message: 'limits.originByteBurst must be at least plumtree.maxMessageBytes',
    path: ['limits', 'originByteBurst'],
  });
/** Validated core options. */
export type ProtoConfig = z.output<typeof ProtoConfigSchema>;
/** Core options as given by callers: every field optional. */
export type ProtoOptions = z.input<typeof ProtoConfigSchema>;

/**
 * Validates options and fills in defaults.
 * @throws {GttError} `INVALID_CONFIG` naming every offending field.
 */
export function parseProtoConfig(options?: unknown): ProtoConfig {
  return parseOptions(ProtoConfigSchema, options, 'gossip core options');
}
