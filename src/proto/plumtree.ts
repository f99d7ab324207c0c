/**
 * PlumTree broadcast for one topic (Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007),
 * as a pure state machine over the HyParView active view.
 *
 * Every neighbour is either eager (gets payloads) or lazy (gets IHAVE ids). New neighbours start eager
 * (§3.2); a duplicate payload PRUNEs its sender to lazy (§3.3); an id announced by IHAVE whose payload
 * has not come within `graftTimeout1Ms` is asked for with GRAFT, which also makes the link eager (§3.4);
 * a lazy link much shorter in hops than the eager one is swapped in (§3.8).
 *
 * Deviation: a new neighbour is also sent IHAVEs for every payload still in our cache (when
 * `announceCacheToNewNeighbors`). PlumTree alone repairs a loss only through the IHAVEs that follow the
 * payload, so a message broadcast while the overlay was briefly split (a join burst evicting and
 * re-dialing links), or while a node was between neighbours, never reaches the other side: measured
 * with 8 peers broadcasting as their mesh formed, 6–29 of 56 deliveries were lost for good. With the
 * announcement, the link that heals the split also carries the ids, and GRAFT fetches what is missing.
 * Only the newest `maxAnnounceOnNeighborUp` ids are announced, so that the announcement fits the
 * receiver's per-peer missing cap.
 *
 * Hardening against hostile neighbours (PROTOCOL.md §8.4, §8.7; every bound is in `LimitsConfig`):
 * - A GOSSIP passes, in this order: (the node's checks: not banned, from an active neighbour, within
 *   its budget) → cheap field checks → its id → seen ids (a duplicate costs no verification) → when
 *   it comes straight from its origin, the origin's own budget → the negative cache of (id,
 *   signature) pairs that failed → the origin signature, verified on every GOSSIP, also one straight
 *   from its origin, so that a bad signature is always the sender's fault → for a relayed copy, the
 *   origin's budget (so that a flooding origin is throttled at its first honest hop, and a forgery
 *   cannot spend an honest origin's budget).
 * - Every id of an IHAVE costs its sender one message of its budget (the frame paid for the first):
 *   an announcement is charged what the message would be, so a flood of IHAVE frames is throttled,
 *   and then banned, at the rate of messages, not of frames.
 * - Missing ids keep at most `maxAnnouncersPerId` announcers, one entry per peer; a peer may have us
 *   wait for at most `maxMissingPerPeer` ids, all peers for `maxMissing`; entries beyond are ignored,
 *   and once a peer is at its cap the rest of its IHAVE is not iterated at all.
 *   Each missing id has one GRAFT timer, and leaves when its payload comes or its announcers run out.
 * - A GRAFT is answered at most once per (neighbour, id) while the payload is cached, and within the
 *   neighbour's GRAFT byte budget. GRAFTs we send one neighbour pass its GRAFT request budget (an
 *   announcer over it is skipped for the next one), and while that budget is spent its IHAVEs are
 *   ignored: a flood of announcements cannot make us do more than the budget's work for it. An id
 *   whose every announcer is over budget is forgotten, as when they all leave: the burst covers a new
 *   neighbour's whole announcement, and a repair asks each id of several lazy announcers.
 * - A GOSSIP whose signed `sentAt` is more than `maxClockSkewMs` ahead of our clock is dropped
 *   (`clock-skew`) after its signature is checked, and remembered as seen so that it is not fetched
 *   again; it is no strike: an honest relay forwards an origin whose clock is off.
 *
 * Replays (PROTOCOL.md §8.6): a delivery is marked `replay` when it answers a GRAFT of ours (what the
 * eager tree did not bring: a repair, or a newcomer catching up on a neighbour's cache through the
 * announcement above), or when its `sentAt` is more than `replayAfterMs` before our clock. A GRAFT
 * answer is an ordinary GOSSIP frame, so the core remembers the ids it asked for (`grafted`, at most
 * `maxMissing`, oldest forgotten first) until they arrive.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { TokenBucket } from './budget.js';
import type { PlumTreeConfig } from './config.js';
import type { Ctx } from './ctx.js';
import { messageIdBytes, type SignFn, signedMessage, type VerifyFn } from './ids.js';
import {
  assertNever,
  type GossipMessage,
  type IHaveEntry,
  type Message,
  type MessageId,
  type PeerId,
  type Scope,
  type Timer,
} from './types.js';
import {
  GOSSIP_OVERHEAD_BYTES,
  IHAVE_ENTRY_BYTES,
  IHAVE_HEADER_BYTES,
  MAX_HOPS,
  MAX_IHAVE_ENTRIES,
  MAX_SENT_AT,
} from './wire.js';

interface CacheEntry {
  message: GossipMessage;
  size: number;
  expiresAt: number;
  /** Neighbours that got it as a GRAFT answer: each at most once (dropped with the entry). */
  servedTo?: Set<PeerId>;
}
interface SeenEntry {
  expiresAt: number;
  /** Hops we got it with (0 for our own), and from whom: the tree optimisation compares them. */
  hops: number;
  from: PeerId | undefined;
}
interface Announcement {
  peer: PeerId;
  hops: number;
}

