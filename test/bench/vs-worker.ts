/**
 * The child side of `npm run bench:vs-hyperswarm` (vs-hyperswarm.bench.ts, scenarios c and d): one
 * process per system, run with `--expose-gc`, holds that system's loopback testnet and `n` peers.
 *
 * 1. Starts the testnet, collects garbage and reads the baseline RSS, then creates the peers and joins
 *    them one at a time: the first until others can find it (`announced`), each later one until it has
 *    a neighbour (Hyperswarm: and its announce finished, so the next can find it). Sequential joins
 *    give both systems one connected graph without relying on simultaneous discovery (scenario b's
 *    subject).
 * 2. Waits for one connected graph (Hyperswarm: also every connection open at both ends and nothing in
 *    flight), then idles `idleMs` (gtt: links released during the joins linger 5 s before closing).
 * 3. **RSS per peer** (c): garbage collected twice, (RSS − baseline) / n. One-off costs of a process
 *    (JIT code, crypto tables, the testnet's growth) are included; the modules were loaded before the
 *    baseline.
 * 4. **Broadcast** (d): `warmup` broadcasts (gtt's PlumTree prunes duplicate links as the first
 *    messages flow), then `broadcasts` measured ones, one at a time from seeded random peers: time from
 *    the `broadcast` call until the last of the n − 1 others delivered it (all in this process, one
 *    clock), and Σ over peers of the payload messages sent during the measured phase / broadcasts.
 * 5. Closes everything and sends one {@link WorkerResult} to the parent over IPC.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { below, createRng } from '../../src/proto/rng.js';
import { median, round } from './stats.js';
import {
  type BenchPeer,
  type BenchSystem,
  componentSets,
  createSystem,
  degrees,
  oneGraph,
  type SystemName,
  symmetric,
} from './vs-systems.js';

/** What the parent asks of a child. */
export interface WorkerConfig {
  system: SystemName;
  /** DHT nodes in the testnet. */
  nodes: number;
  /** Peers. */
  n: number;
  rss: boolean;
  broadcast: boolean;
  /** Idle wait before reading RSS. */
  idleMs: number;
  warmup: number;
  broadcasts: number;
  payloadBytes: number;
  seed: number;
}

/** What a child reports. `error` is set when it could not finish; figures measured so far stay. */
export interface WorkerResult {
  system: SystemName;
  n: number;
  error?: string;
  /** Sequential joins of all n peers, ms. */
  buildMs?: number;
  joinFailures?: number;
  /** From the last join until one graph (and settled), ms; null when never within the budget. */
  settleMs?: number | null;
  components?: number[];
  degree?: { min: number; median: number; max: number };
  baselineRssMB?: number;
  rssMB?: number;
  rssPerPeerMB?: number;
  heapPerPeerMB?: number;
  /** Per measured broadcast: ms until all n − 1 others delivered it; null when some never did. */
  reachAllMs?: (number | null)[];
  /** Receptions missing over the measured broadcasts (each should reach n − 1 peers). */
  missed?: number;
  payloadMsgsPerBroadcast?: number;
  /** gtt only: other protocol messages per broadcast during the measured phase (IHAVE, GRAFT, …). */
  controlMsgsPerBroadcast?: number | null;
}

/** Budget of one peer's join in the sequential build. */
const JOIN_BUDGET_MS = 15_000;
/** After the last join, one graph within this long. */
const SETTLE_BUDGET_MS = 30_000;
/** A broadcast that has not reached everyone by then counts as missed. */
const REACH_BUDGET_MS = 3000;
/** Pause between broadcasts (lets gtt's lazy IHAVE/GRAFT rounds of the last one finish). */
const GAP_MS = 50;
/** After the last measured broadcast, before reading the send counters. */
const DRAIN_MS = 500;
const POLL_MS = 25;
const MB = 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
/** Collects garbage twice (the second pass frees what finalizers of the first released). */
function collectGarbage(): void {
  gc?.();
  gc?.();
}

const log = (msg: string): void => {
  process.stderr.write(`[vs-worker] ${msg}\n`);
};

async function until(cond: () => boolean, budgetMs: number): Promise<number | null> {
  const t0 = performance.now();
  for (;;) {
    if (cond()) return performance.now() - t0;
    if (performance.now() - t0 >= budgetMs) return null;
    await sleep(POLL_MS);
  }
}

