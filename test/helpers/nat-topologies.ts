/**
 * The NAT topologies of `npm run bench:nat` and test/nat/topologies.test.ts, built on the NAT lab
 * (nat-lab.ts) with three of our DHT nodes on its internet (nat-dht.ts `serve`, in three /16s).
 *
 * - **A**: two peers, each behind its own home NAT (MASQUERADE, unsolicited inbound dropped); nobody
 *   public.
 * - **A4**: four peers behind four such NATs.
 * - **B**: A plus a peer on the internet, started first (the NATed peers start once it published).
 * - **B-late**: B in the other order: the NATed peers first, the public peer once they published.
 * - **C**: a peer behind a home NAT whose router answers NAT-PMP (RFC 6886; nat-pmp-responder.ts),
 *   started first, and a public peer: a client that maps its listen port is dialed at the router's
 *   WAN address.
 * - **C-UPnP**: C with a router that is a UPnP IGD (SSDP, WANIPConnection:1; upnp-responder.ts).
 * - **D**: a "cloud VM" behind a 1:1 NAT (its own public address DNATed to it, SNATed back) and a
 *   public peer.
 * - **L**: two peers behind the same NAT, on one LAN.
 * - **S**: two peers behind port-randomising NATs (MASQUERADE --random-fully) plus a public peer,
 *   started first.
 */
import type { Child } from './child.js';
import {
  createNatLab,
  type HomeOptions,
  NAT_PMP_PORT,
  type NatLab,
  SSDP_GROUP,
  SSDP_PORT,
  UPNP_HTTP_PORT,
} from './nat-lab.js';

export { NAT_PMP_PORT, SSDP_GROUP, SSDP_PORT, UPNP_HTTP_PORT };

export const DHT_HOSTS = ['192.0.2.20', '198.51.100.20', '203.0.113.20'];
/** Public peers bind here, one each. */
export const PUBLIC_PEER_HOSTS = ['203.0.113.30', '203.0.113.31'];

/** Where a peer runs: a host of a home (`[home, host]`) or the internet (`'public'`). */
export type Place = readonly [home: number, host: number] | 'public';

export interface Topology {
  readonly name: string;
  readonly homes: readonly HomeOptions[];
  readonly peers: readonly Place[];
  /** Start order: each stage's peers join once every peer of the stage before has published. */
  readonly stages: readonly (readonly number[])[];
}

const masq = (n: number): HomeOptions[] => Array.from({ length: n }, () => ({}));

export const TOPOLOGIES: readonly Topology[] = [
  {
    name: 'A',
    homes: masq(2),
    peers: [
      [0, 0],
      [1, 0],
    ],
    stages: [[0, 1]],
  },
  {
    name: 'A4',
    homes: masq(4),
    peers: [
      [0, 0],
      [1, 0],
      [2, 0],
      [3, 0],
    ],
    stages: [[0, 1, 2, 3]],
  },
  { name: 'B', homes: masq(2), peers: ['public', [0, 0], [1, 0]], stages: [[0], [1, 2]] },
  { name: 'B-late', homes: masq(2), peers: ['public', [0, 0], [1, 0]], stages: [[1, 2], [0]] },
  // The NATed peer first, so that the public peer finds its record and dials its mapped address.
  { name: 'C', homes: [{ portMapping: 'nat-pmp' }], peers: [[0, 0], 'public'], stages: [[0], [1]] },
  { name: 'C-UPnP', homes: [{ portMapping: 'upnp' }], peers: [[0, 0], 'public'], stages: [[0], [1]] },
  // The VM first, so that the public peer finds its record and dials it (at its advertised public
  // address, when it knows to advertise it) rather than being dialed.
  { name: 'D', homes: [{ nat: 'one-to-one' }], peers: [[0, 0], 'public'], stages: [[0], [1]] },
  {
    name: 'L',
    homes: [{ hosts: 2 }],
    peers: [
      [0, 0],
      [0, 1],
    ],
    stages: [[0, 1]],
  },
  {
    name: 'S',
    homes: [{ nat: 'random-fully' }, { nat: 'random-fully' }],
    peers: ['public', [0, 0], [1, 0]],
    stages: [[0], [1, 2]],
  },
];

export interface TopologyLab {
  readonly topology: Topology;
  readonly lab: NatLab;
  /** `host:port` of the lab's DHT nodes. */
  readonly bootstrap: readonly string[];
  /** Namespace of each peer, and the host a public peer binds (undefined at home). */
  readonly namespaces: readonly string[];
  readonly binds: readonly (string | undefined)[];
  close(): Promise<void>;
}

/** Builds `topology`'s lab and starts its DHT nodes. @throws Error when the lab cannot be built. */
export async function createTopologyLab(topology: Topology): Promise<TopologyLab> {
  const lab = await createNatLab({ inetHosts: [...DHT_HOSTS, ...PUBLIC_PEER_HOSTS], homes: topology.homes });
  try {
    const nodes: Child = lab.spawn(lab.inet, 'test/helpers/nat-dht.ts', ['serve', DHT_HOSTS.join(',')]);
    const ready = await nodes.event((e) => e.type === 'ready' || e.type === 'error', 'the lab DHT', 60_000);
    if (ready.type !== 'ready') throw new Error(`the lab DHT: ${String(ready.message)}`);
    const bootstrap = (ready.nodes as { host: string; port: number }[]).map((n) => `${n.host}:${n.port}`);
    let publics = 0;
    const binds = topology.peers.map((p) => (p === 'public' ? PUBLIC_PEER_HOSTS[publics++] : undefined));
    const namespaces = topology.peers.map((p) => (p === 'public' ? lab.inet : lab.homes[p[0]]!.hosts[p[1]]!));
    return { topology, lab, bootstrap, namespaces, binds, close: () => lab.close() };
  } catch (error) {
    await lab.close();
    throw error;
  }
}

/**
 * The mappings a home's port-mapping server holds (its `list` command, NAT-PMP or UPnP: protocol,
 * client, internal, external, lifetime, remaining, …); undefined for a home without one.
 * @throws Error when the responder does not answer within `timeoutMs`.
 */
export async function portMappings(
  lab: NatLab,
  home = 0,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>[] | undefined> {
  const mapper = lab.homes[home]!.portMapper;
  if (!mapper) return undefined;
  const id = ++listRequests;
  mapper.write(`${JSON.stringify({ cmd: 'list', id })}\n`);
  const list = await mapper.event(
    (e) => e.type === 'list' && e.id === id,
    'the port-mapping list',
    timeoutMs,
  );
  return list.mappings as Record<string, unknown>[];
}
let listRequests = 0;

/** Whether `host` is in an RFC 1918 range. */
export function isPrivate(host: string): boolean {
  const [a, b] = host.split('.').map(Number) as [number, number];
  return a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168);
}

/**
 * Whether a peer at `from` can open a connection to `host` by the lab's routing: a private address only
 * from its own LAN; a home router's WAN address only when the router maps ports (its peers advertise
 * the mapped port there); any other internet address (a public peer, a 1:1 NAT's public address)
 * from anywhere.
 */
export function reachable(lab: NatLab, from: Place, host: string): boolean {
  if (isPrivate(host)) return from !== 'public' && lab.homes[from[0]]!.addresses.includes(host);
  return !lab.homes.some((h) => h.wan === host && h.portMapping === undefined);
}
