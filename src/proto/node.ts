/**
 * The gossip core of one node: every topic it holds, each with its own HyParView and PlumTree state,
 * behind one pure entry point `handle(event, now) => OutEvent[]` (ARCHITECTURE.md "Gossip core").
 *
 * A received message passes the node's checks before a protocol sees it (PROTOCOL.md §8.7): its
 * sender is not banned → it fits the sender's budget (neighbours only; strangers have none) → the
 * topic is held → the sender may send that kind (`HyParView.admit`). Bans decided while handling an
 * event (budget overrun, invalid signatures) are carried out at its end, in every topic. The first two
 * checks are also `chargeFrame`, which a driver calls on the frame's size before decoding it, so that
 * a frame over budget costs no decoding and tells the driver how long to stop reading its sender.
 */
import { abytes, bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { GttError } from '../errors.js';
import { Guard } from './budget.js';
import { type ProtoConfig, type ProtoOptions, parseProtoConfig } from './config.js';
import { Ctx, createStats, type NetGroupFn, type ProtoStats } from './ctx.js';
import { HyParView } from './hyparview.js';
import type { SignFn, VerifyFn } from './ids.js';
import { PlumTree, type PlumTreeSizes } from './plumtree.js';
import { nextU64, type Rng } from './rng.js';
import {
  assertNever,
  type BanReason,
  type DropReason,
  type InEvent,
  type OutEvent,
  type PeerData,
  type PeerId,
  type TopicKey,
} from './types.js';
import { frameSize, ID_BYTES } from './wire.js';

const HEX_ID = /^[0-9a-f]{64}$/;
const U64_MASK = (1n << 64n) - 1n;

/** Options of {@link GossipNode}. */
export interface GossipNodeOptions {
  /** This node's id: its 32-byte ed25519 public key, raw or as 64 lower-case hex characters. */
  me: PeerId | Uint8Array;
  /** The only randomness the core uses. */
  rng: Rng;
  /** Protocol parameters; see `config.ts` for the defaults and their sources. */
  config?: ProtoOptions;
  /** Signs our own broadcasts; required while `plumtree.signatures` is on. */
  sign?: SignFn;
  /** Verifies origin signatures; required while `plumtree.signatures` is on. */
  verify?: VerifyFn;
  /** Our own opaque peer data (addresses), sent in JOIN, NEIGHBOR and SHUFFLE. */
  peerData?: PeerData;
  /** First per-origin sequence number; default a random u64 from `rng` (PROTOCOL.md §8.3). */
  seqStart?: bigint;
  /**
   * A peer's address group for the diversity limit `limits.maxActivePerGroup` (the transport uses /24
   * for IPv4, /48 for IPv6, one group per address on loopback); `undefined` exempts the peer. Must be
   * pure and cheap: it is called on every admission decision. Absent: every peer is exempt.
   */
  netGroup?: NetGroupFn;
}

/** Sizes of a topic's bounded structures (ARCHITECTURE.md "Gossip core"), for tests and stats. */
export interface TopicSizes extends PlumTreeSizes {
  active: number;
  passive: number;
  pending: number;
  /** Peers remembered as recently asked. */
  asked: number;
  /** SHUFFLEs of ours awaiting their reply. */
  shufflesAwaitingReply: number;
}

/** One topic's state. */
class TopicState {
  readonly hpv: HyParView;
  readonly plum: PlumTree;

  constructor(
    readonly ctx: Ctx,
    config: ProtoConfig,
    origin: { nextSeq(): bigint; sign: SignFn | undefined; verify: VerifyFn | undefined },
    peers: { up(peer: PeerId): void; down(peer: PeerId): void },
  ) {
    this.plum = new PlumTree(config.plumtree, ctx, origin, () => this.hpv.active.keys());
    this.hpv = new HyParView(config.hyparview, ctx, {
      neighborUp: (p) => {
        this.plum.neighborUp(p);
        peers.up(p);
      },
      neighborDown: (p) => {
        this.plum.neighborDown(p);
        peers.down(p);
      },
    });
  }
}

/** The pure gossip core of one node. */
export class GossipNode {
  /** This node's id (hex). */
  readonly id: PeerId;
  /** Counters. */
  readonly stats: ProtoStats = createStats();
  readonly config: ProtoConfig;
  private readonly idBytes: Uint8Array;
  private readonly rng: Rng;
  private peerData: PeerData | undefined;
  private readonly netGroup: NetGroupFn;
  private readonly guard: Guard;
  private readonly topicStates = new Map<TopicKey, TopicState>();
  /** `handle`'s `unixNow`, for `begin`. */
  private unixNow = 0;
  private readonly origin: { nextSeq(): bigint; sign: SignFn | undefined; verify: VerifyFn | undefined };

  /**
   * @throws {GttError} `INVALID_CONFIG` when the config is invalid, or signatures are on without
   *   `sign` and `verify`.
   * @throws {TypeError} when `me` is neither a string nor a Uint8Array.
   * @throws {RangeError} when `me` is not 32 bytes / 64 lower-case hex characters.
   */
  constructor(opts: GossipNodeOptions) {
    this.config = parseProtoConfig(opts.config);
    if (typeof opts.me === 'string') {
      if (!HEX_ID.test(opts.me))
        throw new RangeError(`"me" expected 64 lower-case hex characters, got "${opts.me}"`);
      this.id = opts.me;
    } else {
      this.id = bytesToHex(abytes(opts.me, ID_BYTES, 'me'));
    }
    this.idBytes = hexToBytes(this.id);
    if (this.config.plumtree.signatures && (opts.sign === undefined || opts.verify === undefined)) {
      throw GttError.invalidConfig('plumtree.signatures is on: "sign" and "verify" are required');
    }
    this.rng = opts.rng;
    this.peerData = opts.peerData;
    this.netGroup = opts.netGroup ?? (() => undefined);
    this.guard = new Guard(this.config.limits);
    let seq = (opts.seqStart ?? nextU64(opts.rng)) & U64_MASK;
    this.origin = {
      nextSeq: () => {
        const s = seq;
        seq = (seq + 1n) & U64_MASK;
        return s;
      },
      sign: opts.sign,
      verify: opts.verify,
    };
  }

  /**
   * Handles one in-event at time `now` (ms, monotonic); returns what to do, in order. `unixNow` is the
   * wall clock at the same instant (unix ms): the send time our broadcasts carry, and what received
   * ones are compared with (PROTOCOL.md §8.6); default `now`, for a driver whose clock is unix time
   * already (the simulator's virtual clock). Timers, budgets and caches use `now` only. Never throws on
   * bad input.
   */
  handle(event: InEvent, now: number, unixNow: number = now): OutEvent[] {
    this.unixNow = unixNow;
    const out: OutEvent[] = [];
    switch (event.type) {
      case 'recv': {
        const from = event.from;
        const refusedFrame =
          event.charged !== true
            ? this.admitFrame(from, event.size ?? frameSize(event.message), now)
            : // Charged by `chargeFrame`; it may have been banned before its turn in the driver's inbox.
              this.guard.isBanned(from, now)
              ? 'banned'
              : undefined;
        if (refusedFrame !== undefined) {
          this.drop(refusedFrame);
          break;
        }
        const t = this.topicStates.get(event.topic);
        if (t === undefined) {
          this.stats.unknownTopic++;
          break;
        }
        this.begin(t, now, out);
        if (from === this.id) {
          this.stats.unexpected++;
          break;
        }
        const refused = t.hpv.admit(from, event.message);
        if (refused !== undefined) {
          this.stats.unexpected++;
          this.drop(refused);
          break;
        }
        t.hpv.onMessage(from, event.message);
        t.plum.onMessage(from, event.message);
        break;
      }
      case 'command': {
        const c = event.command;
        let t = this.topicStates.get(event.topic);
        if (t === undefined) {
          if (c.type !== 'join' || !HEX_ID.test(event.topic)) break;
          t = this.createTopic(event.topic);
        }
        this.begin(t, now, out);
        switch (c.type) {
          case 'join':
            t.hpv.join(c.peers);
            break;
          case 'broadcast':
            t.plum.broadcast(c.content, 'swarm');
            break;
          case 'broadcast-neighbors':
            t.plum.broadcast(c.content, 'neighbors');
            break;
          case 'leave':
            t.hpv.leave();
            this.topicStates.delete(event.topic);
            break;
          default:
            assertNever(c);
        }
        break;
      }
      case 'timer-expired': {
        const t = this.topicStates.get(event.topic);
        if (t === undefined) break; // the topic was left: its timers are stale
        this.begin(t, now, out);
        t.hpv.onTimer(event.timer);
        t.plum.onTimer(event.timer);
        break;
      }
      case 'peer-disconnected':
        for (const t of this.topicStates.values()) {
          this.begin(t, now, out);
          t.hpv.onPeerDisconnected(event.peer, event.cause);
        }
        break;
      default:
        assertNever(event);
    }
    for (const b of this.guard.takeBans()) this.ban(b.peer, b.reason, now, out);
    return this.filterReleases(out);
  }

  /**
   * The node's first checks on a frame of `size` bytes from `from`, before the driver decodes it
   * (PROTOCOL.md §8.7): the sender is not banned, and the frame fits its budget, which is charged. A
   * driver that calls this hands the frame on as `recv` with `charged: true` when `ok`, and drops it
   * undecoded otherwise; `handle` alone does the same checks for a driver that does not.
   *
   * When the frame is over budget, `pauseMs` is how long until the sender's budget holds it again
   * (`Infinity` for a zero refill rate): the driver should stop reading from the sender meanwhile, so
   * that the flood waits in the sender's socket, not in our CPU. `out` carries out any ban the drop
   * decided (`ban-peer`, `disconnect-peer` and the topics' DISCONNECTs), in order. Never throws.
   */
  chargeFrame(from: PeerId, size: number, now: number): { ok: boolean; pauseMs: number; out: OutEvent[] } {
    const refused = this.admitFrame(from, size, now);
    if (refused === undefined) return { ok: true, pauseMs: 0, out: [] };
    this.drop(refused);
    if (refused === 'banned') return { ok: false, pauseMs: 0, out: [] };
    const out: OutEvent[] = [];
    const bans = this.guard.takeBans();
    for (const b of bans) this.ban(b.peer, b.reason, now, out);
    // A banned peer's connection is being closed: nothing to wait for.
    const pauseMs = this.guard.tracks(from) ? this.guard.waitMs(from, size, now) : 0;
    return { ok: false, pauseMs, out: this.filterReleases(out) };
  }

  /** Topics held. */
  topics(): TopicKey[] {
    return [...this.topicStates.keys()];
  }

  /** The active view of `topic` (empty when not held). */
  activeView(topic: TopicKey): PeerId[] {
    return [...(this.topicStates.get(topic)?.hpv.active.keys() ?? [])];
  }

  /** The passive view of `topic` (empty when not held). */
  passiveView(topic: TopicKey): PeerId[] {
    return [...(this.topicStates.get(topic)?.hpv.passive.keys() ?? [])];
  }

  /** Eager and lazy neighbours of `topic`. */
  tree(topic: TopicKey): { eager: PeerId[]; lazy: PeerId[] } {
    const t = this.topicStates.get(topic);
    return { eager: [...(t?.plum.eager ?? [])], lazy: [...(t?.plum.lazy ?? [])] };
  }

  /** Whether our JOIN or NEIGHBOR request to `peer` in `topic` still awaits its answer. */
  isRequesting(topic: TopicKey, peer: PeerId): boolean {
    return this.topicStates.get(topic)?.hpv.pending.has(peer) ?? false;
  }

  /** Whether any topic uses a link to `peer` (active, or a request in flight). */
  isConnected(peer: PeerId): boolean {
    for (const t of this.topicStates.values()) if (t.hpv.uses(peer)) return true;
    return false;
  }

  /**
   * Whether `peer` is banned at `now` (PROTOCOL.md §8.7): the transport may refuse its connections
   * until then (the `ban-peer` out-event says for how long).
   */
  isBanned(peer: PeerId, now: number): boolean {
    return this.guard.isBanned(peer, now);
  }

  /** Sizes of `topic`'s bounded structures (undefined when not held). */
  sizes(topic: TopicKey): TopicSizes | undefined {
    const t = this.topicStates.get(topic);
    return t === undefined ? undefined : { ...t.hpv.sizes(), ...t.plum.sizes() };
  }

  /**
   * Replaces our peer data (the advertised addresses, e.g. once our external address is known): every
   * later JOIN, NEIGHBOR(_REPLY) and SHUFFLE of every topic carries it. Neighbours already joined keep
   * what they have.
   */
  setPeerData(data: PeerData | undefined): void {
    this.peerData = data;
    for (const t of this.topicStates.values()) t.ctx.myData = data;
  }

  /** Node-wide bounded structures: neighbours with budgets, bans and banned groups held (some maybe expired). */
  peerSizes(): { budgets: number; banned: number; bannedGroups: number } {
    return { budgets: this.guard.tracked, banned: this.guard.banned, bannedGroups: this.guard.bannedGroups };
  }

  private createTopic(topic: TopicKey): TopicState {
    const ctx = new Ctx(
      topic,
      hexToBytes(topic),
      this.id,
      this.idBytes,
      this.peerData,
      this.rng,
      this.stats,
      this.config.limits,
      this.guard,
      this.netGroup,
    );
    const t = new TopicState(ctx, this.config, this.origin, {
      up: (p) => {
        if (this.guard.attach(p, ctx.now, this.netGroup(p))) this.stats.emptyBudgetStarts++;
      },
      down: (p) => {
        for (const other of this.topicStates.values()) if (other.hpv.active.has(p)) return;
        this.guard.detach(p, ctx.now);
      },
    });
    this.topicStates.set(topic, t);
    return t;
  }

  /** Bans `peer` in every topic and tells the driver to close and refuse its connection. */
  private ban(peer: PeerId, reason: BanReason, now: number, out: OutEvent[]): void {
    this.stats.bans++;
    this.guard.ban(peer, now, this.netGroup(peer));
    for (const t of this.topicStates.values()) {
      this.begin(t, now, out);
      t.hpv.expel(peer);
    }
    out.push({ type: 'ban-peer', peer, durationMs: this.config.limits.banMs, reason });
    out.push({ type: 'disconnect-peer', peer });
  }

  /**
   * The first checks of a received frame (PROTOCOL.md §8.7): its sender is not banned, and it fits the
   * sender's budget, which is charged (everything a neighbour sends, also what later checks drop).
   */
  private admitFrame(from: PeerId, size: number, now: number): 'banned' | 'over-budget' | undefined {
    this.stats.messagesIn++;
    if (this.guard.isBanned(from, now)) return 'banned';
    return this.guard.charge(from, size, now) ? undefined : 'over-budget';
  }

  private drop(reason: DropReason): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  private begin(t: TopicState, now: number, out: OutEvent[]): void {
    t.ctx.now = now;
    t.ctx.unixNow = this.unixNow;
    t.ctx.out = out;
  }

  /** Drop `disconnect-peer` for peers another topic still uses, and repeats. */
  private filterReleases(out: OutEvent[]): OutEvent[] {
    if (!out.some((e) => e.type === 'disconnect-peer')) return out;
    const done = new Set<PeerId>();
    return out.filter((e) => {
      if (e.type !== 'disconnect-peer') return true;
      if (done.has(e.peer) || this.isConnected(e.peer)) return false;
      done.add(e.peer);
      return true;
    });
  }
}
