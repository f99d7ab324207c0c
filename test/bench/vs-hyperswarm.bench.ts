/**
 * `npm run bench:vs-hyperswarm [-- --json] [-- --quick] [-- --only a,b,c,d] [-- --nodes 30]
 * [-- --trials 20] [-- --sizes 10,25,50] [-- --runs 10] [-- --n 50] [-- --broadcasts 20] [-- --warmup 10]
 * [-- --payload-bytes 1024] [-- --stagger-ms 0] [-- --full-wait] [-- --budget-s 360] [-- --seed 1]`
 *
 * gossip-topic-tracker (gtt: `joinTopic`, BEP44 records in a mainline DHT, HyParView + PlumTree over
 * Noise WebSockets) against Hyperswarm 4 (hyperdht announce/lookup, Noise over UDX), in one run on one
 * machine, each on its own loopback testnet of `--nodes` (30) DHT nodes. Nothing binds or contacts
 * anything but 127.0.0.1 (vs-systems.ts says how, and checks every DHT socket). The scenarios:
 *
 * - **(a) warm join** (`--trials`, 20, the systems alternating): a topic with one member whose
 *   announcement has landed (gtt: a `joinTopic` member whose first record is published; Hyperswarm:
 *   `join(topic, { server: true, client: false })` and `flushed()`), and a newcomer whose DHT node (gtt:
 *   pooled) and listener exist already: time from its `joinTopic()` / `join(topic)` call to its first
 *   neighbour / `connection`. gtt's milestones (first record read, first dial) are reported too.
 *   Target: gtt within 10× of Hyperswarm (median).
 * - **(b) N at once** (`--sizes` 10, 25, 50; `--runs`, 10 each; rounds over all sizes, the systems
 *   alternating): N fresh peers (pre-created as in a) start joining a fresh topic at the same instant
 *   (`--stagger-ms` spaces the starts, for both systems); time until every peer has a neighbour and all
 *   form one connected graph (links either end reports, polled every 25 ms), and isolated peers (no
 *   neighbour, or outside the largest component) after 30 s; a run that forms one graph has none, and
 *   one that does not enters the times at the 30 s budget. Hyperswarm joins with its defaults (server
 *   and client) and nothing else: peers whose lookups all pass the DHT before any announce lands never
 *   see each other until its refresh, 10–12 min later. So a Hyperswarm run stops early once it is
 *   quiescent — every join's query finished (`flushed`), no connection in flight, every peer it knows
 *   of connected at both ends — because nothing changes from then until 30 s; `--full-wait` waits the
 *   30 s anyway and reports the isolated count at both moments (to check that claim). CPU of this
 *   process (% of one core) and its event loop delay come with each size.
 *   Target: gtt 0 isolated over all runs (fewer than Hyperswarm).
 * - **(c) RSS per peer** and **(d) broadcast** (`--n`, 50): one child process per system (run with
 *   `--expose-gc`, see vs-worker.ts) holds that system's own testnet and N peers joined one at a time,
 *   idle for 8 s; then (RSS − the child's RSS before creating the peers) / N after gc, and
 *   `--broadcasts` (20) broadcasts of `--payload-bytes` (1 KiB) after `--warmup` (10), one at a time
 *   from seeded random peers: time until all N − 1 others delivered one, and payload messages sent per
 *   broadcast (Σ over peers; gtt's other protocol messages in the same window are reported apart). gtt
 *   broadcasts with `topic.broadcast` (PlumTree); Hyperswarm with an app-level flood over its
 *   connections (vs-systems.ts `Flood`). Targets: gtt below Hyperswarm on RSS per peer, reach-all
 *   median and payload messages per broadcast. All N peers share the child's one event loop, so a
 *   reach-all time counts the CPU work of every send as much as the hops: Hyperswarm's N ≤ 64 peers
 *   form a complete graph (its default `maxPeers` is 64), whose flood is one hop deep but (N − 1)²
 *   encrypted sends; on separate machines it would take about one hop.
 *
 * The table shows both systems side by side with gtt / Hyperswarm ratios and the targets; `--json`
 * prints one JSON array, one object per scenario (and size) and system, e.g. `{ scenario: 'warm-join',
 * system: 'gtt', medianMs, p95Ms, … }` (scenarios `warm-join`, `at-once`, `rss`, `broadcast`); gtt's
 * objects carry `ratio`, its compared figures over Hyperswarm's, and every object the run's `env`
 * (date, Node, CPU model and cores, load average before and after). Progress goes to stderr.
 * `--quick`: 5 trials, 2 runs per size, 5 measured broadcasts.
 *
 * Every wait is time-boxed and everything is closed at the end. `--budget-s` (360) bounds the run: (b)
 * stops after the round that would end past it (less 90 s kept for c and d) and says so; past it plus
 * 5 min the process exits 1. On this 2-core machine with nothing else running, all 10 rounds fit
 * (≈ 5 min in all; a gtt run that misses one graph adds its 30 s). One process hosts all peers of (a)
 * and (b), so other work on the machine slows both systems (gtt more: 50 peers at once need ~100 % of
 * a core for seconds); the load average before and after is printed, and CPU and event loop delay per
 * size in (b).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_RELEASE_LINGER_MS } from '../../src/net/config.js';
import { type Busy, busy, median, num, onlyScenarios, p95, printTable, round } from './stats.js';
import {
  type BenchPeer,
  type BenchSystem,
  componentSets,
  createSystem,
  isolatedCount,
  oneGraph,
  SYSTEMS,
  type SystemName,
  symmetric,
} from './vs-systems.js';
import { runWorker, type WorkerConfig, type WorkerResult } from './vs-worker.js';

const SCENARIOS = ['a', 'b', 'c', 'd'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: SCENARIOS.join(',') },
    nodes: { type: 'string', default: '30' },
    trials: { type: 'string' },
    sizes: { type: 'string', default: '10,25,50' },
    runs: { type: 'string' },
    n: { type: 'string', default: '50' },
    broadcasts: { type: 'string' },
    warmup: { type: 'string' },
    'payload-bytes': { type: 'string', default: '1024' },
    'stagger-ms': { type: 'string', default: '0' },
    'full-wait': { type: 'boolean', default: false },
    'budget-s': { type: 'string' },
    seed: { type: 'string', default: '1' },
    child: { type: 'string' },
  },
});

/** Budgets (real ms). */
const WARM_SETUP_BUDGET_MS = 30_000;
const WARM_JOIN_BUDGET_MS = 10_000;
/** (b): isolated peers are counted this long after the start. */
const AT_ONCE_BUDGET_MS = 30_000;
/** A child (c, d) must report within this long. */
const CHILD_BUDGET_MS = 180_000;
/** A child that reported must exit within this long. */
const CHILD_EXIT_MS = 15_000;
/**
 * Time (c) and (d) take, kept out of `--budget-s` for (b): two children of 50 peers each, ~25 s on an
 * idle machine, ~65 s with the machine's two cores shared with other work (measured).
 */
