/**
 * The actor's one timer structure: the pure deadline heap of src/proto/heap.ts (ordered by time, then
 * insertion) behind a single Node timer armed for the earliest one (iroh-gossip's timer map; timers
 * are data, ARCHITECTURE.md "Gossip core"). The Node timer is unref'd: sockets keep a live node's
 * process alive, not its protocol timers.
 */

import { DeadlineHeap } from '../proto/heap.js';

/** Deadlines of values of type T. */
export class TimerHeap<T> {
  readonly #heap = new DeadlineHeap<T>();
  readonly #fire: (value: T) => void;
  readonly #now: () => number;
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
    return this.#heap.size;
  }

  /** Fires `value` after `delayMs`. Ignored once closed. */
  schedule(delayMs: number, value: T): void {
    if (this.#closed) return;
    this.#heap.push(this.#now() + Math.max(0, delayMs), value);
    this.#arm();
  }

  /** Drops every deadline and the Node timer. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#heap.clear();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const at = this.#heap.peekAt();
    if (at === undefined || this.#closed) return;
    if (this.#timer !== undefined && this.#armedAt <= at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedAt = at;
    this.#timer = setTimeout(() => this.#run(), Math.max(0, Math.ceil(at - this.#now())));
    this.#timer.unref();
  }

  #run(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = this.#now();
    while (!this.#closed) {
      const at = this.#heap.peekAt();
      if (at === undefined || at > now) break;
      this.#fire(this.#heap.pop()!);
    }
    this.#arm();
  }
}
