/**
 * The connection manager (PROTOCOL.md §9.8): admission and accounting of every socket the transport
 * holds, driven by the transport (which owns the sockets, the timers and the `inUse` question). Clock
 * passed in as `now`.
 *
 * A slot is taken at TCP accept (inbound) or just before a dial's socket is made (outbound), and
 * given back when that socket closes. A slot is *pending* until its handshake finishes, then *open*.
 * A pending inbound slot is in one of two stages, each a queue in order of entry with its own cap:
 * the HTTP stage (accepted, upgrade not done; `maxPendingUpgrades`) and the handshake stage
 * (upgraded, not open; `maxPendingInbound`), where it has *progressed* once the dialer's Noise
 * message 1 arrived.
 *
 * Admission of an inbound socket, cheapest checks first, so that a flood from one IP is refused by
 * its own limits before it can touch the shared ones:
 *   1. per-IP accept rate (token bucket; IPs tracked in an LRU);
 *   2. per-IP and per-prefix caps on pending, then on all inbound (pending + open) slots;
 *   3. HTTP stage full: its socket accepted longest ago is dropped (`evicted`) for the newcomer;
 *   4. table full (`maxConnections`, open + pending, both directions): the open slot idle longest
 *      among those the transport calls idle (no topic, lingering) is closed (`evicted`), else the
 *      pending inbound slot longest without progress (since its accept or its upgrade, never one
 *      that sent message 1), else the newcomer is refused.
 * At the upgrade (`upgraded`), a full handshake stage drops the slot upgraded longest ago that has
 * not sent message 1; if every one has, the upgrade is refused (`pending-full`). When message 1
 * arrives (`progressed`) the total accept rate is charged; over it the socket is refused
 * (`accept-rate`) before any handshake work.
 * Steps 1-2 skip a socket whose netGroup is undefined (a peer on one of our own hosts): a
 * one-machine testnet is limited by the totals only. An outbound dial goes through step 4 only; our
 * own dials are bounded by the dial bounds, not by per-IP caps.
 *
 * Why two stages, each evicting its own oldest: an honest dialer sends its upgrade request with its
 * first packet and message 1 one round trip after the upgrade, so it leaves each stage quickly, while
 * a half-open or slow-HTTP socket stays in the first and a silent WebSocket in the second. A flood
 * from any number of hosts (each under its per-IP rate) then pushes out its own oldest members, never
 * a socket of the other stage: an honest socket is at risk only if it stalls in a stage while that
 * stage's cap of newer sockets arrive. One queue ranked by stage (not upgraded first) evicted honest
 * sockets whose upgrade request was not read yet in favour of older silent WebSockets; one queue
 * ranked by age let a half-open flood evict honest sockets waiting their round trip for message 1.
 * Ranking by order of entry, not by absolute age, keeps this true on a victim whose event loop runs
 * late: the lag delays every socket alike.
 *
 * Why the total accept rate is charged at message 1: that is where the responder's handshake work
 * (what the rate bounds) begins. Charged at TCP accept, sockets that never cost a handshake drained
 * it from many hosts, each under its per-IP rate, and it refused the honest dialers it was meant to
 * let in. What a socket costs before message 1 (an accept, a timer, the HTTP parser) is bounded by
 * the stage caps and the per-IP rates, and a refused socket costs the same accept and close anyway.
 */
import { Lru } from '../crypto/lru.js';
import { TokenBucket } from '../proto/budget.js';
import type { PeerId } from '../proto/types.js';
import type { TransportConfig } from './config.js';

/**
 * Why an inbound socket was refused: at accept, or (`accept-rate`) when its Noise message 1 arrived
 * over the total accept rate.
 */
export type AdmitRefusal =
  | 'accept-rate'
  | 'accept-rate-ip'
  | 'pending-ip'
  | 'pending-prefix'
  | 'connections-ip'
  | 'connections-prefix'
  | 'pending-full'
  | 'table-full';

/** One socket's place in the table. */
export interface Slot<T> {
  readonly inbound: boolean;
  /** Canonical remote IP of an inbound socket. */
  readonly ip: string | undefined;
  /** Its network group; undefined for an exempt (own-host) peer and for outbound slots. */
  readonly group: string | undefined;
  pending: boolean;
  /** An inbound slot's WebSocket upgrade is done. */
  upgraded: boolean;
  progressed: boolean;
  readonly since: number;
  /** When a pending slot last made progress: its accept, then its upgrade. */
  stepAt: number;
  /** When an open slot was last seen in use (or opened). */
  idleSince: number;
  peer: PeerId | undefined;
  /** What the transport holds in this slot (a socket, then a Connection). */
  owner: T;
  /** Called once when the manager evicts the slot (already given back): close what it holds. */
  evict: () => void;
  released: boolean;
}

