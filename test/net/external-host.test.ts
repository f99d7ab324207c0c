/**
 * `Gossip.setExternalHost` (PROTOCOL.md §9.7–9.8): what a node advertises once it knows its host as
 * the network outside sees it, and which private addresses of other peers it then dials. Real
 * listeners and sockets on 127.0.0.1; the "external" hosts are documentation addresses, and a firewall
 * that refuses every address outside loopback (before any socket) sees which addresses a dial offers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TopicId } from '../../src/crypto/topic.js';
import { Gossip, type GossipOptions } from '../../src/net/gossip.js';
import { Closer, hex, randomKeyPair, until } from '../helpers/net.js';

const closer = new Closer();
afterEach(() => closer.closeAll());

/** Refuses, before any socket, every dial to an address outside loopback; remembers what it was offered. */
function loopbackOnly(offered: string[]): NonNullable<GossipOptions['firewall']> {
  return ({ address }) => {
    if (address === undefined || address.host === '127.0.0.1') return false;
    offered.push(`${address.host}:${address.port}`);
    return true;
  };
}

/**
 * A node behind the NAT 198.51.100.1 (LAN peers allowed by its policy) that dials `addresses` of a
 * stranger, through {@link loopbackOnly}: what its dial offered, once the dial settled.
 */
async function dialBehindNat(addresses: { host: string; port: number }[], settled: (g: Gossip) => boolean) {
  const offered: string[] = [];
  const g = await node({ transport: { addressPolicy: { private: true } }, firewall: loopbackOnly(offered) });
  g.setExternalHost('198.51.100.1');
  g.subscribe(TopicId.fromName('dial-behind-nat'), {
    bootstrap: [{ id: hex(randomKeyPair().publicKey), addresses }],
  });
  await until(() => settled(g));
  return { g, offered };
}

const node = async (o: GossipOptions = {}): Promise<Gossip> =>
  closer.add(await Gossip.create({ listen: '127.0.0.1:0', transport: { handshakeTimeoutMs: 2000 }, ...o }));

describe('Gossip.setExternalHost', () => {
  it('advertises host:listenPort first once reachable there, while it listens on no public address', async () => {
    const g = await node();
    const own = g.addresses();
    const port = own[0]!.port;
    // Known but not reachable (a NAT that lets nobody in): nothing to add.
    g.setExternalHost('203.0.113.9');
    expect(g.addresses()).toEqual(own);
    g.setExternalHost('203.0.113.9', { reachable: true });
    expect(g.addresses()).toEqual([{ host: '203.0.113.9', port }, ...own]);
    // Not public (here: private, then invalid): as if unknown.
    g.setExternalHost('10.1.2.3', { reachable: true });
    expect(g.addresses()).toEqual(own);
    g.setExternalHost('203.0.113.9', { reachable: true });
    g.setExternalHost('not a host', { reachable: true });
    expect(g.addresses()).toEqual(own);
  });

  it('leaves an explicit advertise list alone', async () => {
    const g = await node({ advertise: ['192.0.2.10:7000'] });
    g.setExternalHost('203.0.113.9', { reachable: true });
    expect(g.addresses()).toEqual([{ host: '192.0.2.10', port: 7000 }]);
  });

  it('tells neighbours joined afterwards the new list, in the handshake', async () => {
    const a = await node();
    const b = await node();
    a.setExternalHost('203.0.113.9', { reachable: true });
    const topic = TopicId.fromName('external-host');
    b.subscribe(topic);
    const t = a.subscribe(topic, { bootstrap: [{ id: b.id, addresses: b.addresses() }] });
    await t.joined();
    await until(() => b.peerAddresses(a.id).some((x) => x.host === '203.0.113.9'));
    expect(b.peerAddresses(a.id)[0]).toEqual({ host: '203.0.113.9', port: a.addresses()[1]!.port });
  });

  it("does not dial a private address of a peer behind another NAT: no socket, counted as 'other-lan'", async () => {
    const { g, offered } = await dialBehindNat(
      [{ host: '10.9.8.7', port: 4000 }],
      (x) => (x.stats.transport.dialsRefused['other-lan'] ?? 0) > 0,
    );
    expect(g.stats.transport.dialsRefused['other-lan']).toBe(1);
    expect(offered).toEqual([]);
    expect(g.stats.transport.dialAttempts).toBe(0);
  });

  it('dials it when the peer also advertises our external host (the same NAT)', async () => {
    // Offered public first, then the LAN address (the firewall refuses both: no socket).
    const { g, offered } = await dialBehindNat(
      [
        { host: '10.9.8.7', port: 4000 },
        { host: '198.51.100.1', port: 9 },
      ],
      (x) => x.stats.transport.dialsFailed > 0,
    );
    expect(g.stats.transport.dialsRefused['other-lan']).toBeUndefined();
    expect(offered).toEqual(['198.51.100.1:9', '10.9.8.7:4000']);
    expect(g.stats.transport.dialAttempts).toBe(0);
  });
});
