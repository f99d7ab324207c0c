/**
 * The front door, `createNode`: one DHT node and one gossip listener for many topics, `leave()` of one
 * topic only, the application's firewall and `ban` on real sockets, a close that leaves no socket, and
 * strict options. Every node runs on a 10-node DHT testnet on 127.0.0.1.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestnet, type Testnet } from '../../src/dht/index.js';
import { GttError } from '../../src/errors.js';
import type { FirewallPeer } from '../../src/net/transport.js';
import type { TrackedTopic } from '../../src/tracker/join.js';
import { createNode, type TopicNode, type TopicNodeOptions } from '../../src/tracker/node.js';
import { until } from '../helpers/net.js';
import { uniq } from '../helpers/tracker.js';

let testnet: Testnet | undefined;
const nodes: TopicNode[] = [];

beforeAll(async () => {
  testnet = await createTestnet({ nodes: 10 });
}, 60_000);
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});
afterAll(() => testnet?.close());

/** A node on the testnet, listening on 127.0.0.1, closed after the test. */
async function node(opts: TopicNodeOptions = {}): Promise<TopicNode> {
  const n = await createNode({
    dht: { bootstrap: testnet!.bootstrap, host: '127.0.0.1' },
    listen: '127.0.0.1:0',
    ...opts,
  });
  nodes.push(n);
  return n;
}

/** The node as a peer to join through directly. */
const peerOf = (n: TopicNode) => ({ id: n.id, addresses: n.addresses() });

/** Resolves once `topic` has `peer` as a neighbour (now or at its `neighbor-up`). */
function neighbour(topic: TrackedTopic, peer: string): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!topic.neighbors().includes(peer)) return;
      topic.off('neighbor-up', check);
      resolve();
    };
    topic.on('neighbor-up', check);
    check();
  });
}

/** Resolves when `topic` loses `peer` (or at once if it is no neighbour). */
function lost(topic: TrackedTopic, peer: string): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (topic.neighbors().includes(peer)) return;
      topic.off('neighbor-down', check);
      resolve();
    };
    topic.on('neighbor-down', check);
    check();
  });
}

/** The next message `topic` delivers, as text. */
const nextText = (topic: TrackedTopic): Promise<string> =>
  new Promise((resolve) => topic.once('message', (m) => resolve(new TextDecoder().decode(m.content))));

const text = (s: string) => new TextEncoder().encode(s);

/** Live libuv handles of the kinds a node opens: UDP sockets (DHT), TCP listeners and TCP sockets. */
function handles(): { udp: number; listeners: number; tcp: number } {
  const all = process.getActiveResourcesInfo();
  const count = (kind: string) => all.filter((r) => r === kind).length;
  return { udp: count('UDPWrap'), listeners: count('TCPServerWrap'), tcp: count('TCPSocketWrap') };
}

