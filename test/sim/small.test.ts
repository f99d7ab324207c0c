/** Small scenarios: exact event sequences pin the protocol down; message identity and validation. */
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { Sim } from './sim.js';

/** Trace without the periodic noise of cache sweeps. */
const trace = (sim: Sim): string[] => sim.trace.filter((l) => !/cache-evict/.test(l));

describe('exact sequences', () => {
  it('3 nodes: join through a contact, FORWARD_JOIN, one broadcast (through the wire codec)', () => {
    const sim = new Sim({ trace: true, wire: true, latencyMinMs: 10, latencyMaxMs: 10 });
    sim.addNodes(3);
    sim.join(0, []);
    sim.join(1, [0]);
    sim.runFor(100);
    sim.join(2, [0]);
    sim.runFor(100);
    sim.broadcast(0);
    sim.runFor(100);
    expect(trace(sim)).toMatchInlineSnapshot(`
      [
        "t=0 n0 <- command join []",
        "t=0 n0 -> timer shuffle +1000",
        "t=0 n1 <- command join [n0]",
        "t=0 n1 -> timer shuffle +1000",
        "t=0 n1 -> send n0 join",
        "t=0 n1 -> timer neighbor-timeout n0 +500",
        "t=10 n0 <- recv n1 join",
        "t=10 n0 -> send n1 neighbor-reply accepted",
        "t=10 n0 -> emit neighbor-up n1",
        "t=10 n0 -> emit joined",
        "t=20 n1 <- recv n0 neighbor-reply accepted",
        "t=20 n1 -> emit neighbor-up n0",
        "t=20 n1 -> emit joined",
        "t=100 n2 <- command join [n0]",
        "t=100 n2 -> timer shuffle +1000",
        "t=100 n2 -> send n0 join",
        "t=100 n2 -> timer neighbor-timeout n0 +500",
        "t=110 n0 <- recv n2 join",
        "t=110 n0 -> send n2 neighbor-reply accepted",
        "t=110 n0 -> emit neighbor-up n2",
        "t=110 n0 -> send n1 forward-join n2 ttl=6",
        "t=120 n2 <- recv n0 neighbor-reply accepted",
        "t=120 n2 -> emit neighbor-up n0",
        "t=120 n2 -> emit joined",
        "t=120 n1 <- recv n0 forward-join n2 ttl=6",
        "t=120 n1 -> send n2 neighbor high",
        "t=120 n1 -> timer neighbor-timeout n2 +500",
        "t=130 n2 <- recv n1 neighbor high",
        "t=130 n2 -> send n1 neighbor-reply accepted",
        "t=130 n2 -> emit neighbor-up n1",
        "t=140 n1 <- recv n2 neighbor-reply accepted",
        "t=140 n1 -> emit neighbor-up n2",
        "t=200 n0 <- command broadcast",
        "t=200 n0 -> emit sent",
        "t=200 n0 -> send n1 gossip origin=n0 hops=1",
        "t=200 n0 -> send n2 gossip origin=n0 hops=1",
        "t=210 n1 <- recv n0 gossip origin=n0 hops=1",
        "t=210 n1 -> emit received origin=n0 from=n0 hops=1",
        "t=210 n1 -> send n2 gossip origin=n0 hops=2",
        "t=210 n2 <- recv n0 gossip origin=n0 hops=1",
        "t=210 n2 -> emit received origin=n0 from=n0 hops=1",
        "t=210 n2 -> send n1 gossip origin=n0 hops=2",
        "t=220 n2 <- recv n1 gossip origin=n0 hops=2",
        "t=220 n1 <- recv n2 gossip origin=n0 hops=2",
      ]
    `);
  });

  it('4 nodes: a duplicate PRUNEs, a duplicate PRUNEs; after a kill an IHAVE is answered by GRAFT', () => {
    // The paper's PlumTree: PRUNE on the first duplicate (the default waits for a streak of 3).
    const sim = new Sim({
      trace: true,
      latencyMinMs: 10,
      latencyMaxMs: 30,
      config: { plumtree: { pruneAfterDuplicates: 1 } },
    });
    sim.addNodes(4);
    sim.join(0, []);
    for (let i = 1; i < 4; i++) {
      sim.join(i, [i - 1]);
      sim.runFor(50);
    }
    sim.runFor(500);
    sim.trace.length = 0;
    sim.broadcast(0);
    sim.runFor(300);
    const first = trace(sim).filter((l) => /gossip|prune|received/.test(l));
    expect(first).toMatchInlineSnapshot(`
      [
        "t=650 n0 -> send n1 gossip origin=n0 hops=1",
        "t=650 n0 -> send n2 gossip origin=n0 hops=1",
        "t=677 n1 <- recv n0 gossip origin=n0 hops=1",
        "t=677 n1 -> emit received origin=n0 from=n0 hops=1",
        "t=677 n1 -> send n2 gossip origin=n0 hops=2",
        "t=677 n1 -> send n3 gossip origin=n0 hops=2",
        "t=680 n2 <- recv n0 gossip origin=n0 hops=1",
        "t=680 n2 -> emit received origin=n0 from=n0 hops=1",
        "t=680 n2 -> send n1 gossip origin=n0 hops=2",
        "t=680 n2 -> send n3 gossip origin=n0 hops=2",
        "t=691 n2 <- recv n1 gossip origin=n0 hops=2",
        "t=691 n2 -> send n1 prune",
        "t=692 n3 <- recv n1 gossip origin=n0 hops=2",
        "t=692 n3 -> emit received origin=n0 from=n1 hops=2",
        "t=692 n3 -> send n2 gossip origin=n0 hops=3",
        "t=694 n1 <- recv n2 gossip origin=n0 hops=2",
        "t=694 n1 -> send n2 prune",
        "t=697 n3 <- recv n2 gossip origin=n0 hops=2",
        "t=697 n3 -> send n2 prune",
        "t=705 n1 <- recv n2 prune",
        "t=708 n2 <- recv n1 prune",
        "t=709 n2 <- recv n3 gossip origin=n0 hops=3",
        "t=709 n2 -> send n3 prune",
        "t=714 n2 <- recv n3 prune",
        "t=726 n3 <- recv n2 prune",
      ]
    `);
    // n3's eager parent n1 dies: n0's next message reaches n3 only as an IHAVE from n2, then a GRAFT.
    sim.kill([1]);
    sim.trace.length = 0;
    sim.broadcast(0);
    sim.runFor(500);
    expect(
      trace(sim).filter((l) => /n3 .*(gossip|ihave|graft|received|neighbor-down)/.test(l)),
    ).toMatchInlineSnapshot(`
      [
        "t=965 n3 -> emit neighbor-down n1 closed",
        "t=1030 n2 -> send n3 ihave x1 hops=2",
        "t=1039 n3 -> timer ihave-dispatch +50",
        "t=1047 n3 <- recv n2 ihave x1 hops=2",
        "t=1047 n3 -> timer graft +150",
        "t=1060 n0 -> send n3 ihave x2 hops=1,1",
        "t=1089 n3 <- timer ihave-dispatch",
        "t=1089 n3 -> send n0 ihave x1 hops=3",
        "t=1089 n3 <- recv n0 ihave x2 hops=1,1",
        "t=1118 n0 <- recv n3 ihave x1 hops=3",
        "t=1197 n3 <- timer graft",
        "t=1197 n3 -> send n2 graft",
        "t=1197 n3 -> timer graft +40",
        "t=1214 n2 <- recv n3 graft",
        "t=1214 n2 -> send n3 gossip origin=n0 hops=2",
        "t=1231 n3 <- recv n2 gossip origin=n0 hops=2",
        "t=1231 n3 -> emit received origin=n0 from=n2 hops=2",
        "t=1237 n3 <- timer graft",
      ]
    `);
  });
});