/** Sizes of a topic's PlumTree structures (see `GossipNode.sizes`). */
export interface PlumTreeSizes {
  /** Cached payloads and their bytes. */
  cached: number;
  cacheBytes: number;
  /** Seen ids. */
  seen: number;
  /** Missing ids, their announcer entries in all, and the most of one id. */
  missing: number;
  announcers: number;
  mostAnnouncers: number;
  /** Most missing-id announcer entries held by one peer. */
  mostMissingPerPeer: number;
  /** GRAFT timers outstanding (one per id at most). */
  graftTimers: number;
  /** IHAVE entries queued for all peers. */
  ihaveQueued: number;
  /** Remembered bad (id, signature) pairs. */
  badIds: number;
  /** Ids we sent a GRAFT for that have not arrived yet (their delivery is a replay). */
  grafted: number;
  /** Origins with a budget. */
  origins: number;
}

/** Where a node gets its per-origin sequence numbers and signatures. */
export interface Origin {
  nextSeq(): bigint;
  sign: SignFn | undefined;
  verify: VerifyFn | undefined;
}

/** One topic's broadcast tree. */
export class PlumTree {
  readonly eager = new Set<PeerId>();
  readonly lazy = new Set<PeerId>();
  private readonly cache = new Map<MessageId, CacheEntry>();
  private cacheBytes = 0;
  private readonly seen = new Map<MessageId, SeenEntry>();
  /** Ids announced but not received, with their announcers in arrival order (one entry per peer). */
  private readonly missing = new Map<MessageId, Announcement[]>();
  /** How many `missing` announcer entries each peer holds (`maxMissingPerPeer`). */
  private readonly missingPerPeer = new Map<PeerId, number>();
  private readonly graftTimers = new Set<MessageId>();
  /** Ids we asked for with GRAFT and have not received, oldest first (`maxMissing`): replays when they come. */
  private readonly grafted = new Set<MessageId>();
  /** `id || signature` of GOSSIP that failed verification, oldest first (`maxBadIds`). */
  private readonly badIds = new Set<string>();
  /**
   * Budgets of the origins seen, oldest first (`maxOrigins`). Forgetting one only gives it a full
   * bucket again, so insertion order is good enough (no LRU bookkeeping on the hot path).
   */
  private readonly origins = new Map<PeerId, { messages: TokenBucket; bytes: TokenBucket }>();
  /** Duplicates in a row per eager neighbour since its last first copy (`pruneAfterDuplicates`). */
  private readonly dupStreak = new Map<PeerId, number>();
  private readonly ihaveQueue = new Map<PeerId, IHaveEntry[]>();
  private dispatchScheduled = false;
  private evictScheduled = false;
  private readonly maxIHaveEntries: number;

  constructor(
    private readonly cfg: PlumTreeConfig,
    private readonly ctx: Ctx,
    private readonly origin: Origin,
    private readonly neighbors: () => Iterable<PeerId>,
  ) {
    this.maxIHaveEntries = Math.min(
      MAX_IHAVE_ENTRIES,
      Math.floor((cfg.maxMessageBytes - IHAVE_HEADER_BYTES) / IHAVE_ENTRY_BYTES),
    );
  }

  /** Largest broadcast payload that fits `maxMessageBytes` once framed and signed. */
  get maxContentBytes(): number {
    return this.cfg.maxMessageBytes - GOSSIP_OVERHEAD_BYTES;
  }

