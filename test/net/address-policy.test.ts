/**
 * The address policy applied by the transport (PROTOCOL.md §9.8): addresses learned from the network
 * (explicit peers, handshake extensions, gossip peer data) are checked before they are stored and
 * again before they are dialed; host names are resolved at dial time and each result checked; the
 * address book is bounded. "Never dialed" is checked on real listeners: nothing reaches them.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Address } from '../../src/crypto/address.js';
import { TopicId } from '../../src/crypto/topic.js';
import { encodeAddressList } from '../../src/net/addresses.js';
import type { CloseInfo } from '../../src/net/connection.js';
import { Gossip } from '../../src/net/gossip.js';
import { Transport, type TransportCreateOptions } from '../../src/net/transport.js';
import type { DisconnectCause } from '../../src/proto/types.js';
import { Closer, LOCAL, once, randomKeyPair, rawServer, transport, until } from '../helpers/net.js';
import { rawPeerFrom } from './attackers.js';

const closer = new Closer();
afterEach(() => closer.closeAll());

type Lost = [string, DisconnectCause, CloseInfo];
/** An id nobody holds (random bytes: deriving 20,000 real keys would take seconds). */
const fakeId = (): string => randomBytes(32).toString('hex');
const port = (t: { addresses(): { port: number }[] }): number => t.addresses()[0]!.port;

async function create(extra: Partial<TransportCreateOptions>): Promise<Transport> {
  return closer.add(await Transport.create({ keyPair: randomKeyPair(), listen: LOCAL, ...extra }));
}

/** Never allowed under any policy, with the reason counted. */
const NEVER: [Address, string][] = [
  [{ host: '169.254.169.254', port: 80 }, 'metadata'],
  [{ host: '0.0.0.0', port: 4000 }, 'unspecified'],
  [{ host: '224.0.0.1', port: 4000 }, 'multicast'],
  [{ host: '255.255.255.255', port: 4000 }, 'broadcast'],
  [{ host: '169.254.1.1', port: 4000 }, 'link-local'],
  [{ host: 'fe80::1', port: 4000 }, 'link-local'],
  [{ host: '240.0.0.1', port: 4000 }, 'reserved'],
  [{ host: '::', port: 4000 }, 'unspecified'],
  [{ host: 'ff02::1', port: 4000 }, 'multicast'],
];

