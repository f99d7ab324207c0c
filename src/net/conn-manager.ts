/**
 * The connection manager (PROTOCOL.md §9.8): admission and accounting of every socket the transport
 * holds, driven by the transport (which owns the sockets, the timers and the `inUse` question). Clock
 * passed in as `now`.
 *
 * A slot is taken at TCP accept (inbound) or just before a dial's socket is made (outbound), and
 * given back when that socket closes. A slot is *pending* until its handshake finishes, then *open*.
 * An inbound pending slot moves through stages: accepted (TCP), upgraded (WebSocket), progressed
 * (the dialer's Noise message 1 arrived).
 *
 * Admission of an inbound socket, cheapest checks first, so that a flood from one IP is refused by
 * its own limits before it can drain the shared ones:
 *   1. per-IP accept rate (token bucket; IPs tracked in an LRU);
 *   2. per-IP and per-prefix caps on pending, then on all inbound (pending + open) slots;
 *   3. total accept rate;
 *   4. pending inbound full: a pending inbound slot that has not progressed is dropped (`evicted`)
 *      to admit the newcomer, the least advanced first (accepted before upgraded), the oldest among
 *      those; else the newcomer is refused. An honest dialer upgrades and sends message 1 within a
 *      round trip or two, so a flood of silent sockets evicts its own kind first;
 *   5. table full (`maxConnections`, open + pending, both directions): the open slot idle longest
 *      among those the transport calls idle (no topic, lingering) is closed (`evicted`), else a
 *      pending inbound slot without progress (as in 4), else the newcomer is refused.
 * Steps 1-2 skip a socket whose netGroup is undefined (a peer on one of our own hosts): a
 * one-machine testnet is limited by the totals only. An outbound dial goes through step 5 only; our
 * own dials are bounded by the dial bounds, not by per-IP caps.
 */
import { Lru } from '../crypto/lru.js';
import { TokenBucket } from '../proto/budget.js';
import type { PeerId } from '../proto/types.js';
import type { TransportConfig } from './config.js';

/** Why an inbound socket was refused at accept. */
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

/** The table of slots. */
export class ConnectionManager<T> {
  readonly #l: ManagerLimits;
  /** Whether an open slot may be closed to admit a newcomer (no topic uses it). */
  readonly #idle: (slot: Slot<T>) => boolean;
  readonly #slots = new Set<Slot<T>>();
  readonly #pendingIn = new Set<Slot<T>>();
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
    return this.#pendingIn.size;
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
    if (!this.#total.take(now)) return { ok: false, reason: 'accept-rate' };
    if (this.#pendingIn.size >= Math.min(l.maxPendingInbound, l.maxConnections)) {
      if (!this.#evictPending()) return { ok: false, reason: 'pending-full' };
    }
    if (this.#slots.size >= l.maxConnections && !this.#makeRoom()) return { ok: false, reason: 'table-full' };
    const slot = this.#slot(true, ip, group, owner, now);
    this.#pendingIn.add(slot);
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

  /** An inbound slot's WebSocket upgrade is done. */
  upgraded(slot: Slot<T>): void {
    slot.upgraded = true;
  }

  /** An inbound slot's dialer sent its first message. */
  progressed(slot: Slot<T>): void {
    slot.progressed = true;
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
    if (!this.#pendingIn.delete(slot)) return;
    inc(this.#pendingByIp, slot.ip, -1);
    inc(this.#pendingByGroup, slot.group, -1);
  }

  /** Evicts a pending inbound slot without progress: the oldest not upgraded, else the oldest. */
  #evictPending(): boolean {
    // Insertion order is accept order.
    let victim: Slot<T> | undefined;
    for (const s of this.#pendingIn) {
      if (s.progressed) continue;
      if (!s.upgraded) {
        victim = s;
        break;
      }
      victim ??= s;
    }
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
