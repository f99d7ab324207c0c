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
 */
import type { HyParViewConfig } from './config.js';
import type { Ctx } from './ctx.js';
import { pick, sample } from './rng.js';
import {
  assertNever,
  type DisconnectCause,
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
 * the simulator and bench:join; see `addActive`). The paper (§4.1) drops a random one.
 */
const EVICTION_SHIELD = 2;

/** What HyParView tells the broadcast layer. */
export interface MembershipHooks {
  neighborUp(peer: PeerId): void;
  neighborDown(peer: PeerId): void;
}

/** One topic's views. */
export class HyParView {
  /** Confirmed neighbours and their data. */
  readonly active = new Map<PeerId, PeerData | undefined>();
  /** Known peers to replace failed neighbours with. */
  readonly passive = new Map<PeerId, PeerData | undefined>();
  /** Our own JOIN/NEIGHBOR requests awaiting a NEIGHBOR_REPLY. */
  readonly pending = new Map<PeerId, Priority | 'join'>();
  /** When a passive peer was last asked, so repair does not ask it again at once. */
  private readonly lastAsked = new Map<PeerId, number>();
  private joinedEmitted = false;
  private repairScheduled = false;
  private shuffleScheduled = false;
  private lastShuffleAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly cfg: HyParViewConfig,
    private readonly ctx: Ctx,
    private readonly hooks: MembershipHooks,
  ) {}

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
      if (p.id === ctx.me || this.uses(p.id)) continue;
      this.pending.set(p.id, 'join');
      this.lastAsked.set(p.id, ctx.now);
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

  /** §4.2: the contact accepts the joiner and starts one random walk per other neighbour. */
  private onJoin(from: PeerId, data: PeerData | undefined): void {
    const ctx = this.ctx;
    ctx.send(from, this.withData({ type: 'neighbor-reply', accepted: true }));
    this.addActive(from, data);
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

  /** §4.2: the walk ends at ttl 0 or at a node with no other neighbour; at PRWL it fills a passive view. */
  private onForwardJoin(from: PeerId, peer: PeerId, data: PeerData | undefined, ttl: number): void {
    const ctx = this.ctx;
    if (peer === ctx.me) return;
    if (ttl > 0 && this.active.size > 1) {
      if (ttl === this.cfg.passiveRandomWalkLength) this.addPassive(peer, data);
      const next = pick(ctx.rng, this.activeExcept(from, peer));
      if (next !== undefined) {
        ctx.send(next, { type: 'forward-join', peer, ttl: ttl - 1, ...(data === undefined ? {} : { data }) });
        return;
      }
    }
    if (!this.uses(peer)) this.requestNeighbor(peer, data, 'high');
  }

  /** §4.3: high priority is always accepted; low only while a slot is free. */
  private onNeighbor(from: PeerId, priority: Priority, data: PeerData | undefined): void {
    const ctx = this.ctx;
    if (this.active.has(from) || priority === 'high' || this.active.size < this.cfg.activeViewCapacity) {
      ctx.send(from, this.withData({ type: 'neighbor-reply', accepted: true }));
      this.addActive(from, data);
    } else {
      ctx.send(from, this.withData({ type: 'neighbor-reply', accepted: false }));
      this.addPassive(from, data);
    }
  }

  private onNeighborReply(from: PeerId, accepted: boolean, data: PeerData | undefined): void {
    const ctx = this.ctx;
    if (!this.pending.delete(from)) {
      // A late answer to a request that timed out (its timer also counts the dial and the handshake,
      // which a loaded machine or a long path can stretch). The peer has already added us: with a
      // free slot, take it (saying no would show its app a neighbour that comes and goes within
      // milliseconds); without one, say no politely so the views stay symmetric.
      ctx.stats.unexpected++;
      if (accepted && !this.active.has(from)) {
        if (this.active.size < this.cfg.activeViewCapacity) {
          this.addActive(from, data);
          return;
        }
        ctx.send(from, { type: 'disconnect', alive: true });
        ctx.release(from);
      }
      return;
    }
    if (accepted) {
      this.addActive(from, data);
    } else {
      this.addPassive(from, data);
      ctx.release(from);
      this.repair();
    }
  }

  /** §4.3: the peer dropped us; `alive` says it stays a candidate. */
  private onDisconnect(from: PeerId, alive: boolean): void {
    const wasPending = this.pending.delete(from);
    const data = this.active.get(from) ?? this.passive.get(from);
    if (this.active.has(from)) this.removeActive(from, 'disconnected-by-peer');
    else if (!wasPending) this.ctx.stats.unexpected++;
    if (alive) this.addPassive(from, data);
    else this.passive.delete(from);
    this.ctx.release(from);
    this.repair();
  }

  /** §4.4: forward the walk, or answer the origin with a passive sample and merge its sample. */
  private onShuffle(
    from: PeerId,
    origin: PeerId,
    originData: PeerData | undefined,
    ttl: number,
    peers: PeerInfo[],
  ): void {
    const ctx = this.ctx;
    if (origin === ctx.me) return;
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
    for (const p of peers) this.addPassive(p.id, p.data);
    if (!this.uses(from)) this.ctx.release(from);
    this.repair();
  }

  // --- views -------------------------------------------------------------------------------------

  private addActive(peer: PeerId, data: PeerData | undefined): void {
    const ctx = this.ctx;
    if (peer === ctx.me) return;
    if (this.active.has(peer)) {
      if (data !== undefined) this.active.set(peer, data);
      return;
    }
    const known = data ?? this.passive.get(peer);
    this.passive.delete(peer);
    this.pending.delete(peer);
    if (this.active.size >= this.cfg.activeViewCapacity) {
      // §4.1: make room by dropping a random neighbour, which stays a passive candidate; but never
      // one of the newest (the map keeps insertion order). A contact that many peers JOIN at once
      // (peers starting together, all finding the same few records) otherwise evicts the peer it
      // accepted a moment ago, whose join then fails before its forward walks brought it others.
      const all = [...this.active.keys()];
      const victim = pick(ctx.rng, all.slice(0, Math.max(1, all.length - EVICTION_SHIELD)))!;
      const victimData = this.active.get(victim);
      ctx.send(victim, { type: 'disconnect', alive: true });
      this.removeActive(victim, 'evicted');
      this.addPassive(victim, victimData);
      ctx.release(victim);
    }
    this.active.set(peer, known);
    ctx.emit({ type: 'neighbor-up', peer });
    this.hooks.neighborUp(peer);
    if (!this.joinedEmitted) {
      this.joinedEmitted = true;
      ctx.emit({ type: 'joined' });
    }
  }

  private removeActive(peer: PeerId, cause: NeighborDownCause): void {
    this.active.delete(peer);
    this.ctx.emit({ type: 'neighbor-down', peer, cause });
    this.hooks.neighborDown(peer);
  }

  private addPassive(peer: PeerId, data: PeerData | undefined): void {
    if (peer === this.ctx.me || this.active.has(peer) || this.cfg.passiveViewCapacity === 0) return;
    if (this.passive.has(peer)) {
      if (data !== undefined) this.passive.set(peer, data);
      return;
    }
    if (this.passive.size >= this.cfg.passiveViewCapacity) {
      const candidates = [...this.passive.keys()].filter((p) => !this.pending.has(p));
      const victim = pick(this.ctx.rng, candidates);
      if (victim === undefined) return;
      this.passive.delete(victim);
      this.lastAsked.delete(victim);
    }
    this.passive.set(peer, data);
  }

  private requestNeighbor(peer: PeerId, data: PeerData | undefined, priority: Priority): void {
    const ctx = this.ctx;
    this.pending.set(peer, priority);
    this.lastAsked.set(peer, ctx.now);
    ctx.send(peer, this.withData({ type: 'neighbor', priority }), data ?? this.passive.get(peer));
    ctx.timer(this.cfg.neighborRequestTimeoutMs, { type: 'neighbor-timeout', peer });
  }

  /**
   * §4.3, generalised: while active + pending is below capacity, ask passive peers not asked within
   * `repairIntervalMs`; high priority when the active view is empty. Retries on a timer.
   */
  private repair(): void {
    const ctx = this.ctx;
    const cap = this.cfg.activeViewCapacity;
    if (this.active.size + this.pending.size >= cap) return;
    let waiting = false;
    const candidates: PeerId[] = [];
    for (const p of this.passive.keys()) {
      if (this.pending.has(p)) continue;
      const asked = this.lastAsked.get(p);
      if (asked !== undefined && ctx.now - asked < this.cfg.repairIntervalMs) waiting = true;
      else candidates.push(p);
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

  /** §4.4: send our sample on a random walk through a random neighbour. */
  private shuffle(): void {
    const ctx = this.ctx;
    const target = pick(ctx.rng, [...this.active.keys()]);
    if (target === undefined) return;
    this.lastShuffleAt = ctx.now;
    const peers = [
      ...sample(ctx.rng, this.activeExcept(target), this.cfg.shuffleActiveCount),
      ...sample(ctx.rng, [...this.passive.keys()], this.cfg.shufflePassiveCount),
    ].map((id) => this.info(id));
    ctx.send(target, {
      type: 'shuffle',
      origin: ctx.me,
      ttl: this.cfg.shuffleRandomWalkLength,
      ...(ctx.myData === undefined ? {} : { originData: ctx.myData }),
      peers,
    });
  }

  // --- helpers -----------------------------------------------------------------------------------

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
