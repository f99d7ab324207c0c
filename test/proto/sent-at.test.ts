/**
 * The origin's send time (PROTOCOL.md §8.2–§8.4, §8.6), pure: a broadcast carries the driver's
 * `unixNow`, the id and so the signature cover it, a time too far ahead is dropped as `clock-skew`, and
 * a delivery is a `replay` when it answers a GRAFT of ours or is older than `replayAfterMs`.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  type AppEvent,
  createRng,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_REPLAY_AFTER_MS,
  type GossipMessage,
  GossipNode,
  type Message,
  messageId,
  type OutEvent,
  type PeerId,
  parseProtoConfig,
} from '../../src/proto/index.js';
import { mk, peer, sends, T, withNeighbors } from '../helpers/core.js';

/** An ed25519 node (signatures on, the default) and its key. */
function signer(n: number): { node: GossipNode; id: PeerId } {
  const seed = new Uint8Array(32).fill(n);
  const pub = ed25519.getPublicKey(seed);
  const node = new GossipNode({
    me: pub,
    rng: createRng(n),
    seqStart: 0n,
    sign: (m) => ed25519.sign(m, seed),
    verify: (o, m, s) => {
      try {
        return ed25519.verify(s, m, o);
      } catch {
        return false;
      }
    },
  });
  return { node, id: bytesToHex(pub) };
}

const received = (out: OutEvent[]): Extract<AppEvent, { type: 'received' }>[] =>
  out.flatMap((e) => (e.type === 'emit' && e.event.type === 'received' ? [e.event] : []));

/** Two signing nodes joined to each other on topic T. */
function pair() {
  const a = signer(1);
  const b = signer(2);
  a.node.handle({ type: 'command', topic: T, command: { type: 'join', peers: [] } }, 0);
  b.node.handle({ type: 'command', topic: T, command: { type: 'join', peers: [] } }, 0);
  b.node.handle({ type: 'recv', from: a.id, topic: T, message: { type: 'join' } }, 1);
  expect(b.node.activeView(T)).toEqual([a.id]);
  return { a, b };
}

/** `a` broadcasts `content` at monotonic time `now`, wall clock `unixNow`; the GOSSIP it sends. */
function broadcast(a: GossipNode, content: Uint8Array, now: number, unixNow?: number): GossipMessage {
  a.handle({ type: 'recv', from: peer(9), topic: T, message: { type: 'join' } }, now);
  const out = a.handle({ type: 'command', topic: T, command: { type: 'broadcast', content } }, now, unixNow);
  const m = sends(out).find((e) => e.message.type === 'gossip')?.message;
  if (m?.type !== 'gossip') throw new Error('no GOSSIP sent');
  return m;
}

describe('the signed send time', () => {
  it('a broadcast carries unixNow (whole ms), and the id every receiver computes commits to it', () => {
    const { a, b } = pair();
    const unix = 1_800_000_000_000.7;
    const m = broadcast(a.node, Uint8Array.of(1), 5, unix);
    expect(m.sentAt).toBe(1_800_000_000_000);
    const got = received(b.node.handle({ type: 'recv', from: a.id, topic: T, message: m }, 6, unix + 40));
    const id = messageId(hexToBytes(T), hexToBytes(a.id), m.seq, m.sentAt, 'swarm', Uint8Array.of(1));
    expect(got).toEqual([expect.objectContaining({ id, sentAt: 1_800_000_000_000, replay: false, hops: 1 })]);
    // The same message sent a millisecond later would be another message.
    expect(
      messageId(hexToBytes(T), hexToBytes(a.id), m.seq, m.sentAt + 1, 'swarm', Uint8Array.of(1)),
    ).not.toBe(id);
  });

  it('without unixNow the driver clock is taken as unix time (the simulator)', () => {
    const { a } = pair();
    expect(broadcast(a.node, Uint8Array.of(1), 1234).sentAt).toBe(1234);
  });

  it('tampering with the time breaks the signature, relayed or straight from the origin', () => {
    const { a, b } = pair();
    const relay = peer(3);
    b.node.handle({ type: 'recv', from: relay, topic: T, message: { type: 'join' } }, 2);
    const m = broadcast(a.node, Uint8Array.of(7), 5, 1_800_000_000_000);
    for (const [from, delta] of [
      [relay, -60_000],
      [a.id, 1],
    ] as const) {
      const forged: Message = { ...m, sentAt: m.sentAt + delta, hops: from === a.id ? 1 : 2 };
      const out = b.node.handle({ type: 'recv', from, topic: T, message: forged }, 6, 1_800_000_000_000);
      expect(received(out)).toEqual([]);
      expect(sends(out).filter((e) => e.message.type === 'gossip')).toEqual([]);
    }
    expect(b.node.stats.badSignature).toBe(2);
    // The genuine message still gets through.
    const out = b.node.handle({ type: 'recv', from: a.id, topic: T, message: m }, 7, 1_800_000_000_000);
    expect(received(out)).toHaveLength(1);
  });
});

