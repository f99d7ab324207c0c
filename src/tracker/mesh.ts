/**
 * What the tracker needs from a gossip mesh, and the candidate queue the bootstrap loop dials from.
 *
 * `joinTopic` backs a {@link Mesh} with our own gossip topic; `discoverPeers` backs it with the app's
 * callbacks, so apps that bring their own gossip or transport get the same bootstrap loop, publisher and
 * merges ("discovery only", README).
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Address, PeerInfo } from '../crypto/index.js';
import type { StoredRecord } from './record-store.js';

/** The mesh a tracker feeds. Every method is cheap and synchronous. */
export interface Mesh {
  /** Where others reach us: the addresses our records advertise. */
  addresses(): Address[];
  /** Current neighbours with the addresses we know for them (the first few go into our records). */
  neighbors(): PeerInfo[];
  /** Ids of recent swarm messages (sent and received), newest first. */
  recentMessageIds(): Uint8Array[];
  /** Whether we have at least one neighbour. */
  isJoined(): boolean;
  /** Ask the mesh to join through `peer` (for `discoverPeers`: hand the candidate to the app). */
  join(peer: PeerInfo): void;
  /** Calls `fire` whenever a neighbour comes up; returns the unsubscribe function. */
  onNeighborUp(fire: () => void): () => void;
  /**
   * Whether joining a peer we asked to join is still under way: its connection being set up, or our
   * request awaiting its answer (optional: without it, the bootstrap loop waits `settleMs` per
   * candidate, as the reference does).
   */
  isJoining?(peer: Uint8Array): boolean;
}

/** A peer worth dialing, with the record that named it. */
export interface Candidate extends PeerInfo {
  /** Hex id. */
  idHex: string;
  /** Hex id of the record's publisher (equal to `idHex` for the publisher itself). */
  via: string;
  minute: number;
}

/** The peers a record names: its publisher first, then the neighbours it lists. */
export function candidatesOf(record: StoredRecord): Candidate[] {
  const via = bytesToHex(record.publisher);
  const out: Candidate[] = [
    { id: record.publisher, addresses: record.addresses, idHex: via, via, minute: record.minute },
  ];
  for (const p of record.peers) {
    out.push({ id: p.id, addresses: p.addresses, idHex: bytesToHex(p.id), via, minute: record.minute });
  }
  return out;
}

/**
 * Candidates in arrival order, each id once, minus ourselves and current neighbours. Its *sources* are
 * reads in flight (`source(p)`): `next()` waits for the next candidate while a source is running and
 * returns undefined once the queue is drained with no source left. Lets the bootstrap loop dial the
 * first record's publisher while the DHT lookups that found it are still running (a lookup ends only
 * when its slowest useful node answers or times out), and add a source later (the previous minute,
 * read only when the current one ran out of candidates).
 */
export class CandidateQueue {
  readonly #seen = new Set<string>();
  readonly #queue: Candidate[] = [];
  #waiter: ((c: Candidate | undefined) => void) | undefined;
  #sources = 0;
  #closed = false;
  /** Distinct records added. */
  records = 0;

  /**
   * @param random when given, `next()` picks at random among the queued publishers (then among the
   *   other queued peers) instead of first come: peers that start together all see the same few
   *   records, and spreading their JOINs over those publishers spares each of them an eviction per
   *   extra JOIN (each eviction sets off repairs elsewhere).
   */
  constructor(
    private readonly selfHex: string,
    private readonly isNeighbor: (idHex: string) => boolean,
    private readonly random?: () => number,
  ) {}

  /** Adds the peers of one record. */
  addRecord(record: StoredRecord): void {
    if (this.#closed) return;
    this.records += 1;
    for (const c of candidatesOf(record)) this.add(c);
  }

  add(c: Candidate): void {
    if (this.#closed || c.idHex === this.selfHex || this.#seen.has(c.idHex)) return;
    if (c.addresses.length === 0) return;
    this.#seen.add(c.idHex);
    this.#queue.push(c);
    this.#flush();
  }

  /** Counts `p` as a source of candidates until it settles; returns `p`. */
  source<T>(p: Promise<T>): Promise<T> {
    this.#sources += 1;
    const done = () => {
      this.#sources -= 1;
      this.#flush();
    };
    p.then(done, done);
    return p;
  }

  /** Nothing more will be added; `next()` drains what is queued, then returns undefined. */
  close(): void {
    this.#closed = true;
    this.#flush();
  }

  /** The next candidate that is not a neighbour by now; undefined once drained with no source left. */
  next(): Promise<Candidate | undefined> {
    const c = this.#take();
    if (c !== undefined || this.#idle) return Promise.resolve(c);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  get #idle(): boolean {
    return this.#closed || this.#sources === 0;
  }

  #take(): Candidate | undefined {
    for (;;) {
      const c = this.#pick();
      if (c === undefined || !this.isNeighbor(c.idHex)) return c;
    }
  }

  #pick(): Candidate | undefined {
    const q = this.#queue;
    if (this.random === undefined || q.length <= 1) return q.shift();
    const publishers = q.flatMap((c, i) => (c.via === c.idHex ? [i] : []));
    const from = publishers.length > 0 ? publishers : q.map((_, i) => i);
    const i = from[Math.min(from.length - 1, Math.floor(this.random() * from.length))]!;
    return q.splice(i, 1)[0];
  }

  #flush(): void {
    const w = this.#waiter;
    if (w === undefined) return;
    const c = this.#take();
    if (c === undefined && !this.#idle) return;
    this.#waiter = undefined;
    w(c);
  }
}

/**
 * The connected components of `peers` over their neighbour lists, each link taken as undirected (either
 * side reporting it counts; views are briefly asymmetric while a JOIN or DISCONNECT is in flight),
 * largest first. Neighbours outside `peers` are ignored. For tests, benchmarks and the demo: "is this a
 * single mesh?".
 */
export function meshComponents(
  peers: readonly { id: string; neighbors(): readonly string[] }[],
): Set<string>[] {
  const adjacency = new Map<string, Set<string>>(peers.map((p) => [p.id, new Set<string>()]));
  for (const p of peers) {
    for (const n of p.neighbors()) {
      if (n === p.id || !adjacency.has(n)) continue;
      adjacency.get(p.id)!.add(n);
      adjacency.get(n)!.add(p.id);
    }
  }
  const seen = new Set<string>();
  const out: Set<string>[] = [];
  for (const start of adjacency.keys()) {
    if (seen.has(start)) continue;
    const component = new Set<string>([start]);
    const stack = [start];
    seen.add(start);
    while (stack.length > 0) {
      for (const n of adjacency.get(stack.pop()!)!) {
        if (seen.has(n)) continue;
        seen.add(n);
        component.add(n);
        stack.push(n);
      }
    }
    out.push(component);
  }
  return out.sort((a, b) => b.size - a.size);
}
