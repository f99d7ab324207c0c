/**
 * `npm run bench:join [-- --json] [-- --quick] [-- --only warm,cold,fifty,load] [-- --warm-trials 20]
 * [-- --lone-trials 3] [-- --lone-speed 6]
 * [-- --cold-runs 10] [-- --fifty-runs 10] [-- --fifty 50] [-- --threads 2] [-- --load-n 10,50] [-- --speed 60,20]
 * [-- --skip-minutes 30] [-- --window-minutes 20] [-- --nodes 30] [-- --profile default|slow]`
 *
 * `joinTopic` on a local DHT testnet (default 30 bittorrent-dht nodes on 127.0.0.1) with real
 * WebSocket gossip nodes on 127.0.0.1, all in this one process. A pool of DHT nodes is created once and
 * reused with a fresh topic name per trial: a closed DHT node would linger in the others' routing tables
 * and stall later lookups. Gossip nodes are created per trial (before its clock starts) and closed
 * after it.
 *
 * - **warm join** (`--warm-trials`, 20): a fresh topic of 3 joined members whose start-up records have
 *   landed (`stats.tracker.published > 0` on one); a newcomer with a pooled DHT node and a pre-created
 *   gossip node: time from calling `joinTopic` to joined. The call is `joinTopic(…, { wait: false })`
 *   then `joined()`, which is what `wait: true` does, so that the newcomer's `status` events can be
 *   listened to (only its first, synchronous `read` event is missed): the phases (first `record`, first
 *   `dial`, `joined`) are reported too. Targets: median ≤ 50 ms, p95 ≤ 200 ms.
 * - **lone peer** (with `warm`, default profile only; `--lone-trials` 3, 1 with `--quick`): one peer alone
 *   on a fresh topic for 3 minutes of its tracker's clock (a warp clock at `--lone-speed` 6, 12 with
 *   `--quick`: the DHT stays real), counting its DHT node's queries (`queriesSent + putsSent + putsReadBack`) per
 *   tracker minute from its `joinTopic` call; then the clock goes back to real speed and a newcomer on
 *   the same clock joins it (JSON `loneQueriesPerMinute` (median), `loneQueriesPerMinuteMax`,
 *   `loneJoinMedianMs`). Targets: ≤ 300 queries per minute, the newcomer within the warm-join target.
 * - **two-peer cold start** (`--cold-runs`, 10): two peers (pooled DHT nodes, pre-created gossip nodes)
 *   started at the same instant on an empty topic; time until both joined. Target: median ≤ 2 s.
 * - **fifty at once** (`--fifty-runs`, 10; `--fifty` peers): all started at the same instant (each with
 *   a DHT node of its own and a gossip node created before the clock starts); time until all are
 *   joined and form one connected mesh (components over neighbours == [N]). The peers run in
 *   `--threads` worker threads (default: the machine's cores, `os.availableParallelism()`; 0 = all in
 *   this thread), each group on DHT nodes of its own joined to the testnet over loopback UDP
 *   (`fifty-threads.ts` says why: real peers do not share one event loop). The groups report each
 *   neighbour change and each peer's first neighbour, stamped where they happen; the run ends at the
 *   change that made the mesh whole. One run before the measured ones is not counted (it compiles the
 *   code in every thread). A run that gets there has 0 isolated peers; one that does not by 30 s
 *   counts the peers not joined or outside the largest component then. Also per run: the DHT lookups
 *   and queries of the peers, when a peer's first read finished and it first dialed (medians over
 *   peers), how long a bootstrap `dial` took to become a neighbour, CPU of the whole process (all
 *   threads: up to 100 % per core) and the worst event loop delay of its threads. Targets: median
 *   ≤ 1.5 s, 0 isolated.
 * - **steady-state DHT load** (`--load-n`, 10 and 50): a topic of N members, each with its own pooled
 *   DHT node, with the default tracker config on one shared clock. The members bootstrap at real speed;
 *   once all are joined the clock runs `--speed` times faster (join-clock.ts says why not from the
 *   start). Skip `--skip-minutes` (30) tracker minutes, enough for the workers' exponential back-off (up
 *   to 10 min) to settle, then count over `--window-minutes` (20): Σ over members of the deltas of
 *   `Dht.stats.lookups` and `putsSent` and of `stats.tracker.published` and `reads`, per tracker minute
 *   (measured on the clock). Target: lookups/min at N = 50 ≤ 2 × at N = 10.
 *   The speed multiplies the real DHT work of this one process, and the figures depend on how long a
 *   read takes in tracker time (reported as `lookupMedianTrackerS`): a minute's first records stay
 *   unseen for that long, readers meanwhile find the minute not full and publish too (each publish or
 *   not-full read resets that member's back-off), so the `maxRecordsPerMinute` cap leaks and N = 50
 *   does more work. Measured N = 50, lookups per minute: 100–115 at speed 10–20 on a quiet machine
 *   (lookups ~1.5 tracker s, ~6 publishes per minute); 150–165 at speed 20 on a busy one (event loop
 *   delay p99 0.5 s, 12–17 publishes per minute); 60 at speed 60 with this process at 100 % of a core
 *   (it then simply runs fewer operations per tracker minute).
 *   So the default speed is per N, min(60, 1000 / N): 60 for N = 10 (~50 lookups per real second), 20
 *   for N = 50; `--speed` takes one speed for all or one per N. A window is flagged `saturated` when
 *   this process used ≥ 80 % of a core or its event loop delay p99 reached 100 ms (other processes
 *   on the machine count too).
 *
 * **`--profile slow`**: the warm join and the two-peer cold start (10 trials and 10 runs) on a testnet that
 * behaves like the public DHT (`createTestnet({ latency, loss, dead })`, src/dht/testnet.ts), 40 nodes:
 * - `latency` 50–300 ms: each node answers after a delay drawn once per node, as round trips to public
 *   DHT nodes spread from the same continent to the far side of the world;
 * - `loss` 2 %: replies dropped (UDP over the internet, nodes too busy to answer);
 * - `dead` 30 % after 8 s: 12 of the 40 go silent while staying in every routing table, as the stale
 *   entries of a real table (churn). Trials start only after that (plus a 0.5 s margin): the DHT is
 *   ready when its dead nodes are dead and still known, and every figure is measured from then.
 * The pooled DHT nodes of the peers are read-only (BEP 43): no node keeps them in its table, so every
 * record lives on, and is read from, the slow nodes (a real peer's node is never among a topic's closest;
 * left in the tables, the fast pooled nodes stored records too: warm join median ~16 ms, measured).
 * Targets: warm join median ≤ 500 ms, two at once median ≤ 4 s, 0 failures of 10 each (both leave room
 * over joins measured on the public DHT). One limit: 40 nodes all fit in the peers' routing tables, so
 * a lookup reaches the closest nodes in its first round, where a real one takes a few hops: the warm
 * join here is about one slow round trip (the fastest storing node), quicker than on the real DHT. The
 * two-peer cold start is mostly its first read of an empty slot (a walk that ends only once each dead
 * node among the closest has stalled): 1.2–1.6 s of a median 1.7–2.0 s, measured. A warm join that
 * started just after a minute boundary, before any member published in the new minute, took 3–4 s: the
 * current minute looked empty, and the bootstrap loop published a start-up record and read slots 1–3
 * of that minute (walks that end only on the dead nodes' stalls) before slot 0 of the minute before
 * (measured: 1 trial of 30, about one per minute of trials; it was the p95 of a 10-trial run that met
 * one). The loop now reads slot 0 of the minute before first (src/tracker/bootstrap.ts, "pass"), after
 * the start-up record's second look. It reports, per peer, when
 * its first read finished, its first record, its own record landed (`published`), its first dial and
 * joined, and its DHT node's counters until joined (queries sent, stalled, timed out; JSON `warm`,
 * `cold`, `warmDhtMedian`, `coldPeerMedian`; the progress lines give each trial). The JSON carries
 * `profile` (`"default"` or `"slow"`) and, for slow, the `testnet` options. `fifty` and `load` do not run
 * with it.
 *
 * Every wait is time-boxed: a stuck trial counts as a failure and enters the figures at its budget.
 * `--quick` is a smoke run (fewer trials, double speed, 10 + 5 tracker minutes). `--json` prints one JSON
 * object (`warmJoinMedianMs`, `warmJoinP95Ms`, `loneQueriesPerMinute`, `coldPairMedianMs`, `fiftyAllJoinedMedianMs`,
 * `fiftyIsolated`, `lookupsPerMinute: { n10, n50 }`, `putsPerMinute`, `publishesPerMinute`, …; figures
 * of a scenario not run are null); a table otherwise. Progress goes to stderr.
 *
 * One process hosts every DHT node and every gossip node (the fifty in a few threads of it), so a
 * scenario that starts many peers at once measures this machine's CPU as much as the protocol: `busy`
 * figures (CPU as % of one core, event loop delay) come with each scenario.
 */
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createTestnet, type Dht } from '../../src/dht/index.js';
import { Gossip } from '../../src/net/gossip.js';
import type { Clock } from '../../src/tracker/clock.js';
import { joinTopic, type TrackedTopic } from '../../src/tracker/join.js';
import { meshComponents } from '../../src/tracker/mesh.js';
import type { TrackerEvent } from '../../src/tracker/tracker.js';
import { epochNow, type GroupEvent, type GroupSummary } from './fifty-group.js';
import { type GroupHandle, localGroup, workerGroup } from './fifty-threads.js';
import { warpClock } from './join-clock.js';
import { closeAll, LISTEN, landedMembers, until } from './joins.js';
import { type Busy, busy, median, num, onlyScenarios, p95, printTable, round } from './stats.js';

