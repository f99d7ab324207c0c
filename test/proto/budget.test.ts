/**
 * How the cost of a flood lands on its sender (PROTOCOL.md §8.7), one rule per test: frames charged
 * before the driver decodes them (`chargeFrame`) and how long to stop reading an over-budget peer, a
 * ban after a short sustained overrun, IHAVEs not iterated past the sender's cap, a GRAFT request
 * budget per neighbour, a direct origin's budget checked before its signature, and empty budgets for a
 * newcomer whose address group had a ban.
 */
import { describe, expect, it } from 'vitest';
import { Guard, TokenBucket } from '../../src/proto/budget.js';
import {
  DEFAULT_MAX_MISSING_PER_PEER,
  DEFAULT_MAX_OVER_BUDGET_DROPS,
  type GossipNode,
  type IHaveEntry,
  type Message,
  type OutEvent,
  type PeerId,
  parseProtoConfig,
} from '../../src/proto/index.js';
import { mid, mk, peer, sends, T, withNeighbors } from '../helpers/core.js';

const recv = (n: GossipNode, from: PeerId, message: Message, at: number, charged = false): OutEvent[] =>
  n.handle({ type: 'recv', from, topic: T, message, charged }, at);

const gossip = (origin: PeerId, seq: number, hops = 1, signature?: Uint8Array): Message => ({
  type: 'gossip',
  origin,
  seq: BigInt(seq),
  sentAt: 0,
  scope: 'swarm',
  hops,
  content: new Uint8Array([seq & 0xff]),
  ...(signature === undefined ? {} : { signature }),
});

describe('frames are charged before they are decoded', () => {
  it('chargeFrame charges once: a recv marked charged is not charged or counted again', () => {
    const n = mk({ limits: { messagesPerSecond: 0, messageBurst: 3 } });
    withNeighbors(n, [peer(1)]);
    const before = n.stats.messagesIn;
    for (let i = 0; i < 3; i++) {
      expect(n.chargeFrame(peer(1), 40, 10)).toEqual({ ok: true, pauseMs: 0, out: [] });
      recv(n, peer(1), { type: 'prune' }, 10, true);
    }
    expect(n.stats.messagesIn - before).toBe(3);
    expect(n.stats.dropped['over-budget'] ?? 0).toBe(0);
    // The bucket is empty now: the next frame is refused, undecoded, and a zero refill never ends.
    const c = n.chargeFrame(peer(1), 40, 10);
    expect(c).toMatchObject({ ok: false, pauseMs: Number.POSITIVE_INFINITY, out: [] });
    expect(n.stats.dropped['over-budget']).toBe(1);
    // A driver without chargeFrame gets the same checks in handle.
    recv(n, peer(1), { type: 'prune' }, 10);
    expect(n.stats.dropped['over-budget']).toBe(2);
  });

  it('pauseMs is how long until the budget holds the frame: bytes and messages', () => {
    const n = mk({ limits: { bytesPerSecond: 1000, byteBurst: 70_000 } });
    withNeighbors(n, [peer(1)]);
    expect(n.chargeFrame(peer(1), 69_500, 100).ok).toBe(true);
    // 500 bytes left; a 1000-byte frame needs 500 more at 1000 B/s.
    expect(n.chargeFrame(peer(1), 1000, 100)).toMatchObject({ ok: false, pauseMs: 500 });
    expect(n.chargeFrame(peer(1), 400, 100).ok).toBe(true);
    // Strangers have no budget: nothing to wait for.
    expect(n.chargeFrame(peer(9), 60_000, 100)).toEqual({ ok: true, pauseMs: 0, out: [] });
    const m = mk({ limits: { messagesPerSecond: 10, messageBurst: 2 } });
    withNeighbors(m, [peer(1)]);
    expect(m.chargeFrame(peer(1), 10, 100).ok && m.chargeFrame(peer(1), 10, 100).ok).toBe(true);
    // Two messages taken: the next one needs 1/10 s.
    expect(m.chargeFrame(peer(1), 10, 100)).toMatchObject({ ok: false, pauseMs: 100 });
  });

  it('an overrun past maxOverBudgetDrops bans from chargeFrame: ban-peer, disconnect-peer, neighbor-down; then banned', () => {
    const n = mk({ limits: { messagesPerSecond: 0, messageBurst: 1, maxOverBudgetDrops: 3 } });
    withNeighbors(n, [peer(1), peer(2)]);
    expect(n.chargeFrame(peer(1), 10, 5).ok).toBe(true);
    const outs: OutEvent[][] = [];
    for (let i = 0; i < 4; i++) outs.push(n.chargeFrame(peer(1), 10, 5).out);
    expect(outs.slice(0, 3)).toEqual([[], [], []]);
    expect(outs[3]).toContainEqual({
      type: 'ban-peer',
      peer: peer(1),
      durationMs: 60_000,
      reason: 'over-budget',
    });
    expect(outs[3]).toContainEqual({ type: 'disconnect-peer', peer: peer(1) });
    expect(outs[3]).toContainEqual({
      type: 'emit',
      topic: T,
      event: { type: 'neighbor-down', peer: peer(1), cause: 'banned' },
    });
    expect(n.activeView(T)).toEqual([peer(2)]);
    // Banned: refused before decoding, nothing to wait for (its link is being closed).
    expect(n.chargeFrame(peer(1), 10, 6)).toEqual({ ok: false, pauseMs: 0, out: [] });
    expect(n.stats.dropped.banned).toBe(1);
  });

  it('the default ban comes after 20 over-budget drops within 10 s, not 100', () => {
    expect(DEFAULT_MAX_OVER_BUDGET_DROPS).toBe(20);
    const n = mk({ limits: { messagesPerSecond: 0, messageBurst: 1 } });
    withNeighbors(n, [peer(1)]);
    n.chargeFrame(peer(1), 10, 1);
    let bannedAt = -1;
    for (let i = 1; i <= 100 && bannedAt < 0; i++) {
      if (n.chargeFrame(peer(1), 10, 1 + i).out.some((e) => e.type === 'ban-peer')) bannedAt = i;
    }
    expect(bannedAt).toBe(21);
  });
});

