/**
 * The iterative Kademlia walk of BEP 5 ("find_node" / "get_peers" lookups), as pure state: no sockets,
 * no timers. The I/O layer (`walk.ts`) asks {@link Lookup.next} which nodes to query, sends the queries,
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
 * Hygiene (what one reply may add; every structure fed by replies has a named cap):
 * - **Contacts taken per reply** (`maxPerReply`): the closest few of a reply's new contacts, not all of
 *   them: BEP 5's K = 8 by default (DEFAULT_WALK_CONTACTS_PER_REPLY), though our nodes send the k = 20
 *   closest (`serve.ts`); measured on a testnet, walks reach the same nodes either way.
 * - **Known ids**: a contact whose id is already a candidate (at any address) is ignored, so one id
 *   cannot be multiplied by listing it at many addresses.
 * - **Far contacts**: once k candidates have answered, a contact farther from the target than the k-th
 *   closest of them cannot enter the k closest, and is ignored. Only responders set this bound: ids a
 *   reply merely lists could be fakes that never answer.
 * - **IP diversity**: one candidate per IPv4 address and at most `maxPerPrefix` per /24 (libtorrent's
 *   `dht_restrict_search_ips` keeps one per /24). On loopback (127.0.0.0/8) an address is host:port and
 *   no /24 limit applies: testnets run every node on 127.0.0.1.
 * - **Candidates per lookup** (`maxCandidates`): when full, a new contact replaces the farthest candidate
 *   not yet queried if it is closer, else it is ignored.
 * - **Distrust** (`distrustAfter`): once that many of the contacts one responder listed have failed or
 *   stalled and none has answered, its other contacts not yet queried are forgotten (another
 *   responder listing them brings them back).
 * Against nodes that answer with thousands of fake contacts near the target, these bound what a hostile
 * responder costs a walk to `distrustAfter` dead queries (at most `maxPerReply`).
 *
 * Unlike k-rpc's built-in walk, a dead node here costs the stall delay once, not a whole query timeout
 * per round of the walk, and it frees its slot among the k closest, so a walk over a table with dead
 * entries still ends with k live responders when the network has them.
 */
import { equalBytes } from '../crypto/utils.js';

/** A node to query. `id` is absent for bootstrap addresses until they answer. */
export interface Contact {
  readonly host: string;
  readonly port: number;
  readonly id?: Uint8Array;
  /** The address's key in a lookup's tables, when its decoder had it at hand (see `addressKey`). */
  readonly key?: number;
}

/** Size of one entry of BEP 5 "compact node info": 20-byte id, 4-byte IPv4, 2-byte port. */
export const COMPACT_NODE_BYTES = 26;

type State = 'waiting' | 'in-flight' | 'stalled' | 'responded' | 'failed';

interface Candidate {
  readonly host: string;
  readonly port: number;
  /** Its address key (`addressKey`), kept so that its reply and its removal need not parse the host. */
  readonly key: number | undefined;
  id: Uint8Array | undefined;
  state: State;
  /** The responder whose reply listed it (seeds have none). */
  referrer?: Candidate;
  /** What became of the contacts this candidate's reply listed. */
  referrals?: { taken: Candidate[]; answered: number; failed: number };
}

/** Options of {@link Lookup}. */
export interface LookupOptions {
  /** How many closest nodes must answer. */
  readonly k: number;
  /** Queries in flight at once. */
  readonly alpha: number;
  /** New contacts taken from one reply, closest first (default `k`). */
  readonly maxPerReply?: number;
  /** Candidates one walk holds (default unbounded). */
  readonly maxCandidates?: number;
  /** Candidates per IPv4 /24 (default unbounded; one per address always; none on loopback). */
  readonly maxPerPrefix?: number;
  /** Failed or stalled contacts of one responder, none answering, before its others are forgotten. */
  readonly distrustAfter?: number;
}

/** Why contacts were not taken, counted per walk. */
export interface LookupIgnored {
  /** Beyond `maxPerReply` of their reply. */
  perReply: number;
  /** Their id is already a candidate (at this or another address). */
  knownId: number;
  /** Farther than the k-th closest responder. */
  far: number;
  /** Their address is taken, or their /24 is full. */
  diversity: number;
  /** The candidate set was full and they were not closer than its farthest waiting candidate. */
  full: number;
  /** Taken, then forgotten unqueried: their responder's other contacts did not answer. */
  distrusted: number;
}

