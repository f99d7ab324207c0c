/**
 * Events and messages of the gossip core (ARCHITECTURE.md "Gossip core", PROTOCOL.md §8).
 *
 * Identifiers are lower-case hex strings, not `Uint8Array`: they are Map/Set keys on every hot path
 * (views, eager/lazy sets, message caches), compare by value, and cost nothing to hash. The wire codec
 * converts them to and from raw 32-byte fields at the edge.
 */

/** A peer: its 32-byte ed25519 public key as 64 lower-case hex characters. */
export type PeerId = string;
/** A topic: its 32-byte topic hash (`TopicId.hash`) as 64 lower-case hex characters. */
export type TopicKey = string;
/** A message id (PROTOCOL.md §8.3): 32 bytes as 64 lower-case hex characters. */
export type MessageId = string;
/**
 * Opaque bytes a peer attaches about itself (its dialable addresses). The core stores and forwards it
 * so that passive peers can be dialed later; only the transport interprets it.
 */
export type PeerData = Uint8Array;

/** A peer and the data it last announced about itself. */
export interface PeerInfo {
  id: PeerId;
  data?: PeerData | undefined;
}

/** Priority of a NEIGHBOR request (HyParView §4.3): a high one is always accepted. */
export type Priority = 'high' | 'low';

/** Delivery scope of a broadcast: the whole swarm, or the sender's direct neighbours only. */
export type Scope = 'swarm' | 'neighbors';

// ---------------------------------------------------------------------------------------------------
// Messages (PROTOCOL.md §8.2)

/** HyParView JOIN: the sender asks the receiver to be its contact node. */
export interface JoinMessage {
  type: 'join';
  data?: PeerData | undefined;
}
/** HyParView FORWARD_JOIN: a random walk announcing `peer`, who joined through the walk's origin. */
export interface ForwardJoinMessage {
  type: 'forward-join';
  peer: PeerId;
  data?: PeerData | undefined;
  ttl: number;
}
/** HyParView NEIGHBOR: the sender asks to enter the receiver's active view. */
export interface NeighborMessage {
  type: 'neighbor';
  priority: Priority;
  data?: PeerData | undefined;
}
/** Answer to JOIN or NEIGHBOR: whether the receiver is now in the sender's active view. */
export interface NeighborReplyMessage {
  type: 'neighbor-reply';
  accepted: boolean;
  data?: PeerData | undefined;
}
/** HyParView DISCONNECT: the sender dropped the link; `alive` asks to be kept in the passive view. */
export interface DisconnectMessage {
  type: 'disconnect';
  alive: boolean;
}
/** HyParView SHUFFLE: a random walk carrying a sample of the origin's views. */
export interface ShuffleMessage {
  type: 'shuffle';
  origin: PeerId;
  originData?: PeerData | undefined;
  ttl: number;
  peers: PeerInfo[];
}
/** Answer to SHUFFLE, sent straight to its origin: a sample of the receiver's passive view. */
export interface ShuffleReplyMessage {
  type: 'shuffle-reply';
  peers: PeerInfo[];
}
/** PlumTree GOSSIP: a payload with its origin, per-origin sequence number and hop count. */
export interface GossipMessage {
  type: 'gossip';
  origin: PeerId;
  /** Per-origin sequence number, 0..2^64-1. */
  seq: bigint;
  /**
   * The origin's clock when it broadcast: unix ms, an integer in 0..2^53-1 (PROTOCOL.md §8.2). Part of
   * the id, so the origin signature covers it (§8.3, §8.4).
   */
  sentAt: number;
  scope: Scope;
  /** Hops taken on arrival: 1 when received from the origin itself. */
  hops: number;
  content: Uint8Array;
  /** 64-byte origin signature (PROTOCOL.md §8.4), absent when signatures are off. */
  signature?: Uint8Array | undefined;
}
/** One lazily pushed message id and the hop count a GRAFT would deliver it with. */
export interface IHaveEntry {
  id: MessageId;
  hops: number;
}
/** PlumTree IHAVE: a batch of announced message ids. */
export interface IHaveMessage {
  type: 'ihave';
  entries: IHaveEntry[];
}
/** PlumTree GRAFT: make the link eager again, and send `id` when given. */
export interface GraftMessage {
  type: 'graft';
  id?: MessageId | undefined;
}
/** PlumTree PRUNE: make the link lazy. */
export interface PruneMessage {
  type: 'prune';
}

