/**
 * `npm run bench:interop [-- --json] [-- --quick] [-- --only racing,readOnly,hostile,recovery,external]
 * [-- --trials N] [-- --reads N] [-- --joins N]`
 *
 * How our DHT layer and tracker fare beside the nodes of the real DHT, on loopback only (every node,
 * real libtorrent sessions included, binds a 127.x address). Five scenarios:
 *
 * - **racing** (`--trials`, 30 per network; 5 publishers): the start-up race of test/helpers/racing.ts
 *   (which says how a trial runs and how a lost record and a phantom copy are counted) on four
 *   networks of 30 storing nodes: `libtorrent` (libtorrent 2.0 run relaxed, as
 *   test/interop/racing.test.ts does), `libtorrent-default` (libtorrent's default per-IP DoS block and
 *   upload limit), `mixed` (15 libtorrent, 15 of ours) and `bittorrent-dht` (our `createTestnet`).
 *   Measures publishers told `published` whose record no node holds. Target: 0 lost on every network.
 *   The libtorrent networks report `skipped` with the reason where python3-libtorrent is missing.
 * - **readOnly** (`--reads`, 20): a 30-node network of which 5 are read-only nodes (BEP 43), as they
 *   look from outside a NAT: every query they send carries `ro=1`, and no query sent to them is ever
 *   answered. They are plain KRPC sockets (`ReadOnlyNode`, interop-nodes.ts) rather than our `Dht`
 *   with `readOnly: true`, because ours answers the queries that reach it and the public API has no
 *   way to drop them, and rather than libtorrent's read-only mode, which test/helpers/libtorrent_node.py
 *   does not offer; on the wire they are what libtorrent's `dht_read_only` sends. Each queries every
 *   node, the readers included, so a node that let `ro=1` queriers into its routing table (k-rpc does)
 *   would hand them to every walk, where each costs a stall. Measures the median of `Dht.getAll`, each
 *   of a different item (stored beforehand by another node), by 4 readers taking turns (`timedReads`
 *   says why), before the 5 arrive (the 25-node baseline; readers of its own) and after. Target:
 *   median ≤ 1.5 × baseline. Both medians are 2–4 ms on loopback, so one slow read moves the ratio
 *   (measured 0.88–1.52 over 6 runs); `queriesToReadOnly` (queries any walk sent a read-only node
 *   while the readers read; 0 in every run) is the figure that shows whether they were let in.
 * - **hostileNodes** (`--joins`, 5): 8 hostile nodes (`HostileNode`) on a 30-node testnet answer every
 *   query with 300 fake contacts next to the query's target at silent ports (2,400 fakes per round of
 *   the 8), as in test/dht/walk-hygiene.test.ts. They have queried every node (k-rpc adds every
 *   querier). Their own ids are random: a topic's targets change every minute and with every trial's
 *   topic, and an id next to the asked target is not needed for the harm, which is the fakes (the
 *   closest contacts any walk meets). Measures a newcomer's `joinTopic` (wait for joined) on a topic of
 *   3 members whose records have landed, as bench:join's warm join, before the hostile nodes arrive
 *   and after. Target: median ≤ 3 × baseline (loopback round trips are ~0.3 ms, so the baseline is
 *   tiny and every dead fake costs a stall of at least MIN_QUERY_STALL_MS; reported as measured). The
 *   newcomer dials the first record's publisher while its lookups still run, so the fakes show in its
 *   queries (`queriesPerJoin`) more than in its join time.
 * - **recovery**: 5 peers joined on a topic over a 20-node network of our nodes (`RestartableNetwork`);
 *   every DHT node stops for 20 s (a network-wide outage: the peers' DHT nodes and gossip mesh stay up)
 *   and starts again, fresh (new ids, empty stores), on the same ports; a newcomer then joins. Measures
 *   ms from the restart until the 5 and the newcomer are joined in one mesh. Target ≤ 60 s. The peers
 *   run the default liveness options (src/dht/config.ts `liveness`), as deployed nodes do: scaled-down
 *   ones would measure a configuration nobody runs, and the defaults fit the target. What they do here
 *   (measured, 4 runs): during the outage the peers' queries time out, k-rpc drops those nodes, and
 *   their tables fall to the 4 other peers, below `rebootstrapBelowNodes` (8); the check (`checkMs`,
 *   5 s) re-bootstraps from the bootstrap address with a back-off of 5, 10, 20 s … while it is down,
 *   so the first re-bootstrap after the restart comes 5–20 s later. The newcomer joined 10–15 s after
 *   the restart by reading a peer's record (`newcomerFirstRecordMs`): the peers had not republished
 *   (`publishedAfterRestart` 0–1); their own DHT nodes still held the records stored on them, and
 *   became reachable once a re-bootstrap put them back in the new nodes' tables.
 * - **externalAddress**: the address a node behind a NAT learns from BEP 42 `ip` fields, from
 *   libtorrent nodes and from ours (`measureExternalAddress`, interop-external.ts: the NAT lab, root
 *   only; `skipped` with the reason elsewhere). Every other scenario is on loopback only. Target:
 *   `correct` (the router's internet address and the mapped port, from both).
 *
 * `--quick` trims the trials (10 per racing network, 20 reads, 3 joins; the recovery budget stays).
 * `--json` prints exactly one JSON object on stdout (`racing`, `readOnly`, `hostileNodes`, `recovery`,
 * `externalAddress`, `targetsMet`, `elapsedS`; a scenario not run has `skipped`); a table of medians
 * and p95 otherwise. Progress goes to stderr. Every wait is time-boxed, and every node, socket and
 * child process is closed before the end.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createTestnet, Dht, type Testnet } from '../../src/dht/index.js';
import { Gossip } from '../../src/net/gossip.js';
import { joinTopic, type TrackedTopic } from '../../src/tracker/join.js';
import { meshComponents } from '../../src/tracker/mesh.js';
import { randomKeys, utf8 } from '../helpers/dht.js';
import { libtorrentAvailable } from '../helpers/libtorrent.js';
import {
  createRacingLab,
  createRacingNetwork,
  RACING_NETWORKS,
  RACING_PUBLISHERS,
  type RacingNetworkKind,
  type RacingSummary,
  runRacingTrials,
} from '../helpers/racing.js';
import { measureExternalAddress } from './interop-external.js';
import { FAKES_PER_REPLY, HostileNode, ReadOnlyNode, RestartableNetwork } from './interop-nodes.js';
import { closeAll, joinWithin, LISTEN, landedMembers, until } from './joins.js';
import { median, num, onlyScenarios, p95, printTable, round } from './stats.js';

const SCENARIOS = ['racing', 'readOnly', 'hostile', 'recovery', 'external'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: SCENARIOS.join(',') },
    trials: { type: 'string' },
    reads: { type: 'string' },
    joins: { type: 'string' },
  },
});
const quick = args.quick;
const run = onlyScenarios<Scenario>(args.only, SCENARIOS);
const racingTrials = num(args.trials, quick ? 10 : 30, 'trials', 1);
const reads = num(args.reads, 20, 'reads', 1);
const joins = num(args.joins, quick ? 3 : 5, 'joins', 1);

/** Storing nodes of the read-only scenario's network, read-only ones included. */
const READ_ONLY_NETWORK = 30;
const READ_ONLY_NODES = 5;
const HOSTILE_NODES = 8;
const HOSTILE_TESTNET = 30;
const RECOVERY_DHT_NODES = 20;
const RECOVERY_PEERS = 5;
/** The outage: every DHT node of the network is down this long. */
const OUTAGE_MS = 20_000;