  /** §3.2: a new neighbour starts eager; it hears of our newest cached payloads (see the module comment). */
  neighborUp(peer: PeerId): void {
    this.lazy.delete(peer);
    this.eager.add(peer);
    const max = this.ctx.limits.maxAnnounceOnNeighborUp;
    if (!this.cfg.announceCacheToNewNeighbors || max === 0) return;
    const now = this.ctx.now;
    // The cache is in insertion order: keep the last `max` live entries.
    const newest: IHaveEntry[] = [];
    for (const [id, e] of this.cache) {
      if (e.expiresAt <= now) continue;
      newest.push({ id, hops: Math.min(e.message.hops + 1, MAX_HOPS) });
      if (newest.length > 2 * max) newest.splice(0, newest.length - max);
    }
    for (const entry of newest.slice(-max)) this.queueIHave(peer, entry);
  }

  neighborDown(peer: PeerId): void {
    this.dupStreak.delete(peer);
    this.eager.delete(peer);
    this.lazy.delete(peer);
    this.ihaveQueue.delete(peer);
    // Its announcements can no longer be grafted: forget them, and ids nobody else announced.
    if ((this.missingPerPeer.get(peer) ?? 0) > 0) {
      for (const [id, list] of this.missing) {
        const i = list.findIndex((a) => a.peer === peer);
        if (i < 0) continue;
        list.splice(i, 1);
        if (list.length === 0) this.missing.delete(id);
      }
    }
    this.missingPerPeer.delete(peer);
  }

  /** Command `broadcast` / `broadcast-neighbors`. */
  broadcast(content: Uint8Array, scope: Scope): void {
    const ctx = this.ctx;
    if (content.length > this.maxContentBytes) {
      ctx.stats.oversizeBroadcasts++;
      return;
    }
    const seq = this.origin.nextSeq();
    // Whole ms within the wire's range, whatever clock the driver passed.
    const sentAt = Math.min(Math.max(Math.floor(ctx.unixNow), 0), MAX_SENT_AT);
    const idBytes = messageIdBytes(ctx.topicBytes, ctx.meBytes, seq, sentAt, scope, content);
    const id = bytesToHex(idBytes);
    const sign = this.cfg.signatures ? this.origin.sign : undefined;
    const message: GossipMessage = { type: 'gossip', origin: ctx.me, seq, sentAt, scope, hops: 1, content };
    if (sign !== undefined) message.signature = sign(signedMessage(idBytes));
    this.markSeen(id, 0, undefined);
    ctx.emit({ type: 'sent', id, content, scope });
    if (scope === 'neighbors') {
      for (const peer of this.neighbors()) this.sendPayload(peer, message);
      return;
    }
    this.store(id, { ...message, hops: 0 });
    for (const peer of this.eager) this.sendPayload(peer, message);
    for (const peer of this.lazy) this.queueIHave(peer, { id, hops: 1 });
  }

  /** A broadcast message from neighbour `from`. */
  onMessage(from: PeerId, m: Message): void {
    switch (m.type) {
      case 'gossip':
        this.onGossip(from, m);
        return;
      case 'ihave':
        this.onIHave(from, m.entries);
        return;
      case 'graft':
        this.onGraft(from, m.id);
        return;
      case 'prune':
        this.dupStreak.delete(from);
        if (this.eager.delete(from)) this.lazy.add(from);
        return;
      case 'join':
      case 'forward-join':
      case 'neighbor':
      case 'neighbor-reply':
      case 'disconnect':
      case 'shuffle':
      case 'shuffle-reply':
        return; // HyParView's
      default:
        assertNever(m);
    }
  }

  /** A PlumTree timer. */
  onTimer(timer: Timer): void {
    switch (timer.type) {
      case 'ihave-dispatch':
        this.dispatchScheduled = false;
        this.dispatch();
        return;
      case 'graft':
        this.graft(timer.id);
        return;
      case 'cache-evict':
        this.evictScheduled = false;
        this.evict();
        return;
      case 'neighbor-timeout':
      case 'repair':
      case 'shuffle':
        return; // HyParView's
      default:
        assertNever(timer);
    }
  }

  // --- messages ----------------------------------------------------------------------------------

  /** Every GOSSIP frame leaves through here, so `payloadsSent` counts them all. */
  private sendPayload(peer: PeerId, message: GossipMessage): void {
    this.ctx.stats.payloadsSent++;
    this.ctx.send(peer, message);
  }

  private isNeighbor(peer: PeerId): boolean {
    return this.eager.has(peer) || this.lazy.has(peer);
  }