describe('createNode', () => {
  it('10 topics on one node run on one DHT socket and one listener; all join and deliver', async () => {
    const before = handles();
    const a = await node();
    const afterA = handles();
    expect(afterA.udp - before.udp).toBe(1);
    expect(afterA.listeners - before.listeners).toBe(1);
    const names = Array.from({ length: 10 }, (_, i) => uniq(`ten-${i}`));
    const ta = names.map((n) => a.join(n));
    // Still one DHT socket and one listener with every topic joined (and bootstrapping).
    expect(handles().udp - before.udp).toBe(1);
    expect(handles().listeners - before.listeners).toBe(1);
    expect(new Set(ta.map((t) => t.dht))).toEqual(new Set([a.dht]));
    expect(new Set(ta.map((t) => t.gossip))).toEqual(new Set([a.gossip]));
    expect(a.gossip.stats.topics).toBe(10);

    // b joins each topic through a directly (the DHT is its fallback). All twenty bootstrap loops
    // reading and publishing through two DHT nodes at once would queue on the per-address query pacer
    // (2.8 queries/s to each of the testnet's 10 nodes, src/dht/config.ts), which on a real DHT the
    // topics' slots spread over different nodes; a's ten still publish their records through the DHT.
    const b = await node();
    const tb = names.map((n) => b.join(n, { peers: [peerOf(a)] }));
    await Promise.all([...ta, ...tb].map((t) => t.joined()));
    await Promise.all(tb.map((t) => neighbour(t, a.id)));
    await Promise.all(ta.map((t) => neighbour(t, b.id)));
    const after = handles();
    expect(after.udp - before.udp).toBe(2);
    expect(after.listeners - before.listeners).toBe(2);
    // One connection between the two nodes, shared by the 10 topics (a simultaneous dial's duplicate,
    // if any, closes by itself, PROTOCOL.md §9.7).
    await until(() => a.gossip.stats.transport.connections === 1, 10_000, 'one connection a ↔ b');
    const got = tb.map((t) => nextText(t));
    for (const [i, t] of ta.entries()) t.broadcast(text(`on topic ${i}`));
    expect(await Promise.all(got)).toEqual(names.map((_, i) => `on topic ${i}`));

    // leave() of one topic leaves it only: the others still deliver, and the node forgets it.
    const down = lost(tb[0]!, a.id);
    await ta[0]!.leave();
    await down;
    expect(a.topics()).toHaveLength(9);
    expect(a.topic(names[0]!)).toBeUndefined();
    expect(a.gossip.stats.topics).toBe(9);
    const again = nextText(tb[5]!);
    ta[5]!.broadcast(text('still here'));
    expect(await again).toBe('still here');
    expect(ta[0]!.closed).toBe(true);
    expect(() => ta[0]!.broadcast(text('x'))).toThrow(GttError);

    // A topic left may be joined again; one held is refused with a stable code.
    expect(() => a.join(names[1]!)).toThrow(expect.objectContaining({ code: 'ALREADY_SUBSCRIBED' }));
    const rejoined = a.join(names[0]!);
    await neighbour(rejoined, b.id);
    // close() leaves every topic and closes what the node created: no socket of either is left.
    await Promise.all([a.close(), b.close(), a.close()]);
    expect(ta.every((t) => t.closed) && tb.every((t) => t.closed) && rejoined.closed).toBe(true);
    expect(a.topics()).toEqual([]);
    await until(() => handles().tcp <= before.tcp, 10_000, 'TCP sockets closed');
    expect(handles()).toEqual(before);
    expect(() => a.join('after close')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  }, 120_000);

  it('keeps an existing Dht open, and an aborted signal closes the node', async () => {
    const dht = await testnet!.createNode();
    const controller = new AbortController();
    const n = await node({ dht, signal: controller.signal });
    const t = n.join(uniq('abort'));
    controller.abort();
    await until(() => n.closed && t.closed, 10_000, 'node closed by its signal');
    await n.close();
    expect(dht.closed).toBe(false);
    await expect(node({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('refuses unknown option keys, naming the one meant', async () => {
    const invalid = async (p: Promise<unknown> | (() => unknown)): Promise<GttError> => {
      try {
        await (typeof p === 'function' ? p() : p);
      } catch (e) {
        expect(e).toBeInstanceOf(GttError);
        expect((e as GttError).code).toBe('INVALID_CONFIG');
        return e as GttError;
      }
      throw new Error('expected INVALID_CONFIG');
    };
    const opts = (o: object) => o as TopicNodeOptions;
    expect((await invalid(createNode(opts({ lisen: '127.0.0.1:0' })))).message).toBe(
      'Invalid createNode options: lisen: unknown option (did you mean listen?)',
    );
    expect((await invalid(createNode(opts({ port: 1 })))).message).toContain(
      'port: unknown option (did you mean listen?',
    );
    expect((await invalid(createNode(opts({ bootstrap: ['x:1'] })))).message).toContain(
      'did you mean dht.bootstrap?',
    );
    expect((await invalid(createNode(opts({ dht: { bootstarp: [] } })))).message).toContain(
      'dht.bootstarp: unknown option (did you mean dht.bootstrap?)',
    );
    expect((await invalid(createNode(opts({ firewall: 'no' })))).message).toContain(
      'firewall: expected a function',
    );
    expect((await invalid(createNode(opts({ listen: 'nope:x' })))).message).toContain('listen.port');

    const n = await node();
    const join = (o: object) => () => n.join('t', o as never);
    expect((await invalid(join({ secrett: 's' }))).message).toBe(
      'Invalid join options: secrett: unknown option (did you mean secret?)',
    );
    expect((await invalid(join({ config: { bootstrap: { polMs: 1 } } }))).message).toContain(
      'config.bootstrap.polMs: unknown option (did you mean config.bootstrap.pollMs?)',
    );
    expect((await invalid(join({ bootstrap: [] }))).message).toContain('did you mean peers?');
    expect(n.topics()).toEqual([]);
  });
});

describe('firewall and ban', () => {
  it('an inbound connection from a refused id is closed at its handshake; the dialer never joins', async () => {
    const asked: FirewallPeer[] = [];
    let refuse = '';
    const c = await node({
      firewall: (p) => {
        asked.push(p);
        return p.id === refuse;
      },
    });
    const a = await node();
    refuse = a.id;
    const name = uniq('inbound');
    const tc = c.join(name);
    const ta = a.join(name, { peers: [peerOf(c)] });
    await until(() => c.stats.gossip.transport.firewall.inbound >= 1, 30_000, 'inbound refusal');
    expect(asked).toContainEqual({ id: a.id, address: { host: '127.0.0.1', port: expect.any(Number) } });
    expect(ta.neighbors()).toEqual([]);
    expect(tc.neighbors()).toEqual([]);
    await until(() => (c.stats.gossip.transport.closed.banned ?? 0) >= 1, 30_000, 'closed as banned');
  });

  it('a refused id is not dialed (no socket), and one refused at the handshake is closed (outbound)', async () => {
    const e = await node();
    let calls = 0;
    const d = await node({
      firewall: (p) => {
        if (p.id !== e.id) return false;
        calls++;
        // Let the first dial through, refuse at its handshake; then refuse the dials too.
        return calls > 1;
      },
    });
    const name = uniq('outbound');
    e.join(name);
    const td = d.join(name, { peers: [peerOf(e)], config: { bootstrap: { maxJoinPeers: 1 } } });
    await until(() => d.stats.gossip.transport.firewall.outbound >= 1, 30_000, 'outbound refusal at open');
    expect(td.neighbors()).toEqual([]);
    const attempts = d.stats.gossip.transport.dialAttempts;
    td.topic.joinPeers([peerOf(e)]);
    await until(() => d.stats.gossip.transport.firewall.dials >= 1, 30_000, 'dial refused');
    expect(d.stats.gossip.transport.dialAttempts).toBe(attempts);
    expect(d.stats.gossip.transport.dialsRefused.firewall).toBeGreaterThanOrEqual(1);
    expect(td.neighbors()).toEqual([]);
  });

  it('a firewall that throws refuses, counted, and the node goes on', async () => {
    const f = await node({
      firewall: () => {
        throw new Error('firewall bug');
      },
    });
    const g = await node();
    const name = uniq('throws');
    const tf = f.join(name);
    g.join(name, { peers: [peerOf(f)] });
    await until(() => f.stats.gossip.transport.firewall.errors >= 1, 30_000, 'a throwing firewall');
    expect(f.stats.gossip.transport.firewall.inbound).toBeGreaterThanOrEqual(1);
    expect(tf.neighbors()).toEqual([]);
    expect(f.closed).toBe(false);
  });

  it('ban() drops a neighbour on every topic at once, which cannot come back until unban()', async () => {
    const a = await node();
    const b = await node();
    const names = [uniq('ban-1'), uniq('ban-2')];
    const ta = names.map((n) => a.join(n));
    const tb = names.map((n) => b.join(n, { peers: [peerOf(a)] }));
    await Promise.all(ta.map((t) => neighbour(t, b.id)));

    const gone = [...ta.map((t) => lost(t, b.id)), ...tb.map((t) => lost(t, a.id))];
    a.ban(b.id);
    await Promise.all(gone);
    expect(a.gossip.isBanned(b.id)).toBe(true);
    expect(a.gossip.stats.transport.blocked).toBe(1);

    // b dials again: refused once its handshake proves its id.
    tb[0]!.topic.joinPeers([peerOf(a)]);
    await until(() => a.stats.gossip.transport.firewall.inbound >= 1, 30_000, 'banned peer refused');
    // a does not dial b either.
    ta[1]!.topic.joinPeers([peerOf(b)]);
    await until(() => a.stats.gossip.transport.firewall.dials >= 1, 30_000, 'banned peer not dialed');
    expect(ta.every((t) => !t.neighbors().includes(b.id))).toBe(true);

    a.unban(b.id);
    // b's refused link must be gone first (frames sent on a closing link are not dialed anew).
    await until(() => b.stats.gossip.transport.connections === 0, 10_000, "b's refused link closed");
    tb[0]!.topic.joinPeers([peerOf(a)]);
    await neighbour(ta[0]!, b.id);
    expect(() => a.ban('not hex')).toThrow(RangeError);
  });
});