/** Every gossip message (closed union). */
export type Message =
  | JoinMessage
  | ForwardJoinMessage
  | NeighborMessage
  | NeighborReplyMessage
  | DisconnectMessage
  | ShuffleMessage
  | ShuffleReplyMessage
  | GossipMessage
  | IHaveMessage
  | GraftMessage
  | PruneMessage;

// ---------------------------------------------------------------------------------------------------
// Timers: data the driver schedules and hands back (the core sets no timer itself)

/** A timer of one topic. Stale timers are harmless: the core re-checks its state on expiry. */
export type Timer =
  | { type: 'neighbor-timeout'; peer: PeerId }
  | { type: 'repair' }
  | { type: 'shuffle' }
  | { type: 'ihave-dispatch' }
  | { type: 'graft'; id: MessageId }
  | { type: 'cache-evict' };

// ---------------------------------------------------------------------------------------------------
// In-events

/** Why the transport lost (or never got) a connection to a peer. */
export type DisconnectCause = 'closed' | 'error' | 'timeout' | 'dial-failed';

/** Why a neighbour left the active view. */
export type NeighborDownCause =
  | DisconnectCause
  /** The peer sent DISCONNECT. */
  | 'disconnected-by-peer'
  /** We dropped it to make room (HyParView §4.1). */
  | 'evicted'
  /** We left the topic. */
  | 'left'
  /** We banned the peer (it overran its budget or sent invalid signatures; PROTOCOL.md §8.7). */
  | 'banned';

/** A local command for one topic. */
export type Command =
  /** Join the topic's swarm through these peers (and nothing else: an empty list only creates the topic). */
  | { type: 'join'; peers: PeerInfo[] }
  /** Broadcast `content` to every member of the swarm. */
  | { type: 'broadcast'; content: Uint8Array }
  /** Send `content` to the current active view only; receivers do not forward it. */
  | { type: 'broadcast-neighbors'; content: Uint8Array }
  /** Leave: DISCONNECT every neighbour and forget the topic. */
  | { type: 'leave' };

/** Everything the core reacts to. */
export type InEvent =
  /**
   * A message of `topic` received from `from` over a live link. `size` is the frame's length in bytes,
   * charged to the sender's budget (default: `frameSize(message)`). `charged`: the driver already
   * passed the frame through `GossipNode.chargeFrame` before decoding it (PROTOCOL.md §8.7), so it is
   * not counted or charged again.
   */
  | {
      type: 'recv';
      from: PeerId;
      topic: TopicKey;
      message: Message;
      size?: number | undefined;
      charged?: boolean | undefined;
    }
  | { type: 'command'; topic: TopicKey; command: Command }
  | { type: 'timer-expired'; topic: TopicKey; timer: Timer }
  /** The transport lost the link to `peer` (every topic), or could not dial it. */
  | { type: 'peer-disconnected'; peer: PeerId; cause: DisconnectCause };

// ---------------------------------------------------------------------------------------------------
// Out-events

/** An event for the application. */
export type AppEvent =
  | { type: 'neighbor-up'; peer: PeerId }
  | { type: 'neighbor-down'; peer: PeerId; cause: NeighborDownCause }
  | {
      type: 'received';
      /** The message id (hex, PROTOCOL.md §8.3). */
      id: MessageId;
      content: Uint8Array;
      origin: PeerId;
      /** The neighbour it arrived from. */
      deliveredFrom: PeerId;
      /** 1 when `deliveredFrom` is the origin. */
      hops: number;
      scope: Scope;
      /** The origin's send time, unix ms by the origin's clock (signed with the message, PROTOCOL.md §8.2). */
      sentAt: number;
      /**
       * Not a live delivery (PROTOCOL.md §8.6): it came in answer to a GRAFT of ours (a repair, or a
       * newcomer catching up from a neighbour's cache), or `sentAt` is more than `replayAfterMs` before
       * our clock.
       */
      replay: boolean;
    }
  /** The topic got its first neighbour. Emitted once per join. */
  | { type: 'joined' }
  /** One of our own broadcasts went out (`id` is what receivers see). */
  | { type: 'sent'; id: MessageId; content: Uint8Array; scope: Scope };

