/**
 * The application's gate in the transport (ARCHITECTURE.md "Application gate"), on two real Gossip
 * nodes on 127.0.0.1: the firewall is asked once the handshake proved the remote's id, inbound and
 * outbound, and before a dial; a refused connection never reaches a topic; `ban` drops a neighbour and
 * refuses it until `unban`.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, it } from 'vitest';
import { keyPairFromSeed } from '../../src/crypto/keys.js';
import { TopicId } from '../../src/crypto/topic.js';
import { Gossip, type GossipOptions } from '../../src/net/gossip.js';
import type { FirewallPeer } from '../../src/net/transport.js';
import { Closer, until } from '../helpers/net.js';

const closer = new Closer();
afterEach(() => closer.closeAll());

const node = async (o: GossipOptions = {}): Promise<Gossip> =>
  closer.add(await Gossip.create({ listen: '127.0.0.1:0', ...o }));
const peer = (g: Gossip) => ({ id: g.id, addresses: g.addresses() });
const TOPIC = TopicId.fromName('firewall test');

describe('Gossip firewall', () => {
  it('refuses an inbound peer once its handshake proves its id; the topic never hears of it', async () => {
    const keyPair = keyPairFromSeed(randomBytes(32));
    const refused = bytesToHex(keyPair.publicKey);
    const asked: FirewallPeer[] = [];
    const a = await node({
      firewall: (p) => {
        asked.push(p);
        return p.id === refused;
      },
    });
    const b = await node({ keyPair });
    const ta = a.subscribe(TOPIC);
    const ups: string[] = [];
    ta.on('neighbor-up', (p) => ups.push(p));
    const tb = b.subscribe(TOPIC, { bootstrap: [peer(a)] });
    await until(() => a.stats.transport.firewall.inbound === 1, 10_000, 'inbound refusal');
    expect(asked).toEqual([{ id: refused, address: { host: '127.0.0.1', port: expect.any(Number) } }]);
    await until(() => !b.isJoining(tb.key, a.id), 10_000, 'b gave up');
    expect(ups).toEqual([]);
    expect(ta.neighbors()).toEqual([]);
    expect(tb.neighbors()).toEqual([]);
  });

  it('asks before dialing (no socket for a refused peer), and a throwing firewall refuses', async () => {
    const b = await node();
    let calls = 0;
    const a = await node({
      firewall: () => {
        calls++;
        throw new Error('a bug in the app');
      },
    });
    const ta = a.subscribe(TOPIC, { bootstrap: [peer(b)] });
    await until(() => a.stats.transport.firewall.dials === 1, 10_000, 'dial refused');
    expect(calls).toBe(1);
    expect(a.stats.transport.firewall.errors).toBe(1);
    expect(a.stats.transport.dialAttempts).toBe(0);
    expect(a.stats.transport.dialsRefused.firewall).toBe(1);
    expect(b.stats.transport.inboundAccepted).toBe(0);
    expect(ta.neighbors()).toEqual([]);
  });

  it('ban drops a neighbour at once and refuses it both ways until unban', async () => {
    const a = await node();
    const b = await node();
    const ta = a.subscribe(TOPIC);
    const tb = b.subscribe(TOPIC, { bootstrap: [peer(a)] });
    await Promise.all([ta.joined(), tb.joined()]);
    a.ban(b.id);
    await until(() => ta.neighbors().length === 0 && tb.neighbors().length === 0, 10_000, 'dropped');
    expect(a.isBanned(b.id)).toBe(true);
    tb.joinPeers([peer(a)]);
    await until(() => a.stats.transport.firewall.inbound === 1, 10_000, 'inbound refusal');
    ta.joinPeers([peer(b)]);
    await until(() => a.stats.transport.firewall.dials === 1, 10_000, 'dial refused');
    expect(ta.neighbors()).toEqual([]);
    a.unban(b.id);
    expect(a.isBanned(b.id)).toBe(false);
    // The refused connection must be gone at b first: frames sent while a link is closing wait for
    // it, and are not dialed anew when it ends.
    await until(() => b.stats.transport.connections === 0, 10_000, "b's refused link closed");
    tb.joinPeers([peer(a)]);
    await until(() => ta.neighbors().includes(b.id), 10_000, 'back after unban');
    expect(() => a.ban('xyz')).toThrow(RangeError);
  });
});
