/** Acceptance: mass failures on 500 nodes. */
import { describe, expect, it } from 'vitest';
import { below } from '../../src/proto/rng.js';
import { killScenario } from './scenarios.js';
import { Sim } from './sim.js';

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

describe('messages broadcast while the overlay is split', () => {
  /**
   * 40 nodes, split in two halves long enough for each half's views to re-form inside it; two messages
   * are broadcast in one half; the split heals and one JOIN crosses it (what the tracker's merges do).
   * Returns the receivers that never got them.
   */
  function splitScenario(announce: boolean): number {
    const sim = new Sim({ seed: 7, config: { plumtree: { announceCacheToNewNeighbors: announce } } });
    sim.addNodes(40);
    sim.join(0, []);
    for (let i = 1; i < 40; i++) {
      sim.join(i, [below(sim.rng, i)]);
      sim.runFor(20);
    }
    sim.runFor(3000);
    const a = Array.from({ length: 20 }, (_, i) => i);
    const b = Array.from({ length: 20 }, (_, i) => 20 + i);
    sim.partition([a, b]);
    sim.runFor(3000);
    const recs = [sim.broadcast(0), sim.broadcast(7)];
    sim.runFor(1000);
    sim.heal();
    sim.join(20, [0]);
    sim.runFor(5000);
    return recs.reduce((s, r) => s + sim.missed(r), 0);
  }

  it('reach the other side once one link crosses, because new neighbours hear of cached ids', () => {
    expect(splitScenario(true)).toBe(0);
  });

  it('(control) without the announcement, plain PlumTree loses them on the other side', () => {
    expect(splitScenario(false)).toBeGreaterThan(0);
  });
});
