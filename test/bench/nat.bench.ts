/**
 * `npm run bench:nat [-- --json] [-- --runs 10] [-- --topology A,B …] [-- --join-timeout-ms 20000]`
 *
 * Peers in the NAT lab's topologies (test/helpers/nat-topologies.ts: A, A4, B, B-late, C, C-UPnP, D, L, S; root
 * only, else a one-line reason and exit 0), each a child process in its own namespace running the
 * front door (test/helpers/nat-peer.ts) on the lab's DHT. Per topology one lab and one process per
 * peer serve every run; each run is a fresh node per peer on a fresh topic name:
 * - the stages start in order (each once the stage before has published a record, bounded); a run
 *   ends when every peer is joined or `--join-timeout-ms` after the last stage started;
 * - then every peer broadcasts one message, and the run waits (≤ 3 s) for each to reach every other
 *   peer (none when no peer joined: nothing can be delivered);
 * - every TCP socket a peer opens is seen from the child (`net.client.socket`) with its target.
 *
 * Figures per topology: `joined` runs (every peer joined), `joinMedianMs` (median over those runs of
 * the time from the last stage's start to the last peer joined; null when none), `delivered` /
 * `expected` messages (N·(N−1) per run), `privateDialsAcrossNetworks` (total over the runs: sockets to
 * an RFC 1918 address outside the dialer's own LAN; the table also shows what the routers counted
 * leaving their WAN), `dialsPerMinutePerUnreachablePeer` (over all runs: sockets that failed to a
 * target the dialer cannot reach by the lab's routing, a private address outside its LAN or a home
 * router's WAN address, divided by the peer-minutes of the peers that some member cannot reach at
 * any address they advertise, a run lasting from its first stage's start to its peers' stop; 0 when
 * there is no such peer). A run that joins fast is short: its few failed dials then weigh a lot
 * per minute, so the table shows the count too. `dialsIntoNat` (total): sockets that connected to a
 * NAT's public address, i.e. reached a peer behind it directly at the external address it advertises
 * (PROTOCOL.md §9.7; D's 1:1 NAT).
 *
 * A topology whose routers map ports (C, NAT-PMP; C-UPnP, a UPnP IGD) adds `directIntoMapping` (total: sockets from a
 * public peer that connected to such a router's WAN address, i.e. into a mapped port) and
 * `mappingsAfterClose` (total over the runs: the mappings the routers' responders still hold once
 * every peer of the run stopped; 0 when every node deleted its mapping on close).
 */

import type { Child } from '../helpers/child.js';
import { killAll } from '../helpers/child.js';
import { natLabUnavailable } from '../helpers/nat-lab.js';
import {
  createTopologyLab,
  isPrivate,
  portMappings,
  reachable,
  TOPOLOGIES,
  type Topology,
  type TopologyLab,
} from '../helpers/nat-topologies.js';
import { median, num, p95, printTable, round } from './stats.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const values = (name: string) => args.flatMap((a, i) => (args[i - 1] === `--${name}` ? a.split(',') : []));
const json = flag('json');
const runs = num(values('runs')[0], 10, 'runs', 1);
const joinTimeoutMs = num(values('join-timeout-ms')[0], 20_000, 'join-timeout-ms', 1000);
const names = values('topology');
const PUBLISH_WAIT_MS = 10_000;
const DELIVERY_WAIT_MS = 3000;
const STEP_MS = 30_000;

interface RunResult {
  joined: boolean;
  joinMs: number | undefined;
  delivered: number;
  expected: number;
  privateDials: number;
  routerPrivateDials: number;
  failedUnreachableDials: number;
  unreachablePeers: number;
  windowMs: number;
  dials: number;
  /** Dials that connected to a NAT's public address (a peer behind it reached directly, §9.7). */
  dialsIntoNat: number;
  /** Dials from a public peer that connected to a port-mapping router's WAN address. */
  dialsIntoMapping: number;
  /** Mappings the routers' responders hold after the run's peers stopped (0 without responders). */
  mappingsAfterClose: number;
}

type Event = Record<string, unknown>;
const ofRun = (child: Child, r: number) => child.events.filter((e) => e.run === r);
const send = (child: Child, command: Record<string, unknown>) => child.write(`${JSON.stringify(command)}\n`);

/** Resolves true once every child has an event of run `r` passing `match`, false after `ms`. */
async function all(children: readonly Child[], r: number, match: (e: Event) => boolean, ms: number) {
  const results = await Promise.allSettled(
    children.map((c) => c.event((e) => e.run === r && match(e), 'event', ms)),
  );
  return results.every((x) => x.status === 'fulfilled');
}

