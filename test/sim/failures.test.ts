/** Acceptance: mass failures on 500 nodes. */
import { describe, expect, it } from 'vitest';
import { killScenario } from './scenarios.js';

describe('kill a fraction of 500 nodes at once', () => {
  it('20 %: broadcasts from 1 s after reach every survivor; ≥ 4 neighbours within 2 s', () => {
    const r = killScenario(500, 0.2, 1000);
    console.log(`kill-20% n=500: missed=${r.missed} rmr=${r.rmr.toFixed(3)} heal=${r.healMs}ms`);
    expect(r.missed).toBe(0);
    expect(r.healMs).not.toBeNull();
    expect(r.healMs!).toBeLessThanOrEqual(2000);
  });

  it('50 %: broadcasts from 3 s after reach every survivor; ≥ 4 neighbours within 2 s', () => {
    const r = killScenario(500, 0.5, 3000);
    console.log(`kill-50% n=500: missed=${r.missed} rmr=${r.rmr.toFixed(3)} heal=${r.healMs}ms`);
    expect(r.missed).toBe(0);
    expect(r.healMs).not.toBeNull();
    expect(r.healMs!).toBeLessThanOrEqual(2000);
  });
});
