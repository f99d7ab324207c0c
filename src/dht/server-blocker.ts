/**
 * Per-IP rate limit with temporary blocking, after libtorrent's DHT DoS blocker (settings
 * `dht_block_ratelimit`, `dht_block_timeout`):
 *
 * - each address gets a window of {@link RATE_WINDOW_MS} from its first counted message; reaching
 *   `rate × window` messages before the window ends blocks it (an average rate above `rate` per
 *   second over the window). A window that ends below the threshold starts afresh;
 * - a blocked address is ignored (its datagrams are dropped unread) until it has been silent for
 *   `blockMs`: every datagram it sends while blocked restarts the block, so an address that keeps
 *   flooding stays blocked. After that its next message starts a new window.
 *
 * libtorrent tracks 20 addresses and replaces the one with the fewest messages. Here up to
 * `maxTracked` addresses are tracked, the least recently heard one forgotten first (a blocked
 * address that keeps sending stays recent, so only `maxTracked` other senders in a row can flush it).
 *
 * Pure: no I/O, no clock (callers pass `now` in ms, monotonic).
 */
import { Lru } from '../crypto/lru.js';

/** The window over which a rate is averaged (libtorrent's DoS blocker: 10 s). */
export const RATE_WINDOW_MS = 10_000;

export interface BlockerOptions {
  /** Messages per second per address, averaged over {@link RATE_WINDOW_MS}. */
  readonly rate: number;
  /** How long an address stays blocked after its last datagram. */
  readonly blockMs: number;
  /** Addresses tracked at once. */
  readonly maxTracked: number;
}

interface Entry {
  /** Messages counted in the current window. */
  count: number;
  windowEnd: number;
  /** 0 when not blocked. */
  blockedUntil: number;
}

export class IpBlocker {
  readonly #blockMs: number;
  /** Messages in one window that block an address. */
  readonly #threshold: number;
  /** The `maxTracked` most recently heard addresses. */
  readonly #entries: Lru<string, Entry>;

  constructor(options: BlockerOptions) {
    if (!(options.rate > 0)) throw new RangeError(`"rate" expected a number > 0, got ${options.rate}`);
    if (!Number.isSafeInteger(options.maxTracked) || options.maxTracked < 1) {
      throw new RangeError(`"maxTracked" expected an integer ≥ 1, got ${options.maxTracked}`);
    }
    this.#blockMs = options.blockMs;
    this.#entries = new Lru(options.maxTracked);
    this.#threshold = Math.max(1, Math.ceil((options.rate * RATE_WINDOW_MS) / 1000));
  }

  /** Addresses tracked now. */
  get tracked(): number {
    return this.#entries.size;
  }

  /**
   * True when `ip` is blocked: the datagram is to be dropped, and the block restarts. A block that
   * has run out is lifted here (so the address starts a fresh window).
   */
  blocked(ip: string, now: number): boolean {
    const entry = this.#entries.get(ip);
    if (entry === undefined || entry.blockedUntil === 0) return false;
    if (now < entry.blockedUntil) {
      entry.blockedUntil = now + this.#blockMs;
      return true;
    }
    entry.blockedUntil = 0;
    entry.count = 0;
    entry.windowEnd = 0;
    return false;
  }

  /** Counts one message from `ip`; true when it reached the threshold and `ip` is now blocked. */
  count(ip: string, now: number): boolean {
    let entry = this.#entries.get(ip);
    if (entry === undefined) {
      entry = { count: 0, windowEnd: 0, blockedUntil: 0 };
      this.#entries.set(ip, entry);
    }
    if (now >= entry.windowEnd) {
      entry.count = 0;
      entry.windowEnd = now + RATE_WINDOW_MS;
    }
    entry.count++;
    if (entry.count < this.#threshold || entry.blockedUntil !== 0) return false;
    entry.blockedUntil = now + this.#blockMs;
    return true;
  }
}