const SCENARIOS = ['warm', 'cold', 'fifty', 'load'] as const;
type Scenario = (typeof SCENARIOS)[number];
const PROFILES = ['default', 'slow'] as const;
type Profile = (typeof PROFILES)[number];

/**
 * The slow profile's testnet (see the module comment): guesses at the public mainline DHT, not measured
 * by this repository.
 */
const SLOW_TESTNET = {
  /** Each node's reply delay, drawn once per node: round trips to public DHT nodes. */
  latency: { minMs: 50, maxMs: 300 },
  /** Replies lost on the way (UDP over the internet, nodes too busy to answer). */
  loss: 0.02,
  /** Nodes that vanish while staying in routing tables (churn: stale entries of a real table). */
  dead: { share: 0.3, afterMs: 8000 },
} as const;
/** Testnet size of the slow profile: with `dead`, 12 of 40 go silent. */
const SLOW_NODES = 40;
const SLOW_SCENARIOS: readonly Scenario[] = ['warm', 'cold'];
/** Trials start this long after the dead share was silenced (one timer; the margin is a guess). */
const DEAD_MARGIN_MS = 500;

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    profile: { type: 'string', default: 'default' },
    only: { type: 'string' },
    nodes: { type: 'string' },
    'warm-trials': { type: 'string' },
    'lone-trials': { type: 'string' },
    'lone-speed': { type: 'string' },
    'cold-runs': { type: 'string' },
    'fifty-runs': { type: 'string' },
    fifty: { type: 'string', default: '50' },
    threads: { type: 'string' },
    'load-n': { type: 'string', default: '10,50' },
    speed: { type: 'string' },
    'skip-minutes': { type: 'string' },
    'window-minutes': { type: 'string' },
  },
});

const quick = args.quick;
if (!(PROFILES as readonly string[]).includes(args.profile)) {
  throw new RangeError(`--profile expected one of ${PROFILES.join(',')}, got ${args.profile}`);
}
const profile = args.profile as Profile;
const slow = profile === 'slow';
const run = onlyScenarios<Scenario>(args.only ?? (slow ? SLOW_SCENARIOS : SCENARIOS).join(','), SCENARIOS);
if (slow && SCENARIOS.some((s) => run(s) && !(SLOW_SCENARIOS as readonly string[]).includes(s))) {
  throw new RangeError(`--profile slow runs ${SLOW_SCENARIOS.join(',')} only`);
}
const nodes = num(args.nodes, slow ? SLOW_NODES : 30, 'nodes', 1);
const warmTrials = num(args['warm-trials'], quick ? 5 : slow ? 10 : 20, 'warm-trials');
const coldRuns = num(args['cold-runs'], quick ? 3 : 10, 'cold-runs');
const fiftyRuns = num(args['fifty-runs'], quick ? 2 : 10, 'fifty-runs');
const fiftyN = num(args.fifty, 50, 'fifty', 2);
/** Worker threads the fifty peers are split over; 0 = all in this thread (see fifty-threads.ts). */
const threads = Math.min(num(args.threads, availableParallelism(), 'threads'), fiftyN);
const loadNs = args['load-n'].split(',').map((s) => num(s, 0, 'load-n', 2));
/** Tracker speed per load size (see the module comment). */
const speeds: number[] = loadNs.map((n, i) => {
  const given = args.speed?.split(',');
  if (given !== undefined) return num(given[Math.min(i, given.length - 1)], 0, 'speed', 1);
  return Math.min(60, Math.floor(1000 / n)) * (quick ? 2 : 1);
});
const skipMinutes = num(args['skip-minutes'], quick ? 10 : 30, 'skip-minutes');
const windowMinutes = num(args['window-minutes'], quick ? 5 : 20, 'window-minutes', 1);