/** Budgets of the waits. */
const RACING_LIFETIME_MS = 300_000;
const ANNOUNCE_BUDGET_MS = 10_000;
const JOIN_SETUP_BUDGET_MS = 30_000;
const JOIN_BUDGET_MS = 15_000;
const RECOVERY_BUDGET_MS = 120_000;
const TARGETS = { readOnlyRatio: 1.5, hostileRatio: 3, recoveryMs: 60_000 };

const progress = (msg: string) => process.stderr.write(`[bench:interop] ${msg}\n`);
const uniq = (label: string) => `bench-interop-${label}-${Math.random().toString(36).slice(2)}`;
const address = (n: { host: string; port: number }) => ({ host: n.host, port: n.port });
const stat = (values: readonly number[], f: (v: readonly number[]) => number) =>
  values.length === 0 ? null : round(f(values));
const NOT_SELECTED = 'not selected (--only)';

const started = performance.now();

// --- racing -------------------------------------------------------------------------------------------------

interface RacingEntry {
  network: RacingNetworkKind;
  trials: number;
  publishers: number;
  lost: number | null;
  published?: number;
  phantoms?: number;
  accepted?: number;
  phantomsOnLibtorrent?: number;
  acceptedOnLibtorrent?: number;
  trialsLosing?: number;
  outcomes?: Record<string, number>;
  /** Per-trial invariants that failed (a `published` without an ok put; a trial nobody published in). */
  checkFailures?: string[];
  elapsedS?: number;
  skipped?: string;
}

