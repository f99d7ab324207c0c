/**
 * The connection manager (PROTOCOL.md §9.8) against attackers over real sockets on 127.0.0.1, each
 * attacker bound to its own 127.x.y.z: half-open TCP, slow HTTP headers, WebSockets that never send
 * Noise message 1, completed handshakes of random ids that hold no topic. Every test asserts the
 * victim's bound and that an honest peer from 127.0.0.1 (the victim's own host, exempt from per-IP
 * limits) still gets in. Small limits through config; waits are for events and conditions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TopicId } from '../../src/crypto/topic.js';
import { Gossip, type GossipOptions } from '../../src/net/gossip.js';
import { Closer, closed, once, rawPeer, rawSocket, transport, until } from '../helpers/net.js';
import { bareWebSocket, rawPeerFrom, rawTcp } from './attackers.js';

const closer = new Closer();
afterEach(() => closer.closeAll());

const port = (t: { addresses(): { port: number }[] }): number => t.addresses()[0]!.port;
const TOPIC = TopicId.fromName('conn-manager test');
const LOCAL = { host: '127.0.0.1', port: 0 };

async function gossip(transportOptions: GossipOptions['transport'] = {}): Promise<Gossip> {
  return closer.add(
    await Gossip.create({
      listen: LOCAL,
      transport: { keepaliveTimeoutMs: 3000, keepaliveIntervalMs: 500, ...transportOptions },
    }),
  );
}

/** An honest node from 127.0.0.1 joins `victim`'s topic. */
async function honestJoin(victim: Gossip): Promise<Gossip> {
  const g = await gossip();
  const t = g.subscribe(TOPIC, { bootstrap: [{ id: victim.id, addresses: victim.addresses() }] });
  await t.joined({ signal: AbortSignal.timeout(20_000) });
  return g;
}

