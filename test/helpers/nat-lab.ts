/**
 * The NAT lab: Linux network namespaces wired as a small internet with home routers in front of
 * hosts, for tests and benches of what a peer behind a NAT sees (root only; `natLabUnavailable` says
 * why not).
 *
 * ```
 *   inet (the "internet")                 router i                         home i, host j
 *   bridge br0: 203.0.113.254/24,      ── wan 203.0.113.<1+i>    lan 10.0.<1+i>.1 ── eth 10.0.<1+i>.<2+j>
 *   and /32s 192.0.2.x, 198.51.100.x,     default via 203.0.113.254  (a bridge: a     default via
 *   203.0.113.x (DHT nodes, public        NAT on wan (below)          home's hosts     10.0.<1+i>.1
 *   peers); route to 203.0.113.0/24 only                               share a LAN)
 * ```
 * - The internet uses documentation ranges (RFC 5737) only. `inetHosts` are /32s on the `inet`
 *   namespace's bridge, so services there are many hosts in distinct /16s without more links. (Not
 *   on its loopback: libtorrent sends only from a socket whose interface has a route to the
 *   destination, and lo has none to 203.0.113.1.) It has no route to any 10.0.x.0/24 and does not
 *   forward: a packet to a private address from a home is dropped silently there, as an ISP would.
 * - Each router forwards LAN → internet and replies back (conntrack ESTABLISHED/RELATED), host to
 *   host on its LAN, drops every other forwarded packet, and drops unsolicited packets to itself on
 *   `wan` (a home router's firewall). Its NAT (`HomeOptions.nat`): 'masquerade' keeps the source port
 *   when it is free; 'random-fully' (MASQUERADE --random-fully) picks a random port per connection,
 *   the port-randomising, symmetric-like kind; 'one-to-one' is a cloud's 1:1 NAT: a public address of
 *   its own (203.0.113.<101+i>) DNATed to its first host, which it also SNATs to, and inbound to that
 *   host forwarded (an open security group). Each router counts new TCP connections it sends out of
 *   `wan` to a private range (`privateDialsOut`).
 * - `HomeOptions.portMapping: 'nat-pmp'`: the router runs a NAT-PMP server (RFC 6886,
 *   nat-pmp-responder.ts) on its LAN address, UDP 5351, that adds a DNAT rule (and its FORWARD accept)
 *   per mapping a LAN host asks for; `Home.portMapper` is that child.
 * - `HomeOptions.portMapping: 'upnp'`: the router runs a UPnP IGD v1 (upnp-responder.ts): SSDP on
 *   UDP 1900, joined to 239.255.255.250 on its LAN address, and its description and WANIPConnection:1
 *   control on `http://<lan address>:5000`, adding the same rules per AddPortMapping.
 * - The host namespace gets no interface, address or route into the lab. Namespace names start with
 *   `gtt-lab-<pid>-<n>-`; `close()` kills the processes started here (by pid) and deletes exactly those
 *   namespaces, and an exit hook deletes any left if the test process dies first.
 */
import { execFile, execFileSync } from 'node:child_process';
import { Child } from './child.js';

/** Budget of one `ip`/`iptables` command. */
const COMMAND_TIMEOUT_MS = 10_000;

/** The router's address on the internet: every home host is seen from there. */
export const ROUTER_WAN = '203.0.113.1';
/** The home host's own (private) address. */
export const HOME_ADDRESS = '10.0.1.2';
const INET_LINK = '203.0.113.254';

const live = new Set<string>();
let hooked = false;
let labs = 0;