/** Builds, measures and closes; never throws (a failure is `result.error`). */
export async function runWorkerScenarios(config: WorkerConfig): Promise<WorkerResult> {
  if (gc === undefined) throw new Error('run the worker with --expose-gc');
  const result: WorkerResult = { system: config.system, n: config.n };
  let system: BenchSystem | undefined;
  let peers: BenchPeer[] = [];
  try {
    system = await createSystem(config.system, config.nodes);
    collectGarbage();
    const baseline = process.memoryUsage();
    peers = await system.createPeers(config.n);
    const topic = `bench-vs-cd-${randomBytes(8).toString('hex')}`;

    // 1. Sequential joins.
    const t0 = performance.now();
    let failures = 0;
    for (const [i, peer] of peers.entries()) {
      await peer.join(topic);
      const ok =
        i === 0
          ? await peer.announced(JOIN_BUDGET_MS)
          : (await peer.firstNeighbor(JOIN_BUDGET_MS)) &&
            (peer.system === 'gtt' || (await peer.announced(JOIN_BUDGET_MS)));
      if (!ok) failures++;
    }
    result.buildMs = round(performance.now() - t0);
    result.joinFailures = failures;
    log(`${config.system}: ${config.n} sequential joins in ${result.buildMs} ms (${failures} failed)`);

    // 2. One graph, settled.
    const settled = () =>
      oneGraph(peers) && (config.system === 'gtt' || (peers.every((p) => p.quiescent()) && symmetric(peers)));
    const settleMs = await until(settled, SETTLE_BUDGET_MS);
    result.settleMs = settleMs === null ? null : round(settleMs);
    result.components = componentSets(peers).map((c) => c.size);

    // 3. RSS per peer.
    if (config.rss) {
      await sleep(config.idleMs);
      collectGarbage();
      const mem = process.memoryUsage();
      result.baselineRssMB = round(baseline.rss / MB, 2);
      result.rssMB = round(mem.rss / MB, 2);
      result.rssPerPeerMB = round((mem.rss - baseline.rss) / MB / config.n, 3);
      result.heapPerPeerMB = round((mem.heapUsed - baseline.heapUsed) / MB / config.n, 3);
    }
    result.degree = degrees(peers);
    log(
      `${config.system}: components ${result.components.join(',')}, degree ${result.degree.min}–${result.degree.max}` +
        (config.rss ? `, RSS/peer ${result.rssPerPeerMB} MB` : ''),
    );

    // 4. Broadcasts.
    if (config.broadcast) Object.assign(result, await broadcasts(peers, config));
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    log(`${config.system}: ${result.error}`);
  } finally {
    await Promise.allSettled(peers.map((p) => p.close()));
    await system?.close();
  }
  return result;
}

async function broadcasts(peers: readonly BenchPeer[], config: WorkerConfig): Promise<Partial<WorkerResult>> {
  const n = peers.length;
  const total = config.warmup + config.broadcasts;
  const count = new Int32Array(total);
  const lastAt = new Float64Array(total);
  let waiting: { bid: number; resolve: () => void } | undefined;
  for (const peer of peers) {
    peer.onMessage((content) => {
      if (content.length < 4) return;
      const bid = new DataView(content.buffer, content.byteOffset, content.byteLength).getUint32(0);
      if (bid >= total) return;
      count[bid]!++;
      lastAt[bid] = performance.now();
      if (waiting?.bid === bid && count[bid] === n - 1) waiting.resolve();
    });
  }
  const rng = createRng(config.seed);
  const sum = (f: (p: BenchPeer) => number | null) => peers.reduce((s, p) => s + (f(p) ?? 0), 0);
  let payload0 = 0;
  let control0 = 0;
  const reachAllMs: (number | null)[] = [];
  let missed = 0;
  for (let bid = 0; bid < total; bid++) {
    if (bid === config.warmup) {
      payload0 = sum((p) => p.payloadSends());
      control0 = sum((p) => p.controlSends());
    }
    const content = new Uint8Array(config.payloadBytes);
    new DataView(content.buffer).setUint32(0, bid);
    const origin = peers[below(rng, n)]!;
    const reached = new Promise<void>((resolve) => {
      waiting = { bid, resolve };
    });
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<void>((r) => {
      timer = setTimeout(r, REACH_BUDGET_MS);
    });
    const t0 = performance.now();
    origin.broadcast(content);
    await Promise.race([reached, budget]);
    clearTimeout(timer);
    waiting = undefined;
    if (bid >= config.warmup) {
      const all = count[bid] === n - 1;
      reachAllMs.push(all ? round(lastAt[bid]! - t0, 2) : null);
      missed += n - 1 - count[bid]!;
    }
    await sleep(GAP_MS);
  }
  await sleep(DRAIN_MS);
  const payloadMsgs = sum((p) => p.payloadSends()) - payload0;
  const controlMsgs = sum((p) => p.controlSends()) - control0;
  const measured = reachAllMs.filter((v) => v !== null);
  log(
    `broadcasts: reach-all median ${round(median(measured), 2)} ms, ${round(payloadMsgs / config.broadcasts, 1)} payload msgs each, ${missed} missed`,
  );
  return {
    reachAllMs,
    missed,
    payloadMsgsPerBroadcast: round(payloadMsgs / config.broadcasts, 1),
    controlMsgsPerBroadcast:
      peers[0]?.controlSends() === null ? null : round(controlMsgs / config.broadcasts, 1),
  };
}

/** Child entry: runs the scenarios of the config the parent passed, reports over IPC, exits. */
export function runWorker(configJson: string): void {
  if (process.send === undefined) throw new Error('--child expects an IPC channel (run by the bench)');
  const config = JSON.parse(configJson) as WorkerConfig;
  let done = false;
  // The parent going away must not leave an orphan holding sockets.
  process.on('disconnect', () => {
    if (!done) process.exit(1);
  });
  void runWorkerScenarios(config).then((result) => {
    done = true;
    process.send!(result, undefined, {}, () => {
      process.disconnect();
      // Everything is closed: the process should end by itself. Say so if something keeps it alive.
      setTimeout(() => {
        log(`${config.system}: still alive 10 s after closing everything; exiting`);
        process.exit(0);
      }, 10_000).unref();
    });
  });
}
