/**
 * The tracker layer's options: the record store's and the tracker's configuration (one zod schema
 * each, every default a named constant with its source), and the options objects of `joinTopic`,
 * `discoverPeers` and `new RecordStore`, which refuse unknown keys like every options object
 * (a misspelt `secret` must not join a topic in the clear). DHT timing (lookup and put budgets, put
 * retries and their jitter) is the `Dht`'s own configuration (`src/dht/config.ts`), so it lives in one
 * place.
 */
import { z } from 'zod';
import type { Address } from '../crypto/address.js';
import type { KeyPair, SecretRotation } from '../crypto/index.js';
import type { TopicId } from '../crypto/topic.js';
import { Dht, DhtOptionsSchema } from '../dht/index.js';
import { type OptionAliases, parseOptions, withAliases } from '../errors.js';
import { Gossip, GossipOptionsSchema } from '../net/gossip.js';
import type { Peer } from '../net/topic.js';
import type { Clock } from './clock.js';
import type { DiscoverPeersOptions, DiscoveryState } from './discovery.js';
import type { JoinTopicOptions } from './join.js';
import type { NodeJoinOptions, TopicNodeOptions } from './node.js';
import type { RecordStoreOptions } from './record-store.js';

/** Skip publishing when the minute already shows this many records of others (distributed-topic-tracker default). */
export const DEFAULT_MAX_RECORDS_PER_MINUTE = 5;
/**
 * Storing nodes one record is written to, chosen among the slot's closest free nodes. Guess, checked by
 * `npm run bench:dht`: five publishers × 5 replicas fill 25 of the 4 × 16 candidate nodes of a minute,
 * so concurrent publishers rarely collide, and 5 copies survive a few departures within the minute.
 */
export const DEFAULT_REPLICAS = 5;
/**
 * A slot's candidate storing nodes: this many responders closest to its target. Readers query the
 * k = 20 closest (bittorrent-dht's k), but two nodes' views of "the 20 closest" differ (each leaves
 * itself out; real walks miss a few), so writers stay 4 inside it. Guess, checked by `npm run bench:dht`.
 */
export const DEFAULT_CLOSEST_WINDOW = 16;
export const RecordStoreConfigSchema = z
  .object({
    maxRecordsPerMinute: z.number().int().min(1).max(100).default(DEFAULT_MAX_RECORDS_PER_MINUTE),
    replicas: z.number().int().min(1).max(64).default(DEFAULT_REPLICAS),
    closestWindow: z.number().int().min(1).max(256).default(DEFAULT_CLOSEST_WINDOW),
  })
  .strict();

export type RecordStoreConfig = z.infer<typeof RecordStoreConfigSchema>;
export type RecordStoreConfigInput = z.input<typeof RecordStoreConfigSchema>;

/**
 * Validates and fills in defaults.
 * @throws GttError `INVALID_CONFIG` naming every offending field.
 */
export function parseRecordStoreConfig(input: RecordStoreConfigInput | undefined): RecordStoreConfig {
  return parseOptions(RecordStoreConfigSchema, input, 'record store config');
}

// --- The topic tracker: bootstrap loop, publisher, merges ------------------------------------------------
//
// Sources: "reference" = distributed-topic-tracker's defaults (its BootstrapConfig,
// PublisherConfig, MergeConfig); "bench:join" = tuned with `npm run bench:join` on the 2-core CI machine.

/**
 * Publish a start-up record (reference: on, before the first read). Here it comes right after the first
 * read and only when that read found the topic empty: on a live topic it would take a slot for nothing
 * (we join through the records and the publisher runs once joined). See PROTOCOL.md §10.2.
 */
export const DEFAULT_PUBLISH_ON_START = true;
/**
 * On the first pass, start from the previous minute instead of the current one (the pair read is then
 * the minute before and the one before that; reference option, default off).
 */
export const DEFAULT_CHECK_OLDER_FIRST = false;
/** A pass that found no records waits this long (or for a neighbour) before reading again (reference: 1.5 s). */
export const DEFAULT_NO_RECORDS_RETRY_MS = 1500;
/**
 * Slot 0 of the current minute is looked at again (its nodes asked in one round) this long after our
 * start-up record has landed, instead of after the full retry interval. Peers that start at the same
 * instant all read an empty topic, then all publish within ~100–300 ms; looking again just after that
 * finds each other (bench:join cold pair: ~0.2–0.5 s instead of ~1.7 s). Later retries use the full
 * interval.
 */