describe('pending sockets', () => {
  it('40 silent TCP sockets from one IP: at most maxPendingPerIp stay open; an honest dial still succeeds', async () => {
    const victim = await gossip({ maxPendingPerIp: 4, acceptBurstPerIp: 100, acceptRatePerIpPerSecond: 100 });
    victim.subscribe(TOPIC);
    const vt = victim.stats.transport;
    const attackers = Array.from({ length: 40 }, () => rawTcp(closer, port(victim), '127.0.0.66'));
    await Promise.all(attackers.map((a) => a.connected));
    await until(() => vt.inboundRefused + vt.pending >= 40, 10_000, 'every socket seen');
    await until(() => attackers.filter((a) => !a.closed).length <= 4, 10_000, 'refused sockets closed');
    expect(vt.pending).toBeLessThanOrEqual(4);
    expect(vt.refused['pending-ip']).toBe(36);
    await honestJoin(victim);
    expect(victim.stats.transport.connections).toBe(1);
  });

  it('the per-IP accept rate refuses a burst from one IP before it costs anything else', async () => {
    const victim = await transport(closer, { acceptBurstPerIp: 3, acceptRatePerIpPerSecond: 0.01 });
    const attackers = Array.from({ length: 10 }, () => rawTcp(closer, port(victim), '127.0.0.67'));
    await until(() => victim.stats.inboundRefused + victim.stats.pending >= 10, 10_000, 'every socket seen');
    expect(victim.stats.refused['accept-rate-ip']).toBe(7);
    await until(() => attackers.filter((a) => !a.closed).length === 3, 10_000, 'refused sockets closed');
  });

  it('sockets from many IPs fill the HTTP stage; the oldest make room for an honest peer', async () => {
    const victim = await gossip({ maxPendingUpgrades: 8, maxConnections: 16 });
    victim.subscribe(TOPIC);
    const vt = victim.stats.transport;
    // 30 IPs × 2 sockets: every per-IP cap holds, only the pending table fills.
    const attackers = Array.from({ length: 60 }, (_, i) =>
      rawTcp(closer, port(victim), `127.0.1.${1 + (i % 30)}`),
    );
    await until(
      () => vt.inboundRefused + (vt.upgradeFailures.evicted ?? 0) + vt.pending >= 60,
      10_000,
      'all seen',
    );
    expect(vt.pending).toBeLessThanOrEqual(8);
    // The victim's sockets never exceeded the table: the rest were destroyed at accept.
    await until(() => attackers.filter((a) => !a.closed).length <= 8, 10_000, 'extra sockets closed');
    expect(vt.upgradeFailures.evicted).toBeGreaterThanOrEqual(52);
    await honestJoin(victim);
  });

  it('a half-open flood from many IPs evicts its own kind, not upgraded sockets; an upgrade evicts the oldest silent WebSocket', async () => {
    const victim = await gossip({
      maxPendingUpgrades: 4,
      maxPendingInbound: 4,
      firstMessageTimeoutMs: 30_000,
      handshakeTimeoutMs: 60_000,
    });
    victim.subscribe(TOPIC);
    const vt = victim.stats.transport;
    // Four silent WebSockets fill the handshake stage, one by one so that their order is known.
    const silent: Awaited<ReturnType<typeof bareWebSocket>>[] = [];
    for (let i = 1; i <= 4; i++) silent.push(await bareWebSocket(closer, port(victim), `127.0.10.${i}`));
    await until(() => vt.handshaking === 4, 10_000, 'four upgraded');
    // 16 half-open sockets from 16 IPs: they push each other out of the HTTP stage, nothing else.
    const tcp = Array.from({ length: 16 }, (_, i) => rawTcp(closer, port(victim), `127.0.11.${i + 1}`));
    await until(() => (vt.upgradeFailures.evicted ?? 0) >= 12, 10_000, 'half-open sockets evicted');
    await until(() => tcp.filter((t) => !t.closed).length <= 4, 10_000, 'evicted sockets closed');
    expect(silent.every((w) => w.readyState === w.OPEN)).toBe(true);
    expect(vt.closed.evicted).toBeUndefined();
    // An honest peer's upgrade finds the handshake stage full: the silent one upgraded first goes.
    await honestJoin(victim);
    await closed(silent[0]!);
    expect(vt.closed.evicted).toBe(1);
    expect(silent.slice(1).every((w) => w.readyState === w.OPEN)).toBe(true);
  });

  it('the total accept rate is charged at message 1: silent sockets from many IPs cannot spend it', async () => {
    const victim = await transport(closer, { acceptBurst: 3, acceptRatePerSecond: 0.01 });
    const p = port(victim);
    const tcp = Array.from({ length: 20 }, (_, i) => rawTcp(closer, p, `127.0.12.${i + 1}`));
    await Promise.all(tcp.map((t) => t.connected));
    await until(() => victim.stats.pending === 20, 10_000, 'all twenty admitted');
    expect(victim.stats.refused).toEqual({});
    // Three handshakes are the burst; the fourth is refused when its message 1 arrives.
    for (let i = 0; i < 3; i++) await rawPeer(p, victim.id);
    await until(() => victim.stats.connections === 3, 10_000, 'three open');
    await expect(rawPeer(p, victim.id)).rejects.toThrow();
    expect(victim.stats.refused).toEqual({ 'accept-rate': 1 });
    expect(victim.stats.closed['max-connections']).toBe(1);
  });

  it('slow HTTP headers are cut at upgradeTimeoutMs', async () => {
    const victim = await transport(closer, { upgradeTimeoutMs: 300 });
    const slow = [0, 1, 2].map((i) => rawTcp(closer, port(victim), `127.0.2.${i + 1}`));
    await Promise.all(slow.map((s) => s.connected));
    const started = performance.now();
    for (const s of slow) s.socket.write('GET / HTTP/1.1\r\nHost: x\r\n'); // and never the end
    await until(() => slow.every((s) => s.closed), 10_000, 'slow clients cut');
    expect(performance.now() - started).toBeLessThan(5000);
    await until(() => victim.stats.upgradeFailures.timeout === 3, 5000, 'counted');
    expect(victim.stats.pending).toBe(0);
  });

  it('a plain HTTP request is answered 426 and closed', async () => {
    const victim = await transport(closer);
    const s = rawTcp(closer, port(victim), '127.0.2.9');
    await s.connected;
    const got: Buffer[] = [];
    s.socket.on('data', (d: Buffer) => got.push(d));
    s.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => s.closed, 10_000, 'closed');
    expect(Buffer.concat(got).toString()).toMatch(/^HTTP\/1\.1 426/);
    expect(victim.stats.upgradeFailures['not-websocket']).toBe(1);
  });

  it('WebSockets that never send message 1 are dropped at firstMessageTimeoutMs, not at the handshake timeout', async () => {
    const victim = await transport(closer, { firstMessageTimeoutMs: 300, handshakeTimeoutMs: 20_000 });
    const started = performance.now();
    const bare = await Promise.all([1, 2, 3].map((i) => bareWebSocket(closer, port(victim), `127.0.3.${i}`)));
    await Promise.all(bare.map(closed));
    expect(performance.now() - started).toBeLessThan(10_000);
    await until(() => victim.stats.closed['first-message-timeout'] === 3, 5000, 'counted');
    expect(victim.stats.pending).toBe(0);
    expect(victim.stats.handshaking).toBe(0);
    // A dialer that does send message 1 is not cut by that timer.
    await rawPeer(port(victim), victim.id);
    await until(() => victim.stats.connections === 1, 5000, 'open');
  });

  it('an upgraded connection outlives upgradeTimeoutMs (the HTTP timeouts end at the upgrade)', async () => {
    const cfg = { upgradeTimeoutMs: 100, keepaliveTimeoutMs: 1000, keepaliveIntervalMs: 100 };
    const a = await transport(closer, cfg);
    const b = await transport(closer, cfg);
    const got = once<[string, Uint8Array]>(b, 'message');
    a.send(b.id, new Uint8Array([1]), b.addresses());
    await got;
    await until(() => a.stats.pingsOut >= 8 && b.stats.pingsOut >= 8, 10_000, 'pings');
    expect(b.stats.connections).toBe(1);
    expect(b.stats.upgradeFailures).toEqual({});
  });
});

