/**
 * Per-peer budgets and bans of a node (PROTOCOL.md §8.7): what makes the cost of a flood land on the
 * peer that sends it. Pure: time comes in as `now`.
 *
 * - Every active neighbour (of any topic) has token buckets for the messages and frame bytes it may
 *   send us (each id an IHAVE announces counts as a message), one for the bytes of GRAFT answers we give it, and one for the GRAFTs we send it (the
 *   work its IHAVEs make us do). A message over budget is dropped, and
 *   `waitMs` tells the driver how long to stop reading from the sender (its bucket refills meanwhile);
 *   a neighbour with more than `maxOverBudgetDrops` drops within `overBudgetWindowMs`, or with
 *   `maxInvalidSignatures` invalid origin signatures, is banned for `banMs`.
 * - The state of a neighbour lives while it is active in some topic and `leftGraceMs` after (what it
 *   sent before the link was dropped is still charged, and a quick return does not wipe its strikes),
 *   so it is bounded by the active views plus `maxRecentlyLeft`; strangers (which may only send JOIN,
 *   NEIGHBOR and the replies we asked for) have none.
 * - Bans are a map capped at `maxBannedPeers`; the oldest is lifted first when it is full.
 * - Identities are free, addresses are not: a ban also marks the banned peer's address group
 *   (`netGroup`) for `banMs` (same cap), and a neighbour of a marked group starts with empty message
 *   and byte buckets, and its own origin budget empty too (`penalized`). It gets the refill rate but
 *   no burst, so a flooder that comes back under a fresh identity is throttled from its first frame
 *   instead of spending a whole burst again.
 * - Dials made on another peer's behalf (walk ends) share one bucket per node.
 *
 * A token bucket holds at most `burst` tokens and gains `perSecond` per second; taking `n` tokens
 * succeeds only when `n` are there (libtorrent's and gossipsub's rate limits work the same way). The
 * transport's accept and dial limits use the same class.
 */
import type { LimitsConfig } from './config.js';
import type { BanReason, PeerId } from './types.js';

/** A token bucket, full when created unless `tokens` says otherwise. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
    tokens = burst,
  ) {
    this.tokens = Math.min(burst, Math.max(0, tokens));
    this.at = now;
  }

  /** Takes `n` tokens at time `now` if there are that many. */
  take(now: number, n = 1): boolean {
    if (this.tokens >= n && this.tokens === this.burst) {
      // Full: nothing to refill (the common case for an honest peer).
      this.at = now;
      this.tokens -= n;
      return true;
    }
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1000);
      this.at = now;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Takes `n` tokens at time `now` if there are that many; otherwise empties the bucket. */
  takeOrDrain(now: number, n: number): boolean {
    if (this.take(now, n)) return true;
    this.tokens = 0;
    return false;
  }

  /** Milliseconds from `now` until `n` tokens are there (0 when they are); nothing is taken. */
  waitMs(now: number, n = 1): number {
    const tokens =
      now > this.at
        ? Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1000)
        : this.tokens;
    return tokens >= n ? 0 : Math.ceil(((n - tokens) * 1000) / this.perSecond);
  }
}

/** What a neighbour may still send us, and how it behaved while active. */
interface PeerState {
  messages: TokenBucket;
  bytes: TokenBucket;
  graftBytes: TokenBucket;
  /** GRAFTs we may send it (work its IHAVEs ask of us). */
  graftAsks: TokenBucket;
  /** Over-budget drops since `windowStart`. */
  drops: number;
  windowStart: number;
  invalidSignatures: number;
  /** Any strike while active: such a neighbour is never protected from eviction. */
  misbehaved: boolean;
  /** It started with empty budgets: its address group had a ban (see the module comment). */
  penalized: boolean;
}

/** Budgets, strikes and bans of one node. */
export class Guard {
  private readonly peers = new Map<PeerId, PeerState>();
  /** Peers whose state is kept after they left every active view, and since when, oldest first. */
  private readonly left = new Map<PeerId, number>();
  private readonly bans = new Map<PeerId, number>();
  /** Address groups with a ban, until when; insertion order is expiry order (`maxBannedPeers`). */
  private readonly groupBans = new Map<string, number>();
  private readonly walkDials: TokenBucket;
  private queued: Array<{ peer: PeerId; reason: BanReason }> = [];

