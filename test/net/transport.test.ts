/**
 * The transport with real sockets on 127.0.0.1: handshakes, refusals of every kind of bad peer,
 * simultaneous dials, limits, send queues and keepalive. Small timeouts through config; tests wait
 * for events, never for time to pass.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { CloseInfo } from '../../src/net/connection.js';
import { Handshake, openFrame } from '../../src/net/index.js';
import type { DisconnectCause } from '../../src/proto/types.js';
import {
  Closer,
  closed,
  once,
  randomKeyPair,
  rawPeer,
  rawServer,
  rawSocket,
  transport,
  until,
} from '../helpers/net.js';

const closer = new Closer();
afterEach(() => closer.closeAll());

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const port = (t: { addresses(): { port: number }[] }): number => t.addresses()[0]!.port;
type Lost = [string, DisconnectCause, CloseInfo];

describe('handshake and messages', () => {
  it('two transports handshake and exchange frames both ways over one connection', async () => {
    const a = await transport(closer);
    const b = await transport(closer);
    const atB = once<[string, Uint8Array]>(b, 'message');
    a.send(b.id, bytes('hello b'), b.addresses());
    const [from, msg] = await atB;
    expect(from).toBe(a.id);
    expect(msg).toEqual(bytes('hello b'));
    const atA = once<[string, Uint8Array]>(a, 'message');
    b.send(a.id, bytes('hello a')); // no address: b answers over the inbound connection
    expect(await atA).toEqual([b.id, bytes('hello a')]);
    expect(a.stats.connections).toBe(1);
    expect(b.stats.connections).toBe(1);
    expect(b.stats.dialsStarted).toBe(0);
    expect(a.stats.pendingDials).toBe(0);
  });

  it('carries the advertised addresses in the handshake extension', async () => {
    const a = await transport(closer);
    const b = await transport(closer);
    const connected = once<[string, Uint8Array]>(b, 'peer-connected');
    a.send(b.id, bytes('x'), b.addresses());
    const [peer, ext] = await connected;
    expect(peer).toBe(a.id);
    expect(ext).toEqual(a.extension);
    expect(ext.length).toBeGreaterThan(0);
  });

  it('rejects an impostor: right address, wrong key', async () => {
    const a = await transport(closer);
    const real = randomKeyPair();
    const impostor = await transport(closer); // listens with its own key
    const lost = once<Lost>(a, 'peer-disconnected');
    a.send(hex(real.publicKey), bytes('secret'), impostor.addresses());
    const [peer, cause, info] = await lost;
    expect(peer).toBe(hex(real.publicKey));
    expect(cause).toBe('dial-failed');
    expect(info).toMatchObject({ reason: 'handshake-failed', detail: 'unexpected-peer' });
    expect(a.stats.handshakeFailures['unexpected-peer']).toBe(1);
    expect(a.stats.dialsFailed).toBe(1);
    expect(a.stats.droppedOnDialFailure).toBe(1);
    expect(impostor.stats.framesIn).toBe(0);
  });

  it('a failed dial is reported with its cause (connection refused)', async () => {
    const a = await transport(closer);
    const { server, port: p } = await rawServer(closer);
    await new Promise<void>((r) => server.close(() => r()));
    const lost = once<Lost>(a, 'peer-disconnected');
    a.send(hex(randomKeyPair().publicKey), bytes('x'), [{ host: '127.0.0.1', port: p }]);
    expect(a.stats.pendingDials).toBe(1);
    const [, cause, info] = await lost;
    expect(cause).toBe('dial-failed');
    expect(info).toMatchObject({ reason: 'socket-error', detail: 'ECONNREFUSED' });
    expect(a.stats.pendingDials).toBe(0);
  });
});

describe('refusals drop the connection', () => {
  it('a tampered frame', async () => {
    const t = await transport(closer);
    const raw = await rawPeer(port(t), t.id);
    const lost = once<Lost>(t, 'peer-disconnected');
    const sealed = raw.sealed({ type: 'gossip', message: bytes('payload') });
    sealed[3]! ^= 1;
    raw.ws.send(sealed);
    const [peer, cause, info] = await lost;
    expect(peer).toBe(hex(raw.keyPair.publicKey));
    expect(cause).toBe('error');
    expect(info.reason).toBe('tampered');
    await closed(raw.ws);
    expect(t.stats.closed.tampered).toBe(1); // counted before the event
  });

  it('an oversize frame, after and during the handshake', async () => {
    const t = await transport(closer, { maxFrameBytes: 4096 });
    const raw = await rawPeer(port(t), t.id);
    const lost = once<Lost>(t, 'peer-disconnected');
    raw.sendFrame({ type: 'gossip', message: new Uint8Array(4096) }); // plaintext 4097 > 4096
    expect((await lost)[2].reason).toBe('oversize');
    await closed(raw.ws);
    // During the handshake: larger than any handshake message.
    const ws = await rawSocket(port(t));
    ws.send(new Uint8Array(2000));
    await closed(ws);
    await until(() => t.stats.closed.oversize === 2, 5000, 'second oversize counted');
    // Far above the limit: ws refuses it before buffering it (maxPayload).
    const raw2 = await rawPeer(port(t), t.id);
    raw2.ws.send(new Uint8Array(1 << 20));
    await closed(raw2.ws);
    await until(() => t.stats.closed.oversize === 3, 5000, 'third oversize counted');
  });

  it('a client that never finishes the handshake is cut at the timeout', async () => {
    const t = await transport(closer, { handshakeTimeoutMs: 300 });
    const started = performance.now();
    const silent = await rawSocket(port(t));
    // And one that sends message 1 and then stops.
    const half = await rawSocket(port(t));
    const hs = new Handshake({
      role: 'initiator',
      identitySecretKey: randomBytes(32),
      staticSecretKey: randomBytes(32),
      ephemeralSecretKey: randomBytes(32),
    });
    half.send(hs.start()!);
    await Promise.all([closed(silent), closed(half)]);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(5000);
    await until(() => t.stats.closed['handshake-timeout'] === 2, 5000, 'both counted');
    expect(t.stats.handshaking).toBe(0);
  });

  it('a dialed peer that never answers the handshake fails the dial at the timeout', async () => {
    const a = await transport(closer, { handshakeTimeoutMs: 300 });
    const { port: p } = await rawServer(closer);
    const lost = once<Lost>(a, 'peer-disconnected');
    a.send(hex(randomKeyPair().publicKey), bytes('x'), [{ host: '127.0.0.1', port: p }]);
    const [, cause, info] = await lost;
    expect(cause).toBe('dial-failed');
    expect(info.reason).toBe('handshake-timeout');
  });

  it('garbage bytes at every stage never crash the node', async () => {
    const t = await transport(closer, { handshakeTimeoutMs: 2000 });
    const p = port(t);
    const garbage = [
      new Uint8Array(0),
      new Uint8Array(1),
      randomBytes(31),
      randomBytes(33),
      randomBytes(1219),
    ];
    // Stage 1: instead of message 1 (also a text message, and an all-zero low-order key).
    for (const g of [...garbage, new Uint8Array(32)]) {
      const ws = await rawSocket(p);
      ws.send(g);
      if (g.length !== 32) await closed(ws);
      else ws.terminate();
    }
    const text = await rawSocket(p);
    text.send('hello');
    await closed(text);
    // Stage 2: a valid message 1, then garbage instead of message 3.
    for (const g of garbage) {
      const ws = await rawSocket(p);
      const hs = new Handshake({
        role: 'initiator',
        identitySecretKey: randomBytes(32),
        staticSecretKey: randomBytes(32),
        ephemeralSecretKey: randomBytes(32),
      });
      const msg2 = new Promise<void>((r) => ws.once('message', () => r()));
      ws.send(hs.start()!);
      await msg2;
      ws.send(g);
      await closed(ws);
    }
    // Stage 3: after the handshake, random frames and frames that are authentic but malformed.
    for (const g of garbage) {
      const raw = await rawPeer(p, t.id);
      raw.ws.send(g);
      await closed(raw.ws);
    }
    const raw = await rawPeer(p, t.id);
    const unknownType = raw.session.send.encryptWithAd(new Uint8Array(0), new Uint8Array([9, 1, 2]));
    if (!unknownType.ok) throw new Error('nonce');
    raw.ws.send(unknownType.ciphertext);
    await closed(raw.ws);
    // Stage 4: the node dials a server that answers with garbage.
    for (const g of garbage) {
      const { port: bad } = await rawServer(closer, () => g);
      const lost = once<Lost>(t, 'peer-disconnected');
      t.send(hex(randomKeyPair().publicKey), bytes('x'), [{ host: '127.0.0.1', port: bad }]);
      expect((await lost)[1]).toBe('dial-failed');
    }
    // Still serving.
    const ok = await rawPeer(p, t.id);
    const got = once<[string, Uint8Array]>(t, 'message');
    ok.sendFrame({ type: 'gossip', message: bytes('still here') });
    expect((await got)[1]).toEqual(bytes('still here'));
    expect(t.stats.connections).toBe(1);
    expect(t.stats.handshaking).toBe(0);
    const reasons = t.stats.closed;
    expect(
      (reasons['handshake-failed'] ?? 0) + (reasons.oversize ?? 0) + (reasons.malformed ?? 0),
    ).toBeGreaterThan(10);
  });
});

describe('connection table', () => {
  it('simultaneous dials: both sides keep the connection dialed by the smaller id, no frame lost', async () => {
    for (let round = 0; round < 3; round++) {
      const a = await transport(closer);
      const b = await transport(closer);
      const gotA: string[] = [];
      const gotB: string[] = [];
      a.on('message', (_p, m) => gotA.push(new TextDecoder().decode(m)));
      b.on('message', (_p, m) => gotB.push(new TextDecoder().decode(m)));
      for (let i = 0; i < 3; i++) {
        a.send(b.id, bytes(`a${i}`), b.addresses());
        b.send(a.id, bytes(`b${i}`), a.addresses());
      }
      await until(() => gotA.length === 3 && gotB.length === 3, 10_000, 'delivery');
      await until(
        () => (a.stats.closed.duplicate ?? 0) + (b.stats.closed.duplicate ?? 0) >= 2,
        10_000,
        'duplicate closed',
      );
      await until(() => a.stats.connections === 1 && b.stats.connections === 1, 10_000, 'one connection');
      const smaller = a.id < b.id ? a.id : b.id;
      expect(a.dialer(b.id)).toBe(smaller);
      expect(b.dialer(a.id)).toBe(smaller);
      expect(gotA.sort()).toEqual(['b0', 'b1', 'b2']);
      expect(gotB.sort()).toEqual(['a0', 'a1', 'a2']);
      // The kept connection works both ways.
      const more = once<[string, Uint8Array]>(b, 'message');
      a.send(b.id, bytes('after'));
      expect((await more)[1]).toEqual(bytes('after'));
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses connections beyond maxConnections, inbound and outbound', async () => {
    const server = await transport(closer, { maxConnections: 2 });
    const clients = await Promise.all([0, 1, 2].map(() => transport(closer)));
    for (const c of clients.slice(0, 2)) {
      const got = once<[string, Uint8Array]>(server, 'message', (p) => p === c.id);
      c.send(server.id, bytes('hi'), server.addresses());
      await got;
    }
    const lost = once<Lost>(clients[2]!, 'peer-disconnected');
    clients[2]!.send(server.id, bytes('hi'), server.addresses());
    expect((await lost)[1]).toBe('dial-failed');
    expect(server.stats.inboundRefused).toBe(1);
    expect(server.stats.connections).toBe(2);
    // Outbound: the full node cannot dial a third peer either.
    const lostOut = once<Lost>(server, 'peer-disconnected');
    server.send(clients[2]!.id, bytes('hi'), clients[2]!.addresses());
    expect((await lostOut)[2].reason).toBe('max-connections');
  });

  it('send-queue overflow is counted and reported (drop policy)', async () => {
    const a = await transport(closer, { maxSendQueueBytes: 2048, sendQueueOverflow: 'drop' });
    const { port: p } = await rawServer(closer); // never answers: frames wait in the dial queue
    const peer = hex(randomKeyPair().publicKey);
    const overflows: number[] = [];
    a.on('overflow', (_peer, n) => overflows.push(n));
    for (let i = 0; i < 6; i++) a.send(peer, new Uint8Array(500), [{ host: '127.0.0.1', port: p }]);
    expect(a.stats.sendQueueOverflows).toBe(2);
    expect(overflows).toEqual([500, 500]);
    expect(a.stats.pendingDials).toBe(1);
  });

  it('send-queue overflow with the disconnect policy fails the dial', async () => {
    const a = await transport(closer, { maxSendQueueBytes: 2048 });
    const { port: p } = await rawServer(closer);
    const peer = hex(randomKeyPair().publicKey);
    const lost = once<Lost>(a, 'peer-disconnected');
    for (let i = 0; i < 5; i++) a.send(peer, new Uint8Array(500), [{ host: '127.0.0.1', port: p }]);
    const [, cause, info] = await lost;
    expect(cause).toBe('dial-failed');
    expect(info.reason).toBe('send-queue-overflow');
    expect(a.stats.sendQueueOverflows).toBe(1);
    expect(a.stats.pendingDials).toBe(0);
  });

  /**
   * A peer that completes the handshake and then stops reading: the kernel buffers fill, the socket's
   * unsent bytes grow, and the next frame past `maxSendQueueBytes` overflows. Sends until then, bounded.
   */
  async function stalledPeer(
    config: Parameters<typeof transport>[1],
    watch: (t: Awaited<ReturnType<typeof transport>>) => void = () => {},
  ) {
    const t = await transport(closer, config);
    watch(t);
    const r = await rawPeer(port(t), t.id);
    closer.add({ close: () => r.ws.terminate() });
    const rid = hex(r.keyPair.publicKey);
    await until(() => t.isConnected(rid), 10_000, 'connected');
    // Stop reading: from now on nothing leaves the sender's socket buffer once the kernel's is full.
    (r.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const overflows: number[] = [];
    t.on('overflow', (_peer, n) => overflows.push(n));
    const frame = new Uint8Array(16 * 1024);
    let sent = 0;
    for (let i = 0; i < 20_000 && overflows.length === 0; i++) {
      t.send(rid, frame);
      if (overflows.length === 0) sent++;
      // Let the socket flush what the kernel takes, so the buffered count reflects a stalled reader.
      if (i % 64 === 63) await new Promise((res) => setImmediate(res));
    }
    return { t, r, rid, overflows, sent };
  }

  it('an open connection whose peer stops reading overflows its send queue: disconnect policy closes it', async () => {
    let lost: Lost | undefined;
    const { overflows } = await stalledPeer({ maxSendQueueBytes: 256 * 1024 }, (t) =>
      t.once('peer-disconnected', (...args: Lost) => {
        lost = args;
      }),
    );
    expect(overflows).toHaveLength(1);
    await until(() => lost !== undefined, 10_000, 'peer-disconnected');
    const [, cause, info] = lost!;
    expect(cause).toBe('error');
    expect(info).toMatchObject({ reason: 'send-queue-overflow', established: true });
  });

  it('with the drop policy the frame is refused and counted, the connection stays open, and every frame not refused arrives', async () => {
    const { t, r, rid, overflows, sent } = await stalledPeer({
      maxSendQueueBytes: 256 * 1024,
      sendQueueOverflow: 'drop',
    });
    expect(overflows).toEqual([16 * 1024 + 17]);
    expect(t.stats.sendQueueOverflows).toBe(1);
    expect(t.isConnected(rid)).toBe(true);
    // The reader resumes: exactly the frames that were not refused arrive, in order, none lost.
    let got = 0;
    const all = new Promise<void>((resolve) => {
      r.ws.on('message', (data: Buffer) => {
        const o = openFrame(r.session.recv, new Uint8Array(data), { maxPlaintextBytes: 1 << 20 });
        if (o.ok && o.frame.type === 'gossip' && ++got === sent) resolve();
      });
    });
    (r.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await all;
    expect(got).toBe(sent);
  });

  it('keepalive: a silent peer is reported as a timeout within keepaliveTimeoutMs', async () => {
    const t = await transport(closer, { keepaliveTimeoutMs: 500, keepaliveIntervalMs: 150 });
    const raw = await rawPeer(port(t), t.id); // completes the handshake, then never sends again
    const started = performance.now();
    const [, cause, info] = await once<Lost>(t, 'peer-disconnected');
    const elapsed = performance.now() - started;
    expect(cause).toBe('timeout');
    expect(info.reason).toBe('keepalive-timeout');
    expect(elapsed).toBeLessThan(1500);
    expect(t.stats.pingsOut).toBeGreaterThanOrEqual(2);
    await closed(raw.ws);
  });

  it('keepalive: two live transports stay connected through idle periods', async () => {
    const cfg = { keepaliveTimeoutMs: 300, keepaliveIntervalMs: 75 };
    const a = await transport(closer, cfg);
    const b = await transport(closer, cfg);
    const got = once<[string, Uint8Array]>(b, 'message');
    a.send(b.id, bytes('x'), b.addresses());
    await got;
    await until(() => a.stats.pingsOut >= 10 && b.stats.pingsOut >= 10, 10_000, 'pings');
    expect(a.stats.connections).toBe(1);
    expect(a.stats.closed['keepalive-timeout']).toBeUndefined();
  });

  it('close() is idempotent and closes every socket', async () => {
    const a = await transport(closer);
    const b = await transport(closer);
    const got = once<[string, Uint8Array]>(b, 'message');
    a.send(b.id, bytes('x'), b.addresses());
    await got;
    const p1 = a.close();
    expect(a.close()).toBe(p1);
    await p1;
    expect(a.stats.connections).toBe(0);
    await until(() => b.stats.connections === 0, 5000, 'b sees the close');
    expect(b.stats.closed['remote-close']).toBe(1);
  });
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