describe('announcements cost what messages cost', () => {
  it('every id of an IHAVE is charged as a message: frames past the budget are ignored, empty it, and strike', () => {
    const n = mk({ limits: { graftRequestBurst: 100_000 } });
    withNeighbors(n, [peer(1)]);
    // Repeats of one id: the frame's size, not what it announces, is what the flooder pays for.
    const frame: Message = {
      type: 'ihave',
      entries: Array.from({ length: 1900 }, () => ({ id: mid(1), hops: 1 })),
    };
    // The 4000-message burst holds two frames of 1900 ids (each frame's own charge included).
    for (const at of [10, 11]) {
      expect(n.chargeFrame(peer(1), 100, at).ok).toBe(true);
      recv(n, peer(1), frame, at, true);
    }
    expect(n.stats.dropped['over-budget']).toBeUndefined();
    expect(n.stats.dropped['announce-repeat']).toBe(1899 + 1900);
    expect(n.chargeFrame(peer(1), 100, 12).ok).toBe(true);
    recv(n, peer(1), frame, 12, true);
    expect(n.stats.dropped['over-budget']).toBe(1900);
    expect(n.stats.dropped['announce-repeat']).toBe(1899 + 1900);
    // The bucket is empty: the next frame is refused undecoded, and the driver pauses the sender.
    const c = n.chargeFrame(peer(1), 100, 12);
    expect(c.ok).toBe(false);
    expect(c.pauseMs).toBeGreaterThan(0);
    // Sustained, it is a ban at the rate of frames the refill lets through.
    let banned = false;
    for (let at = 13; at < 5000 && !banned; at++) {
      const r = n.chargeFrame(peer(1), 100, at);
      banned = r.out.some((e) => e.type === 'ban-peer');
      if (r.ok) banned = recv(n, peer(1), frame, at, true).some((e) => e.type === 'ban-peer');
    }
    expect(banned).toBe(true);
  });

  it('an honest IHAVE of a few hundred ids a second is never over budget', () => {
    const n = mk();
    withNeighbors(n, [peer(1)]);
    // 500 ids/s (50 members × 10 messages/s, all announced on one lazy link), in 20 frames a second.
    for (let f = 0; f < 20 * 30; f++) {
      const entries = Array.from({ length: 25 }, (_, i) => ({ id: mid(f * 25 + i), hops: 1 }));
      const at = 10 + f * 50;
      expect(n.chargeFrame(peer(1), 25 * 34, at).ok).toBe(true);
      recv(n, peer(1), { type: 'ihave', entries }, at, true);
      // Their payloads come by the tree: nothing stays missing.
      for (const e of entries)
        n.handle({ type: 'timer-expired', topic: T, timer: { type: 'graft', id: e.id } }, at);
    }
    expect(n.stats.dropped['over-budget']).toBeUndefined();
  });
});

