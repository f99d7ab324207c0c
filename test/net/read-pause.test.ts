/**
 * Reading from an over-budget peer stops (PROTOCOL.md §8.7), over real sockets on 127.0.0.1: a
 * paused connection delivers nothing until the pause ends, the keepalive does not take the pause for
 * silence, a close during a pause leaves no timer behind, and a Gossip node charges every frame before
 * decoding it and pauses the neighbour that overruns its budget. Timings are asserted as lower bounds.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TopicId } from '../../src/crypto/topic.js';
import { MAX_MESSAGES_PER_TURN, MAX_READ_PAUSE_MS } from '../../src/net/connection.js';
import { Gossip } from '../../src/net/gossip.js';
import type { Transport } from '../../src/net/transport.js';
import { encodeFrame } from '../../src/proto/wire.js';
import { Closer, hex, once, rawPeer, transport, until } from '../helpers/net.js';

const closer = new Closer();
afterEach(() => closer.closeAll());

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** `a` and `b` connected (a dialed b), and b has a frame from a. */
async function pair(config?: Parameters<typeof transport>[1]): Promise<{ a: Transport; b: Transport }> {
  const a = await transport(closer, config);
  const b = await transport(closer, config);
  const got = once<[string, Uint8Array]>(b, 'message');
  a.send(b.id, bytes('hello'), b.addresses());
  await got;
  return { a, b };
}

/** Arrival times (performance.now) of the frames `t` gets, by text. */
function arrivals(t: Transport): Map<string, number> {
  const at = new Map<string, number>();
  t.on('message', (_peer, b) => at.set(text(b), performance.now()));
  return at;
}

describe('read pause', () => {
  it('a paused peer’s frames wait in the socket and arrive, in order, once the pause is over', async () => {
    const { a, b } = await pair();
    const at = arrivals(b);
    const order: string[] = [];
    b.on('message', (_p, m) => order.push(text(m)));
    const paused = performance.now();
    b.pause(a.id, 400);
    expect(b.stats.readPauses).toBe(1);
    // A shorter pause during a longer one changes nothing.
    b.pause(a.id, 50);
    expect(b.stats.readPauses).toBe(1);
    for (let i = 0; i < 5; i++) a.send(b.id, bytes(`m${i}`));
    await until(() => at.size === 5, 10_000, 'the frames sent during the pause');
    for (const t of at.values()) expect(t - paused).toBeGreaterThanOrEqual(380);
    expect(order).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    // Reading goes on as usual afterwards.
    const got = once<[string, Uint8Array]>(b, 'message');
    a.send(b.id, bytes('after'));
    expect(text((await got)[1])).toBe('after');
    expect(b.stats.connections).toBe(1);
  });

  it('a pause longer than keepaliveTimeoutMs is not taken for silence: the link stays up', async () => {
    const { a, b } = await pair({ keepaliveTimeoutMs: 300, keepaliveIntervalMs: 75 });
    const at = arrivals(b);
    const paused = performance.now();
    // Longer pauses are cut to MAX_READ_PAUSE_MS, still > 3 × keepaliveTimeoutMs here.
    b.pause(a.id, 60_000);
    a.send(b.id, bytes('during'));
    await until(() => at.has('during'), 10_000, 'the frame sent during the pause');
    expect(at.get('during')! - paused).toBeGreaterThanOrEqual(MAX_READ_PAUSE_MS - 20);
    expect(b.stats.closed['keepalive-timeout']).toBeUndefined();
    expect(a.stats.closed['keepalive-timeout']).toBeUndefined();
    expect(b.stats.connections).toBe(1);
    expect(a.stats.connections).toBe(1);
  });

  it('a close during a pause leaves no timer behind', async () => {
    const { a, b } = await pair();
    const set = vi.spyOn(globalThis, 'setTimeout');
    b.pause(a.id, MAX_READ_PAUSE_MS);
    const timer = set.mock.results.find((r) => r.type === 'return')?.value as NodeJS.Timeout;
    set.mockRestore();
    expect(timer).toBeDefined();
    const cleared = vi.spyOn(globalThis, 'clearTimeout');
    await Promise.all([a.close(), b.close()]);
    // Well before the pause would have ended by itself, its timer was cleared with the connection.
    expect(cleared.mock.calls.some(([t]) => t === timer)).toBe(true);
    cleared.mockRestore();
  });

  it('no-op for a peer without a connection', async () => {
    const t = await transport(closer);
    t.pause('ab'.repeat(32), 100);
    expect(t.stats.readPauses).toBe(0);
  });
});

describe('Gossip charges frames before decoding them', () => {
  it('an over-budget neighbour’s frames are dropped undecoded and its socket is paused', async () => {
    const topic = TopicId.fromName('read pause');
    const g = closer.add(
      await Gossip.create({
        listen: { host: '127.0.0.1', port: 0 },
        // A tiny message budget and no ban, so that every frame past the burst is an overrun.
        proto: { limits: { messagesPerSecond: 1, messageBurst: 20, maxOverBudgetDrops: 100_000 } },
      }),
    );
    const t = g.subscribe(topic);
    const raw = await rawPeer(g.addresses()[0]!.port, g.id);
    closer.add({ close: () => raw.ws.terminate() });
    const up = once<[string]>(t, 'neighbor-up');
    raw.sendFrame({ type: 'gossip', message: encodeFrame(topic.toHex(), { type: 'join' }) });
    expect((await up)[0]).toBe(hex(raw.keyPair.publicKey));
    // 200 frames the wire codec refuses (unknown version): each one decoded is counted as a reject.
    for (let i = 0; i < 200; i++) raw.sendFrame({ type: 'gossip', message: new Uint8Array([99, 1, 2, 3]) });
    await until(
      () =>
        (g.stats.wireRejects['unknown-version'] ?? 0) + (g.stats.proto.dropped['over-budget'] ?? 0) >= 200,
      10_000,
      'every frame seen',
    );
    // The burst was decoded (and refused); the rest never got that far.
    expect(g.stats.wireRejects['unknown-version']).toBeLessThanOrEqual(25);
    expect(g.stats.proto.dropped['over-budget']).toBeGreaterThanOrEqual(175);
    expect(g.stats.transport.readPauses).toBeGreaterThanOrEqual(1);
  });
});

describe('messages per turn', () => {
  it(`one read's worth of frames is handled at most ${MAX_MESSAGES_PER_TURN} at a time, all of them, in order`, async () => {
    const { a, b } = await pair();
    const order: string[] = [];
    // Consecutive messages with no microtask checkpoint between them ran in one go.
    let run = 0;
    let longest = 0;
    b.on('message', (_p, m) => {
      order.push(text(m));
      if (run++ === 0)
        queueMicrotask(() => {
          run = 0;
        });
      longest = Math.max(longest, run);
    });
    // A pause lets the frames pile up in the socket, so that reading resumes with many in one read.
    b.pause(a.id, 300);
    const n = 200;
    for (let i = 0; i < n; i++) a.send(b.id, bytes(`m${i}`));
    await until(() => order.length === n, 10_000, 'every frame');
    expect(order).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
    expect(longest).toBeGreaterThan(1);
    expect(longest).toBeLessThanOrEqual(MAX_MESSAGES_PER_TURN);
    expect(b.stats.connections).toBe(1);
  });
});