/** Limits the manager reads from the transport config. */
export type ManagerLimits = Pick<
  TransportConfig,
  | 'maxConnections'
  | 'maxPendingUpgrades'
  | 'maxPendingInbound'
  | 'maxPendingPerIp'
  | 'maxPendingPerPrefix'
  | 'maxConnectionsPerIp'
  | 'maxConnectionsPerPrefix'
  | 'acceptRatePerSecond'
  | 'acceptBurst'
  | 'acceptRatePerIpPerSecond'
  | 'acceptBurstPerIp'
  | 'maxTrackedIps'
>;

/** Result of {@link ConnectionManager.admitInbound}. */
export type Admission<T> = { ok: true; slot: Slot<T> } | { ok: false; reason: AdmitRefusal };

function inc(m: Map<string, number>, k: string | undefined, by: number): void {
  if (k === undefined) return;
  const n = (m.get(k) ?? 0) + by;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}

/** The first slot of `stage` (in order of entry) that has not sent message 1: the longest stalled. */
function stalled<T>(stage: Set<Slot<T>>): Slot<T> | undefined {
  for (const s of stage) if (!s.progressed) return s;
  return undefined;
}

/** The table of slots. */
export class ConnectionManager<T> {
  readonly #l: ManagerLimits;
  /** Whether an open slot may be closed to admit a newcomer (no topic uses it). */
  readonly #idle: (slot: Slot<T>) => boolean;
  readonly #slots = new Set<Slot<T>>();
  /** Pending inbound slots not upgraded yet, in accept order. */
  readonly #upgrading = new Set<Slot<T>>();
  /** Pending inbound slots upgraded (handshake not finished), in upgrade order. */
  readonly #handshaking = new Set<Slot<T>>();
  readonly #pendingByIp = new Map<string, number>();
  readonly #pendingByGroup = new Map<string, number>();
  readonly #inByIp = new Map<string, number>();
  readonly #inByGroup = new Map<string, number>();
  readonly #total: TokenBucket;
  readonly #perIp: Lru<string, TokenBucket>;
  /** Slots evicted to admit newcomers. */
  evictions = 0;

  constructor(limits: ManagerLimits, idle: (slot: Slot<T>) => boolean, now: number) {
    this.#l = limits;
    this.#idle = idle;
    this.#total = new TokenBucket(limits.acceptRatePerSecond, limits.acceptBurst, now);
    this.#perIp = new Lru(limits.maxTrackedIps);
  }

  /** Slots held, open and pending. */
  get size(): number {
    return this.#slots.size;
  }

  /** Inbound slots still pending. */
  get pendingInbound(): number {
    return this.#upgrading.size + this.#handshaking.size;
  }

