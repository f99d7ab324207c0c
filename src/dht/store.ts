/**
 * The BEP 44 items this node stores for other nodes (the `put`s `serve.ts` accepts), with three bounds
 * bittorrent-dht's store lacks (it keeps the 1,000 most recently *read or written* items, forever):
 *
 * - **Lifetime.** BEP 44 ("Expiration"): items not re-announced MAY expire after 2 hours, and should be
 *   re-announced hourly. An item expires `lifetimeMs` after it was last stored or refreshed (an
 *   identical re-put; see `serve.ts`); reads never keep an item alive. Expired items are dropped
 *   lazily: the oldest ones on every store, and any item a read finds expired.
 * - **A share per source.** One source (an IPv4 address; on loopback, address and port, see
 *   {@link ownerOf}) holds at most `maxPerOwner` items: its next new item replaces its own least
 *   recently refreshed one, so a flood from one address only churns its own share.
 * - **A cap on items** (libtorrent `dht_max_dht_items`; ours is the Dht option `maxStoredValues`). When
 *   full, a new item replaces the least recently refreshed item of the source holding the most, so
 *   items from sources that store little (honest nodes, to a storing node close to their targets)
 *   are the last to go. Sources are kept in buckets by item count, so the heaviest is found in O(1).
 *
 * Every item stays charged to the source that first stored it, whoever re-puts or updates it later:
 * a flooder that replays other sources' items does not make them part of its own share, which its
 * flood then churns out.
 *
 * Pure: no I/O, no clock (callers pass `now` in ms, monotonic). Stats are updated in place.
 */

/**
 * A stored item, in the shape of bittorrent-dht's item store (which ours replaces, `krpc.ts`);
 * `Dht.getAll` reads it.
 */
export interface StoredValue {
  /** The value: a byte string for our items, any bencoded value for others' immutable items. */
  readonly v: unknown;
  readonly id: Buffer;
  readonly k?: Buffer;
  readonly sig?: Buffer;
  readonly seq?: number;
  readonly salt?: Buffer;
}

/** Counters of the store, updated in place. */
export interface StoreStats {
  /** Items stored now. */
  items: number;
  /** Items dropped, by why: expired, replaced within their source's share, or the store was full. */
  itemsEvicted: { expired: number; share: number; full: number };
}

export interface ItemStoreOptions {
  /** Items in all. */
  readonly maxItems: number;
  /** Items one source may hold. */
  readonly maxPerOwner: number;
  /** An item expires this long after it was last stored or refreshed. */
  readonly lifetimeMs: number;
}

interface Entry {
  readonly target: string;
  value: StoredValue;
  owner: string;
  storedAt: number;
}

/**
 * The source an item is charged to: its IPv4 address, or address:port on loopback, where a testnet
 * runs all its nodes on one address and each local socket is its own source.
 */
export function ownerOf(address: string, port: number): string {
  return address.startsWith('127.') ? `${address}:${port}` : address;
}

export class ItemStore {
  readonly #options: ItemStoreOptions;
  readonly #stats: StoreStats;
  /** Every item by hex target, least recently stored or refreshed first. */
  readonly #items = new Map<string, Entry>();
  /** Each source's items, least recently stored or refreshed first. */
  readonly #owners = new Map<string, Map<string, Entry>>();
  /** Sources by how many items they hold (count ≥ 1). */
  readonly #byCount = new Map<number, Set<string>>();
  #maxCount = 0;