async function oneRun(t: TopologyLab, peers: readonly Child[], r: number): Promise<RunResult> {
  const { topology, lab } = t;
  const routers0 = await lab.privateDialsOut();
  for (const p of peers) send(p, { cmd: 'start' });
  if (!(await all(peers, r, (e) => e.type === 'started', STEP_MS))) throw new Error('a peer did not start');
  const addresses = peers.map((p) =>
    (ofRun(p, r).find((e) => e.type === 'started')!.addresses as { host: string }[]).map((a) => a.host),
  );
  const topic = `nat-bench-${topology.name}-${process.pid}-${r}-${Date.now()}`;
  const goAt: number[] = [];
  const firstGo = performance.now();
  let lastGo = firstGo;
  for (const [k, stage] of topology.stages.entries()) {
    lastGo = performance.now();
    for (const i of stage) {
      goAt[i] = lastGo;
      send(peers[i]!, { cmd: 'join', topic });
    }
    if (k < topology.stages.length - 1) {
      await all(
        stage.map((i) => peers[i]!),
        r,
        (e) => e.type === 'published',
        PUBLISH_WAIT_MS,
      );
    }
  }
  const joinedAll = await all(
    peers,
    r,
    (e) => e.type === 'joined',
    joinTimeoutMs - (performance.now() - lastGo),
  );
  const joinedAt = peers.map((p, i) => {
    const e = ofRun(p, r).find((x) => x.type === 'joined');
    return e === undefined ? undefined : goAt[i]! + (e.t as number) - lastGo;
  });
  const n = peers.length;
  let delivered = 0;
  if (joinedAt.some((x) => x !== undefined)) {
    for (const [i, p] of peers.entries()) send(p, { cmd: 'broadcast', text: `${r}:${i}` });
    const got = (p: Child) =>
      new Set(ofRun(p, r).flatMap((e) => (e.type === 'message' ? [e.text] : []))).size;
    await Promise.allSettled(peers.map((p) => p.line(() => got(p) >= n - 1, 'messages', DELIVERY_WAIT_MS)));
    delivered = peers.reduce((sum, p) => sum + got(p), 0);
  }
  const end = performance.now();
  for (const p of peers) send(p, { cmd: 'stop' });
  if (!(await all(peers, r, (e) => e.type === 'stopped', STEP_MS))) throw new Error('a peer did not stop');
  const routers1 = await lab.privateDialsOut();
  let mappingsAfterClose = 0;
  for (const [i, h] of lab.homes.entries()) {
    if (h.portMapper) mappingsAfterClose += (await portMappings(lab, i))!.length;
  }
  const mappingHosts = new Set(lab.homes.flatMap((h) => (h.portMapper ? [h.wan] : [])));
  let dialsIntoMapping = 0;
  let privateDials = 0;
  let failedUnreachableDials = 0;
  let dials = 0;
  let dialsIntoNat = 0;
  const natHosts = new Set(
    lab.homes.flatMap((h) => (h.publicAddress === undefined ? [h.wan] : [h.wan, h.publicAddress])),
  );
  for (const [i, p] of peers.entries()) {
    const from = topology.peers[i]!;
    // A home peer's own router: its UPnP client's HTTP requests, not gossip dials.
    const gateway = from === 'public' ? undefined : lab.homes[from[0]]!.gateway;
    for (const e of ofRun(p, r)) {
      if (e.host === gateway) continue;
      if (e.type === 'dial-connected' && natHosts.has(e.host as string)) dialsIntoNat++;
      if (e.type === 'dial-connected' && from === 'public' && mappingHosts.has(e.host as string)) {
        dialsIntoMapping++;
      }
      if (e.type !== 'dial-end') continue;
      dials++;
      const host = e.host as string;
      const ok = reachable(lab, from, host);
      if (isPrivate(host) && !ok) privateDials++;
      if (!ok && e.connected !== true) failedUnreachableDials++;
    }
  }
  const unreachablePeers = peers.filter((_, j) =>
    topology.peers.some((from, i) => i !== j && !addresses[j]!.some((h) => reachable(lab, from, h))),
  ).length;
  return {
    joined: joinedAll,
    joinMs: joinedAll ? Math.max(...joinedAt.map((x) => x ?? 0)) : undefined,
    delivered,
    expected: n * (n - 1),
    privateDials,
    routerPrivateDials: routers1.reduce((s, x, i) => s + x - routers0[i]!, 0),
    failedUnreachableDials,
    unreachablePeers,
    windowMs: end - firstGo,
    dials,
    dialsIntoNat,
    dialsIntoMapping,
    mappingsAfterClose,
  };
}

