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
import { GttError } from '../errors.js';

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
  .object({
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
/** And up to this many payload bytes, oldest dropped first (guess: 64 full-size messages). */
export const DEFAULT_MESSAGE_CACHE_BYTES = 4 * 1024 * 1024;
/** Seen ids are remembered this long, so late duplicates are still recognised (iroh-gossip default 90 s). */
export const DEFAULT_SEEN_ID_MS = 90_000;
/** And at most this many, oldest dropped first (guess: 1000 messages/s for the full retention time). */
export const DEFAULT_SEEN_ID_COUNT = 90_000;
/** How often expired cache and seen entries are swept (iroh-gossip default 1 s). */
export const DEFAULT_CACHE_EVICT_INTERVAL_MS = 1000;
/** Largest encoded gossip frame (issue: 64 KiB; iroh-gossip default max_message_size 4 KiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

/** Options of the PlumTree broadcast protocol. */
export const PlumTreeConfigSchema = z
  .object({
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
    /** Largest encoded frame; payloads and IHAVE batches are sized to fit. */
    maxMessageBytes: z
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(DEFAULT_MAX_MESSAGE_BYTES),
    /**
     * Send a new neighbour IHAVEs for every cached payload, so that messages broadcast while the overlay
     * was split or churning still reach everyone (a deviation from PlumTree; see plumtree.ts).
     */
    announceCacheToNewNeighbors: z.boolean().default(true),
    /** Sign own broadcasts and require valid origin signatures (on by default; off for throughput). */
    signatures: z.boolean().default(true),
  })
  .refine((c) => c.seenIdMs >= c.messageCacheMs, { message: 'seenIdMs must be at least messageCacheMs' });
/** Validated PlumTree options. */
export type PlumTreeConfig = z.output<typeof PlumTreeConfigSchema>;

/** Options of the whole core. */
export const ProtoConfigSchema = z.object({
  hyparview: HyParViewConfigSchema.default(HyParViewConfigSchema.parse({})),
  plumtree: PlumTreeConfigSchema.default(PlumTreeConfigSchema.parse({})),
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
  const result = ProtoConfigSchema.safeParse(options ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw GttError.invalidConfig(`Invalid gossip options: ${problems.join('; ')}`, result.error);
}
