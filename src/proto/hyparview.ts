/**
 * HyParView membership for one topic (Leitão, Pereira, Rodrigues, DSN 2007), as a pure state machine.
 *
 * Deviations from the paper, each for a reason:
 * - A peer enters the active view only once the link is confirmed by a message received over it: the
 *   contact adds a joiner when its JOIN arrives, everyone else when a NEIGHBOR arrives or when their own
 *   NEIGHBOR/JOIN is answered with an accepting NEIGHBOR_REPLY (the paper assumes TCP `connect` does this).
 * - The walk end of FORWARD_JOIN asks the joiner with a high-priority NEIGHBOR instead of adding it
 *   blindly, for the same reason.
 * - Repair asks several passive peers at once (up to the free active slots) and retries on a
 *   `repair` timer while the view is not full, not only after a failure (§4.3 asks one at a time): it
 *   heals a mass failure in a few round trips.
 *
 * Hardening against hostile peers (PROTOCOL.md §8.7), which the paper does not consider:
 * - Every kind has a sender precondition (`admit`): FORWARD_JOIN and SHUFFLE only from an active
 *   neighbour, DISCONNECT also from a peer we have a request to, NEIGHBOR_REPLY only from a peer we asked, and one
 *   SHUFFLE_REPLY per SHUFFLE we sent. Walk ttls are clamped to the configured walk lengths, and a
 *   SHUFFLE contributes at most `ka + kp` entries (+ its origin). Walks, GOSSIP and DISCONNECT from a
 *   peer that left the active view within `leftGraceMs` are still taken: they were in flight when the
 *   link was dropped (an eviction crossing a walk).
 * - A walk end dials on another peer's behalf only within the node's walk-dial budget; otherwise the
 *   joiner (or the origin's sample) is not acted upon beyond the passive view.
 * - Making room for a newcomer (JOIN or NEIGHBOR(high)) is rate-limited, never evicts one of the
 *   `EVICTION_SHIELD` newest neighbours nor one of the `protectedNeighbors` longest-serving ones (active
 *   for `protectAfterMs` without a strike), and keeps at most `maxActivePerGroup` neighbours of one
 *   address group: a newcomer of a full group may only displace a member of its own group. When nobody
 *   may go, the newcomer is refused (NEIGHBOR_REPLY rejected) and kept passive.
 * - Banned peers enter neither view.
 */
import { TokenBucket } from './budget.js';
import type { HyParViewConfig } from './config.js';
import type { Ctx } from './ctx.js';
import { pick, sample } from './rng.js';
import {
  assertNever,
  type DisconnectCause,
  type DropReason,
  type Message,
  type NeighborDownCause,
  type PeerData,
  type PeerId,
  type PeerInfo,
  type Priority,
  type Timer,
} from './types.js';

/**
 * Making room in a full active view never evicts one of this many newest neighbours (guess, checked by
 * the simulator and bench:join; see `pickVictim`). The paper (§4.1) drops a random one.
 */
const EVICTION_SHIELD = 2;

/** What HyParView tells the broadcast layer. */
export interface MembershipHooks {
  neighborUp(peer: PeerId): void;
  neighborDown(peer: PeerId): void;
}

/** How a peer asks to enter the active view, which decides what may make room for it. */
type Entry =
  /** JOIN or NEIGHBOR(high) from another peer: may evict, within the eviction budget. */
  | 'newcomer'
  /** The accepting answer to our own request: may evict (we chose to ask). */
  | 'answer'
  /** NEIGHBOR(low) or a late answer: a free slot only. */
  | 'free-slot';

/** Outcome of `plan`: enter (after evicting `victim`, if any), or a refusal and why. */
type Plan = { ok: true; victim: PeerId | undefined } | { ok: false; reason: DropReason | 'full' };