async function racingOn(kind: RacingNetworkKind, ltMissing: string | undefined): Promise<RacingEntry> {
  const base = { network: kind, trials: racingTrials, publishers: RACING_PUBLISHERS };
  if (kind !== 'bittorrent-dht' && ltMissing !== undefined)
    return { ...base, lost: null, skipped: ltMissing };
  const t0 = performance.now();
  progress(`racing on ${kind}: ${racingTrials} trials × ${RACING_PUBLISHERS} publishers`);
  const network = await createRacingNetwork(kind, { lifetimeMs: RACING_LIFETIME_MS });
  try {
    const lab = await createRacingLab(network);
    try {
      const checkFailures: string[] = [];
      const r: RacingSummary = await runRacingTrials(lab, {
        trials: racingTrials,
        check: (ok, message) => {
          if (!ok) checkFailures.push(message);
        },
      });
      return {
        ...base,
        lost: r.lost,
        published: r.published,
        phantoms: r.phantoms,
        accepted: r.accepted,
        phantomsOnLibtorrent: r.phantomsOnLibtorrent,
        acceptedOnLibtorrent: r.acceptedOnLibtorrent,
        trialsLosing: r.trialsLosing.length,
        outcomes: r.outcomes,
        checkFailures,
        elapsedS: round((performance.now() - t0) / 1000),
      };
    } finally {
      await lab.close();
    }
  } finally {
    await network.close();
  }
}

const racing: RacingEntry[] = [];
if (run('racing')) {
  const ltMissing = await libtorrentAvailable();
  for (const kind of RACING_NETWORKS) {
    try {
      racing.push(await racingOn(kind, ltMissing));
    } catch (error) {
      racing.push({
        network: kind,
        trials: racingTrials,
        publishers: RACING_PUBLISHERS,
        lost: null,
        skipped: `failed: ${(error as Error).message}`,
      });
    }
  }
}

// --- read-only nodes ----------------------------------------------------------------------------------------

interface ReadOnlyFigures {
  readMedianMs: number | null;
  baselineReadMedianMs: number | null;
  readP95Ms?: number | null;
  baselineReadP95Ms?: number | null;
  reads?: number;
  /** Reads that found their item (of `reads`), with and without the read-only nodes. */
  found?: number;
  baselineFound?: number;
  /** Queries per read (medians): walks that tried a read-only node would send more. */
  queriesPerRead?: number | null;
  baselineQueriesPerRead?: number | null;
  /** `ro=1` queries the readers answered (the read-only nodes reached them). */
  readOnlyQueriesAtReaders?: number;
  /** Queries the read-only nodes sent (one to every node) and how many were answered. */
  readOnlyQueried?: number;
  readOnlyAnswered?: number;
  /** Queries sent to the read-only nodes while the readers read (walks that waited on them). */
  queriesToReadOnly?: number;
  /** The readers' routing tables: 25 nodes and the 9 other readers and writer at most, without ro. */
  readerRoutingTables?: number[];
  ratio?: number | null;
  skipped?: string;
}