function run(argv: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: COMMAND_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${argv.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * Undefined when the lab can be built here (root, `ip`, `iptables`, a namespace can be created), else
 * a one-line reason.
 */
export async function natLabUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'the NAT lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the NAT lab needs root (network namespaces, iptables)';
  for (const tool of ['ip', 'iptables']) {
    try {
      await run(['sh', '-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed (Debian: iproute2, iptables)`;
    }
  }
  const probe = `gtt-lab-${process.pid}-probe`;
  try {
    await run(['ip', 'netns', 'add', probe]);
    await run(['ip', 'netns', 'exec', probe, 'iptables', '-L', '-n']);
  } catch (error) {
    return `cannot create a network namespace with iptables: ${(error as Error).message.split('\n')[0]}`;
  } finally {
    await run(['ip', 'netns', 'del', probe]).catch(() => {});
  }
  return undefined;
}

/** How a home router translates: port-preserving MASQUERADE, port-randomising, or a cloud's 1:1 NAT. */
export type NatKind = 'masquerade' | 'random-fully' | 'one-to-one';

/** One home (or cloud VPC): a router and the hosts on its LAN. */
export interface HomeOptions {
  /** Default 'masquerade'. 'one-to-one' maps a public address of its own to its first host. */
  readonly nat?: NatKind;
  /** Hosts on its LAN (default 1). */
  readonly hosts?: number;
  /**
   * A port-mapping server on the router (default none): NAT-PMP on `<lan address>:5351`, or a UPnP
   * IGD (SSDP on UDP 1900, HTTP on `<lan address>:5000`).
   */
  readonly portMapping?: PortMappingKind;
}

/** The port-mapping servers a home router can run. */
export type PortMappingKind = 'nat-pmp' | 'upnp';

/** The UDP port of a NAT-PMP server (RFC 6886 §3). */
export const NAT_PMP_PORT = 5351;
/** SSDP's multicast group and UDP port (UPnP Device Architecture 1.0 §1). */
export const SSDP_GROUP = '239.255.255.250';
export const SSDP_PORT = 1900;
/** The TCP port of the lab IGD's description and control URLs (on the router's LAN address). */
export const UPNP_HTTP_PORT = 5000;

/** A home as built: namespace names and addresses. */
export interface Home {
  readonly nat: NatKind;
  readonly router: string;
  /** The router's internet address (203.0.113.1 for the first home, .2 for the second, …). */
  readonly wan: string;
  /** The LAN, `10.0.<i + 1>.0/24`. */
  readonly subnet: string;
  /** Namespaces of its hosts, and their private addresses (`10.0.<i + 1>.<2 + j>`). */
  readonly hosts: readonly string[];
  readonly addresses: readonly string[];
  /** 'one-to-one': the public address (203.0.113.101, …) DNATed to `addresses[0]` and SNATed back. */
  readonly publicAddress?: string;
  /** The router's LAN address (`10.0.<i + 1>.1`), its hosts' default gateway. */
  readonly gateway: string;
  readonly portMapping?: PortMappingKind;
  /**
   * The port-mapping server running in `router` (nat-pmp-responder.ts or upnp-responder.ts; JSON
   * events on stdout, `{"cmd":"list"}` on stdin), started once the router's rules exist and ready.
   */
  readonly portMapper?: Child;
}

export interface NatLabOptions {
  /** Addresses of the internet's hosts (RFC 5737 documentation ranges only), e.g. DHT nodes. */
  readonly inetHosts: readonly string[];
  /** The homes behind their routers (default: one masquerade home with one host). At most 9. */
  readonly homes?: readonly HomeOptions[];
}

export interface NatLab {
  /** Namespace names. */
  readonly inet: string;
  /** The first home's router and first host (the single-home lab's names). */
  readonly router: string;
  readonly home: string;
  readonly homes: readonly Home[];
  /** Runs `node --import tsx script args` inside namespace `ns`; killed by `close()` if still running. */
  spawn(ns: string, script: string, args?: readonly string[]): Child;
  /** Runs a command inside namespace `ns`; resolves with its stdout. */
  exec(ns: string, argv: readonly string[]): Promise<string>;
  /**
   * New TCP connections each router sent out of its WAN to a private (RFC 1918) destination, which
   * no internet host can answer (counted in its nat table, which sees a connection's first packet only).
   */
  privateDialsOut(): Promise<number[]>;
  /** Kills what `spawn` started and deletes the namespaces. Idempotent. */
  close(): Promise<void>;
}

/** A home while the lab builds it (its port mapper is set once started). */
type BuiltHome = { -readonly [K in keyof Home]: Home[K] };

const DOCUMENTATION = /^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}$/;
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
const PRIVATE_CHAIN = 'gtt-private';
const MAX_HOMES = 9;

/** Builds the lab (see the module comment). @throws Error when a command fails (the lab is removed). */
export async function createNatLab({ inetHosts, homes: homeOptions = [{}] }: NatLabOptions): Promise<NatLab> {
  if (homeOptions.length < 1 || homeOptions.length > MAX_HOMES) {
    throw new RangeError(`homes: expected 1..${MAX_HOMES}, got ${homeOptions.length}`);
  }
  const prefix = `gtt-lab-${process.pid}-${labs++}`;
  const inet = `${prefix}-inet`;
  const homes: BuiltHome[] = homeOptions.map((o, i) => {
    const nat = o.nat ?? 'masquerade';
    const count = o.hosts ?? 1;
    const hosts = Array.from({ length: count }, (_, j) =>
      i === 0 && j === 0 ? `${prefix}-home` : `${prefix}-home${i}-${j}`,
    );
    return {
      nat,
      gateway: `10.0.${1 + i}.1`,
      ...(o.portMapping ? { portMapping: o.portMapping } : {}),
      router: i === 0 ? `${prefix}-rtr` : `${prefix}-rtr${i}`,
      wan: `203.0.113.${1 + i}`,
      subnet: `10.0.${1 + i}.0/24`,
      hosts,
      addresses: hosts.map((_, j) => `10.0.${1 + i}.${2 + j}`),
      ...(nat === 'one-to-one' ? { publicAddress: `203.0.113.${101 + i}` } : {}),
    };
  });
  const taken = new Set([INET_LINK, ...homes.flatMap((h) => [h.wan, h.publicAddress ?? h.wan])]);
  for (const h of inetHosts) {
    if (!DOCUMENTATION.test(h) || taken.has(h))
      throw new Error(`inet host ${h} is not a free documentation address`);
  }
  const namespaces = [inet, ...homes.flatMap((h) => [h.router, ...h.hosts])];
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const ns of live) {
        try {
          execFileSync('ip', ['netns', 'del', ns], { timeout: COMMAND_TIMEOUT_MS, stdio: 'ignore' });
        } catch {}
      }
    });
  }
  const children = new Set<Child>();
  const ip = (ns: string, ...args: string[]) => run(['ip', '-n', ns, ...args]);
  const inNs = (ns: string, ...argv: string[]) => run(['ip', 'netns', 'exec', ns, ...argv]);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // A port mapper first, by its stdin, so that it removes its rules itself (bounded: then killed).
      const mappers = homes.flatMap((h) => (h.portMapper ? [h.portMapper] : []));
      for (const m of mappers) m.end();
      await Promise.all(mappers.map((m) => m.outcome(5000)));
      for (const c of children) c.kill();
      await Promise.all([...children].map((c) => c.exit));
      for (const ns of [...namespaces].reverse()) {
        if (!live.has(ns)) continue;
        await run(['ip', 'netns', 'del', ns]).catch(() => {});
        live.delete(ns);
      }
    })();
    return closing;
  };
  try {
    for (const ns of namespaces) {
      await run(['ip', 'netns', 'add', ns]);
      live.add(ns);
      await ip(ns, 'link', 'set', 'lo', 'up');
    }
    // The internet is a bridge in `inet` that every router's `wan` joins. Links are created inside
    // the namespaces, so the host namespace never holds one.
    await ip(inet, 'link', 'add', 'br0', 'type', 'bridge');
    await ip(inet, 'addr', 'add', `${INET_LINK}/24`, 'dev', 'br0');
    for (const h of inetHosts) await ip(inet, 'addr', 'add', `${h}/32`, 'dev', 'br0');
    await ip(inet, 'link', 'set', 'br0', 'up');
    for (const [i, home] of homes.entries()) await buildHome(home, i);
  } catch (error) {
    await close();
    throw error;
  }

  async function buildHome(home: BuiltHome, i: number): Promise<void> {
    const r = home.router;
    await ip(r, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', `isp${i}`, 'netns', inet);
    await ip(inet, 'link', 'set', `isp${i}`, 'master', 'br0');
    await ip(inet, 'link', 'set', `isp${i}`, 'up');
    await ip(r, 'addr', 'add', `${home.wan}/24`, 'dev', 'wan');
    if (home.publicAddress) await ip(r, 'addr', 'add', `${home.publicAddress}/32`, 'dev', 'wan');
    await ip(r, 'link', 'set', 'wan', 'up');
    // The LAN is a bridge in the router: hosts of one home reach each other directly.
    await ip(r, 'link', 'add', 'lan', 'type', 'bridge');
    await ip(r, 'addr', 'add', `${home.gateway}/24`, 'dev', 'lan');
    await ip(r, 'link', 'set', 'lan', 'up');
    for (const [j, host] of home.hosts.entries()) {
      await ip(r, 'link', 'add', `l${j}`, 'type', 'veth', 'peer', 'name', 'eth', 'netns', host);
      await ip(r, 'link', 'set', `l${j}`, 'master', 'lan');
      await ip(r, 'link', 'set', `l${j}`, 'up');
      await ip(host, 'addr', 'add', `${home.addresses[j]}/24`, 'dev', 'eth');
      await ip(host, 'link', 'set', 'eth', 'up');
      await ip(host, 'route', 'add', 'default', 'via', home.gateway);
    }
    await ip(r, 'route', 'add', 'default', 'via', INET_LINK);
    await inNs(r, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
    const ipt = (...args: string[]) => inNs(r, 'iptables', ...args);
    // Counter only (no target): a connection's first packet to a private range leaving by the WAN.
    await ipt('-t', 'nat', '-N', PRIVATE_CHAIN);
    for (const range of PRIVATE_RANGES) await ipt('-t', 'nat', '-A', PRIVATE_CHAIN, '-d', range);
    await ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-p', 'tcp', '-j', PRIVATE_CHAIN);
    if (home.publicAddress) {
      const vm = home.addresses[0]!;
      await ipt(
        '-t',
        'nat',
        '-A',
        'PREROUTING',
        '-i',
        'wan',
        '-d',
        home.publicAddress,
        '-j',
        'DNAT',
        '--to-destination',
        vm,
      );
      await ipt(
        '-t',
        'nat',
        '-A',
        'POSTROUTING',
        '-o',
        'wan',
        '-s',
        vm,
        '-j',
        'SNAT',
        '--to-source',
        home.publicAddress,
      );
    }
    const masquerade = ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE'];
    await ipt(...masquerade, ...(home.nat === 'random-fully' ? ['--random-fully'] : []));
    await ipt('-P', 'FORWARD', 'DROP');
    await ipt('-A', 'FORWARD', '-i', 'lan', '-o', 'wan', '-j', 'ACCEPT');
    // Host to host on the LAN (a home switch): with br_netfilter loaded, bridged frames pass FORWARD too.
    await ipt('-A', 'FORWARD', '-i', 'lan', '-o', 'lan', '-j', 'ACCEPT');
    await ipt('-A', 'FORWARD', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
    if (home.publicAddress) {
      await ipt('-A', 'FORWARD', '-i', 'wan', '-o', 'lan', '-d', home.addresses[0]!, '-j', 'ACCEPT');
    }
    await ipt(
      '-A',
      'INPUT',
      '-i',
      'wan',
      '-m',
      'conntrack',
      '--ctstate',
      'ESTABLISHED,RELATED',
      '-j',
      'ACCEPT',
    );
    await ipt('-A', 'INPUT', '-i', 'wan', '-j', 'DROP');
    if (home.portMapping) {
      // The INPUT policy accepts already; the rules say which LAN traffic the router must take in
      // (for UPnP: the SSDP multicast to 239.255.255.250 and unicast to 1900, and the HTTP port).
      const inputs: [string, number][] =
        home.portMapping === 'nat-pmp'
          ? [['udp', NAT_PMP_PORT]]
          : [
              ['udp', SSDP_PORT],
              ['tcp', UPNP_HTTP_PORT],
            ];
      for (const [proto, port] of inputs) {
        await ipt('-A', 'INPUT', '-i', 'lan', '-p', proto, '--dport', String(port), '-j', 'ACCEPT');
      }
      const [script, what] =
        home.portMapping === 'nat-pmp'
          ? ['test/helpers/nat-pmp-responder.ts', 'the NAT-PMP responder']
          : ['test/helpers/upnp-responder.ts', 'the UPnP responder'];
      const mapper = spawn(r, script, [
        `${home.gateway}/24`,
        home.wan,
        'wan',
        'lan',
        ...(home.portMapping === 'upnp' ? [String(UPNP_HTTP_PORT)] : []),
      ]);
      const ready = await mapper.event(
        (e) => e.type === 'ready' || e.type === 'error',
        `${what} ready`,
        30_000,
      );
      if (ready.type !== 'ready') throw new Error(`${what}: ${String(ready.message)}`);
      home.portMapper = mapper;
    }
  }

  function spawn(ns: string, script: string, args: readonly string[] = []): Child {
    const child = new Child(script, args, {}, { netns: ns });
    children.add(child);
    void child.exit.then(() => children.delete(child));
    return child;
  }
  const privateDialsOut = () =>
    Promise.all(
      homes.map(async (h) => {
        const out = await inNs(h.router, 'iptables', '-t', 'nat', '-nvxL', PRIVATE_CHAIN);
        return out
          .split('\n')
          .slice(2)
          .reduce((sum, line) => sum + (Number(line.trim().split(/\s+/)[0]) || 0), 0);
      }),
    );
  return {
    inet,
    router: homes[0]!.router,
    home: homes[0]!.hosts[0]!,
    homes,
    privateDialsOut,
    spawn,
    exec: (ns, argv) => inNs(ns, ...argv),
    close,
  };
}
