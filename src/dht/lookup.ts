/**
 * The iterative Kademlia walk of BEP 5 ("find_node" / "get_peers" lookups), as pure state: no sockets,
 * no timers. The I/O layer (`dht.ts`) asks {@link Lookup.next} which nodes to query, sends the queries,
 * and reports each outcome back with {@link Lookup.onResponse} / {@link Lookup.onFailure}.
 *
 * Algorithm (BEP 5, "Routing Table" and the lookup it describes; Maymounkov & Mazières §2.3):
 * - Candidates are kept sorted by XOR distance to the target. Seeds are the closest entries of the
 *   routing table, plus bootstrap addresses (whose ids are unknown until they answer).
 * - Up to `alpha` queries are in flight at once. They go to the closest candidates not yet queried,
 *   looking only at the `k` closest candidates that have not failed.
 * - Every reply's compact `nodes` become new candidates; a node that fails (times out, answers with an
 *   error or with another id) stops counting, so the walk moves on to the next closest.
 * - A node that has not answered within a short "stall" delay (chosen by the I/O layer, well below
 *   the query timeout) is set aside: it frees its place among the k closest and its share of `alpha`,
 *   so the walk moves on at once; if it answers later, while the walk still runs, the answer counts.
 * - The walk is finished when each of the `k` closest candidates that have neither failed nor stalled
 *   has answered (and no bootstrap address is still pending). Queries still in flight are abandoned:
 *   their answers cannot change the k closest that answered.
 *
 * Unlike k-rpc's built-in walk, a dead node here costs the stall delay once, not a whole query timeout
 * per round of the walk, and it frees its slot among the k closest, so a walk over a table with dead
 * entries still ends with k live responders when the network has them.
 */
import { equalBytes } from './bep44.js';

/** A node to query. `id` is absent for bootstrap addresses until they answer. */
export interface Contact {
  readonly host: string;
  readonly port: number;
  readonly id?: Uint8Array;
}

/** Size of one entry of BEP 5 "compact node info": 20-byte id, 4-byte IPv4, 2-byte port. */
export const COMPACT_NODE_BYTES = 26;

type State = 'waiting' | 'in-flight' | 'stalled' | 'responded' | 'failed';

interface Candidate {
  readonly host: string;
  readonly port: number;
  id: Uint8Array | undefined;
  state: State;
}

/** One iterative walk toward `target`. See the module comment for the algorithm. */
export class Lookup {
  readonly #target: Uint8Array;
  readonly #self: Uint8Array;
  readonly #k: number;
  readonly #alpha: number;
  /** Every address seen, so a node is queried at most once. */
  readonly #byAddress = new Map<string, Candidate>();
  /** Candidates with a known id, closest to the target first. */
  readonly #ranked: Candidate[] = [];
  /** Bootstrap addresses not yet identified. */
  readonly #unranked: Candidate[] = [];
  /** Queries in flight and not stalled (they count against `alpha`). */
  #inFlight = 0;
  #responded = 0;
  #failed = 0;
  #stalled = 0;

  /**
   * @param target the 20-byte id the walk converges on.
   * @param self our own node id: contacts with it are ignored.
   * @param options `k`: how many closest nodes must answer; `alpha`: queries in flight at once.
   */
  constructor(target: Uint8Array, self: Uint8Array, options: { k: number; alpha: number }) {
    this.#target = target;
    this.#self = self;
    this.#k = options.k;
    this.#alpha = options.alpha;
  }

  /** Queries in flight that have not stalled. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Nodes that answered. */
  get responded(): number {
    return this.#responded;
  }

  /** Nodes that failed (timed out, answered with an error or with another id). */
  get failed(): number {
    return this.#failed;
  }

  /** Queries that stalled (some answered later, some failed later). */
  get stalled(): number {
    return this.#stalled;
  }

