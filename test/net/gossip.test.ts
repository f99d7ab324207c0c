/** The Gossip API with two and three real nodes on 127.0.0.1. */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TopicId } from '../../src/crypto/topic.js';
import { Gossip, type GossipOptions, kCrash } from '../../src/net/gossip.js';
import type { TopicMessage } from '../../src/net/topic.js';
import { Closer, once, randomKeyPair, until } from '../helpers/net.js';

const closer = new Closer();
afterEach(() => closer.closeAll());

const FAST: GossipOptions = {
  listen: { host: '127.0.0.1', port: 0 },
  transport: { keepaliveTimeoutMs: 500, keepaliveIntervalMs: 100, handshakeTimeoutMs: 2000 },
};
const node = async (o: GossipOptions = {}): Promise<Gossip> =>
  closer.add(await Gossip.create({ ...FAST, ...o }));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (m: TopicMessage): string => new TextDecoder().decode(m.content);
const peer = (g: Gossip) => ({ id: g.id, addresses: g.addresses() });
const TOPIC = TopicId.fromName('gossip test');

describe('Gossip', () => {
  it('two nodes join a topic and exchange messages both ways', async () => {
    const a = await node();
    const b = await node();
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.addresses()).toEqual([{ host: '127.0.0.1', port: expect.any(Number) }]);
    const ta = a.subscribe(TOPIC);
    const tb = b.subscribe(TOPIC, { bootstrap: [peer(a)] });
    const upA = once<[string]>(ta, 'neighbor-up');
    await Promise.all([ta.joined(), tb.joined()]);
    expect((await upA)[0]).toBe(b.id);
    expect(ta.isJoined()).toBe(true);
    expect(ta.neighbors()).toEqual([b.id]);
    expect(tb.neighbors()).toEqual([a.id]);

    const atA = ta.messages();
    const gotB = once<[TopicMessage]>(tb, 'message');
    ta.broadcast(utf8('from a'));
    const [m] = await gotB;
    expect(m).toMatchObject({ origin: a.id, deliveredFrom: a.id, hops: 1, scope: 'swarm' });
    expect(text(m)).toBe('from a');

    tb.broadcast(utf8('from b 1'));
    tb.broadcastNeighbors(utf8('from b 2'));
    const first = await atA.next();
    const second = await atA.next();
    expect(first.done === false && text(first.value)).toBe('from b 1');
    expect(second.done === false && second.value.scope).toBe('neighbors');
    expect(a.stats.transport.connections).toBe(1);
    expect(a.stats.proto.badSignature ?? 0).toBe(0);
  });

  it('three nodes: a broadcast reaches a node two hops away; joinPeers; leave ends the iterator', async () => {
    const [a, b, c] = [await node(), await node(), await node()];
    const ta = a.subscribe(TOPIC);
    const tb = b.subscribe(TOPIC, { bootstrap: [peer(a)] });
    await tb.joined();
    const tc = c.subscribe(TOPIC);
    tc.joinPeers([peer(b)]);
    await tc.joined();
    const got = once<[TopicMessage]>(tc, 'message', (m) => text(m) === 'hello all');
    const gotB = once<[TopicMessage]>(tb, 'message', (m) => text(m) === 'hello all');
    ta.broadcast(utf8('hello all'));
    expect((await got)[0].origin).toBe(a.id);
    await gotB;

    const it = tc.messages();
    const down = once<[string, string]>(tb, 'neighbor-down', (p) => p === c.id);
    tc.leave();
    tc.leave(); // idempotent
    expect(await it.next()).toEqual({ value: undefined, done: true });
    expect((await down)[1]).toBe('disconnected-by-peer');
    expect(() => tc.broadcast(utf8('x'))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    await expect(tc.joined()).rejects.toMatchObject({ code: 'CLOSED' });
    // Subscribing again after leaving works.
    const tc2 = c.subscribe(TOPIC, { bootstrap: [peer(a)] });
    await tc2.joined();
  });

  it('joined() honours its AbortSignal; subscribe twice is refused; bad input throws', async () => {
    const a = await node();
    const t = a.subscribe(TOPIC);
    const ac = new AbortController();
    const p = t.joined({ signal: ac.signal });
    ac.abort('stop');
    await expect(p).rejects.toMatchObject({ code: 'ABORTED', cause: 'stop' });
    expect(() => a.subscribe(TOPIC)).toThrow(expect.objectContaining({ code: 'ALREADY_SUBSCRIBED' }));
    expect(() => t.broadcast(new Uint8Array(70_000))).toThrow(RangeError);
    expect(() => t.joinPeers([{ id: 'nope', addresses: [] }])).toThrow(RangeError);
    await expect(Gossip.create({ transport: { keepaliveTimeoutMs: -1 } })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });

  it('the iterator buffer is bounded: overflow drops the oldest and emits lagged', async () => {
    const a = await node();
    const b = await node({ topicBufferMessages: 3 });
    const ta = a.subscribe(TOPIC);
    const tb = b.subscribe(TOPIC, { bootstrap: [peer(a)] });
    await Promise.all([ta.joined(), tb.joined()]);
    const it = tb.messages();
    let lagged = 0;
    tb.on('lagged', (n) => {
      lagged += n;
    });
    const last = once<[TopicMessage]>(tb, 'message', (m) => text(m) === '4');
    for (let i = 0; i < 5; i++) ta.broadcast(utf8(String(i)));
    await last;
    expect(lagged).toBe(2);
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await it.next();
      if (!r.done) seen.push(text(r.value));
    }
    expect(seen).toEqual(['2', '3', '4']);
  });

  it('a crashed peer is detected by keepalive or socket close and reported as neighbor-down', async () => {
    const a = await node();
    const b = await node();
    const ta = a.subscribe(TOPIC);
    const tb = b.subscribe(TOPIC, { bootstrap: [peer(a)] });
    await Promise.all([ta.joined(), tb.joined()]);
    const down = once<[string, string]>(ta, 'neighbor-down');
    await b[kCrash]();
    const [who, cause] = await down;
    expect(who).toBe(b.id);
    expect(['closed', 'timeout', 'error']).toContain(cause);
    await until(() => a.stats.transport.connections === 0, 5000, 'connection gone');
  });

  it("a JOIN's 500 ms timeout counts from the open connection: a slow handshake still joins", async () => {
    const b = await node();
    const tb = b.subscribe(TOPIC);
    const [bAddress] = b.addresses();
    // A link that takes 1 s to carry anything (twice the request timeout): a proxy that starts
    // forwarding each connection only after that delay (the scenario, not a settle wait).
    const sockets = new Set<Socket>();
    const slow = createServer((client) => {
      sockets.add(client.on('error', () => {}));
      const timer = setTimeout(() => {
        const upstream = connect(bAddress!.port, bAddress!.host).on('error', () => client.destroy());
        sockets.add(upstream);
        client.pipe(upstream).pipe(client);
      }, 1000);
      client.on('close', () => clearTimeout(timer));
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const port = (slow.address() as AddressInfo).port;
      const a = await node();
      const ta = a.subscribe(TOPIC, { bootstrap: [{ id: b.id, addresses: [{ host: '127.0.0.1', port }] }] });
      expect(a.isJoining(ta.key, b.id)).toBe(true);
      await Promise.all([ta.joined(), tb.joined()]);
      expect(ta.neighbors()).toEqual([b.id]);
      // B's answer found our JOIN still pending: it did not come as a late reply to a request given up.
      expect(a.stats.proto.unexpected).toBe(0);
      expect(a.isJoining(ta.key, b.id)).toBe(false);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it('whenJoinSettled fires once a JOIN is no longer under way: a failed dial, or the answer', async () => {
    // A port nobody listens on (a server opened and closed again): the dial fails.
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise((resolve) => gone.close(resolve));
    const a = await node();
    const ghost = randomKeyPair();
    const ghostId = Buffer.from(ghost.publicKey).toString('hex');
    const ta = a.subscribe(TOPIC);
    ta.joinPeers([{ id: ghostId, addresses: [{ host: '127.0.0.1', port }] }]);
    expect(a.isJoining(ta.key, ghostId)).toBe(true);
    await new Promise<void>((resolve) => a.whenJoinSettled(ta.key, ghostId, resolve));
    expect(a.isJoining(ta.key, ghostId)).toBe(false);
    expect(ta.neighbors()).toEqual([]);
    // A live peer: settled once its answer made it a neighbour.
    const b = await node();
    b.subscribe(TOPIC);
    ta.joinPeers([peer(b)]);
    await new Promise<void>((resolve) => a.whenJoinSettled(ta.key, b.id, resolve));
    expect(ta.neighbors()).toEqual([b.id]);
    // Not under way at all: at once.
    let now = false;
    a.whenJoinSettled(ta.key, b.id, () => {
      now = true;
    });
    expect(now).toBe(true);
  });

  it('close() is idempotent, leaves topics and ends iterators', async () => {
    const a = await node();
    const b = await node();
    const ta = a.subscribe(TOPIC);
    const tb = b.subscribe(TOPIC, { bootstrap: [peer(a)] });
    await Promise.all([ta.joined(), tb.joined()]);
    const it = ta.messages();
    const down = once<[string, string]>(tb, 'neighbor-down');
    const p = a.close();
    expect(a.close()).toBe(p);
    await p;
    expect(await it.next()).toEqual({ value: undefined, done: true });
    expect(ta.left).toBe(true);
    expect((await down)[1]).toBe('disconnected-by-peer');
    expect(() => a.subscribe(TOPIC)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(a.stats.timers).toBe(0);
    expect(a.stats.transport.connections).toBe(0);
  });
});