  private onGossip(from: PeerId, m: GossipMessage): void {
    const ctx = this.ctx;
    // Cheap field checks first: neighbour-scope messages are never relayed, so they come from their origin.
    if (m.hops < 1 || (m.scope === 'neighbors' && from !== m.origin)) {
      ctx.stats.invalidMessage++;
      return;
    }
    const originBytes = m.origin === ctx.me ? ctx.meBytes : hexToBytes(m.origin);
    const idBytes = messageIdBytes(ctx.topicBytes, originBytes, m.seq, m.sentAt, m.scope, m.content);
    const id = bytesToHex(idBytes);
    if (this.seen.has(id)) {
      // §3.3: a duplicate means two eager paths; the later one becomes lazy.
      // PRUNE even when `from` is already lazy here: its side still thinks we are eager (a PRUNE of
      // ours crossed a payload of its), and only a PRUNE stops it.
      ctx.stats.duplicates++;
      if (m.scope === 'swarm' && this.eager.has(from)) {
        // Deviation (see DEFAULT_PRUNE_AFTER_DUPLICATES): an eager neighbour is pruned only after a
        // streak of duplicates.
        const streak = (this.dupStreak.get(from) ?? 0) + 1;
        if (streak < this.cfg.pruneAfterDuplicates) {
          this.dupStreak.set(from, streak);
          return;
        }
      }
      if (m.scope === 'swarm' && this.isNeighbor(from)) {
        this.dupStreak.delete(from);
        this.eager.delete(from);
        this.lazy.add(from);
        ctx.stats.prunesSent++;
        ctx.send(from, { type: 'prune' });
      }
      return;
    }
    if (m.origin === ctx.me) {
      // We never sent it (it would be in `seen`): a replay from before a restart, or a forgery.
      ctx.stats.invalidMessage++;
      return;
    }
    // Straight from its origin (the link proves who sent it), the origin's budget is the sender's own
    // and is checked before the signature, so a flood over it costs no verification. A relayed copy
    // is charged only after: a forgery must not spend an honest origin's budget.
    const direct = from === m.origin;
    if (direct && !this.originBudget(m.origin, m.content.length, from)) {
      this.overOrigin(id, m.hops, from, true);
      return;
    }
    // Every copy is verified, also one straight from its origin: a node that forwarded without
    // checking would pass a forgery on and be blamed for it by the next hop. So a bad signature is
    // always the sender's fault (PROTOCOL.md §8.4), and counts towards its ban.
    if (this.cfg.signatures) {
      if (m.signature === undefined) {
        ctx.stats.unsigned++;
        return;
      }
      // The signature is not part of the id: a forged copy must not make the genuine one look bad.
      if (this.badIds.size > 0 && this.badIds.has(id + bytesToHex(m.signature))) {
        ctx.drop('bad-signature-cached');
        ctx.guard.invalidSignature(from);
        return;
      }
      if (this.origin.verify?.(originBytes, signedMessage(idBytes), m.signature) !== true) {
        ctx.stats.badSignature++;
        if (ctx.limits.maxBadIds > 0) {
          this.badIds.add(id + bytesToHex(m.signature));
          if (this.badIds.size > ctx.limits.maxBadIds) this.badIds.delete(this.badIds.values().next().value!);
        }
        ctx.guard.invalidSignature(from);
        return;
      }
    }
    // After the signature: a forged time is the sender's fault (above), a signed one is the origin's
    // clock, which an honest relay passes on. Seen, so that other copies and IHAVEs of it are ignored.
    if (m.sentAt - ctx.unixNow > ctx.limits.maxClockSkewMs) {
      ctx.drop('clock-skew');
      this.markSeen(id, m.hops, undefined);
      this.forget(id);
      this.grafted.delete(id);
      return;
    }
    if (!direct && !this.originBudget(m.origin, m.content.length, from)) {
      this.overOrigin(id, m.hops, from, false);
      return;
    }
    this.markSeen(id, m.hops, from);
    this.dupStreak.delete(from);
    // PROTOCOL.md §8.6: asked for (a GRAFT answer), or old by the origin's clock.
    const replay = this.grafted.delete(id) || ctx.unixNow - m.sentAt > this.cfg.replayAfterMs;
    ctx.stats.delivered++;
    if (replay) ctx.stats.replays++;
    ctx.emit({
      type: 'received',
      id,
      content: m.content,
      origin: m.origin,
      deliveredFrom: from,
      hops: m.hops,
      scope: m.scope,
      sentAt: m.sentAt,
      replay,
    });
    if (m.scope === 'neighbors') return;

    const announced = this.missing.get(id);
    this.forget(id);
    this.store(id, m);
    // Deviation: §3.4 makes whoever delivers a new payload eager again. With concurrent senders that
    // undoes every PRUNE a payload crosses, and the tree never settles (RMR ≈ 0.9 at N = 100 in the
    // simulator); a GRAFT already makes its link eager, so nothing else needs it.
    if (announced !== undefined) this.optimize(id, from, m.hops, announced);

    const hops = Math.min(m.hops + 1, MAX_HOPS);
    const forward: GossipMessage = { ...m, hops };
    for (const peer of this.eager) if (peer !== from && peer !== m.origin) this.sendPayload(peer, forward);
    for (const peer of this.lazy) if (peer !== from && peer !== m.origin) this.queueIHave(peer, { id, hops });
  }

