/**
 * `npm run bench:gossip [-- --json] [-- --n 50] [-- --warmup 20] [-- --broadcasts 100] [-- --rates 20,50,100]
 * [-- --step-seconds 3] [-- --seed 1] [-- --loose-keepalive] [-- --cpu-prof-dir DIR]`
 *
 * Gossip over real WebSockets on 127.0.0.1 (BENCHMARKS.md "Gossip over WebSockets" has the figures).
 * For each size N (default 50 and 200), the nodes live in child processes of `--per-process` (50) nodes
 * each (this same file run with `--child`, see gossip-worker.ts); this process only coordinates them
 * over IPC, so N = 50 is one process of nodes and N = 200 is four. Nodes subscribe to one topic one at a
 * time, each through one random earlier node (in any process), like test/net/mesh.test.ts, with the
 * library's transport defaults. Then:
 *
 * - **RSS per node**: once the mesh is one component and the links released during the joins have
 *   closed (8 s idle), each child collects garbage and reads its RSS; Σ(RSS − the child's RSS before
 *   it created any node) / N. One-off costs of a process (JIT code, crypto tables) are included.
 * - **Warm-up**: `--warmup` (20) broadcasts at `--rate`, not measured: PlumTree starts with every link
 *   eager and prunes duplicate links as the first messages flow.
 * - **Reach-all**: `--broadcasts` (100) broadcasts of `--payload-bytes` (1 KiB) at `--rate` (10/s) from
 *   random nodes. A payload carries its broadcast id and send time on the machine's wall clock
 *   (`performance.timeOrigin + performance.now()`); every receiver computes its own latency, and a
 *   broadcast's reach-all time is the largest over its N − 1 receivers (∞ if one never got it).
 * - **Payload messages per broadcast**: Σ over nodes of `stats.proto.payloadsSent` (GOSSIP frames:
 *   eager pushes and GRAFT answers) during that phase / broadcasts; also over its second half alone,
 *   once the PlumTree has pruned most duplicate links (split at a counter snapshot between two sends).
 * - **Max rate**: a ramp over `--rates` (20…800/s), `--step-seconds` (3 s) each with random senders;
 *   after each step a drain wait of up to 5 s. A step passes when delivered / expected receptions
 *   ≥ 99.99 % and the senders kept up (achieved send rate ≥ 90 % of the target). The ramp stops at the
 *   first failing step; `maxRatePerSec` is the highest rate that passed (0 if none), and
 *   `maxRateP99Under1sPerSec` the highest passing one whose reach-all p99 also stayed under 1 s (a
 *   step can deliver everything within the drain wait while a backlog grows for its whole length).
 * - **CPU**: user + system time of the node processes per broadcast and as a share of the cores they
 *   can use (one event loop each), and the idle mesh's CPU (% of one core). A phase is `cpuBound`
 *   when a sender's timer fired ≥ 250 ms late: its event loop had a backlog, from the bench's own load
 *   or from other processes on the machine (`loadAvg`: the 1-minute load average before and after
 *   the size ran), and its latencies then measure the machine more than the protocol.
 *
 * Every phase is time-boxed. A size whose mesh cannot be built within `--mesh-budget-s`, or whose
 * build the previous size's time predicts to overrun it, is reported as `skipped: reason`.
 *
 * `--json` prints one JSON array, one object per N (in `--n` order) with `n`, `processes`,
 * `reachAllMedianMs`, `reachAllP99Ms`, `maxRatePerSec`, `payloadMsgsPerBroadcast`, `rssPerNodeMB` and
 * more (`missed`, `appDuplicates`, `meshBuildMs`, CPU figures, the ramp steps…); a skipped size has
 * only `n`, `processes` and `skipped`. Latency figures are `null` when some broadcast never reached
 * everyone. Targets: reach-all median ≤ 30 ms at N = 50, payload messages per broadcast ≤ 1.1 × N,
 * RSS ≤ 1 MB per idle node. Progress goes to stderr.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_RELEASE_LINGER_MS, type TransportOptions } from '../../src/net/config.js';
import { below, createRng } from '../../src/proto/rng.js';
import {
  type Counters,
  type PeerRef,
  type Request,
  type RequestEnvelope,
  type ResponseEnvelope,
  type Responses,
  runWorker,
  type Scheduled,
  wallNow,
} from './gossip-worker.js';
import { median, printTable, quantile, round } from './stats.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
    n: { type: 'string', default: '50,200' },
    broadcasts: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '20' },
    rate: { type: 'string', default: '10' },
    rates: { type: 'string', default: '20,50,100,200,400,800' },
    'step-seconds': { type: 'string', default: '3' },
    'payload-bytes': { type: 'string', default: '1024' },
    'per-process': { type: 'string', default: '50' },
    'mesh-budget-s': { type: 'string', default: '240' },
    seed: { type: 'string', default: '1' },
    'cpu-prof-dir': { type: 'string' },
    'loose-keepalive': { type: 'boolean', default: false },
  },
});

/**
 * The library's transport defaults, unless `--loose-keepalive` asks for test/net/mesh.test.ts's
 * budgets (handshake 10 s, keepalive 3 s / 500 ms), which were needed while handshakes ran on pure-JS
 * crypto and 50 nodes' join bursts stalled the shared event loop. Note that they PING 2.5 times as
 * often as the defaults, which costs idle CPU.
 */