describe('a send time in the future', () => {
  it('more than maxClockSkewMs ahead: dropped as clock-skew, not forwarded, no strike, seen', () => {
    expect(parseProtoConfig().limits.maxClockSkewMs).toBe(DEFAULT_MAX_CLOCK_SKEW_MS);
    const { a, b } = pair();
    const c = peer(4);
    b.node.handle({ type: 'recv', from: c, topic: T, message: { type: 'join' } }, 2);
    const mine = 1_800_000_000_000;
    // a's clock runs ahead of b's by 1 ms more than the bound; then by exactly the bound.
    const ahead = broadcast(a.node, Uint8Array.of(1), 5, mine + DEFAULT_MAX_CLOCK_SKEW_MS + 1);
    const edge = broadcast(a.node, Uint8Array.of(2), 6, mine + DEFAULT_MAX_CLOCK_SKEW_MS);
    const out = b.node.handle({ type: 'recv', from: a.id, topic: T, message: ahead }, 10, mine);
    expect(received(out)).toEqual([]);
    expect(sends(out)).toEqual([]);
    expect(b.node.stats.dropped['clock-skew']).toBe(1);
    // Seen: another copy is a duplicate, not a second check (and an IHAVE of it starts no GRAFT).
    b.node.handle({ type: 'recv', from: c, topic: T, message: { ...ahead, hops: 2 } }, 11, mine);
    expect(b.node.stats.duplicates).toBe(1);
    expect(b.node.stats.dropped['clock-skew']).toBe(1);
    // An honest relay of a skewed origin is not punished: no ban, both still neighbours.
    expect(b.node.stats.bans).toBe(0);
    expect(b.node.activeView(T)).toEqual(expect.arrayContaining([a.id, c]));
    const ok = received(b.node.handle({ type: 'recv', from: a.id, topic: T, message: edge }, 12, mine));
    expect(ok).toEqual([
      expect.objectContaining({ sentAt: mine + DEFAULT_MAX_CLOCK_SKEW_MS, replay: false }),
    ]);
  });

  it('maxClockSkewMs is configurable', () => {
    const n = mk({ limits: { maxClockSkewMs: 0 } });
    withNeighbors(n, [peer(1)]);
    const m = (seq: number, sentAt: number): Message => ({
      type: 'gossip',
      origin: peer(1),
      seq: BigInt(seq),
      sentAt,
      scope: 'swarm',
      hops: 1,
      content: Uint8Array.of(seq),
    });
    expect(received(n.handle({ type: 'recv', from: peer(1), topic: T, message: m(1, 101) }, 5, 100))).toEqual(
      [],
    );
    expect(
      received(n.handle({ type: 'recv', from: peer(1), topic: T, message: m(2, 100) }, 6, 100)),
    ).toHaveLength(1);
    expect(n.stats.dropped['clock-skew']).toBe(1);
  });
});

