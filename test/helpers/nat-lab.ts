/**
 * The NAT lab: Linux network namespaces wired as a small internet with a home router in front of a
 * host, for tests and benches of what a peer behind a NAT sees (root only; `natLabUnavailable` says
 * why not).
 *
 * ```
 *   inet (the "internet")                  router                          home
 *   isp 203.0.113.254, and /32s     ── wan 203.0.113.1        lan 10.0.1.1 ── eth 10.0.1.2
 *   192.0.2.x, 198.51.100.x,           default via 203.0.113.254             default via 10.0.1.1
 *   203.0.113.x (the DHT nodes)        MASQUERADE on wan
 *   route to 203.0.113.0/24 only
 * ```
 * - The internet uses documentation ranges (RFC 5737) only. `inetHosts` are /32s on the `inet`
 *   namespace's link to the router, so services there are many hosts in distinct /16s without more
 *   links. (Not on its loopback: libtorrent sends only from a socket whose interface has a route to
 *   the destination, and lo has none to 203.0.113.1.) It has no route to 10.0.1.0/24: the home is
 *   reachable only through the router's NAT.
 * - The router forwards home → internet and replies back (conntrack ESTABLISHED/RELATED), drops every
 *   other forwarded packet, and drops unsolicited packets to itself on `wan` (a home router's
 *   firewall). MASQUERADE keeps the source port when it is free (so `--random-fully` would be the
 *   port-randomising kind).
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
const ROUTER_LAN = '10.0.1.1';

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

export interface NatLabOptions {
  /** Addresses of the internet's hosts (RFC 5737 documentation ranges only), e.g. DHT nodes. */
  readonly inetHosts: readonly string[];
}

export interface NatLab {
  /** Namespace names. */
  readonly inet: string;
  readonly router: string;
  readonly home: string;
  /** Runs `node --import tsx script args` inside namespace `ns`; killed by `close()` if still running. */
  spawn(ns: string, script: string, args?: readonly string[]): Child;
  /** Runs a command inside namespace `ns`; resolves with its stdout. */
  exec(ns: string, argv: readonly string[]): Promise<string>;
  /** Kills what `spawn` started and deletes the namespaces. Idempotent. */
  close(): Promise<void>;
}

const DOCUMENTATION = /^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}$/;

/** Builds the lab (see the module comment). @throws Error when a command fails (the lab is removed). */
export async function createNatLab({ inetHosts }: NatLabOptions): Promise<NatLab> {
  for (const h of inetHosts) {
    if (!DOCUMENTATION.test(h) || h === ROUTER_WAN || h === INET_LINK) {
      throw new Error(`inet host ${h} is not a free documentation address`);
    }
  }
  const prefix = `gtt-lab-${process.pid}-${labs++}`;
  const inet = `${prefix}-inet`;
  const router = `${prefix}-rtr`;
  const home = `${prefix}-home`;
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
      for (const c of children) c.kill();
      await Promise.all([...children].map((c) => c.exit));
      for (const ns of [home, router, inet]) {
        if (!live.has(ns)) continue;
        await run(['ip', 'netns', 'del', ns]).catch(() => {});
        live.delete(ns);
      }
    })();
    return closing;
  };
  try {
    for (const ns of [inet, router, home]) {
      await run(['ip', 'netns', 'add', ns]);
      live.add(ns);
      await ip(ns, 'link', 'set', 'lo', 'up');
    }
    // Links are created inside the namespaces, so the host namespace never holds one.
    await ip(router, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', 'isp', 'netns', inet);
    await ip(router, 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth', 'netns', home);
    await ip(inet, 'addr', 'add', `${INET_LINK}/24`, 'dev', 'isp');
    for (const h of inetHosts) await ip(inet, 'addr', 'add', `${h}/32`, 'dev', 'isp');
    await ip(router, 'addr', 'add', `${ROUTER_WAN}/24`, 'dev', 'wan');
    await ip(router, 'addr', 'add', `${ROUTER_LAN}/24`, 'dev', 'lan');
    await ip(home, 'addr', 'add', `${HOME_ADDRESS}/24`, 'dev', 'eth');
    for (const [ns, dev] of [
      [inet, 'isp'],
      [router, 'wan'],
      [router, 'lan'],
      [home, 'eth'],
    ] as const) {
      await ip(ns, 'link', 'set', dev, 'up');
    }
    await ip(router, 'route', 'add', 'default', 'via', INET_LINK);
    await ip(home, 'route', 'add', 'default', 'via', ROUTER_LAN);
    await inNs(router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
    const ipt = (...args: string[]) => inNs(router, 'iptables', ...args);
    await ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE');
    await ipt('-P', 'FORWARD', 'DROP');
    await ipt('-A', 'FORWARD', '-i', 'lan', '-o', 'wan', '-j', 'ACCEPT');
    await ipt('-A', 'FORWARD', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
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
  } catch (error) {
    await close();
    throw error;
  }
  return {
    inet,
    router,
    home,
    spawn(ns, script, args = []) {
      const child = new Child(script, args, {}, { netns: ns });
      children.add(child);
      void child.exit.then(() => children.delete(child));
      return child;
    },
    exec: (ns, argv) => inNs(ns, ...argv),
    close,
  };
}