export const DEFAULT_AFTER_PUBLISH_RETRY_MS = 150;
/**
 * A peer alone on a topic (a pass found no records of others) asks the nodes of slots 0 and 1 again,
 * in one round, first `noRecordsRetryMs` later, then at twice the interval each time, up to this; a
 * full pass only at the start of a new minute (src/tracker/bootstrap.ts, "watching"). Newcomers find it
 * through its record of the minute, so it needs few reads of its own. Guess, checked by bench:join
 * (`loneQueriesPerMinute`, target ≤ 300 DHT queries per minute; ARCHITECTURE.md "Tracker").
 */
export const DEFAULT_LONE_WATCH_MAX_MS = 12_000;
/** A pass that tried every candidate and is still alone waits this long before reading again (reference: 2 s). */
export const DEFAULT_POLL_MS = 2000;
/** After asking one candidate to join, wait this long (or for the first neighbour) before the next (reference: 100 ms). */
export const DEFAULT_SETTLE_MS = 100;
/**
 * A candidate whose connection is still being set up, or whose JOIN is still unanswered, when
 * `settleMs` is over gets up to this long in all (or until a neighbour comes up) before the next
 * candidate is asked (guess, checked by bench:join). Each JOIN makes its contact forward us to its
 * whole active view, so JOINs sent only because a handshake was slow (a loaded machine: 50 peers
 * starting at once in one process took ~1.5 s from dial to neighbour) end up as connections made and
 * torn down again: waiting for the answer too cut that run's dials from ~330 to ~240.
 */
export const DEFAULT_DIAL_WAIT_MS = 1000;
/** After the last candidate, wait this long (or for a neighbour) before giving the pass up (reference: 500 ms). */
export const DEFAULT_CONFIRM_MS = 500;
/** Candidates asked per pass, one by one (reference: "join up to 4 peers"). */
export const DEFAULT_BOOTSTRAP_MAX_JOIN_PEERS = 4;

/** The publisher's first run after joining (reference: 10 s). */
export const DEFAULT_PUBLISHER_INITIAL_DELAY_MS = 10_000;
/** The publisher's base interval (reference: 10 s) … */
export const DEFAULT_PUBLISHER_INTERVAL_MS = 10_000;
/** … plus up to this much random jitter (reference: 0–50 s). */
export const DEFAULT_PUBLISHER_JITTER_MS = 50_000;
/**
 * While our view is healthy, a publisher run with nothing to write doubles the interval, up to this,
 * and one that published halves it (guess, checked by bench:join). This is what keeps the topic's DHT
 * load flat as it grows: each new minute's first few readers find free slots and publish, the others
 * back off, so runs per minute approach a constant (~ 2 × cap) plus N / this.
 */
export const DEFAULT_PUBLISHER_MAX_INTERVAL_MS = 10 * 60_000;

/**
 * The merge worker's first run after joining (reference: 30 s). 5 s, measured: when 10 peers start at
 * once, in about 1 run of 5 the first joins form two groups (8 + 2, 7 + 3) whose bootstrap loops all end
 * (everyone has a neighbour), and with a 30 s first run the split outlived bench:vs-hyperswarm's 30 s
 * window. An early run of the bubble merge (the small group's members have few neighbours) reads the
 * records once more and joins across. It costs one extra read per join, not per minute.
 */
export const DEFAULT_MERGE_INITIAL_DELAY_MS = 5_000;
/** The merge worker's base interval (reference: 60 s) … */
export const DEFAULT_MERGE_INTERVAL_MS = 60_000;
/** … plus up to this much random jitter (reference: 0–120 s). */
export const DEFAULT_MERGE_JITTER_MS = 120_000;
/**
 * A healthy member (≥ minNeighbors neighbours, no split seen) doubles its merge interval after each run,
 * up to this (guess, checked by bench:join). A split is found by whichever member reads first: one
 * join between two components merges them, so the topic's aggregate read rate, not each member's,
 * decides how fast a split heals.
 */
export const DEFAULT_MERGE_MAX_INTERVAL_MS = 10 * 60_000;
/** Fewer neighbours than this makes the bubble merge join more peers (reference: 4). */
export const DEFAULT_MIN_NEIGHBORS = 4;
/** Peers a merge joins per run (reference: 2). */
export const DEFAULT_MERGE_MAX_JOIN_PEERS = 2;
/**
 * Recent message ids a member remembers for the message-overlap merge (guess). Records carry the
 * publisher's 5 latest ids; a record up to two minutes old in a busy topic lists ids we saw long ago,
 * so we compare against a much longer memory than 5 to avoid reading "disjoint" into a healthy mesh.
 */