/** Budgets of the waits (real ms). */
const WARM_SETUP_BUDGET_MS = 30_000;
const WARM_JOIN_BUDGET_MS = 10_000;
const COLD_BUDGET_MS = 15_000;
const FIFTY_BUDGET_MS = 30_000;
const LOAD_JOIN_BUDGET_MS = 60_000;

const progress = (msg: string) => process.stderr.write(`[bench:join] ${msg}\n`);
const uniq = (label: string) => `bench-join-${label}-${Math.random().toString(36).slice(2)}`;

/** A rounded statistic of `values`; null for none. */
const stat = (values: readonly number[], f: (v: readonly number[]) => number) =>
  values.length === 0 ? null : round(f(values));
const defined = (vs: (number | undefined)[]) => vs.filter((v) => v !== undefined);

const components = (peers: readonly TrackedTopic[]) => meshComponents(peers).map((c) => c.size);

const gossips = (n: number) =>
  Promise.all(Array.from({ length: n }, () => Gossip.create({ listen: LISTEN })));

/** Σ of one DHT counter over some DHT nodes. */
const dhtSum = (dhts: readonly Dht[], key: 'lookups' | 'queriesSent' | 'putsSent') =>
  dhts.reduce((s, d) => s + d.stats[key], 0);

// --- setup ------------------------------------------------------------------------------------------------

const started = performance.now();
const poolSize = Math.max(
  run('warm') ? 4 : 0,
  run('cold') ? 2 : 0,
  run('fifty') && threads === 0 ? fiftyN : 0,
  run('load') ? Math.max(0, ...loadNs) : 0,
);
progress(`testnet of ${nodes} nodes${slow ? ' (slow profile)' : ''}, pool of ${poolSize} DHT nodes`);
const testnet = await createTestnet(slow ? { nodes, ...SLOW_TESTNET } : { nodes });
const readyAt = performance.now();
// Slow profile: the peers' DHT nodes are read-only (BEP 43), so no other node keeps them in its table and
// every record is stored on, and read from, the testnet's slow nodes: a real peer's node is one among
// millions, never among a topic's closest.
const pool = await Promise.all(
  Array.from({ length: poolSize }, () => testnet.createNode(slow ? { readOnly: true } : {})),
);
if (slow) {
  // The DHT is ready once the dead share is silent: dead from then on, and still in every routing table.
  const waitMs = readyAt + SLOW_TESTNET.dead.afterMs + DEAD_MARGIN_MS - performance.now();
  progress(`waiting ${round(waitMs / 1000)} s for the dead share to go silent`);
  await sleep(Math.max(0, waitMs));
}

// --- warm join --------------------------------------------------------------------------------------------

/** DHT counters (`Dht.stats`) of a peer's DHT node from its `joinTopic` call until it joined. */
const DHT_COUNTERS = [
  'lookups',
  'lookupsTimedOut',
  'queriesSent',
  'queriesStalled',
  'queriesTimedOut',
  'queriesPaced',
  'putsSent',
] as const;
type DhtCounts = Record<(typeof DHT_COUNTERS)[number], number>;
const dhtCounts = (dht: Dht): DhtCounts =>
  Object.fromEntries(DHT_COUNTERS.map((k) => [k, dht.stats[k]])) as DhtCounts;
const dhtDelta = (a: DhtCounts, b: DhtCounts): DhtCounts =>
  Object.fromEntries(DHT_COUNTERS.map((k) => [k, b[k] - a[k]])) as DhtCounts;

/** One peer's `joinTopic`, watched: when it joined and when its bootstrap loop got where. */
interface Joined {
  ok: boolean;
  /** From the call to joined (the budget when not reached). */
  ms: number;
  /** `joinTopic(…, { wait: false })` resolved. */
  createMs?: number;
  /** From the call to the first `status` event of each kind (see below). */
  firstReadDoneMs?: number;
  firstRecordMs?: number;
  firstPublishedMs?: number;
  firstDialMs?: number;
  joinedEventMs?: number;
  dials: number;
  passes: number;
  /** Slot lookups of the reads finished by then (`read-done` events). */
  readLookups: number;
  /** Reads finished by then: when, of which minutes, records found, slot lookups. */
  reads: { at: number; minutes: number[]; records: number; lookups: number }[];
  /** The bootstrap loop's waits by then: when, how long, why. */
  waits: { at: number; ms: number; why: string }[];
  /** Its DHT node's counters from the call until joined (or the budget). */
  dht: DhtCounts;
  topic?: TrackedTopic;
}

/**
 * `joinTopic(…, { wait: false })` then `joined()`, which is what `wait: true` does, so that the
 * `status` events can be listened to (only the first, synchronous `read` event is missed); time-boxed
 * to `budgetMs` from the call. The topic (in `topic`) is the caller's to close, joined or not.
 */