describe('cheap checks before expensive ones', () => {
  it('an IHAVE is not iterated past the peer’s missing cap', () => {
    const n = mk({ limits: { graftRequestBurst: 100_000 } });
    withNeighbors(n, [peer(1)]);
    let reads = 0;
    const counted = (entries: IHaveEntry[]): IHaveEntry[] =>
      new Proxy(entries, {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
          return Reflect.get(target, key, receiver);
        },
      });
    const frame = (from: number): IHaveEntry[] =>
      Array.from({ length: 1900 }, (_, i) => ({ id: mid(from + i), hops: 1 }));
    recv(n, peer(1), { type: 'ihave', entries: counted(frame(0)) }, 10);
    const cap = DEFAULT_MAX_MISSING_PER_PEER;
    expect(reads).toBe(cap);
    expect(n.sizes(T)).toMatchObject({ missing: cap, mostMissingPerPeer: cap });
    expect(n.stats.dropped['missing-full']).toBe(1900 - cap);
    // At the cap: the next frame is not read at all.
    reads = 0;
    recv(n, peer(1), { type: 'ihave', entries: counted(frame(10_000)) }, 11);
    expect(reads).toBe(0);
    expect(n.stats.dropped['missing-full']).toBe(2 * 1900 - cap);
  });

  it('GRAFTs to one neighbour pass its GRAFT request budget: the next announcer is asked, and a spent budget ignores its IHAVEs', () => {
    const n = mk({ limits: { graftRequestBurst: 3, graftRequestsPerSecond: 0 } });
    const [a, b] = [peer(1), peer(2)];
    withNeighbors(n, [a, b]);
    const ids = [0, 1, 2, 3, 4].map(mid);
    // a announces first, so it is asked first; b announces the same ids.
    recv(n, a, { type: 'ihave', entries: ids.map((id) => ({ id, hops: 1 })) }, 10);
    recv(n, b, { type: 'ihave', entries: ids.map((id) => ({ id, hops: 1 })) }, 11);
    const asked: string[] = [];
    for (const id of ids) {
      const out = n.handle({ type: 'timer-expired', topic: T, timer: { type: 'graft', id } }, 200);
      for (const e of sends(out)) if (e.message.type === 'graft') asked.push(e.to);
    }
    expect(asked).toEqual([a, a, a, b, b]);
    expect(n.stats.dropped['graft-ask-limited']).toBe(2);
    // a's budget is spent: its announcements are not worth a timer each.
    const out = recv(n, a, { type: 'ihave', entries: [{ id: mid(100), hops: 1 }] }, 300);
    expect(out.filter((e) => e.type === 'schedule-timer')).toEqual([]);
    expect(n.stats.dropped['graft-ask-limited']).toBe(3);
    expect(parseProtoConfig({}).limits).toMatchObject({
      graftRequestsPerSecond: 100,
      graftRequestBurst: 256,
    });
  });

  it('straight from its origin, a GOSSIP over the origin’s budget costs no verification; a relayed one is verified first', () => {
    let verifies = 0;
    const sig = new Uint8Array(64).fill(1);
    const n = mk(
      { plumtree: { signatures: true }, limits: { originMessageBurst: 2, originMessagesPerSecond: 0 } },
      {
        sign: () => sig,
        verify: () => {
          verifies++;
          return true;
        },
      },
    );
    const [o, relay, other] = [peer(1), peer(2), peer(3)];
    withNeighbors(n, [o, relay]);
    for (let i = 0; i < 5; i++) recv(n, o, gossip(o, i, 1, sig), 10);
    expect([verifies, n.stats.delivered, n.stats.dropped['origin-over-budget']]).toEqual([2, 2, 3]);
    // Relayed: the relay is not the origin, so a forgery must not spend the origin's budget.
    verifies = 0;
    for (let i = 0; i < 5; i++) recv(n, relay, gossip(other, i, 2, sig), 10);
    expect([verifies, n.stats.delivered, n.stats.dropped['origin-over-budget']]).toEqual([5, 4, 6]);
  });
});