export const DEFAULT_RECENT_MESSAGE_IDS = 1024;
/** A read of the current minute is reused by the other worker for this long (guess). */
export const DEFAULT_READ_REUSE_MS = 15_000;

const Duration = z.int().min(0).max(2_147_483_647);

export const BootstrapConfigSchema = z
  .object({
    publishOnStart: z.boolean().default(DEFAULT_PUBLISH_ON_START),
    checkOlderFirst: z.boolean().default(DEFAULT_CHECK_OLDER_FIRST),
    noRecordsRetryMs: Duration.default(DEFAULT_NO_RECORDS_RETRY_MS),
    loneWatchMaxMs: Duration.default(DEFAULT_LONE_WATCH_MAX_MS),
    afterPublishRetryMs: Duration.default(DEFAULT_AFTER_PUBLISH_RETRY_MS),
    pollMs: Duration.default(DEFAULT_POLL_MS),
    settleMs: Duration.default(DEFAULT_SETTLE_MS),
    dialWaitMs: Duration.default(DEFAULT_DIAL_WAIT_MS),
    confirmMs: Duration.default(DEFAULT_CONFIRM_MS),
    maxJoinPeers: z.int().min(1).max(100).default(DEFAULT_BOOTSTRAP_MAX_JOIN_PEERS),
  })
  .strict();

export const PublisherConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    initialDelayMs: Duration.default(DEFAULT_PUBLISHER_INITIAL_DELAY_MS),
    intervalMs: Duration.min(1).default(DEFAULT_PUBLISHER_INTERVAL_MS),
    jitterMs: Duration.default(DEFAULT_PUBLISHER_JITTER_MS),
    maxIntervalMs: Duration.min(1).default(DEFAULT_PUBLISHER_MAX_INTERVAL_MS),
  })
  .strict();

export const MergeConfigSchema = z
  .object({
    /** Bubble merge: join peers from the records while we have fewer than `minNeighbors`. */
    bubble: z.boolean().default(true),
    /** Message-overlap merge: join publishers whose recent message ids are disjoint from ours. */
    overlap: z.boolean().default(true),
    initialDelayMs: Duration.default(DEFAULT_MERGE_INITIAL_DELAY_MS),
    intervalMs: Duration.min(1).default(DEFAULT_MERGE_INTERVAL_MS),
    jitterMs: Duration.default(DEFAULT_MERGE_JITTER_MS),
    maxIntervalMs: Duration.min(1).default(DEFAULT_MERGE_MAX_INTERVAL_MS),
    minNeighbors: z.int().min(1).max(255).default(DEFAULT_MIN_NEIGHBORS),
    maxJoinPeers: z.int().min(1).max(100).default(DEFAULT_MERGE_MAX_JOIN_PEERS),
    recentMessageIds: z.int().min(1).max(1_000_000).default(DEFAULT_RECENT_MESSAGE_IDS),
  })
  .strict();

/** Options of a tracked topic (`joinTopic`, `discoverPeers`); every field defaults. */
export const TrackerConfigSchema = z
  .object({
    bootstrap: BootstrapConfigSchema.default(BootstrapConfigSchema.parse({})),
    publisher: PublisherConfigSchema.default(PublisherConfigSchema.parse({})),
    merge: MergeConfigSchema.default(MergeConfigSchema.parse({})),
    /** The record store's options (records cap per minute, replicas, closest window). */
    store: RecordStoreConfigSchema.default(RecordStoreConfigSchema.parse({})),
    readReuseMs: Duration.default(DEFAULT_READ_REUSE_MS),
  })
  .strict()
  .refine((c) => c.publisher.maxIntervalMs >= c.publisher.intervalMs, {
    message: 'publisher.maxIntervalMs must be at least publisher.intervalMs',
    path: ['publisher', 'maxIntervalMs'],
  })
  .refine((c) => c.merge.maxIntervalMs >= c.merge.intervalMs, {
    message: 'merge.maxIntervalMs must be at least merge.intervalMs',
    path: ['merge', 'maxIntervalMs'],
  });

export type TrackerConfig = z.output<typeof TrackerConfigSchema>;
/** Tracker options as callers give them: every field optional, groups merged with their defaults. */
export type TrackerConfigInput = z.input<typeof TrackerConfigSchema>;

/**
 * Validates and fills in defaults.
 * @throws GttError `INVALID_CONFIG` naming every offending field.
 */