/** Readers per phase, taking turns: one reader doing every read would spend its pacer's burst. */
const READERS = 4;

/**
 * Reads each key once, the readers taking turns. Our pacer lets one node send one address a burst of
 * DEFAULT_PACE_BURST (16) queries, then 2.8/s: on a 25-node network, 20 back-to-back reads by one reader
 * send each node ~15, so a second series by the same reader would be paced (measured: its median rose
 * from 4 to 100 ms, a stall delay, with no read-only node ever queried). Four readers keep every series
 * well inside the burst.
 */
async function timedReads(readers: readonly Dht[], keys: readonly { publicKey: Uint8Array }[]) {
  const ms: number[] = [];
  const queries: number[] = [];
  let found = 0;
  for (const [i, k] of keys.entries()) {
    const reader = readers[i % readers.length]!;
    const before = reader.stats.queriesSent;
    const t0 = performance.now();
    const got = await reader.getAll({ publicKey: k.publicKey });
    ms.push(performance.now() - t0);
    queries.push(reader.stats.queriesSent - before);
    if (got.values.some((v) => v.seq === 1)) found++;
  }
  return { ms, queries, found };
}

async function readOnlyScenario(): Promise<ReadOnlyFigures> {
  progress(
    `read-only: ${READ_ONLY_NETWORK - READ_ONLY_NODES} nodes + ${READ_ONLY_NODES} read-only, ${reads} reads each`,
  );
  const testnet = await createTestnet({ nodes: READ_ONLY_NETWORK - READ_ONLY_NODES });
  const ro: ReadOnlyNode[] = [];
  try {
    const writer = await testnet.createNode();
    const baselineReaders: Dht[] = [];
    const readers: Dht[] = [];
    for (let i = 0; i < READERS; i++) baselineReaders.push(await testnet.createNode());
    for (let i = 0; i < READERS; i++) readers.push(await testnet.createNode());
    const keys = Array.from({ length: 2 * reads }, () => randomKeys());
    for (const [i, k] of keys.entries()) {
      const put = await writer.put(k, utf8(`read-only bench ${i}`), { seq: 1 });
      if (!put.ok) throw new Error(`read-only: put ${i} not accepted`);
    }
    const baseline = await timedReads(baselineReaders, keys.slice(0, reads));

    // The read-only nodes query every node, the readers included (the old code would have put them in
    // every routing table), and answer nothing from then on.
    for (let i = 0; i < READ_ONLY_NODES; i++) ro.push(await ReadOnlyNode.open(`127.0.5.${i + 1}`));
    const everyone = [...testnet.nodes, writer, ...baselineReaders, ...readers].map((d) =>
      address(d.address()),
    );
    const answered = await Promise.all(ro.map((r) => r.queryAll(everyone)));
    const roBefore = ro.reduce((s, r) => s + r.queriesReceived, 0);
    const attacked = await timedReads(readers, keys.slice(reads));
    const queriesToReadOnly = ro.reduce((s, r) => s + r.queriesReceived, 0) - roBefore;
    const readMedianMs = stat(attacked.ms, median);
    const baselineReadMedianMs = stat(baseline.ms, median);
    return {
      readMedianMs,
      baselineReadMedianMs,
      readP95Ms: stat(attacked.ms, p95),
      baselineReadP95Ms: stat(baseline.ms, p95),
      reads,
      found: attacked.found,
      baselineFound: baseline.found,
      queriesPerRead: stat(attacked.queries, median),
      baselineQueriesPerRead: stat(baseline.queries, median),
      readOnlyQueriesAtReaders: readers.reduce((s, r) => s + r.stats.server.readOnlyQueries, 0),
      readOnlyAnswered: answered.reduce((s, n) => s + n, 0),
      readOnlyQueried: ro.length * everyone.length,
      queriesToReadOnly,
      readerRoutingTables: readers.map((r) => r.nodeCount()),
      ratio: ratioOf(readMedianMs, baselineReadMedianMs),
    };
  } finally {
    await Promise.all(ro.map((r) => r.close()));
    await testnet.close();
  }
}