describe('addresses learned from the network', () => {
  it('metadata, unspecified, multicast, broadcast, link-local and reserved addresses are refused and never dialed', async () => {
    const t = await transport(closer, { addressPolicy: { loopback: true, private: true } });
    for (const [address, reason] of NEVER) {
      const peer = fakeId();
      expect(t.addAddresses(peer, [address]), address.host).toEqual([]);
      expect(t.addressesOf(peer)).toEqual([]);
      const lost = once<Lost>(t, 'peer-disconnected', (p) => p === peer);
      t.send(peer, new Uint8Array([1]), [address]);
      const [, cause, info] = await lost;
      expect(cause).toBe('dial-failed');
      expect(info).toEqual({ reason: 'address-refused', detail: reason, established: false });
    }
    expect(t.stats.dialAttempts).toBe(0);
    expect(t.stats.addressRejects).toMatchObject({ metadata: 2, unspecified: 4, multicast: 4, broadcast: 2 });
  });

  it('loopback addresses (127.0.0.1, ::1, localhost) are refused on a transport whose policy does not allow them', async () => {
    const { server, port: p, sockets } = await rawServer(closer); // a real listener on 127.0.0.1
    const connections: unknown[] = [];
    server.on('connection', (c) => connections.push(c));
    const t = await transport(closer, { addressPolicy: { loopback: false } });
    expect(t.addressPolicy.loopback).toBe(false);
    for (const host of ['127.0.0.1', '::1', 'localhost', 'a.localhost', '::ffff:127.0.0.1', '127.0.0.66']) {
      const peer = fakeId();
      const lost = once<Lost>(t, 'peer-disconnected', (x) => x === peer);
      t.send(peer, new Uint8Array([1]), [{ host, port: p }]);
      expect((await lost)[2]).toMatchObject({ reason: 'address-refused', detail: 'loopback' });
      expect(t.addressesOf(peer)).toEqual([]);
    }
    expect(t.stats.addressRejects.loopback).toBe(6);
    expect(t.stats.dialAttempts).toBe(0);
    expect(t.stats.dnsLookups).toBe(0);
    expect(connections).toHaveLength(0);
    expect(sockets).toHaveLength(0);
  });

  it("'auto' allows loopback on a loopback listener, private only on a private one; explicit settings win", async () => {
    const a = await transport(closer);
    expect(a.addressPolicy).toEqual({ loopback: true, private: false });
    expect(a.addAddresses(fakeId(), [{ host: '10.0.0.1', port: 1 }])).toEqual([]);
    expect(a.stats.addressRejects.private).toBe(1);
    const lan = await transport(closer, { addressPolicy: { private: true } });
    expect(lan.addressPolicy).toEqual({ loopback: true, private: true });
    const dialOnly = closer.add(await Transport.create({ keyPair: randomKeyPair(), listen: null }));
    expect(dialOnly.addressPolicy).toEqual({ loopback: false, private: false });
    // Advertised addresses are the user's own: not filtered, and they decide 'auto'.
    const adv = closer.add(
      await Transport.create({
        keyPair: randomKeyPair(),
        listen: LOCAL,
        advertise: (b) => [{ host: '192.168.1.10', port: b.port }],
      }),
    );
    expect(adv.addresses()[0]!.host).toBe('192.168.1.10');
    expect(adv.addressPolicy).toEqual({ loopback: true, private: true });
  });

  it('addresses in a handshake extension are checked before they are stored', async () => {
    const victim = await transport(closer);
    const ext = encodeAddressList([
      { host: '169.254.169.254', port: 80 },
      { host: '224.0.0.1', port: 9 },
      { host: '127.0.0.1', port: 4444 },
    ]);
    const connected = once<[string, Uint8Array]>(victim, 'peer-connected');
    await rawPeerFrom(closer, port(victim), victim.id, '127.0.9.1', ext);
    const [peer, extension] = await connected;
    // The transport does not read the extension itself: the actor passes it to addAddresses.
    expect(extension).toEqual(ext);
    const { decodeAddressList } = await import('../../src/net/addresses.js');
    expect(victim.addAddresses(peer, decodeAddressList(extension).addresses)).toEqual([
      { host: '127.0.0.1', port: 4444 },
    ]);
    expect(victim.addressesOf(peer)).toEqual([{ host: '127.0.0.1', port: 4444 }]);
    expect(victim.stats.addressRejects).toMatchObject({ metadata: 1, multicast: 1 });
  });

  it('a Gossip node never stores or dials refused bootstrap addresses and passes no refused address on', async () => {
    const g = closer.add(await Gossip.create({ listen: LOCAL }));
    const peer = fakeId();
    const t = g.subscribe(TopicId.fromName('policy'), {
      bootstrap: [
        {
          id: peer,
          addresses: [
            { host: '169.254.169.254', port: 80 },
            { host: '255.255.255.255', port: 80 },
          ],
        },
      ],
    });
    expect(g.peerAddresses(peer)).toEqual([]);
    await until(() => g.stats.transport.dialsFailed >= 1, 10_000, 'the dial fails');
    expect(g.stats.transport.dialAttempts).toBe(0);
    expect(g.stats.transport.addressRejects).toMatchObject({ metadata: 1, broadcast: 1 });
    t.leave();
  });
});

