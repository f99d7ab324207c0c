import { hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { createRng, GossipNode, messageId, type OutEvent, parseProtoConfig } from '../../src/proto/index.js';

const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const C = 'cc'.repeat(32);
const T = '11'.repeat(32);
const node = (me: string): GossipNode =>
  new GossipNode({ me, rng: createRng(1), config: { plumtree: { signatures: false } }, seqStart: 0n });
const kinds = (out: OutEvent[]): string[] =>
  out.map((e) =>
    e.type === 'send'
      ? `send ${e.to.slice(0, 2)} ${e.message.type}`
      : e.type === 'emit'
        ? `emit ${e.event.type}`
        : e.type === 'schedule-timer'
          ? `timer ${e.timer.type} ${e.delayMs}`
          : `disconnect-peer ${e.peer.slice(0, 2)}`,
  );

describe('config', () => {
  it('has documented defaults and names bad fields', () => {
    const c = parseProtoConfig();
    expect(c.hyparview.activeViewCapacity).toBe(5);
    expect(c.hyparview.passiveViewCapacity).toBe(30);
    expect(c.hyparview.activeRandomWalkLength).toBe(6);
    expect(c.hyparview.passiveRandomWalkLength).toBe(3);
    expect(c.plumtree.maxMessageBytes).toBe(64 * 1024);
    expect(c.plumtree.signatures).toBe(true);
    expect(() => parseProtoConfig({ hyparview: { activeViewCapacity: 0 } })).toThrow(
      /hyparview\.activeViewCapacity/,
    );
  });
  it('requires sign and verify while signatures are on', () => {
    expect(() => new GossipNode({ me: A, rng: createRng(1) })).toThrow(/signatures/);
  });
});

describe('GossipNode.handle', () => {
  it('a JOIN answered after its timeout still makes a neighbour when a slot is free, else a polite no', () => {
    const late = (capacity: number): string[] => {
      const b = new GossipNode({
        me: B,
        rng: createRng(1),
        config: { plumtree: { signatures: false }, hyparview: { activeViewCapacity: capacity } },
        seqStart: 0n,
      });
      b.handle({ type: 'command', topic: T, command: { type: 'join', peers: [{ id: C }] } }, 0);
      b.handle({ type: 'recv', from: C, topic: T, message: { type: 'join' } }, 1); // C fills one slot
      b.handle({ type: 'command', topic: T, command: { type: 'join', peers: [{ id: A }] } }, 2);
      b.handle({ type: 'timer-expired', topic: T, timer: { type: 'neighbor-timeout', peer: A } }, 502);
      const reply = { type: 'neighbor-reply', accepted: true } as const;
      return kinds(b.handle({ type: 'recv', from: A, topic: T, message: reply }, 700));
    };
    expect(late(5)).toEqual(['emit neighbor-up']);
    expect(late(1)).toEqual(['send aa disconnect', 'disconnect-peer aa']);
  });

  it('making room for a JOIN never evicts one of the two newest neighbours', () => {
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5'].map((p) => p.repeat(32));
    for (let seed = 1; seed <= 20; seed++) {
      const b = new GossipNode({
        me: B,
        rng: createRng(seed),
        config: { plumtree: { signatures: false }, hyparview: { activeViewCapacity: 3 } },
        seqStart: 0n,
      });
      b.handle({ type: 'command', topic: T, command: { type: 'join', peers: [] } }, 0);
      for (const [i, id] of ids.slice(0, 3).entries()) {
        b.handle({ type: 'recv', from: id, topic: T, message: { type: 'join' } }, i);
      }
      // Full with c1, c2, c3: c4's JOIN must evict c1, the only one not among the two newest.
      const out = b.handle({ type: 'recv', from: ids[3]!, topic: T, message: { type: 'join' } }, 10);
      expect(kinds(out)).toContain('send c1 disconnect');
      expect(b.activeView(T).sort()).toEqual([ids[1], ids[2], ids[3]]);
    }
  });

  it('isRequesting: true from our JOIN until its answer or its timeout', () => {
    const b = node(B);
    expect(b.isRequesting(T, A)).toBe(false);
    b.handle({ type: 'command', topic: T, command: { type: 'join', peers: [{ id: A }, { id: C }] } }, 0);
    expect([b.isRequesting(T, A), b.isRequesting(T, C), b.isRequesting('22'.repeat(32), A)]).toEqual([
      true,
      true,
      false,
    ]);
    b.handle({ type: 'recv', from: A, topic: T, message: { type: 'neighbor-reply', accepted: true } }, 10);
    b.handle({ type: 'timer-expired', topic: T, timer: { type: 'neighbor-timeout', peer: C } }, 500);
    expect([b.isRequesting(T, A), b.isRequesting(T, C)]).toEqual([false, false]);
  });

  it('join, accept, broadcast, duplicate, disconnect: exact out-events', () => {
    const a = node(A);
    const b = node(B);
    expect(kinds(a.handle({ type: 'command', topic: T, command: { type: 'join', peers: [] } }, 0))).toEqual([
      'timer shuffle 1000',
    ]);
    expect(
      kinds(b.handle({ type: 'command', topic: T, command: { type: 'join', peers: [{ id: A }] } }, 0)),
    ).toEqual(['timer shuffle 1000', 'send aa join', 'timer neighbor-timeout 500']);
    expect(kinds(a.handle({ type: 'recv', from: B, topic: T, message: { type: 'join' } }, 5))).toEqual([
      'send bb neighbor-reply',
      'emit neighbor-up',
      'emit joined',
    ]);
    expect(
      kinds(
        b.handle(
          { type: 'recv', from: A, topic: T, message: { type: 'neighbor-reply', accepted: true } },
          10,
        ),
      ),
    ).toEqual(['emit neighbor-up', 'emit joined']);
    const sent = a.handle(
      { type: 'command', topic: T, command: { type: 'broadcast', content: new Uint8Array([1]) } },
      20,
    );
    expect(kinds(sent)).toEqual(['timer cache-evict 1000', 'emit sent', 'send bb gossip']);
    const gossip = sent.find((e) => e.type === 'send')!;
    if (gossip.type !== 'send') throw new Error('unreachable');
    // The origin learns the id of its own broadcast: the one every receiver computes.
    const ownId = messageId(hexToBytes(T), hexToBytes(A), 0n, 20, 'swarm', new Uint8Array([1]));
    expect(sent).toContainEqual({
      type: 'emit',
      topic: T,
      event: { type: 'sent', id: ownId, content: new Uint8Array([1]), scope: 'swarm' },
    });
    expect(a.stats.payloadsSent).toBe(1);
    const first = b.handle({ type: 'recv', from: A, topic: T, message: gossip.message }, 25);
    // b's only neighbour is the origin: nothing to forward.
    expect(b.stats.payloadsSent).toBe(0);
    expect(first).toContainEqual({
      type: 'emit',
      topic: T,
      event: {
        type: 'received',
        id: ownId,
        content: new Uint8Array([1]),
        origin: A,
        deliveredFrom: A,
        hops: 1,
        scope: 'swarm',
        sentAt: 20,
        replay: false,
      },
    });
    // An eager neighbour is pruned after `pruneAfterDuplicates` (3) duplicates in a row.
    for (const at of [26, 27]) {
      expect(kinds(b.handle({ type: 'recv', from: A, topic: T, message: gossip.message }, at))).toEqual([]);
    }
    expect(kinds(b.handle({ type: 'recv', from: A, topic: T, message: gossip.message }, 28))).toEqual([
      'send aa prune',
    ]);
    expect(b.stats.duplicates).toBe(3);
    // A GRAFT for a cached id is answered with the payload: a second GOSSIP frame from a.
    const id = messageId(hexToBytes(T), hexToBytes(A), 0n, 20, 'swarm', new Uint8Array([1]));
    expect(kinds(a.handle({ type: 'recv', from: B, topic: T, message: { type: 'graft', id } }, 29))).toEqual([
      'send bb gossip',
    ]);
    expect(a.stats.payloadsSent).toBe(2);
    expect(a.stats.messagesOut).toBeGreaterThan(a.stats.payloadsSent);
    expect(kinds(b.handle({ type: 'peer-disconnected', peer: A, cause: 'error' }, 30))).toEqual([
      'emit neighbor-down',
    ]);
  });

  it('a first copy from an eager neighbour resets its duplicate streak; pruneAfterDuplicates 1 prunes at once', () => {
    const link = (x: GossipNode, y: GossipNode, yId: string, xId: string) => {
      x.handle({ type: 'command', topic: T, command: { type: 'join', peers: [] } }, 0);
      y.handle({ type: 'command', topic: T, command: { type: 'join', peers: [{ id: xId }] } }, 0);
      x.handle({ type: 'recv', from: yId, topic: T, message: { type: 'join' } }, 1);
      y.handle({ type: 'recv', from: xId, topic: T, message: { type: 'neighbor-reply', accepted: true } }, 2);
    };
    const broadcast = (x: GossipNode, byte: number, at: number) => {
      const out = x.handle(
        { type: 'command', topic: T, command: { type: 'broadcast', content: new Uint8Array([byte]) } },
        at,
      );
      const send = out.find((e) => e.type === 'send');
      if (send?.type !== 'send') throw new Error('no send');
      return send.message;
    };
    const a = node(A);
    const b = node(B);
    link(a, b, B, A);
    const m1 = broadcast(a, 1, 10);
    const m2 = broadcast(a, 2, 11);
    const recv = (message: typeof m1, at: number) =>
      kinds(b.handle({ type: 'recv', from: A, topic: T, message }, at)).filter((k) => k.startsWith('send'));
    recv(m1, 20); // first copy
    expect(recv(m1, 21)).toEqual([]);
    expect(recv(m1, 22)).toEqual([]);
    expect(recv(m2, 23)).toEqual([]); // a first copy: the streak starts over
    expect(recv(m1, 24)).toEqual([]);
    expect(recv(m1, 25)).toEqual([]);
    expect(recv(m1, 26)).toEqual(['send aa prune']);

    const strict = (me: string) =>
      new GossipNode({
        me,
        rng: createRng(1),
        config: { plumtree: { signatures: false, pruneAfterDuplicates: 1 } },
        seqStart: 0n,
      });
    const c = strict(C);
    const a2 = node(A);
    link(a2, c, C, A);
    const m = broadcast(a2, 3, 10);
    c.handle({ type: 'recv', from: A, topic: T, message: m }, 20);
    expect(
      kinds(c.handle({ type: 'recv', from: A, topic: T, message: m }, 21)).filter((k) =>
        k.startsWith('send'),
      ),
    ).toEqual(['send aa prune']);
  });

  it('topics are independent swarms over one link: a broadcast stays in its topic, leave releases the link last', () => {
    const U = '22'.repeat(32);
    const a = node(A);
    const b = node(B);
    // Route every send between the two nodes until quiet; collect what each emits.
    const emitted: string[] = [];
    const released: string[] = [];
    const deliver = (out: OutEvent[], from: string, at: number): void => {
      for (const e of out) {
        if (e.type === 'emit') emitted.push(`${from.slice(0, 2)} ${e.topic.slice(0, 2)} ${e.event.type}`);
        if (e.type === 'disconnect-peer') released.push(`${from.slice(0, 2)} releases ${e.peer.slice(0, 2)}`);
        if (e.type !== 'send') continue;
        const to = e.to === A ? a : b;
        deliver(to.handle({ type: 'recv', from, topic: e.topic, message: e.message }, at + 1), e.to, at + 1);
      }
    };
    for (const topic of [T, U]) {
      deliver(a.handle({ type: 'command', topic, command: { type: 'join', peers: [] } }, 0), A, 0);
      deliver(b.handle({ type: 'command', topic, command: { type: 'join', peers: [{ id: A }] } }, 0), B, 0);
    }
    expect(a.topics().sort()).toEqual([T, U].sort());
    expect(a.activeView(T)).toEqual([B]);
    expect(a.activeView(U)).toEqual([B]);
    emitted.length = 0;
    deliver(
      a.handle(
        { type: 'command', topic: T, command: { type: 'broadcast', content: new Uint8Array([9]) } },
        10,
      ),
      A,
      10,
    );
    expect(emitted).toEqual(['aa 11 sent', 'bb 11 received']);
    // Leaving T keeps the link: U still uses it. Leaving U too releases it.
    deliver(b.handle({ type: 'command', topic: T, command: { type: 'leave' } }, 20), B, 20);
    expect(released).toEqual([]);
    expect(a.activeView(T)).toEqual([]);
    expect(a.activeView(U)).toEqual([B]);
    deliver(b.handle({ type: 'command', topic: U, command: { type: 'leave' } }, 30), B, 30);
    expect(released).toContain('bb releases aa');
    expect(b.topics()).toEqual([]);
  });

  it('NEIGHBOR low is refused when full, high evicts a random neighbour (kept passive)', () => {
    const a = new GossipNode({
      me: A,
      rng: createRng(1),
      config: { hyparview: { activeViewCapacity: 1 }, plumtree: { signatures: false } },
    });
    a.handle({ type: 'command', topic: T, command: { type: 'join', peers: [] } }, 0);
    a.handle({ type: 'recv', from: B, topic: T, message: { type: 'join' } }, 1);
    expect(
      kinds(a.handle({ type: 'recv', from: C, topic: T, message: { type: 'neighbor', priority: 'low' } }, 2)),
    ).toEqual(['send cc neighbor-reply']);
    expect(
      kinds(
        a.handle({ type: 'recv', from: C, topic: T, message: { type: 'neighbor', priority: 'high' } }, 3),
      ),
    ).toEqual([
      'send cc neighbor-reply',
      'send bb disconnect',
      'emit neighbor-down',
      'disconnect-peer bb',
      'emit neighbor-up',
    ]);
    expect(a.activeView(T)).toEqual([C]);
    expect(a.passiveView(T)).toContain(B);
  });

  it('counts messages for unknown topics and oversize broadcasts instead of throwing', () => {
    const a = node(A);
    expect(a.handle({ type: 'recv', from: B, topic: T, message: { type: 'prune' } }, 0)).toEqual([]);
    expect(a.stats.unknownTopic).toBe(1);
    a.handle({ type: 'command', topic: T, command: { type: 'join', peers: [] } }, 0);
    a.handle(
      { type: 'command', topic: T, command: { type: 'broadcast', content: new Uint8Array(70_000) } },
      0,
    );
    expect(a.stats.oversizeBroadcasts).toBe(1);
  });
});