async function joinWatched(
  topic: string,
  opts: { dht: Dht; gossip: Gossip; clock?: Clock },
  budgetMs: number,
): Promise<Joined> {
  const events: { at: number; event: TrackerEvent }[] = [];
  const before = dhtCounts(opts.dht);
  const r: Joined = {
    ok: false,
    ms: budgetMs,
    dials: 0,
    passes: 0,
    readLookups: 0,
    reads: [],
    waits: [],
    dht: before,
  };
  const signal = AbortSignal.timeout(budgetMs);
  const t0 = performance.now();
  try {
    r.topic = await joinTopic(topic, { ...opts, wait: false, signal });
    r.createMs = performance.now() - t0;
    r.topic.on('status', (event) => events.push({ at: performance.now() - t0, event }));
    await r.topic.joined({ signal });
    r.ms = performance.now() - t0;
    r.ok = true;
  } catch {
    // Timed out: a failure, counted at its budget.
  }
  r.dht = dhtDelta(before, dhtCounts(opts.dht));
  const first = (type: TrackerEvent['type']) => events.find((e) => e.event.type === type)?.at;
  r.firstReadDoneMs = first('read-done');
  r.firstRecordMs = first('record');
  r.firstPublishedMs = first('published');
  r.firstDialMs = first('dial');
  r.joinedEventMs = first('joined');
  r.dials = events.filter((e) => e.event.type === 'dial').length;
  for (const { at, event: e } of events) {
    if (e.type === 'read-done') {
      r.reads.push({ at: round(at), minutes: e.minutes, records: e.records, lookups: e.lookups });
    }
    if (e.type === 'wait') r.waits.push({ at: round(at), ms: e.ms, why: e.why });
  }
  r.readLookups = r.reads.reduce((s, e) => s + e.lookups, 0);
  r.passes = r.topic?.stats.tracker.passes ?? 0;
  return r;
}

/** A {@link Joined} for the JSON figures: rounded, without its topic. */
const joinedFigures = ({ topic: _, ...j }: Joined) =>
  Object.fromEntries(
    Object.entries(j).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? round(v) : v]),
  );

type WarmTrial = Joined;

async function warmTrial(t: number): Promise<WarmTrial | 'setup-failed'> {
  const topic = uniq(`warm-${t}`);
  const live = await landedMembers(topic, pool.slice(0, 3), WARM_SETUP_BUDGET_MS);
  if (!live) return 'setup-failed';
  const [gossip] = await gossips(1);
  const trial = await joinWatched(topic, { dht: pool[3]!, gossip: gossip! }, WARM_JOIN_BUDGET_MS);
  await closeAll([trial.topic, ...live], [gossip!]);
  if (slow) progress(`  trial ${t}: ${trialLine(trial)}`);
  return trial;
}

/** One line of a watched join for the progress output. */
function trialLine(j: Joined): string {
  const at = (v: number | undefined) => (v === undefined ? '-' : round(v, 0));
  return (
    `${j.ok ? `${round(j.ms, 0)} ms` : 'FAILED'} (read done ${at(j.firstReadDoneMs)}` +
    `${j.reads[0] === undefined ? '' : ` with ${j.reads[0].records} records`}, record ` +
    `${at(j.firstRecordMs)}, published ${at(j.firstPublishedMs)}, dial ${at(j.firstDialMs)}; passes ` +
    `${j.passes}, ${j.readLookups} slot lookups, ${j.dht.queriesSent} queries, ${j.dht.queriesStalled} ` +
    `stalled, ${j.dht.queriesTimedOut} timed out)`
  );
}

const warm: WarmTrial[] = [];
let warmSetupFailures = 0;
let warmBusy: Busy | undefined;
if (run('warm')) {
  progress(`warm join: ${warmTrials} trials`);
  const stop = busy();
  for (let t = 0; t < warmTrials; t++) {
    const r = await warmTrial(t);
    if (r === 'setup-failed') warmSetupFailures++;
    else warm.push(r);
  }
  warmBusy = stop();
}

// --- a lone peer ------------------------------------------------------------------------------------------

/**
 * Tracker minutes a lone peer is watched for, at `LONE_SPEED` times real time. Its DHT stays real, so
 * a faster clock hides DHT work: each walk takes the same real time, and fewer fit in a tracker minute
 * (measured, the loop of before the watching state: ~440 queries a minute at speed 20, where real
 * time gives thousands). At 6 a walk of ~20 ms real is ~0.1 tracker s.
 */
const LONE_MINUTES = 3;
const LONE_SPEED = num(args['lone-speed'], quick ? 12 : 6, 'lone-speed', 1);
const loneTrials = num(args['lone-trials'], quick ? 1 : 3, 'lone-trials');

/** DHT queries of a node: walk queries, put queries and read-backs (`DhtStats`). */
const dhtQueries = (d: Dht) => d.stats.queriesSent + d.stats.putsSent + d.stats.putsReadBack;

interface LoneTrial {
  queriesPerMinute: number;
  trackerMinutes: number;
  publishes: number;
  passes: number;
  /** A newcomer joining the lone peer, the clock back at real speed. */
  join: Joined;
}

/**
 * One peer alone on a fresh topic for `LONE_MINUTES` of its tracker's clock (a warp clock at
 * `LONE_SPEED`), its DHT node's queries counted from the `joinTopic` call; then the clock goes back to
 * real speed and a newcomer on the same clock joins it (what a warm join against a lone peer costs).
 */
async function loneTrial(t: number): Promise<LoneTrial> {
  const topic = uniq(`lone-${t}`);
  const [ga, gb] = await gossips(2);
  const clock = warpClock();
  clock.setSpeed(LONE_SPEED);
  const dht = pool[0]!;
  const before = dhtQueries(dht);
  const t0 = clock.now();
  const alone = await joinTopic(topic, { dht, gossip: ga!, clock, wait: false });
  let publishes = 0;
  alone.on('status', (e) => {
    if (e.type === 'published') publishes++;
  });
  await sleep((LONE_MINUTES * 60_000) / LONE_SPEED);
  const trackerMinutes = (clock.now() - t0) / 60_000;
  const queriesPerMinute = (dhtQueries(dht) - before) / trackerMinutes;
  const passes = alone.stats.tracker.passes;
  clock.setSpeed(1);
  const join = await joinWatched(topic, { dht: pool[1]!, gossip: gb!, clock }, WARM_JOIN_BUDGET_MS);
  await closeAll([join.topic, alone], [ga!, gb!]);
  progress(
    `  lone ${t}: ${round(queriesPerMinute, 0)} queries/min over ${round(trackerMinutes)} min, ` +
      `${publishes} publishes, ${passes} passes; newcomer ${trialLine(join)}`,
  );
  return { queriesPerMinute, trackerMinutes, publishes, passes, join };
}

const lone: LoneTrial[] = [];
if (run('warm') && !slow) {
  progress(`lone peer: ${loneTrials} trials of ${LONE_MINUTES} tracker minutes at speed ${LONE_SPEED}`);
  for (let t = 0; t < loneTrials; t++) lone.push(await loneTrial(t));
}