const CD_RESERVE_MS = 90_000;
/** Past `--budget-s` plus this, the children are killed and the process exits 1. */
const HARD_BUDGET_EXTRA_MS = 5 * 60_000;
/** (c): idle wait before reading RSS: gtt's released links linger this long, then 3 s to settle. */
const IDLE_MS = DEFAULT_RELEASE_LINGER_MS + 3000;
const POLL_MS = 25;

const progress = (msg: string): void => {
  process.stderr.write(`[bench:vs-hyperswarm] ${msg}\n`);
};
const uniq = (label: string) => `bench-vs-${label}-${Math.random().toString(36).slice(2)}`;

// --- child processes (c, d) ---------------------------------------------------------------------------------

/** Children not yet exited: killed if this process ends early. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => process.exit(130));
}

/** Runs scenarios c/d for one system in a child process; resolves with its report (never rejects). */
function runChild(config: WorkerConfig): Promise<WorkerResult> {
  const child = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(config)], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  live.add(child);
  // Children never write to our stdout: `--json` must print exactly one value there.
  child.stdout?.on('data', (d: Buffer) => process.stderr.write(d));
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
  const fail = (error: string): WorkerResult => ({ system: config.system, n: config.n, error });
  return new Promise((resolve) => {
    let result: WorkerResult | undefined;
    let timer = setTimeout(() => {
      progress(`${config.system} child: no report within ${CHILD_BUDGET_MS} ms: killed`);
      child.kill('SIGKILL');
    }, CHILD_BUDGET_MS);
    child.on('message', (m: WorkerResult) => {
      result = m;
      // It closed everything before reporting; it gets a little longer to exit by itself.
      clearTimeout(timer);
      timer = setTimeout(() => {
        progress(`${config.system} child: still running ${CHILD_EXIT_MS} ms after its report: killed`);
        child.kill('SIGKILL');
      }, CHILD_EXIT_MS);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve(result ?? fail(`child exited (${signal ?? `code ${code}`}) without a report`));
    });
  });
}

