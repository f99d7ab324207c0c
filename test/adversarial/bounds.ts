/**
 * The bounds the attack tests share, as vitest assertions whose messages carry the measured numbers.
 * The bounds themselves are soft (`expect.soft`), so a failing run reports every bound it missed, not
 * only the first; what guards a bound from holding vacuously (something was sent, enough was
 * attempted) is a hard `expect`, and it stops the test.
 *
 * - {@link expectAttackBounds}: what every attack must leave of the victim (the hardening targets):
 *   alive and answering, heap growth ≤ `heapMB` (default HEAP_BOUND_MB), honest broadcasts through
 *   it ≥ `delivery` (default DELIVERY_TARGET).
 * - {@link expectHeapGrowth} and {@link expectDelivered}: the same two bounds for tests that measure
 *   without `measureAttack` (several attackers, a sampler of their own).
 * - {@link expectHonestConnects}: honest connects during a transport attack (≥ 90 % of those planned
 *   attempted, ≥ DELIVERY_TARGET of them accepted and served).
 * - {@link expectLifetimes}: the sockets of a transport attack closed by the victim within a bound.
 *
 * Kept apart from harness.ts, which bench:attack also runs outside vitest.
 */
import { expect } from 'vitest';
import {
  type AttackResult,
  DELIVERY_TARGET,
  type Delivery,
  HEAP_BOUND_MB,
  type HonestConnects,
} from './harness.js';
import { type AttackReport, asObject } from './spec.js';

/** Victim heap growth within `boundMB`; `detail` (in parentheses) says what the growth is measured from. */
export function expectHeapGrowth(growthMB: number, boundMB: number, detail?: string): void {
  const how = detail === undefined ? '' : ` (${detail})`;
  expect
    .soft(growthMB, `victim heap grew ${growthMB.toFixed(1)} MB${how}; bound ${boundMB} MB`)
    .toBeLessThanOrEqual(boundMB);
}

/** Options of {@link expectDelivered}. */
export interface DeliveredOptions {
  /** Least share of the (message, receiver) pairs delivered. Default DELIVERY_TARGET. */
  delivery?: number;
  /** The receivers, by name, when the message should say. */
  to?: string;
}

/**
 * Honest broadcasts crossed the victim: some were sent during the attack (hard: otherwise the bound
 * holds vacuously), and at least `delivery` of them arrived.
 */
export function expectDelivered(
  d: Pick<Delivery, 'delivered' | 'expected' | 'p99Ms' | 'missing'>,
  o: DeliveredOptions = {},
): void {
  const to = o.to === undefined ? '' : ` to ${o.to}`;
  expect(d.expected, 'honest broadcasts sent during the attack').toBeGreaterThan(0);
  expect
    .soft(
      d.delivered,
      `honest broadcasts delivered through the victim${to}: ${d.delivered} of ${d.expected} ` +
        `(p99 ${d.p99Ms.toFixed(0)} ms); missing ${JSON.stringify(d.missing)}`,
    )
    .toBeGreaterThanOrEqual(Math.ceil((o.delivery ?? DELIVERY_TARGET) * d.expected));
}

/** Options of {@link expectAttackBounds}. */
export interface AttackBoundsOptions extends DeliveredOptions {
  /** Default HEAP_BOUND_MB. */
  heapMB?: number;
  /** What the attack had done by then, for the heap message (e.g. frames × entries). */
  heapDetail?: string;
}

/**
 * What every attack must leave: the victim alive and answering, its gc'd heap growth within `heapMB`,
 * honest delivery through it at least `delivery` (see {@link expectDelivered}).
 */
export function expectAttackBounds(r: AttackResult, o: AttackBoundsOptions = {}): void {
  expect.soft(r.victimAlive, `victim ${r.victimState}`).toBe(true);
  const baseline = `gc'd, baseline ${r.heapBaselineMB.toFixed(1)} MB`;
  expectHeapGrowth(
    r.heapGrowthMB,
    o.heapMB ?? HEAP_BOUND_MB,
    o.heapDetail === undefined ? baseline : `${baseline}, ${o.heapDetail}`,
  );
  expectDelivered(
    { delivered: r.honestDelivered, expected: r.honestExpected, p99Ms: r.honestP99Ms, missing: r.missing },
    o,
  );
}

/**
 * Honest peers were still accepted during a transport attack: at least 90 % of the `count` planned
 * connects were attempted (hard), and at least DELIVERY_TARGET of those were accepted and served.
 */
export function expectHonestConnects(
  c: HonestConnects | undefined,
  o: { count: number; detail: string },
): void {
  const h = c ?? { attempted: 0, succeeded: 0 };
  expect(h.attempted, 'honest connects attempted').toBeGreaterThanOrEqual(o.count * 0.9);
  expect
    .soft(h.succeeded, `honest connects accepted and served: ${h.succeeded} of ${h.attempted}; ${o.detail}`)
    .toBeGreaterThanOrEqual(Math.ceil(DELIVERY_TARGET * h.attempted));
}

/**
 * The sockets or sessions of a transport attack (`what`, e.g. 'idle session') lived at most `boundMs`:
 * the longest-lived one the victim closed, and the oldest still open when the attack ended.
 */
export function expectLifetimes(
  report: AttackReport,
  o: { what: string; boundMs: number; detail?: string },
): void {
  const lived = asObject(report.notes.victimClosedAfterMs);
  const tail = o.detail === undefined ? '' : `; ${o.detail}`;
  expect
    .soft(Number(lived.max), `longest-lived ${o.what} the victim closed; bound ${o.boundMs} ms${tail}`)
    .toBeLessThanOrEqual(o.boundMs);
  expect
    .soft(
      Number(report.notes.oldestOpenMs),
      `oldest ${o.what} still open at the end; bound ${o.boundMs} ms${tail}`,
    )
    .toBeLessThanOrEqual(o.boundMs);
}