export function parseTrackerConfig(input: TrackerConfigInput | undefined): TrackerConfig {
  return parseOptions(TrackerConfigSchema, input, 'tracker config');
}

// --- The options objects of the public API -----------------------------------------------------------
//
// Fields that are checked where they are used (topic, key pair, secret, addresses: TypeError or
// RangeError with a message of their own) are taken as they are here; the schemas decide which keys
// exist, and check the rest.

/** Candidates `discoverPeers` buffers for its async iterator before the oldest are dropped (guess). */
export const DEFAULT_BUFFER_PEERS = 1024;

/** Any value of type `T`: checked where it is used. */
const given = <T>() => z.custom<T>().optional();
const fn = <T>(what: string) =>
  z.custom<T>((v) => typeof v === 'function', `expected a function (${what})`).optional();
const signal = z
  .custom<AbortSignal>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as AbortSignal).aborted === 'boolean' &&
      typeof (v as AbortSignal).addEventListener === 'function',
    'expected an AbortSignal',
  )
  .optional();
const clock = z
  .custom<Clock>(
    (v) => typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function',
    'expected a Clock ({ now, setTimeout })',
  )
  .optional();
/** An instance of a class whose constructor is private (`Dht`, `Gossip`: made by their `create`). */
const instanceOf = <T>(cls: { prototype: T }, name: string) =>
  z.custom<T>((v) => Object.prototype.isPrototypeOf.call(cls.prototype, v as object), `expected a ${name}`);
const dht = z
  .union([instanceOf(Dht, 'Dht'), DhtOptionsSchema], { error: 'expected a Dht or its options (an object)' })
  .optional();

/**
 * Hyperswarm's option names (`new Hyperswarm({ keyPair, seed, maxPeers, bootstrap })`, HyperDHT's
 * `host`/`port`) where we have the option under another name. Hyperswarm's `firewall` is an option
 * of `createNode` (and `Gossip.create`) under its own name.
 */
const HYPERSWARM_ALIASES: OptionAliases = {
  bootstrap: {
    use: 'dht.bootstrap',
    note: 'DHT bootstrap nodes as "host:port", while gossip peers to join through directly go in peers',
  },
  seed: { use: 'keyPair', note: 'keyPairFromSeed(seed)' },
  timeout: { use: 'signal', note: 'AbortSignal.timeout(ms)' },
};

/** The options of `joinTopic` (see `JoinTopicOptions` in join.ts). */
export const JoinTopicOptionsSchema = withAliases(
  z.strictObject({
    secret: given<string | Uint8Array>(),
    rotation: fn<SecretRotation>('the secret rotation'),
    keyPair: given<KeyPair>(),
    signal,
    wait: z.boolean().optional(),
    dht,
    gossip: z
      .union([instanceOf(Gossip, 'Gossip'), GossipOptionsSchema], {
        error: 'expected a Gossip or its options (an object)',
      })
      .optional(),
    peers: z
      .custom<readonly Peer[]>((v) => Array.isArray(v), 'expected an array of { id, addresses }')
      .optional(),
    config: TrackerConfigSchema.optional(),
    clock,
    random: fn<() => number>('uniform in [0, 1)'),
  } satisfies Record<keyof JoinTopicOptions, z.ZodType>),
  {
    ...HYPERSWARM_ALIASES,
    maxPeers: { use: 'gossip.transport.maxConnections' },
    host: { use: 'dht.host', note: 'the gossip listener is gossip.listen' },
    port: { use: 'dht.port', note: 'the gossip listener is gossip.listen' },
  },
);

/** The options of `discoverPeers` (see `DiscoverPeersOptions` in discovery.ts). */
export const DiscoverPeersOptionsSchema = withAliases(
  z.strictObject({
    keyPair: given<KeyPair>(),
    addresses: given<readonly (string | Address)[] | (() => readonly (string | Address)[])>(),
    state: given<() => DiscoveryState>(),
    secret: given<string | Uint8Array>(),
    rotation: fn<SecretRotation>('the secret rotation'),
    dht,
    signal,
    config: TrackerConfigSchema.optional(),
    clock,
    random: fn<() => number>('uniform in [0, 1)'),
    bufferPeers: z.int().min(1).default(DEFAULT_BUFFER_PEERS),
  } satisfies Record<keyof DiscoverPeersOptions, z.ZodType>),
  HYPERSWARM_ALIASES,
);

