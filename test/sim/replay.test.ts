/**
 * Replays in the simulator (PROTOCOL.md §8.6): a newcomer catches up on the messages broadcast before
 * it joined through its neighbours' cache announcements and GRAFT, and sees them as `replay`; what is
 * broadcast after it joined reaches it by eager push, live. Every delivery carries the origin's
 * `sentAt` (the simulator's clock is the unix time the core is given).
 */
import { expect, it } from 'vitest';
import type { AppEvent } from '../../src/proto/index.js';
import { Sim } from './sim.js';

type Received = Extract<AppEvent, { type: 'received' }>;

it('a newcomer sees the messages it got through repair as replays, the live ones not', () => {
  const sim = new Sim({ wire: true, signatures: 'ed25519' });
  const [first, ...rest] = sim.addNodes(8);
  const newcomer = sim.addNodes(1)[0]!;
  sim.join(first!, []);
  for (const i of rest) sim.join(i, [first!]);
  sim.runFor(3000);

  const got: Received[] = [];
  sim.onEmit = (i, e) => {
    if (i === newcomer && e.event.type === 'received') got.push(e.event);
  };
  const before = [sim.broadcast(1), sim.broadcast(4), sim.broadcast(7)];
  sim.runFor(2000);
  for (const rec of before) expect(sim.missed(rec)).toBe(0);

  sim.join(newcomer, [first!]);
  sim.runFor(3000);
  const tagOf = (e: Received) => new DataView(e.content.buffer, e.content.byteOffset).getUint32(0);
  const early = got.filter((e) => before.some((r) => r.tag === tagOf(e)));
  expect(early.map(tagOf).sort()).toEqual(before.map((r) => r.tag).sort());
  for (const e of early) {
    expect(e.replay).toBe(true);
    expect(e.sentAt).toBe(before.find((r) => r.tag === tagOf(e))!.sentAt);
  }

  const after = [sim.broadcast(2), sim.broadcast(5)];
  sim.runFor(2000);
  const live = got.filter((e) => after.some((r) => r.tag === tagOf(e)));
  expect(live).toHaveLength(2);
  for (const e of live) {
    expect(e.replay).toBe(false);
    expect(e.sentAt).toBe(after.find((r) => r.tag === tagOf(e))!.sentAt);
  }
  expect(sim.nodes[newcomer]!.stats.replays).toBe(3);
});
