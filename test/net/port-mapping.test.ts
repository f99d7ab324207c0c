/**
 * `PortMapper` (src/net/port-mapper.ts) and `GossipOptions.portMapping` (PROTOCOL.md §9.7) over real
 * UDP sockets, against a small RFC 6886 responder on 127.0.0.1. Nothing leaves loopback: the
 * "external" addresses are documentation addresses the responder reports, and nothing dials them.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { Gossip, parseGossipOptions } from '../../src/net/gossip.js';
import type { PortMapping } from '../../src/net/nat-pmp.js';
import { PortMapper } from '../../src/net/port-mapper.js';
import { Closer } from '../helpers/net.js';

const closer = new Closer();
const sockets: Socket[] = [];
afterEach(async () => {
  await closer.closeAll();
  for (const s of sockets.splice(0)) s.close();
});

interface MapRequest {
  internalPort: number;
  suggested: number;
  lifetime: number;
}

/** A NAT-PMP responder on 127.0.0.1: `external` as its address, mapping every TCP port to `mappedPort`. */
async function responder(external: number[], mappedPort = 40_000) {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const requests: MapRequest[] = [];
  let addressRequests = 0;
  socket.on('message', (msg, from) => {
    const reply = (b: Buffer) => socket.send(b, from.port, from.address);
    const header = (op: number, n: number) => {
      const b = Buffer.alloc(n);
      b[1] = 128 + op;
      b.writeUInt32BE(1000 + requests.length, 4);
      return b;
    };
    if (msg.length === 2 && msg[0] === 0 && msg[1] === 0) {
      addressRequests++;
      const b = header(0, 12);
      Buffer.from(external).copy(b, 8);
      reply(b);
    } else if (msg.length === 12 && msg[1] === 2) {
      const r = {
        internalPort: msg.readUInt16BE(4),
        suggested: msg.readUInt16BE(6),
        lifetime: msg.readUInt32BE(8),
      };
      requests.push(r);
      const b = header(2, 16);
      b.writeUInt16BE(r.internalPort, 8);
      b.writeUInt16BE(r.lifetime === 0 ? 0 : mappedPort, 10);
      b.writeUInt32BE(r.lifetime, 12);
      reply(b);
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { gateway: `127.0.0.1:${socket.address().port}`, requests, addressRequests: () => addressRequests };
}

describe('PortMapper', () => {
  it('maps over a real socket, reports it, and deletes it on close', async () => {
    const gw = await responder([203, 0, 113, 5]);
    const [host, port] = gw.gateway.split(':') as [string, string];
    const mapper = new PortMapper({ gateway: { host, port: Number(port) }, internalPort: 4321 });
    const mapped = await new Promise<PortMapping>((resolve) => mapper.once('mapped', resolve));
    expect(mapped).toEqual({ host: '203.0.113.5', port: 40_000, lifetimeMs: 7_200_000 });
    expect(mapper.stats).toMatchObject({ state: 'mapped', gateway: gw.gateway, mapped: 1, requests: 2 });
    expect(gw.requests).toEqual([{ internalPort: 4321, suggested: 4321, lifetime: 7200 }]);
    await mapper.close();
    expect(gw.requests.at(-1)).toEqual({ internalPort: 4321, suggested: 0, lifetime: 0 });
    expect(mapper.state).toBe('closed');
    await mapper.close(); // idempotent
  });

  it('closes at once, sending nothing, before anything was mapped', async () => {
    const gw = await responder([203, 0, 113, 5]);
    const [host, port] = gw.gateway.split(':') as [string, string];
    const mapper = new PortMapper({ gateway: { host, port: Number(port) }, internalPort: 4321 });
    await mapper.close();
    expect(mapper.state).toBe('closed');
    expect(gw.addressRequests()).toBe(0);
  });
});

// Gossip's use of it (map once behind a NAT, advertise the mapping first, delete it on close) needs a
// listener on a private address behind a router: test/nat/port-mapping.test.ts, in the NAT lab.
describe('GossipOptions.portMapping', () => {
  it('stays off with portMapping: false, an advertise list, or a loopback listener', async () => {
    const gw = await responder([203, 0, 113, 5]);
    const off = closer.add(await Gossip.create({ listen: '127.0.0.1:0', portMapping: false }));
    const listed = closer.add(
      await Gossip.create({
        listen: '127.0.0.1:0',
        portMapping: { gateway: gw.gateway },
        advertise: ['192.0.2.7:7000'],
      }),
    );
    const loop = closer.add(
      await Gossip.create({ listen: '127.0.0.1:0', portMapping: { gateway: gw.gateway } }),
    );
    for (const g of [off, listed, loop]) g.setExternalHost('198.51.100.1');
    expect(off.stats.portMapping).toEqual({ state: 'off' });
    expect(listed.stats.portMapping).toEqual({ state: 'not-needed' });
    expect(loop.stats.portMapping).toEqual({ state: 'not-needed' });
    await Promise.all([off.close(), listed.close(), loop.close()]);
    expect(gw.addressRequests()).toBe(0);
  });

  it('takes the gateway as "host", "host:port" or { host, port? } (port default 5351)', () => {
    for (const gateway of ['10.0.0.1', '10.0.0.1:5351', { host: '10.0.0.1' }]) {
      expect(parseGossipOptions({ portMapping: { gateway } }).portMapping).toEqual({
        gateway: { host: '10.0.0.1', port: 5351 },
      });
    }
    expect(parseGossipOptions({}).portMapping).toBe(true);
    // Not looked up by name: a name is refused.
    expect(() => parseGossipOptions({ portMapping: { gateway: 'router.local' } })).toThrow(/IPv4/);
  });

  it('rejects a bad portMapping option', async () => {
    await expect(Gossip.create({ listen: null, portMapping: { gateway: 'nope' } })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
    await expect(
      Gossip.create({ listen: null, portMapping: { gatway: '10.0.0.1:5351' } as never }),
    ).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