// --- (a) warm join ------------------------------------------------------------------------------------------

interface WarmTrial {
  ok: boolean;
  /** The budget when not joined. */
  ms: number;
  /** The newcomer's join milestones (gtt: first record read, first dial), ms from the call. */
  phases: Record<string, number>;
}

async function warmTrial(system: BenchSystem, t: number): Promise<WarmTrial | 'setup-failed'> {
  const topic = uniq(`warm-${t}`);
  const [member, newcomer] = (await system.createPeers(2)) as [BenchPeer, BenchPeer];
  try {
    await member.join(topic, { serverOnly: true });
    if (!(await member.announced(WARM_SETUP_BUDGET_MS))) return 'setup-failed';
    const t0 = performance.now();
    await newcomer.join(topic);
    const ok = await newcomer.firstNeighbor(WARM_JOIN_BUDGET_MS - (performance.now() - t0));
    return { ok, ms: ok ? performance.now() - t0 : WARM_JOIN_BUDGET_MS, phases: newcomer.phases() };
  } finally {
    await Promise.allSettled([member.close(), newcomer.close()]);
  }
}

/** Median of each join milestone over the trials that have it, as `<milestone>MedianMs`. */
function phaseMedians(trials: readonly WarmTrial[]): Record<string, number> {
  const keys = new Set(trials.flatMap((t) => Object.keys(t.phases)));
  const out: Record<string, number> = {};
  for (const k of keys) {
    const values = trials.flatMap((t) => (t.phases[k] === undefined ? [] : [t.phases[k]]));
    out[k.replace(/Ms$/, 'MedianMs')] = round(median(values));
  }
  return out;
}

// --- (b) N at once ------------------------------------------------------------------------------------------

interface AtOnceRun {
  ok: boolean;
  /** Every peer has a neighbour and all form one graph (the budget when not reached). */
  ms: number;
  /** Every peer has a neighbour (the budget when not reached). */
  allJoinedMs: number;
  isolated: number;
  components: number[];
  /** Hyperswarm: when it became quiescent (see the header), ms since the start; the run stops then. */
  quiescentAtMs: number | null;
  /** Isolated peers at that moment (with `--full-wait`, compare with `isolated` at 30 s). */
  isolatedAtQuiescence: number | null;
  busy: Busy;
}

async function atOnceRun(
  system: BenchSystem,
  n: number,
  r: number,
  opts: { staggerMs: number; fullWait: boolean },
): Promise<AtOnceRun> {
  const peers = await system.createPeers(n);
  try {
    const topic = uniq(`at-once-${n}-${r}`);
    const stop = busy();
    const t0 = performance.now();
    if (opts.staggerMs === 0) {
      await Promise.all(peers.map((p) => p.join(topic)));
    } else {
      for (const p of peers) {
        await p.join(topic);
        await sleep(opts.staggerMs);
      }
    }
    let allJoinedMs: number | undefined;
    let quiescentAtMs: number | null = null;
    let isolatedAtQuiescence: number | null = null;
    let ok = false;
    for (;;) {
      const elapsed = performance.now() - t0;
      if (peers.every((p) => p.hasNeighbor())) allJoinedMs ??= elapsed;
      if (oneGraph(peers)) {
        ok = true;
        break;
      }
      if (elapsed >= AT_ONCE_BUDGET_MS) break;
      if (quiescentAtMs === null && peers.every((p) => p.quiescent()) && symmetric(peers)) {
        quiescentAtMs = round(elapsed);
        isolatedAtQuiescence = isolatedCount(peers);
        if (!opts.fullWait) break;
      }
      await sleep(POLL_MS);
    }
    const ms = ok ? performance.now() - t0 : AT_ONCE_BUDGET_MS;
    const busyFigures = stop();
    return {
      busy: busyFigures,
      ok,
      ms,
      allJoinedMs: allJoinedMs ?? AT_ONCE_BUDGET_MS,
      isolated: ok ? 0 : isolatedCount(peers),
      components: componentSets(peers).map((c) => c.size),
      quiescentAtMs,
      isolatedAtQuiescence,
    };
  } finally {
    await Promise.allSettled(peers.map((p) => p.close()));
  }
}

