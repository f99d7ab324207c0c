/** Link faults (not in the list, but the simulator offers them): cut links heal, partitions isolate. */
import { describe, expect, it } from 'vitest';
import { below } from '../../src/proto/index.js';
import { broadcasts, joined, warmUp } from './scenarios.js';
import { TOPIC } from './sim.js';

describe('link faults on 100 nodes', () => {
  it('30 cut links: broadcasts from 1 s later still reach every node, every node keeps ≥ 4 neighbours', () => {
    const sim = joined(100);
    warmUp(sim);
    let cut = 0;
    while (cut < 30) {
      const a = below(sim.rng, 100);
      const view = sim.nodes[a]!.activeView(TOPIC);
      if (view.length === 0) continue;
      const b = sim.index.get(view[below(sim.rng, view.length)]!)!;
      sim.cutLink(a, b);
      cut++;
    }
    sim.runFor(1000);
    const recs = broadcasts(sim, 20, 50);
    expect(recs.reduce((n, r) => n + sim.missed(r), 0)).toBe(0);
    expect(Math.min(...sim.activeSizes())).toBeGreaterThanOrEqual(4);
  });

  it('a partition isolates its halves: no message crosses it', () => {
    const sim = joined(100);
    warmUp(sim);
    const left = Array.from({ length: 50 }, (_, i) => i);
    const right = Array.from({ length: 50 }, (_, i) => 50 + i);
    sim.partition([left, right]);
    sim.runFor(1000);
    const recs = broadcasts(sim, 10, 50, 0);
    for (const r of recs) {
      for (const i of right) expect(r.delivered[i]).toBe(0);
      expect(left.filter((i) => i !== 0 && r.delivered[i] === 1).length).toBeGreaterThan(0);
    }
    // Nobody keeps a neighbour on the other side.
    for (const i of left) {
      for (const p of sim.nodes[i]!.activeView(TOPIC)) expect(sim.index.get(p)!).toBeLessThan(50);
    }
  });
});