describe('replay', () => {
  const o = peer(1);
  const lazy = peer(2);
  const gossip = (seq: number, sentAt: number, hops = 2): GossipMessage => ({
    type: 'gossip',
    origin: o,
    seq: BigInt(seq),
    sentAt,
    scope: 'swarm',
    hops,
    content: Uint8Array.of(seq),
  });
  const idOf = (m: GossipMessage) =>
    messageId(hexToBytes(T), hexToBytes(o), m.seq, m.sentAt, m.scope, m.content);

  it('an eager push is live; an answer to our GRAFT is a replay, however fresh', () => {
    const n = mk();
    withNeighbors(n, [o, lazy]);
    const unix = 1_800_000_000_000;
    const live = gossip(1, unix, 1);
    expect(received(n.handle({ type: 'recv', from: o, topic: T, message: live }, 10, unix + 20))).toEqual([
      expect.objectContaining({ replay: false, sentAt: unix }),
    ]);
    // A message we hear of by IHAVE first: after graftTimeout1Ms we ask, and the answer is a replay.
    const late = gossip(2, unix + 30);
    const id = idOf(late);
    const ihave: Message = { type: 'ihave', entries: [{ id, hops: 2 }] };
    n.handle({ type: 'recv', from: lazy, topic: T, message: ihave }, 40, unix + 40);
    const asked = n.handle(
      { type: 'timer-expired', topic: T, timer: { type: 'graft', id } },
      190,
      unix + 190,
    );
    expect(sends(asked).map((e) => e.message)).toEqual([{ type: 'graft', id }]);
    expect(n.sizes(T)?.grafted).toBe(1);
    expect(
      received(n.handle({ type: 'recv', from: lazy, topic: T, message: late }, 200, unix + 200)),
    ).toEqual([expect.objectContaining({ id, replay: true, sentAt: unix + 30 })]);
    expect(n.sizes(T)?.grafted).toBe(0);
    expect(n.stats.replays).toBe(1);
    // The next eager push is live again.
    const next = received(
      n.handle({ type: 'recv', from: o, topic: T, message: gossip(3, unix + 300, 1) }, 300, unix + 300),
    );
    expect(next).toEqual([expect.objectContaining({ replay: false })]);
    expect(n.stats.replays).toBe(1);
  });

  it('a message older than replayAfterMs by the origin clock is a replay even by eager push', () => {
    expect(parseProtoConfig().plumtree.replayAfterMs).toBe(DEFAULT_REPLAY_AFTER_MS);
    const n = mk();
    withNeighbors(n, [o]);
    const unix = 1_800_000_000_000;
    const at = (seq: number, age: number) =>
      received(
        n.handle({ type: 'recv', from: o, topic: T, message: gossip(seq, unix - age, 1) }, seq, unix),
      )[0]?.replay;
    expect(at(1, DEFAULT_REPLAY_AFTER_MS)).toBe(false);
    expect(at(2, DEFAULT_REPLAY_AFTER_MS + 1)).toBe(true);
    const m = mk({ plumtree: { replayAfterMs: 0 } });
    withNeighbors(m, [o]);
    expect(
      received(m.handle({ type: 'recv', from: o, topic: T, message: gossip(1, unix - 1, 1) }, 1, unix)),
    ).toEqual([expect.objectContaining({ replay: true })]);
  });

  it('remembers at most maxMissing grafted ids, oldest first', () => {
    const n = mk({ limits: { maxMissing: 2, maxMissingPerPeer: 2, maxAnnounceOnNeighborUp: 2 } });
    withNeighbors(n, [lazy]);
    const ids = [1, 2, 3].map((s) => idOf(gossip(s, 0)));
    for (const [k, id] of ids.entries()) {
      n.handle(
        { type: 'recv', from: lazy, topic: T, message: { type: 'ihave', entries: [{ id, hops: 2 }] } },
        10 * k,
      );
      n.handle({ type: 'timer-expired', topic: T, timer: { type: 'graft', id } }, 10 * k + 5);
    }
    expect(n.sizes(T)?.grafted).toBe(2);
    // The first id was forgotten: its late answer is live by this rule (and old by the other, were it so).
    const first = received(n.handle({ type: 'recv', from: lazy, topic: T, message: gossip(1, 0) }, 100));
    expect(first).toEqual([expect.objectContaining({ replay: false })]);
    const third = received(n.handle({ type: 'recv', from: lazy, topic: T, message: gossip(3, 0) }, 101));
    expect(third).toEqual([expect.objectContaining({ replay: true })]);
  });
});