  constructor(private readonly cfg: LimitsConfig) {
    this.walkDials = new TokenBucket(cfg.walkDialsPerSecond, cfg.walkDialBurst, 0);
  }

  /**
   * `peer` (of address group `group`, if known) became active in some topic: give it fresh budgets
   * (kept if it already has them), empty ones when its group had a ban within `banMs`. Returns
   * whether it started empty.
   */
  attach(peer: PeerId, now: number, group?: string): boolean {
    this.left.delete(peer);
    if (this.peers.has(peer)) return false;
    const c = this.cfg;
    const penalized = group !== undefined && this.groupBanned(group, now);
    const start = penalized ? 0 : undefined;
    this.peers.set(peer, {
      messages: new TokenBucket(c.messagesPerSecond, c.messageBurst, now, start),
      bytes: new TokenBucket(c.bytesPerSecond, c.byteBurst, now, start),
      graftBytes: new TokenBucket(c.graftServeBytesPerSecond, c.graftServeBurstBytes, now),
      graftAsks: new TokenBucket(c.graftRequestsPerSecond, c.graftRequestBurst, now),
      drops: 0,
      windowStart: now,
      invalidSignatures: 0,
      misbehaved: false,
      penalized,
    });
    return penalized;
  }

  /** Whether `peer` started with empty budgets (its own origin budget starts empty too). */
  penalized(peer: PeerId): boolean {
    return this.peers.get(peer)?.penalized ?? false;
  }

  private groupBanned(group: string, now: number): boolean {
    if (this.groupBans.size === 0) return false;
    const until = this.groupBans.get(group);
    if (until === undefined) return false;
    if (until > now) return true;
    this.groupBans.delete(group);
    return false;
  }

  /** `peer` is active in no topic any more: its state goes `leftGraceMs` later. */
  detach(peer: PeerId, now: number): void {
    if (!this.peers.has(peer)) return;
    this.left.delete(peer);
    this.left.set(peer, now);
    this.sweep(now);
  }

  private sweep(now: number): void {
    for (const [p, at] of this.left) {
      if (now - at <= this.cfg.leftGraceMs && this.left.size <= this.cfg.maxRecentlyLeft) break;
      this.left.delete(p);
      this.peers.delete(p);
    }
  }

  /** Whether `peer` has budgets (it is an active neighbour of some topic). */
  tracks(peer: PeerId): boolean {
    return this.peers.has(peer);
  }

  /** Neighbours with budgets. */
  get tracked(): number {
    return this.peers.size;
  }

  /** Charges one message of `bytes` to `peer`; false when over budget (a strike, which may ban it). */
  charge(peer: PeerId, bytes: number, now: number): boolean {
    if (this.left.size > 0) this.sweep(now);
    const s = this.peers.get(peer);
    if (s === undefined) return true;
    // Both buckets are always charged, so a stream of small frames cannot hide behind the byte budget.
    const okMessages = s.messages.take(now);
    const okBytes = s.bytes.take(now, bytes);
    if (okMessages && okBytes) return true;
    this.overBudget(peer, now);
    return false;
  }

  /**
   * Charges `n` more messages to `peer` for the ids an IHAVE announces beyond the first (its frame was
   * charged as one message): announcing a message costs the sender what sending it would, so a frame
   * of 1,900 ids spends about half a second of the budget instead of 1/2000 of it. When fewer than
   * `n` are left, the message bucket is emptied, so that the driver's next `chargeFrame` refuses and
   * pauses the sender, and the drop is a strike. False then: the IHAVE is ignored.
   */
  chargeAnnouncements(peer: PeerId, n: number, now: number): boolean {
    const s = this.peers.get(peer);
    if (s === undefined || n <= 0) return true;
    if (s.messages.takeOrDrain(now, n)) return true;
    this.overBudget(peer, now);
    return false;
  }