  /** Every slot (a copy, safe to close from). */
  all(): Slot<T>[] {
    return [...this.#slots];
  }

  /** Admits an inbound socket from `ip` (canonical) in `group` (undefined: exempt), or refuses it. */
  admitInbound(ip: string, group: string | undefined, owner: T, now: number): Admission<T> {
    const l = this.#l;
    if (group !== undefined) {
      let bucket = this.#perIp.get(ip);
      if (bucket === undefined) {
        bucket = new TokenBucket(l.acceptRatePerIpPerSecond, l.acceptBurstPerIp, now);
        this.#perIp.set(ip, bucket);
      }
      if (!bucket.take(now)) return { ok: false, reason: 'accept-rate-ip' };
      if ((this.#pendingByIp.get(ip) ?? 0) >= l.maxPendingPerIp) return { ok: false, reason: 'pending-ip' };
      if ((this.#pendingByGroup.get(group) ?? 0) >= l.maxPendingPerPrefix)
        return { ok: false, reason: 'pending-prefix' };
      if ((this.#inByIp.get(ip) ?? 0) >= l.maxConnectionsPerIp)
        return { ok: false, reason: 'connections-ip' };
      if ((this.#inByGroup.get(group) ?? 0) >= l.maxConnectionsPerPrefix)
        return { ok: false, reason: 'connections-prefix' };
    }
    // The HTTP stage full: the socket accepted longest ago (none of them has made any progress) goes.
    if (this.#upgrading.size >= Math.min(l.maxPendingUpgrades, l.maxConnections)) {
      const victim = stalled(this.#upgrading);
      if (victim === undefined) return { ok: false, reason: 'pending-full' };
      this.#evict(victim);
    }
    if (this.#slots.size >= l.maxConnections && !this.#makeRoom()) return { ok: false, reason: 'table-full' };
    const slot = this.#slot(true, ip, group, owner, now);
    this.#upgrading.add(slot);
    inc(this.#pendingByIp, slot.ip, 1);
    inc(this.#pendingByGroup, slot.group, 1);
    if (group !== undefined) {
      inc(this.#inByIp, ip, 1);
      inc(this.#inByGroup, group, 1);
    }
    return { ok: true, slot };
  }

  /** A slot for an outbound dial, or undefined when the table is full and nothing can make room. */
  admitOutbound(owner: T, now: number): Slot<T> | undefined {
    if (this.#slots.size >= this.#l.maxConnections && !this.#makeRoom()) return undefined;
    return this.#slot(false, undefined, undefined, owner, now);
  }

  /**
   * An inbound slot's WebSocket upgrade is done: it moves to the handshake stage. When that stage is
   * full, the slot upgraded longest ago that has not sent message 1 is evicted for it; false when
   * every one has (the caller closes the socket: refusal `pending-full`).
   */
  upgraded(slot: Slot<T>, now: number): boolean {
    if (!this.#upgrading.has(slot)) return !slot.released;
    if (this.#handshaking.size >= Math.min(this.#l.maxPendingInbound, this.#l.maxConnections)) {
      const victim = stalled(this.#handshaking);
      if (victim === undefined) return false;
      this.#evict(victim);
    }
    this.#upgrading.delete(slot);
    this.#handshaking.add(slot);
    slot.upgraded = true;
    slot.stepAt = now;
    return true;
  }

  /**
   * An inbound slot's dialer sent its first message: the handshake starts, charged to the total accept
   * rate. False when that rate is spent: the caller closes the socket before doing any handshake work
   * (refusal `accept-rate`). Outbound slots and slots already progressed are not charged.
   */
  progressed(slot: Slot<T>, now: number): boolean {
    if (slot.progressed) return true;
    if (!this.#total.take(now)) return false;
    slot.progressed = true;
    return true;
  }

  /** The slot's handshake finished with `peer`. */
  opened(slot: Slot<T>, peer: PeerId, now: number): void {
    if (slot.released || !slot.pending) return;
    slot.pending = false;
    slot.progressed = true;
    slot.peer = peer;
    slot.idleSince = now;
    if (slot.inbound) this.#unpend(slot);
  }

  /** Gives a slot back (its socket closed). Idempotent. */
  release(slot: Slot<T>): void {
    if (slot.released) return;
    slot.released = true;
    this.#slots.delete(slot);
    if (slot.pending && slot.inbound) this.#unpend(slot);
    if (slot.inbound && slot.group !== undefined) {
      inc(this.#inByIp, slot.ip, -1);
      inc(this.#inByGroup, slot.group, -1);
    }
  }

  #slot(inbound: boolean, ip: string | undefined, group: string | undefined, owner: T, now: number): Slot<T> {
    const slot: Slot<T> = {
      inbound,
      ip,
      group,
      pending: true,
      upgraded: !inbound,
      progressed: !inbound,
      since: now,
      stepAt: now,
      idleSince: now,
      peer: undefined,
      owner,
      evict: () => {},
      released: false,
    };
    this.#slots.add(slot);
    return slot;
  }

  #unpend(slot: Slot<T>): void {
    if (!this.#upgrading.delete(slot) && !this.#handshaking.delete(slot)) return;
    inc(this.#pendingByIp, slot.ip, -1);
    inc(this.#pendingByGroup, slot.group, -1);
  }

  /** Evicts the pending inbound slot longest without progress, of either stage (never one that sent message 1). */
  #evictPending(): boolean {
    const http = stalled(this.#upgrading);
    const ws = stalled(this.#handshaking);
    const victim = http !== undefined && (ws === undefined || http.stepAt <= ws.stepAt) ? http : ws;
    if (victim === undefined) return false;
    this.#evict(victim);
    return true;
  }

  /** Frees one slot of a full table: an idle open slot (idle longest), else a pending one. */
  #makeRoom(): boolean {
    let victim: Slot<T> | undefined;
    for (const s of this.#slots) {
      if (s.pending || !this.#idle(s)) continue;
      if (victim === undefined || s.idleSince < victim.idleSince) victim = s;
    }
    if (victim !== undefined) {
      this.#evict(victim);
      return true;
    }
    return this.#evictPending();
  }

  #evict(slot: Slot<T>): void {
    this.evictions++;
    this.release(slot);
    slot.evict();
  }
}
