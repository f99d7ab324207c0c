/** Acceptance: 1000 nodes × 100 broadcasts, within the wall-time budget of `npm test`. */
import { describe, expect, it } from 'vitest';
import { singleSender } from './scenarios.js';

describe('1000 nodes, one sender, 100 broadcasts', () => {
  it('misses nothing, RMR ≤ 0.1, LDH max ≤ log2 N + 2, under 30 s wall', () => {
    const r = singleSender(1000, 100);
    console.log(
      `single-sender n=1000: missed=${r.missed} rmr=${r.rmr.toFixed(4)} ldh=${r.ldhMean}/${r.ldhMax} wall=${r.wallMs}ms`,
    );
    expect(r.missed).toBe(0);
    expect(r.rmr).toBeLessThanOrEqual(0.1);
    expect(r.ldhMax).toBeLessThanOrEqual(Math.log2(1000) + 2);
    expect(r.wallMs).toBeLessThan(30_000);
  });
});