describe('host names', () => {
  it('a name is resolved at dial time and each result is checked against the policy', async () => {
    const { server, port: p } = await rawServer(closer);
    let connections = 0;
    server.on('connection', () => connections++);
    const lookups: string[] = [];
    const lookup = async (host: string) => {
      lookups.push(host);
      return [
        { address: '169.254.169.254', family: 4 },
        { address: '::ffff:224.0.0.1', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ];
    };
    // Loopback allowed: the metadata and multicast results are dropped, 127.0.0.1 is dialed.
    const lab = await create({ lookup });
    lab.send(fakeId(), new Uint8Array([1]), [{ host: 'peer.example', port: p }]);
    await until(() => connections === 1, 10_000, 'the loopback result dialed');
    expect(lookups).toEqual(['peer.example']);
    expect(lab.stats.addressRejects).toMatchObject({ metadata: 1, multicast: 1 });
    expect(lab.stats.dialAttempts).toBe(1);
    // Loopback refused: nothing is left to dial.
    const strict = await create({ lookup, config: { addressPolicy: { loopback: false } } });
    const peer = fakeId();
    const lost = once<Lost>(strict, 'peer-disconnected', (x) => x === peer);
    strict.send(peer, new Uint8Array([1]), [{ host: 'peer.example', port: p }]);
    const [, cause, info] = await lost;
    expect(cause).toBe('dial-failed');
    expect(info).toMatchObject({ reason: 'address-refused', detail: 'peer.example: metadata' });
    expect(strict.stats.dialAttempts).toBe(0);
    expect(connections).toBe(1);
  });

  it('a resolution that fails or hangs fails the dial within dnsTimeoutMs', async () => {
    const hang = await create({ lookup: () => new Promise(() => {}), config: { dnsTimeoutMs: 200 } });
    const peer = fakeId();
    const lost = once<Lost>(hang, 'peer-disconnected', (x) => x === peer);
    hang.send(peer, new Uint8Array([1]), [{ host: 'slow.example', port: 80 }]);
    expect((await lost)[2]).toMatchObject({ reason: 'socket-error', detail: 'dns: ETIMEOUT' });
    expect(hang.stats.dnsFailures).toBe(1);
    const fail = await create({
      lookup: () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOTFOUND' })),
    });
    const lost2 = once<Lost>(fail, 'peer-disconnected');
    fail.send(fakeId(), new Uint8Array([1]), [{ host: 'missing.example', port: 80 }]);
    expect((await lost2)[2]).toMatchObject({ reason: 'socket-error', detail: 'dns: ENOTFOUND' });
  });

  it('localhost is resolved by the system resolver when loopback is allowed', async () => {
    const { server, port: p } = await rawServer(closer);
    let connections = 0;
    server.on('connection', () => connections++);
    const t = await transport(closer);
    t.send(fakeId(), new Uint8Array([1]), [{ host: 'localhost', port: p }]);
    await until(() => connections === 1 || t.stats.dialsFailed === 1, 10_000, 'dialed or failed');
    expect(t.stats.dnsLookups).toBe(1);
  });
});

describe('the address book', () => {
  it('20,000 fake ids leave at most maxAddressBookPeers entries; a peer with a live link stays', async () => {
    const a = await transport(closer, { maxAddressBookPeers: 100 });
    const b = await transport(closer);
    const got = once<[string, Uint8Array]>(b, 'message');
    a.send(b.id, new Uint8Array([1]), b.addresses());
    await got;
    for (let i = 0; i < 20_000; i++) {
      a.addAddresses(fakeId(), [{ host: `203.0.${(i >> 8) & 0xff}.${i & 0xff}`, port: 1 + (i % 60_000) }]);
    }
    expect(a.stats.addressBookPeers).toBeLessThanOrEqual(100);
    expect(a.stats.addressBookEvictions).toBeGreaterThanOrEqual(19_900);
    expect(a.addressesOf(b.id)).toEqual(b.addresses());
  });

  it('at most maxAddressesPerPeer addresses per peer, newest first', () => {
    return (async () => {
      const t = await transport(closer, { maxAddressesPerPeer: 4 });
      const peer = fakeId();
      const many = Array.from({ length: 40 }, (_, i) => ({ host: '203.0.113.1', port: 1000 + i }));
      t.addAddresses(peer, many);
      expect(t.addressesOf(peer)).toEqual(many.slice(0, 4));
      t.addAddresses(peer, [{ host: '198.51.100.1', port: 1 }]);
      expect(t.addressesOf(peer)).toEqual([{ host: '198.51.100.1', port: 1 }, ...many.slice(0, 3)]);
    })();
  });
});