// --- two-peer cold start ----------------------------------------------------------------------------------

const cold: { ok: boolean; ms: number; passes: number[]; peers: Joined[] }[] = [];
let coldBusy: Busy | undefined;
if (run('cold')) {
  progress(`two-peer cold start: ${coldRuns} runs`);
  const stop = busy();
  for (let r = 0; r < coldRuns; r++) {
    const topic = uniq(`cold-${r}`);
    const gs = await gossips(2);
    const t0 = performance.now();
    const pair = await Promise.all(
      gs.map((gossip, i) => joinWatched(topic, { dht: pool[i]!, gossip }, COLD_BUDGET_MS)),
    );
    const ok = pair.every((p) => p.ok);
    cold.push({
      ok,
      ms: ok ? performance.now() - t0 : COLD_BUDGET_MS,
      passes: pair.map((p) => p.passes),
      peers: pair,
    });
    if (slow) progress(`  run ${r}: ${pair.map(trialLine).join('; ')}`);
    await closeAll(
      pair.map((p) => p.topic),
      gs,
    );
  }
  coldBusy = stop();
}

// --- fifty at once ----------------------------------------------------------------------------------------

interface FiftyRun {
  ok: boolean;
  /** All joined and one component (the budget when not reached). */
  ms: number;
  /** All joined (the budget when not reached). */
  allJoinedMs: number;
  isolated: number;
  components: number[];
  joinAttempts: number;
  maxPasses: number;
  /** Σ over the peers' DHT nodes, from the start until one mesh (or the budget). */
  dhtLookups: number;
  dhtQueries: number;
  /** Bootstrap dials that became a neighbour, and how long that took (median). */
  dials: number;
  dialsUp: number;
  dialToUpMedianMs: number | null;
  /** Σ over the peers' gossip nodes: dials started and failed, inbound connections, handshake failures. */
  dialsStarted: number;
  dialsFailed: number;
  inbound: number;
  handshakeFailures: number;
  /** Σ over the peers: record reads (1–4 lookups each), records published, publishes that failed. */
  reads: number;
  publishes: number;
  publishFailures: number;
  /** Peers' own bootstrap time (`stats.tracker.joinedAfterMs`): median and max over the peers. */
  peerJoinedMedianMs: number | null;
  peerJoinedMaxMs: number | null;
  /** Medians over the peers of ms from the start to their first finished read and their first dial. */
  firstReadDoneMs: number | null;
  firstDialMs: number | null;
  /**
   * Busy time of each thread's event loop during the run (ms): this thread's (the testnet's DHT nodes,
   * and the peers when not in workers) until one mesh, then each worker's until its figures were taken.
   */
  loopActiveMs: number[];
  busy: Busy;
}

/** Where the peers run (see fifty-threads.ts); events go to the run under way. */
let onGroupEvent: (e: GroupEvent) => void = () => {};
const groups: GroupHandle[] = [];
if (run('fifty')) {
  if (threads === 0) groups.push(localGroup(pool.slice(0, fiftyN), (e) => onGroupEvent(e)));
  else {
    const sizes = Array.from({ length: threads }, (_, i) => Math.floor((fiftyN + i) / threads));
    groups.push(
      ...(await Promise.all(sizes.map((n) => workerGroup(testnet.bootstrap, n, (e) => onGroupEvent(e))))),
    );
  }
}

async function fiftyRun(r: number): Promise<FiftyRun> {
  const topic = uniq(`fifty-${r}`);
  await Promise.all(groups.map((g) => g.prepare(topic)));
  // The mesh as the groups report it: each peer's neighbour list, and when it joined.
  const adjacency = new Map<string, string[]>();
  const joinedAt = new Map<string, number>();
  const graph = () => [...joinedAt.keys()].map((id) => ({ id, neighbors: () => adjacency.get(id) ?? [] }));
  let allJoinedAt: number | undefined;
  let meshAt: number | undefined;
  let reached: () => void = () => {};
  const whole = new Promise<void>((resolve) => {
    reached = resolve;
  });
  onGroupEvent = (e) => {
    if (e.type === 'joined') joinedAt.set(e.id, e.at);
    else adjacency.set(e.id, e.neighbors);
    if (meshAt !== undefined || joinedAt.size < fiftyN) return;
    allJoinedAt ??= e.at;
    if (meshComponents(graph())[0]?.size === fiftyN) {
      meshAt = e.at;
      reached();
    }
  };
  const stop = busy();
  const elu0 = performance.eventLoopUtilization();
  const t0 = epochNow();
  for (const g of groups) g.go(t0);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([whole, new Promise((resolve) => (timer = setTimeout(resolve, FIFTY_BUDGET_MS)))]);
  clearTimeout(timer);
  const mainBusy = stop();
  const mainActiveMs = performance.eventLoopUtilization(elu0).active;
  const comps = meshComponents(graph()).map((c) => c.size);
  const largest = comps[0] ?? 0;
  onGroupEvent = () => {};
  const parts = await Promise.all(groups.map((g) => g.finish()));
  const all = <K extends keyof GroupSummary>(k: K) => parts.flatMap((p) => p[k] as number[]);
  const sum = (k: keyof GroupSummary) => parts.reduce((s, p) => s + (p[k] as number), 0);
  const up = all('dialUpMs');
  const result: FiftyRun = {
    ok: meshAt !== undefined,
    ms: meshAt !== undefined ? meshAt - t0 : FIFTY_BUDGET_MS,
    allJoinedMs: allJoinedAt !== undefined ? allJoinedAt - t0 : FIFTY_BUDGET_MS,
    isolated: meshAt !== undefined ? 0 : fiftyN - largest,
    components: [...comps, ...Array<number>(fiftyN - joinedAt.size).fill(1)],
    joinAttempts: sum('joinAttempts'),
    maxPasses: Math.max(...parts.map((p) => p.maxPasses)),
    dhtLookups: sum('dhtLookups'),
    dhtQueries: sum('dhtQueries'),
    dialsStarted: sum('dialsStarted'),
    dialsFailed: sum('dialsFailed'),
    inbound: sum('inbound'),
    handshakeFailures: sum('handshakeFailures'),
    dials: sum('dials'),
    dialsUp: up.length,
    dialToUpMedianMs: stat(up, median),
    reads: sum('reads'),
    publishes: sum('publishes'),
    publishFailures: sum('publishFailures'),
    peerJoinedMedianMs: stat(all('joinedAfterMs'), median),
    peerJoinedMaxMs: stat(all('joinedAfterMs'), (v) => Math.max(...v)),
    firstReadDoneMs: stat(all('firstReadDoneMs'), median),
    firstDialMs: stat(all('firstDialMs'), median),
    loopActiveMs: [round(mainActiveMs), ...parts.map((p) => round(p.loopActiveMs))],
    busy: {
      cpuPct: mainBusy.cpuPct,
      loopDelayP99Ms: round(Math.max(mainBusy.loopDelayP99Ms, ...parts.map((p) => p.loopDelayP99Ms))),
      loopDelayMaxMs: round(Math.max(mainBusy.loopDelayMaxMs, ...parts.map((p) => p.loopDelayMaxMs))),
    },
  };
  progress(
    `  run ${r}: ${meshAt === undefined ? 'no mesh' : `${round(result.ms)} ms`}, components ` +
      `${result.components.join(',')}, ${result.dhtLookups} lookups, CPU ${result.busy.cpuPct} %`,
  );
  return result;
}