describe('a banned identity that comes back as a fresh one', () => {
  const groups: Record<PeerId, string> = { [peer(1)]: 'g1', [peer(2)]: 'g1', [peer(3)]: 'g2' };
  const netGroup = (p: PeerId): string | undefined => groups[p];

  it('a newcomer of a group with a ban starts with empty budgets (rate, no burst); other groups and later ones do not', () => {
    const n = mk({ limits: { messagesPerSecond: 0, messageBurst: 1, maxOverBudgetDrops: 0 } }, { netGroup });
    withNeighbors(n, [peer(1)]);
    n.chargeFrame(peer(1), 10, 5);
    expect(n.chargeFrame(peer(1), 10, 5).out).toContainEqual(expect.objectContaining({ type: 'ban-peer' }));
    expect(n.peerSizes().bannedGroups).toBe(1);
    withNeighbors(n, [peer(2), peer(3)], 10);
    expect(n.stats.emptyBudgetStarts).toBe(1);
    // peer(2) shares the banned peer's group: no burst. peer(3) has its full burst of one.
    expect(n.chargeFrame(peer(2), 10, 20)).toMatchObject({ ok: false });
    expect(n.chargeFrame(peer(3), 10, 20)).toMatchObject({ ok: true });
    // (That drop banned peer(2) as well, which marks g1 again until 60_020.) The mark lasts banMs: a
    // newcomer of g1 after it gets the burst again.
    groups[peer(4)] = 'g1';
    withNeighbors(n, [peer(4)], 60_100);
    expect(n.stats.emptyBudgetStarts).toBe(1);
    expect(n.chargeFrame(peer(4), 10, 60_110).ok).toBe(true);
  });

  it('its own origin budget starts empty too: what it broadcasts straight gets the rate, not the burst', () => {
    const good = new Uint8Array(64).fill(1);
    const bad = new Uint8Array(64);
    const n = mk(
      {
        plumtree: { signatures: true },
        limits: { maxInvalidSignatures: 1, originMessagesPerSecond: 100, originMessageBurst: 400 },
      },
      { netGroup, sign: () => good, verify: (_o, _m, sig) => sig[0] === 1 },
    );
    withNeighbors(n, [peer(1)]);
    expect(recv(n, peer(1), gossip(peer(1), 1, 1, bad), 5)).toContainEqual(
      expect.objectContaining({ type: 'ban-peer', reason: 'invalid-signatures' }),
    );
    withNeighbors(n, [peer(2)], 10);
    expect(n.stats.emptyBudgetStarts).toBe(1);
    // A second later its link budget has refilled; its origin budget is created empty.
    for (let i = 0; i < 10; i++) recv(n, peer(2), gossip(peer(2), i, 1, good), 1000);
    expect([n.stats.delivered, n.stats.dropped['origin-over-budget']]).toEqual([0, 10]);
    // 20 ms later two more fit (100/s).
    for (let i = 10; i < 13; i++) recv(n, peer(2), gossip(peer(2), i, 1, good), 1020);
    expect([n.stats.delivered, n.stats.dropped['origin-over-budget']]).toEqual([2, 11]);
  });
});

describe('TokenBucket and Guard', () => {
  it('a bucket may start with fewer tokens than its burst, and waitMs says when n are there', () => {
    const b = new TokenBucket(1000, 10, 0, 0);
    expect(b.take(0)).toBe(false);
    expect(b.waitMs(0, 4)).toBe(4);
    expect(b.take(4, 4)).toBe(true);
    expect(new TokenBucket(1000, 10, 0).take(0, 10)).toBe(true);
    expect(new TokenBucket(0, 10, 0, 0).waitMs(0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('Guard.waitMs is 0 for a peer without budgets and the larger of its two buckets’ waits', () => {
    const g = new Guard(parseProtoConfig({ limits: { messagesPerSecond: 1, messageBurst: 1 } }).limits);
    expect(g.waitMs(peer(1), 100, 0)).toBe(0);
    g.attach(peer(1), 0);
    expect(g.charge(peer(1), 100, 0)).toBe(true);
    expect(g.waitMs(peer(1), 100, 0)).toBe(1000);
  });
});