// --- main ---------------------------------------------------------------------------------------------------

/** One JSON object of the report. */
type Figures = { scenario: string; system: SystemName } & Record<string, unknown>;

async function main(): Promise<void> {
  const quick = args.quick;
  const run = onlyScenarios<Scenario>(args.only, SCENARIOS);
  const nodes = num(args.nodes, 30, 'nodes', 2);
  const trials = num(args.trials, quick ? 5 : 20, 'trials', 1);
  const sizes = args.sizes.split(',').map((s) => num(s, 0, 'sizes', 2));
  const runs = num(args.runs, quick ? 2 : 10, 'runs', 1);
  const cdN = num(args.n, 50, 'n', 2);
  const broadcastCount = num(args.broadcasts, quick ? 5 : 20, 'broadcasts', 1);
  const warmup = num(args.warmup, 10, 'warmup', 0);
  const payloadBytes = num(args['payload-bytes'], 1024, 'payload-bytes', 4);
  const staggerMs = num(args['stagger-ms'], 0, 'stagger-ms', 0);
  const seed = num(args.seed, 1, 'seed', 0);
  const fullWait = args['full-wait'];

  const budgetS = num(args['budget-s'], 360, 'budget-s', 30);
  const started = performance.now();
  // (b) stops early when its next round would end past this, leaving (c)/(d) their share.
  const deadline = started + budgetS * 1000 - (run('c') || run('d') ? CD_RESERVE_MS : 0);
  let truncated = false;
  const hardMs = budgetS * 1000 + HARD_BUDGET_EXTRA_MS;
  const watchdog = setTimeout(() => {
    progress(`hard run budget of ${hardMs / 1000} s exceeded: exiting`);
    process.exit(1);
  }, hardMs);
  watchdog.unref();

  const env = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memGB: round(totalmem() / 1024 ** 3, 1),
    /** 1-minute load average before and after the run: other work on the machine skews every figure. */
    loadAvg: [round(loadavg()[0]!, 2)],
  };
  const out: Figures[] = [];

  // (a) and (b) run in this process, both systems side by side, trials interleaved.
  if (run('a') || run('b')) {
    progress(`testnets of ${nodes} DHT nodes each`);
    const systems = new Map<SystemName, BenchSystem>();
    try {
      for (const name of SYSTEMS) systems.set(name, await createSystem(name, nodes));

      if (run('a')) {
        progress(`(a) warm join: ${trials} trials per system`);
        const warm = new Map<SystemName, { trials: WarmTrial[]; setupFailures: number }>(
          SYSTEMS.map((s) => [s, { trials: [], setupFailures: 0 }]),
        );
        for (let t = 0; t < trials; t++) {
          for (const name of SYSTEMS) {
            const r = await warmTrial(systems.get(name)!, t);
            const w = warm.get(name)!;
            if (r === 'setup-failed') w.setupFailures++;
            else w.trials.push(r);
          }
        }
        for (const name of SYSTEMS) {
          const w = warm.get(name)!;
          const ms = w.trials.map((t) => t.ms);
          out.push({
            scenario: 'warm-join',
            system: name,
            trials: w.trials.length,
            medianMs: ms.length > 0 ? round(median(ms)) : null,
            p95Ms: ms.length > 0 ? round(p95(ms)) : null,
            minMs: ms.length > 0 ? round(Math.min(...ms)) : null,
            maxMs: ms.length > 0 ? round(Math.max(...ms)) : null,
            failures: w.trials.filter((t) => !t.ok).length,
            setupFailures: w.setupFailures,
            ...phaseMedians(w.trials),
          });
        }
      }

      if (run('b')) {
        // Rounds over all sizes, so that a run cut short by the budget leaves every size measured.
        progress(`(b) ${sizes.join(', ')} at once: ${runs} runs per size and system`);
        const results = new Map<string, AtOnceRun[]>();
        const key = (name: SystemName, n: number) => `${name}/${n}`;
        let rounds = 0;
        for (let r = 0; r < runs; r++) {
          const roundStart = performance.now();
          for (const n of sizes) {
            for (const name of SYSTEMS) {
              const res = await atOnceRun(systems.get(name)!, n, r, { staggerMs, fullWait });
              results.set(key(name, n), [...(results.get(key(name, n)) ?? []), res]);
              progress(
                `  N=${n} ${name} run ${r}: ${res.ok ? `one graph in ${round(res.ms)} ms` : 'no single graph'}, ` +
                  `components ${res.components.slice(0, 12).join(',')}${res.components.length > 12 ? ',…' : ''}, ` +
                  `isolated ${res.isolated}, CPU ${res.busy.cpuPct} %` +
                  (res.quiescentAtMs === null
                    ? ''
                    : ` (quiescent at ${res.quiescentAtMs} ms with ${res.isolatedAtQuiescence} isolated)`),
              );
            }
          }
          rounds++;
          const roundMs = performance.now() - roundStart;
          if (r < runs - 1 && performance.now() + roundMs > deadline) {
            progress(`(b) stopped after ${rounds} of ${runs} runs: the next would overrun --budget-s`);
            truncated = true;
            break;
          }
        }
        for (const n of sizes) {
          for (const name of SYSTEMS) {
            const rs = results.get(key(name, n)) ?? [];
            out.push({
              scenario: 'at-once',
              system: name,
              n,
              runs: rs.length,
              runsAsked: runs,
              staggerMs,
              medianMs: round(median(rs.map((x) => x.ms))),
              p95Ms: round(p95(rs.map((x) => x.ms))),
              allJoinedMedianMs: round(median(rs.map((x) => x.allJoinedMs))),
              failures: rs.filter((x) => !x.ok).length,
              isolated: rs.reduce((s, x) => s + x.isolated, 0),
              isolatedPerRun: rs.map((x) => x.isolated),
              largestComponentPerRun: rs.map((x) => x.components[0] ?? 0),
              // gtt: component sizes of the runs that missed one graph (a split mesh, e.g. [8, 2]).
              ...(name === 'gtt'
                ? { failedRunComponents: rs.filter((x) => !x.ok).map((x) => x.components) }
                : {}),
              // Hyperswarm only: when each run became quiescent, and its isolated peers then.
              ...(name === 'hyperswarm'
                ? {
                    earlyStops: fullWait ? 0 : rs.filter((x) => x.quiescentAtMs !== null).length,
                    quiescentAtMs: rs.map((x) => x.quiescentAtMs),
                    isolatedAtQuiescence: rs.map((x) => x.isolatedAtQuiescence),
                  }
                : {}),
              cpuPctMedian: round(median(rs.map((x) => x.busy.cpuPct))),
              loopDelayP99MsMedian: round(median(rs.map((x) => x.busy.loopDelayP99Ms))),
            });
          }
        }
      }
    } finally {
      await Promise.allSettled([...systems.values()].map((s) => s.close()));
    }
  }

  // (c) and (d): one child per system, one after the other.
  if (run('c') || run('d')) {
    for (const name of SYSTEMS) {
      progress(`(c/d) ${name}: ${cdN} peers in a child process`);
      const r = await runChild({
        system: name,
        nodes,
        n: cdN,
        rss: run('c'),
        broadcast: run('d'),
        idleMs: IDLE_MS,
        warmup,
        broadcasts: broadcastCount,
        payloadBytes,
        seed,
      });
      const common = {
        n: r.n,
        buildMs: r.buildMs ?? null,
        joinFailures: r.joinFailures ?? null,
        components: r.components ?? null,
        degree: r.degree ?? null,
        ...(r.error === undefined ? {} : { error: r.error }),
      };
      if (run('c')) {
        out.push({
          scenario: 'rss',
          system: name,
          ...common,
          rssPerPeerMB: r.rssPerPeerMB ?? null,
          heapPerPeerMB: r.heapPerPeerMB ?? null,
          baselineRssMB: r.baselineRssMB ?? null,
          rssMB: r.rssMB ?? null,
        });
      }
      if (run('d')) {
        const reach = r.reachAllMs ?? [];
        const done = reach.filter((v) => v !== null);
        const complete = reach.length > 0 && done.length === reach.length;
        out.push({
          scenario: 'broadcast',
          system: name,
          ...common,
          broadcasts: reach.length,
          payloadBytes,
          // Latencies are null when some broadcast never reached everyone.
          medianMs: complete ? round(median(done), 2) : null,
          p95Ms: complete ? round(p95(done), 2) : null,
          maxMs: complete ? round(Math.max(...done), 2) : null,
          missed: r.missed ?? null,
          msgsPerBroadcast: r.payloadMsgsPerBroadcast ?? null,
          controlMsgsPerBroadcast: r.controlMsgsPerBroadcast ?? null,
          // Every message sent in the measured phase (gtt: also IHAVE, GRAFT, PRUNE, HyParView).
          allMsgsPerBroadcast:
            r.payloadMsgsPerBroadcast === undefined
              ? null
              : round(r.payloadMsgsPerBroadcast + (r.controlMsgsPerBroadcast ?? 0), 1),
        });
      }
    }
  }

  clearTimeout(watchdog);
  env.loadAvg.push(round(loadavg()[0]!, 2));
  const elapsedS = round((performance.now() - started) / 1000);
  addRatios(out);
  for (const f of out) f.env = { ...env, elapsedS, quick, budgetS, truncated };

  if (args.json) console.log(JSON.stringify(out));
  else printReport(out, { env, elapsedS, quick, nodes, staggerMs, fullWait, truncated });
}

