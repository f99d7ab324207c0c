/**
 * Eclipse resistance (PROTOCOL.md §8.7): 30 identities that send JOIN or NEIGHBOR(high) to one victim
 * as soon as they are out of its active view, for a minute, in a 20-node swarm. The victim must keep
 * at least 2 honest neighbours at every sample and keep receiving honest broadcasts.
 */
import { describe, expect, it } from 'vitest';
import { below } from '../../src/proto/index.js';
import { Sim, TOPIC } from './sim.js';

const HONEST = 20;
const SYBILS = 30;

function attack(netGroup: ((i: number) => string | undefined) | undefined): {
  minHonest: number;
  maxSybils: number;
  missedByVictim: number;
  samples: number;
} {
  const sim = new Sim({ seed: 3, ...(netGroup === undefined ? {} : { netGroup }) });
  sim.addNodes(HONEST + SYBILS);
  sim.join(0, []);
  for (let i = 1; i < HONEST; i++) {
    sim.runFor(20);
    sim.join(i, [below(sim.rng, i)]);
  }
  // Long enough for the victim's neighbours to serve `protectAfterMs`.
  sim.runFor(15_000);
  const victim = 0;
  const isSybil = (p: string): boolean => sim.index.get(p)! >= HONEST;
  let minHonest = Number.POSITIVE_INFINITY;
  let maxSybils = 0;
  let samples = 0;
  const sample = (): void => {
    const view = sim.nodes[victim]!.activeView(TOPIC);
    const sybils = view.filter(isSybil).length;
    minHonest = Math.min(minHonest, view.length - sybils);
    maxSybils = Math.max(maxSybils, sybils);
    samples++;
  };
  const recs = [];
  for (let t = 0; t < 60_000; t += 50) {
    for (let k = 0; k < SYBILS; k++) {
      const s = HONEST + k;
      if (sim.nodes[victim]!.activeView(TOPIC).includes(sim.ids[s]!)) continue;
      sim.inject(victim, {
        type: 'recv',
        from: sim.ids[s]!,
        topic: TOPIC,
        message: k % 2 === 0 ? { type: 'join' } : { type: 'neighbor', priority: 'high' },
      });
      sample();
    }
    if (t % 1000 === 0) recs.push(sim.broadcast(1 + below(sim.rng, HONEST - 1)));
    sim.runFor(50);
    sample();
  }
  sim.runFor(3000);
  const missedByVictim = recs.filter((r) => r.delivered[victim] === 0).length;
  return { minHonest, maxSybils, missedByVictim, samples };
}

describe('30 sybils re-joining one victim for a minute', () => {
  it('sharing one address group: at most 2 of them are neighbours, the victim keeps ≥ 2 honest ones', () => {
    const r = attack((i) => (i >= HONEST ? 'sybil-net' : `honest-${i}`));
    console.log(`eclipse, one group: ${JSON.stringify(r)}`);
    expect(r.maxSybils).toBeLessThanOrEqual(2);
    expect(r.minHonest).toBeGreaterThanOrEqual(2);
    expect(r.missedByVictim).toBe(0);
  });

  it('on 30 addresses: the protected longest-serving neighbours keep the victim at ≥ 2 honest ones', () => {
    const r = attack(undefined);
    console.log(`eclipse, no groups: ${JSON.stringify(r)}`);
    expect(r.minHonest).toBeGreaterThanOrEqual(2);
    expect(r.missedByVictim).toBe(0);
  });
});