/** Σ failed dials to unreachable targets / Σ (unreachable peers × run minutes); 0 without such peers. */
function rate(results: readonly RunResult[]): number {
  const peerMinutes = results.reduce((s, x) => s + (x.unreachablePeers * x.windowMs) / 60_000, 0);
  return peerMinutes === 0 ? 0 : results.reduce((s, x) => s + x.failedUnreachableDials, 0) / peerMinutes;
}

async function benchTopology(topology: Topology) {
  const t = await createTopologyLab(topology);
  try {
    const peers = t.namespaces.map((ns, i) =>
      t.lab.spawn(ns, 'test/helpers/nat-peer.ts', [
        t.bootstrap.join(','),
        ...(t.binds[i] ? [t.binds[i]!] : []),
        // Behind a router that maps ports, a peer starts once mapped: one that has been up a while.
        ...(topology.homes.some((h) => h.portMapping !== undefined) ? ['--await-mapping'] : []),
      ]),
    );
    if (!(await all(peers, 0, (e) => e.type === 'ready', 60_000))) {
      throw new Error(
        `${topology.name}: a peer's DHT node did not start\n${peers.map((p) => p.transcript()).join('\n')}`,
      );
    }
    const results: RunResult[] = [];
    for (let r = 1; r <= runs; r++) {
      results.push(await oneRun(t, peers, r));
      if (!json) process.stderr.write('.');
    }
    for (const p of peers) p.end();
    await Promise.all(peers.map((p) => p.outcome(15_000)));
    return results;
  } finally {
    await t.close();
  }
}

// A signal would end the process without its 'exit' event, where nat-lab.ts deletes the namespaces.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(130));
const reason = await natLabUnavailable();
if (reason) {
  console.log(`bench:nat skipped: ${reason}`);
  process.exit(0);
}
const chosen = names.length === 0 ? TOPOLOGIES : TOPOLOGIES.filter((t) => names.includes(t.name));
const unknown = names.filter((n) => !TOPOLOGIES.some((t) => t.name === n));
if (unknown.length > 0) throw new RangeError(`--topology: unknown ${unknown.join(', ')}`);

const out = [];
const rows: (string | number)[][] = [];
const started = performance.now();
try {
  for (const topology of chosen) {
    const results = await benchTopology(topology);
    const joined = results.filter((x) => x.joined);
    const joinTimes = joined.map((x) => x.joinMs!);
    const sum = (f: (x: RunResult) => number) => results.reduce((s, x) => s + f(x), 0);
    const entry = {
      name: topology.name,
      runs: results.length,
      joined: joined.length,
      joinMedianMs: joinTimes.length > 0 ? round(median(joinTimes), 0) : null,
      delivered: sum((x) => x.delivered),
      expected: sum((x) => x.expected),
      privateDialsAcrossNetworks: sum((x) => x.privateDials),
      dialsPerMinutePerUnreachablePeer: round(rate(results), 1),
      dialsIntoNat: sum((x) => x.dialsIntoNat),
      ...(topology.homes.some((h) => h.portMapping)
        ? {
            directIntoMapping: sum((x) => x.dialsIntoMapping),
            mappingsAfterClose: sum((x) => x.mappingsAfterClose),
          }
        : {}),
    };
    out.push(entry);
    rows.push([
      entry.name,
      `${entry.joined}/${entry.runs}`,
      entry.joinMedianMs ?? '-',
      joinTimes.length > 0 ? round(p95(joinTimes), 0) : '-',
      `${entry.delivered}/${entry.expected}`,
      entry.privateDialsAcrossNetworks,
      sum((x) => x.routerPrivateDials),
      sum((x) => x.failedUnreachableDials),
      entry.dialsPerMinutePerUnreachablePeer,
      sum((x) => x.dials),
      entry.dialsIntoNat,
      round(median(results.map((x) => x.windowMs)) / 1000, 1),
    ]);
  }
} finally {
  killAll();
}
if (json) console.log(JSON.stringify({ topologies: out }, null, 2));
else {
  process.stderr.write('\n');
  printTable(
    [
      'topology',
      'joined',
      'join med ms',
      'p95',
      'delivered',
      'private dials',
      '(routers saw)',
      'failed to unreachable',
      'per min per unreachable peer',
      'sockets',
      'into a NAT',
      'run med s',
    ],
    rows,
  );
  for (const e of out) {
    if ('directIntoMapping' in e) {
      console.log(
        `${e.name} (port mapping, ${chosen.find((t) => t.name === e.name)!.homes.find((h) => h.portMapping)!.portMapping}): ${e.directIntoMapping} connections from a public peer into a mapped port, ${e.mappingsAfterClose} mappings left after close`,
      );
    }
  }
  console.log(
    `${runs} runs per topology, join bound ${joinTimeoutMs} ms, ${round((performance.now() - started) / 1000, 0)} s`,
  );
}
process.exit(0);