  /**
   * Milliseconds from `now` until `peer`'s budgets hold one more message of `bytes` (0 when they do,
   * or when it has none; `Infinity` for a zero refill rate). Nothing is taken: the driver stops reading
   * from an over-budget peer for this long (PROTOCOL.md §8.7), so TCP back-pressure slows the sender.
   */
  waitMs(peer: PeerId, bytes: number, now: number): number {
    const s = this.peers.get(peer);
    if (s === undefined) return 0;
    return Math.max(s.messages.waitMs(now), s.bytes.waitMs(now, bytes));
  }

  /** A drop of `peer`'s traffic for a budget it overran (its own, or its origin's). */
  overBudget(peer: PeerId, now: number): void {
    const s = this.peers.get(peer);
    if (s === undefined) return;
    s.misbehaved = true;
    if (now - s.windowStart > this.cfg.overBudgetWindowMs) {
      s.windowStart = now;
      s.drops = 0;
    }
    if (++s.drops > this.cfg.maxOverBudgetDrops) this.queue(peer, 'over-budget');
  }

  /** `peer` sent a GOSSIP whose origin signature is invalid. */
  invalidSignature(peer: PeerId): void {
    const s = this.peers.get(peer);
    if (s === undefined) return;
    s.misbehaved = true;
    if (++s.invalidSignatures >= this.cfg.maxInvalidSignatures) this.queue(peer, 'invalid-signatures');
  }

  /** Whether `peer` had a strike while active. */
  misbehaved(peer: PeerId): boolean {
    return this.peers.get(peer)?.misbehaved ?? false;
  }

  /** Whether a GRAFT answer of `bytes` to `peer` fits its GRAFT budget (taken if so). */
  graftServe(peer: PeerId, bytes: number, now: number): boolean {
    return this.peers.get(peer)?.graftBytes.take(now, bytes) ?? false;
  }

  /** Whether we may send `peer` a GRAFT now (taken if so; true for a peer without budgets). */
  graftAsk(peer: PeerId, now: number): boolean {
    return this.peers.get(peer)?.graftAsks.take(now) ?? true;
  }

  /** Whether `peer`'s GRAFT budget is spent at `now` (nothing taken): its IHAVEs are not acted upon. */
  graftAsksSpent(peer: PeerId, now: number): boolean {
    const s = this.peers.get(peer);
    return s !== undefined && s.graftAsks.waitMs(now) > 0;
  }

  /** Whether a dial on another peer's behalf may go now (taken if so). */
  walkDial(now: number): boolean {
    return this.walkDials.take(now);
  }

  /** Whether `peer` is banned at `now` (an expired ban is lifted here). */
  isBanned(peer: PeerId, now: number): boolean {
    if (this.bans.size === 0) return false;
    const until = this.bans.get(peer);
    if (until === undefined) return false;
    if (until > now) return true;
    this.bans.delete(peer);
    return false;
  }

  /** Bans `peer` (of address group `group`, if known) until `now + banMs` and forgets its budgets. */
  ban(peer: PeerId, now: number, group?: string): void {
    this.bans.delete(peer);
    this.bans.set(peer, now + this.cfg.banMs);
    // Every ban lasts `banMs`, so insertion order is expiry order: the first one ends soonest.
    while (this.bans.size > this.cfg.maxBannedPeers) this.bans.delete(this.bans.keys().next().value!);
    if (group !== undefined) {
      this.groupBans.delete(group);
      this.groupBans.set(group, now + this.cfg.banMs);
      while (this.groupBans.size > this.cfg.maxBannedPeers)
        this.groupBans.delete(this.groupBans.keys().next().value!);
    }
    this.peers.delete(peer);
    this.left.delete(peer);
  }

  /** Banned peers (some may have expired without being looked up). */
  get banned(): number {
    return this.bans.size;
  }

  /** Address groups with a ban (some may have expired without being looked up). */
  get bannedGroups(): number {
    return this.groupBans.size;
  }

  /** Bans decided while handling the current event, each peer once; the node carries them out. */
  takeBans(): Array<{ peer: PeerId; reason: BanReason }> {
    const out = this.queued;
    this.queued = [];
    return out;
  }

  private queue(peer: PeerId, reason: BanReason): void {
    if (!this.queued.some((q) => q.peer === peer)) this.queued.push({ peer, reason });
  }
}
