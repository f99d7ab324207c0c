/**
 * Dial bounds and bans over real sockets (PROTOCOL.md §9.8): repeated sends to a peer at an
 * unreachable address are bounded per minute and back off exponentially; a banned peer is closed,
 * refused after its handshake and not dialed until the ban ends. Back-off gaps are asserted as lower
 * bounds only (a loaded machine makes them longer, never shorter).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { CloseInfo } from '../../src/net/connection.js';
import type { DisconnectCause } from '../../src/proto/types.js';
import { Closer, closed, once, rawPeer, rawServer, transport, until } from '../helpers/net.js';

const closer = new Closer();
afterEach(() => closer.closeAll());

type Lost = [string, DisconnectCause, CloseInfo];
const fakeId = (): string => randomBytes(32).toString('hex');
const port = (t: { addresses(): { port: number }[] }): number => t.addresses()[0]!.port;

/** A port on 127.0.0.1 where nothing listens (connection refused at once). */
async function deadPort(): Promise<number> {
  const { server, port: p } = await rawServer(closer);
  await new Promise<void>((r) => server.close(() => r()));
  return p;
}

describe('dial bounds', () => {
  it('repeated sends to an unreachable address: exponential back-off, then the per-minute cap', async () => {
    const t = await transport(closer, {
      dialBackoffBaseMs: 100,
      dialBackoffMaxMs: 400,
      maxDialsPerAddressPerMinute: 5,
    });
    const address = { host: '127.0.0.1', port: await deadPort() };
    const peer = fakeId();
    const attempts: number[] = [];
    const infos: CloseInfo[] = [];
    t.on('peer-disconnected', (_p, _c, info) => infos.push(info));
    let sends = 0;
    // The core's repair loop would ask for the peer again and again: here every 10 ms.
    await until(
      () => {
        if (!t.isDialing(peer)) {
          const before = t.stats.dialAttempts;
          t.send(peer, new Uint8Array([1]), [address]);
          sends++;
          if (t.stats.dialAttempts > before) attempts.push(performance.now());
        }
        return (t.stats.dialsRefused.rate ?? 0) >= 3;
      },
      30_000,
      'the per-minute cap',
    );
    expect(t.stats.dialAttempts).toBe(5);
    expect(attempts).toHaveLength(5);
    expect(sends).toBeGreaterThan(10);
    // Gaps between real attempts: at least 100, 200, 400, 400 ms (base doubling, capped at the max).
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
    // Each back-off runs from the failure, which comes after the attempt: the gaps are at least that.
    for (const [i, min] of [100, 200, 400, 400].entries()) expect(gaps[i]).toBeGreaterThanOrEqual(min - 1);
    expect(t.stats.dialsRefused.backoff).toBeGreaterThanOrEqual(4);
    // Refused dials fail at once, with a detail that says why.
    expect(infos.filter((i) => i.reason === 'socket-error' && i.detail === 'ECONNREFUSED')).toHaveLength(5);
    const throttled = infos.filter((i) => i.reason === 'dial-throttled');
    expect(throttled.length).toBe(sends - 5);
    expect(
      throttled.some((i) => /^backoff: 127\.0\.0\.1\|\d+ failed, next try in \d+ ms$/.test(i.detail!)),
    ).toBe(true);
    expect(throttled.at(-1)!.detail).toMatch(/^rate: at most 5 dials a minute/);
    expect(t.stats.dialsFailed).toBe(sends);
  });

  it("an address in back-off is skipped; the peer's other addresses are still tried", async () => {
    const a = await transport(closer, { dialBackoffBaseMs: 60_000, dialBackoffMaxMs: 60_000 });
    const b = await transport(closer);
    const dead = { host: '127.0.0.1', port: await deadPort() };
    // First the dead address alone: it fails and backs off for a minute.
    const lost = once<Lost>(a, 'peer-disconnected');
    a.send(b.id, new Uint8Array([1]), [dead]);
    expect((await lost)[2]).toMatchObject({ detail: 'ECONNREFUSED' });
    // Then with b's real address after it: the dead one is skipped (back-off), the real one opens.
    const got = once<[string, Uint8Array]>(b, 'message');
    a.send(b.id, new Uint8Array([2]), [dead, ...b.addresses()]);
    await got;
    expect(a.stats.dialsRefused.backoff).toBe(1);
    expect(a.stats.dialAttempts).toBe(2);
  });
});