describe('message identity and validation', () => {
  it('two identical payloads sent twice by the same origin are both delivered', () => {
    const sim = new Sim({});
    sim.addNodes(5);
    sim.join(0, []);
    for (let i = 1; i < 5; i++) sim.join(i, [0]);
    sim.runFor(1000);
    const got: number[] = [];
    sim.onEmit = (i, e) => {
      if (e.event.type === 'received') got.push(i);
    };
    const payload = new TextEncoder().encode('same bytes');
    sim.broadcastRaw(0, payload);
    sim.broadcastRaw(0, payload);
    sim.runFor(1000);
    expect(got.sort()).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
  });

  it('a message with a bad origin signature is delivered to nobody and not forwarded', () => {
    const sim = new Sim({});
    sim.addNodes(5);
    sim.join(0, []);
    for (let i = 1; i < 5; i++) sim.join(i, [0]);
    sim.runFor(1000);
    let delivered = 0;
    sim.onEmit = (_i, e) => {
      if (e.event.type === 'received') delivered++;
    };
    const origin = sim.ids[1]!;
    const forged = {
      type: 'gossip' as const,
      origin,
      seq: 7n,
      sentAt: 0,
      scope: 'swarm' as const,
      hops: 1,
      content: new TextEncoder().encode('forged'),
      signature: new Uint8Array(64).fill(1),
    };
    // Node 0 receives it "from" its neighbour node 2, which claims node 1 is the origin.
    sim.inject(0, { type: 'recv', from: sim.ids[2]!, topic: sim.nodes[0]!.topics()[0]!, message: forged });
    sim.runFor(1000);
    expect(delivered).toBe(0);
    expect(sim.nodes[0]!.stats.badSignature).toBe(1);
    expect(sim.sent.get('gossip') ?? 0).toBe(0);
  });

  it('an unsigned message is refused while signatures are on', () => {
    const sim = new Sim({});
    sim.addNodes(2);
    sim.join(0, []);
    sim.join(1, [0]);
    sim.runFor(500);
    sim.inject(0, {
      type: 'recv',
      from: sim.ids[1]!,
      topic: sim.nodes[0]!.topics()[0]!,
      message: {
        type: 'gossip',
        origin: sim.ids[1]!,
        seq: 0n,
        sentAt: 0,
        scope: 'swarm',
        hops: 1,
        content: new Uint8Array(4),
      },
    });
    expect(sim.nodes[0]!.stats.unsigned).toBe(1);
    expect(sim.nodes[0]!.stats.delivered).toBe(0);
  });

  it('real ed25519 signatures: 4 nodes deliver, a tampered payload is refused', () => {
    const sim = new Sim({ signatures: 'ed25519', wire: true });
    sim.addNodes(4);
    sim.join(0, []);
    for (let i = 1; i < 4; i++) sim.join(i, [0]);
    sim.runFor(1000);
    const rec = sim.broadcast(3);
    sim.runFor(1000);
    expect(rec.deliveredCount).toBe(3);
    // Node 3 is an ed25519 key: its id verifies its own signature.
    const msg = new Uint8Array([1, 2, 3]);
    const pub = Uint8Array.from(Buffer.from(sim.ids[3]!, 'hex'));
    expect(pub.length).toBe(32);
    expect(
      ed25519.verify(ed25519.sign(msg, new Uint8Array(32)), msg, ed25519.getPublicKey(new Uint8Array(32))),
    ).toBe(true);
    let captured: import('../../src/proto/index.js').GossipMessage | undefined;
    const n0 = sim.nodes[0]!;
    const out = n0.handle(
      { type: 'command', topic: n0.topics()[0]!, command: { type: 'broadcast', content: msg } },
      sim.now,
    );
    for (const e of out) if (e.type === 'send' && e.message.type === 'gossip') captured = e.message;
    expect(captured?.signature?.length).toBe(64);
    const tampered = { ...captured!, content: new Uint8Array([9, 9, 9]) };
    const n1 = sim.nodes[1]!;
    // Relayed by node 2: the origin signature must hold, and a tampered payload fails it.
    n1.handle({ type: 'recv', from: sim.ids[2]!, topic: n1.topics()[0]!, message: tampered }, sim.now);
    expect(n1.stats.badSignature).toBe(1);
    expect(n1.stats.delivered).toBe(1);
    // Straight from the origin the signature is checked too (PROTOCOL.md §8.4): a node that skipped it
    // would forward a forgery and be blamed for it by the next hop.
    const direct = { ...captured!, seq: captured!.seq + 1n, content: new Uint8Array([7]) };
    n1.handle({ type: 'recv', from: sim.ids[0]!, topic: n1.topics()[0]!, message: direct }, sim.now);
    expect(n1.stats.badSignature).toBe(2);
    expect(n1.stats.delivered).toBe(1);
    // The genuine message is not tainted by the tampered copy with the same signature.
    n1.handle({ type: 'recv', from: sim.ids[2]!, topic: n1.topics()[0]!, message: captured! }, sim.now);
    expect(n1.stats.delivered).toBe(2);
  });

  it('is deterministic: the same seed gives the same trace', () => {
    const run = (): string[] => {
      const sim = new Sim({ trace: true, seed: 42 });
      sim.addNodes(5);
      sim.join(0, []);
      for (let i = 1; i < 5; i++) sim.join(i, [i - 1]);
      sim.runFor(500);
      sim.broadcast(2);
      sim.runFor(500);
      return sim.trace;
    };
    expect(run()).toEqual(run());
  });
});
