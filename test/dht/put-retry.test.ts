/**
 * The retry policy of `Dht.put` (src/dht/put-retry.ts) as a pure state machine: every transition,
 * driven by hand with no I/O, no timers and fixed jitter draws.
 */
import { describe, expect, it } from 'vitest';
import { type AttemptOutcome, PutRetry, type PutRetryOptions } from '../../src/dht/put-retry.js';

const OPTIONS: PutRetryOptions = {
  retries: 3,
  retryDelayMs: 5000,
  retryJitterMs: 10_000,
  minAccepted: 1,
  customSelect: false,
  borrowed: false,
  random: () => 0,
};

/** An attempt that reached no node: nothing stored, no conflict, 5 nodes asked of 20 that answered. */
const SHORT: AttemptOutcome = { stored: 0, conflict: false, selected: 5, responded: 20 };
const STORED: AttemptOutcome = { ...SHORT, stored: 5 };

function machine(options: Partial<PutRetryOptions> = {}): PutRetry {
  return new PutRetry({ ...OPTIONS, ...options });
}

const finished = (outcome: AttemptOutcome) => ({ type: 'attempt-finished', outcome }) as const;
const waitOver = { type: 'wait-over' } as const;

describe('PutRetry', () => {
  it('starts with a walk, or with the borrowed responders when there are any', () => {
    expect(machine().state).toEqual({ type: 'walk' });
    expect(machine({ borrowed: true }).state).toEqual({ type: 'borrow' });
  });

  it('is done and ok once an attempt stores on minAccepted nodes (accepted + already stored)', () => {
    const put = machine({ minAccepted: 3 });
    expect(put.handle(finished({ ...SHORT, stored: 3 }))).toEqual({
      type: 'done',
      ok: true,
      reason: 'stored',
      attempts: 1,
    });
  });

  it('retries an attempt that stored on fewer than minAccepted nodes', () => {
    const put = machine({ minAccepted: 3 });
    expect(put.handle(finished({ ...SHORT, stored: 2 }))).toEqual({ type: 'wait', delayMs: 5000 });
    expect(put.handle(waitOver)).toEqual({ type: 'walk' });
    expect(put.handle(finished({ ...SHORT, stored: 3 }))).toMatchObject({
      type: 'done',
      ok: true,
      attempts: 2,
    });
  });

  it('stops at a conflict (301 / 302 / ENOTSTORED with an item): the same seq cannot win', () => {
    expect(machine().handle(finished({ ...SHORT, conflict: true }))).toEqual({
      type: 'done',
      ok: false,
      reason: 'conflict',
      attempts: 1,
    });
    // Stored enough despite a conflicting node: ok wins.
    expect(machine().handle(finished({ ...STORED, conflict: true }))).toMatchObject({
      ok: true,
      reason: 'stored',
    });
  });

  it('stops when a custom select chose no node among live responders', () => {
    const declined = { stored: 0, conflict: false, selected: 0, responded: 12 };
    expect(machine({ customSelect: true }).handle(finished(declined))).toEqual({
      type: 'done',
      ok: false,
      reason: 'declined',
      attempts: 1,
    });
    // The default select choosing nobody, or a walk nobody answered, is not a decision: retry.
    expect(machine().handle(finished(declined))).toMatchObject({ type: 'wait' });
    expect(machine({ customSelect: true }).handle(finished({ ...declined, responded: 0 }))).toMatchObject({
      type: 'wait',
    });
  });

  it('falls back from borrowed responders to a walk at once, with no wait and no jitter drawn', () => {
    let draws = 0;
    const put = machine({
      borrowed: true,
      random: () => {
        draws++;
        return 0.5;
      },
    });
    expect(put.handle(finished(SHORT))).toEqual({ type: 'walk' });
    expect(draws).toBe(0);
    expect(put.attempts).toBe(1);
    expect(put.handle(finished(STORED))).toEqual({ type: 'done', ok: true, reason: 'stored', attempts: 2 });
  });

  it('does not fall back from borrowed responders after a conflict or a success', () => {
    expect(machine({ borrowed: true }).handle(finished({ ...SHORT, conflict: true }))).toMatchObject({
      reason: 'conflict',
    });
    expect(machine({ borrowed: true }).handle(finished(STORED))).toMatchObject({
      reason: 'stored',
      attempts: 1,
    });
  });

  it('falls back only once: a walk after the borrowed attempt retries as usual', () => {
    const put = machine({ borrowed: true });
    expect(put.handle(finished(SHORT))).toEqual({ type: 'walk' });
    expect(put.handle(finished(SHORT))).toMatchObject({ type: 'wait' });
    expect(put.handle(waitOver)).toEqual({ type: 'walk' });
  });

  it('gives up once the retries are used up: 1 + retries attempts, the borrowed one included', () => {
    for (const retries of [0, 1, 3]) {
      const put = machine({ retries });
      let state = put.state;
      let waits = 0;
      while (state.type !== 'done') {
        if (state.type === 'wait') waits++;
        state = state.type === 'wait' ? put.handle(waitOver) : put.handle(finished(SHORT));
      }
      expect(state).toEqual({ type: 'done', ok: false, reason: 'exhausted', attempts: retries + 1 });
      expect(waits).toBe(retries);
    }
    // The borrowed attempt counts toward `attempts > retries`: one wait fewer than without it.
    const borrowed = machine({ retries: 3, borrowed: true });
    const states = [borrowed.handle(finished(SHORT))];
    for (let state = states[0]!; state.type !== 'done'; states.push(state)) {
      state = state.type === 'wait' ? borrowed.handle(waitOver) : borrowed.handle(finished(SHORT));
    }
    expect(states.map((s) => s.type)).toEqual(['walk', 'wait', 'walk', 'wait', 'walk', 'done']);
    expect(states.at(-1)).toMatchObject({ reason: 'exhausted', attempts: 4 });
  });

  it('waits retryDelayMs + ⌊draw · retryJitterMs⌋, one draw per wait, within [delay, delay + jitter)', () => {
    const draws = [0, 0.25, 0.999_999];
    const put = machine({ retries: 5, retryDelayMs: 100, retryJitterMs: 1000, random: () => draws.shift()! });
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const state = put.handle(finished(SHORT));
      if (state.type !== 'wait') throw new Error(`expected a wait, got ${state.type}`);
      delays.push(state.delayMs);
      put.handle(waitOver);
    }
    expect(delays).toEqual([100, 350, 1099]);
    expect(draws).toEqual([]);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(100);
      expect(delay).toBeLessThan(1100);
    }
    // No jitter configured: exactly the base delay, whatever the draw.
    expect(machine({ retryJitterMs: 0, random: () => 0.9 }).handle(finished(SHORT))).toEqual({
      type: 'wait',
      delayMs: 5000,
    });
  });

  it('refuses events its state does not expect', () => {
    const put = machine();
    expect(() => put.handle(waitOver)).toThrow(TypeError);
    put.handle(finished(SHORT));
    expect(() => put.handle(finished(SHORT))).toThrow(/unexpected attempt-finished in state wait/);
    const done = machine();
    done.handle(finished(STORED));
    expect(() => done.handle(finished(STORED))).toThrow(TypeError);
  });
});
