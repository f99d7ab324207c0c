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
    const { admit } = manager({ maxPendingPerIp: 1, maxConnections: 4, maxPendingInbound: 3 });
    expect([1, 2, 3].map(() => admit('127.0.0.1').ok)).toEqual([true, true, true]);
    // The pending table is full of sockets without progress: the oldest makes room.
    expect(admit('127.0.0.1', 'fourth').ok).toBe(true);
  });

  it('a full pending table drops its oldest slot that has not progressed, else refuses', () => {
    const { m, admit, evicted } = manager({ maxPendingInbound: 2, maxPendingPerIp: 10 });
    const a = admit('127.0.0.5', 'a');
    const b = admit('127.0.0.6', 'b');
    if (!a.ok || !b.ok) throw new Error('admitted');
    m.progressed(a.slot);
    expect(admit('127.0.0.7', 'c').ok).toBe(true);
    expect(evicted).toEqual(['b']);
    const c = m.all().find((s) => s.owner === 'c')!;
    m.progressed(c);
    expect(admit('127.0.0.8', 'd')).toEqual({ ok: false, reason: 'pending-full' });
    expect(m.evictions).toBe(1);
  });

  it('a socket that upgraded outlives older ones that did not', () => {
    const { m, admit, evicted } = manager({ maxPendingInbound: 3, maxPendingPerIp: 10 });
    const a = admit('127.0.0.5', 'a');
    if (!a.ok) throw new Error('admitted');
    m.upgraded(a.slot); // the honest one: upgraded at once
    admit('127.0.0.6', 'b');
    admit('127.0.0.7', 'c');
    admit('127.0.0.8', 'd');
    admit('127.0.0.9', 'e');
    expect(evicted).toEqual(['b', 'c']);
    // Only upgraded ones left without progress: the oldest of them goes.
    for (const s of m.all()) m.upgraded(s);
    admit('127.0.0.10', 'f');
    expect(evicted).toEqual(['b', 'c', 'a']);
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
    for (const s of m.all()) m.progressed(s);
    expect(m.admitOutbound('dial', 0)).toBeUndefined();
  });

  it('the per-IP accept rate acts before the total one', () => {
    const m = new ConnectionManager<string>(
      parseTransportConfig({ acceptBurst: 5, acceptRatePerSecond: 0.001, acceptBurstPerIp: 2 }),
      () => false,
      0,
    );
    const admit = (ip: string) => m.admitInbound(ip, netGroup(ip, []), ip, 0);
    for (let i = 0; i < 10; i++) admit('203.0.113.9');
    expect(admit('203.0.113.9')).toEqual({ ok: false, reason: 'accept-rate-ip' });
    // One IP's flood took 2 of the 5 shared tokens, not all of them.
    expect([1, 2, 3].map((i) => admit(`198.51.100.${i}`).ok)).toEqual([true, true, true]);
    expect(admit('198.51.100.4')).toEqual({ ok: false, reason: 'accept-rate' });
  });
});