  /**
   * Adds candidates (seeds, or the `nodes` of a reply). Ignores ourselves, port 0 and addresses already
   * known.
   */
  add(contacts: Iterable<Contact>): void {
    for (const c of contacts) {
      if (c.port === 0) continue;
      if (c.id && equalBytes(c.id, this.#self)) continue;
      const key = addressKey(c);
      if (this.#byAddress.has(key)) continue;
      const candidate: Candidate = { host: c.host, port: c.port, id: c.id, state: 'waiting' };
      this.#byAddress.set(key, candidate);
      if (c.id) this.#insertRanked(candidate);
      else this.#unranked.push(candidate);
    }
  }

  /** The queries to send now (they are marked in flight). Empty once {@link finished}. */
  next(): Contact[] {
    const out: Contact[] = [];
    for (const c of this.#unranked) {
      if (this.#inFlight >= this.#alpha) return out;
      if (c.state === 'waiting') out.push(this.#send(c));
    }
    let live = 0;
    for (const c of this.#ranked) {
      if (live >= this.#k || this.#inFlight >= this.#alpha) break;
      if (c.state === 'failed' || c.state === 'stalled') continue;
      live++;
      if (c.state === 'waiting') out.push(this.#send(c));
    }
    return out;
  }

  /** `from` answered with node id `id`; `nodes` are the contacts its reply listed. */
  onResponse(from: Contact, id: Uint8Array, nodes: Iterable<Contact> = []): void {
    const c = this.#settle(from);
    if (c) {
      this.#responded++;
      c.state = 'responded';
      if (!c.id) {
        c.id = id;
        if (!equalBytes(id, this.#self)) this.#insertRanked(c);
      }
    }
    this.add(nodes);
  }

  /** The query to `from` failed. */
  onFailure(from: Contact): void {
    const c = this.#settle(from);
    if (!c) return;
    this.#failed++;
    c.state = 'failed';
  }

  /** The query to `from` has not been answered for a while: stop waiting for it (see module comment). */
  onStall(from: Contact): void {
    const c = this.#byAddress.get(addressKey(from));
    if (c?.state !== 'in-flight') return;
    this.#inFlight--;
    this.#stalled++;
    c.state = 'stalled';
  }

  /**
   * True when the k closest candidates that neither failed nor stalled have all answered, and no
   * bootstrap address is waiting or in flight.
   */
  get finished(): boolean {
    if (this.#unranked.some((c) => c.state === 'waiting' || c.state === 'in-flight')) return false;
    let live = 0;
    for (const c of this.#ranked) {
      if (live >= this.#k) break;
      if (c.state === 'failed' || c.state === 'stalled') continue;
      live++;
      if (c.state !== 'responded') return false;
    }
    return true;
  }

  /** Ends the query to `from` (in flight or stalled); returns its candidate, or undefined if none. */
  #settle(from: Contact): Candidate | undefined {
    const c = this.#byAddress.get(addressKey(from));
    if (c?.state === 'in-flight') this.#inFlight--;
    else if (c?.state !== 'stalled') return undefined;
    if (!c.id) this.#unranked.splice(this.#unranked.indexOf(c), 1);
    return c;
  }

  #send(c: Candidate): Contact {
    c.state = 'in-flight';
    this.#inFlight++;
    return c.id ? { host: c.host, port: c.port, id: c.id } : { host: c.host, port: c.port };
  }

  #insertRanked(c: Candidate): void {
    const id = c.id!;
    let lo = 0;
    let hi = this.#ranked.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareDistance(this.#ranked[mid]!.id!, id, this.#target) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.#ranked.splice(lo, 0, c);
  }
}

/**
 * Compares the XOR distances of `a` and `b` to `target` (BEP 5 "distance metric"): negative when `a`
 * is closer, positive when `b` is, 0 when equal.
 */
export function compareDistance(a: Uint8Array, b: Uint8Array, target: Uint8Array): number {
  const n = Math.min(a.length, b.length, target.length);
  for (let i = 0; i < n; i++) {
    const t = target[i]!;
    const d = (a[i]! ^ t) - (b[i]! ^ t);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Decodes BEP 5 compact node info (26 bytes per node). Skips entries with port 0 and a trailing
 * partial entry. Ids are views into `buf`.
 */
export function decodeNodes(buf: Uint8Array): Contact[] {
  const out: Contact[] = [];
  for (let i = 0; i + COMPACT_NODE_BYTES <= buf.length; i += COMPACT_NODE_BYTES) {
    const port = (buf[i + 24]! << 8) | buf[i + 25]!;
    if (port === 0) continue;
    const host = `${buf[i + 20]}.${buf[i + 21]}.${buf[i + 22]}.${buf[i + 23]}`;
    out.push({ id: buf.subarray(i, i + 20), host, port });
  }
  return out;
}

function addressKey(c: { host: string; port: number }): string {
  return `${c.host}:${c.port}`;
}
