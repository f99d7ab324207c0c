/** Acceptance: membership and broadcast bounds on 100–1000 nodes (deterministic for the fixed SEED). */
import { describe, expect, it } from 'vitest';
import { allAtOnce, joinScenario, type Result, randomSenders, singleSender } from './scenarios.js';

const log = (r: Result): void => {
  console.log(
    `${r.scenario} n=${r.n}: missed=${r.missed} rmr=${r.rmr.toFixed(3)} ldh=${r.ldhMean}/${r.ldhMax} wall=${r.wallMs}ms`,
  );
};

describe('join', () => {
  it('1000 nodes joining through one random member each: no empty active view, one component after 5 s', () => {
    const r = joinScenario(1000);
    log(r);
    expect(r.activeMin).toBeGreaterThan(0);
    expect(r.components).toBe(1);
  });
});

describe('100 nodes, one sender', () => {
  const r = singleSender(100);
  log(r);
  it('misses nothing, RMR ≤ 0.05', () => {
    expect(r.missed).toBe(0);
    expect(r.rmr).toBeLessThanOrEqual(0.05);
  });
  it('LDH max ≤ log2 N', () => {
    expect(r.ldhMax).toBeLessThanOrEqual(Math.log2(100));
  });
});

describe('100 nodes, random senders', () => {
  const r = randomSenders(100);
  log(r);
  it('misses nothing', () => expect(r.missed).toBe(0));
  it('RMR ≤ 0.5', () => expect(r.rmr).toBeLessThanOrEqual(0.5));
});

describe('100 nodes, all sending at once', () => {
  const r = allAtOnce(100);
  log(r);
  it('misses nothing, RMR ≤ 2', () => {
    expect(r.missed).toBe(0);
    expect(r.rmr).toBeLessThanOrEqual(2);
  });
});
