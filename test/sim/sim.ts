/**
 * Deterministic discrete-event simulator of the gossip core: a virtual clock, a binary
 * heap of deliveries and timers, a fixed latency per link (uniform in [latencyMinMs, latencyMaxMs],
 * derived from the seed, so every link is FIFO like a TCP stream), seeded randomness, and helpers to
 * kill nodes, cut links and partition the network.
 *
 * Failure model (what the transport would report): when a node dies, every live node whose core uses
 * a link to it gets `peer-disconnected`/`closed` one link latency later; a send to a dead or cut peer
 * is dropped and the sender gets `dial-failed` after two link latencies (a refused connection).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { DeadlineHeap } from '../../src/proto/heap.js';
import {
  createRng,
  decodeFrame,
  encodeFrame,
  GossipNode,
  type InEvent,
  type OutEvent,
  type PeerId,
  type ProtoOptions,
  type Rng,
  type SignFn,
  type TopicKey,
  type VerifyFn,
} from '../../src/proto/index.js';

/** The SEED environment variable, or a fixed default. */
export const DEFAULT_SEED = Number(process.env.SEED ?? 1);

export interface SimOptions {
  seed?: number;
  latencyMinMs?: number;
  latencyMaxMs?: number;
  config?: ProtoOptions;
  /** 'fake': a cheap hash "signature" (default); 'ed25519': real keys; 'off': signatures disabled. */
  signatures?: 'fake' | 'ed25519' | 'off';
  /** Round-trip every message through the wire codec (slower; for small scenarios). */
  wire?: boolean;
  /** Record a human-readable trace of every in- and out-event. */
  trace?: boolean;
  /** Bytes of each broadcast payload (at least 4: the tag). */
  payloadBytes?: number;
  /** Address group of node `i` (`GossipNodeOptions.netGroup`); absent: every node is exempt. */
  netGroup?: (i: number) => string | undefined;
}

interface QueueItem {
  at: number;
  node: number;
  event: InEvent;
  /** Encoded frame when `wire` is on. */
  frame?: Uint8Array;
}

/** Per-broadcast measurements. */
export interface MessageRecord {
  tag: number;
  sender: number;
  sentAt: number;
  delivered: Uint8Array;
  deliveredCount: number;
  payloads: number;
  maxHops: number;
}

export const TOPIC: TopicKey = bytesToHex(sha256(new TextEncoder().encode('sim-topic')));

/** A cheap stand-in for ed25519 in big runs: 64 bytes = sha256(origin || message) twice. */
export function fakeSigner(origin: Uint8Array): { sign: SignFn; verify: VerifyFn } {
  const sig = (o: Uint8Array, m: Uint8Array): Uint8Array => {
    const h = sha256(new Uint8Array([...o, ...m]));
    const out = new Uint8Array(64);
    out.set(h);
    out.set(h, 32);
    return out;
  };
  return {
    sign: (m) => sig(origin, m),
    verify: (o, m, s) => {
      const e = sig(o, m);
      if (s.length !== 64) return false;
      for (let i = 0; i < 64; i++) if (e[i] !== s[i]) return false;
      return true;
    },
  };
}

const edVerify: VerifyFn = (o, m, s) => {
  try {
    return ed25519.verify(s, m, o);
  } catch {
    return false;
  }
};

export class Sim {
  now = 0;
  readonly nodes: GossipNode[] = [];
  readonly ids: PeerId[] = [];
  readonly alive: boolean[] = [];
  readonly index = new Map<PeerId, number>();
  readonly rng: Rng;
  readonly trace: string[] = [];
  readonly messages: MessageRecord[] = [];
  /** Sends by message type, all traffic. */
  readonly sent = new Map<string, number>();
  /** `ban-peer` out-events: who banned whom, when and why. */
  readonly bans: Array<{ at: number; by: number; peer: PeerId; reason: string }> = [];
  /** Deliveries of app events per node, for tests that look at them. */
  onEmit: ((node: number, event: OutEvent & { type: 'emit' }) => void) | undefined;
  private readonly queue = new DeadlineHeap<QueueItem>();
  private readonly seed: number;
  private readonly latMin: number;
  private readonly latMax: number;
  private readonly opts: SimOptions;
  private readonly cuts = new Set<number>();
  private partitionOf: number[] | undefined;
  /** Per (sender, target): until when a `dial-failed` is already on its way (no duplicates). */
  private readonly failPending = new Map<number, number>();
  private readonly joinedTopic: boolean[] = [];

  constructor(opts: SimOptions = {}) {
    this.opts = opts;
    this.seed = opts.seed ?? DEFAULT_SEED;
    this.rng = createRng(this.seed);
    this.latMin = opts.latencyMinMs ?? 10;
    this.latMax = opts.latencyMaxMs ?? 50;
  }