// --- report -------------------------------------------------------------------------------------------------

/** The figures compared per scenario: gtt's object gets `ratio[key]` = gtt / Hyperswarm. */
const COMPARED: Record<string, string[]> = {
  'warm-join': ['medianMs', 'p95Ms'],
  'at-once': ['medianMs', 'isolated'],
  rss: ['rssPerPeerMB'],
  broadcast: ['medianMs', 'p95Ms', 'msgsPerBroadcast', 'allMsgsPerBroadcast'],
};

const sameCase = (a: Figures, b: Figures) => a.scenario === b.scenario && a.n === b.n;

function ratio(ours: unknown, theirs: unknown): number | null {
  if (typeof ours !== 'number' || typeof theirs !== 'number' || theirs === 0) return null;
  return round(ours / theirs, 2);
}

/**
 * Whether a figure is a real measurement: (b)'s times of a system that missed one graph in most runs
 * are its 30 s budget, not a time to compare.
 */
function measured(f: Figures | undefined, key: string): boolean {
  if (f === undefined) return false;
  if (f.scenario === 'at-once' && key.endsWith('Ms')) return (f.failures as number) <= (f.runs as number) / 2;
  return typeof f[key] === 'number';
}

function addRatios(out: Figures[]): void {
  for (const g of out.filter((f) => f.system === 'gtt')) {
    const h = out.find((f) => f.system === 'hyperswarm' && sameCase(f, g));
    if (h === undefined) continue;
    g.ratio = Object.fromEntries(
      (COMPARED[g.scenario] ?? []).map((k) => [
        k,
        measured(g, k) && measured(h, k) ? ratio(g[k], h[k]) : null,
      ]),
    );
  }
}

