/**
 * Keeping the routing table alive (BEP 5 "Routing Table"), beside bittorrent-dht, whose own bootstrap
 * and refresh we leave off: k-rpc removes a node whose query timed out, and nothing ever adds nodes
 * back, so after an outage of every node we knew, the table stays empty (or holds the few nodes that
 * lived through it) for good (`krpc.ts`, defect 6).
 *
 * One unref'd interval timer (`checkMs`, started by `start()`, cleared by `close()`) does two things:
 * 1. **Bucket refresh** (BEP 5: "Buckets that have not been changed in 15 minutes should be refreshed"
 *    by a `find_node` walk toward a random id in the bucket's range). Bucket i holds the nodes whose id
 *    shares exactly i leading bits with ours, the deepest bucket (the one holding our own id) every node
 *    sharing at least `depth` bits, like the tree k-bucket builds by splitting the bucket holding our
 *    id. A bucket's "last changed" is the newest `seen` of its nodes (k-rpc stamps `seen` on every query
 *    and reply from a node), or when we last walked toward it, so an empty bucket is walked once per
 *    period. The walks' timeouts also take the dead nodes out of the table. At most
 *    {@link MAX_REFRESH_WALKS} walks run at once, the stalest buckets first.
 * 2. **Re-bootstrap** from the configured bootstrap nodes when the table holds fewer than
 *    `rebootstrapBelowNodes` nodes, or when no query has been answered for `rebootstrapSilenceMs`
 *    while queries were sent (we are cut off, or every node we know is gone). A re-bootstrap sends a
 *    `find_node` toward our id to every bootstrap address directly (a walk uses them only while the
 *    table is smaller than their list), and when one answers (k-rpc then adds it to the table), walks
 *    toward our own id from the table. One that does not restore the table delays the next by an
 *    exponential back-off, `rebootstrapMinDelayMs` doubling up to `rebootstrapMaxDelayMs`; one that
 *    does resets it.
 *
 * `Dht.create`'s own bootstrap walk, retried until `bootstrapTimeoutMs`, is in `bootstrap.ts`.
 */
import { randomBytes } from 'node:crypto';
import type { HostPort } from './config.js';

/** Bucket refresh walks in flight at once (guess: a refresh is background work; walks are 16 wide). */
export const MAX_REFRESH_WALKS = 2;
/** Id length of the mainline DHT (BEP 5: 160-bit ids). */
const ID_BITS = 160;

/** Counters of {@link Liveness}, updated in place. */
export interface LivenessStats {
  /** Bucket refresh walks started. */
  bucketRefreshes: number;
  /** Re-bootstraps started (table below the threshold, or every query unanswered for a while). */
  rebootstraps: number;
  /** Re-bootstraps in which at least one bootstrap node answered. */
  rebootstrapsAnswered: number;
  /** `find_node` queries sent to bootstrap addresses by re-bootstraps. */
  rebootstrapQueries: number;
}

export function createLivenessStats(): LivenessStats {
  return { bucketRefreshes: 0, rebootstraps: 0, rebootstrapsAnswered: 0, rebootstrapQueries: 0 };
}

/** The liveness options with defaults filled in (`DhtConfig['liveness']`). */
export interface LivenessConfig {
  readonly bucketRefreshMs: number;
  readonly checkMs: number;
  readonly rebootstrapBelowNodes: number;
  readonly rebootstrapSilenceMs: number;
  readonly rebootstrapMinDelayMs: number;
  readonly rebootstrapMaxDelayMs: number;
}

/** A routing-table entry as {@link staleBuckets} reads it (`seen`: k-rpc's stamp, ms since epoch). */
export interface SeenContact {
  readonly id: Uint8Array;
  readonly seen?: number;
}