const fifty: FiftyRun[] = [];
if (run('fifty')) {
  progress(
    `${fiftyN} peers at once: ${fiftyRuns} runs, ${threads === 0 ? 'all in this thread' : `in ${threads} worker threads`}`,
  );
  // One run first that is not counted: the peers' code is then compiled in every thread (a fresh
  // worker would otherwise pay for it in the first measured run, and the one-thread runs after it not).
  try {
    await fiftyRun(-1);
    for (let r = 0; r < fiftyRuns; r++) fifty.push(await fiftyRun(r));
  } finally {
    await Promise.all(groups.map((g) => g.close()));
  }
}

// --- steady-state DHT load --------------------------------------------------------------------------------

interface Load {
  n: number;
  speed: number;
  /** Real ms until all joined (at real speed); null when some never did within the budget. */
  joinMs: number | null;
  /** Members joined at the end of the window. */
  joined: number;
  /** Tracker minutes the window lasted (on the clock). */
  minutes: number;
  lookupsPerMinute: number;
  putsPerMinute: number;
  publishesPerMinute: number;
  readsPerMinute: number;
  /** Runs of the publisher and of the merge worker, Σ over members. */
  publisherRunsPerMinute: number;
  mergeRunsPerMinute: number;
  /**
   * Median duration of one slot lookup (`Dht.getAll`) in the window, in tracker seconds: how long a
   * minute's records stay unseen by a reader. The publish cap leaks as it grows (see the module comment).
   */
  lookupMedianTrackerS: number | null;
  /** Components over neighbours at the end of the window. */
  components: number[];
  minNeighbors: number;
  errors: number;
  busy: Busy;
  /** The process was too busy for the figures to mean much (see the module comment). */
  saturated: boolean;
}

/** Times every `getAll` of `dht` into `into` (real ms); returns the function that undoes it. */
function timeGetAll(dht: Dht, into: number[]): () => void {
  const original = dht.getAll;
  dht.getAll = async function (this: Dht, ...a: Parameters<Dht['getAll']>) {
    const t0 = performance.now();
    try {
      return await original.apply(this, a);
    } finally {
      into.push(performance.now() - t0);
    }
  };
  return () => {
    dht.getAll = original;
  };
}

async function load(n: number, speed: number): Promise<Load> {
  const topic = uniq(`load-${n}`);
  const dhts = pool.slice(0, n);
  const clock = warpClock();
  const t0 = performance.now();
  const members = await Promise.all(
    dhts.map((dht) => joinTopic(topic, { dht, gossip: { listen: LISTEN }, clock, wait: false })),
  );
  const joinMs = await until(() => members.every((p) => p.isJoined()), t0, LOAD_JOIN_BUDGET_MS);
  clock.setSpeed(speed);
  await sleep((skipMinutes * 60_000) / speed);
  const snap = () => ({
    at: clock.now(),
    lookups: dhtSum(dhts, 'lookups'),
    puts: dhtSum(dhts, 'putsSent'),
    published: members.reduce((s, p) => s + p.stats.tracker.published, 0),
    reads: members.reduce((s, p) => s + p.stats.tracker.reads, 0),
    publisherRuns: members.reduce((s, p) => s + p.stats.tracker.publisherRuns, 0),
    mergeRuns: members.reduce((s, p) => s + p.stats.tracker.mergeRuns, 0),
  });
  const lookupMs: number[] = [];
  const unwrap = dhts.map((dht) => timeGetAll(dht, lookupMs));
  const stop = busy();
  const a = snap();
  await sleep((windowMinutes * 60_000) / speed);
  const b = snap();
  for (const restore of unwrap) restore();
  const minutes = (b.at - a.at) / 60_000;
  const perMinute = (key: keyof typeof a) => round((b[key] - a[key]) / minutes);
  const busyFigures = stop();
  const result: Load = {
    n,
    speed,
    joinMs: joinMs === undefined ? null : round(joinMs),
    joined: members.filter((p) => p.isJoined()).length,
    minutes: round(minutes),
    lookupsPerMinute: perMinute('lookups'),
    putsPerMinute: perMinute('puts'),
    publishesPerMinute: perMinute('published'),
    readsPerMinute: perMinute('reads'),
    publisherRunsPerMinute: perMinute('publisherRuns'),
    mergeRunsPerMinute: perMinute('mergeRuns'),
    lookupMedianTrackerS: stat(
      lookupMs.map((ms) => (ms * speed) / 1000),
      median,
    ),
    components: components(members),
    minNeighbors: Math.min(...members.map((p) => p.neighbors().length)),
    errors: members.reduce((s, p) => s + p.stats.tracker.errors, 0),
    busy: busyFigures,
    saturated: busyFigures.cpuPct >= 80 || busyFigures.loopDelayP99Ms >= 100,
  };
  await closeAll(members);
  return result;
}

const loads: Load[] = [];
if (run('load')) {
  for (const [i, n] of loadNs.entries()) {
    const speed = speeds[i]!;
    progress(
      `steady-state load, N = ${n}: speed ${speed}, skip ${skipMinutes} + window ${windowMinutes} tracker min ` +
        `(~${Math.round(((skipMinutes + windowMinutes) * 60) / speed)} s)`,
    );
    loads.push(await load(n, speed));
  }
}

