/**
 * The NAT lab (nat-lab.ts) set up for BEP 42: on its internet, three libtorrent nodes and three of our
 * nodes, each trio in three distinct /16s (192.0.2/24, 198.51.100/24, 203.0.113/24), and a free
 * address for one more node there. `probe` runs one `Dht` (test/helpers/nat-dht.ts) at home, behind
 * the router's NAT, or on the internet, and reports what it learned. Shared by
 * test/nat/external-address.test.ts and `npm run bench:interop`.
 */
import type { Child } from './child.js';
import { createLibtorrentTestnet, type LibtorrentTestnet, libtorrentAvailable } from './libtorrent.js';
import { createNatLab, type NatLab, natLabUnavailable } from './nat-lab.js';

export { HOME_ADDRESS, ROUTER_WAN } from './nat-lab.js';

const LIBTORRENT_HOSTS = ['192.0.2.10', '198.51.100.10', '203.0.113.10'];
const OUR_HOSTS = ['192.0.2.20', '198.51.100.20', '203.0.113.20'];
/** A node on the internet itself (not behind the NAT). */
export const PUBLIC_HOST = '203.0.113.30';
/** Budget for a probe to hear three votes (each reply carries one; a bootstrap walk is a few). */
export const LEARN_MS = 20_000;

/** What a probe printed first: the address it learned (`external`) or nothing in time (`timeout`). */
export interface Learned {
  type: 'external' | 'timeout' | 'error';
  address: { host: string; port: number; voters: number } | null;
  /** The probe's own UDP port (MASQUERADE keeps it when free). */
  localPort: number;
  message?: string;
}

export interface ExternalLab {
  readonly lab: NatLab;
  /** `host:port` of our three nodes. */
  readonly ours: string[];
  /** `host:port` of the three libtorrent nodes; undefined where libtorrent is unavailable. */
  readonly libtorrent: string[] | undefined;
  /** The child running our nodes (its stdin ending prints their stats). */
  readonly ourNodes: Child;
  /** Starts a probe in `ns` (default: home) bootstrapped to `bootstrap`, with extra Dht `options`. */
  probe(bootstrap: readonly string[], options?: Record<string, unknown>, ns?: string): Child;
  /** Its first report. */
  learned(child: Child): Promise<Learned>;
  close(): Promise<void>;
}

/** Why the lab cannot run here (not root, no iptables, …), or undefined. */
export const externalLabUnavailable = natLabUnavailable;
/** Why the libtorrent part cannot run here, or undefined. */
export const libtorrentUnavailable = libtorrentAvailable;

/** Builds the lab; with `libtorrent: false` (or libtorrent missing) without the libtorrent trio. */
export async function createExternalLab({ libtorrent = true } = {}): Promise<ExternalLab> {
  const lab = await createNatLab({ inetHosts: [...LIBTORRENT_HOSTS, ...OUR_HOSTS, PUBLIC_HOST] });
  let lt: LibtorrentTestnet | undefined;
  try {
    const ourNodes = lab.spawn(lab.inet, 'test/helpers/nat-dht.ts', ['serve', OUR_HOSTS.join(',')]);
    const ready = await ourNodes.event((e) => e.type === 'ready' || e.type === 'error', 'our DHT nodes');
    if (ready.type !== 'ready') throw new Error(`our DHT nodes: ${String(ready.message)}`);
    const ours = (ready.nodes as { host: string; port: number }[]).map((n) => `${n.host}:${n.port}`);
    if (libtorrent && (await libtorrentAvailable()) === undefined) {
      lt = await createLibtorrentTestnet({ nodes: 3, hosts: LIBTORRENT_HOSTS, netns: lab.inet });
    }
    return {
      lab,
      ours,
      libtorrent: lt?.nodes.map((n) => `${n.host}:${n.port}`),
      ourNodes,
      probe: (bootstrap, options = {}, ns = lab.home) =>
        lab.spawn(ns, 'test/helpers/nat-dht.ts', [
          'probe',
          bootstrap.join(','),
          String(LEARN_MS),
          JSON.stringify(options),
        ]),
      learned: async (child) =>
        (await child.event((e) => e.type !== 'ready', 'the probe', LEARN_MS + 15_000)) as unknown as Learned,
      close: async () => {
        await lt?.close();
        await lab.close();
      },
    };
  } catch (error) {
    await lt?.close();
    await lab.close();
    throw error;
  }
}