/** `value / baseline` to 2 decimals; null when either is missing (or the baseline is 0). */
const ratioOf = (value: number | null, baseline: number | null) =>
  value !== null && baseline ? round(value / baseline, 2) : null;

// --- hostile nodes ------------------------------------------------------------------------------------------

interface JoinTrial {
  ok: boolean;
  ms: number;
  queries: number;
}

/**
 * `joinTopic` with `wait: true`, time-boxed by an abort (which closes what it created). The timer is
 * cleared once joined: the topic listens to its signal for life, and an abort later would close it.
 */

/**
 * bench:join's warm join: 3 members on a fresh topic, their records landed; a newcomer (pooled DHT
 * node, gossip created before the clock starts) joins. A trial whose set-up fails is retried once.
 */
async function warmJoin(pool: readonly Dht[], label: string): Promise<JoinTrial | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const topic = uniq(label);
    const live = await landedMembers(topic, pool.slice(0, 3), JOIN_SETUP_BUDGET_MS);
    if (!live) continue;
    const gossip = await Gossip.create({ listen: LISTEN });
    const newcomerDht = pool[3]!;
    const before = newcomerDht.stats.queriesSent;
    const t0 = performance.now();
    const newcomer = await joinWithin(topic, { dht: newcomerDht, gossip }, JOIN_BUDGET_MS);
    const trial = {
      ok: newcomer !== undefined,
      ms: newcomer !== undefined ? performance.now() - t0 : JOIN_BUDGET_MS,
      queries: newcomerDht.stats.queriesSent - before,
    };
    await closeAll([newcomer, ...live], [gossip]);
    return trial;
  }
  return undefined;
}

interface HostileFigures {
  joinMedianMs: number | null;
  baselineJoinMedianMs: number | null;
  joinP95Ms?: number | null;
  baselineJoinP95Ms?: number | null;
  joins?: number;
  failures?: number;
  baselineFailures?: number;
  setupFailures?: number;
  /** The newcomer's DHT queries per join (medians). */
  queriesPerJoin?: number | null;
  baselineQueriesPerJoin?: number | null;
  /** Queries the hostile nodes answered with fakes during the hostile joins (all nodes' walks). */
  hostileQueries?: number;
  fakesServed?: number;
  ratio?: number | null;
  skipped?: string;
}

async function hostileScenario(): Promise<HostileFigures> {
  progress(
    `hostile: ${HOSTILE_NODES} hostile nodes on a ${HOSTILE_TESTNET}-node testnet, ${joins} joins each`,
  );
  const testnet: Testnet = await createTestnet({ nodes: HOSTILE_TESTNET });
  const hostile: HostileNode[] = [];
  try {
    const pool = await Promise.all(Array.from({ length: 4 }, () => testnet.createNode()));
    let setupFailures = 0;
    const series = async (label: string) => {
      const out: JoinTrial[] = [];
      for (let t = 0; t < joins; t++) {
        const r = await warmJoin(pool, `${label}-${t}`);
        if (r === undefined) setupFailures++;
        else out.push(r);
      }
      return out;
    };
    const baseline = await series('baseline');

    for (let i = 0; i < HOSTILE_NODES; i++) hostile.push(await HostileNode.open());
    const peers = [...testnet.nodes, ...pool].map((d) => address(d.address()));
    for (const h of hostile) for (const n of peers) h.announce(n);
    const joined = await until(
      () => hostile.every((h) => h.replies >= peers.length),
      performance.now(),
      ANNOUNCE_BUDGET_MS,
    );
    if (joined === undefined) progress('hostile: not every node answered the hostile nodes in time');
    const q0 = hostile.reduce((s, h) => s + h.queries, 0);
    const attacked = await series('hostile');
    const hostileQueries = hostile.reduce((s, h) => s + h.queries, 0) - q0;
    const ms = (ts: JoinTrial[]) => ts.map((t) => t.ms);
    const joinMedianMs = stat(ms(attacked), median);
    const baselineJoinMedianMs = stat(ms(baseline), median);
    return {
      joinMedianMs,
      baselineJoinMedianMs,
      joinP95Ms: stat(ms(attacked), p95),
      baselineJoinP95Ms: stat(ms(baseline), p95),
      joins,
      failures: attacked.filter((t) => !t.ok).length,
      baselineFailures: baseline.filter((t) => !t.ok).length,
      setupFailures,
      queriesPerJoin: stat(
        attacked.map((t) => t.queries),
        median,
      ),
      baselineQueriesPerJoin: stat(
        baseline.map((t) => t.queries),
        median,
      ),
      hostileQueries,
      fakesServed: hostileQueries * FAKES_PER_REPLY,
      ratio: ratioOf(joinMedianMs, baselineJoinMedianMs),
    };
  } finally {
    await Promise.all(hostile.map((h) => h.close()));
    await testnet.close();
  }
}

