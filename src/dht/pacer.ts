/**
 * Pacing of the queries our node sends to one node address (host:port), so no normal or retrying
 * operation trips a remote rate limit. libtorrent (`dht_block_ratelimit`, default 5) counts the packets
 * of each IP from the first of a 10 s window and, at 50 within it, ignores that IP for
 * `dht_block_timeout` (300 s): a tight read loop or a burst of retries would get us banned.
 *
 * Algorithm: GCRA, the generic cell rate algorithm (a token bucket kept as one number per address):
 * every address has a theoretical arrival time `tat`; a query may go at max(now, tat − (burst − 1)·T),
 * T = 1 s / rate, and moves `tat` on by T. So any window of length W holds at most burst + W/T queries
 * (16 + 10·2.8 = 44 < 50 with the defaults). A query that may not go now waits; at most `maxQueued` wait
 * per address (a query beyond them is refused: a walk skips that node rather than wait). An address
 * whose `tat` has passed is forgotten (it is as good as new); at most `maxTracked` are held.
 *
 * {@link PaceState} is the pure state (time passed in). {@link QueryPacer} runs it with timers and adds
 * up to `jitterMs` of random delay to waiting queries (a delay only ever lowers the rate). Queries to a
 * host in `unpaced` (nodes known not to rate-limit us, such as a testnet's) skip the pace altogether.
 */
import {
  DEFAULT_PACE_BURST,
  DEFAULT_PACE_JITTER_MS,
  DEFAULT_PACE_MAX_QUEUED,
  DEFAULT_PACE_PER_SECOND,
  DEFAULT_PACE_TRACKED,
} from './config.js';

/** Options of {@link PaceState} and {@link QueryPacer}; each defaults to its `DEFAULT_PACE_*`. */
export interface PaceOptions {
  /** Queries per second per address. */
  readonly perSecond?: number;
  /** Queries an address may get at once. */
  readonly burst?: number;
  /** Queries waiting per address. */
  readonly maxQueued?: number;
  /** Addresses tracked at once. */
  readonly maxTracked?: number;
}

/** Pure pacing state (see the module comment). */
export class PaceState {
  readonly #interval: number;
  readonly #tau: number;
  readonly #maxQueued: number;
  readonly #maxTracked: number;
  readonly #tat = new Map<string, number>();

  constructor(options: PaceOptions = {}) {
    this.#interval = 1000 / (options.perSecond ?? DEFAULT_PACE_PER_SECOND);
    this.#tau = ((options.burst ?? DEFAULT_PACE_BURST) - 1) * this.#interval;
    this.#maxQueued = options.maxQueued ?? DEFAULT_PACE_MAX_QUEUED;
    this.#maxTracked = options.maxTracked ?? DEFAULT_PACE_TRACKED;
  }

  /** Addresses tracked. */
  get tracked(): number {
    return this.#tat.size;
  }

  /**
   * Reserves a query to `address` at time `now` (ms): the delay before it may go (0: now), or
   * undefined when `maxQueued` queries already wait for it (or too many addresses are tracked).
   */
  reserve(address: string, now: number): number | undefined {
    const prev = this.#tat.get(address);
    if (prev === undefined && this.#tat.size >= this.#maxTracked) {
      this.#forget(now);
      if (this.#tat.size >= this.#maxTracked) return undefined;
    }
    const tat = Math.max(prev ?? now, now);
    const delay = Math.max(0, tat - this.#tau - now);
    // Queries already waiting: those reserved at or after `now` beyond the burst.
    if (delay > 0 && Math.ceil(delay / this.#interval - 1e-9) > this.#maxQueued) return undefined;
    this.#tat.set(address, tat + this.#interval);
    return delay;
  }

  /** Drops addresses whose `tat` has passed. */
  #forget(now: number): void {
    for (const [address, tat] of this.#tat) if (tat <= now) this.#tat.delete(address);
  }
}

/** {@link PaceState} with timers: runs each query now or when its turn comes. */
export class QueryPacer {
  readonly #state: PaceState;
  readonly #jitterMs: number;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #unpaced: ReadonlySet<string>;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(
    options: PaceOptions & {
      jitterMs?: number;
      random?: () => number;
      now?: () => number;
      /** Hosts sent to at once, unpaced, whatever the port. */
      unpaced?: readonly string[];
    } = {},
  ) {
    this.#state = new PaceState(options);
    this.#jitterMs = options.jitterMs ?? DEFAULT_PACE_JITTER_MS;
    this.#unpaced = new Set(options.unpaced ?? []);
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Queries waiting for their turn. */
  get waiting(): number {
    return this.#timers.size;
  }

  /**
   * Runs `send` now or at its turn for `host:port`; returns false (and never runs it) when that
   * address's queue is full or the pacer is closed.
   */
  run(to: { host: string; port: number }, send: () => void): boolean {
    if (this.#closed) return false;
    if (this.#unpaced.has(to.host)) {
      send();
      return true;
    }
    const delay = this.#state.reserve(`${to.host}:${to.port}`, this.#now());
    if (delay === undefined) return false;
    if (delay === 0) {
      send();
      return true;
    }
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        send();
      },
      delay + this.#random() * this.#jitterMs,
    );
    this.#timers.add(timer);
    return true;
  }

  /** Drops every waiting query (their operations are settled by their owner). */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
