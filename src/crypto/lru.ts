/**
 * `Lru`: a Map bounded to `max` entries that drops the least recently used one when full. The bounded
 * caches of the layers above share it (imported public keys in src/native, verified BEP 44 items and
 * handed-out tokens and the per-IP rate table of the serving node in src/dht, opened records in
 * src/tracker): each holds what remote peers can make
 * it hold, so each needs a bound.
 * Pure: no I/O, no clock. Internal (not re-exported by `index.ts`).
 */
export class Lru<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();

  /** @throws {RangeError} when `max` is not an integer ≥ 1. */
  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`"max" expected integer >= 1, got ${max}`);
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value of `key`, which becomes the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  /** The value of `key` without making it the most recently used; undefined when absent. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  /** Sets `key` (the most recently used now), dropping the least recently used entry when full. */
  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as K);
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** The values, least recently used first; reading them does not change the order. */
  values(): IterableIterator<V> {
    return this.#map.values();
  }
}
