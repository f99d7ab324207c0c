/**
 * Our external address as the DHT sees it (BEP 42), and whether we are reachable from outside (for
 * BEP 43's `readOnly: 'auto'`). Pure: no I/O, no clock (time comes in as `nowMs`).
 *
 * **Votes (BEP 42).** A KRPC reply may carry a top-level `ip`: the requester's address (compact IPv4 +
 * port, 6 bytes) as the responder saw it. Behind a NAT that is the NAT's external address and the port
 * it mapped our socket to. One responder can lie, so {@link ExternalAddressVotes} counts one vote per
 * *voter group* (an IPv4 /16, as BEP 42 ties node ids to address prefixes; on loopback every
 * `host:port`, since a testnet runs its nodes on one address and nobody outside can reach it) and takes
 * an address only once {@link EXTERNAL_MIN_VOTERS} groups agree and it leads every other address. A
 * group's newer vote replaces its older one, votes expire after {@link EXTERNAL_VOTE_TTL_MS}, and at
 * most {@link EXTERNAL_MAX_VOTERS} groups are remembered (the oldest vote goes first), so a NAT that
 * changes its address is followed and a flood of voters costs a bounded table. The address once taken
 * stays until another address has more groups behind it.
 *
 * **Reachability.** {@link Reachability} says whether `readOnly: 'auto'` should send BEP 43 `ro=1`:
 * yes once our external address is known, is not an address of this host (so a NAT is in between), and
 * for {@link REACHABILITY_WINDOW_MS} since it became known no query came from an IP we never sent to.
 * A NAT that filters by endpoint lets in only replies and queries from the IPs we contacted; a query
 * from any other IP proves we are reachable (a port forward, a full-cone NAT), and ends read-only.
 */
import { classifyHost } from '../crypto/address-policy.js';
import { Lru } from '../crypto/lru.js';
import { equalBytes } from '../crypto/utils.js';

/** Distinct voter groups that must agree on an address (BEP 42 asks for "several"; guess). */
export const EXTERNAL_MIN_VOTERS = 3;
/** Voter groups remembered; the oldest vote goes first (guess: a few walks' responders). */
export const EXTERNAL_MAX_VOTERS = 64;
/** A vote counts this long (guess: long beside a walk, short beside a NAT's address lease). */
export const EXTERNAL_VOTE_TTL_MS = 30 * 60_000;
/** A group's repeated vote younger than this is not written again (its age is kept to this precision). */
const VOTE_REFRESH_MS = 1000;
/** How long a NATed node waits for an unsolicited query before it goes read-only (guess). */
export const REACHABILITY_WINDOW_MS = 5 * 60_000;
/** IPs we sent a query to, remembered to tell solicited from unsolicited queries (guess). */
export const CONTACTED_IPS = 4096;

/** An address learned from BEP 42 votes. */
export interface ExternalAddress {
  /** IPv4 text. */
  readonly host: string;
  /** The port our DHT socket is seen from (the NAT's mapping; most common among the agreeing votes). */
  readonly port: number;
  /** Voter groups that agree on `host`. */
  readonly voters: number;
}

/** Why a vote was not counted. */
export type VoteReject = 'malformed' | 'unusable-address' | 'voter-not-ipv4';

/** Claims that can be a host's address: not unspecified, multicast, broadcast, reserved, link-local. */
const USABLE = new Set(['public', 'private', 'loopback']);

/**
 * The `host:port` of a BEP 42 `ip` field (compact IPv4: 4 address bytes, 2 port bytes, big-endian);
 * undefined for any other length (an 18-byte IPv6 form is valid BEP 42 but we are IPv4-only). Never
 * throws.
 */
export function decodeCompactAddress(ip: unknown): { host: string; port: number } | undefined {
  if (!(ip instanceof Uint8Array) || ip.length !== 6) return undefined;
  return { host: `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}`, port: (ip[4]! << 8) | ip[5]! };
}

/**
 * The BEP 42 `ip` field for an IPv4 `host` and `port`.
 * @throws {RangeError} when `host` is not dotted-quad IPv4 or `port` is not 0..65535.
 */