/** One topic's views. */
export class HyParView {
  /** Confirmed neighbours and their data, oldest first (Map order). */
  readonly active = new Map<PeerId, PeerData | undefined>();
  /** When each active neighbour entered the view, and its address group. */
  private readonly activeSince = new Map<PeerId, { at: number; group: string | undefined }>();
  /** Known peers to replace failed neighbours with. */
  readonly passive = new Map<PeerId, PeerData | undefined>();
  /** Our own JOIN/NEIGHBOR requests awaiting a NEIGHBOR_REPLY (at most `maxPendingRequests`). */
  readonly pending = new Map<PeerId, Priority | 'join'>();
  /**
   * When a peer was last asked (JOIN/NEIGHBOR), oldest first: repair does not ask it again at once,
   * and its late NEIGHBOR_REPLY is taken within `lateReplyWindowMs`. At most `maxRecentlyAsked`.
   */
  private readonly asked = new Map<PeerId, { at: number; lateReplyTaken: boolean }>();
  /** Peers that left the active view within `leftGraceMs`, and when, oldest first (`maxRecentlyLeft`). */
  private readonly left = new Map<PeerId, number>();
  /** Expiry of each SHUFFLE of ours still awaiting its one SHUFFLE_REPLY, oldest first. */
  private readonly shuffleSlots: number[] = [];
  private readonly evictions: TokenBucket;
  private joinedEmitted = false;
  private repairScheduled = false;
  private shuffleScheduled = false;
  private lastShuffleAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly cfg: HyParViewConfig,
    private readonly ctx: Ctx,
    private readonly hooks: MembershipHooks,
  ) {
    this.evictions = new TokenBucket(ctx.limits.evictionsPerSecond, ctx.limits.evictionBurst, ctx.now);
  }

  /**
   * Sender precondition of a message from `from` (PROTOCOL.md §8.7): undefined when it may be handled,
   * else why it is dropped. Admitting a SHUFFLE_REPLY uses up the slot of one SHUFFLE of ours.
   */
  admit(from: PeerId, m: Message): DropReason | undefined {
    switch (m.type) {
      case 'join':
      case 'neighbor':
        return undefined;
      case 'neighbor-reply': {
        if (this.pending.has(from)) return undefined;
        const a = this.asked.get(from);
        return a !== undefined &&
          !a.lateReplyTaken &&
          this.ctx.now - a.at <= this.ctx.limits.lateReplyWindowMs
          ? undefined
          : 'unsolicited-reply';
      }
      case 'disconnect':
        // From a peer that just left too: two evictions of one link cross.
        return this.active.has(from) || this.pending.has(from) || this.leftLately(from)
          ? undefined
          : 'not-neighbor';
      case 'shuffle-reply': {
        const now = this.ctx.now;
        while (this.shuffleSlots.length > 0 && this.shuffleSlots[0]! <= now) this.shuffleSlots.shift();
        if (this.shuffleSlots.length === 0) return 'unsolicited-shuffle-reply';
        this.shuffleSlots.shift();
        return undefined;
      }
      case 'forward-join':
      case 'shuffle':
      case 'gossip':
        // Also from a peer that just left: the walk or payload was in flight when the link was dropped.
        return this.active.has(from) || this.leftLately(from) ? undefined : 'not-neighbor';
      case 'ihave':
      case 'graft':
      case 'prune':
        return this.active.has(from) ? undefined : 'not-neighbor';
      default:
        return assertNever(m);
    }
  }

  /** `peer` is banned: out of both views and every request, and never asked again meanwhile. */
  expel(peer: PeerId): void {
    if (this.active.has(peer)) this.removeActive(peer, 'banned');
    this.left.delete(peer);
    this.passive.delete(peer);
    this.pending.delete(peer);
    this.asked.delete(peer);
    this.repair();
  }

  /** Sizes of the bounded structures, for tests and stats. */
  sizes(): {
    active: number;
    passive: number;
    pending: number;
    asked: number;
    shufflesAwaitingReply: number;
  } {
    return {
      active: this.active.size,
      passive: this.passive.size,
      pending: this.pending.size,
      asked: this.asked.size,
      shufflesAwaitingReply: this.shuffleSlots.length,
    };
  }

  /** Whether the topic uses a link to `peer` (active or a request in flight). */
  uses(peer: PeerId): boolean {
    return this.active.has(peer) || this.pending.has(peer);
  }

  /** Command `join`: send JOIN to every given peer (HyParView §4.2) and start shuffling. */
  join(peers: PeerInfo[]): void {
    const ctx = this.ctx;
    if (!this.shuffleScheduled) {
      this.shuffleScheduled = true;
      // The first SHUFFLE comes early: a newcomer's passive view is otherwise empty until then.
      ctx.timer(Math.min(this.cfg.firstShuffleDelayMs, this.cfg.shuffleIntervalMs), { type: 'shuffle' });
    }
    for (const p of peers) {
      if (p.id === ctx.me || this.uses(p.id) || ctx.banned(p.id)) continue;
      if (this.pending.size >= ctx.limits.maxPendingRequests) {
        // Too many requests in flight: the rest are candidates for repair.
        ctx.drop('pending-full');
        this.addPassive(p.id, p.data);
        continue;
      }
      this.pending.set(p.id, 'join');
      this.markAsked(p.id);
      ctx.send(p.id, this.withData({ type: 'join' }), p.data);
      ctx.timer(this.cfg.neighborRequestTimeoutMs, { type: 'neighbor-timeout', peer: p.id });
    }
  }

  /** Command `leave`: DISCONNECT every neighbour, not to be kept passive. */
  leave(): void {
    for (const peer of [...this.active.keys()]) {
      this.ctx.send(peer, { type: 'disconnect', alive: false });
      this.removeActive(peer, 'left');
      this.ctx.release(peer);
    }
    for (const peer of this.pending.keys()) this.ctx.release(peer);
    this.pending.clear();
  }

  /** A membership message from `from`. */
  onMessage(from: PeerId, m: Message): void {
    switch (m.type) {
      case 'join':
        this.onJoin(from, m.data);
        return;
      case 'forward-join':
        this.onForwardJoin(from, m.peer, m.data, m.ttl);
        return;
      case 'neighbor':
        this.onNeighbor(from, m.priority, m.data);
        return;
      case 'neighbor-reply':
        this.onNeighborReply(from, m.accepted, m.data);
        return;
      case 'disconnect':
        this.onDisconnect(from, m.alive);
        return;
      case 'shuffle':
        this.onShuffle(from, m.origin, m.originData, m.ttl, m.peers);
        return;
      case 'shuffle-reply':
        this.onShuffleReply(from, m.peers);
        return;
      case 'gossip':
      case 'ihave':
      case 'graft':
      case 'prune':
        return; // PlumTree's
      default:
        assertNever(m);
    }
  }

  /** The transport lost `peer` (or could not dial it). */
  onPeerDisconnected(peer: PeerId, cause: DisconnectCause): void {
    const wasPending = this.pending.delete(peer);
    if (this.active.has(peer)) {
      // §4.3: a failed neighbour is dropped from both views.
      this.removeActive(peer, cause);
      this.passive.delete(peer);
    } else if (wasPending || cause !== 'closed') {
      // A plain close of a link we do not use (after DISCONNECT, SHUFFLE_REPLY…) says nothing bad.
      this.passive.delete(peer);
    }
    this.repair();
  }

  /** A HyParView timer. */
  onTimer(timer: Timer): void {
    switch (timer.type) {
      case 'neighbor-timeout':
        if (this.pending.delete(timer.peer)) {
          this.passive.delete(timer.peer);
          this.ctx.release(timer.peer);
          this.repair();
        }
        return;
      case 'repair':
        this.repairScheduled = false;
        this.repair();
        return;
      case 'shuffle':
        this.ctx.timer(this.cfg.shuffleIntervalMs, { type: 'shuffle' });
        this.shuffle();
        return;
      case 'ihave-dispatch':
      case 'graft':
      case 'cache-evict':
        return; // PlumTree's
      default:
        assertNever(timer);
    }
  }

  // --- messages ----------------------------------------------------------------------------------

  /**
   * §4.2: the contact accepts the joiner and starts one random walk per other neighbour. A joiner that
   * may not enter (eviction budget, protection, address group) is refused and kept passive, with no
   * walks: a refused JOIN costs the network nothing.
   */
  private onJoin(from: PeerId, data: PeerData | undefined): void {
    const ctx = this.ctx;
    if (this.active.has(from)) {
      // Already a neighbour: confirm, but start no second set of walks.
      ctx.send(from, this.withData({ type: 'neighbor-reply', accepted: true }));
      this.enter(from, data, undefined);
      return;
    }
    const plan = this.plan(from, 'newcomer');
    if (!plan.ok) {
      this.refuse(from, data, plan.reason);
      return;
    }
    ctx.send(from, this.withData({ type: 'neighbor-reply', accepted: true }));
    this.enter(from, data, plan.victim);
    for (const peer of this.active.keys()) {
      if (peer === from) continue;
      ctx.send(peer, {
        type: 'forward-join',
        peer: from,
        ttl: this.cfg.activeRandomWalkLength,
        ...(data === undefined ? {} : { data }),
      });
    }
  }

  /**
   * §4.2: the walk ends at ttl 0 or at a node with no other neighbour; at PRWL it fills a passive view.
   * The walk end asks the joiner only within the walk-dial budget, else keeps it passive.
   */
  private onForwardJoin(from: PeerId, peer: PeerId, data: PeerData | undefined, ttl: number): void {
    const ctx = this.ctx;
    if (peer === ctx.me) return;
    if (ctx.banned(peer)) {
      ctx.drop('banned');
      return;
    }
    if (ttl > this.cfg.activeRandomWalkLength) {
      ctx.drop('ttl-clamped');
      ttl = this.cfg.activeRandomWalkLength;
    }
    if (ttl > 0 && this.active.size > 1) {
      if (ttl === this.cfg.passiveRandomWalkLength) this.addPassive(peer, data);
      const next = pick(ctx.rng, this.activeExcept(from, peer));
      if (next !== undefined) {
        ctx.send(next, { type: 'forward-join', peer, ttl: ttl - 1, ...(data === undefined ? {} : { data }) });
        return;
      }
    }
    if (this.uses(peer)) return;
    if (this.groupFull(peer)) {
      ctx.drop('group-full');
      this.addPassive(peer, data);
      return;
    }
    if (!ctx.guard.walkDial(ctx.now)) {
      ctx.drop('walk-dial-limited');
      this.addPassive(peer, data);
      return;
    }
    this.requestNeighbor(peer, data, 'high');
  }

  /** §4.3: high priority is accepted unless nobody may make room; low only into a free slot. */
  private onNeighbor(from: PeerId, priority: Priority, data: PeerData | undefined): void {
    const ctx = this.ctx;
    if (this.active.has(from)) {
      ctx.send(from, this.withData({ type: 'neighbor-reply', accepted: true }));
      this.enter(from, data, undefined);
      return;
    }
    const plan = this.plan(from, priority === 'high' ? 'newcomer' : 'free-slot');
    if (!plan.ok) {
      this.refuse(from, data, plan.reason);
      return;
    }
    ctx.send(from, this.withData({ type: 'neighbor-reply', accepted: true }));
    this.enter(from, data, plan.victim);
  }

  private onNeighborReply(from: PeerId, accepted: boolean, data: PeerData | undefined): void {
    const ctx = this.ctx;
    if (!this.pending.delete(from)) {
      // A late answer to a request that timed out (its timer also counts the dial and the handshake,
      // which a loaded machine or a long path can stretch); `admit` let it in because we asked this
      // peer within `lateReplyWindowMs`, and it is taken once. The peer has already added us: with a
      // free slot, take it (saying no would show its app a neighbour that comes and goes within
      // milliseconds); without one, say no politely so the views stay symmetric.
      ctx.stats.unexpected++;
      const a = this.asked.get(from);
      if (a !== undefined) a.lateReplyTaken = true;
      if (accepted && !this.active.has(from)) {
        const plan = this.plan(from, 'free-slot');
        if (plan.ok) {
          this.enter(from, data, undefined);
          return;
        }
        if (plan.reason !== 'full') ctx.drop(plan.reason);
        ctx.send(from, { type: 'disconnect', alive: true });
        ctx.release(from);
      }
      return;
    }
    if (accepted) {
      const plan = this.plan(from, 'answer');
      if (plan.ok) {
        this.enter(from, data, plan.victim);
        return;
      }
      // The view filled (or its group did) while we waited and nobody may go: undo the peer's side.
      if (plan.reason !== 'full') ctx.drop(plan.reason);
      ctx.send(from, { type: 'disconnect', alive: true });
    }
    this.addPassive(from, data);
    ctx.release(from);
    this.repair();
  }

  /** §4.3: the peer dropped us; `alive` says it stays a candidate. */
  private onDisconnect(from: PeerId, alive: boolean): void {
    this.pending.delete(from);
    const data = this.active.get(from) ?? this.passive.get(from);
    if (this.active.has(from)) this.removeActive(from, 'disconnected-by-peer');
    if (alive) this.addPassive(from, data);
    else this.passive.delete(from);
    this.ctx.release(from);
    this.repair();
  }

  /**
   * §4.4: forward the walk, or answer the origin with a passive sample and merge its sample. A walk
   * end that would have to dial the origin does so only within the walk-dial budget; beyond it the
   * SHUFFLE is dropped whole (its sample is not merged either).
   */
  private onShuffle(
    from: PeerId,
    origin: PeerId,
    originData: PeerData | undefined,
    ttl: number,
    peers: PeerInfo[],
  ): void {
    const ctx = this.ctx;
    if (origin === ctx.me) return;
    if (ctx.banned(origin)) {
      ctx.drop('banned');
      return;
    }
    if (ttl > this.cfg.shuffleRandomWalkLength) {
      ctx.drop('ttl-clamped');
      ttl = this.cfg.shuffleRandomWalkLength;
    }
    peers = this.truncate(peers);
    if (ttl > 0 && this.active.size > 1) {
      const next = pick(ctx.rng, this.activeExcept(from, origin));
      if (next !== undefined) {
        ctx.send(next, {
          type: 'shuffle',
          origin,
          ttl: ttl - 1,
          ...(originData === undefined ? {} : { originData }),
          peers,
        });
        return;
      }
    }
    if (!this.uses(origin) && !ctx.guard.walkDial(ctx.now)) {
      ctx.drop('walk-dial-limited');
      return;
    }
    // As many as a full sample holds, not as many as we got: a newcomer sends few or none.
    const k = this.cfg.shuffleActiveCount + this.cfg.shufflePassiveCount;
    const reply = sample(ctx.rng, [...this.passive.keys()], k).map((id) => this.info(id));
    ctx.send(origin, { type: 'shuffle-reply', peers: reply }, originData);
    for (const p of peers) this.addPassive(p.id, p.data);
    this.addPassive(origin, originData);
    if (!this.uses(origin)) ctx.release(origin);
    this.repair();
  }

  private onShuffleReply(from: PeerId, peers: PeerInfo[]): void {
    for (const p of this.truncate(peers)) this.addPassive(p.id, p.data);
    if (!this.uses(from)) this.ctx.release(from);
    this.repair();
  }

  // --- views -------------------------------------------------------------------------------------

  /**
   * Whether `peer` may enter the active view now, and whom it would displace. Entry rules (§4.1 and
   * the module comment): a free slot when its address group has room; otherwise a victim among the
   * evictable neighbours (of its own group when the group is full); `newcomer` entries that evict
   * also need an eviction token.
   */
  private plan(peer: PeerId, entry: Entry): Plan {
    const ctx = this.ctx;
    if (peer === ctx.me) return { ok: false, reason: 'full' };
    if (ctx.banned(peer)) return { ok: false, reason: 'banned' };
    const group = ctx.netGroup(peer);
    const sameGroup: PeerId[] = [];
    if (group !== undefined) {
      for (const [p, s] of this.activeSince) if (s.group === group) sameGroup.push(p);
    }
    const groupFull = sameGroup.length >= ctx.limits.maxActivePerGroup;
    const viewFull = this.active.size >= this.cfg.activeViewCapacity;
    if (!groupFull && !viewFull) return { ok: true, victim: undefined };
    if (entry === 'free-slot') return { ok: false, reason: groupFull ? 'group-full' : 'full' };
    const victim = this.pickVictim(groupFull ? sameGroup : [...this.active.keys()]);
    if (victim === undefined) return { ok: false, reason: groupFull ? 'group-full' : 'no-evictable' };
    if (entry === 'newcomer' && !this.evictions.take(ctx.now))
      return { ok: false, reason: 'eviction-limited' };
    return { ok: true, victim };
  }

  /**
   * A random evictable member of `pool`. Never one of the `EVICTION_SHIELD` newest neighbours (the map
   * keeps insertion order): a contact that many peers JOIN at once (peers starting together, all
   * finding the same few records) otherwise evicts the peer it accepted a moment ago, whose join then
   * fails before its forward walks brought it others. Never one of the `protectedNeighbors`
   * longest-serving neighbours active for `protectAfterMs` without a strike: sybils that re-join as
   * soon as they are evicted then cannot push out every honest neighbour.
   */
  private pickVictim(pool: PeerId[]): PeerId | undefined {
    const ctx = this.ctx;
    const all = [...this.active.keys()];
    const spared = new Set(all.slice(Math.max(1, all.length - EVICTION_SHIELD)));
    let protectedCount = 0;
    for (const p of all) {
      if (protectedCount >= ctx.limits.protectedNeighbors) break;
      const since = this.activeSince.get(p)!.at;
      if (ctx.now - since < ctx.limits.protectAfterMs) break; // the rest are newer still
      if (ctx.guard.misbehaved(p)) continue;
      spared.add(p);
      protectedCount++;
    }
    return pick(
      ctx.rng,
      pool.filter((p) => !spared.has(p)),
    );
  }

  /** Refuses a JOIN/NEIGHBOR: NEIGHBOR_REPLY(rejected), and the peer stays a passive candidate. */
  private refuse(from: PeerId, data: PeerData | undefined, reason: DropReason | 'full'): void {
    if (reason !== 'full') this.ctx.drop(reason);
    this.ctx.send(from, this.withData({ type: 'neighbor-reply', accepted: false }));
    this.addPassive(from, data);
  }

  /** Adds `peer` (planned by `plan`), evicting `victim` first when given. */
  private enter(peer: PeerId, data: PeerData | undefined, victim: PeerId | undefined): void {
    const ctx = this.ctx;
    if (this.active.has(peer)) {
      if (data !== undefined) this.active.set(peer, data);
      return;
    }
    const known = data ?? this.passive.get(peer);
    this.passive.delete(peer);
    this.pending.delete(peer);
    if (victim !== undefined) {
      // §4.1: the dropped neighbour stays a passive candidate.
      ctx.stats.evictions++;
      const victimData = this.active.get(victim);
      ctx.send(victim, { type: 'disconnect', alive: true });
      this.removeActive(victim, 'evicted');
      this.addPassive(victim, victimData);
      ctx.release(victim);
    }
    this.active.set(peer, known);
    this.activeSince.set(peer, { at: ctx.now, group: ctx.netGroup(peer) });
    this.left.delete(peer);
    ctx.emit({ type: 'neighbor-up', peer });
    this.hooks.neighborUp(peer);
    if (!this.joinedEmitted) {
      this.joinedEmitted = true;
      ctx.emit({ type: 'joined' });
    }
  }

  private removeActive(peer: PeerId, cause: NeighborDownCause): void {
    this.active.delete(peer);
    this.activeSince.delete(peer);
    if (cause !== 'banned' && this.ctx.limits.maxRecentlyLeft > 0) {
      const now = this.ctx.now;
      this.left.delete(peer);
      this.left.set(peer, now);
      for (const [p, at] of this.left) {
        if (now - at <= this.ctx.limits.leftGraceMs && this.left.size <= this.ctx.limits.maxRecentlyLeft)
          break;
        this.left.delete(p);
      }
    }
    this.ctx.emit({ type: 'neighbor-down', peer, cause });
    this.hooks.neighborDown(peer);
  }

  private addPassive(peer: PeerId, data: PeerData | undefined): void {
    const ctx = this.ctx;
    if (peer === ctx.me || this.active.has(peer) || this.cfg.passiveViewCapacity === 0) return;
    if (ctx.banned(peer)) return;
    if (this.passive.has(peer)) {
      if (data !== undefined) this.passive.set(peer, data);
      return;
    }
    if (this.passive.size >= this.cfg.passiveViewCapacity) {
      const candidates = [...this.passive.keys()].filter((p) => !this.pending.has(p));
      const victim = pick(ctx.rng, candidates);
      if (victim === undefined) return;
      this.passive.delete(victim);
      this.asked.delete(victim);
    }
    this.passive.set(peer, data);
  }

  /** Whether `peer` left the active view within `leftGraceMs`. */
  private leftLately(peer: PeerId): boolean {
    const at = this.left.get(peer);
    return at !== undefined && this.ctx.now - at <= this.ctx.limits.leftGraceMs;
  }

  /** Whether `peer`'s address group already has `maxActivePerGroup` active neighbours. */
  private groupFull(peer: PeerId): boolean {
    const group = this.ctx.netGroup(peer);
    if (group === undefined) return false;
    let n = 0;
    for (const s of this.activeSince.values()) if (s.group === group) n++;
    return n >= this.ctx.limits.maxActivePerGroup;
  }

  /** Sends NEIGHBOR to `peer`, unless `maxPendingRequests` are in flight (then it stays passive). */
  private requestNeighbor(peer: PeerId, data: PeerData | undefined, priority: Priority): void {
    const ctx = this.ctx;
    if (this.pending.size >= ctx.limits.maxPendingRequests) {
      ctx.drop('pending-full');
      this.addPassive(peer, data);
      return;
    }
    this.pending.set(peer, priority);
    this.markAsked(peer);
    ctx.send(peer, this.withData({ type: 'neighbor', priority }), data ?? this.passive.get(peer));
    ctx.timer(this.cfg.neighborRequestTimeoutMs, { type: 'neighbor-timeout', peer });
  }

  /** Records that `peer` was asked now; forgets entries too old to matter, and the oldest beyond the cap. */
  private markAsked(peer: PeerId): void {
    const now = this.ctx.now;
    const keep = Math.max(this.cfg.repairIntervalMs, this.ctx.limits.lateReplyWindowMs);
    this.asked.delete(peer);
    for (const [p, a] of this.asked) {
      if (now - a.at <= keep && this.asked.size < this.ctx.limits.maxRecentlyAsked) break;
      this.asked.delete(p);
    }
    this.asked.set(peer, { at: now, lateReplyTaken: false });
  }

  /**
   * §4.3, generalised: while active + pending is below capacity, ask passive peers not asked within
   * `repairIntervalMs` (and whose address group has room); high priority when the active view is
   * small. Retries on a timer.
   */
  private repair(): void {
    const ctx = this.ctx;
    const cap = this.cfg.activeViewCapacity;
    if (this.active.size + this.pending.size >= cap) return;
    let waiting = false;
    const candidates: PeerId[] = [];
    for (const p of this.passive.keys()) {
      if (this.pending.has(p)) continue;
      const asked = this.asked.get(p);
      if (asked !== undefined && ctx.now - asked.at < this.cfg.repairIntervalMs) waiting = true;
      else if (!this.groupFull(p)) candidates.push(p);
    }
    const wanted = cap - this.active.size - this.pending.size;
    for (const p of sample(ctx.rng, candidates, wanted)) {
      this.requestNeighbor(p, undefined, this.active.size < this.cfg.highPriorityBelow ? 'high' : 'low');
    }
    // Nobody left to ask: refill the passive view with an early SHUFFLE, at most once per
    // `firstShuffleDelayMs` (the repair timer below comes back until the view is full).
    const starving = candidates.length === 0 && !waiting && this.pending.size === 0;
    if (starving && this.active.size > 0 && ctx.now - this.lastShuffleAt >= this.cfg.firstShuffleDelayMs) {
      this.shuffle();
    }
    // Keep trying while below capacity (a refusal now may be a yes later).
    if (!this.repairScheduled && (waiting || candidates.length > 0 || this.active.size > 0)) {
      this.repairScheduled = true;
      ctx.timer(starving ? this.cfg.firstShuffleDelayMs : this.cfg.repairIntervalMs, { type: 'repair' });
    }
  }

  /** §4.4: send our sample on a random walk through a random neighbour; one reply is now expected. */
  private shuffle(): void {
    const ctx = this.ctx;
    const target = pick(ctx.rng, [...this.active.keys()]);
    if (target === undefined) return;
    this.lastShuffleAt = ctx.now;
    const peers = [
      ...sample(ctx.rng, this.activeExcept(target), this.cfg.shuffleActiveCount),
      ...sample(ctx.rng, [...this.passive.keys()], this.cfg.shufflePassiveCount),
    ].map((id) => this.info(id));
    this.shuffleSlots.push(ctx.now + ctx.limits.shuffleReplyTimeoutMs);
    if (this.shuffleSlots.length > ctx.limits.maxShufflesAwaitingReply) this.shuffleSlots.shift();
    ctx.send(target, {
      type: 'shuffle',
      origin: ctx.me,
      ttl: this.cfg.shuffleRandomWalkLength,
      ...(ctx.myData === undefined ? {} : { originData: ctx.myData }),
      peers,
    });
  }

  // --- helpers -----------------------------------------------------------------------------------

  /** The first `ka + kp` entries of a shuffle sample: a full sample holds no more. */
  private truncate(peers: PeerInfo[]): PeerInfo[] {
    const k = this.cfg.shuffleActiveCount + this.cfg.shufflePassiveCount;
    if (peers.length <= k) return peers;
    this.ctx.drop('peers-truncated', peers.length - k);
    return peers.slice(0, k);
  }

  private activeExcept(a: PeerId, b?: PeerId): PeerId[] {
    const out: PeerId[] = [];
    for (const p of this.active.keys()) if (p !== a && p !== b) out.push(p);
    return out;
  }

  private info(id: PeerId): PeerInfo {
    const data = this.active.get(id) ?? this.passive.get(id);
    return data === undefined ? { id } : { id, data };
  }

  private withData<M extends Message & { data?: PeerData | undefined }>(m: M): M {
    return this.ctx.myData === undefined ? m : { ...m, data: this.ctx.myData };
  }
}
