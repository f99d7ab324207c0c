/**
 * What a topic's protocols share while one event is handled: identity, RNG, counters and the list of
 * out-events being built. Internal (not exported from `index.ts`).
 */
import type { Guard } from './budget.js';
import type { LimitsConfig } from './config.js';
import type { Rng } from './rng.js';
import type { AppEvent, DropReason, Message, OutEvent, PeerData, PeerId, Timer, TopicKey } from './types.js';

/** Address group of a peer (see `GossipNodeOptions.netGroup`); `undefined`: exempt from diversity limits. */
export type NetGroupFn = (peer: PeerId) => string | undefined;

/** Counters of a node. Expected bad input is counted here, never thrown. */
export interface ProtoStats {
  /** Messages handed to `handle`. */
  messagesIn: number;
  /** `send` out-events produced. */
  messagesOut: number;
  /**
   * GOSSIP frames (payload-carrying) among `messagesOut`: eager pushes of our own and forwarded
   * broadcasts, neighbour-scope sends and GRAFT answers. Summed over a swarm and divided by the
   * broadcasts, it is the payload cost of one broadcast (≈ N − 1 on a settled tree, plus RMR).
   */
  payloadsSent: number;
  /** Messages for a topic this node does not hold. */
  unknownTopic: number;
  /**
   * Messages that make no sense in the current state: from ourselves, or failing their sender
   * precondition (a reply nobody asked for, a GRAFT from a stranger…; also in `dropped` by reason), and
   * late NEIGHBOR_REPLYs (taken, see hyparview.ts).
   */
  unexpected: number;
  /** GOSSIP payloads delivered to the application. */
  delivered: number;
  /** Deliveries among `delivered` marked `replay` (PROTOCOL.md §8.6). */
  replays: number;
  /** GOSSIP payloads received again (PRUNE material). */
  duplicates: number;
  /** GOSSIP without a signature while signatures are required. */
  unsigned: number;
  /** GOSSIP whose origin signature failed verification. */
  badSignature: number;
  /** GOSSIP from ourselves as origin that we never sent (forged), or other invalid fields. */
  invalidMessage: number;
  /** Broadcast commands refused because the payload does not fit `maxMessageBytes`. */
  oversizeBroadcasts: number;
  /** GRAFTs sent for missing payloads. */
  graftsSent: number;
  /** GRAFTs asking for an id no longer in the cache. */
  graftMisses: number;
  /** PRUNEs sent. */
  prunesSent: number;
  /** Eager/lazy swaps by the tree optimisation (PlumTree §3.8). */
  optimizations: number;
  /** Cached payloads dropped to stay under `messageCacheBytes`. */
  cacheEvictedBytes: number;
  /** Neighbours evicted to make room for another peer (HyParView §4.1). */
  evictions: number;
  /** Peers banned (PROTOCOL.md §8.7). */
  bans: number;
  /** Neighbours that started with empty budgets: their address group had a ban (PROTOCOL.md §8.7). */
  emptyBudgetStarts: number;
  /** Messages, or parts of them, dropped by a limit or a sender precondition (PROTOCOL.md §8.7). */
  dropped: Partial<Record<DropReason, number>>;
}

/** A fresh set of counters. */
export function createStats(): ProtoStats {
  return {
    messagesIn: 0,
    messagesOut: 0,
    payloadsSent: 0,
    unknownTopic: 0,
    unexpected: 0,
    delivered: 0,
    replays: 0,
    duplicates: 0,
    unsigned: 0,
    badSignature: 0,
    invalidMessage: 0,
    oversizeBroadcasts: 0,
    graftsSent: 0,
    graftMisses: 0,
    prunesSent: 0,
    optimizations: 0,
    cacheEvictedBytes: 0,
    evictions: 0,
    bans: 0,
    emptyBudgetStarts: 0,
    dropped: {},
  };
}

/** Shared per-topic context. `now`, `unixNow` and `out` are reset by the node for each event. */
export class Ctx {
  now = 0;
  /** The wall clock at this event, unix ms (see `GossipNode.handle`). */
  unixNow = 0;
  out: OutEvent[] = [];

  constructor(
    readonly topic: TopicKey,
    readonly topicBytes: Uint8Array,
    readonly me: PeerId,
    readonly meBytes: Uint8Array,
    /** Our peer data (advertised addresses), sent in JOIN, NEIGHBOR(_REPLY) and SHUFFLE; updated by `setPeerData`. */
    public myData: PeerData | undefined,
    readonly rng: Rng,
    readonly stats: ProtoStats,
    readonly limits: LimitsConfig,
    readonly guard: Guard,
    readonly netGroup: NetGroupFn,
  ) {}

  /** Counts a drop by `reason`. */
  drop(reason: DropReason, n = 1): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + n;
  }

  /** Whether `peer` is banned now. */
  banned(peer: PeerId): boolean {
    return this.guard.isBanned(peer, this.now);
  }

  send(to: PeerId, message: Message, data?: PeerData): void {
    this.stats.messagesOut++;
    this.out.push(
      data === undefined
        ? { type: 'send', to, topic: this.topic, message }
        : { type: 'send', to, topic: this.topic, message, data },
    );
  }

  emit(event: AppEvent): void {
    this.out.push({ type: 'emit', topic: this.topic, event });
  }

  timer(delayMs: number, timer: Timer): void {
    this.out.push({ type: 'schedule-timer', topic: this.topic, delayMs, timer });
  }

  /** The topic no longer needs `peer`; the node drops this when another topic still does. */
  release(peer: PeerId): void {
    this.out.push({ type: 'disconnect-peer', peer });
  }
}