  /**
   * A GOSSIP over its origin's budget: remembered as seen, so that IHAVEs and other copies of it do not
   * bring it back (and no GRAFT asks for it). Straight from the origin, the flood is the sender's: a
   * strike.
   */
  private overOrigin(id: MessageId, hops: number, from: PeerId, direct: boolean): void {
    const ctx = this.ctx;
    ctx.drop('origin-over-budget');
    this.markSeen(id, hops, undefined);
    this.forget(id);
    this.grafted.delete(id);
    if (direct) ctx.guard.overBudget(from, ctx.now);
  }

  /**
   * Charges one message of `bytes` content, received from `from`, to `origin`'s budget. A new budget
   * starts empty when the origin sends straight and is penalized (its address group had a ban:
   * budget.ts), so that a fresh identity gets no burst of broadcasts either.
   */
  private originBudget(origin: PeerId, bytes: number, from: PeerId): boolean {
    const ctx = this.ctx;
    const l = ctx.limits;
    let b = this.origins.get(origin);
    if (b === undefined) {
      const start = from === origin && ctx.guard.penalized(from) ? 0 : undefined;
      b = {
        messages: new TokenBucket(l.originMessagesPerSecond, l.originMessageBurst, ctx.now, start),
        bytes: new TokenBucket(l.originBytesPerSecond, l.originByteBurst, ctx.now, start),
      };
      while (this.origins.size >= l.maxOrigins) this.origins.delete(this.origins.keys().next().value!);
      this.origins.set(origin, b);
    }
    const okMessages = b.messages.take(ctx.now);
    const okBytes = b.bytes.take(ctx.now, bytes);
    return okMessages && okBytes;
  }

  /**
   * §3.3–3.4: remember announcers of missing ids and start the GRAFT timer. Each entry is deduplicated
   * by peer and bounded by `maxAnnouncersPerId`, `maxMissingPerPeer` and `maxMissing`.
   */
  private onIHave(from: PeerId, entries: IHaveEntry[]): void {
    const ctx = this.ctx;
    const l = ctx.limits;
    if (!ctx.guard.chargeAnnouncements(from, entries.length - 1, ctx.now)) {
      ctx.drop('over-budget', entries.length);
      return;
    }
    if (ctx.guard.graftAsksSpent(from, ctx.now)) {
      // We could not GRAFT this peer now anyway: its announcements are not worth a timer each.
      ctx.drop('graft-ask-limited', entries.length);
      return;
    }
    let held = this.missingPerPeer.get(from) ?? 0;
    let repeats = 0;
    let full = 0;
    let crowded = 0;
    for (let i = 0; i < entries.length; i++) {
      if (held >= l.maxMissingPerPeer) {
        // Nothing more of this peer's can be kept: the rest of the frame is not looked at (it could
        // only feed the tree optimisation, which this peer's flood does not deserve).
        full += entries.length - i;
        break;
      }
      const e = entries[i]!;
      const seen = this.seen.get(e.id);
      if (seen !== undefined) {
        if (seen.from !== undefined)
          this.optimize(e.id, seen.from, seen.hops, [{ peer: from, hops: e.hops }]);
        continue;
      }
      let list = this.missing.get(e.id);
      if (list?.some((a) => a.peer === from)) {
        repeats++;
        continue;
      }
      if (list !== undefined && list.length >= l.maxAnnouncersPerId) {
        crowded++;
        continue;
      }
      if (list === undefined && this.missing.size >= l.maxMissing) {
        full++;
        continue;
      }
      if (list === undefined) {
        list = [];
        this.missing.set(e.id, list);
      }
      list.push({ peer: from, hops: e.hops });
      held++;
      if (!this.graftTimers.has(e.id)) {
        this.graftTimers.add(e.id);
        ctx.timer(this.cfg.graftTimeout1Ms, { type: 'graft', id: e.id });
      }
    }
    if (held > 0) this.missingPerPeer.set(from, held);
    if (repeats > 0) ctx.drop('announce-repeat', repeats);
    if (crowded > 0) ctx.drop('announcers-full', crowded);
    if (full > 0) ctx.drop('missing-full', full);
  }