// --- recovery -----------------------------------------------------------------------------------------------

interface RecoveryFigures {
  rejoinedAfterMs: number | null;
  peers?: number;
  dhtNodes?: number;
  outageMs?: number;
  /** ms from the restart until the newcomer had a neighbour (null: not within the budget). */
  newcomerJoinedAfterMs?: number | null;
  /** ms from the restart until the newcomer's first record read and first dial (null: none). */
  newcomerFirstRecordMs?: number | null;
  newcomerFirstDialMs?: number | null;
  /** Survivors' routing tables (min, max) when the nodes came back, and at the end. */
  survivorTablesAtRestart?: [number, number];
  survivorTablesAtEnd?: [number, number];
  /** Σ over the survivors, during outage and recovery: re-bootstraps started and answered. */
  rebootstraps?: number;
  rebootstrapsAnswered?: number;
  /** Records the survivors published after the restart (Σ). */
  publishedAfterRestart?: number;
  components?: number[];
  budgetMs?: number;
  skipped?: string;
}

async function recoveryScenario(): Promise<RecoveryFigures> {
  progress(
    `recovery: ${RECOVERY_PEERS} peers on ${RECOVERY_DHT_NODES} DHT nodes; a ${OUTAGE_MS / 1000} s outage`,
  );
  const network = new RestartableNetwork(RECOVERY_DHT_NODES);
  const dhts: Dht[] = [];
  const topics: (TrackedTopic | undefined)[] = [];
  try {
    await network.start();
    for (let i = 0; i < RECOVERY_PEERS; i++) {
      dhts.push(await Dht.create({ host: '127.0.0.1', port: 0, bootstrap: network.bootstrap }));
    }
    const survivorDhts = [...dhts];
    const topic = uniq('recovery');
    const survivors = await Promise.all(
      survivorDhts.map((dht) => joinWithin(topic, { dht, gossip: { listen: LISTEN } }, JOIN_SETUP_BUDGET_MS)),
    );
    topics.push(...survivors);
    const alive = survivors.filter((s) => s !== undefined);
    if (alive.length < RECOVERY_PEERS)
      return { rejoinedAfterMs: null, skipped: 'set-up: a peer did not join' };
    const oneMesh = (peers: readonly TrackedTopic[]) => {
      const c = meshComponents(peers).map((x) => x.size);
      return c.length === 1 && c[0] === peers.length;
    };
    const settled = await until(
      () => oneMesh(alive) && alive.some((p) => p.stats.tracker.published > 0),
      performance.now(),
      JOIN_SETUP_BUDGET_MS,
    );
    if (settled === undefined) return { rejoinedAfterMs: null, skipped: 'set-up: no single mesh' };
    const livenessSum = (key: 'rebootstraps' | 'rebootstrapsAnswered') =>
      survivorDhts.reduce((s, d) => s + d.stats.liveness[key], 0);
    const l0 = { rebootstraps: livenessSum('rebootstraps'), answered: livenessSum('rebootstrapsAnswered') };
    const tables = () => {
      const sizes = survivorDhts.map((d) => d.nodeCount());
      return [Math.min(...sizes), Math.max(...sizes)] as [number, number];
    };

    progress('recovery: every DHT node stops');
    await network.stop();
    // The outage itself: the scenario's one fixed duration (not a wait for something to settle).
    await sleep(OUTAGE_MS);
    const survivorTablesAtRestart = tables();
    const published0 = alive.reduce((s, p) => s + p.stats.tracker.published, 0);
    progress('recovery: the DHT nodes start again on the same ports');
    const t0 = performance.now();
    await network.start();
    const newcomerDht = await Dht.create({ host: '127.0.0.1', port: 0, bootstrap: network.bootstrap });
    dhts.push(newcomerDht);
    const newcomer = await joinTopic(topic, { dht: newcomerDht, gossip: { listen: LISTEN }, wait: false });
    topics.push(newcomer);
    // How the newcomer got in: a record it read (then its dial), or a survivor that read its record.
    let newcomerFirstRecordMs: number | undefined;
    let newcomerFirstDialMs: number | undefined;
    newcomer.on('status', (e) => {
      if (e.type === 'record') newcomerFirstRecordMs ??= performance.now() - t0;
      if (e.type === 'dial') newcomerFirstDialMs ??= performance.now() - t0;
    });
    let newcomerJoinedAfterMs: number | undefined;
    const everyone = [...alive, newcomer];
    const rejoined = await until(
      () => {
        if (newcomerJoinedAfterMs === undefined && newcomer.isJoined()) {
          newcomerJoinedAfterMs = performance.now() - t0;
        }
        return newcomer.isJoined() && oneMesh(everyone);
      },
      t0,
      RECOVERY_BUDGET_MS,
      100,
    );
    return {
      rejoinedAfterMs: rejoined === undefined ? null : round(rejoined),
      peers: RECOVERY_PEERS,
      dhtNodes: RECOVERY_DHT_NODES,
      outageMs: OUTAGE_MS,
      newcomerJoinedAfterMs: newcomerJoinedAfterMs === undefined ? null : round(newcomerJoinedAfterMs),
      newcomerFirstRecordMs: newcomerFirstRecordMs === undefined ? null : round(newcomerFirstRecordMs),
      newcomerFirstDialMs: newcomerFirstDialMs === undefined ? null : round(newcomerFirstDialMs),
      survivorTablesAtRestart,
      survivorTablesAtEnd: tables(),
      rebootstraps: livenessSum('rebootstraps') - l0.rebootstraps,
      rebootstrapsAnswered: livenessSum('rebootstrapsAnswered') - l0.answered,
      publishedAfterRestart: alive.reduce((s, p) => s + p.stats.tracker.published, 0) - published0,
      components: meshComponents(everyone).map((c) => c.size),
      budgetMs: RECOVERY_BUDGET_MS,
    };
  } finally {
    await closeAll(topics);
    await Promise.allSettled(dhts.map((d) => d.close()));
    await network.stop();
  }
}

