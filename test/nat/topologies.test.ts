/**
 * The plumbing of the NAT topologies of `npm run bench:nat` (test/helpers/nat-topologies.ts; root
 * only): TCP connects between namespaces with Node one-liners, no gossip. A host at home
 * cannot reach another home's private address; every home reaches the lab DHT's hosts; a 1:1 NAT
 * forwards inbound connections to its VM, and the VM's own connections come from its public address; two
 * hosts behind one NAT reach each other on their LAN; a MASQUERADE router drops unsolicited inbound; the port-randomising homes are built with --random-fully.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { killAll } from '../helpers/child.js';
import { natLabUnavailable } from '../helpers/nat-lab.js';
import {
  createTopologyLab,
  PUBLIC_PEER_HOSTS,
  TOPOLOGIES,
  type TopologyLab,
} from '../helpers/nat-topologies.js';

const noLab = await natLabUnavailable();
if (noLab) console.log(`test/nat/topologies.test.ts skipped: ${noLab}`);

const PORT = 7001;
/**
 * A server on every address of its namespace: it closes local probes (127.0.0.1), prints the peer
 * address of the first other connection and exits; or exits after 8 s (within `exec`'s budget).
 */
const SERVER = `require('net').createServer(c=>{if(c.remoteAddress==='127.0.0.1')return c.end();console.log(c.remoteAddress);process.exit(0)}).listen(${PORT},'0.0.0.0');setTimeout(()=>process.exit(0),8000)`;
/** Connects to host:port; prints `ok` or the error code (a silent drop is `timeout` after 1.5 s). */
const CLIENT = `const c=require('net').connect(+process.argv[2],process.argv[1]);const t=setTimeout(()=>{console.log('timeout');process.exit(0)},1500);c.on('connect',()=>{console.log('ok');clearTimeout(t);c.destroy()});c.on('error',e=>{console.log(e.code);clearTimeout(t)})`;

const topology = (name: string) => TOPOLOGIES.find((t) => t.name === name)!;

describe.skipIf(noLab !== undefined)('NAT lab topologies (plumbing only)', () => {
  const labs: TopologyLab[] = [];
  afterAll(async () => {
    await Promise.all(labs.map((l) => l.close()));
    killAll();
  });
  const build = async (name: string) => {
    const t = await createTopologyLab(topology(name));
    labs.push(t);
    return t;
  };
  const connect = async (t: TopologyLab, ns: string, host: string) =>
    (await t.lab.exec(ns, [process.execPath, '-e', CLIENT, host, String(PORT)])).trim();
  /** Starts a server in `ns`; resolves once it listens, with the address of its first remote peer to come. */
  const serve = async (t: TopologyLab, ns: string) => {
    const server = t.lab.exec(ns, [process.execPath, '-e', SERVER]).then((out) => out.trim());
    server.catch(() => {});
    // Ready once a local connect succeeds (each try waits for the answer: refused until it listens).
    while ((await connect(t, ns, '127.0.0.1')) !== 'ok') {}
    return { seen: server };
  };

  it('A4: a home cannot reach another home’s private address, and every home reaches the DHT', async () => {
    const t = await build('A4');
    const [h0, h1] = t.lab.homes;
    await serve(t, h1!.hosts[0]!);
    expect(await connect(t, h0!.hosts[0]!, h1!.addresses[0]!)).toBe('timeout');
    // Nor its router's WAN address (unsolicited inbound is dropped).
    expect(await connect(t, h0!.hosts[0]!, h1!.wan)).toBe('timeout');
    for (const home of t.lab.homes) {
      const inet = await serve(t, t.lab.inet);
      expect(await connect(t, home.hosts[0]!, PUBLIC_PEER_HOSTS[0]!)).toBe('ok');
      expect(await inet.seen).toBe(home.wan); // MASQUERADE
    }
    // The internet has no route to any LAN.
    expect(await connect(t, t.lab.inet, h0!.addresses[0]!)).toMatch(/ENETUNREACH|EHOSTUNREACH/);
    expect(t.bootstrap).toHaveLength(3);
    // The failed private dial left its router by the WAN and was counted there.
    expect((await t.lab.privateDialsOut())[0]).toBeGreaterThanOrEqual(1);
  });

  it('D: the 1:1 NAT forwards inbound to the VM and shows it from its public address', async () => {
    const t = await build('D');
    const home = t.lab.homes[0]!;
    const vm = await serve(t, home.hosts[0]!);
    expect(await connect(t, t.lab.inet, home.publicAddress!)).toBe('ok');
    // The VM saw the internet host itself (DNAT, no SNAT on the way in).
    expect(await vm.seen).toBe('203.0.113.254');
    const inet = await serve(t, t.lab.inet);
    expect(await connect(t, home.hosts[0]!, PUBLIC_PEER_HOSTS[0]!)).toBe('ok');
    expect(await inet.seen).toBe(home.publicAddress);
  });

  it('L: two hosts behind one NAT reach each other on their LAN', async () => {
    const t = await build('L');
    const home = t.lab.homes[0]!;
    const other = await serve(t, home.hosts[1]!);
    expect(await connect(t, home.hosts[0]!, home.addresses[1]!)).toBe('ok');
    expect(await other.seen).toBe(home.addresses[0]);
  });

  it('S: both homes are behind port-randomising NATs', async () => {
    const t = await build('S');
    for (const home of t.lab.homes) {
      expect(await connect(t, home.hosts[0]!, PUBLIC_PEER_HOSTS[0]!)).not.toBe('timeout');
      const rules = await t.lab.exec(home.router, ['iptables', '-t', 'nat', '-S', 'POSTROUTING']);
      expect(rules).toContain('--random-fully');
    }
  });
});
