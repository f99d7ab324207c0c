/**
 * The one deadline structure of the codebase: a binary min-heap of values ordered by deadline, equal
 * deadlines in insertion order (so a run is deterministic). Pure; the actor's timers
 * (src/net/timers.ts) and the simulator's event queue (test/sim/sim.ts) both use it, as iroh-gossip's
 * actor and simulator share its `TimerMap` (ARCHITECTURE.md "Gossip core").
 */

interface Entry<T> {
  at: number;
  seq: number;
  value: T;
}

/** Values of type T keyed by a deadline `at` (any unit; callers use ms). */
export class DeadlineHeap<T> {
  readonly #items: Entry<T>[] = [];
  #seq = 0;

  /** Number of values held. */
  get size(): number {
    return this.#items.length;
  }

  /** The earliest deadline, or undefined when empty. */
  peekAt(): number | undefined {
    return this.#items[0]?.at;
  }

  /** The value with the earliest deadline (first inserted among equals), without removing it. */
  peek(): T | undefined {
    return this.#items[0]?.value;
  }

  /** Adds `value` due at `at`. */
  push(at: number, value: T): void {
    const h = this.#items;
    h.push({ at, seq: this.#seq++, value });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Removes and returns the value {@link peek} returns. */
  pop(): T | undefined {
    const h = this.#items;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top?.value;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
    return top.value;
  }

  /** Drops every value. */
  clear(): void {
    this.#items.length = 0;
  }
}

function before<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
