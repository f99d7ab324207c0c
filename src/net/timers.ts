/**
 * The actor's one timer structure: a binary min-heap of deadlines (ordered by time, then insertion)
 * behind a single Node timer armed for the earliest one (iroh-gossip's timer map; timers are data, ARCHITECTURE.md "Gossip core"). The
 * Node timer is unref'd: sockets keep a live node's process alive, not its protocol timers.
 */

interface Entry<T> {
  at: number;
  seq: number;
  value: T;
}

/** Deadlines of values of type T. */
export class TimerHeap<T> {
  readonly #heap: Entry<T>[] = [];
  readonly #fire: (value: T) => void;
  readonly #now: () => number;
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #armedAt = Number.POSITIVE_INFINITY;
  #closed = false;

  /** `fire` runs for each due value, in deadline order; `now` is a monotonic clock in ms. */
  constructor(fire: (value: T) => void, now: () => number) {
    this.#fire = fire;
    this.#now = now;
  }

  /** Number of pending deadlines. */
  get size(): number {
    return this.#heap.length;
  }

  /** Fires `value` after `delayMs`. Ignored once closed. */
  schedule(delayMs: number, value: T): void {
    if (this.#closed) return;
    const e: Entry<T> = { at: this.#now() + Math.max(0, delayMs), seq: this.#seq++, value };
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
    this.#arm();
  }

  /** Drops every deadline and the Node timer. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#heap.length = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #pop(): Entry<T> | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
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
    return top;
  }

  #arm(): void {
    const first = this.#heap[0];
    if (first === undefined || this.#closed) return;
    if (this.#timer !== undefined && this.#armedAt <= first.at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedAt = first.at;
    this.#timer = setTimeout(() => this.#run(), Math.max(0, Math.ceil(first.at - this.#now())));
    this.#timer.unref();
  }

  #run(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = this.#now();
    while (!this.#closed) {
      const first = this.#heap[0];
      if (first === undefined || first.at > now) break;
      this.#pop();
      this.#fire(first.value);
    }
    this.#arm();
  }
}

function before<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
