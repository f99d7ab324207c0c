/**
 * Sender preconditions, caps, budgets, bans and eclipse resistance of the gossip core (PROTOCOL.md
 * §8.7), one rule per test, each driven as a hostile peer would.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_MISSING_PER_PEER,
  DEFAULT_WALK_DIAL_BURST,
  type GossipNode,
  type IHaveEntry,
  type Message,
  type OutEvent,
  type PeerId,
  parseProtoConfig,
} from '../../src/proto/index.js';
import { mid, mk, peer, sends, T, withNeighbors } from '../helpers/core.js';

const U = '22'.repeat(32);
const recv = (n: GossipNode, from: PeerId, message: Message, at: number, topic = T): OutEvent[] =>
  n.handle({ type: 'recv', from, topic, message }, at);
const start = (n: GossipNode, at = 0, topic = T): OutEvent[] =>
  n.handle({ type: 'command', topic, command: { type: 'join', peers: [] } }, at);
const timers = (out: OutEvent[], type: string) =>
  out.filter((e) => e.type === 'schedule-timer' && e.timer.type === type);

describe('sender preconditions', () => {
  it('FORWARD_JOIN, SHUFFLE, GOSSIP, IHAVE, GRAFT, PRUNE from a connection that is not a neighbour: no send, nothing learned', () => {
    const n = mk();
    withNeighbors(n, [peer(1), peer(2)]);
    const s = peer(99);
    const listed = [{ id: peer(50) }, { id: peer(51) }];
    const messages: Message[] = [
      { type: 'forward-join', peer: peer(60), ttl: 255 },
      { type: 'shuffle', origin: s, ttl: 255, peers: listed },
      {
        type: 'gossip',
        origin: s,
        seq: 1n,
        sentAt: 0,
        scope: 'swarm',
        hops: 1,
        content: new Uint8Array([1]),
      },
      { type: 'ihave', entries: [{ id: mid(1), hops: 1 }] },
      { type: 'graft', id: mid(1) },
      { type: 'prune' },
    ];
    for (const m of messages) expect(sends(recv(n, s, m, 10))).toEqual([]);
    expect(n.stats.dropped['not-neighbor']).toBe(6);
    expect(n.stats.delivered).toBe(0);
    expect(n.passiveView(T)).toEqual([]);
    expect(n.sizes(T)!.missing).toBe(0);
  });

  it('DISCONNECT(alive) from a stranger does not enter the passive view', () => {
    const n = mk();
    start(n);
    recv(n, peer(9), { type: 'disconnect', alive: true }, 1);
    expect(n.passiveView(T)).toEqual([]);
    expect(n.stats.dropped['not-neighbor']).toBe(1);
  });

  it('an unsolicited NEIGHBOR_REPLY(accepted) does not take a free slot; a late one only within lateReplyWindowMs', () => {
    const n = mk();
    start(n);
    expect(recv(n, peer(9), { type: 'neighbor-reply', accepted: true }, 1)).toEqual([]);
    expect(n.activeView(T)).toEqual([]);
    expect(n.stats.dropped['unsolicited-reply']).toBe(1);
    // Asked at 10, timed out at 510: a reply at 10 + lateReplyWindowMs + 1 is too late.
    n.handle({ type: 'command', topic: T, command: { type: 'join', peers: [{ id: peer(8) }] } }, 10);
    n.handle({ type: 'timer-expired', topic: T, timer: { type: 'neighbor-timeout', peer: peer(8) } }, 510);
    recv(n, peer(8), { type: 'neighbor-reply', accepted: true }, 10_011);
    expect(n.activeView(T)).toEqual([]);
    expect(n.stats.dropped['unsolicited-reply']).toBe(2);
  });

  it('SHUFFLE_REPLY only answers a SHUFFLE we sent: one reply each, within shuffleReplyTimeoutMs, at most ka + kp entries', () => {
    const n = mk();
    withNeighbors(n, [peer(1)]);
    const many = Array.from({ length: 255 }, (_, i) => ({ id: peer(100 + i) }));
    recv(n, peer(9), { type: 'shuffle-reply', peers: many }, 5);
    expect(n.passiveView(T)).toEqual([]);
    expect(n.stats.dropped['unsolicited-shuffle-reply']).toBe(1);

    const out = n.handle({ type: 'timer-expired', topic: T, timer: { type: 'shuffle' } }, 1000);
    expect(sends(out).map((e) => e.message.type)).toEqual(['shuffle']);
    recv(n, peer(9), { type: 'shuffle-reply', peers: many }, 1100);
    expect(n.passiveView(T)).toHaveLength(7); // ka + kp
    expect(n.stats.dropped['peers-truncated']).toBe(255 - 7);
    // The one reply is used up.
    recv(n, peer(10), { type: 'shuffle-reply', peers: [{ id: peer(7) }] }, 1200);
    expect(n.passiveView(T)).not.toContain(peer(7));
    expect(n.stats.dropped['unsolicited-shuffle-reply']).toBe(2);
    // A reply after the window is dropped too.
    n.handle({ type: 'timer-expired', topic: T, timer: { type: 'shuffle' } }, 2000);
    recv(n, peer(10), { type: 'shuffle-reply', peers: [{ id: peer(7) }] }, 2000 + 10_001);
    expect(n.stats.dropped['unsolicited-shuffle-reply']).toBe(3);
  });

  it('walks and GOSSIP in flight from a neighbour that just left are still taken, for leftGraceMs only', () => {
    const n = mk({ hyparview: { activeViewCapacity: 3 } });
    withNeighbors(n, [peer(1), peer(2), peer(3)]);
    // A fourth JOIN evicts peer(1), the only one not among the two newest.
    recv(n, peer(4), { type: 'join' }, 100);
    expect(n.activeView(T)).not.toContain(peer(1));
    const walk = (at: number) =>
      sends(recv(n, peer(1), { type: 'forward-join', peer: peer(50 + at), ttl: 4 }, at)).map(
        (e) => e.message.type,
      );
    expect(walk(200)).toEqual(['forward-join']);
    expect(walk(2200)).toEqual([]);
    expect(n.stats.dropped['not-neighbor']).toBe(1);
  });

  it('walk ttls are clamped to the configured walk lengths', () => {
    const n = mk();
    withNeighbors(n, [peer(1), peer(2), peer(3)]);
    const fj = sends(recv(n, peer(1), { type: 'forward-join', peer: peer(50), ttl: 255 }, 10));
    expect(fj.map((e) => e.message)).toEqual([{ type: 'forward-join', peer: peer(50), ttl: 5 }]);
    const sh = sends(recv(n, peer(1), { type: 'shuffle', origin: peer(51), ttl: 255, peers: [] }, 11));
    expect(sh.map((e) => e.message)).toEqual([{ type: 'shuffle', origin: peer(51), ttl: 5, peers: [] }]);
    expect(n.stats.dropped['ttl-clamped']).toBe(2);
  });

  it('a SHUFFLE walk end takes at most ka + kp entries plus its origin, and forwards no more', () => {
    const n = mk();
    withNeighbors(n, [peer(1)]);
    const many = Array.from({ length: 255 }, (_, i) => ({ id: peer(100 + i) }));
    const out = sends(recv(n, peer(1), { type: 'shuffle', origin: peer(60), ttl: 3, peers: many }, 10));
    expect(
      out.filter((e) => e.message.type.startsWith('shuffle')).map((e) => [e.to, e.message.type]),
    ).toEqual([[peer(60), 'shuffle-reply']]);
    // Repair then asks the new candidates, at most the free slots.
    expect(out.filter((e) => e.message.type === 'neighbor')).toHaveLength(4);
    expect(n.passiveView(T)).toHaveLength(8);
    expect(n.passiveView(T)).toContain(peer(60));
  });
});

describe('caps on what peers fill', () => {
  it('an IHAVE repeating one unknown id 1,900 times leaves one announcer entry and one GRAFT timer', () => {
    const n = mk();
    withNeighbors(n, [peer(1)]);
    const entries: IHaveEntry[] = Array.from({ length: 1900 }, () => ({ id: mid(1), hops: 1 }));
    const out = recv(n, peer(1), { type: 'ihave', entries }, 10);
    expect(timers(out, 'graft')).toHaveLength(1);
    expect(n.sizes(T)).toMatchObject({ missing: 1, announcers: 1, mostAnnouncers: 1, graftTimers: 1 });
    expect(n.stats.dropped['announce-repeat']).toBe(1899);
  });

  it('announcers per missing id are capped at maxAnnouncersPerId', () => {
    const n = mk({ limits: { maxAnnouncersPerId: 2 } });
    withNeighbors(n, [peer(1), peer(2), peer(3)]);
    for (const p of [1, 2, 3]) recv(n, peer(p), { type: 'ihave', entries: [{ id: mid(1), hops: 1 }] }, 10);
    expect(n.sizes(T)!.mostAnnouncers).toBe(2);
    expect(n.stats.dropped['announcers-full']).toBe(1);
  });

  it('10,000 IHAVE ids from one neighbour: at most maxMissingPerPeer missing ids, GRAFT timers and GRAFTs; gone with the neighbour', () => {
    // The GRAFT request budget and the message budget (their own tests: test/proto/budget.test.ts) out of the way.
    const n = mk({ limits: { graftRequestBurst: 100_000, messageBurst: 100_000 } });
    withNeighbors(n, [peer(1)]);
    let graftTimers = 0;
    for (let f = 0; f < 10_000; f += 1900) {
      const entries = Array.from({ length: Math.min(1900, 10_000 - f) }, (_, i) => ({
        id: mid(f + i),
        hops: 1,
      }));
      graftTimers += timers(recv(n, peer(1), { type: 'ihave', entries }, 10), 'graft').length;
    }
    const cap = DEFAULT_MAX_MISSING_PER_PEER;
    expect(graftTimers).toBe(cap);
    expect(n.sizes(T)).toMatchObject({ missing: cap, mostMissingPerPeer: cap, graftTimers: cap });
    expect(n.stats.dropped['missing-full']).toBe(10_000 - cap);
    let grafts = 0;
    for (let i = 0; i < 10_000; i++) {
      const out = n.handle({ type: 'timer-expired', topic: T, timer: { type: 'graft', id: mid(i) } }, 200);
      grafts += sends(out).length;
    }
    expect(grafts).toBe(cap);
    expect(n.sizes(T)!.missing).toBe(0);
    // A neighbour's announcements leave with it.
    recv(n, peer(1), { type: 'ihave', entries: [{ id: mid(20_000), hops: 1 }] }, 300);
    n.handle({ type: 'peer-disconnected', peer: peer(1), cause: 'closed' }, 301);
    expect(n.sizes(T)).toMatchObject({ missing: 0, mostMissingPerPeer: 0 });
  });

  it('missing ids in all are capped at maxMissing', () => {
    const n = mk({ limits: { maxMissing: 600, maxAnnounceOnNeighborUp: 100 } });
    withNeighbors(n, [peer(1), peer(2)]);
    for (const p of [1, 2]) {
      const entries = Array.from({ length: 512 }, (_, i) => ({ id: mid(p * 1000 + i), hops: 1 }));
      recv(n, peer(p), { type: 'ihave', entries }, 10);
    }
    expect(n.sizes(T)!.missing).toBe(600);
    expect(n.stats.dropped['missing-full']).toBe(1024 - 600);
  });

  it('pending requests are capped at maxPendingRequests; the rest become passive candidates', () => {
    const n = mk({ hyparview: { passiveViewCapacity: 100 } });
    const peers = Array.from({ length: 100 }, (_, i) => ({ id: peer(i) }));
    const out = n.handle({ type: 'command', topic: T, command: { type: 'join', peers } }, 0);
    expect(sends(out)).toHaveLength(64);
    expect(n.sizes(T)).toMatchObject({ pending: 64, passive: 36 });
    expect(n.stats.dropped['pending-full']).toBe(36);
  });

  it('peers asked by walk ends do not leak: the recently-asked map stays within maxRecentlyAsked', () => {
    const n = mk({ limits: { walkDialBurst: 1e9 } });
    withNeighbors(n, [peer(1)]);
    for (let i = 0; i < 1000; i++) {
      const at = 10 + i * 600;
      recv(n, peer(1), { type: 'forward-join', peer: peer(1000 + i), ttl: 0 }, at);
      n.handle(
        { type: 'timer-expired', topic: T, timer: { type: 'neighbor-timeout', peer: peer(1000 + i) } },
        at + 500,
      );
    }
    // Walk ends asked 1000 peers over 600 s; only those of the last lateReplyWindowMs are remembered.
    expect(n.sizes(T)!.asked).toBeLessThanOrEqual(20);
    expect(n.sizes(T)!.pending).toBe(0);
  });

  it('a new neighbour hears of the newest maxAnnounceOnNeighborUp cached ids only', () => {
    const n = mk({ limits: { maxAnnounceOnNeighborUp: 10 } });
    start(n);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const out = n.handle(
        { type: 'command', topic: T, command: { type: 'broadcast', content: new Uint8Array([i]) } },
        i,
      );
      for (const e of out) if (e.type === 'emit' && e.event.type === 'sent') ids.push(e.event.id);
    }
    recv(n, peer(1), { type: 'join' }, 100);
    const out = n.handle({ type: 'timer-expired', topic: T, timer: { type: 'ihave-dispatch' } }, 150);
    const ihave = sends(out).map((e) => e.message);
    expect(ihave).toHaveLength(1);
    expect(ihave[0]!.type === 'ihave' && ihave[0]!.entries.map((e) => e.id)).toEqual(ids.slice(-10));
  });

  it('config: the limits are strict, named and checked against each other', () => {
    const c = parseProtoConfig();
    expect(c.limits.maxMissingPerPeer).toBe(512);
    expect(c.limits.banMs).toBe(60_000);
    expect(() => parseProtoConfig({ limits: { maxMisingPerPeer: 1 } })).toThrow(/limits/);
    expect(() => parseProtoConfig({ limits: { maxMissingPerPeer: 10, maxMissing: 5 } })).toThrow(
      /maxMissingPerPeer must not exceed maxMissing/,
    );
    expect(() => parseProtoConfig({ limits: { byteBurst: 1000 } })).toThrow(/limits\.byteBurst/);
  });
});

describe('dials on behalf of others', () => {
  it('a FORWARD_JOIN walk end asks joiners only within the walk-dial budget; the others become passive', () => {
    const n = mk();
    withNeighbors(n, [peer(1)]);
    let asked = 0;
    for (let i = 0; i < 40; i++) {
      const out = recv(n, peer(1), { type: 'forward-join', peer: peer(100 + i), ttl: 0 }, 10);
      asked += sends(out).filter((e) => e.message.type === 'neighbor').length;
    }
    expect(asked).toBe(DEFAULT_WALK_DIAL_BURST);
    expect(n.stats.dropped['walk-dial-limited']).toBe(40 - DEFAULT_WALK_DIAL_BURST);
    expect(n.passiveView(T)).toContain(peer(139));
    // One token a second comes back.
    const later = recv(n, peer(1), { type: 'forward-join', peer: peer(200), ttl: 0 }, 1010);
    expect(sends(later).map((e) => e.message.type)).toEqual(['neighbor']);
  });

  it('a SHUFFLE walk end that would dial its origin does so only within the walk-dial budget', () => {
    const n = mk({ limits: { walkDialBurst: 2, walkDialsPerSecond: 0 } });
    withNeighbors(n, [peer(1)]);
    let replies = 0;
    for (let i = 0; i < 5; i++) {
      const out = recv(n, peer(1), { type: 'shuffle', origin: peer(100 + i), ttl: 0, peers: [] }, 10);
      replies += sends(out).filter((e) => e.message.type === 'shuffle-reply').length;
    }
    expect(replies).toBe(2);
    expect(n.stats.dropped['walk-dial-limited']).toBe(3);
    // The origin is a neighbour: no dial, no token needed.
    const own = recv(n, peer(1), { type: 'shuffle', origin: peer(1), ttl: 0, peers: [] }, 10);
    expect(sends(own).map((e) => e.message.type)).toEqual(['shuffle-reply']);
  });
});

describe('costs land on the sender', () => {
  it('a neighbour over its message budget is dropped, then banned in every topic (ban-peer), refused until the ban ends', () => {
    const n = mk({ limits: { messagesPerSecond: 10, messageBurst: 20, maxOverBudgetDrops: 5 } });
    const a = peer(1);
    withNeighbors(n, [a, peer(2)], 0, T);
    withNeighbors(n, [a], 0, U);
    const all: OutEvent[] = [];
    for (let i = 0; i < 26; i++) all.push(...recv(n, a, { type: 'prune' }, 1000));
    expect(n.stats.dropped['over-budget']).toBe(6 - 0);
    expect(all).toContainEqual({ type: 'ban-peer', peer: a, durationMs: 60_000, reason: 'over-budget' });
    expect(all).toContainEqual({ type: 'disconnect-peer', peer: a });
    const downs = all.filter((e) => e.type === 'emit' && e.event.type === 'neighbor-down');
    expect(downs.map((e) => e.type === 'emit' && [e.topic, e.event])).toEqual([
      [T, { type: 'neighbor-down', peer: a, cause: 'banned' }],
      [U, { type: 'neighbor-down', peer: a, cause: 'banned' }],
    ]);
    expect(n.activeView(T)).not.toContain(a);
    expect(n.activeView(U)).not.toContain(a);
    expect(n.isBanned(a, 1000)).toBe(true);
    expect(n.stats.bans).toBe(1);
    // Banned: its JOIN gets no answer, and walks naming it do not bring it back.
    expect(recv(n, a, { type: 'join' }, 2000)).toEqual([]);
    expect(n.stats.dropped.banned).toBe(1);
    recv(n, peer(2), { type: 'forward-join', peer: a, ttl: 3 }, 2001);
    recv(n, peer(2), { type: 'shuffle', origin: peer(3), ttl: 0, peers: [{ id: a }] }, 2002);
    expect(n.passiveView(T)).not.toContain(a);
    expect(n.peerSizes().budgets).toBe(1);
    // After banMs it may join again.
    expect(sends(recv(n, a, { type: 'join' }, 61_001)).map((e) => e.message)).toContainEqual({
      type: 'neighbor-reply',
      accepted: true,
    });
  });

  it('frame bytes count against the byte budget (recv size, else the encoded size)', () => {
    const n = mk({ limits: { bytesPerSecond: 0, byteBurst: 100_000 } });
    withNeighbors(n, [peer(1)]);
    n.handle({ type: 'recv', from: peer(1), topic: T, message: { type: 'prune' }, size: 99_000 }, 10);
    expect(n.stats.dropped['over-budget'] ?? 0).toBe(0);
    n.handle({ type: 'recv', from: peer(1), topic: T, message: { type: 'prune' }, size: 2000 }, 11);
    expect(n.stats.dropped['over-budget']).toBe(1);
  });

  it('a flooding origin is throttled by its own budget; a strike when it sends straight, none for a relay', () => {
    const n = mk({ limits: { originMessageBurst: 5, originMessagesPerSecond: 0, maxOverBudgetDrops: 3 } });
    const o = peer(1);
    const relay = peer(2);
    withNeighbors(n, [o, relay]);
    const gossip = (seq: number, hops: number): Message => ({
      type: 'gossip',
      origin: o,
      seq: BigInt(seq),
      sentAt: 0,
      scope: 'swarm',
      hops,
      content: new Uint8Array([seq]),
    });
    // Relayed: 5 pass, the rest are dropped, the relay is not blamed.
    for (let i = 0; i < 10; i++) recv(n, relay, gossip(i, 2), 10);
    expect(n.stats.delivered).toBe(5);
    expect(n.stats.dropped['origin-over-budget']).toBe(5);
    expect(n.stats.bans).toBe(0);
    // Straight from the origin: strikes, then a ban.
    const out: OutEvent[] = [];
    for (let i = 10; i < 20; i++) out.push(...recv(n, o, gossip(i, 1), 10));
    expect(out).toContainEqual({ type: 'ban-peer', peer: o, durationMs: 60_000, reason: 'over-budget' });
    expect(n.activeView(T)).toEqual([relay]);
  });

  it('every GOSSIP is verified, also straight from its origin; 3 invalid signatures ban; a forged (id, signature) is verified once', () => {
    let verifies = 0;
    const good = new Uint8Array(64).fill(1);
    const n = mk(
      { plumtree: { signatures: true } },
      {
        sign: () => good,
        verify: (_o, _m, s) => {
          verifies++;
          return s[0] === 1;
        },
      },
    );
    const [a, b, c] = [peer(1), peer(2), peer(3)];
    withNeighbors(n, [a, b, c]);
    const msg = (origin: PeerId, seq: number, signature: Uint8Array): Message => ({
      type: 'gossip',
      origin,
      seq: BigInt(seq),
      sentAt: 0,
      scope: 'swarm',
      hops: origin === a ? 1 : 2,
      content: new Uint8Array([seq]),
      signature,
    });
    const forged = new Uint8Array(64);
    // Straight from its origin, with a bad signature: verified, refused.
    recv(n, a, msg(a, 1, forged), 10);
    expect([verifies, n.stats.badSignature, n.stats.delivered]).toEqual([1, 1, 0]);
    // The same forgery relayed by another neighbour: not verified again, still its sender's fault.
    recv(n, b, msg(a, 1, forged), 11);
    expect([verifies, n.stats.dropped['bad-signature-cached']]).toEqual([1, 1]);
    // The genuine message with the same id is not tainted.
    recv(n, c, msg(a, 1, good), 12);
    expect([verifies, n.stats.delivered]).toEqual([2, 1]);
    // Two more invalid signatures from a: banned.
    recv(n, a, msg(a, 2, forged), 13);
    const out = recv(n, a, msg(a, 3, forged), 14);
    expect(out).toContainEqual({
      type: 'ban-peer',
      peer: a,
      durationMs: 60_000,
      reason: 'invalid-signatures',
    });
    expect(n.activeView(T)).not.toContain(a);
  });

  it('the negative cache of bad (id, signature) pairs is capped at maxBadIds', () => {
    const n = mk(
      { plumtree: { signatures: true }, limits: { maxBadIds: 4, maxInvalidSignatures: 100 } },
      { sign: () => new Uint8Array(64), verify: () => false },
    );
    withNeighbors(n, [peer(1)]);
    for (let i = 0; i < 10; i++) {
      const m: Message = {
        type: 'gossip',
        origin: peer(5),
        seq: BigInt(i),
        sentAt: 0,
        scope: 'swarm',
        hops: 2,
        content: new Uint8Array([i]),
        signature: new Uint8Array(64),
      };
      recv(n, peer(1), m, 10);
    }
    expect(n.sizes(T)!.badIds).toBe(4);
  });

  it('a GRAFT for the same id is served once; GRAFT answers stay within the byte budget', () => {
    const n = mk({ limits: { graftServeBurstBytes: 70_000, graftServeBytesPerSecond: 0 } });
    start(n);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const out = n.handle(
        {
          type: 'command',
          topic: T,
          command: { type: 'broadcast', content: new Uint8Array(10_000).fill(i) },
        },
        i,
      );
      for (const e of out) if (e.type === 'emit' && e.event.type === 'sent') ids.push(e.event.id);
    }
    withNeighbors(n, [peer(1)], 20);
    const served = (id: string, at: number) =>
      sends(recv(n, peer(1), { type: 'graft', id }, at)).filter((e) => e.message.type === 'gossip').length;
    expect(served(ids[0]!, 30)).toBe(1);
    expect(served(ids[0]!, 31)).toBe(0);
    expect(n.stats.dropped['graft-repeat']).toBe(1);
    let total = 1;
    for (const id of ids.slice(1)) total += served(id, 32);
    // 70,000 bytes hold 6 answers of 10,145 bytes.
    expect(total).toBe(6);
    expect(n.stats.dropped['graft-over-budget']).toBe(4);
  });
});

describe('eclipse resistance', () => {
  const honest = [1, 2, 3, 4, 5].map(peer);
  const sybils = Array.from({ length: 30 }, (_, i) => peer(1000 + i));

  it('evictions for newcomers are rate-limited: beyond the bucket they are refused and kept passive', () => {
    const n = mk({ limits: { evictionBurst: 2, evictionsPerSecond: 0 } });
    withNeighbors(n, honest);
    const replies = sybils.slice(0, 5).map((s, i) => {
      const out = sends(recv(n, s, { type: 'join' }, 100 + i)).find((e) => e.to === s);
      return out?.message.type === 'neighbor-reply' && out.message.accepted;
    });
    expect(replies).toEqual([true, true, false, false, false]);
    expect(n.stats.dropped['eviction-limited']).toBe(3);
    expect(n.passiveView(T)).toContain(sybils[4]);
    // NEIGHBOR(high) is refused the same way.
    const high = sends(recv(n, sybils[5]!, { type: 'neighbor', priority: 'high' }, 200));
    expect(high.map((e) => e.message)).toEqual([{ type: 'neighbor-reply', accepted: false }]);
  });

  it('30 sybils re-joining as soon as evicted never push out the two longest-serving neighbours', () => {
    const n = mk({ limits: { evictionBurst: 1e9 } });
    withNeighbors(n, honest);
    for (let round = 0; round < 20; round++) {
      for (const [i, s] of sybils.entries()) {
        if (n.activeView(T).includes(s)) continue;
        recv(n, s, { type: 'join' }, 20_000 + round * 1000 + i);
        expect(n.activeView(T).slice(0, 2)).toEqual(honest.slice(0, 2));
      }
    }
    expect(n.stats.evictions).toBeGreaterThan(500);
  });

  it('when every neighbour is protected or among the two newest, a newcomer is refused', () => {
    const n = mk({ hyparview: { activeViewCapacity: 4 } });
    withNeighbors(n, honest.slice(0, 4));
    const out = sends(recv(n, sybils[0]!, { type: 'join' }, 20_000));
    expect(out.map((e) => e.message)).toEqual([{ type: 'neighbor-reply', accepted: false }]);
    expect(n.stats.dropped['no-evictable']).toBe(1);
    expect(n.activeView(T)).toEqual(honest.slice(0, 4));
    // Before protectAfterMs the oldest two may go.
    const young = mk({ hyparview: { activeViewCapacity: 4 } });
    withNeighbors(young, honest.slice(0, 4));
    recv(young, sybils[0]!, { type: 'join' }, 5000);
    expect(young.activeView(T)).toContain(sybils[0]);
  });

  it('a neighbour with a strike loses its protection', () => {
    const n = mk({ limits: { evictionBurst: 1e9, messageBurst: 1, messagesPerSecond: 0 } });
    withNeighbors(n, honest);
    recv(n, honest[0]!, { type: 'prune' }, 100);
    recv(n, honest[0]!, { type: 'prune' }, 101); // over budget: a strike
    for (let i = 0; i < 200 && n.activeView(T).includes(honest[0]!); i++) {
      recv(n, sybils[i % 30]!, { type: 'join' }, 20_000 + i);
    }
    expect(n.activeView(T)).not.toContain(honest[0]);
  });

  it('at most maxActivePerGroup neighbours per address group: a full group may only displace its own members', () => {
    const evil = new Set(sybils);
    const n = mk({}, { netGroup: (p) => (evil.has(p) ? 'evil' : undefined) });
    withNeighbors(n, honest.slice(0, 3));
    for (const [i, s] of sybils.entries()) {
      recv(n, s, { type: 'join' }, 100 + i);
      expect(n.activeView(T).filter((p) => evil.has(p)).length).toBeLessThanOrEqual(2);
    }
    expect(n.activeView(T).filter((p) => evil.has(p))).toEqual(sybils.slice(0, 2));
    expect(n.stats.dropped['group-full']).toBe(28);
    // An honest newcomer still enters; then the group's oldest member is no longer shielded and a
    // sybil newcomer may displace it, but only it.
    recv(n, honest[3]!, { type: 'join' }, 200);
    recv(n, sybils[2]!, { type: 'join' }, 201);
    const evilNow = n.activeView(T).filter((p) => evil.has(p));
    expect(evilNow).toEqual([sybils[1], sybils[2]]);
    expect(n.activeView(T).filter((p) => !evil.has(p))).toHaveLength(3);
    // A walk end does not ask a peer whose group is full.
    const fj = recv(n, honest[1]!, { type: 'forward-join', peer: sybils[10]!, ttl: 0 }, 300);
    expect(sends(fj)).toEqual([]);
  });
});