describe('open connections', () => {
  it('handshakes of random ids with no topic are closed after topiclessGraceMs; a full table still admits an honest peer', async () => {
    // Keepalive far above the grace: the fakes (which answer nothing) must go for holding no topic.
    const victim = await gossip({
      maxConnections: 6,
      topiclessGraceMs: 1500,
      keepaliveTimeoutMs: 60_000,
      keepaliveIntervalMs: 1000,
    });
    victim.subscribe(TOPIC);
    const vt = victim.stats.transport;
    const neighbour = await honestJoin(victim);
    // Five random ids fill the table (from 127.0.0.1: per-IP limits do not apply to the own host).
    const fakes = await Promise.all([0, 1, 2, 3, 4].map(() => rawPeer(port(victim), victim.id)));
    await until(() => vt.connections === 6, 10_000, 'table full');
    // Another honest peer: an idle topicless connection is closed for it, never the neighbour.
    const second = await honestJoin(victim);
    expect(vt.closed.evicted).toBeGreaterThanOrEqual(1);
    expect(victim.topic(TOPIC)!.neighbors()).toEqual(expect.arrayContaining([neighbour.id, second.id]));
    // The other fakes go once the grace period is over.
    await Promise.all(fakes.map((f) => closed(f.ws)));
    await until(() => (vt.closed.unused ?? 0) + (vt.closed.evicted ?? 0) === 5, 10_000, 'all five counted');
    expect(vt.closed.unused).toBeGreaterThanOrEqual(1);
    expect(victim.topic(TOPIC)!.neighbors()).toEqual(expect.arrayContaining([neighbour.id, second.id]));
  });

  it('per-IP caps count open connections too; peers on the own host are exempt', async () => {
    const victim = await transport(closer, { maxConnectionsPerIp: 2, maxPendingPerIp: 2 });
    const p = port(victim);
    await rawPeerFrom(closer, p, victim.id, '127.0.4.1');
    await rawPeerFrom(closer, p, victim.id, '127.0.4.1');
    await expect(rawPeerFrom(closer, p, victim.id, '127.0.4.1')).rejects.toThrow();
    expect(victim.stats.refused['connections-ip']).toBe(1);
    // Same cap, other IP of the same /24 is a different IP; the own host 127.0.0.1 has no cap.
    await rawPeerFrom(closer, p, victim.id, '127.0.4.2');
    for (let i = 0; i < 4; i++) await rawPeer(p, victim.id);
    await until(() => victim.stats.connections === 7, 10_000, 'seven open');
  });

  it('per-prefix caps act on real sockets (a loopback host is a prefix of its own)', async () => {
    const victim = await transport(closer, { maxPendingPerPrefix: 2, maxPendingPerIp: 10 });
    const p = port(victim);
    await bareWebSocket(closer, p, '127.0.5.1');
    await bareWebSocket(closer, p, '127.0.5.1');
    await expect(bareWebSocket(closer, p, '127.0.5.1')).rejects.toThrow();
    expect(victim.stats.refused['pending-prefix']).toBe(1);
    // Another loopback address is another group.
    await bareWebSocket(closer, p, '127.0.5.2');
    expect(victim.stats.pending).toBe(3);
  });

  it('netGroupOf and remoteAddress name the remote host; the own host is exempt', async () => {
    const victim = await transport(closer);
    const far = await rawPeerFrom(closer, port(victim), victim.id, '127.0.6.6');
    const near = await rawPeer(port(victim), victim.id);
    const farId = Buffer.from(far.keyPair.publicKey).toString('hex');
    const nearId = Buffer.from(near.keyPair.publicKey).toString('hex');
    await until(() => victim.isConnected(farId) && victim.isConnected(nearId), 10_000, 'both open');
    expect(victim.netGroupOf(farId)).toBe('4:127.0.6.6');
    expect(victim.remoteAddress(farId)).toMatchObject({ host: '127.0.6.6', port: expect.any(Number) });
    expect(victim.netGroupOf(nearId)).toBeUndefined();
    expect(victim.remoteAddress(nearId)?.host).toBe('127.0.0.1');
    // A peer known only from the book: its first address.
    victim.addAddresses('ab'.repeat(32), [{ host: '127.0.7.7', port: 9 }]);
    expect(victim.netGroupOf('ab'.repeat(32))).toBe('4:127.0.7.7');
  });

  it('close() resolves quickly with hundreds of pending sockets and connections', async () => {
    const victim = await transport(closer, {
      maxConnections: 512,
      maxPendingInbound: 400,
      acceptBurst: 1000,
    });
    const p = port(victim);
    const tcp = Array.from({ length: 200 }, (_, i) => rawTcp(closer, p, `127.0.8.${1 + (i % 100)}`));
    await Promise.all(tcp.map((s) => s.connected));
    const ws = await Promise.all(Array.from({ length: 50 }, () => rawSocket(p)));
    for (let i = 0; i < 20; i++) await rawPeer(p, victim.id);
    await until(() => victim.stats.connections === 20, 10_000, 'open');
    const started = performance.now();
    await victim.close();
    expect(performance.now() - started).toBeLessThan(3000);
    await until(
      () => tcp.every((s) => s.closed) && ws.every((w) => w.readyState === w.CLOSED),
      10_000,
      'all closed',
    );
  });
});
