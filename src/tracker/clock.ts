/**
 * The tracker's clock: where the unix minute and every wait of the bootstrap loop and the workers come
 * from. Injected, unix minute included, so that a test
 * can stand just before a minute boundary, and a benchmark can run ten minutes of a topic's life in
 * thirty seconds, without touching the DHT's or the transport's own (real) timeouts.
 */

/** A cancellable timer handle of a {@link Clock}. */
export interface ClockTimer {
  cancel(): void;
}

/** Time as the tracker sees it. */
export interface Clock {
  /** Unix time in milliseconds (the record minute is `floor(now() / 60_000)`). */
  now(): number;
  /**
   * Calls `fn` after `ms` of this clock's time. The timer must not keep the process alive (unref) and
   * must never fire after `cancel()`. `label` names what the wait is for (the bootstrap machine's
   * timers pass their `BootstrapTimer` name, bootstrap.ts): a test's clock may hold one kind of wait.
   */
  setTimeout(fn: () => void, ms: number, label?: string): ClockTimer;
}

/** The system clock: `Date.now()` and unref'd Node timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * A clock that runs `speed` times faster than real time from `startMs` (unix ms) on; `speed` 1 with a
 * chosen `startMs` places the tracker anywhere in time. Waits shrink by the same factor, so protocol
 * intervals keep their meaning in clock time.
 */
export function scaledClock(opts: { startMs?: number; speed?: number } = {}): Clock {
  const speed = opts.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`"speed" expected > 0, got ${speed}`);
  const origin = performance.now();
  const start = opts.startMs ?? Date.now();
  return {
    now: () => start + (performance.now() - origin) * speed,
    setTimeout(fn, ms) {
      const t = setTimeout(fn, Math.max(0, ms / speed));
      t.unref();
      return { cancel: () => clearTimeout(t) };
    },
  };
}

/**
 * A clock whose `now()` only moves when told (`set`, `advance`), with real-time waits: for tests that
 * must know which minute a record lands in while sockets and DHT timeouts keep running normally.
 */
export interface ManualClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

/** A {@link ManualClock} standing at `startMs`. */
export function manualClock(startMs: number): ManualClock {
  let t = startMs;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
    setTimeout: systemClock.setTimeout,
  };
}

/**
 * Resolves after `ms` of `clock` time, or as soon as `signal` aborts, whichever comes first; never
 * rejects. Returns which one ended the wait, and leaves no timer or listener behind either way.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<'timeout' | 'aborted'> {
  if (signal?.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => {
    let done = false;
    const finish = (how: 'timeout' | 'aborted') => {
      if (done) return;
      done = true;
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      resolve(how);
    };
    const onAbort = () => finish('aborted');
    const timer = clock.setTimeout(() => finish('timeout'), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
