/**
 * A tracker {@link Clock} whose speed can change while it runs, for the steady-state load scenario of
 * join.bench.ts: members bootstrap at real speed, then tracker time runs `speed` times faster.
 *
 * Why not `scaledClock({ speed })` from the start: the bootstrap of N peers started at once costs real
 * DHT time (one process hosts every DHT node; 50 peers' first reads take 1–5 s real), and at speed 60
 * that is 1–5 tracker minutes: records land in minutes the readers no longer read, and no member ever
 * joins. Once joined, a read takes ~50–150 ms real, a few tracker seconds, and speed 60 keeps its meaning.
 */
import type { Clock, ClockTimer } from '../../src/tracker/clock.js';

/** A {@link Clock} with a settable speed. */
export interface WarpClock extends Clock {
  readonly speed: number;
  /**
   * From now on, runs `speed` times faster than real time. Pending timers keep their due time in clock
   * time: they are re-armed for the new speed.
   * @throws {RangeError} when `speed` is not a finite number > 0.
   */
  setSpeed(speed: number): void;
}

interface Pending {
  /** Due time in clock time. */
  due: number;
  fn: () => void;
  handle: NodeJS.Timeout | undefined;
}

/** A {@link WarpClock} at `startMs` (default now), running at real speed until told otherwise. */
export function warpClock(startMs: number = Date.now()): WarpClock {
  let speed = 1;
  let base = startMs;
  let anchor = performance.now();
  const pending = new Set<Pending>();
  const now = () => base + (performance.now() - anchor) * speed;
  const arm = (p: Pending) => {
    p.handle = setTimeout(
      () => {
        pending.delete(p);
        p.fn();
      },
      Math.max(0, (p.due - now()) / speed),
    );
    p.handle.unref();
  };
  return {
    get speed() {
      return speed;
    },
    now,
    setTimeout(fn: () => void, ms: number): ClockTimer {
      const p: Pending = { due: now() + ms, fn, handle: undefined };
      pending.add(p);
      arm(p);
      return {
        cancel: () => {
          if (pending.delete(p)) clearTimeout(p.handle);
        },
      };
    },
    setSpeed(next: number) {
      if (!(next > 0) || !Number.isFinite(next)) throw new RangeError(`"speed" expected > 0, got ${next}`);
      base = now();
      anchor = performance.now();
      speed = next;
      for (const p of pending) {
        clearTimeout(p.handle);
        arm(p);
      }
    },
  };
}