/**
 * Counts nodes per address and per IPv4 /24 (see the module comment): one node per IP, at most
 * `maxPerPrefix` per /24; on loopback one per host:port and no /24 limit. Used by walks and by the
 * routing table (`serve.ts`).
 */
export class IpDiversity {
  readonly #maxPerPrefix: number;
  readonly #addresses = new Set<number | string>();
  readonly #prefixes = new Map<string, number>();

  constructor(maxPerPrefix: number) {
    this.#maxPerPrefix = maxPerPrefix;
  }

  /** Whether a node at host:port may be added. */
  admits(host: string, port: number): boolean {
    if (this.#addresses.has(diversityKey(host, port))) return false;
    const prefix = prefixKey(host);
    return prefix === undefined || (this.#prefixes.get(prefix) ?? 0) < this.#maxPerPrefix;
  }

  add(host: string, port: number): void {
    this.#addresses.add(diversityKey(host, port));
    const prefix = prefixKey(host);
    if (prefix !== undefined) this.#prefixes.set(prefix, (this.#prefixes.get(prefix) ?? 0) + 1);
  }

  remove(host: string, port: number): void {
    if (!this.#addresses.delete(diversityKey(host, port))) return;
    const prefix = prefixKey(host);
    if (prefix === undefined) return;
    const n = (this.#prefixes.get(prefix) ?? 1) - 1;
    if (n > 0) this.#prefixes.set(prefix, n);
    else this.#prefixes.delete(prefix);
  }
}

/** True for 127.0.0.0/8, where diversity is per host:port (testnets). */
export function isLoopback(host: string): boolean {
  return host.startsWith('127.');
}

function diversityKey(host: string, port: number): number | string {
  return isLoopback(host) ? addressKey({ host, port }) : host;
}

function prefixKey(host: string): string | undefined {
  if (isLoopback(host)) return undefined;
  const dot = host.lastIndexOf('.');
  return dot < 0 ? undefined : host.slice(0, dot);
}

/** One iterative walk toward `target`. See the module comment for the algorithm. */
export class Lookup {
  readonly #target: Uint8Array;
  readonly #self: Uint8Array;
  readonly #k: number;
  readonly #alpha: number;
  readonly #maxPerReply: number;
  readonly #maxCandidates: number;
  readonly #diversity: IpDiversity;
  /** Every address seen, so a node is queried at most once. */
  readonly #byAddress = new Map<number | string, Candidate>();
  /** Ids of candidates (hex), whatever their address. */
  readonly #ids = new Set<string>();
  /** The k closest responders' distances bound which contacts are worth taking (see module comment). */
  readonly #responders: Candidate[] = [];
  readonly #ignored: LookupIgnored = {
    perReply: 0,
    knownId: 0,
    far: 0,
    diversity: 0,
    full: 0,
    distrusted: 0,
  };
  readonly #distrustAfter: number;
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
   * @param options see {@link LookupOptions}.
   */
  constructor(target: Uint8Array, self: Uint8Array, options: LookupOptions) {
    this.#target = target;
    this.#self = self;
    this.#k = options.k;
    this.#alpha = options.alpha;
    this.#maxPerReply = options.maxPerReply ?? options.k;
    this.#maxCandidates = options.maxCandidates ?? Number.POSITIVE_INFINITY;
    this.#diversity = new IpDiversity(options.maxPerPrefix ?? Number.POSITIVE_INFINITY);
    this.#distrustAfter = options.distrustAfter ?? Number.POSITIVE_INFINITY;
  }

  /** Contacts not taken, by reason (see the module comment). */
  get ignored(): Readonly<LookupIgnored> {
    return this.#ignored;
  }

  /** Candidates held (every state). */
  get size(): number {
    return this.#byAddress.size;
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
   * Adds candidates (seeds, or the `nodes` of a reply). Ignores ourselves, port 0, addresses and ids
   * already known, and contacts the hygiene rules of the module comment refuse.
   */
  add(contacts: Iterable<Contact>): void {
    for (const c of contacts) this.#take(c);
  }

  /** Adds a candidate if every rule admits it; returns it, or undefined. */
  #take(c: Contact): Candidate | undefined {
    if (c.port === 0) return undefined;
    if (c.id && equalBytes(c.id, this.#self)) return undefined;
    const key = addressKey(c);
    if (this.#byAddress.has(key)) return undefined;
    const idKey = c.id ? hexOf(c.id) : undefined;
    if (idKey !== undefined && this.#ids.has(idKey)) {
      this.#ignored.knownId++;
      return undefined;
    }
    if (c.id && this.#responders.length >= this.#k) {
      const kth = this.#responders[this.#k - 1]!.id!;
      if (compareDistance(c.id, kth, this.#target) > 0) {
        this.#ignored.far++;
        return undefined;
      }
    }
    if (!this.#diversity.admits(c.host, c.port)) {
      this.#ignored.diversity++;
      return undefined;
    }
    if (this.#byAddress.size >= this.#maxCandidates && !this.#evictFor(c)) {
      this.#ignored.full++;
      return undefined;
    }
    const candidate: Candidate = {
      host: c.host,
      port: c.port,
      key: typeof key === 'number' ? key : undefined,
      id: c.id,
      state: 'waiting',
    };
    this.#byAddress.set(key, candidate);
    this.#diversity.add(c.host, c.port);
    if (idKey !== undefined) this.#ids.add(idKey);
    if (c.id) this.#insertRanked(this.#ranked, candidate);
    else this.#unranked.push(candidate);
    return candidate;
  }

  /** Drops the farthest waiting ranked candidate if `c` is closer; returns whether it did. */
  #evictFor(c: Contact): boolean {
    if (!c.id) return false;
    for (let i = this.#ranked.length - 1; i >= 0; i--) {
      const far = this.#ranked[i]!;
      if (compareDistance(far.id!, c.id, this.#target) <= 0) return false;
      if (far.state !== 'waiting') continue;
      this.#forget(far, i);
      return true;
    }
    return false;
  }

  /** Removes a waiting ranked candidate (at `index` of the ranking, when known). */
  #forget(c: Candidate, index = this.#ranked.indexOf(c)): void {
    // No longer waiting, so a referrer's list that still holds it never forgets it twice.
    c.state = 'failed';
    if (index >= 0) this.#ranked.splice(index, 1);
    this.#byAddress.delete(addressKey(c));
    if (c.id) this.#ids.delete(hexOf(c.id));
    this.#diversity.remove(c.host, c.port);
  }

  /** A contact `c` listed failed or stalled: maybe distrust its responder (see the module comment). */
  #referralFailed(c: Candidate): void {
    const referrals = c.referrer?.referrals;
    if (!referrals) return;
    referrals.failed++;
    if (referrals.answered > 0 || referrals.failed < this.#distrustAfter) return;
    for (const other of referrals.taken) {
      if (other.state !== 'waiting' || !other.id) continue;
      this.#forget(other);
      this.#ignored.distrusted++;
    }
    referrals.taken = [];
  }

  /** Whether an address key is held (any state). */
  readonly #knownKey = (key: number): boolean => this.#byAddress.has(key);

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

  /**
   * `from` answered with node id `id`; `nodes` are the contacts its reply listed, or its compact node
   * info (BEP 5), decoded here only for the addresses not known yet.
   */
  onResponse(from: Contact, id: Uint8Array, nodes: Iterable<Contact> | Uint8Array = []): void {
    const c = this.#settle(from);
    if (c) {
      this.#responded++;
      c.state = 'responded';
      if (c.referrer?.referrals) c.referrer.referrals.answered++;
      if (!c.id) {
        c.id = id;
        if (!equalBytes(id, this.#self)) {
          this.#insertRanked(this.#ranked, c);
          this.#ids.add(hexOf(id));
        }
      }
      if (c.id && !equalBytes(c.id, this.#self)) {
        this.#insertRanked(this.#responders, c);
        if (this.#responders.length > this.#k) this.#responders.pop();
      }
    }
    // Closest first, so the contacts a reply may add are its best ones; the order matters only when not
    // all of them may be taken (a reply of at most `maxPerReply` contacts, room for all: no sort).
    // Contacts at an address already known cannot be taken: left out before the sort (most contacts of a
    // walk's later replies are such).
    let listed: Contact[];
    if (nodes instanceof Uint8Array) listed = decodeNodes(nodes, this.#knownKey);
    else {
      listed = [];
      for (const contact of nodes) if (!this.#byAddress.has(addressKey(contact))) listed.push(contact);
    }
    const offered =
      listed.length <= this.#maxPerReply && this.#byAddress.size + listed.length <= this.#maxCandidates
        ? listed
        : byDistance(listed, this.#target);
    const referrals = { taken: [] as Candidate[], answered: 0, failed: 0 };
    for (const contact of offered) {
      if (referrals.taken.length >= this.#maxPerReply) {
        this.#ignored.perReply++;
        continue;
      }
      const taken = this.#take(contact);
      if (taken && c) {
        taken.referrer = c;
        referrals.taken.push(taken);
      }
    }
    if (c) c.referrals = referrals;
  }

  /** The query to `from` failed. */
  onFailure(from: Contact): void {
    const c = this.#settle(from);
    if (!c) return;
    const wasStalled = c.state === 'stalled';
    this.#failed++;
    c.state = 'failed';
    if (!wasStalled) this.#referralFailed(c);
  }

  /** The query to `from` has not been answered for a while: stop waiting for it (see module comment). */
  onStall(from: Contact): void {
    const c = this.#byAddress.get(addressKey(from));
    if (c?.state !== 'in-flight') return;
    this.#inFlight--;
    this.#stalled++;
    c.state = 'stalled';
    this.#referralFailed(c);
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

  #insertRanked(list: Candidate[], c: Candidate): void {
    const id = c.id!;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareDistance(list[mid]!.id!, id, this.#target) <= 0) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, c);
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
 * `nodes` closest to `target` first, those without an id last (in their order). Sorted on the first 4
 * bytes of the XOR distance as one number, the whole distance only on a tie: every reply of a walk is
 * sorted, and a byte-wise comparison per pair was a visible share of a walk's CPU.
 */
function byDistance(nodes: Iterable<Contact>, target: Uint8Array): Contact[] {
  const ranked: { c: Contact; d: number }[] = [];
  const unranked: Contact[] = [];
  const t = ((target[0]! << 24) | (target[1]! << 16) | (target[2]! << 8) | target[3]!) >>> 0;
  for (const c of nodes) {
    const id = c.id;
    if (id === undefined || id.length < 4) unranked.push(c);
    else ranked.push({ c, d: (((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) ^ t) >>> 0 });
  }
  ranked.sort((a, b) => a.d - b.d || compareDistance(a.c.id!, b.c.id!, target));
  const out = ranked.map((r) => r.c);
  for (const c of unranked) out.push(c);
  return out;
}

/**
 * Decodes BEP 5 compact node info (26 bytes per node). Skips entries with port 0, a trailing partial
 * entry, and those whose address key `skip` refuses (before their id view and host string are made:
 * most contacts of a walk's later replies are at addresses it knows). Ids are views into `buf`; each
 * contact carries its address key, made from the bytes.
 */
export function decodeNodes(buf: Uint8Array, skip?: (key: number) => boolean): Contact[] {
  const out: Contact[] = [];
  for (let i = 0; i + COMPACT_NODE_BYTES <= buf.length; i += COMPACT_NODE_BYTES) {
    const port = (buf[i + 24]! << 8) | buf[i + 25]!;
    if (port === 0) continue;
    const a = buf[i + 20]!;
    const b = buf[i + 21]!;
    const c = buf[i + 22]!;
    const d = buf[i + 23]!;
    const key = (((a * 256 + b) * 256 + c) * 256 + d) * 65536 + port;
    if (skip?.(key)) continue;
    out.push({ id: buf.subarray(i, i + 20), host: `${a}.${b}.${c}.${d}`, port, key });
  }
  return out;
}

/**
 * The key of an address in a lookup's tables: for dotted-quad IPv4 (every contact a reply can name) the
 * number ip · 65536 + port, whose hashing costs nothing beside a fresh `host:port` string's (a walk
 * looks up every contact of every reply: this was a walk's hottest line in `npm run bench:dht`'s
 * profile); `host:port` for anything else.
 */
function addressKey(c: { host: string; port: number; key?: number }): number | string {
  if (c.key !== undefined) return c.key;
  const h = c.host;
  let ip = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < h.length; i++) {
    const d = h.charCodeAt(i) - 48; // '0'
    if (d === -2 && digits > 0 && part <= 255 && dots < 3) {
      // '.'
      ip = ip * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (d >= 0 && d <= 9 && digits < 3) {
      part = part * 10 + d;
      digits++;
    } else return `${h}:${c.port}`;
  }
  if (dots !== 3 || digits === 0 || part > 255) return `${h}:${c.port}`;
  return (ip * 256 + part) * 65536 + c.port;
}

function hexOf(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.length).toString('hex');
}