  /** Forgets missing id `id` and its announcers' share of `maxMissingPerPeer`. */
  private forget(id: MessageId): void {
    const list = this.missing.get(id);
    if (list === undefined) return;
    for (const a of list) this.release(a.peer);
    this.missing.delete(id);
  }

  /** One announcer entry of `peer` left `missing`. */
  private release(peer: PeerId): void {
    const n = this.missingPerPeer.get(peer);
    if (n === undefined) return;
    if (n <= 1) this.missingPerPeer.delete(peer);
    else this.missingPerPeer.set(peer, n - 1);
  }

  /**
   * §3.8: when a lazy neighbour announced the message with `threshold` fewer hops than the eager parent
   * delivered it, make the lazy link eager (GRAFT without id) and the parent lazy (PRUNE).
   */
  private optimize(id: MessageId, parent: PeerId, hops: number, announced: Announcement[]): void {
    const ctx = this.ctx;
    let best: Announcement | undefined;
    for (const a of announced) {
      if (a.peer !== parent && this.lazy.has(a.peer) && (best === undefined || a.hops < best.hops)) best = a;
    }
    if (best === undefined || best.hops + this.cfg.optimizationThreshold >= hops) return;
    ctx.stats.optimizations++;
    this.lazy.delete(best.peer);
    this.eager.add(best.peer);
    ctx.send(best.peer, { type: 'graft' });
    if (this.eager.delete(parent)) {
      this.lazy.add(parent);
      ctx.stats.prunesSent++;
      ctx.send(parent, { type: 'prune' });
    }
    const seen = this.seen.get(id);
    if (seen !== undefined) {
      seen.hops = best.hops;
      seen.from = best.peer;
    }
  }

  /** GRAFT timer: ask the next announcer still a neighbour, then wait `graftTimeout2Ms` for it. */
  private graft(id: MessageId): void {
    const ctx = this.ctx;
    this.graftTimers.delete(id);
    const list = this.missing.get(id);
    if (list === undefined) return;
    let next = list.shift();
    while (next !== undefined && (!this.isNeighbor(next.peer) || !this.mayAsk(next.peer))) {
      this.release(next.peer);
      next = list.shift();
    }
    if (next === undefined) {
      this.missing.delete(id);
      return;
    }
    this.release(next.peer);
    if (list.length === 0) {
      // Last announcer: nobody is left to ask after this GRAFT, so the id need not be kept. A payload
      // answering the GRAFT is a new message like any other.
      this.missing.delete(id);
    }
    this.lazy.delete(next.peer);
    this.eager.add(next.peer);
    ctx.stats.graftsSent++;
    ctx.send(next.peer, { type: 'graft', id });
    if (!this.grafted.has(id)) {
      this.grafted.add(id);
      if (this.grafted.size > ctx.limits.maxMissing) this.grafted.delete(this.grafted.values().next().value!);
    }
    this.graftTimers.add(id);
    ctx.timer(this.cfg.graftTimeout2Ms, { type: 'graft', id });
  }

  /** Whether `peer`'s GRAFT request budget lets us ask it now (taken if so). */
  private mayAsk(peer: PeerId): boolean {
    if (this.ctx.guard.graftAsk(peer, this.ctx.now)) return true;
    this.ctx.drop('graft-ask-limited');
    return false;
  }

  /** §3.4: GRAFT makes the link eager and asks for the payload if an id is given. */
  private onGraft(from: PeerId, id: MessageId | undefined): void {
    const ctx = this.ctx;
    if (!this.isNeighbor(from)) {
      ctx.stats.unexpected++;
      return;
    }
    this.lazy.delete(from);
    this.eager.add(from);
    if (id === undefined) return;
    const entry = this.cache.get(id);
    if (entry === undefined) {
      ctx.stats.graftMisses++;
      return;
    }
    if (entry.servedTo?.has(from)) {
      ctx.drop('graft-repeat');
      return;
    }
    if (!ctx.guard.graftServe(from, entry.size, ctx.now)) {
      ctx.drop('graft-over-budget');
      return;
    }
    entry.servedTo ??= new Set();
    entry.servedTo.add(from);
    this.sendPayload(from, { ...entry.message, hops: Math.min(entry.message.hops + 1, MAX_HOPS) });
  }