// --- run ------------------------------------------------------------------------------------------------------

const failed = (error: unknown) => `failed: ${(error as Error).message}`;

const readOnly: ReadOnlyFigures = run('readOnly')
  ? await readOnlyScenario().catch((e) => ({
      readMedianMs: null,
      baselineReadMedianMs: null,
      skipped: failed(e),
    }))
  : { readMedianMs: null, baselineReadMedianMs: null, skipped: NOT_SELECTED };
const hostileNodes: HostileFigures = run('hostile')
  ? await hostileScenario().catch((e) => ({
      joinMedianMs: null,
      baselineJoinMedianMs: null,
      skipped: failed(e),
    }))
  : { joinMedianMs: null, baselineJoinMedianMs: null, skipped: NOT_SELECTED };
const recovery: RecoveryFigures = run('recovery')
  ? await recoveryScenario().catch((e) => ({ rejoinedAfterMs: null, skipped: failed(e) }))
  : { rejoinedAfterMs: null, skipped: NOT_SELECTED };
const externalAddress = run('external')
  ? await measureExternalAddress().catch((e) => ({ learned: null, correct: null, skipped: failed(e) }))
  : { learned: null, correct: null, skipped: NOT_SELECTED };

const ran = (r: RacingEntry) => r.lost !== null;
const targetsMet = {
  racing: racing.some(ran) ? racing.filter(ran).every((r) => r.lost === 0) : null,
  readOnly: readOnly.ratio == null ? null : readOnly.ratio <= TARGETS.readOnlyRatio,
  hostileNodes: hostileNodes.ratio == null ? null : hostileNodes.ratio <= TARGETS.hostileRatio,
  recovery:
    run('recovery') && !recovery.skipped
      ? (recovery.rejoinedAfterMs ?? Number.POSITIVE_INFINITY) <= TARGETS.recoveryMs
      : null,
  externalAddress: externalAddress.skipped ? null : externalAddress.correct === true,
};

