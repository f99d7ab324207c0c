/**
 * In-flight operations of a long-lived object. bittorrent-dht never calls back once destroyed, so every
 * promise `Dht` hands out is settled by `Dht` itself: by the operation's own logic, by its timer, by
 * its `AbortSignal`, or by `close()`. An {@link Operation} runs its cleanups (timers, listeners) exactly
 * once, when it settles, so nothing outlives it.
 */
import { GttError } from '../errors.js';

/** What an owner needs to track an operation of any result type. */
export interface Tracked {
  readonly settled: boolean;
  reject(error: unknown): void;
  defer(fn: () => void): void;
}

/** A promise its owner settles, with cleanups that run once on settling. */
export class Operation<T> implements Tracked {
  readonly promise: Promise<T>;
  #resolve!: (value: T) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  readonly #cleanups: (() => void)[] = [];

  /** Rejects with `GttError('ABORTED')` (cause: the signal's reason) when `signal` aborts. */
  constructor(signal?: AbortSignal) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (!signal) return;
    if (signal.aborted) {
      this.reject(GttError.aborted(signal.reason));
      return;
    }
    const onAbort = () => this.reject(GttError.aborted(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    this.defer(() => signal.removeEventListener('abort', onAbort));
  }

  /** True once resolved or rejected. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Resolves (first settle wins) and runs the cleanups. */
  resolve(value: T): void {
    if (this.#settled) return;
    this.#finish();
    this.#resolve(value);
  }

  /** Rejects (first settle wins) and runs the cleanups. */
  reject(error: unknown): void {
    if (this.#settled) return;
    this.#finish();
    this.#reject(error);
  }

  /** Runs `fn` when the operation settles (at once if it already has). */
  defer(fn: () => void): void {
    if (this.#settled) fn();
    else this.#cleanups.push(fn);
  }

  /** Calls `fn` after `ms` unless the operation settles first. Returns a canceller. */
  timer(ms: number, fn: () => void): () => void {
    const handle = setTimeout(fn, ms);
    const cancel = () => clearTimeout(handle);
    this.defer(cancel);
    return cancel;
  }

  #finish(): void {
    this.#settled = true;
    for (const fn of this.#cleanups.splice(0)) fn();
  }
}

/**
 * Waits for `promise`, or rejects with `GttError('ABORTED')` as soon as `signal` aborts (the promise
 * itself keeps running; its outcome is then ignored).
 * @throws {GttError} code `ABORTED`.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  const op = new Operation<T>(signal);
  promise.then(
    (value) => op.resolve(value),
    (error: unknown) => op.reject(error),
  );
  return op.promise;
}
