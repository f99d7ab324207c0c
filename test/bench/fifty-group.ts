/**
 * One group of peers of bench:join's "fifty at once" scenario: their DHT nodes, their gossip nodes and
 * the topics they join, in the bench's own thread or in a worker thread (`fifty-worker.ts`). The bench
 * splits the peers over groups, starts every group at one instant and assembles the mesh from what the
 * groups report: each peer's neighbour list whenever it changes, and when it joined, stamped with
 * {@link epochNow} (comparable across threads); the run's duration is the bench's to work out.
 */
import type { Dht } from '../../src/dht/index.js';
import { Gossip } from '../../src/net/gossip.js';
import { joinTopic, type TrackedTopic } from '../../src/tracker/join.js';
import { type Busy, busy } from './stats.js';

/** Milliseconds since the unix epoch, sub-millisecond, on a clock every thread of the process shares. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

export type GroupEvent =
  /** `id`'s neighbours changed; `neighbors` is the whole list now. */
  { type: 'adj'; id: string; neighbors: string[]; at: number } | { type: 'joined'; id: string; at: number };

/** What a group reports of one run, once asked (`finish`). Times are ms since the run's start. */
export interface GroupSummary {
  peers: number;
  dhtLookups: number;
  dhtQueries: number;
  joinAttempts: number;
  maxPasses: number;
  /** Σ over the gossip nodes. */
  dialsStarted: number;
  dialsFailed: number;
  inbound: number;
  handshakeFailures: number;
  /** Bootstrap dials (tracker `dial` events), and how long those that became a neighbour took. */
  dials: number;
  dialUpMs: number[];
  reads: number;
  publishes: number;
  publishFailures: number;
  /** Per peer: its own bootstrap time (`stats.tracker.joinedAfterMs`), first finished read, first dial. */
  joinedAfterMs: number[];
  firstReadDoneMs: number[];
  firstDialMs: number[];
  /** How long this thread's event loop was busy during the run (`eventLoopUtilization().active`). */
  loopActiveMs: number;
  /** This thread's event loop delay during the run. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

const LISTEN = { host: '127.0.0.1', port: 0 };

/** Peers on the given DHT nodes (one each); one run at a time: `prepare`, `go`, `finish`. */
export class PeerGroup {
  readonly #dhts: readonly Dht[];
  readonly #emit: (e: GroupEvent) => void;
  #topic = '';
  #gossips: Gossip[] = [];
  #peers: TrackedTopic[] = [];
  #lookups0 = 0;
  #queries0 = 0;
  #dials: { peer: number; to: string; at: number; upMs?: number }[] = [];
  #firstReadDone: number[] = [];
  #firstDial: number[] = [];
  /** Stops this thread's busy measure of the run under way (`stats.ts`). */
  #busy: (() => Busy) | undefined;
  #elu = performance.eventLoopUtilization();

  constructor(dhts: readonly Dht[], emit: (e: GroupEvent) => void) {
    this.#dhts = dhts;
    this.#emit = emit;
  }

  /** Creates the run's gossip nodes (before its clock starts: a real peer's node is up already). */
  async prepare(topic: string): Promise<void> {
    this.#topic = topic;
    this.#gossips = await Promise.all(this.#dhts.map(() => Gossip.create({ listen: LISTEN })));
  }

  /** Starts every peer now; `t0` is the run's start ({@link epochNow}) that the times count from. */
  async go(t0: number): Promise<void> {
    this.#lookups0 = this.#sum('lookups');
    this.#queries0 = this.#sum('queriesSent');
    this.#dials = [];
    this.#firstReadDone = [];
    this.#firstDial = [];
    this.#busy = busy();
    this.#elu = performance.eventLoopUtilization();
    this.#peers = await Promise.all(
      this.#gossips.map((gossip, i) => joinTopic(this.#topic, { dht: this.#dhts[i]!, gossip, wait: false })),
    );
    this.#peers.forEach((p, i) => {
      let joined = false;
      const adj = () => this.#emit({ type: 'adj', id: p.id, neighbors: p.neighbors(), at: epochNow() });
      p.on('neighbor-up', (id) => {
        // Joined is `isJoined()`: the topic's first neighbour ever (it stays joined if it drops to 0).
        if (!joined) {
          joined = true;
          this.#emit({ type: 'joined', id: p.id, at: epochNow() });
        }
        adj();
        for (const d of this.#dials) if (d.peer === i && d.to === id) d.upMs ??= epochNow() - d.at;
      });
      p.on('neighbor-down', adj);
      p.on('status', (e) => {
        if (e.type === 'dial') {
          this.#dials.push({ peer: i, to: e.peer, at: epochNow() });
          this.#firstDial[i] ??= epochNow() - t0;
        }
        if (e.type === 'read-done') this.#firstReadDone[i] ??= epochNow() - t0;
      });
    });
  }

  /** The run's figures; then closes its topics and gossip nodes (the DHT nodes stay for the next run). */
  async finish(): Promise<GroupSummary> {
    const loop = this.#busy?.() ?? { loopDelayP99Ms: 0, loopDelayMaxMs: 0 };
    this.#busy = undefined;
    const peers = this.#peers;
    const t = this.#gossips.map((g) => g.stats.transport);
    const up = this.#dials.flatMap((d) => (d.upMs === undefined ? [] : [d.upMs]));
    const summary: GroupSummary = {
      peers: peers.length,
      dhtLookups: this.#sum('lookups') - this.#lookups0,
      dhtQueries: this.#sum('queriesSent') - this.#queries0,
      joinAttempts: peers.reduce((s, p) => s + p.stats.tracker.joinAttempts, 0),
      maxPasses: Math.max(0, ...peers.map((p) => p.stats.tracker.passes)),
      dialsStarted: t.reduce((s, x) => s + x.dialsStarted, 0),
      dialsFailed: t.reduce((s, x) => s + x.dialsFailed, 0),
      inbound: t.reduce((s, x) => s + x.inboundAccepted, 0),
      handshakeFailures: t.reduce(
        (s, x) => s + Object.values(x.handshakeFailures).reduce((a, b) => a + b, 0),
        0,
      ),
      dials: this.#dials.length,
      dialUpMs: up,
      reads: peers.reduce((s, p) => s + p.stats.tracker.reads, 0),
      publishes: peers.reduce((s, p) => s + p.stats.tracker.published, 0),
      publishFailures: peers.reduce((s, p) => s + p.stats.tracker.publishFailed, 0),
      joinedAfterMs: peers.flatMap((p) => p.stats.tracker.joinedAfterMs ?? []),
      firstReadDoneMs: this.#firstReadDone.filter((v) => v !== undefined),
      firstDialMs: this.#firstDial.filter((v) => v !== undefined),
      loopActiveMs: performance.eventLoopUtilization(this.#elu).active,
      loopDelayP99Ms: loop.loopDelayP99Ms,
      loopDelayMaxMs: loop.loopDelayMaxMs,
    };
    await Promise.allSettled(peers.map((p) => p.close()));
    await Promise.allSettled(this.#gossips.map((g) => g.close()));
    this.#peers = [];
    this.#gossips = [];
    return summary;
  }

  #sum(key: 'lookups' | 'queriesSent'): number {
    return this.#dhts.reduce((s, d) => s + d.stats[key], 0);
  }
}