await testnet.close();
const elapsedS = (performance.now() - started) / 1000;

// --- report -----------------------------------------------------------------------------------------------

const ms = (rs: readonly { ms: number }[]) => rs.map((r) => r.ms);
const perN = (f: (l: Load) => number) =>
  run('load') ? Object.fromEntries(loads.map((l) => [`n${l.n}`, f(l)])) : null;

/** Medians over some watched joins: phases (ms from the call) and DHT counters. */
function joinedMedians(js: readonly Joined[]) {
  const of = (f: (j: Joined) => number | undefined) => stat(defined(js.map(f)), median);
  return {
    firstReadDone: of((j) => j.firstReadDoneMs),
    firstRecord: of((j) => j.firstRecordMs),
    firstPublished: of((j) => j.firstPublishedMs),
    firstDial: of((j) => j.firstDialMs),
    joined: of((j) => (j.ok ? j.ms : undefined)),
    passes: of((j) => j.passes),
    readLookups: of((j) => j.readLookups),
    ...Object.fromEntries(DHT_COUNTERS.map((k) => [k, of((j) => j.dht[k])])),
  };
}

const figures = {
  profile,
  testnet: slow ? SLOW_TESTNET : null,
  nodes,
  quick,
  elapsedS: round(elapsedS),
  warmJoinTrials: warm.length,
  warmJoinMedianMs: stat(ms(warm), median),
  warmJoinP95Ms: stat(ms(warm), p95),
  warmJoinFailures: warm.filter((t) => !t.ok).length,
  warmJoinSetupFailures: warmSetupFailures,
  warmJoinPhasesMedianMs: run('warm')
    ? {
        create: stat(defined(warm.map((t) => t.createMs)), median),
        firstRecord: stat(defined(warm.map((t) => t.firstRecordMs)), median),
        firstDial: stat(defined(warm.map((t) => t.firstDialMs)), median),
        joinedEvent: stat(defined(warm.map((t) => t.joinedEventMs)), median),
        firstDialToJoined: stat(
          defined(warm.map((t) => (t.firstDialMs === undefined || !t.ok ? undefined : t.ms - t.firstDialMs))),
          median,
        ),
      }
    : null,
  warmJoinDialsMax: run('warm') ? Math.max(0, ...warm.map((t) => t.dials)) : null,
  warmJoinPassesMax: run('warm') ? Math.max(0, ...warm.map((t) => t.passes)) : null,
  warmBusy: warmBusy ?? null,
  warmDhtMedian: run('warm') ? joinedMedians(warm) : null,
  warm: run('warm') ? warm.map(joinedFigures) : null,
  loneQueriesPerMinute: stat(
    lone.map((l) => l.queriesPerMinute),
    median,
  ),
  loneQueriesPerMinuteMax: lone.length === 0 ? null : round(Math.max(...lone.map((l) => l.queriesPerMinute))),
  loneJoinMedianMs: stat(ms(lone.map((l) => l.join)), median),
  loneJoinFailures: lone.filter((l) => !l.join.ok).length,
  lone: lone.length === 0 ? null : lone.map((l) => ({ ...l, join: joinedFigures(l.join) })),
  coldPairRuns: cold.length,
  coldPairMedianMs: stat(ms(cold), median),
  coldPairP95Ms: stat(ms(cold), p95),
  coldPairFailures: cold.filter((r) => !r.ok).length,
  coldPairPassesMax: run('cold') ? Math.max(0, ...cold.flatMap((r) => r.passes)) : null,
  coldBusy: coldBusy ?? null,
  coldPeerMedian: run('cold') ? joinedMedians(cold.flatMap((r) => r.peers)) : null,
  cold: run('cold')
    ? cold.map(({ peers, ...r }) => ({ ...r, ms: round(r.ms), peers: peers.map(joinedFigures) }))
    : null,
  fiftyPeers: fiftyN,
  fiftyThreads: run('fifty') ? threads : null,
  fiftyRuns: fifty.length,
  fiftyAllJoinedMedianMs: stat(ms(fifty), median),
  fiftyAllJoinedP95Ms: stat(ms(fifty), p95),
  fiftyJoinedOnlyMedianMs: stat(
    fifty.map((r) => r.allJoinedMs),
    median,
  ),
  fiftyIsolated: run('fifty') ? fifty.reduce((s, r) => s + r.isolated, 0) : null,
  fiftyFailures: fifty.filter((r) => !r.ok).length,
  fiftyFirstReadDoneMedianMs: stat(defined(fifty.map((r) => r.firstReadDoneMs ?? undefined)), median),
  fiftyFirstDialMedianMs: stat(defined(fifty.map((r) => r.firstDialMs ?? undefined)), median),
  fiftyDialToUpMedianMs: stat(defined(fifty.map((r) => r.dialToUpMedianMs ?? undefined)), median),
  fiftyDhtLookupsMedian: stat(
    fifty.map((r) => r.dhtLookups),
    median,
  ),
  fiftyCpuPctMedian: stat(
    fifty.map((r) => r.busy.cpuPct),
    median,
  ),
  fifty: run('fifty') ? fifty : null,
  loadSpeed: perN((l) => l.speed),
  loadSkipMinutes: skipMinutes,
  loadWindowMinutes: windowMinutes,
  lookupsPerMinute: perN((l) => l.lookupsPerMinute),
  putsPerMinute: perN((l) => l.putsPerMinute),
  publishesPerMinute: perN((l) => l.publishesPerMinute),
  readsPerMinute: perN((l) => l.readsPerMinute),
  load: run('load') ? loads : null,
};

const show = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v);
const busyLine = (b: Busy) =>
  `CPU ${b.cpuPct} % of a core, event loop delay p99 ${b.loopDelayP99Ms} ms (max ${b.loopDelayMaxMs})`;