export function encodeCompactAddress(host: string, port: number): Uint8Array {
  const parts = host.split('.');
  const bytes = parts.map(Number);
  if (parts.length !== 4 || bytes.some((b, i) => !/^\d{1,3}$/.test(parts[i]!) || b > 255)) {
    throw new RangeError(`"host" expected IPv4 address, got ${JSON.stringify(host)}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`"port" expected integer 0..65535, got ${port}`);
  }
  return Uint8Array.of(...bytes, port >> 8, port & 0xff);
}

/** The voter group of a responder: its IPv4 /16, or its `host:port` on loopback; undefined otherwise. */
export function voterGroup(host: string, port: number): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host);
  if (!m) return undefined;
  // 127.0.0.0/8 is loopback (hosts here come from sockets: canonical dotted quads).
  return m[1] === '127' ? `${host}:${port}` : `${m[1]}.${m[2]}/16`;
}

interface Vote {
  readonly host: string;
  readonly port: number;
  readonly atMs: number;
}

/** BEP 42 votes on our external IPv4 address (see the module comment). */
export class ExternalAddressVotes {
  readonly #minVoters: number;
  readonly #ttlMs: number;
  readonly #votes: Lru<string, Vote>;
  #current: ExternalAddress | undefined;
  /** When the oldest vote counted by the last tally expires: until then a repeated vote changes nothing. */
  #tallyValidUntilMs = Number.NEGATIVE_INFINITY;
  /** The last counted claim's raw bytes and its decoding. */
  #lastIp: Uint8Array | undefined;
  #lastClaim: { host: string; port: number } | undefined;

  /** @throws {RangeError} on a count below 1 or a negative ttl. */
  constructor({
    minVoters = EXTERNAL_MIN_VOTERS,
    maxVoters = EXTERNAL_MAX_VOTERS,
    voteTtlMs = EXTERNAL_VOTE_TTL_MS,
  }: { minVoters?: number; maxVoters?: number; voteTtlMs?: number } = {}) {
    if (!Number.isInteger(minVoters) || minVoters < 1) {
      throw new RangeError(`"minVoters" expected integer >= 1, got ${minVoters}`);
    }
    if (!(voteTtlMs >= 0)) throw new RangeError(`"voteTtlMs" expected >= 0, got ${voteTtlMs}`);
    this.#minVoters = minVoters;
    this.#ttlMs = voteTtlMs;
    this.#votes = new Lru(maxVoters);
  }

  /** The address taken, if any. */
  get current(): ExternalAddress | undefined {
    return this.#current;
  }

  /** Voter groups holding a vote (expired ones included until they are replaced). */
  get size(): number {
    return this.#votes.size;
  }

  /**
   * Counts the claim `ip` (a reply's raw `ip` field) of the responder at `voter`. Returns `changed`
   * when the taken address (host or port) changed with this vote, a reject reason when the vote was
   * not counted, or undefined. Never throws.
   */
  vote(
    voter: { host: string; port: number },
    ip: unknown,
    nowMs: number,
  ): 'changed' | VoteReject | undefined {
    // Nearly every claim repeats the one before (the voters see the same address of ours): decode and
    // classify a claim only when its bytes differ from the last one's.
    let claim = this.#lastClaim;
    const last = this.#lastIp;
    if (claim === undefined || last === undefined || !(ip instanceof Uint8Array) || !equalBytes(ip, last)) {
      const decoded = decodeCompactAddress(ip);
      if (decoded === undefined) return 'malformed';
      if (decoded.port === 0 || !USABLE.has(classifyHost(decoded.host))) return 'unusable-address';
      claim = decoded;
      this.#lastIp = Uint8Array.from(ip as Uint8Array);
      this.#lastClaim = claim;
    }
    const group = voterGroup(voter.host, voter.port);
    if (group === undefined) return 'voter-not-ipv4';
    const before = this.#votes.peek(group);
    const repeated = before?.host === claim.host && before.port === claim.port;
    // A repeat within a second refreshes nothing worth a write: a vote's age counts in minutes.
    if (repeated && nowMs - before.atMs < VOTE_REFRESH_MS && nowMs < this.#tallyValidUntilMs)
      return undefined;
    this.#votes.set(group, { host: claim.host, port: claim.port, atMs: nowMs });
    // Most votes repeat their group's last one (every reply of a walk carries `ip`): such a vote cannot
    // change the outcome until some vote expires, so the tally waits until then.
    if (repeated && nowMs < this.#tallyValidUntilMs) return undefined;
    return this.#tally(nowMs) ? 'changed' : undefined;
  }

  /** Recomputes the winner; true when {@link current} changed. */
  #tally(nowMs: number): boolean {
    const byHost = new Map<string, { groups: number; ports: Map<number, number>; lastPort: number }>();
    let validUntil = Number.POSITIVE_INFINITY;
    for (const v of this.#votes.values()) {
      if (nowMs - v.atMs > this.#ttlMs) continue;
      validUntil = Math.min(validUntil, v.atMs + this.#ttlMs);
      let h = byHost.get(v.host);
      if (!h) {
        h = { groups: 0, ports: new Map(), lastPort: v.port };
        byHost.set(v.host, h);
      }
      h.groups++;
      h.ports.set(v.port, (h.ports.get(v.port) ?? 0) + 1);
      h.lastPort = v.port; // values() runs oldest first: the last seen is the newest
    }
    this.#tallyValidUntilMs = validUntil;
    let best: string | undefined;
    let bestGroups = 0;
    let runnerUp = 0;
    for (const [host, h] of byHost) {
      if (h.groups > bestGroups) {
        runnerUp = bestGroups;
        best = host;
        bestGroups = h.groups;
      } else if (h.groups > runnerUp) runnerUp = h.groups;
    }
    const cur = this.#current;
    const curGroups = cur ? (byHost.get(cur.host)?.groups ?? 0) : 0;
    // Take an address that enough groups agree on and that leads; keep the one taken until another
    // has more groups than it (a tie does not flap).
    const winner =
      best !== undefined && bestGroups >= this.#minVoters && bestGroups > runnerUp && bestGroups > curGroups
        ? best
        : cur?.host;
    if (winner === undefined) return false;
    const h = byHost.get(winner);
    if (!h) return false; // the taken address lost every vote to expiry: keep it until replaced
    // The most common port; on a tie, the one taken (no flapping), else the newest.
    let port = cur?.host === winner && h.ports.has(cur.port) ? cur.port : h.lastPort;
    let portVotes = h.ports.get(port) ?? 0;
    for (const [p, n] of h.ports) {
      if (n > portVotes) {
        port = p;
        portVotes = n;
      }
    }
    const changed = cur?.host !== winner || cur.port !== port;
    this.#current = { host: winner, port, voters: h.groups };
    return changed;
  }
}

/** Whether `readOnly: 'auto'` sends `ro=1` (see the module comment). */
export class Reachability {
  readonly #windowMs: number;
  readonly #contacted = new Lru<string, true>(CONTACTED_IPS);
  /** When the current external address became known, if it is not one of ours. */
  #natSinceMs: number | undefined;
  #reachable = false;

  /** @throws {RangeError} when `windowMs` is negative. */
  constructor(windowMs: number = REACHABILITY_WINDOW_MS) {
    if (!(windowMs >= 0)) throw new RangeError(`"windowMs" expected >= 0, got ${windowMs}`);
    this.#windowMs = windowMs;
  }

  /** We sent a query to `host`: its queries to us are solicited from now on. */
  sent(host: string): void {
    this.#contacted.set(host, true);
  }

  /**
   * A query from `host` reached us; one from an IP we never contacted proves we are reachable. Returns
   * whether it was such a query.
   */
  received(host: string): boolean {
    // A peek: being queried by a host does not make it more recently contacted (only `sent` does).
    if (this.#contacted.peek(host) !== undefined) return false;
    this.#reachable = true;
    return true;
  }

  /** Our external address changed (or became known): `local` is whether it is an address of this host. */
  external(local: boolean, nowMs: number): void {
    this.#natSinceMs = local ? undefined : nowMs;
  }

  /** True once a query from an uncontacted IP arrived. */
  get reachable(): boolean {
    return this.#reachable;
  }

  /** Whether to send `ro=1` now. */
  readOnly(nowMs: number): boolean {
    return !this.#reachable && this.#natSinceMs !== undefined && nowMs - this.#natSinceMs >= this.#windowMs;
  }
}