  // --- lazy push ---------------------------------------------------------------------------------

  private queueIHave(peer: PeerId, entry: IHaveEntry): void {
    let q = this.ihaveQueue.get(peer);
    if (q === undefined) {
      q = [];
      this.ihaveQueue.set(peer, q);
    }
    if (q.length >= this.ctx.limits.maxIHaveQueuePerPeer) {
      this.ctx.drop('ihave-queue-full');
      return;
    }
    q.push(entry);
    if (!this.dispatchScheduled) {
      this.dispatchScheduled = true;
      this.ctx.timer(this.cfg.ihaveDispatchMs, { type: 'ihave-dispatch' });
    }
  }

  /** Flush queued IHAVEs, batched per peer into frames that fit `maxMessageBytes`. */
  private dispatch(): void {
    for (const [peer, entries] of this.ihaveQueue) {
      if (!this.isNeighbor(peer)) continue;
      for (let i = 0; i < entries.length; i += this.maxIHaveEntries) {
        this.ctx.send(peer, { type: 'ihave', entries: entries.slice(i, i + this.maxIHaveEntries) });
      }
    }
    this.ihaveQueue.clear();
  }

  // --- cache and seen ids ------------------------------------------------------------------------

  private markSeen(id: MessageId, hops: number, from: PeerId | undefined): void {
    this.seen.set(id, { expiresAt: this.ctx.now + this.cfg.seenIdMs, hops, from });
    // Count bound: Map iteration order is insertion order, so the first key is the oldest.
    while (this.seen.size > this.cfg.seenIdCount) this.seen.delete(this.seen.keys().next().value!);
    this.scheduleEvict();
  }

  private store(id: MessageId, message: GossipMessage): void {
    const size = GOSSIP_OVERHEAD_BYTES + message.content.length;
    if (this.cfg.messageCacheMs === 0 || size > this.cfg.messageCacheBytes) return;
    this.cache.set(id, { message, size, expiresAt: this.ctx.now + this.cfg.messageCacheMs });
    this.cacheBytes += size;
    while (this.cacheBytes > this.cfg.messageCacheBytes) {
      const [oldId, old] = this.cache.entries().next().value!;
      this.cache.delete(oldId);
      this.cacheBytes -= old.size;
      this.ctx.stats.cacheEvictedBytes += old.size;
    }
  }

  private scheduleEvict(): void {
    if (this.evictScheduled) return;
    this.evictScheduled = true;
    this.ctx.timer(this.cfg.cacheEvictIntervalMs, { type: 'cache-evict' });
  }

  /** Drop expired entries: both maps are in expiry order (fixed retention, monotonic clock). */
  private evict(): void {
    const now = this.ctx.now;
    for (const [id, e] of this.cache) {
      if (e.expiresAt > now) break;
      this.cache.delete(id);
      this.cacheBytes -= e.size;
    }
    for (const [id, e] of this.seen) {
      if (e.expiresAt > now) break;
      this.seen.delete(id);
    }
    if (this.seen.size > 0 || this.cache.size > 0) this.scheduleEvict();
  }

  /** Sizes of the bounded structures, for tests and stats. */
  sizes(): PlumTreeSizes {
    let announcers = 0;
    let mostAnnouncers = 0;
    for (const list of this.missing.values()) {
      announcers += list.length;
      mostAnnouncers = Math.max(mostAnnouncers, list.length);
    }
    let ihaveQueued = 0;
    for (const q of this.ihaveQueue.values()) ihaveQueued += q.length;
    return {
      cached: this.cache.size,
      cacheBytes: this.cacheBytes,
      seen: this.seen.size,
      missing: this.missing.size,
      announcers,
      mostAnnouncers,
      mostMissingPerPeer: Math.max(0, ...this.missingPerPeer.values()),
      graftTimers: this.graftTimers.size,
      ihaveQueued,
      badIds: this.badIds.size,
      origins: this.origins.size,
      grafted: this.grafted.size,
    };
  }
}