function printReport(
  out: Figures[],
  o: {
    env: { date: string; node: string; cpu: string; cores: number; memGB: number; loadAvg: number[] };
    elapsedS: number;
    quick: boolean;
    nodes: number;
    staggerMs: number;
    fullWait: boolean;
    truncated: boolean;
  },
): void {
  const show = (v: unknown): string | number =>
    v === null || v === undefined ? '-' : typeof v === 'number' ? v : String(v);
  const pair = (scenario: string, n?: number) => {
    const g = out.find((f) => f.system === 'gtt' && f.scenario === scenario && f.n === n);
    const h = out.find((f) => f.system === 'hyperswarm' && f.scenario === scenario && f.n === n);
    return { g, h };
  };
  const rows: (string | number)[][] = [];
  const row = (
    label: string,
    g: Figures | undefined,
    h: Figures | undefined,
    key: string,
    target: string,
    met: ((gv: number, hv: number) => boolean | string) | undefined,
    fmt: (v: unknown, f: Figures | undefined) => string | number = show,
  ) => {
    const gv = g?.[key];
    const hv = h?.[key];
    let verdict = '';
    if (met !== undefined && typeof gv === 'number' && typeof hv === 'number') {
      const m = met(gv, hv);
      verdict = typeof m === 'string' ? m : m ? 'met' : 'MISSED';
    }
    const r = measured(g, key) && measured(h, key) ? ratio(gv, hv) : null;
    rows.push([label, fmt(gv, g), fmt(hv, h), show(r), target, verdict]);
  };

  console.log(
    `gossip-topic-tracker vs Hyperswarm: each on its own ${o.nodes}-node DHT testnet on 127.0.0.1` +
      (o.quick ? ' (--quick)' : ''),
  );
  console.log(
    `${o.env.date}, node ${o.env.node}, ${o.env.cpu} × ${o.env.cores} cores, ${o.env.memGB} GB; ` +
      `${o.elapsedS} s; 1-min load average ${o.env.loadAvg.join(' → ')}` +
      (o.truncated ? '; (b) cut short by --budget-s' : '') +
      '\n',
  );

  const warm = pair('warm-join');
  if (warm.g !== undefined) {
    const trials = `${warm.g.trials} trials`;
    row(
      `(a) warm join, median ms (${trials})`,
      warm.g,
      warm.h,
      'medianMs',
      'within 10×',
      (g, h) => g <= 10 * h,
    );
    row('(a) warm join, p95 ms', warm.g, warm.h, 'p95Ms', '', undefined);
    row('(a) warm join, failures', warm.g, warm.h, 'failures', '', undefined);
  }
  const sizes = [...new Set(out.filter((f) => f.scenario === 'at-once').map((f) => f.n as number))];
  for (const n of sizes) {
    const { g, h } = pair('at-once', n);
    const withFailures = (v: unknown, f: Figures | undefined) =>
      f === undefined ? '-' : (f.failures as number) > (f.runs as number) / 2 ? 'never' : show(v);
    row(
      `(b) ${n} at once: one graph, median ms (${g?.runs}${g?.runs === g?.runsAsked ? '' : ` of ${g?.runsAsked}`} runs)`,
      g,
      h,
      'medianMs',
      '',
      undefined,
      withFailures,
    );
    row(`(b) ${n} at once: runs without one graph by 30 s`, g, h, 'failures', '', undefined);
    row(`(b) ${n} at once: isolated peers, Σ over runs`, g, h, 'isolated', '0, < theirs', (gv, hv) =>
      gv > 0 ? false : hv > 0 ? true : 'met (tie)',
    );
  }
  const rssCase = out.find((f) => f.scenario === 'rss');
  if (rssCase !== undefined) {
    const { g, h } = pair('rss', rssCase.n as number);
    row(
      `(c) RSS per idle peer, MB (N = ${rssCase.n})`,
      g,
      h,
      'rssPerPeerMB',
      '< theirs',
      (gv, hv) => gv < hv,
    );
  }
  const bcCase = out.find((f) => f.scenario === 'broadcast');
  if (bcCase !== undefined) {
    const { g, h } = pair('broadcast', bcCase.n as number);
    const label = `(d) broadcast reaches all ${bcCase.n}, median ms (${g?.broadcasts} bcasts)`;
    row(label, g, h, 'medianMs', '< theirs', (gv, hv) => gv < hv);
    row('(d) broadcast reaches all, p95 ms', g, h, 'p95Ms', '', undefined);
    row('(d) payload messages per broadcast', g, h, 'msgsPerBroadcast', '< theirs', (gv, hv) => gv < hv);
    row('(d) all messages per broadcast', g, h, 'allMsgsPerBroadcast', '', undefined);
    row('(d) receptions missed', g, h, 'missed', '', undefined);
  }
  printTable(['figure', 'gtt', 'hyperswarm', 'gtt/theirs', 'target', ''], rows);

  if (warm.g !== undefined) {
    console.log(
      `\n(a) min–max ms: gtt ${show(warm.g.minMs)}–${show(warm.g.maxMs)}, Hyperswarm ` +
        `${show(warm.h?.minMs)}–${show(warm.h?.maxMs)}; setup failures ${warm.g.setupFailures} / ${show(warm.h?.setupFailures)}`,
    );
    console.log(
      `    gtt newcomer, median ms from the call: first record read ${show(warm.g.firstRecordMedianMs)}, ` +
        `first dial ${show(warm.g.firstDialMedianMs)}, first neighbour ${show(warm.g.medianMs)}`,
    );
  }
  for (const n of sizes) {
    const { g, h } = pair('at-once', n);
    const line = (f: Figures | undefined) =>
      f === undefined
        ? '-'
        : `isolated per run ${(f.isolatedPerRun as number[]).join(' ')}; largest component ` +
          `${(f.largestComponentPerRun as number[]).join(' ')}; all joined median ${f.allJoinedMedianMs} ms` +
          (((f.failedRunComponents as number[][] | undefined) ?? []).length > 0
            ? `; runs without one graph had components ${(f.failedRunComponents as number[][]).map((c) => c.join('+')).join(', ')}`
            : '') +
          (((f.earlyStops as number | undefined) ?? 0) > 0
            ? `; ${f.earlyStops} run(s) stopped early, quiescent`
            : '') +
          `; CPU ${f.cpuPctMedian} % of a core, loop delay p99 ${f.loopDelayP99MsMedian} ms (medians)`;
    console.log(`(b) N = ${n}${o.staggerMs > 0 ? ` (starts ${o.staggerMs} ms apart)` : ''}:`);
    console.log(`    gtt:        ${line(g)}`);
    console.log(`    hyperswarm: ${line(h)}`);
  }
  if (sizes.length > 0 && !o.fullWait) {
    console.log(
      '    (a Hyperswarm run stops once quiescent: queries done, nothing in flight, every known peer ' +
        'connected; nothing changes before its 10-min refresh. --full-wait waits the 30 s.)',
    );
  }
  const cd = rssCase ?? bcCase;
  if (cd !== undefined) {
    const { g, h } = pair(cd.scenario, cd.n as number);
    const bc = bcCase === undefined ? undefined : pair('broadcast', bcCase.n as number);
    const line = (x: Figures | undefined, b: Figures | undefined) => {
      if (x === undefined) return '-';
      const d = x.degree as { min: number; median: number; max: number } | null;
      const parts = [
        `${x.n} peers joined one at a time in ${show(x.buildMs)} ms (${show(x.joinFailures)} failed)`,
        `components ${(x.components as number[] | null)?.join(',') ?? '-'}`,
        `degree min/median/max ${d === null ? '-' : `${d.min}/${d.median}/${d.max}`}`,
      ];
      if (x.scenario === 'rss') {
        parts.push(
          `RSS ${show(x.baselineRssMB)} → ${show(x.rssMB)} MB, heap/peer ${show(x.heapPerPeerMB)} MB`,
        );
      }
      if (b !== undefined) {
        parts.push(`broadcast max ${show(b.maxMs)} ms`);
        if (b.controlMsgsPerBroadcast !== null) {
          parts.push(
            `control msgs/bcast ${show(b.controlMsgsPerBroadcast)} (IHAVE, GRAFT, PRUNE, HyParView)`,
          );
        }
      }
      if (x.error !== undefined) parts.push(`ERROR ${String(x.error)}`);
      return parts.join('; ');
    };
    console.log(`(c/d) gtt:        ${line(g, bc?.g)}`);
    console.log(`(c/d) hyperswarm: ${line(h, bc?.h)}`);
  }
}

if (args.child !== undefined) runWorker(args.child);
else await main();