/** The options of `new RecordStore` (see `RecordStoreOptions` in record-store.ts). */
export const RecordStoreOptionsSchema = z.strictObject({
  dht: z.custom<Dht>((v) => typeof v === 'object' && v !== null, 'expected a Dht'),
  topic: given<TopicId>(),
  keyPair: given<KeyPair>(),
  secret: given<string | Uint8Array>(),
  rotation: fn<SecretRotation>('the secret rotation'),
  config: RecordStoreConfigSchema.optional(),
  now: fn<() => number>('unix milliseconds'),
  randomBytes: fn<(length: number) => Uint8Array>('random bytes'),
} satisfies Record<keyof RecordStoreOptions, z.ZodType>);

/**
 * Checks the keys (and the shape of what is not checked where it is used) of `joinTopic`'s options,
 * nested `dht`, `gossip` and `config` included, before anything is started.
 * @throws GttError `INVALID_CONFIG` naming every offending field, with the option meant for an unknown key.
 */
export function checkJoinTopicOptions(
  options: JoinTopicOptions | undefined,
): z.output<typeof JoinTopicOptionsSchema> {
  return parseOptions(JoinTopicOptionsSchema, options, 'joinTopic options');
}

/**
 * Checks `discoverPeers`' options, nested `dht` and `config` included, before anything is started.
 * @throws GttError `INVALID_CONFIG` naming every offending field, with the option meant for an unknown key.
 */
export function checkDiscoverPeersOptions(
  options: DiscoverPeersOptions | undefined,
): z.output<typeof DiscoverPeersOptionsSchema> {
  return parseOptions(DiscoverPeersOptionsSchema, options, 'discoverPeers options');
}

/**
 * Checks the options of `new RecordStore`.
 * @throws GttError `INVALID_CONFIG` naming every offending field, with the option meant for an unknown key.
 */
export function checkRecordStoreOptions(
  options: RecordStoreOptions,
): z.output<typeof RecordStoreOptionsSchema> {
  return parseOptions(RecordStoreOptionsSchema, options, 'RecordStore options');
}

/** The options of `createNode` (see `TopicNodeOptions` in node.ts): the gossip node's, flat, and the DHT. */
export const TopicNodeOptionsSchema = withAliases(
  z.strictObject({
    ...GossipOptionsSchema.shape,
    dht,
    signal,
  } satisfies Record<keyof TopicNodeOptions, z.ZodType>),
  {
    ...HYPERSWARM_ALIASES,
    maxPeers: { use: 'transport.maxConnections' },
    host: { use: 'listen', note: '"host:port" or { host, port }, while the DHT socket is dht.host' },
    port: { use: 'listen', note: '"host:port" or { host, port }, while the DHT socket is dht.port' },
    gossip: {
      use: 'listen',
      note: 'the gossip options (listen, advertise, transport, …) are top-level here',
    },
  },
);

/** The options of `TopicNode.join` (see `NodeJoinOptions` in node.ts). */
export const NodeJoinOptionsSchema = withAliases(
  z.strictObject({
    secret: given<string | Uint8Array>(),
    rotation: fn<SecretRotation>('the secret rotation'),
    signal,
    peers: z
      .custom<readonly Peer[]>((v) => Array.isArray(v), 'expected an array of { id, addresses }')
      .optional(),
    config: TrackerConfigSchema.optional(),
    clock,
    random: fn<() => number>('uniform in [0, 1)'),
  } satisfies Record<keyof NodeJoinOptions, z.ZodType>),
  {
    bootstrap: {
      use: 'peers',
      note: 'gossip peers to join through directly, while DHT bootstrap nodes go in createNode({ dht: { bootstrap } })',
    },
    timeout: { use: 'signal', note: 'AbortSignal.timeout(ms)' },
  },
);

/**
 * Checks `createNode`'s options, nested `dht`, `transport` and `proto` included, before anything starts.
 * @throws GttError `INVALID_CONFIG` naming every offending field, with the option meant for an unknown key.
 */
export function checkTopicNodeOptions(
  options: TopicNodeOptions | undefined,
): z.output<typeof TopicNodeOptionsSchema> {
  return parseOptions(TopicNodeOptionsSchema, options, 'createNode options');
}

/**
 * Checks the options of `TopicNode.join`, `config` included.
 * @throws GttError `INVALID_CONFIG` naming every offending field, with the option meant for an unknown key.
 */
export function checkNodeJoinOptions(
  options: NodeJoinOptions | undefined,
): z.output<typeof NodeJoinOptionsSchema> {
  return parseOptions(NodeJoinOptionsSchema, options, 'join options');
}
