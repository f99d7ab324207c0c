import { describe, expect, it } from 'vitest';
import { RttEstimator } from '../../src/dht/rtt.js';

describe('RttEstimator (RFC 6298 §2)', () => {
  it('starts at the maximum', () => {
    expect(new RttEstimator({ minMs: 50, maxMs: 1000 }).delayMs).toBe(1000);
  });

  it('first sample: srtt = R, rttvar = R/2, so the delay is 3R', () => {
    const rtt = new RttEstimator({ minMs: 1, maxMs: 10_000 });
    rtt.sample(100);
    expect(rtt.delayMs).toBe(300);
  });

  it('follows later samples with gains 1/8 and 1/4', () => {
    const rtt = new RttEstimator({ minMs: 1, maxMs: 10_000 });
    rtt.sample(100);
    rtt.sample(200);
    // rttvar = 0.75·50 + 0.25·|100 − 200| = 62.5; srtt = 0.875·100 + 0.125·200 = 112.5
    expect(rtt.delayMs).toBe(Math.round(112.5 + 4 * 62.5));
  });

  it('stays within [min, max] and ignores nonsense samples', () => {
    const rtt = new RttEstimator({ minMs: 50, maxMs: 1000 });
    rtt.sample(Number.NaN);
    rtt.sample(-1);
    expect(rtt.delayMs).toBe(1000);
    for (let i = 0; i < 50; i++) rtt.sample(1);
    expect(rtt.delayMs).toBe(50);
    for (let i = 0; i < 50; i++) rtt.sample(5000);
    expect(rtt.delayMs).toBe(1000);
  });
});
