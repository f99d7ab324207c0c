/**
 * Small bounded structures of the transport (PROTOCOL.md §9.8), clock passed in as `now` (ms):
 *
 * - `DialBounds`: per dialed address (host:port), a token bucket of `maxDialsPerAddressPerMinute`
 *   and an exponential back-off after failures (`base · 2^(failures-1)`, at most `max`, reset when a
 *   dial opens). The states live in an LRU of `maxStates` (a forgotten address starts afresh).
 * - `BanList`: banned peer ids with their end time, at most `max` (when full, expired entries go
 *   first, then the ban that ends first).
 */
import { Lru } from '../crypto/lru.js';
import { TokenBucket } from '../proto/budget.js';
import type { PeerId } from '../proto/types.js';

/** Why {@link DialBounds} refused a dial. */
export type DialRefusal = 'rate' | 'backoff';

/** Result of {@link DialBounds.take}. */
export type DialCheck = { ok: true } | { ok: false; reason: DialRefusal; retryInMs: number };

interface AddressState {
  bucket: TokenBucket;
  failures: number;
  retryAt: number;
}

/** Options of {@link DialBounds}. */
export interface DialBoundsOptions {
  perMinute: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxStates: number;
}

/** Dial rate and back-off per address. */
export class DialBounds {
  readonly #o: DialBoundsOptions;
  readonly #states: Lru<string, AddressState>;

  constructor(options: DialBoundsOptions) {
    this.#o = options;
    this.#states = new Lru(options.maxStates);
  }

  /** Addresses tracked. */
  get size(): number {
    return this.#states.size;
  }

  /** Admits one dial to `key` (and counts it), or says why not. */
  take(key: string, now: number): DialCheck {
    let s = this.#states.get(key);
    if (s === undefined) {
      s = {
        bucket: new TokenBucket(this.#o.perMinute / 60, this.#o.perMinute, now),
        failures: 0,
        retryAt: 0,
      };
      this.#states.set(key, s);
    }
    if (now < s.retryAt) return { ok: false, reason: 'backoff', retryInMs: Math.ceil(s.retryAt - now) };
    if (!s.bucket.take(now)) return { ok: false, reason: 'rate', retryInMs: s.bucket.waitMs(now) };
    return { ok: true };
  }

  /** A dial to `key` opened: the back-off starts over. */
  succeeded(key: string): void {
    const s = this.#states.get(key);
    if (s === undefined) return;
    s.failures = 0;
    s.retryAt = 0;
  }

  /** A dial to `key` failed: the next waits `base · 2^(failures-1)`, at most `max`. */
  failed(key: string, now: number): void {
    const s = this.#states.get(key);
    if (s === undefined) return;
    s.failures = Math.min(s.failures + 1, 31);
    s.retryAt = now + Math.min(this.#o.backoffMaxMs, this.#o.backoffBaseMs * 2 ** (s.failures - 1));
  }
}

/** Banned peers. */
export class BanList {
  readonly #max: number;
  readonly #until = new Map<PeerId, number>();

  constructor(max: number) {
    this.#max = max;
  }

  /** Entries held (some may have expired and not been pruned yet). */
  get size(): number {
    return this.#until.size;
  }

  /** Bans `peer` until `until` (a later end wins over an earlier one). */
  ban(peer: PeerId, until: number, now: number): void {
    const old = this.#until.get(peer);
    if (old !== undefined && old >= until) return;
    this.#until.delete(peer);
    if (this.#until.size >= this.#max) this.#prune(now);
    this.#until.set(peer, until);
  }

  /** Whether `peer` is banned at `now` (an expired ban is dropped). */
  isBanned(peer: PeerId, now: number): boolean {
    const until = this.#until.get(peer);
    if (until === undefined) return false;
    if (now < until) return true;
    this.#until.delete(peer);
    return false;
  }

  /** Drops expired bans, then, while still full, the one that ends first. */
  #prune(now: number): void {
    for (const [p, until] of this.#until) if (until <= now) this.#until.delete(p);
    while (this.#until.size >= this.#max) {
      let first: PeerId | undefined;
      let end = Number.POSITIVE_INFINITY;
      for (const [p, until] of this.#until) {
        if (until < end) {
          end = until;
          first = p;
        }
      }
      if (first === undefined) break;
      this.#until.delete(first);
    }
  }
}