const TRANSPORT: TransportOptions = args['loose-keepalive']
  ? { keepaliveTimeoutMs: 3000, keepaliveIntervalMs: 500, handshakeTimeoutMs: 10_000 }
  : {};
/** Delivery a ramp step needs to count as sustained (the "max rate" column of BENCHMARKS.md). */
const DELIVERY_TARGET = 0.9999;
/** A ramp step whose senders fall below this share of the target rate did not sustain it. */
const SEND_RATE_TOLERANCE = 0.9;
/** After the last send of a phase, wait at most this long for the stragglers (GRAFT repair: 150 ms + 40 ms rounds). */
const DRAIN_MS = 5000;
/** One join (subscribe until the first neighbour). */
const JOIN_TIMEOUT_MS = 30_000;
/** After the last join, the mesh must become one component within this long. */
const COMPONENT_TIMEOUT_MS = 60_000;
/**
 * Idle wait before reading RSS: the connections the joins released linger this long and then close
 * (measured: ~370 links right after 50 joins, ~133 from 7 s on); 3 s more for the mesh to settle.
 */
const IDLE_MS = DEFAULT_RELEASE_LINGER_MS + 3000;
/** The idle mesh's CPU is read over the last part of the idle wait, once lingering links are gone. */
const IDLE_CPU_WINDOW_MS = 2500;
/** Broadcasts are scheduled this far ahead so the IPC commands arrive in time. */
const SCHEDULE_LEAD_MS = 500;
/**
 * `maxRateP99Under1sPerSec` also asks the step's reach-all p99 to stay under this: a step can deliver
 * everything within the drain wait while a backlog grows for its whole length (guess: 1 s is clearly
 * "falling behind" on loopback).
 */
const BACKLOG_P99_MS = 1000;
/**
 * A phase is CPU-bound when a send went out at least this late: the sender's event loop had a backlog
 * (guess from runs on a 2-core machine: healthy N = 50 phases lag 5–20 ms, GC pauses alone reach
 * ~150 ms, overloaded ones lag 500 ms and more). Busy % alone misses CPU taken by other processes.
 */
const CPU_BOUND_LAG_MS = 250;
/** Budget of one IPC request that has no budget of its own. */
const REQUEST_TIMEOUT_MS = 30_000;
/** The whole run; past it the children are killed and the process exits 1. */
const RUN_BUDGET_MS = 15 * 60_000;
const MB = 1024 * 1024;

