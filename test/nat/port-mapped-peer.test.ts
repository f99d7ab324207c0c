/**
 * The library's port-mapping clients (NAT-PMP: src/net/nat-pmp.ts, port-mapper.ts; UPnP IGD: upnp.ts,
 * upnp-mapper.ts; PROTOCOL.md §9.7) behind a real router of the NAT lab (root only; topologies C and
 * C-UPnP of test/helpers/nat-topologies.ts, whose routers run test/helpers/nat-pmp-responder.ts and
 * upnp-responder.ts): a peer at home, started with the front door's defaults, learns
 * from the DHT that it is behind a NAT, maps its listener, and advertises the mapping first; a public
 * peer joining the topic later dials that mapped address directly; the mapping is gone once the home
 * peer closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Child } from '../helpers/child.js';
import { killAll } from '../helpers/child.js';
import { natLabUnavailable } from '../helpers/nat-lab.js';
import { createTopologyLab, portMappings, TOPOLOGIES, type TopologyLab } from '../helpers/nat-topologies.js';

const noLab = await natLabUnavailable();
if (noLab) console.log(`test/nat/port-mapped-peer.test.ts skipped: ${noLab}`);

describe.skipIf(noLab !== undefined).each([
  { topology: 'C', protocol: 'nat-pmp' },
  { topology: 'C-UPnP', protocol: 'upnp' },
])('a peer behind a router that maps ports by $protocol (topology $topology)', ({ topology, protocol }) => {
  let t: TopologyLab;
  let home: Child;
  let pub: Child;
  const send = (c: Child, command: Record<string, unknown>) => c.write(`${JSON.stringify(command)}\n`);

  beforeAll(async () => {
    t = await createTopologyLab(TOPOLOGIES.find((x) => x.name === topology)!);
    const args = (i: number) => [
      t.bootstrap.join(','),
      ...(t.binds[i] ? [t.binds[i]!] : []),
      '--await-mapping',
    ];
    [home, pub] = t.namespaces.map((ns, i) => t.lab.spawn(ns, 'test/helpers/nat-peer.ts', args(i))) as [
      Child,
      Child,
    ];
    await Promise.all([home, pub].map((c) => c.event((e) => e.type === 'ready', 'ready', 60_000)));
  }, 90_000);

  afterAll(async () => {
    await t?.close();
    killAll();
  });

  it('is dialed at its mapped address, and the mapping is deleted on close', async () => {
    const wan = t.lab.homes[0]!.wan;
    send(home, { cmd: 'start' });
    const started = await home.event((e) => e.type === 'started', 'home started', 15_000);
    expect(started.portMapping).toBe('mapped');
    const advertised = started.addresses as { host: string; port: number }[];
    expect(advertised[0]!.host).toBe(wan);
    const mapped = await portMappings(t.lab);
    expect(mapped).toHaveLength(1);
    expect(mapped![0]).toMatchObject({ external: advertised[0]!.port, internal: advertised[1]!.port });

    const topic = `port-mapped-${Math.random().toString(36).slice(2)}`;
    send(home, { cmd: 'join', topic });
    await home.event((e) => e.type === 'published', 'home published', 20_000);
    send(pub, { cmd: 'start' });
    await pub.event((e) => e.type === 'started', 'public started', 15_000);
    send(pub, { cmd: 'join', topic });
    await Promise.all([home, pub].map((c) => c.event((e) => e.type === 'joined', 'joined', 20_000)));
    // The public peer's socket went to the mapped address on the router, and connected.
    const into = pub.events.filter((e) => e.type === 'dial-connected' && e.host === wan);
    expect(into.map((e) => e.port)).toContain(advertised[0]!.port);

    send(home, { cmd: 'stop' });
    const stopped = await home.event((e) => e.type === 'stopped', 'home stopped', 15_000);
    expect(stopped.portMapping).toMatchObject({
      state: 'mapped',
      protocol,
      [protocol === 'upnp' ? 'upnp' : 'natPmp']: { mapped: 1 },
    });
    expect(await portMappings(t.lab)).toEqual([]);
    send(pub, { cmd: 'stop' });
    await pub.event((e) => e.type === 'stopped', 'public stopped', 15_000);
  }, 120_000);

  it('`gtt join --json` says so: an addresses event naming the protocol, and no mapping left after it leaves', async () => {
    const topic = `port-mapped-cli-${Math.random().toString(36).slice(2)}`;
    const gtt = t.lab.spawn(t.namespaces[0]!, 'src/cli/main.ts', [
      'join',
      topic,
      '--bootstrap',
      t.bootstrap[0]!,
      '--json',
    ]);
    const e = await gtt.event((x) => x.event === 'addresses', 'the addresses event', 20_000);
    expect(e.portMapping).toBe(protocol);
    expect((e.addresses as string[])[0]).toMatch(
      new RegExp(`^${t.lab.homes[0]!.wan.replaceAll('.', '\\.')}:\\d+$`),
    );
    expect(await portMappings(t.lab)).toHaveLength(1);
    gtt.end(); // end of input: leaves
    await gtt.event((x) => x.event === 'left', 'left', 15_000);
    expect((await gtt.exited(15_000)).code).toBe(0);
    expect(await portMappings(t.lab)).toEqual([]);
  }, 60_000);
});