  constructor(options: ItemStoreOptions, stats: StoreStats) {
    for (const [name, value] of Object.entries(options)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`"${name}" expected an integer ≥ 1, got ${value}`);
      }
    }
    this.#options = options;
    this.#stats = stats;
  }

  get size(): number {
    return this.#items.size;
  }

  /** The item stored under `target` (hex), unless absent or expired (then it is dropped). */
  get(target: string, now: number): StoredValue | undefined {
    const entry = this.#items.get(target);
    if (entry === undefined) return undefined;
    if (this.#expired(entry, now)) {
      this.#remove(entry);
      this.#stats.itemsEvicted.expired++;
      return undefined;
    }
    return entry.value;
  }

  /**
   * Stores `value` under `target` (a new item, charged to `owner`, or a newer version of a stored one,
   * which keeps its source), making room as the module comment says. The caller has checked everything
   * else (token, size, signature).
   */
  set(target: string, value: StoredValue, owner: string, now: number): void {
    this.#sweep(now);
    const entry = this.#items.get(target);
    if (entry !== undefined) {
      entry.value = value;
      this.#touch(entry, now);
      return;
    }
    const own = this.#owners.get(owner);
    if (own !== undefined && own.size >= this.#options.maxPerOwner) {
      this.#remove(first(own));
      this.#stats.itemsEvicted.share++;
    } else if (this.#items.size >= this.#options.maxItems) {
      this.#remove(first(this.#owners.get(first(this.#byCount.get(this.#maxCount)!))!));
      this.#stats.itemsEvicted.full++;
    }
    const added: Entry = { target, value, owner, storedAt: now };
    this.#items.set(target, added);
    this.#addToOwner(added);
  }

  /** Restarts the lifetime of the item under `target` (an identical re-put); false when there is none. */
  refresh(target: string, now: number): boolean {
    const entry = this.#items.get(target);
    if (entry === undefined || this.get(target, now) === undefined) return false;
    this.#touch(entry, now);
    return true;
  }

  /** Moves `entry` to the back of the refresh order, in all and within its source's items. */
  #touch(entry: Entry, now: number): void {
    entry.storedAt = now;
    this.#items.delete(entry.target);
    this.#items.set(entry.target, entry);
    const own = this.#owners.get(entry.owner)!;
    own.delete(entry.target);
    own.set(entry.target, entry);
  }

  #expired(entry: Entry, now: number): boolean {
    return now - entry.storedAt >= this.#options.lifetimeMs;
  }

  /** Drops the expired items at the head of the refresh order. */
  #sweep(now: number): void {
    for (const entry of this.#items.values()) {
      if (!this.#expired(entry, now)) return;
      this.#remove(entry);
      this.#stats.itemsEvicted.expired++;
    }
  }

  #remove(entry: Entry): void {
    this.#items.delete(entry.target);
    this.#removeFromOwner(entry);
    this.#stats.items = this.#items.size;
  }

  #addToOwner(entry: Entry): void {
    let own = this.#owners.get(entry.owner);
    if (own === undefined) {
      own = new Map();
      this.#owners.set(entry.owner, own);
    }
    const before = own.size;
    own.set(entry.target, entry);
    this.#recount(entry.owner, before, own.size);
    this.#stats.items = this.#items.size;
  }

  #removeFromOwner(entry: Entry): void {
    const own = this.#owners.get(entry.owner)!;
    const before = own.size;
    own.delete(entry.target);
    if (own.size === 0) this.#owners.delete(entry.owner);
    this.#recount(entry.owner, before, own.size);
  }

  /** Moves `owner` from the bucket of `before` items to that of `after`. */
  #recount(owner: string, before: number, after: number): void {
    if (before === after) return;
    if (before > 0) {
      const bucket = this.#byCount.get(before)!;
      bucket.delete(owner);
      if (bucket.size === 0) {
        this.#byCount.delete(before);
        if (this.#maxCount === before && after < before) this.#maxCount = after;
      }
    }
    if (after > 0) {
      let bucket = this.#byCount.get(after);
      if (bucket === undefined) {
        bucket = new Set();
        this.#byCount.set(after, bucket);
      }
      bucket.add(owner);
      if (after > this.#maxCount) this.#maxCount = after;
    }
  }
}

function first<T>(items: Map<string, T> | Set<T>): T {
  return items.values().next().value as T;
}