const log = (msg: string): void => {
  process.stderr.write(`[bench:gossip] ${msg}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A size that could not be measured, with the reason. */
class Skip extends Error {}

/** One child process of nodes, driven by typed IPC requests with deadlines. */
class Child {
  readonly #proc: ChildProcess;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  readonly exited: Promise<void>;
  #next = 0;
  #exitInfo: string | undefined;

  constructor(readonly index: number) {
    const profile = args['cpu-prof-dir'];
    this.#proc = fork(fileURLToPath(import.meta.url), ['--child'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      execArgv: [
        '--expose-gc',
        '--import',
        'tsx',
        ...(profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`]),
      ],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    // Children never write to our stdout: `--json` must print exactly one value there.
    this.#proc.stdout?.on('data', (d: Buffer) => process.stderr.write(`[child ${index}] ${d}`));
    this.#proc.stderr?.on('data', (d: Buffer) => process.stderr.write(`[child ${index}] ${d}`));
    this.#proc.on('message', (env: ResponseEnvelope) => {
      const p = this.#pending.get(env.id);
      if (p === undefined) return;
      this.#pending.delete(env.id);
      clearTimeout(p.timer);
      if (env.ok) p.resolve(env.result);
      else p.reject(new Error(`child ${index}: ${env.error}`));
    });
    this.exited = new Promise((resolve) => {
      this.#proc.once('exit', (code, signal) => {
        this.#exitInfo = signal ?? `code ${code}`;
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`child ${index} exited (${this.#exitInfo})`));
        }
        this.#pending.clear();
        resolve();
      });
    });
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  /** Sends a request; rejects when the child fails it, exits, or does not answer within `timeoutMs`. */
  call<K extends Request['op']>(
    req: Extract<Request, { op: K }>,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<Responses[K]> {
    if (this.#exitInfo !== undefined) {
      return Promise.reject(new Error(`child ${this.index} exited (${this.#exitInfo})`));
    }
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`child ${this.index}: no answer to "${req.op}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      const env: RequestEnvelope = { id, req };
      this.#proc.send(env);
    });
  }

  /** Asks the child to close its nodes and exit; kills it if it does not within the budget. */
  async stop(): Promise<void> {
    if (this.#exitInfo === undefined) await this.call({ op: 'close' }).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), 15_000);
      }),
    ]);
    clearTimeout(timer);
    if (!exited) {
      log(`child ${this.index} did not exit after close: killed`);
      this.kill();
    }
  }

  kill(): void {
    if (this.#exitInfo === undefined) this.#proc.kill('SIGKILL');
  }
}

/** Children not yet exited: killed if this process ends early. */
const live = new Set<Child>();
const killAll = (): void => {
  for (const c of live) c.kill();
};
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

/** One ramp step (or the reach-all phase). */
interface PhaseResult {
  rate: number;
  broadcasts: number;
  sent: number;
  achievedRatePerSec: number;
  lateMaxMs: number;
  deliveryRatio: number;
  missed: number;
  appDuplicates: number;
  reachAllMedianMs: number | null;
  reachAllP99Ms: number | null;
  reachAllMaxMs: number | null;
  counters: Counters;
  /** Counters over the second half of the phase (split at a snapshot between two sends). */
  secondHalf: Counters;
  /** Connections closed during the phase, by reason. */
  closedByReason: Record<string, number>;
  /** CPU of all node processes during the phase (idle background included) per broadcast. */
  cpuMsPerBroadcast: number;
  /**
   * CPU from the phase's start to its last send, as a share of what the node processes could use
   * (min(processes, cores) cores): whether the machine kept up with the offered load.
   */
  cpuBusyPct: number;
}

interface RampStep {
  rate: number;
  achievedRatePerSec: number;
  deliveryRatio: number;
  missed: number;
  reachAllMedianMs: number | null;
  reachAllP99Ms: number | null;
  lateMaxMs: number;
  sendQueueOverflows: number;
  connectionsClosed: number;
  keepaliveTimeouts: number;
  closedByReason: Record<string, number>;
  cpuMsPerBroadcast: number;
  cpuBusyPct: number;
  pass: boolean;
}

/** Figures of one N (see the header for `--json`). */
type SizeResult =
  | { n: number; processes: number; skipped: string }
  | {
      n: number;
      processes: number;
      meshBuildMs: number;
      joinMedianMs: number;
      joinMaxMs: number;
      degreeMin: number;
      degreeMax: number;
      rssPerNodeMB: number;
      rssBaselineMB: number;
      heapPerNodeMB: number;
      /** CPU of the idle mesh (keepalives, shuffles), % of one core, all processes together. */
      idleCpuPct: number;
      cpuMsPerBroadcast: number;
      cpuBusyPct: number;
      warmupBroadcasts: number;
      broadcasts: number;
      ratePerSec: number;
      payloadBytes: number;
      reachAllMedianMs: number | null;
      reachAllP99Ms: number | null;
      reachAllMaxMs: number | null;
      missed: number;
      appDuplicates: number;
      lateMaxMs: number;
      payloadMsgsPerBroadcast: number;
      payloadMsgsPerBroadcastSecondHalf: number;
      coreDuplicatesPerBroadcast: number;
      graftsPerBroadcast: number;
      maxRatePerSec: number;
      /** The highest passing step whose reach-all p99 also stayed under BACKLOG_P99_MS. */
      maxRateP99Under1sPerSec: number;
      /** The 10/s phase was CPU-bound (see CPU_BOUND_LAG_MS): its latencies measure the machine. */
      cpuBound: boolean;
      /** The machine's 1-minute load average before and after this size ran. */
      loadAvg: [number, number];
      ramp: RampStep[];
      sendQueueOverflows: number;
      /** Links dropped by keepalive timeout during the 10/s phase. */
      keepaliveTimeouts: number;
      /** Connections closed during the 10/s phase, by reason. */
      closedByReason: Record<string, number>;
      runMs: number;
    };

const sumCounters = (list: Counters[]): Counters => {
  const out = { ...list[0]! };
  for (const c of list.slice(1)) for (const k of Object.keys(out) as (keyof Counters)[]) out[k] += c[k];
  return out;
};
const sumReasons = (list: Record<string, number>[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const r of list) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
};
const diffCounters = (a: Counters, b: Counters): Counters => {
  const out = { ...b };
  for (const k of Object.keys(out) as (keyof Counters)[]) out[k] -= a[k];
  return out;
};
/** Cores the node processes of `cluster` can keep busy: one event loop each, at most the machine's. */
const usableCores = (cluster: Cluster): number => Math.min(cluster.children.length, availableParallelism());
/** Rounds a latency; `null` stands for ∞ (a broadcast that never reached everyone) in JSON. */
const latency = (v: number): number | null => (Number.isFinite(v) ? round(v) : null);

/** The nodes of one size, spread over child processes: global index k lives in child k % C. */
class Cluster {
  readonly children: Child[];
  refs: PeerRef[] = [];

  constructor(
    readonly n: number,
    processes: number,
  ) {
    this.children = Array.from({ length: processes }, (_, i) => new Child(i));
  }

  where(k: number): { child: Child; index: number } {
    const c = this.children.length;
    return { child: this.children[k % c]!, index: Math.floor(k / c) };
  }

  all<K extends Request['op']>(
    req: Extract<Request, { op: K }>,
    timeoutMs?: number,
  ): Promise<Responses[K][]> {
    return Promise.all(this.children.map((c) => c.call(req, timeoutMs)));
  }

  /** Nodes reachable from node 0 over active views. */
  async component(): Promise<{ size: number; degrees: number[] }> {
    const answers = await this.all({ op: 'neighbors' });
    const byId = new Map<string, string[]>();
    for (const a of answers) for (const [i, id] of a.ids.entries()) byId.set(id, a.neighbors[i]!);
    const seen = new Set<string>();
    const stack = [this.refs[0]!.id];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      for (const nb of byId.get(id) ?? []) if (byId.has(nb)) stack.push(nb);
    }
    return { size: seen.size, degrees: [...byId.values()].map((l) => l.length) };
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => c.stop()));
  }
}

const rng = createRng(Number(args.seed));
const payloadBytes = Number(args['payload-bytes']);
let nextBid = 0;

/**
 * Sends `count` broadcasts from random nodes at `rate`/s, waits for delivery (≤ DRAIN_MS after the
 * last send) and gathers latencies and counters.
 */
async function phase(cluster: Cluster, rate: number, count: number): Promise<PhaseResult> {
  const n = cluster.n;
  const from = nextBid;
  const to = from + count;
  nextBid = to;
  const startAt = wallNow() + SCHEDULE_LEAD_MS;
  const perChild = cluster.children.map((): Scheduled[] => []);
  for (let i = 0; i < count; i++) {
    const { child, index } = cluster.where(below(rng, n));
    perChild[child.index]!.push({ bid: from + i, index, at: startAt + (i * 1000) / rate });
  }
  const reasonsBefore = sumReasons(await cluster.all({ op: 'closeReasons' }));
  const before = sumCounters(await cluster.all({ op: 'counters' }));
  const tBefore = performance.now();
  // A counter snapshot half a send interval after the middle send splits the phase in two halves.
  const half = Math.floor(count / 2);
  const midAt = startAt + ((half - 0.5) * 1000) / rate;
  const mid = sleep(Math.max(0, midAt - wallNow())).then(async () =>
    sumCounters(await cluster.all({ op: 'counters' })),
  );
  // Awaited after the sends; a failure there must not surface first as an unhandled rejection.
  mid.catch(() => {});
  const durationMs = (count * 1000) / rate;
  const runs = await Promise.all(
    cluster.children.map((c) => c.call({ op: 'run', items: perChild[c.index]! }, durationMs + 30_000)),
  );
  const atSendEnd = sumCounters(await cluster.all({ op: 'counters' }));
  const sendWallMs = performance.now() - tBefore;
  const atMid = await mid;
  const expectedPerBroadcast = n - 1;
  const expected = count * expectedPerBroadcast;
  const drainEnd = performance.now() + DRAIN_MS;
  for (;;) {
    const got = (await cluster.all({ op: 'received', from, to })).reduce((s, r) => s + r.receptions, 0);
    if (got >= expected || performance.now() > drainEnd) break;
    await sleep(100);
  }
  const collected = await cluster.all({ op: 'collect', from, to });
  const after = sumCounters(await cluster.all({ op: 'counters' }));
  const reasonsAfter = sumReasons(await cluster.all({ op: 'closeReasons' }));
  const closedByReason: Record<string, number> = {};
  for (const [k, v] of Object.entries(reasonsAfter)) {
    if (v > (reasonsBefore[k] ?? 0)) closedByReason[k] = v - (reasonsBefore[k] ?? 0);
  }
  const cpuMs = after.cpuMs - before.cpuMs;

  const reachAll: number[] = [];
  let delivered = 0;
  for (let b = 0; b < count; b++) {
    let receptions = 0;
    let max = 0;
    for (const c of collected) {
      receptions += c.receptions[b]!;
      if (c.receptions[b]! > 0) max = Math.max(max, c.maxLatencyMs[b]!);
    }
    delivered += receptions;
    reachAll.push(receptions >= expectedPerBroadcast ? max : Number.POSITIVE_INFINITY);
  }
  const sent = runs.reduce((s, r) => s + r.sent, 0);
  const firstAt = Math.min(...runs.filter((r) => r.sent > 0).map((r) => r.firstAt));
  const lastAt = Math.max(...runs.filter((r) => r.sent > 0).map((r) => r.lastAt));
  return {
    rate,
    broadcasts: count,
    sent,
    achievedRatePerSec: sent > 1 && lastAt > firstAt ? round(((sent - 1) * 1000) / (lastAt - firstAt)) : rate,
    lateMaxMs: round(Math.max(...runs.map((r) => r.lateMaxMs))),
    deliveryRatio: delivered / expected,
    missed: expected - delivered,
    appDuplicates: collected.reduce((s, c) => s + c.appDuplicates, 0),
    reachAllMedianMs: latency(median(reachAll)),
    reachAllP99Ms: latency(quantile(reachAll, 0.99)),
    reachAllMaxMs: latency(Math.max(...reachAll)),
    counters: diffCounters(before, after),
    secondHalf: diffCounters(atMid, after),
    closedByReason,
    cpuMsPerBroadcast: round(cpuMs / count, 2),
    cpuBusyPct: round((100 * (atSendEnd.cpuMs - before.cpuMs)) / sendWallMs / usableCores(cluster)),
  };
}

/** Builds the mesh of one size, measures it, and stops its children. */
async function runSize(
  n: number,
  previous: { n: number; meshBuildMs: number } | undefined,
): Promise<SizeResult> {
  const perProcess = Number(args['per-process']);
  const processes = Math.ceil(n / perProcess);
  const budgetMs = Number(args['mesh-budget-s']) * 1000;
  if (previous !== undefined) {
    const estimate = (previous.meshBuildMs * n) / previous.n;
    if (estimate > budgetMs) {
      return {
        n,
        processes,
        skipped: `N=${previous.n} took ${round(previous.meshBuildMs / 1000)} s to build; N=${n} would take ~${round(estimate / 1000)} s > --mesh-budget-s ${budgetMs / 1000}`,
      };
    }
  }
  const t0 = performance.now();
  const loadStart = loadavg()[0]!;
  const ramp = args.rates
    .split(',')
    .map(Number)
    .filter((r) => r > 0);
  const stepSeconds = Number(args['step-seconds']);
  const broadcasts = Number(args.broadcasts);
  const warmup = Number(args.warmup);
  const maxBids = nextBid + warmup + broadcasts + ramp.reduce((s, r) => s + Math.ceil(r * stepSeconds), 0);
  const cluster = new Cluster(n, processes);
  try {
    // Build: every child creates its nodes (listeners on 127.0.0.1).
    const counts = cluster.children.map((c) => Math.floor((n - 1 - c.index) / processes) + 1);
    const built = await Promise.all(
      cluster.children.map((c) =>
        c.call(
          { op: 'build', count: counts[c.index]!, transport: TRANSPORT, payloadBytes, maxBids },
          120_000,
        ),
      ),
    );
    cluster.refs = Array.from({ length: n }, (_, k) => {
      const { child, index } = cluster.where(k);
      return built[child.index]!.peers[index]!;
    });
    const rssBaseline = built.reduce((s, b) => s + b.baselineRssBytes, 0);
    log(`N=${n}: ${processes} process(es) of nodes started; joining one at a time`);

    // Join one at a time, each through one random earlier node.
    const tJoin = performance.now();
    const joinMs: number[] = [];
    for (let k = 0; k < n; k++) {
      if (performance.now() - tJoin > budgetMs) {
        throw new Skip(`mesh not built within --mesh-budget-s ${budgetMs / 1000} (${k}/${n} joined)`);
      }
      const { child, index } = cluster.where(k);
      const contact = k === 0 ? null : cluster.refs[below(rng, k)]!;
      const r = await child
        .call({ op: 'join', index, contact, timeoutMs: JOIN_TIMEOUT_MS }, JOIN_TIMEOUT_MS + 5000)
        .catch((e: Error) => {
          throw new Skip(`join ${k + 1}/${n} failed: ${e.message}`);
        });
      joinMs.push(r.ms);
      if ((k + 1) % 25 === 0) log(`N=${n}: ${k + 1} joined (${round((performance.now() - tJoin) / 1000)} s)`);
    }
    const componentEnd = performance.now() + COMPONENT_TIMEOUT_MS;
    let comp = await cluster.component();
    while (comp.size < n) {
      if (performance.now() > componentEnd) {
        throw new Skip(
          `mesh still ${comp.size}/${n} in one component ${COMPONENT_TIMEOUT_MS} ms after the joins`,
        );
      }
      await sleep(250);
      comp = await cluster.component();
    }
    const meshBuildMs = performance.now() - tJoin;
    log(`N=${n}: one component after ${round(meshBuildMs / 1000)} s; idling ${IDLE_MS} ms before RSS`);

    await sleep(IDLE_MS - IDLE_CPU_WINDOW_MS);
    const idleBefore = sumCounters(await cluster.all({ op: 'counters' }));
    const tIdle = performance.now();
    await sleep(IDLE_CPU_WINDOW_MS);
    const idleAfter = sumCounters(await cluster.all({ op: 'counters' }));
    const idleCpuPct = (100 * (idleAfter.cpuMs - idleBefore.cpuMs)) / (performance.now() - tIdle);
    const rss = await cluster.all({ op: 'rss' });
    const rssBytes = rss.reduce((s, r) => s + r.rssBytes, 0);
    const heapBytes = rss.reduce((s, r) => s + r.heapUsedBytes, 0);
    const degrees = (await cluster.component()).degrees;

    const rate = Number(args.rate);
    if (warmup > 0) {
      // PlumTree starts with every link eager and prunes duplicate links as traffic flows: the first
      // broadcasts of a fresh mesh measure that settling, not the steady state.
      log(`N=${n}: ${warmup} warm-up broadcasts at ${rate}/s (not measured)`);
      await phase(cluster, rate, warmup);
    }
    log(`N=${n}: ${broadcasts} broadcasts at ${rate}/s`);
    const main = await phase(cluster, rate, broadcasts);
    log(
      `N=${n}: reach-all median ${main.reachAllMedianMs} ms, p99 ${main.reachAllP99Ms} ms, missed ${main.missed}, CPU ${main.cpuBusyPct} % busy`,
    );

    const steps: RampStep[] = [];
    let maxRate = 0;
    let maxRateFast = 0;
    let fast = true;
    for (const r of ramp) {
      const p = await phase(cluster, r, Math.ceil(r * stepSeconds));
      const pass = p.deliveryRatio >= DELIVERY_TARGET && p.achievedRatePerSec >= SEND_RATE_TOLERANCE * r;
      steps.push({
        rate: r,
        achievedRatePerSec: p.achievedRatePerSec,
        deliveryRatio: round(p.deliveryRatio, 6),
        missed: p.missed,
        reachAllMedianMs: p.reachAllMedianMs,
        reachAllP99Ms: p.reachAllP99Ms,
        lateMaxMs: p.lateMaxMs,
        sendQueueOverflows: p.counters.sendQueueOverflows,
        connectionsClosed: p.counters.connectionsClosed,
        keepaliveTimeouts: p.counters.keepaliveTimeouts,
        closedByReason: p.closedByReason,
        cpuMsPerBroadcast: p.cpuMsPerBroadcast,
        cpuBusyPct: p.cpuBusyPct,
        pass,
      });
      log(
        `N=${n}: ${r}/s → sent ${p.achievedRatePerSec}/s, delivery ${round(p.deliveryRatio * 100, 3)} %, reach-all median ${p.reachAllMedianMs} ms ${pass ? 'pass' : 'FAIL'}`,
      );
      if (!pass) break;
      maxRate = r;
      fast &&= p.reachAllP99Ms !== null && p.reachAllP99Ms < BACKLOG_P99_MS;
      if (fast) maxRateFast = r;
    }

    const firstHalf = broadcasts - Math.floor(broadcasts / 2);
    return {
      n,
      processes,
      meshBuildMs: round(meshBuildMs, 0),
      joinMedianMs: round(median(joinMs)),
      joinMaxMs: round(Math.max(...joinMs)),
      degreeMin: Math.min(...degrees),
      degreeMax: Math.max(...degrees),
      rssPerNodeMB: round((rssBytes - rssBaseline) / n / MB, 3),
      rssBaselineMB: round(rssBaseline / processes / MB),
      heapPerNodeMB: round(heapBytes / n / MB, 3),
      idleCpuPct: round(idleCpuPct),
      cpuMsPerBroadcast: main.cpuMsPerBroadcast,
      cpuBusyPct: main.cpuBusyPct,
      warmupBroadcasts: warmup,
      broadcasts,
      ratePerSec: rate,
      payloadBytes,
      reachAllMedianMs: main.reachAllMedianMs,
      reachAllP99Ms: main.reachAllP99Ms,
      reachAllMaxMs: main.reachAllMaxMs,
      missed: main.missed,
      appDuplicates: main.appDuplicates,
      lateMaxMs: main.lateMaxMs,
      payloadMsgsPerBroadcast: round(main.counters.payloadsSent / broadcasts, 2),
      payloadMsgsPerBroadcastSecondHalf: round(main.secondHalf.payloadsSent / (broadcasts - firstHalf), 2),
      coreDuplicatesPerBroadcast: round(main.counters.protoDuplicates / broadcasts, 2),
      graftsPerBroadcast: round(main.counters.graftsSent / broadcasts, 2),
      maxRatePerSec: maxRate,
      maxRateP99Under1sPerSec: maxRateFast,
      cpuBound: main.lateMaxMs >= CPU_BOUND_LAG_MS,
      loadAvg: [round(loadStart, 2), round(loadavg()[0]!, 2)],
      ramp: steps,
      sendQueueOverflows: main.counters.sendQueueOverflows,
      keepaliveTimeouts: main.counters.keepaliveTimeouts,
      closedByReason: main.closedByReason,
      runMs: round(performance.now() - t0, 0),
    };
  } catch (e) {
    // A size that fails (a child crashed, a request timed out) still lets the other sizes report.
    if (e instanceof Skip) return { n, processes, skipped: e.message };
    return { n, processes, skipped: `failed: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    log(`run budget of ${RUN_BUDGET_MS / 60_000} min exceeded: killing the children`);
    killAll();
    process.exit(1);
  }, RUN_BUDGET_MS);
  watchdog.unref();
  const t0 = performance.now();
  const sizes = args.n.split(',').map(Number);
  const results: SizeResult[] = [];
  let previous: { n: number; meshBuildMs: number } | undefined;
  for (const n of sizes) {
    const r = await runSize(n, previous);
    results.push(r);
    if ('skipped' in r) {
      log(`N=${n}: skipped: ${r.skipped}`);
      // A budget skip is an outcome; a failure (crash, timeout) still fails the command.
      if (r.skipped.startsWith('failed:')) process.exitCode = 1;
    } else {
      previous = { n, meshBuildMs: r.meshBuildMs };
    }
  }
  clearTimeout(watchdog);
  const totalS = round((performance.now() - t0) / 1000);

  if (args.json) {
    console.log(JSON.stringify(results));
    return;
  }
  console.log(
    `Gossip over WebSockets on 127.0.0.1: ${args.broadcasts} broadcasts of ${payloadBytes} B at ${args.rate}/s from random nodes, then a rate ramp (${args.rates}/s, ${args['step-seconds']} s each)`,
  );
  console.log(`node ${process.version}, ${new Date().toISOString()}, run ${totalS} s\n`);
  const mark = (ok: boolean): string => (ok ? ' ✓' : ' ✗');
  const fmt = (v: number | null): string => (v === null ? '∞' : String(v));
  const rows: (string | number)[][] = [
    ['target', '', '≤ 30 (N=50)', '', '', '', '≤ 1.1×N', '', '≤ 1', '', '', '', ''],
  ];
  for (const r of results) {
    if ('skipped' in r) {
      rows.push([r.n, r.processes, 'skipped', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    rows.push([
      r.n,
      r.processes,
      fmt(r.reachAllMedianMs) +
        (r.n === 50 ? mark(r.reachAllMedianMs !== null && r.reachAllMedianMs <= 30) : ''),
      fmt(r.reachAllP99Ms),
      r.maxRatePerSec,
      r.maxRateP99Under1sPerSec,
      r.payloadMsgsPerBroadcast + mark(r.payloadMsgsPerBroadcast <= 1.1 * r.n),
      r.payloadMsgsPerBroadcastSecondHalf,
      r.rssPerNodeMB + mark(r.rssPerNodeMB <= 1),
      r.missed,
      r.appDuplicates,
      r.cpuBusyPct + (r.cpuBound ? ' CPU-bound' : ''),
      round(r.meshBuildMs / 1000),
    ]);
  }
  printTable(
    [
      'N',
      'procs',
      'reach-all median ms',
      'p99 ms',
      'max rate/s',
      'p99 < 1 s',
      'payload msgs/bcast',
      '2nd half',
      'RSS/node MB',
      'missed',
      'dups',
      'CPU busy %',
      'mesh s',
    ],
    rows,
  );
  for (const r of results) {
    if ('skipped' in r) {
      console.log(`\nN=${r.n}: skipped: ${r.skipped}`);
      continue;
    }
    console.log(
      `\nN=${r.n}: degree ${r.degreeMin}–${r.degreeMax}, join median ${r.joinMedianMs} ms (max ${r.joinMaxMs}), ` +
        `core duplicates/bcast ${r.coreDuplicatesPerBroadcast}, GRAFTs/bcast ${r.graftsPerBroadcast}, ` +
        `reach-all max ${fmt(r.reachAllMaxMs)} ms, send lag max ${r.lateMaxMs} ms, keepalive timeouts ${r.keepaliveTimeouts}, heap/node ${r.heapPerNodeMB} MB`,
    );
    console.log(
      `CPU: ${r.cpuMsPerBroadcast} ms per broadcast at ${r.ratePerSec}/s (${r.cpuBusyPct} % of ${Math.min(r.processes, availableParallelism())} usable core(s) busy), idle mesh ${r.idleCpuPct} % of a core; machine load ${r.loadAvg[0]} → ${r.loadAvg[1]} on ${availableParallelism()} cores`,
    );
    console.log(
      `rate ramp (pass: delivery ≥ ${DELIVERY_TARGET * 100} % and sent ≥ ${SEND_RATE_TOLERANCE * 100} % of the rate):`,
    );
    printTable(
      [
        'rate/s',
        'sent/s',
        'delivery %',
        'missed',
        'reach-all median',
        'p99',
        'send lag ms',
        'overflows',
        'closed',
        'keepalive t/o',
        'CPU ms/bcast',
        'CPU busy %',
        '',
      ],
      r.ramp.map((s) => [
        s.rate,
        s.achievedRatePerSec,
        round(s.deliveryRatio * 100, 4),
        s.missed,
        fmt(s.reachAllMedianMs),
        fmt(s.reachAllP99Ms),
        s.lateMaxMs,
        s.sendQueueOverflows,
        s.connectionsClosed,
        s.keepaliveTimeouts,
        s.cpuMsPerBroadcast,
        s.cpuBusyPct,
        s.pass ? 'pass' : 'FAIL',
      ]),
    );
    const reasons = (m: Record<string, number>): string =>
      Object.entries(m)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none';
    console.log(`links closed, by reason: ${r.ratePerSec}/s phase: ${reasons(r.closedByReason)}`);
    for (const s of r.ramp) console.log(`  ${s.rate}/s step: ${reasons(s.closedByReason)}`);
  }
}

if (args.child) runWorker();
else await main();
