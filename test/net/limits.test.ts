/**
 * The transport's bookkeeping without sockets (PROTOCOL.md §9.8): the token bucket it shares with the
 * core, dial bounds, the ban
 * list and the connection manager's admission and eviction rules, on a virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { netGroup } from '../../src/crypto/address-policy.js';
import { parseTransportConfig, type TransportOptions } from '../../src/net/config.js';
import { ConnectionManager, type Slot } from '../../src/net/conn-manager.js';
import { BanList, DialBounds } from '../../src/net/limits.js';
import { TokenBucket } from '../../src/proto/budget.js';

describe('TokenBucket', () => {
  it('admits the burst, then the rate', () => {
    const b = new TokenBucket(10, 3, 0); // one per 100 ms
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.waitMs(0)).toBe(100);
    expect(b.take(99)).toBe(false);
    expect(b.take(200)).toBe(true);
    expect(b.take(10_000)).toBe(true); // refilled to the burst, not beyond
    expect([b.take(10_000), b.take(10_000), b.take(10_000)]).toEqual([true, true, false]);
  });
});

describe('DialBounds', () => {
  const bounds = () =>
    new DialBounds({ perMinute: 3, backoffBaseMs: 1000, backoffMaxMs: 4000, maxStates: 2 });

  it('backs off exponentially up to the max, and a success resets it', () => {
    const d = bounds();
    expect(d.take('a', 0)).toEqual({ ok: true });
    d.failed('a', 0);
    expect(d.take('a', 999)).toEqual({ ok: false, reason: 'backoff', retryInMs: 1 });
    expect(d.take('a', 1000)).toEqual({ ok: true });
    d.failed('a', 1000);
    expect(d.take('a', 2999)).toMatchObject({ ok: false, reason: 'backoff' });
    d.failed('a', 3000); // third failure: 4000, the max
    d.failed('a', 3000); // fourth: still the max
    expect(d.take('a', 6999)).toMatchObject({ ok: false, reason: 'backoff', retryInMs: 1 });
    d.succeeded('a');
    expect(d.take('a', 7000)).toEqual({ ok: true });
  });

  it('bounds dials per minute per address, and tracks at most maxStates addresses', () => {
    const d = bounds();
    expect([d.take('a', 0), d.take('a', 0), d.take('a', 0)].every((r) => r.ok)).toBe(true);
    expect(d.take('a', 0)).toEqual({ ok: false, reason: 'rate', retryInMs: 20_000 });
    expect(d.take('b', 0).ok).toBe(true);
    expect(d.take('c', 0).ok).toBe(true);
    expect(d.size).toBe(2);
    expect(d.take('a', 0).ok).toBe(true); // forgotten: starts afresh
  });
});

describe('BanList', () => {
  it('bans until the end, extends, expires, and drops the ban that ends first when full', () => {
    const b = new BanList(2);
    b.ban('p', 100, 0);
    b.ban('p', 50, 0); // an earlier end does not shorten it
    expect(b.isBanned('p', 99)).toBe(true);
    expect(b.isBanned('p', 100)).toBe(false);
    expect(b.size).toBe(0);
    b.ban('x', 300, 0);
    b.ban('y', 200, 0);
    b.ban('z', 400, 0); // full: y ends first
    expect([b.isBanned('x', 1), b.isBanned('y', 1), b.isBanned('z', 1)]).toEqual([true, false, true]);
  });
});

describe('ConnectionManager', () => {
  const own = ['127.0.0.1'];
  const limits = (o: TransportOptions = {}) =>
    parseTransportConfig({ acceptRatePerSecond: 1e6, acceptBurst: 1e6, acceptBurstPerIp: 1e6, ...o });

  function manager(o: TransportOptions = {}, idle: (s: Slot<string>) => boolean = () => false) {
    const evicted: string[] = [];
    const m = new ConnectionManager<string>(limits(o), idle, 0);
    const admit = (ip: string, name = ip, t = 0) => {
      const r = m.admitInbound(ip, netGroup(ip, own), name, t);
      if (r.ok) r.slot.evict = () => evicted.push(name);
      return r;
    };
    return { m, admit, evicted };
  }

  it('caps pending sockets per IP and per /24 (public addresses)', () => {
    const { admit } = manager({ maxPendingPerIp: 2, maxPendingPerPrefix: 3 });
    expect(admit('203.0.113.1').ok).toBe(true);
    expect(admit('203.0.113.1').ok).toBe(true);
    expect(admit('203.0.113.1')).toEqual({ ok: false, reason: 'pending-ip' });
    expect(admit('203.0.113.2').ok).toBe(true);
    expect(admit('203.0.113.3')).toEqual({ ok: false, reason: 'pending-prefix' });
    expect(admit('203.0.114.3').ok).toBe(true);
  });

  it('IPv6 peers are grouped by /48', () => {
    const { admit } = manager({ maxPendingPerPrefix: 2, maxPendingPerIp: 10 });
    expect(admit('2001:db8:1:1::1').ok).toBe(true);
    expect(admit('2001:db8:1:2::1').ok).toBe(true);
    expect(admit('2001:db8:1:ffff::9')).toEqual({ ok: false, reason: 'pending-prefix' });
    expect(admit('2001:db8:2::1').ok).toBe(true);
  });

  it('caps inbound connections (pending and open) per IP; opening frees the pending count only', () => {
    const { m, admit } = manager({ maxConnectionsPerIp: 2, maxPendingPerIp: 1 });
    const a = admit('198.51.100.1');
    expect(a.ok).toBe(true);
    expect(admit('198.51.100.1')).toEqual({ ok: false, reason: 'pending-ip' });
    if (a.ok) m.opened(a.slot, 'peer-a', 0);
    expect(admit('198.51.100.1').ok).toBe(true);
    expect(admit('198.51.100.1')).toEqual({ ok: false, reason: 'pending-ip' });
    expect(m.pendingInbound).toBe(1);
    if (a.ok) m.release(a.slot);
  });

  it('the own host is exempt from per-IP limits, not from the totals', () => {
    const { admit } = manager({ maxPendingPerIp: 1, maxConnections: 4, maxPendingUpgrades: 3 });
    expect([1, 2, 3].map(() => admit('127.0.0.1').ok)).toEqual([true, true, true]);
    // The upgrade stage is full of sockets without progress: the oldest makes room.
    expect(admit('127.0.0.1', 'fourth').ok).toBe(true);
  });

  it('sockets that never upgrade evict their own kind: the oldest not upgraded, never one waiting for message 1', () => {
    // A half-open / slow-HTTP flood from many hosts: a newcomer takes the place of the socket
    // accepted longest ago whose upgrade is still not done. An honest socket upgraded at once and
    // waits a round trip for its message 1 in the other stage, untouched by the flood.
    const { m, admit, evicted } = manager({
      maxPendingUpgrades: 2,
      maxPendingInbound: 2,
      maxPendingPerIp: 10,
    });
    const h = admit('127.0.0.5', 'honest', 0);
    if (!h.ok) throw new Error(h.reason);
    expect(m.upgraded(h.slot, 1)).toBe(true);
    for (let i = 0; i < 10; i++) expect(admit(`127.0.1.${i}`, `x${i}`, 2 + i).ok).toBe(true);
    expect(evicted).toEqual(['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7']);
    expect(m.all().map((s) => s.owner)).toEqual(['honest', 'x8', 'x9']);
    expect(m.pendingInbound).toBe(3);
    expect(m.progressed(h.slot, 5000)).toBe(true);
    m.opened(h.slot, 'peer-h', 5001);
    expect(m.pendingInbound).toBe(2);
  });

  it('silent WebSockets evict their own kind at upgrade: the one longest without message 1; a newcomer never evicts them', () => {
    const { m, admit, evicted } = manager({
      maxPendingUpgrades: 10,
      maxPendingInbound: 2,
      maxPendingPerIp: 10,
    });
    const slot = (name: string) => m.all().find((s) => s.owner === name)!;
    admit('127.0.0.5', 'a', 0);
    expect(m.upgraded(slot('a'), 1)).toBe(true);
    admit('127.0.0.6', 'b', 2);
    expect(m.upgraded(slot('b'), 3)).toBe(true);
    // The honest socket accepted later, its upgrade request not read yet, is not the one to go.
    admit('127.0.0.7', 'honest', 500);
    admit('127.0.0.8', 'x', 501);
    expect(evicted).toEqual([]);
    // Its upgrade finds the handshake stage full: the silent one upgraded longest ago goes.
    expect(m.upgraded(slot('honest'), 502)).toBe(true);
    expect(evicted).toEqual(['a']);
    expect(m.upgraded(slot('x'), 503)).toBe(true);
    expect(evicted).toEqual(['a', 'b']);
    // Message 1: never evicted. With every handshake under way, an upgrade is refused instead.
    expect(m.progressed(slot('honest'), 504)).toBe(true);
    expect(m.progressed(slot('x'), 505)).toBe(true);
    admit('127.0.0.9', 'y', 506);
    expect(m.upgraded(slot('y'), 507)).toBe(false);
    expect(evicted).toEqual(['a', 'b']);
    expect(m.evictions).toBe(2);
  });

  it('a full table closes the idle open slot first (idle longest), never one in use; then a stalled pending one', () => {
    const inUse = new Set(['neighbour']);
    const { m, admit, evicted } = manager(
      { maxConnections: 3, maxPendingInbound: 2, maxPendingPerIp: 10 },
      (s) => s.peer !== undefined && !inUse.has(s.peer),
    );
    const open = (ip: string, peer: string, at: number) => {
      const r = admit(ip, peer, at);
      if (!r.ok) throw new Error(r.reason);
      m.opened(r.slot, peer, at);
    };
    open('127.0.0.2', 'neighbour', 0);
    open('127.0.0.3', 'idle-new', 20);
    open('127.0.0.4', 'idle-old', 10);
    expect(admit('127.0.0.5', 'newcomer').ok).toBe(true);
    expect(evicted).toEqual(['idle-old']);
    expect(admit('127.0.0.6', 'newcomer2').ok).toBe(true);
    expect(evicted).toEqual(['idle-old', 'idle-new']);
    // Only the neighbour and two pending slots left; the older pending one (no progress) goes.
    expect(admit('127.0.0.7', 'newcomer3').ok).toBe(true);
    expect(evicted).toEqual(['idle-old', 'idle-new', 'newcomer']);
    expect(m.all().map((s) => s.owner)).toEqual(['neighbour', 'newcomer2', 'newcomer3']);
    // An outbound dial in a full table with nothing to evict but progressed slots: refused.
    for (const s of m.all()) m.progressed(s, 0);
    expect(m.admitOutbound('dial', 0)).toBeUndefined();
  });

  it('the total accept rate is charged when message 1 arrives, not at accept: silent sockets cannot drain it', () => {
    const m = new ConnectionManager<string>(
      parseTransportConfig({ acceptBurst: 2, acceptRatePerSecond: 1 }),
      () => false,
      0,
    );
    const admit = (ip: string) => {
      const r = m.admitInbound(ip, netGroup(ip, own), ip, 0);
      if (!r.ok) throw new Error(`${ip}: ${r.reason}`);
      return r.slot;
    };
    // Ten silent sockets from ten IPs, far over the total rate: all admitted (the pending caps bound them).
    const silent = Array.from({ length: 10 }, (_, i) => admit(`198.51.${100 + i}.1`));
    expect(m.pendingInbound).toBe(10);
    // Handshakes starting are what the total rate pays for; the own host is charged too.
    const near = admit('127.0.0.1');
    expect(m.progressed(silent[0]!, 0)).toBe(true);
    expect(m.progressed(near, 0)).toBe(true);
    expect(m.progressed(silent[1]!, 0)).toBe(false);
    expect(silent[1]!.progressed).toBe(false);
    expect(m.progressed(silent[1]!, 1000)).toBe(true);
    // Charged once per slot; an outbound slot is never charged.
    expect(m.progressed(silent[0]!, 1000)).toBe(true);
    const out = m.admitOutbound('dial', 1000)!;
    expect(m.progressed(out, 1000)).toBe(true);
    expect(m.progressed(silent[2]!, 1000)).toBe(false);
  });
});