describe('bans', () => {
  it('a banned peer is closed, refused after its handshake and not dialed; the ban ends', async () => {
    const a = await transport(closer);
    const b = await transport(closer);
    const got = once<[string, Uint8Array]>(a, 'message');
    b.send(a.id, new Uint8Array([1]), a.addresses());
    await got;
    const lost = once<Lost>(a, 'peer-disconnected');
    a.ban(b.id, 60_000);
    const [peer, cause, info] = await lost;
    expect([peer, cause, info.reason]).toEqual([b.id, 'error', 'banned']);
    expect(a.isBanned(b.id)).toBe(true);
    expect(a.addressesOf(b.id)).toEqual([]);
    // b dials again: the handshake proves its id, and a closes it.
    const lostAtB = once<Lost>(b, 'peer-disconnected');
    b.send(a.id, new Uint8Array([2]), a.addresses());
    const [, , atB] = await lostAtB;
    expect(atB).toMatchObject({ reason: 'remote-close', detail: 'banned' });
    await until(() => a.stats.closed.banned === 2, 5000, 'refused after the handshake');
    // a does not dial b.
    const fails = once<Lost>(a, 'peer-disconnected');
    const attempts = a.stats.dialAttempts;
    a.send(b.id, new Uint8Array([3]), b.addresses());
    expect((await fails)[2]).toEqual({ reason: 'banned', established: false });
    expect(a.stats.dialAttempts).toBe(attempts);
    expect(a.stats.dialsRefused.banned).toBe(1);
    expect(a.stats.bans).toBe(1);
  });

  it('a ban ends after its duration', async () => {
    const a = await transport(closer);
    const b = await transport(closer);
    a.ban(b.id, 150);
    expect(a.isBanned(b.id)).toBe(true);
    await until(() => !a.isBanned(b.id), 10_000, 'ban over');
    const got = once<[string, Uint8Array]>(b, 'message');
    a.send(b.id, new Uint8Array([1]), b.addresses());
    await got;
  });

  it('a ban during a dial fails the dial; frames from a banned peer are not delivered', async () => {
    const a = await transport(closer, { handshakeTimeoutMs: 20_000 });
    const { port: silent } = await rawServer(closer); // never answers: the dial hangs in its handshake
    const peer = fakeId();
    a.send(peer, new Uint8Array([1]), [{ host: '127.0.0.1', port: silent }]);
    expect(a.isDialing(peer)).toBe(true);
    const lost = once<Lost>(a, 'peer-disconnected');
    a.ban(peer, 60_000);
    expect((await lost)[2]).toEqual({ reason: 'banned', established: false });
    expect(a.stats.pendingDials).toBe(0);
    // An inbound raw peer, banned while connected: nothing more it sends is delivered.
    const raw = await rawPeer(port(a), a.id);
    const rawId = Buffer.from(raw.keyPair.publicKey).toString('hex');
    await until(() => a.isConnected(rawId), 5000, 'open');
    let delivered = 0;
    a.on('message', () => delivered++);
    a.ban(rawId, 60_000);
    raw.sendFrame({ type: 'gossip', message: new Uint8Array([9]) });
    await closed(raw.ws);
    expect(delivered).toBe(0);
  });

  it('the ban list is capped', async () => {
    const a = await transport(closer, { maxBans: 10 });
    for (let i = 0; i < 100; i++) a.ban(fakeId(), 60_000 + i);
    expect(a.stats.bans).toBe(10);
  });
});