  /** Adds `n` nodes (not yet joined); returns their indices. */
  addNodes(n: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < n; k++) {
      const i = this.nodes.length;
      const seed = sha256(new TextEncoder().encode(`sim-node/${this.seed}/${i}`));
      const mode = this.opts.signatures ?? 'fake';
      const me = mode === 'ed25519' ? ed25519.getPublicKey(seed) : seed;
      const signer =
        mode === 'ed25519'
          ? { sign: (m: Uint8Array) => ed25519.sign(m, seed), verify: edVerify }
          : mode === 'fake'
            ? fakeSigner(me)
            : {};
      const base = this.opts.config ?? {};
      const config: ProtoOptions =
        mode === 'off' ? { ...base, plumtree: { ...(base.plumtree ?? {}), signatures: false } } : base;
      const group = this.opts.netGroup;
      const node = new GossipNode({
        me,
        rng: createRng((this.seed * 7919 + i * 104_729) >>> 0),
        config,
        ...signer,
        ...(group === undefined
          ? {}
          : {
              netGroup: (peer: PeerId) => {
                const j = this.index.get(peer);
                return j === undefined ? undefined : group(j);
              },
            }),
      });
      this.nodes.push(node);
      this.ids.push(node.id);
      this.alive.push(true);
      this.joinedTopic.push(false);
      this.index.set(node.id, i);
      out.push(i);
    }
    return out;
  }

  /** Short name of a node for traces. */
  name(i: number): string {
    return `n${i}`;
  }

  // --- driving -----------------------------------------------------------------------------------

  /** Delivers `event` to node `i` now (synchronously), executing its out-events. */
  inject(i: number, event: InEvent): void {
    if (!this.alive[i]) return;
    if (this.opts.trace) this.trace.push(`${this.stamp()} ${this.name(i)} <- ${this.describeIn(event)}`);
    const out = this.nodes[i]!.handle(event, this.now);
    for (const e of out) this.execute(i, e);
  }

  join(i: number, contacts: number[]): void {
    this.joinedTopic[i] = true;
    this.inject(i, {
      type: 'command',
      topic: TOPIC,
      command: { type: 'join', peers: contacts.map((c) => ({ id: this.ids[c]! })) },
    });
  }

  /** Broadcasts a tagged payload from node `i`; returns its record. */
  broadcast(i: number, scope: 'swarm' | 'neighbors' = 'swarm'): MessageRecord {
    const tag = this.messages.length;
    const content = new Uint8Array(Math.max(4, this.opts.payloadBytes ?? 32));
    new DataView(content.buffer).setUint32(0, tag);
    const rec: MessageRecord = {
      tag,
      sender: i,
      sentAt: this.now,
      delivered: new Uint8Array(this.nodes.length),
      deliveredCount: 0,
      payloads: 0,
      maxHops: 0,
    };
    this.messages.push(rec);
    this.inject(i, {
      type: 'command',
      topic: TOPIC,
      command: { type: scope === 'swarm' ? 'broadcast' : 'broadcast-neighbors', content },
    });
    return rec;
  }

  /** Broadcasts raw `content` (no tag bookkeeping). */
  broadcastRaw(i: number, content: Uint8Array): void {
    this.inject(i, { type: 'command', topic: TOPIC, command: { type: 'broadcast', content } });
  }

  /** Runs every event due up to `t` and sets the clock to `t`. */
  runUntil(t: number): void {
    for (;;) {
      const top = this.queue.peek();
      if (top === undefined || top.at > t) break;
      this.queue.pop();
      this.now = top.at;
      if (!this.alive[top.node]) continue;
      let event = top.event;
      if (event.type === 'recv') {
        const from = this.index.get(event.from)!;
        if (!this.alive[from] || this.isCut(from, top.node)) continue;
        if (top.frame !== undefined) {
          const d = decodeFrame(top.frame);
          if (!d.ok) throw new Error(`sim: own frame failed to decode: ${d.reason}`);
          event = { type: 'recv', from: event.from, topic: d.topic, message: d.message };
        }
      }
      this.inject(top.node, event);
    }
    this.now = Math.max(this.now, t);
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  // --- faults ------------------------------------------------------------------------------------

  /** Kills nodes at once; their live peers learn it one link latency later. */
  kill(indices: number[]): void {
    for (const i of indices) this.alive[i] = false;
    for (const i of indices) {
      const id = this.ids[i]!;
      for (let j = 0; j < this.nodes.length; j++) {
        if (this.alive[j] && this.nodes[j]!.isConnected(id)) {
          this.schedule(j, this.now + this.latency(i, j), {
            type: 'peer-disconnected',
            peer: id,
            cause: 'closed',
          });
        }
      }
    }
  }

  /** Cuts the link between a and b (both directions); connected ends see an error. */
  cutLink(a: number, b: number): void {
    this.cuts.add(this.pairKey(a, b));
    this.notifyCut(a, b);
  }

  /** Splits the network into groups; links across groups are cut. */
  partition(groups: number[][]): void {
    const of = new Array<number>(this.nodes.length).fill(-1);
    groups.forEach((g, k) => {
      for (const i of g) of[i] = k;
    });
    this.partitionOf = of;
    for (let a = 0; a < this.nodes.length; a++) {
      for (const peer of this.nodes[a]!.activeView(TOPIC)) {
        const b = this.index.get(peer)!;
        if (this.isCut(a, b)) this.notifyCut(a, b);
      }
    }
  }

  /** Removes every cut and partition. */
  heal(): void {
    this.cuts.clear();
    this.partitionOf = undefined;
  }

  // --- observations ------------------------------------------------------------------------------

  liveMembers(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.nodes.length; i++) if (this.alive[i] && this.joinedTopic[i]) out.push(i);
    return out;
  }

  /** Active-view sizes of live members, counting live neighbours only (a dead one is not yet noticed). */
  activeSizes(): number[] {
    return this.liveMembers().map((i) => {
      let n = 0;
      for (const p of this.nodes[i]!.activeView(TOPIC)) if (this.alive[this.index.get(p)!]) n++;
      return n;
    });
  }

  /** Number of connected components of the (undirected) active-view graph over live members. */
  components(): number {
    const members = this.liveMembers();
    const seen = new Set<number>();
    const adj = new Map<number, number[]>();
    for (const i of members) adj.set(i, []);
    for (const i of members) {
      for (const p of this.nodes[i]!.activeView(TOPIC)) {
        const j = this.index.get(p)!;
        if (!adj.has(j)) continue;
        adj.get(i)!.push(j);
        adj.get(j)!.push(i);
      }
    }
    let count = 0;
    for (const s of members) {
      if (seen.has(s)) continue;
      count++;
      const stack = [s];
      seen.add(s);
      while (stack.length > 0) {
        const x = stack.pop()!;
        for (const y of adj.get(x)!) {
          if (!seen.has(y)) {
            seen.add(y);
            stack.push(y);
          }
        }
      }
    }
    return count;
  }

  /** Live members (other than the sender) that never got message `rec`. */
  missed(rec: MessageRecord): number {
    let n = 0;
    for (const i of this.liveMembers()) if (i !== rec.sender && rec.delivered[i] === 0) n++;
    return n;
  }

  // --- internals ---------------------------------------------------------------------------------

  private execute(i: number, e: OutEvent): void {
    if (this.opts.trace) this.trace.push(`${this.stamp()} ${this.name(i)} -> ${this.describeOut(e)}`);
    switch (e.type) {
      case 'send': {
        const m = e.message;
        this.sent.set(m.type, (this.sent.get(m.type) ?? 0) + 1);
        if (m.type === 'gossip' && m.scope === 'swarm' && m.content.length >= 4) {
          const rec = this.messages[new DataView(m.content.buffer, m.content.byteOffset).getUint32(0)];
          if (rec !== undefined) rec.payloads++;
        }
        const j = this.index.get(e.to);
        if (j === undefined) return;
        if (!this.alive[j] || this.isCut(i, j)) {
          const key = i * 1_000_003 + j;
          if ((this.failPending.get(key) ?? -1) < this.now) {
            const at = this.now + 2 * this.latency(i, j);
            this.failPending.set(key, at);
            this.schedule(i, at, {
              type: 'peer-disconnected',
              peer: e.to,
              cause: 'dial-failed',
            });
          }
          return;
        }
        const item: QueueItem = {
          at: this.now + this.latency(i, j),
          node: j,
          event: { type: 'recv', from: this.ids[i]!, topic: e.topic, message: m },
        };
        if (this.opts.wire) item.frame = encodeFrame(e.topic, m);
        this.queue.push(item.at, item);
        return;
      }
      case 'emit': {
        const ev = e.event;
        if (ev.type === 'received' && ev.scope === 'swarm' && ev.content.length >= 4) {
          const rec = this.messages[new DataView(ev.content.buffer, ev.content.byteOffset).getUint32(0)];
          if (rec !== undefined && rec.delivered[i] === 0) {
            rec.delivered[i] = 1;
            rec.deliveredCount++;
            if (ev.hops > rec.maxHops) rec.maxHops = ev.hops;
          }
        }
        this.onEmit?.(i, e);
        return;
      }
      case 'schedule-timer':
        this.schedule(i, this.now + e.delayMs, { type: 'timer-expired', topic: e.topic, timer: e.timer });
        return;
      case 'disconnect-peer':
        return;
      case 'ban-peer':
        this.bans.push({ at: this.now, by: i, peer: e.peer, reason: e.reason });
        return;
    }
  }

  private schedule(node: number, at: number, event: InEvent): void {
    this.queue.push(at, { at, node, event });
  }

  private notifyCut(a: number, b: number): void {
    const at = this.now + this.latency(a, b);
    if (this.alive[a] && this.nodes[a]!.isConnected(this.ids[b]!)) {
      this.schedule(a, at, { type: 'peer-disconnected', peer: this.ids[b]!, cause: 'error' });
    }
    if (this.alive[b] && this.nodes[b]!.isConnected(this.ids[a]!)) {
      this.schedule(b, at, { type: 'peer-disconnected', peer: this.ids[a]!, cause: 'error' });
    }
  }

  private isCut(a: number, b: number): boolean {
    if (this.cuts.size > 0 && this.cuts.has(this.pairKey(a, b))) return true;
    const p = this.partitionOf;
    return p !== undefined && p[a] !== p[b];
  }

  private pairKey(a: number, b: number): number {
    return a < b ? a * 1_000_003 + b : b * 1_000_003 + a;
  }

  /** Fixed latency of the link {a, b}, uniform in [min, max], from an integer hash of the pair and seed. */
  latency(a: number, b: number): number {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi + 0x7f4a7c15, 0xc2b2ae35) ^ this.seed;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h = (h ^ (h >>> 16)) >>> 0;
    return Math.round(this.latMin + (h / 0x1_0000_0000) * (this.latMax - this.latMin));
  }

  private stamp(): string {
    return `t=${this.now}`;
  }

  private short(id: PeerId): string {
    const i = this.index.get(id);
    return i === undefined ? id.slice(0, 8) : this.name(i);
  }

  private describeIn(e: InEvent): string {
    switch (e.type) {
      case 'recv':
        return `recv ${this.short(e.from)} ${this.describeMessage(e.message)}`;
      case 'command':
        return `command ${e.command.type}${e.command.type === 'join' ? ` [${e.command.peers.map((p) => this.short(p.id)).join(',')}]` : ''}`;
      case 'timer-expired':
        return `timer ${this.describeTimer(e.timer)}`;
      case 'peer-disconnected':
        return `peer-disconnected ${this.short(e.peer)} ${e.cause}`;
    }
  }

  private describeTimer(t: import('../../src/proto/index.js').Timer): string {
    return t.type === 'neighbor-timeout'
      ? `${t.type} ${this.short(t.peer)}`
      : t.type === 'graft'
        ? 'graft'
        : t.type;
  }

  private describeMessage(m: import('../../src/proto/index.js').Message): string {
    switch (m.type) {
      case 'forward-join':
        return `forward-join ${this.short(m.peer)} ttl=${m.ttl}`;
      case 'neighbor':
        return `neighbor ${m.priority}`;
      case 'neighbor-reply':
        return `neighbor-reply ${m.accepted ? 'accepted' : 'rejected'}`;
      case 'disconnect':
        return `disconnect alive=${m.alive}`;
      case 'shuffle':
        return `shuffle origin=${this.short(m.origin)} ttl=${m.ttl} [${m.peers.map((p) => this.short(p.id)).join(',')}]`;
      case 'shuffle-reply':
        return `shuffle-reply [${m.peers.map((p) => this.short(p.id)).join(',')}]`;
      case 'gossip':
        return `gossip origin=${this.short(m.origin)} hops=${m.hops}${m.scope === 'neighbors' ? ' neighbors' : ''}`;
      case 'ihave':
        return `ihave x${m.entries.length} hops=${m.entries.map((e) => e.hops).join(',')}`;
      case 'graft':
        return m.id === undefined ? 'graft (no id)' : 'graft';
      default:
        return m.type;
    }
  }

  private describeOut(e: OutEvent): string {
    switch (e.type) {
      case 'send':
        return `send ${this.short(e.to)} ${this.describeMessage(e.message)}`;
      case 'emit': {
        const ev = e.event;
        if (ev.type === 'neighbor-up') return `emit neighbor-up ${this.short(ev.peer)}`;
        if (ev.type === 'neighbor-down') return `emit neighbor-down ${this.short(ev.peer)} ${ev.cause}`;
        if (ev.type === 'received')
          return `emit received origin=${this.short(ev.origin)} from=${this.short(ev.deliveredFrom)} hops=${ev.hops}`;
        return `emit ${ev.type}`;
      }
      case 'schedule-timer':
        return `timer ${this.describeTimer(e.timer)} +${e.delayMs}`;
      case 'disconnect-peer':
        return `disconnect-peer ${this.short(e.peer)}`;
      case 'ban-peer':
        return `ban-peer ${this.short(e.peer)} ${e.reason}`;
    }
  }
}

export { hexToBytes };