/** Everything the core asks its driver to do, in order. */
export type OutEvent =
  /**
   * Send `message` of `topic` to `to`, dialing it first when not connected (using `data` when given,
   * else whatever the transport knows). A failed dial comes back as `peer-disconnected`/`dial-failed`.
   */
  | { type: 'send'; to: PeerId; topic: TopicKey; message: Message; data?: PeerData | undefined }
  | { type: 'emit'; topic: TopicKey; event: AppEvent }
  | { type: 'schedule-timer'; topic: TopicKey; delayMs: number; timer: Timer }
  /** No topic needs the link to `peer` any more: close it after flushing earlier sends. */
  | { type: 'disconnect-peer'; peer: PeerId }
  /**
   * `peer` is banned for `durationMs` in every topic (PROTOCOL.md §8.7): close its connection and refuse
   * it meanwhile. The core drops whatever it sends until then; a `disconnect-peer` for it follows.
   */
  | { type: 'ban-peer'; peer: PeerId; durationMs: number; reason: BanReason };

/** Why a peer was banned. */
export type BanReason =
  /** More than `maxOverBudgetDrops` messages over its budget within `overBudgetWindowMs`. */
  | 'over-budget'
  /** `maxInvalidSignatures` GOSSIP frames with an invalid origin signature. */
  | 'invalid-signatures';

/**
 * Why the core dropped a message, or part of one, instead of acting on it (PROTOCOL.md §8.7). Counted
 * in `stats.dropped`; none of them is an error.
 */
export type DropReason =
  /** A kind only an active neighbour may send (DISCONNECT: or a peer we asked), from another peer. */
  | 'not-neighbor'
  /** NEIGHBOR_REPLY from a peer we have no request to and did not ask within `lateReplyWindowMs`. */
  | 'unsolicited-reply'
  /** SHUFFLE_REPLY while no SHUFFLE of ours awaits its answer. */
  | 'unsolicited-shuffle-reply'
  /** Anything from a banned peer; or a walk naming one. */
  | 'banned'
  /** Over the sender's message or byte budget. */
  | 'over-budget'
  /** GOSSIP of an origin over its own budget (checked after the signature). */
  | 'origin-over-budget'
  /** GOSSIP whose (id, signature) already failed verification: not verified again. */
  | 'bad-signature-cached'
  /** GOSSIP whose `sentAt` is more than `maxClockSkewMs` ahead of our clock (checked after the signature). */
  | 'clock-skew'
  /** An IHAVE entry repeating an id the same peer already announced. */
  | 'announce-repeat'
  /** An IHAVE entry for an id that has `maxAnnouncersPerId` announcers. */
  | 'announcers-full'
  /** An IHAVE entry beyond `maxMissingPerPeer` or `maxMissing`. */
  | 'missing-full'
  /** An IHAVE entry of ours beyond `maxIHaveQueuePerPeer`. */
  | 'ihave-queue-full'
  /** GRAFT for an id already served to that neighbour. */
  | 'graft-repeat'
  /** GRAFT answer over the neighbour's GRAFT byte budget. */
  | 'graft-over-budget'
  /**
   * A GRAFT of ours not sent to an announcer over its GRAFT request budget (the next announcer is
   * asked), or IHAVE entries ignored while that budget is spent.
   */
  | 'graft-ask-limited'
  /** A walk end (FORWARD_JOIN or SHUFFLE) that would dial over the walk-dial budget. */
  | 'walk-dial-limited'
  /** A request of ours not sent: `maxPendingRequests` in flight. */
  | 'pending-full'
  /** JOIN / NEIGHBOR(high) refused: making room is over the eviction budget. */
  | 'eviction-limited'
  /** JOIN / NEIGHBOR(high) refused: every neighbour is protected or among the newest. */
  | 'no-evictable'
  /** A peer refused: `maxActivePerGroup` neighbours of its address group, none of them evictable. */
  | 'group-full'
  /** A walk ttl above the configured walk length, clamped (the walk goes on). */
  | 'ttl-clamped'
  /** SHUFFLE / SHUFFLE_REPLY entries beyond `shuffleActiveCount + shufflePassiveCount`, ignored. */
  | 'peers-truncated';

/** Exhaustiveness check for closed unions. @throws {TypeError} always (unreachable when types hold). */
export function assertNever(value: never): never {
  throw new TypeError(`unexpected variant: ${JSON.stringify(value)}`);
}