/** What {@link Liveness} needs from its Dht. */
export interface LivenessHost {
  /** Our node id. */
  readonly id: Uint8Array;
  /** Nodes in the routing table. */
  nodeCount(): number;
  /** Every routing-table entry. */
  nodes(): readonly SeenContact[];
  /** Calls `listener` on every response the socket reads (see `KrpcNode.onResponse`); returns its remover. */
  onResponse(listener: () => void): () => void;
  /** The resolved bootstrap addresses (empty: nothing to bootstrap from). */
  readonly bootstrap: readonly HostPort[];
  readonly config: LivenessConfig;
  readonly stats: LivenessStats;
  /** Queries our walks and puts have sent so far (a counter). */
  queriesSent(): number;
  /**
   * Sends one `find_node` query toward `target` the way the Dht's own go (through its pacer); `cb` runs
   * once, with whether it was answered.
   */
  findNode(to: { host: string; port: number }, target: Uint8Array, cb: (ok: boolean) => void): void;
  /** A `find_node` walk toward `target` (`Dht.refresh`); its rejection (e.g. CLOSED) is ignored. */
  refresh(target: Uint8Array): Promise<unknown>;
  /** Milliseconds, on the clock of k-rpc's `seen` stamps (default `Date.now`). */
  now?: () => number;
}

/** Bucket refresh and re-bootstrap of one Dht (module comment). */
export class Liveness {
  readonly #host: LivenessHost;
  readonly #now: () => number;
  readonly #id: Uint8Array;
  /** When we last walked toward bucket i (its "last changed" when none of its nodes was seen since). */
  readonly #walkedAt = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #offResponse: (() => void) | undefined;
  #closed = false;
  #startedAt = 0;
  #refreshing = 0;
  #rebootstrapping = false;
  /** Re-bootstraps in a row that did not restore the table (the back-off exponent). */
  #failures = 0;
  #nextRebootstrapAt = 0;
  #lastResponseAt = 0;
  #sentAtLastResponse = 0;
  readonly #onResponse = (): void => {
    this.#lastResponseAt = this.#now();
    this.#sentAtLastResponse = this.#host.queriesSent();
  };

  constructor(host: LivenessHost) {
    this.#host = host;
    this.#now = host.now ?? Date.now;
    this.#id = new Uint8Array(host.id);
  }

  /** Starts the check timer (unref'd: it never keeps the process alive). Idempotent. */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#startedAt = this.#now();
    this.#onResponse();
    this.#offResponse = this.#host.onResponse(this.#onResponse);
    this.#timer = setInterval(() => this.#check(), this.#host.config.checkMs);
    this.#timer.unref();
  }

  /** Clears the timer; walks in flight are ended by the Dht's own close. Idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#offResponse?.();
    this.#offResponse = undefined;
  }

  #check(): void {
    if (this.#closed) return;
    const now = this.#now();
    const reason = this.#rebootstrapReason(now);
    if (reason && !this.#rebootstrapping && now >= this.#nextRebootstrapAt) void this.#rebootstrap(reason);
    this.#refreshStaleBuckets(now);
  }

  #rebootstrapReason(now: number): 'small' | 'silent' | undefined {
    const { rebootstrapBelowNodes, rebootstrapSilenceMs } = this.#host.config;
    if (this.#host.bootstrap.length === 0) return undefined;
    if (this.#host.nodeCount() < rebootstrapBelowNodes) return 'small';
    const unanswered = this.#host.queriesSent() > this.#sentAtLastResponse;
    if (unanswered && now - this.#lastResponseAt >= rebootstrapSilenceMs) return 'silent';
    return undefined;
  }

  async #rebootstrap(reason: 'small' | 'silent'): Promise<void> {
    const { stats, config, bootstrap } = this.#host;
    this.#rebootstrapping = true;
    stats.rebootstraps++;
    try {
      const answers = await Promise.all(bootstrap.map((b) => this.#findSelf(b)));
      if (this.#closed) return;
      const answered = answers.some(Boolean);
      if (answered) {
        stats.rebootstrapsAnswered++;
        // The answering nodes are in the table by now (k-rpc adds a responder right after our
        // callback): a walk toward our id from them fills the buckets near us, and the nodes it asks
        // add us to theirs (BEP 5 bootstrap).
        await this.#host.refresh(this.#id).catch(() => undefined);
        if (this.#closed) return;
      }
      const restored =
        answered && (reason === 'silent' || this.#host.nodeCount() >= config.rebootstrapBelowNodes);
      this.#failures = restored ? 0 : this.#failures + 1;
      this.#nextRebootstrapAt = this.#now() + (restored ? 0 : backoffMs(this.#failures, config));
      if (answered) this.#onResponse();
    } finally {
      this.#rebootstrapping = false;
    }
  }

  /** One `find_node` toward our id, straight to a bootstrap address; resolves with whether it answered. */
  #findSelf(node: HostPort): Promise<boolean> {
    const { stats } = this.#host;
    return new Promise((resolve) => {
      if (this.#closed) return resolve(false);
      stats.rebootstrapQueries++;
      try {
        this.#host.findNode({ host: node.host, port: node.port }, this.#id, resolve);
      } catch {
        resolve(false); // the socket is gone (closing)
      }
    });
  }

  #refreshStaleBuckets(now: number): void {
    const { bucketRefreshMs } = this.#host.config;
    const stale = staleBuckets(this.#id, this.#host.nodes(), this.#walkedAt, this.#startedAt)
      .filter((b) => now - b.changedAt >= bucketRefreshMs)
      .sort((a, b) => a.changedAt - b.changedAt);
    for (const bucket of stale) {
      if (this.#refreshing >= MAX_REFRESH_WALKS || this.#closed) return;
      this.#walkedAt.set(bucket.index, now);
      this.#host.stats.bucketRefreshes++;
      this.#refreshing++;
      const target = randomIdInBucket(this.#id, bucket.index, bucket.deepest);
      void this.#host
        .refresh(target)
        .catch(() => undefined)
        .finally(() => {
          this.#refreshing--;
        });
    }
  }
}

/** Delay after the `failures`-th re-bootstrap in a row that did not restore the table. */
export function backoffMs(
  failures: number,
  config: Pick<LivenessConfig, 'rebootstrapMinDelayMs' | 'rebootstrapMaxDelayMs'>,
): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(config.rebootstrapMinDelayMs * 2 ** exponent, config.rebootstrapMaxDelayMs);
}