if (args.json) {
  console.log(JSON.stringify(figures));
} else {
  console.log(`joinTopic on a ${nodes}-node loopback DHT testnet${quick ? ' (--quick)' : ''}`);
  if (slow) {
    const { latency, loss, dead } = SLOW_TESTNET;
    console.log(
      `--profile slow: replies ${latency.minMs}–${latency.maxMs} ms late, ${loss * 100} % lost, ` +
        `${dead.share * 100} % of nodes silent from ${dead.afterMs / 1000} s (trials start after that)`,
    );
  }
  console.log(`node ${process.version}, ${new Date().toISOString()}, ${round(elapsedS)} s\n`);
  const rows: (string | number)[][] = [];
  if (run('warm')) {
    rows.push([
      `warm join (${warm.length} trials)`,
      show(figures.warmJoinMedianMs),
      show(figures.warmJoinP95Ms),
      `${figures.warmJoinFailures} (+${warmSetupFailures} setup)`,
      slow ? 'median ≤ 500, 0 failures' : 'median ≤ 50, p95 ≤ 200',
    ]);
  }
  if (lone.length > 0) {
    rows.push([
      `newcomer joins a lone peer (${lone.length} trials; lone: ${figures.loneQueriesPerMinute} DHT queries/min)`,
      show(figures.loneJoinMedianMs),
      show(stat(ms(lone.map((l) => l.join)), p95)),
      figures.loneJoinFailures,
      'median ≤ 50; lone ≤ 300 queries/min',
    ]);
  }
  if (run('cold')) {
    rows.push([
      `two-peer cold start (${cold.length} runs)`,
      show(figures.coldPairMedianMs),
      show(figures.coldPairP95Ms),
      figures.coldPairFailures,
      slow ? 'median ≤ 4000, 0 failures' : 'median ≤ 2000',
    ]);
  }
  if (run('fifty')) {
    rows.push([
      `${fiftyN} at once: all joined, one mesh (${fifty.length} runs, ${threads === 0 ? 'one thread' : `${threads} threads`})`,
      show(figures.fiftyAllJoinedMedianMs),
      show(figures.fiftyAllJoinedP95Ms),
      figures.fiftyFailures,
      'median ≤ 1500',
    ]);
    rows.push([`${fiftyN} at once: all joined`, show(figures.fiftyJoinedOnlyMedianMs), '', '', '']);
  }
  if (rows.length > 0) printTable(['scenario', 'median ms', 'p95 ms', 'failures', 'target'], rows);
  if (run('warm')) {
    const ph = figures.warmJoinPhasesMedianMs!;
    console.log(
      `\nwarm join, median ms from the call: joinTopic returned ${show(ph.create)}, first record ` +
        `${show(ph.firstRecord)}, first dial ${show(ph.firstDial)}, 'joined' event ${show(ph.joinedEvent)}; ` +
        `first dial → joined ${show(ph.firstDialToJoined)}`,
    );
    console.log(
      `  dials per join ≤ ${figures.warmJoinDialsMax}, passes ≤ ${figures.warmJoinPassesMax}; ` +
        busyLine(warmBusy!),
    );
  }
  if (run('cold')) {
    console.log(
      `two-peer cold start: passes per peer ≤ ${figures.coldPairPassesMax}; ${busyLine(coldBusy!)}`,
    );
  }
  if (slow) {
    console.log('\nper peer, median (ms from its joinTopic call; DHT counters of its node until joined)');
    const keys = ['firstReadDone', 'firstRecord', 'firstPublished', 'firstDial', 'joined', 'passes'] as const;
    const dhtKeys = ['readLookups', 'queriesSent', 'queriesStalled', 'queriesTimedOut', 'lookupsTimedOut'];
    const rows: [string, ReturnType<typeof joinedMedians> | null][] = [
      ['warm join (newcomer)', figures.warmDhtMedian],
      ['two-peer cold start (each)', figures.coldPeerMedian],
    ];
    printTable(
      ['scenario', ...keys, ...dhtKeys],
      rows
        .filter(([, m]) => m !== null)
        .map(([name, m]) => [
          name,
          ...[...keys, ...dhtKeys].map((k) => show((m as Record<string, number | null>)[k])),
        ]),
    );
  }
  if (run('fifty')) {
    console.log(
      `${fiftyN} at once: isolated peers (Σ over runs) ${figures.fiftyIsolated} (target 0); ` +
        `per run (median): ${show(figures.fiftyDhtLookupsMedian)} DHT lookups, dial → neighbour ` +
        `${show(figures.fiftyDialToUpMedianMs)} ms, CPU ${show(figures.fiftyCpuPctMedian)} % of a core; ` +
        `per peer (median): first read done ${show(figures.fiftyFirstReadDoneMedianMs)} ms, first dial ` +
        `${show(figures.fiftyFirstDialMedianMs)} ms`,
    );
    printTable(
      [
        'run',
        'mesh ms',
        'joined ms',
        'components',
        'passes ≤',
        'lookups',
        'first read ms',
        'first dial ms',
        'dials (up)',
        'dial→up ms',
        'loop p99 ms',
      ],
      fifty.map((r, i) => [
        i,
        round(r.ms),
        round(r.allJoinedMs),
        r.components.join(','),
        r.maxPasses,
        r.dhtLookups,
        show(r.firstReadDoneMs),
        show(r.firstDialMs),
        `${r.dials} (${r.dialsUp})`,
        show(r.dialToUpMedianMs),
        r.busy.loopDelayP99Ms,
      ]),
    );
  }
  if (run('load')) {
    console.log(
      `\nsteady-state DHT load: default config, joined at real speed, then faster ` +
        `(skip ${skipMinutes} tracker min, count over ${windowMinutes}); per tracker minute`,
    );
    printTable(
      [
        'N',
        'speed',
        'join ms',
        'lookups/min',
        'puts/min',
        'published/min',
        'reads/min',
        'runs/min (pub+merge)',
        'lookup (tracker s)',
        'components',
        'CPU %',
        'loop p99 ms',
      ],
      loads.map((l) => [
        l.n,
        l.speed,
        show(l.joinMs),
        l.lookupsPerMinute,
        l.putsPerMinute,
        l.publishesPerMinute,
        l.readsPerMinute,
        `${l.publisherRunsPerMinute}+${l.mergeRunsPerMinute}`,
        show(l.lookupMedianTrackerS),
        l.components.join(','),
        `${l.busy.cpuPct}${l.saturated ? ' saturated' : ''}`,
        l.busy.loopDelayP99Ms,
      ]),
    );
    const l10 = loads.find((l) => l.n === 10);
    const l50 = loads.find((l) => l.n === 50);
    if (l10 && l50) {
      console.log(
        `lookups/min N=50 / N=10: ${round(l50.lookupsPerMinute / l10.lookupsPerMinute, 2)} (target ≤ 2)`,
      );
    }
  }
}
