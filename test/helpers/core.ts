/** Fixtures of the pure gossip-core tests (test/proto): ids, a node, and a topic with neighbours. */
import { expect } from 'vitest';
import {
  createRng,
  GossipNode,
  type GossipNodeOptions,
  type OutEvent,
  type PeerId,
  type ProtoOptions,
  type TopicKey,
} from '../../src/proto/index.js';

/** The node's own id. */
export const ME = 'ee'.repeat(32);
/** The topic of most tests. */
export const T = '11'.repeat(32);
/** A distinct peer id per number (never ME). */
export const peer = (n: number): PeerId => `a${n.toString(16).padStart(63, '0')}`;
/** A distinct message id per number. */
export const mid = (n: number): string => `b${n.toString(16).padStart(63, '0')}`;

/** A node with a fixed seed and first sequence number; signatures off unless `config` says so. */
export function mk(config: ProtoOptions = {}, extra: Partial<GossipNodeOptions> = {}): GossipNode {
  return new GossipNode({
    me: ME,
    rng: createRng(1),
    config: { ...config, plumtree: { signatures: false, ...config.plumtree } },
    seqStart: 0n,
    ...extra,
  });
}

/** The `send` out-events. */
export const sends = (out: OutEvent[]) => out.filter((e) => e.type === 'send');

/** Holds `topic` and takes `peers` as neighbours (each JOINs), asserting they are active. */
export function withNeighbors(n: GossipNode, peers: PeerId[], at = 0, topic: TopicKey = T): void {
  if (!n.topics().includes(topic))
    n.handle({ type: 'command', topic, command: { type: 'join', peers: [] } }, at);
  for (const [i, p] of peers.entries())
    n.handle({ type: 'recv', from: p, topic, message: { type: 'join' } }, at + i);
  expect(n.activeView(topic)).toEqual(expect.arrayContaining(peers));
}