/** Leading bits `a` and `b` share (160 when equal). */
export function sharedPrefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return a.length * 8;
}

/**
 * The buckets of a table (module comment) and when each last changed: buckets 0 … depth, where depth
 * is the longest prefix any node shares with `self` (capped below 160), bucket `depth` being the deepest.
 */
export function staleBuckets(
  self: Uint8Array,
  contacts: readonly SeenContact[],
  walkedAt: ReadonlyMap<number, number>,
  since: number,
): { index: number; deepest: boolean; changedAt: number }[] {
  const prefixes = contacts.map((c) => Math.min(sharedPrefixBits(self, c.id), ID_BITS - 1));
  const depth = prefixes.reduce((m, p) => Math.max(m, p), 0);
  const seen = new Array<number>(depth + 1).fill(since);
  for (const [i, c] of contacts.entries()) {
    const bucket = Math.min(prefixes[i]!, depth);
    seen[bucket] = Math.max(seen[bucket]!, c.seen ?? 0);
  }
  return seen.map((changedAt, index) => ({
    index,
    deepest: index === depth,
    changedAt: Math.max(changedAt, walkedAt.get(index) ?? 0),
  }));
}

/**
 * A random id in bucket `index`: our first `index` bits, then (unless it is the deepest bucket, which
 * also holds ids sharing more bits) bit `index` flipped, then random bits.
 */
export function randomIdInBucket(self: Uint8Array, index: number, deepest: boolean): Uint8Array {
  const id = new Uint8Array(randomBytes(self.length));
  for (let bit = 0; bit < index; bit++) setBit(id, bit, getBit(self, bit));
  if (!deepest) setBit(id, index, getBit(self, index) ^ 1);
  return id;
}

const getBit = (b: Uint8Array, bit: number): number => (b[bit >> 3]! >> (7 - (bit & 7))) & 1;
function setBit(b: Uint8Array, bit: number, value: number): void {
  const mask = 1 << (7 - (bit & 7));
  b[bit >> 3] = value ? b[bit >> 3]! | mask : b[bit >> 3]! & ~mask;
}