const figures = {
  quick,
  racing: run('racing') ? racing : [],
  readOnly,
  hostileNodes,
  recovery,
  externalAddress,
  targetsMet,
  elapsedS: round((performance.now() - started) / 1000),
};

if (args.json) {
  console.log(JSON.stringify(figures));
} else {
  const show = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  const met = (v: boolean | null) => (v === null ? '-' : v ? 'yes' : 'NO');
  console.log(
    `Interop on loopback (node ${process.version}, ${new Date().toISOString()}${quick ? ', quick' : ''})\n`,
  );
  if (run('racing')) {
    printTable(
      ['racing network', 'trials', 'published', 'lost', 'phantoms', 'target', 'note'],
      racing.map((r) => [
        r.network,
        r.trials,
        show(r.published),
        show(r.lost),
        show(r.phantoms),
        '0 lost',
        r.skipped ?? (r.checkFailures?.length ? `${r.checkFailures.length} check failures` : ''),
      ]),
    );
    console.log('');
  }
  printTable(
    ['scenario', 'median ms', 'p95 ms', 'baseline median', 'baseline p95', 'target', 'met'],
    [
      [
        `read-only nodes: getAll (${show(readOnly.queriesToReadOnly)} queries to them)`,
        show(readOnly.readMedianMs),
        show(readOnly.readP95Ms),
        show(readOnly.baselineReadMedianMs),
        show(readOnly.baselineReadP95Ms),
        `≤ ${TARGETS.readOnlyRatio} × baseline`,
        met(targetsMet.readOnly),
      ],
      [
        'hostile nodes: joinTopic',
        show(hostileNodes.joinMedianMs),
        show(hostileNodes.joinP95Ms),
        show(hostileNodes.baselineJoinMedianMs),
        show(hostileNodes.baselineJoinP95Ms),
        `≤ ${TARGETS.hostileRatio} × baseline`,
        met(targetsMet.hostileNodes),
      ],
      [
        'recovery: one mesh after restart',
        show(recovery.rejoinedAfterMs),
        '',
        '',
        '',
        `≤ ${TARGETS.recoveryMs}`,
        met(targetsMet.recovery),
      ],
    ],
  );
  for (const [name, s] of [
    ['read-only', readOnly.skipped],
    ['hostile', hostileNodes.skipped],
    ['recovery', recovery.skipped],
  ] as const) {
    if (s && s !== NOT_SELECTED) console.log(`${name}: ${s}`);
  }
  console.log(
    `\nexternal address: ${externalAddress.skipped ? `skipped (${externalAddress.skipped})` : `${externalAddress.learned} (correct: ${externalAddress.correct})`}`,
  );
  console.log(`elapsed ${figures.elapsedS} s`);
}
