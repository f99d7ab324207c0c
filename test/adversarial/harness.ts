/**
 * The adversarial harness: a real victim node, honest peers and attackers, each in its own process,
 * over real sockets on loopback, and the measurements that bound what an attack costs the victim.
 *
 * ```
 *   test process (this module)                   children (node --import tsx …, IPC channel)
 *   ─────────────────────────                    ──────────────────────────────────────────────
 *   Lab ── node() / victim() / honest() ───────▶ node-process.ts   Gossip node on 127.0.0.1
 *       │                                          (--expose-gc; samples, message logs, dial guard)
 *       ├── attacker() ────────────────────────▶ attacker.ts       sockets bound to 127.0.0.66…
 *       │                                          (AttackSpec in, AttackReport out, ends by itself)
 *       └── close(): stops attackers, closes nodes (graceful, then SIGKILL), only pids it started
 * ```
 *
 * ## API
 *
 * - `new Lab(name?)`: owns everything a test starts; `await lab.close()` in `afterEach` (also safe
 *   after a failure: every child is bounded by its own lifetime too, and killed when this process exits).
 *   `lab.topic` is a fresh random topic hash (hex) per lab.
 * - `lab.node(o: NodeOptions): Promise<NodeHandle>`: any node process. `lab.victim(o?)`: listens on
 *   127.0.0.1 (name 'victim'). `lab.honest(victim, o?)`: unreachable by default (it listens on 127.0.0.1
 *   but advertises no address, like a peer behind a NAT), joined through the victim and rejoining it
 *   when left alone, so honest traffic between honest peers has to cross the victim (nobody can dial
 *   an honest peer, so they never link to each other directly).
 * - `lab.star({ honest: n, victim?, honestOptions?, timeoutMs? }): Promise<{ victim, honest }>`: a
 *   victim and `n` honest peers, resolved once all are neighbours (`untilStar(victim, honest)`: that
 *   wait alone, for peers started some other way).
 * - `lab.attacker(o: AttackerOptions): AttackerHandle`: an attacker process against `o.victim`
 *   (a NodeHandle), from `o.bindHost` (default 127.0.0.66), or from many hosts round robin
 *   (`o.bindHosts`, e.g. `loopbackHosts(64)`). `handle.ready`, `handle.attacking`
 *   (epoch ms when the attack phase began; rejects with the report's error when setup failed),
 *   `handle.report` (never rejects: a crashed attacker gives an `ok: false` report),
 *   `handle.progress` (latest counters), `handle.stop()`.
 * - `NodeHandle`: `id`, `addresses`, `peer()`, `endpoint()`, `alive`, `exit`, `stderr`;
 *   `request(op, args, timeoutMs?)` for any `NodeRequests` op, and shorthands: `ping()` (never
 *   throws: false when dead or silent), `sample({ gc })`, `stats()`, `neighbors()`, `received()` /
 *   `sent()` / `dials()` / `links()` (cumulative, fetched incrementally; `links()` lists neighbour
 *   changes and lost connections with their close reasons), `startBroadcast()`, `stopBroadcast()`,
 *   `join(peers)`, `close()`, `kill()`.
 * - Every node process runs a dial guard (node-process.ts): `dials()` lists each TCP connect it
 *   attempted, and any host that is not a literal 127.x.y.z is refused before it leaves the process,
 *   so attacker-named addresses (metadata, multicast, `localhost`…) show up as counted attempts only.
 *   Attacks that name addresses reach the honest peers too (walks end there): check their `dials()`.
 * - `new Sampler(node, { everyMs, gcEveryMs })`: `.start()`, `await .stop()` → `Sample[]`; one request
 *   at a time, so a loaded victim is sampled as fast as it answers.
 * - `measureAttack(lab, o: MeasureOptions): Promise<AttackResult>`: the whole experiment — gc'd
 *   baseline, honest broadcasts from `o.senders` during the attack, sampling, the attacker run to its
 *   end, a gc'd final sample, honest delivery at `o.receivers` — summarised as the bench:attack row
 *   (`victimAlive`, `heapGrowthMB`, `cpuPct`, `honestDelivered`, `honestExpected`, `honestP99Ms`) plus
 *   the peaks (connections, fds, timers, dials) and the raw samples and report. `o.during(attacker)`
 *   runs alongside (more attackers, honest connects, the victim's own dials).
 * - `measureTransportAttack(lab, o)`: `measureAttack` for the transport attacks (many attacker hosts,
 *   `o.more` attackers alongside), with honest connects from `HONEST_CONNECT_HOSTS` during the whole
 *   attack phase and `o.alongside` work (the victim's own dials, a joiner) at the same time.
 * - `honestConnects(victim, { count, everyMs, bindHosts })`: fresh identities that connect, PING and
 *   leave, as honest peers arriving during an attack would; how many the victim accepted and served.
 * - `hostileWalkFrames(topic, addresses, count)`: FORWARD_JOIN / SHUFFLE frames naming `addresses`
 *   for fresh ids (for the `frames` attack: hostile peer data, walk ends at the victim and beyond).
 *   `NEVER_HOSTS`, `LOOPBACK_HOSTS`, `CONTROL_HOST`, `isLoopback(host)`: the hostile hosts such frames
 *   name; `openTrap()`: a listener on 127.0.0.1 whose port they carry, counting what connects.
 * - `delivery({ senders, receivers, from?, to?, settleMs? })`: honest messages sent in the window and
 *   how many (sender, receiver) pairs got them, with latency percentiles; it waits up to `settleMs`
 *   for late ones, no longer.
 * - `until(cond, { timeoutMs, what })`: poll a condition with a deadline (no fixed sleeps).
 * - `heapGrowthMB(baseline, samples)`, `percentile(values, p)`, `honestNeighbors(sample, ids)`.
 * - `HEAP_BOUND_MB`, `DELIVERY_TARGET`: the targets every attack is held to (bounds.ts asserts them,
 *   bench:attack prints them).
 *
 * ## Adding an attack test
 *
 * ```ts
 * const lab = new Lab('my attack');
 * afterEach(() => lab.close());
 * it('…', async () => {
 *   const { victim, honest } = await lab.star({ honest: 2 });
 *   const r = await measureAttack(lab, {
 *     name: 'my attack', victim, senders: [honest[0]!], receivers: [honest[1]!],
 *     attack: { durationMs: 5000, attack: { kind: 'forged-gossip', ratePerSec: 5000 } },
 *   });
 *   expect(r.report.ok, r.report.error).toBe(true);
 *   // …the attack's own bounds, then what every attack must leave (bounds.ts):
 *   expectAttackBounds(r); // alive, heap ≤ HEAP_BOUND_MB, honest delivery ≥ DELIVERY_TARGET
 * });
 * ```
 * Numbers are bounds, never exact timings: the machine may be a loaded 2-core one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Address } from '../../src/crypto/address.js';
import { encodeAddressList } from '../../src/net/addresses.js';
import type { Message } from '../../src/proto/types.js';
import { encodeFrame } from '../../src/proto/wire.js';
import type {
  Attack,
  AttackCounters,
  AttackReport,
  AttackSpec,
  BroadcastSpec,
  DialRecord,
  Endpoint,
  FromAttacker,
  FromNode,
  JsonObject,
  LinkRecord,
  NodeOp,
  NodeRequests,
  NodeSpec,
  PeerSpec,
  ReceivedRecord,
  Sample,
  SentRecord,
  ToAttacker,
  ToNode,
} from './spec.js';
import { asObject, epochMs } from './spec.js';
import { newCounters, Session } from './wire.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE_SCRIPT = 'test/adversarial/node-process.ts';
const ATTACKER_SCRIPT = 'test/adversarial/attacker.ts';

/** How long a request to a node may take (a victim under attack answers late, not never). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** How long a node process may take to start and listen (tsx compiles on first use). */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;
/** A node process exits by itself after this long, whatever the test does. */
export const DEFAULT_NODE_LIFETIME_MS = 5 * 60_000;
/** Old-space limit of a node process (`--max-old-space-size`): a runaway victim aborts here, not the machine. */
export const DEFAULT_NODE_HEAP_MB = 1024;
/** The attacker's own IP: distinct from the honest peers' 127.0.0.1, so per-IP limits apply to it alone. */
export const DEFAULT_ATTACKER_HOST = '127.0.0.66';
/** Longest attacker setup (sessions, JOIN) before its attack phase. */
export const DEFAULT_SETUP_TIMEOUT_MS = 20_000;
/** A victim that does not answer a ping within this after an attack is not "alive" (a healthy one takes ms). */
export const ALIVE_PING_TIMEOUT_MS = 10_000;
/** Longest wait for the gc'd sample after an attack. */
export const FINAL_SAMPLE_TIMEOUT_MS = 15_000;
/** A graceful close of a node that does not finish within this is followed by SIGKILL. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 8000;
/** Heap growth any attack may cost the victim (the hardening issue's target). */
export const HEAP_BOUND_MB = 50;
/** Share of honest broadcasts, and of honest connects, that must get through any attack (the issue's target). */
export const DELIVERY_TARGET = 0.99;
/** Hosts honest connects come from during the transport attacks: ten of their own, apart from any attacker's. */
export const HONEST_CONNECT_HOSTS: readonly string[] = loopbackHosts(10, 10);

// ---------------------------------------------------------------------------------------------------
// Child processes

/** Every child this process started and that is still running: killed if this process exits. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const STDERR_KEEP = 64 * 1024;

class Child {
  readonly proc: ChildProcess;
  readonly exit: Promise<ChildExit>;
  #exited: ChildExit | undefined;
  #stderr = '';

  constructor(script: string, execArgv: string[], fdLimit: number | undefined) {
    const args = [...execArgv, script];
    const stdio: ('ignore' | 'pipe' | 'ipc')[] = ['ignore', 'ignore', 'pipe', 'ipc'];
    this.proc =
      fdLimit === undefined
        ? spawn(process.execPath, args, { cwd: ROOT, stdio })
        : // `ulimit -n` lowers this child's descriptor limit only; exec keeps the pid (we kill only it).
          spawn(
            '/bin/sh',
            ['-c', `ulimit -n ${Math.floor(fdLimit)} && exec "$0" "$@"`, process.execPath, ...args],
            {
              cwd: ROOT,
              stdio,
            },
          );
    running.add(this.proc);
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_KEEP);
    });
    this.proc.on('error', () => {}); // a failed send after exit
    this.exit = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        running.delete(this.proc);
        this.#exited = { code, signal };
        resolve(this.#exited);
      });
    });
  }

  get alive(): boolean {
    return this.#exited === undefined;
  }

  get exited(): ChildExit | undefined {
    return this.#exited;
  }

  get stderr(): string {
    return this.#stderr;
  }

  send(m: ToNode | ToAttacker): boolean {
    if (!this.alive || !this.proc.connected) return false;
    try {
      this.proc.send(m);
      return true;
    } catch {
      return false;
    }
  }

  kill(): void {
    if (this.alive) this.proc.kill('SIGKILL');
  }

  describeExit(): string {
    const e = this.#exited;
    const how =
      e === undefined ? 'running' : e.signal !== null ? `killed by ${e.signal}` : `exit code ${e.code}`;
    const tail = this.#stderr.trim().split('\n').slice(-15).join('\n');
    return tail.length > 0 ? `${how}; stderr tail:\n${tail}` : how;
  }
}

const timeoutError = (what: string, ms: number): Error => new Error(`${what} did not happen within ${ms} ms`);

// ---------------------------------------------------------------------------------------------------
// Nodes

/** Options of {@link startNode} / {@link Lab.node}. */
export interface NodeOptions {
  name: string;
  /** Topic hash (hex); the lab's topic when started through a Lab. */
  topic: string;
  /** Default `{ host: '127.0.0.1', port: 0 }`; null for a node that only dials. */
  listen?: { host: string; port: number } | null;
  /** Addresses to advertise instead of the listener's (`[]`: unreachable, see `Lab.honest`). */
  advertise?: Address[];
  bootstrap?: PeerSpec[];
  gossip?: NodeSpec['gossip'];
  broadcast?: BroadcastSpec;
  /** Default 1000 when `bootstrap` is given (see `NodeSpec.rejoinEveryMs`), else 0. */
  rejoinEveryMs?: number;
  /** Default 100 000. */
  recordCap?: number;
  /** Default true. */
  dialGuard?: boolean;
  /** Default DEFAULT_NODE_LIFETIME_MS. */
  lifetimeMs?: number;
  /** Default DEFAULT_NODE_HEAP_MB. */
  heapMB?: number;
  /** Lower the process's file descriptor limit (`ulimit -n`), e.g. 1024 for EMFILE attacks. */
  fdLimit?: number;
  /** Default DEFAULT_READY_TIMEOUT_MS. */
  readyTimeoutMs?: number;
}

/** The logs a node keeps, by request. */
interface Logs {
  received: ReceivedRecord;
  sent: SentRecord;
  dials: DialRecord;
  links: LinkRecord;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** A running node process (see the module header). */
export class NodeHandle {
  readonly name: string;
  readonly id: string;
  readonly addresses: Address[];
  readonly pid: number;
  readonly #child: Child;
  readonly #pending = new Map<number, Pending>();
  #nextReq = 1;
  readonly #logs: { [K in keyof Logs]: { records: Logs[K][]; next: number } } = {
    received: { records: [], next: 0 },
    sent: { records: [], next: 0 },
    dials: { records: [], next: 0 },
    links: { records: [], next: 0 },
  };

  /** @internal use {@link startNode}. */
  constructor(child: Child, name: string, ready: Extract<FromNode, { type: 'ready' }>) {
    this.#child = child;
    this.name = name;
    this.id = ready.id;
    this.addresses = ready.addresses;
    this.pid = ready.pid;
    child.proc.on('message', (m: FromNode) => {
      if (m.type !== 'res') return;
      const p = this.#pending.get(m.reqId);
      if (p === undefined) return;
      this.#pending.delete(m.reqId);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`${name}: ${m.error}`));
    });
    void child.exit.then(() => {
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`${name} exited (${child.describeExit()})`));
      }
      this.#pending.clear();
    });
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.#child.alive;
  }

  /** Resolves when the process exits. */
  get exit(): Promise<ChildExit> {
    return this.#child.exit;
  }

  /** The last 64 kB of its stderr. */
  get stderr(): string {
    return this.#child.stderr;
  }

  /** How it ended (or 'running'), with its stderr tail: for failure messages. */
  describe(): string {
    return `${this.name} (pid ${this.pid}): ${this.#child.describeExit()}`;
  }

  /** The node as a bootstrap peer. */
  peer(): PeerSpec {
    return { id: this.id, addresses: this.addresses.map((a) => ({ ...a })) };
  }

  /** The node as an attacker's target. @throws {Error} when it does not listen. */
  endpoint(): Endpoint {
    const a = this.addresses[0];
    if (a === undefined) throw new Error(`${this.name} does not listen`);
    return { id: this.id, host: a.host, port: a.port };
  }

  /**
   * Sends one request and resolves with its result.
   * @throws {Error} when the node refuses it, exits, or does not answer within `timeoutMs`.
   */
  request<K extends NodeOp>(
    op: K,
    args: NodeRequests[K]['args'],
    timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ): Promise<NodeRequests[K]['result']> {
    return new Promise((resolve, reject) => {
      if (!this.alive) {
        reject(new Error(`${this.name} is not running (${this.#child.describeExit()})`));
        return;
      }
      const reqId = this.#nextReq++;
      const timer = setTimeout(() => {
        this.#pending.delete(reqId);
        reject(timeoutError(`${this.name}: an answer to "${op}"`, timeoutMs));
      }, timeoutMs);
      this.#pending.set(reqId, { resolve: resolve as (v: unknown) => void, reject, timer });
      if (!this.#child.send({ type: 'req', reqId, op, args })) {
        clearTimeout(timer);
        this.#pending.delete(reqId);
        reject(new Error(`${this.name}: IPC channel closed`));
      }
    });
  }

  /** Whether the node is alive and answers within `timeoutMs`. Never throws. */
  async ping(timeoutMs = 10_000): Promise<boolean> {
    try {
      await this.request('ping', {}, timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  sample(o: { gc?: boolean; timeoutMs?: number } = {}): Promise<Sample> {
    return this.request('sample', { gc: o.gc ?? false }, o.timeoutMs);
  }

  stats(): Promise<JsonObject> {
    return this.request('stats', {});
  }

  neighbors(): Promise<string[]> {
    return this.request('neighbors', {});
  }

  async #log<K extends keyof Logs>(op: K): Promise<Logs[K][]> {
    const log = this.#logs[op];
    if (this.alive) {
      try {
        const r = (await this.request(op, { since: log.next })) as unknown as {
          records: Logs[K][];
          next: number;
        };
        log.records.push(...r.records);
        log.next = r.next;
      } catch (e) {
        if (this.alive) throw e;
      }
    }
    return log.records;
  }

  /** Every message it received so far (app deliveries), oldest first. A dead node gives what was fetched. */
  received(): Promise<ReceivedRecord[]> {
    return this.#log('received');
  }

  /** Every message it broadcast so far. */
  sent(): Promise<SentRecord[]> {
    return this.#log('sent');
  }

  /** Every outgoing TCP connect it attempted so far (see `NodeSpec.dialGuard`). */
  dials(): Promise<DialRecord[]> {
    return this.#log('dials');
  }

  /** Every neighbour change, lost connection and send-queue overflow so far (see `LinkRecord`). */
  links(): Promise<LinkRecord[]> {
    return this.#log('links');
  }

  async startBroadcast(b: BroadcastSpec = { everyMs: 100, bytes: 64 }): Promise<void> {
    await this.request('broadcast-start', b);
  }

  /** Stops the periodic broadcast; resolves with how many it sent in all. */
  async stopBroadcast(): Promise<number> {
    return (await this.request('broadcast-stop', {})).sent;
  }

  async join(peers: PeerSpec[]): Promise<void> {
    await this.request('join', { peers });
  }

  /** Closes the node gracefully; kills it when that takes longer than `timeoutMs`. Idempotent. */
  async close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (!this.alive) return;
    const timer = setTimeout(() => this.#child.kill(), timeoutMs);
    this.request('close', {}, timeoutMs).catch(() => this.#child.kill());
    await this.#child.exit;
    clearTimeout(timer);
  }

  /** SIGKILL now. */
  kill(): void {
    this.#child.kill();
  }
}

/**
 * Starts a node process and resolves once it listens and holds the topic.
 * @throws {Error} when it exits or does not get ready within `readyTimeoutMs` (it is then killed).
 */
export async function startNode(o: NodeOptions): Promise<NodeHandle> {
  const bootstrap = o.bootstrap ?? [];
  const spec: NodeSpec = {
    name: o.name,
    listen: o.listen === undefined ? { host: '127.0.0.1', port: 0 } : o.listen,
    ...(o.advertise === undefined ? {} : { advertise: o.advertise }),
    topic: o.topic,
    bootstrap,
    ...(o.gossip === undefined ? {} : { gossip: o.gossip }),
    ...(o.broadcast === undefined ? {} : { broadcast: o.broadcast }),
    rejoinEveryMs: o.rejoinEveryMs ?? (bootstrap.length > 0 ? 1000 : 0),
    recordCap: o.recordCap ?? 100_000,
    dialGuard: o.dialGuard ?? true,
    lifetimeMs: o.lifetimeMs ?? DEFAULT_NODE_LIFETIME_MS,
  };
  const child = new Child(
    NODE_SCRIPT,
    ['--expose-gc', `--max-old-space-size=${o.heapMB ?? DEFAULT_NODE_HEAP_MB}`, '--import', 'tsx'],
    o.fdLimit,
  );
  const timeoutMs = o.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  try {
    const ready = await new Promise<Extract<FromNode, { type: 'ready' }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(timeoutError(`${o.name} ready`, timeoutMs)), timeoutMs);
      child.proc.on('message', (m: FromNode) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(m);
        } else if (m.type === 'fatal') {
          clearTimeout(timer);
          reject(new Error(`${o.name} failed to start: ${m.error}`));
        }
      });
      void child.exit.then(() => {
        clearTimeout(timer);
        reject(new Error(`${o.name} exited before ready (${child.describeExit()})`));
      });
      child.send({ type: 'spec', spec });
    });
    return new NodeHandle(child, o.name, ready);
  } catch (e) {
    child.kill();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// Attackers

/** Options of {@link startAttacker} / {@link Lab.attacker}. */
export interface AttackerOptions {
  /** Default: the attack kind. */
  name?: string;
  victim: NodeHandle | Endpoint;
  topic: string;
  attack: Attack;
  /** Default 5000. */
  durationMs?: number;
  /** Default DEFAULT_ATTACKER_HOST. */
  bindHost?: string;
  /** Hosts its sessions and sockets bind to, round robin (see `AttackSpec.bindHosts`; {@link loopbackHosts}). */
  bindHosts?: string[];
  /** Default DEFAULT_SETUP_TIMEOUT_MS. */
  setupTimeoutMs?: number;
  /** Default 0. */
  listenPorts?: number;
  /** Default 1000. */
  progressEveryMs?: number;
}

/** A running attacker process (see the module header). */
export class AttackerHandle {
  readonly spec: AttackSpec;
  /** Resolves with its listening addresses once set up far enough to listen. */
  readonly ready: Promise<{ listeners: Address[] }>;
  /** Resolves with the epoch ms its attack phase began; rejects when it ended before (setup failed). */
  readonly attacking: Promise<number>;
  /** Its final report; never rejects (a crash or a hang gives an `ok: false` report). */
  readonly report: Promise<AttackReport>;
  /** The latest progress counters. */
  progress: AttackCounters | undefined;
  readonly #child: Child;

  /** @internal use {@link startAttacker}. */
  constructor(spec: AttackSpec) {
    this.spec = spec;
    const child = new Child(ATTACKER_SCRIPT, ['--max-old-space-size=1024', '--import', 'tsx'], undefined);
    this.#child = child;
    let onReady!: (v: { listeners: Address[] }) => void;
    let onAttacking!: (at: number) => void;
    let failAttacking!: (e: Error) => void;
    let onReport!: (r: AttackReport) => void;
    this.ready = new Promise((r) => {
      onReady = r;
    });
    this.attacking = new Promise((resolve, reject) => {
      onAttacking = resolve;
      failAttacking = reject;
    });
    // A rejection nobody awaits (setup failed, the test only reads the report) is not an error by itself.
    this.attacking.catch(() => {});
    this.report = new Promise((r) => {
      onReport = r;
    });
    let reported = false;
    const settle = (r: AttackReport): void => {
      if (reported) return;
      reported = true;
      clearTimeout(bound);
      onReady({ listeners: r.listeners });
      if (r.attackStartedAt === undefined) {
        failAttacking(new Error(`${spec.name}: the attack never started: ${r.error ?? r.endedBy}`));
      }
      onReport(r);
    };
    // The attacker bounds itself; this is the bound of last resort for one that hangs.
    const bound = setTimeout(() => child.kill(), spec.setupTimeoutMs + spec.durationMs + 30_000);
    child.proc.on('message', (m: FromAttacker) => {
      switch (m.type) {
        case 'ready':
          onReady({ listeners: m.listeners });
          break;
        case 'attacking':
          onAttacking(m.at);
          break;
        case 'progress':
          this.progress = m.counters;
          break;
        case 'report':
          this.progress = m.report.counters;
          settle(m.report);
          break;
      }
    });
    void child.exit.then(() =>
      settle({
        name: spec.name,
        kind: spec.attack.kind,
        ok: false,
        error: `attacker exited without a report (${child.describeExit()})`,
        startedAt: epochMs(),
        endedBy: 'error',
        counters: this.progress ?? newCounters(),
        listeners: [],
        notes: {},
      }),
    );
    child.send({ type: 'spec', spec });
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.#child.alive;
  }

  /** Asks it to end now; resolves with its report (it is killed if it does not report within 5 s). */
  stop(): Promise<AttackReport> {
    if (this.#child.alive) {
      this.#child.send({ type: 'stop' });
      const t = setTimeout(() => this.#child.kill(), 5000);
      void this.report.then(() => clearTimeout(t));
    }
    return this.report;
  }

  kill(): void {
    this.#child.kill();
  }
}

/** Starts an attacker process (it begins at once; await `ready` / `attacking` / `report`). */
export function startAttacker(o: AttackerOptions): AttackerHandle {
  const victim = o.victim instanceof NodeHandle ? o.victim.endpoint() : o.victim;
  return new AttackerHandle({
    name: o.name ?? o.attack.kind,
    victim,
    topic: o.topic,
    bindHost: o.bindHost ?? DEFAULT_ATTACKER_HOST,
    ...(o.bindHosts === undefined ? {} : { bindHosts: o.bindHosts }),
    durationMs: o.durationMs ?? 5000,
    setupTimeoutMs: o.setupTimeoutMs ?? DEFAULT_SETUP_TIMEOUT_MS,
    listenPorts: o.listenPorts ?? 0,
    progressEveryMs: o.progressEveryMs ?? 1000,
    attack: o.attack,
  });
}

// ---------------------------------------------------------------------------------------------------
// Waiting and measuring

/**
 * Polls `cond` every `everyMs` (default 50) until it is true.
 * @throws {Error} naming `what` (and `detail()`, when given) after `timeoutMs`.
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  o: { timeoutMs: number; what: string; everyMs?: number; detail?: () => string | Promise<string> },
): Promise<void> {
  const end = performance.now() + o.timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (performance.now() > end) {
      const detail = o.detail === undefined ? '' : `: ${await o.detail()}`;
      throw new Error(`${o.what} not reached within ${o.timeoutMs} ms${detail}`);
    }
    await new Promise((r) => setTimeout(r, o.everyMs ?? 50));
  }
}

/** The `p`-th percentile (0..100, nearest rank) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * `n` distinct loopback hosts `127.<second>.x.y` (y from 1 to 250), e.g. for an attacker that looks
 * like many hosts (`AttackerOptions.bindHosts`) or honest peers from hosts of their own. Any
 * 127.x.y.z is local on Linux.
 */
export function loopbackHosts(n: number, second = 66): string[] {
  return Array.from({ length: n }, (_, i) => `127.${second}.${Math.floor(i / 250)}.${(i % 250) + 1}`);
}

/**
 * `count` walk frames (hex, for the `frames` attack) whose peer data names `addresses` for fresh ids,
 * round robin: FORWARD_JOIN ttl 0 (the receiver is the walk end: it asks the joiner to be its
 * neighbour, i.e. dials it), SHUFFLE ttl 0 (it answers the origin, i.e. dials it, and keeps the two
 * sample peers as passive candidates), then both with ttl 6 (the walk goes on, to the receiver's
 * neighbours). Every frame has ids of its own, so no per-peer bound or dedup hides a dial.
 */
export function hostileWalkFrames(topic: string, addresses: readonly Address[], count: number): string[] {
  const data = encodeAddressList(addresses);
  const id = (): string => randomBytes(32).toString('hex');
  const frames: string[] = [];
  for (let i = 0; i < count; i++) {
    const ttl = i % 4 < 2 ? 0 : 6;
    const m: Message =
      i % 2 === 0
        ? { type: 'forward-join', peer: id(), ttl, data }
        : {
            type: 'shuffle',
            origin: id(),
            ttl,
            originData: data,
            peers: [
              { id: id(), data },
              { id: id(), data },
            ],
          };
    frames.push(Buffer.from(encodeFrame(topic, m)).toString('hex'));
  }
  return frames;
}

/** Hosts no node may ever dial, whatever its address policy: unspecified, link-local, metadata, multicast, broadcast. */
export const NEVER_HOSTS: readonly string[] = [
  '0.0.0.0',
  '::',
  '169.254.169.254',
  '100.100.100.200',
  'fd00:ec2::254',
  '::ffff:169.254.169.254',
  '64:ff9b::a9fe:a9fe',
  'fe80::1',
  '224.0.0.1',
  'ff02::1',
  '255.255.255.255',
];
/** Loopback names: dialable only under a policy that allows loopback. */
export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1'];
/** Public by the policy (RFC 5737 documentation range): a control; the dial guard refuses it before any packet. */
export const CONTROL_HOST = '192.0.2.1';

/** Whether a dial record's host is loopback, as it reads: what the transport hands to connect (canonical text or a name). */
export const isLoopback = (host: string): boolean =>
  /^127\./.test(host) || host === '::1' || host === 'localhost' || /^::ffff:(127\.|7f)/.test(host);

/** A listener that counts and drops every connection: see {@link openTrap}. */
export interface Trap {
  port: number;
  /** Connections it got so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A listener on 127.0.0.1 that counts and drops every connection: the port every address an attacker
 * names carries, so that any connect a node attempts to one is attributable (its dial guard records
 * the attempt; the trap counts the loopback ones that connect).
 */
export async function openTrap(): Promise<Trap> {
  let n = 0;
  const server = net.createServer((s) => {
    n++;
    s.on('error', () => {});
    s.destroy();
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => n,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Options of {@link honestConnects}. */
export interface HonestConnectOptions {
  /** Attempts, started one every `everyMs` (default 250) whether the previous ones finished or not. */
  count: number;
  everyMs?: number;
  /** Hosts the attempts come from, round robin (default `['127.0.0.1']`). */
  bindHosts?: readonly string[];
  /**
   * Longest WebSocket upgrade, Noise handshake and PING round trip of one attempt. Default 5000: the
   * transport's own `handshakeTimeoutMs`, after which an honest dialer gives up.
   */
  timeoutMs?: number;
  /** Start no attempt after this `performance.now()` (default: none). */
  until?: number;
}

/** What {@link honestConnects} saw. */
export interface HonestConnects {
  attempted: number;
  /** Attempts whose session opened and whose PING the victim answered within the timeout. */
  succeeded: number;
  /** Failed attempts by reason (`refused`, `http-503`, `closed-1013`, `timeout`, `no-pong`…). */
  failures: Record<string, number>;
  /** Time to the PONG of the successful attempts. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Connects to `victim` the way an honest peer does, `count` times: a fresh identity completes the
 * Noise handshake and sends a transport PING; an attempt succeeds when the PONG comes back, so the
 * victim not only accepted the connection but serves it. Each session is closed right after (it
 * holds no topic, so it is no attacker's idle session either). Never throws.
 */
export async function honestConnects(
  victim: NodeHandle | Endpoint,
  o: HonestConnectOptions,
): Promise<HonestConnects> {
  const v = victim instanceof NodeHandle ? victim.endpoint() : victim;
  const hosts = o.bindHosts ?? ['127.0.0.1'];
  const timeoutMs = o.timeoutMs ?? 5000;
  const failures: Record<string, number> = {};
  const latencies: number[] = [];
  const fail = (reason: string): void => {
    failures[reason] = (failures[reason] ?? 0) + 1;
  };
  const attempt = async (i: number): Promise<void> => {
    const start = performance.now();
    const counters = newCounters();
    let s: Session;
    try {
      s = await Session.open({
        host: v.host,
        port: v.port,
        bindHost: hosts[i % hosts.length]!,
        expectedId: v.id,
        timeoutMs,
        counters,
      });
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
      return;
    }
    try {
      s.sendFrame({ type: 'ping', data: randomBytes(4) });
      const end = start + timeoutMs;
      while ((counters.receivedByKind.pong ?? 0) === 0 && s.open && performance.now() < end) {
        await new Promise((r) => setTimeout(r, 5));
      }
      if ((counters.receivedByKind.pong ?? 0) > 0) latencies.push(performance.now() - start);
      else fail(s.open ? 'no-pong' : 'closed-before-pong');
    } finally {
      s.close();
    }
  };
  const everyMs = o.everyMs ?? 250;
  const first = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < o.count; i++) {
    const due = first + i * everyMs;
    if (o.until !== undefined && due > o.until) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    running.push(attempt(i));
  }
  await Promise.all(running);
  return {
    attempted: running.length,
    succeeded: latencies.length,
    failures,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length === 0 ? Number.NaN : Math.max(...latencies),
  };
}

/** Heap growth in MB: the largest gc'd `heapUsedMB` in `samples` minus the baseline's. */
export function heapGrowthMB(baseline: Sample, samples: readonly Sample[]): number {
  let peak = baseline.heapUsedMB;
  for (const s of samples) if (s.gc && s.heapUsedMB > peak) peak = s.heapUsedMB;
  return peak - baseline.heapUsedMB;
}

/** How many of `honestIds` are among the sample's neighbours. */
export function honestNeighbors(sample: Sample, honestIds: readonly string[]): number {
  return sample.neighbors.filter((n) => honestIds.includes(n)).length;
}

/** Options of {@link Sampler}. */
export interface SamplerOptions {
  /** Pause between the answer to one sample and the next request. Default 250. */
  everyMs?: number;
  /** Run `gc()` before a sample at most this often (0: never). Default 1000. */
  gcEveryMs?: number;
}

/** Samples one node periodically, one request at a time (see the module header). */
export class Sampler {
  readonly samples: Sample[] = [];
  /** Requests that failed (timeouts of an overloaded victim, or its death). */
  errors = 0;
  #running: Promise<void> | undefined;
  #stop = false;
  #wake: (() => void) | undefined;

  constructor(
    private readonly node: NodeHandle,
    private readonly o: SamplerOptions = {},
  ) {}

  start(): this {
    this.#running ??= this.#loop();
    return this;
  }

  async #loop(): Promise<void> {
    const every = this.o.everyMs ?? 250;
    const gcEvery = this.o.gcEveryMs ?? 1000;
    let lastGc = Number.NEGATIVE_INFINITY;
    while (!this.#stop && this.node.alive) {
      const gc = gcEvery > 0 && performance.now() - lastGc >= gcEvery;
      try {
        const sample = await this.node.sample({ gc });
        if (this.#stop) break; // answered after stop(): the caller has its samples already
        this.samples.push(sample);
        if (gc) lastGc = performance.now();
      } catch {
        if (!this.#stop) this.errors++;
      }
      if (this.#stop) break;
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, every);
      });
    }
  }

  /**
   * Stops sampling; resolves with every sample taken. A request still in flight is waited for at most
   * `graceMs` (a frozen victim would otherwise hold the caller for the whole request timeout).
   */
  async stop(graceMs = 2000): Promise<Sample[]> {
    this.#stop = true;
    this.#wake?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#running, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    return [...this.samples];
  }
}

/** Honest delivery over a window: see {@link delivery}. */
export interface Delivery {
  /** (message, receiver) pairs expected: every message sent in the window, at every receiver but its sender. */
  expected: number;
  delivered: number;
  /** Latency of the delivered pairs, receive minus send time, ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Up to 10 (id, receiver) pairs that never arrived. */
  missing: { id: string; receiver: string }[];
}

/**
 * Counts the honest messages `senders` broadcast between `from` and `to` (epoch ms; default: all) and
 * their arrivals at `receivers`, waiting up to `settleMs` (default 10 s) for late ones.
 */
export async function delivery(o: {
  senders: readonly NodeHandle[];
  receivers: readonly NodeHandle[];
  from?: number;
  to?: number;
  settleMs?: number;
}): Promise<Delivery> {
  const from = o.from ?? Number.NEGATIVE_INFINITY;
  const to = o.to ?? Number.POSITIVE_INFINITY;
  const sent = new Map<string, { at: number; sender: string }>();
  for (const s of o.senders) {
    for (const r of await s.sent())
      if (r.at >= from && r.at <= to) sent.set(r.id, { at: r.at, sender: s.id });
  }
  const pairs = (rcv: NodeHandle): string[] =>
    [...sent].filter(([, v]) => v.sender !== rcv.id).map(([id]) => id);
  const got = async (rcv: NodeHandle): Promise<Map<string, number>> => {
    const m = new Map<string, number>();
    for (const r of await rcv.received().catch(() => [] as ReceivedRecord[])) {
      if (sent.has(r.id) && !m.has(r.id)) m.set(r.id, r.at);
    }
    return m;
  };
  const complete = async (): Promise<boolean> => {
    for (const rcv of o.receivers) {
      if (!rcv.alive) continue;
      const g = await got(rcv);
      if (pairs(rcv).some((id) => !g.has(id))) return false;
    }
    return true;
  };
  await until(complete, { timeoutMs: o.settleMs ?? 10_000, what: 'delivery', everyMs: 200 }).catch(() => {});
  let expected = 0;
  let delivered = 0;
  const latencies: number[] = [];
  const missing: { id: string; receiver: string }[] = [];
  for (const rcv of o.receivers) {
    const g = await got(rcv);
    for (const id of pairs(rcv)) {
      expected++;
      const at = g.get(id);
      if (at === undefined) {
        if (missing.length < 10) missing.push({ id, receiver: rcv.name });
        continue;
      }
      delivered++;
      latencies.push(at - sent.get(id)!.at);
    }
  }
  return {
    expected,
    delivered,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length === 0 ? Number.NaN : Math.max(...latencies),
    missing,
  };
}

/** Options of {@link measureAttack}. */
export interface MeasureOptions {
  name: string;
  victim: NodeHandle;
  /** Honest nodes that broadcast during the attack. */
  senders: readonly NodeHandle[];
  /** Honest nodes (or the victim) whose deliveries of those broadcasts count. */
  receivers: readonly NodeHandle[];
  /** The attacker, less what the victim and the lab give. */
  attack: Omit<AttackerOptions, 'victim' | 'topic'>;
  /** Default `{ everyMs: 100, bytes: 64 }`. */
  broadcast?: BroadcastSpec;
  sampler?: SamplerOptions;
  /** Longest wait for late honest deliveries after the attack. Default 10 s. */
  settleMs?: number;
  /**
   * Runs alongside the attack, from the moment its attacker process starts (e.g. honest connects, the
   * victim's own dials, more attackers); awaited after the attacker's report. Its rejection is
   * measureAttack's, once the attacker has reported.
   */
  during?: (attacker: AttackerHandle) => Promise<void>;
}

/** One attack's measured outcome; the first fields are the bench:attack JSON row. */
export interface AttackResult {
  name: string;
  /** Alive and answering IPC within ALIVE_PING_TIMEOUT_MS after the attack. */
  victimAlive: boolean;
  /** 'answering', or how it failed (silent, or exited with its code and stderr tail): for messages. */
  victimState: string;
  /** Largest gc'd heap during or right after the attack minus the gc'd baseline. */
  heapGrowthMB: number;
  /** Victim CPU over the attack phase, % of one core. */
  cpuPct: number;
  honestDelivered: number;
  honestExpected: number;
  honestP99Ms: number;
  honestP50Ms: number;
  honestMaxMs: number;
  heapBaselineMB: number;
  heapPeakMB: number;
  /** Peak `heapUsedMB` of any sample, garbage included. */
  heapPeakRawMB: number;
  cpuPeakPct: number;
  peakConnections: number;
  peakHandshaking: number;
  peakFds: number;
  peakTimers: number;
  peakActiveHandles: number;
  /** Outgoing connects the victim attempted during the measurement, and those its guard refused. */
  dials: number;
  dialsRefused: number;
  report: AttackReport;
  baseline: Sample;
  samples: Sample[];
  /** Sampling requests that failed (timeouts: the victim was too busy to answer in 30 s). */
  sampleErrors: number;
  missing: { id: string; receiver: string }[];
}

/** Runs one attack against `o.victim` while measuring it (see the module header). */
export async function measureAttack(lab: Lab, o: MeasureOptions): Promise<AttackResult> {
  const baseline = await o.victim.sample({ gc: true });
  const sampler = new Sampler(o.victim, o.sampler).start();
  const broadcast = o.broadcast ?? { everyMs: 100, bytes: 64 };
  await Promise.all(o.senders.map((s) => s.startBroadcast(broadcast)));
  const attacker = lab.attacker({ name: o.name, ...o.attack, victim: o.victim });
  const during = o.during?.(attacker).then(
    () => undefined,
    (e: unknown) => e ?? new Error('during: rejected'),
  );
  const report = await attacker.report;
  const duringError = await during;
  if (duringError !== undefined) throw duringError;
  await Promise.all(o.senders.map((s) => s.stopBroadcast().catch(() => 0)));
  const samples = await sampler.stop();
  const final = o.victim.alive
    ? await o.victim.sample({ gc: true, timeoutMs: FINAL_SAMPLE_TIMEOUT_MS }).catch(() => undefined)
    : undefined;
  if (final !== undefined) samples.push(final);
  const from = report.attackStartedAt ?? report.startedAt;
  const to = report.attackEndedAt ?? epochMs();
  const d = await delivery({ senders: o.senders, receivers: o.receivers, from, to, settleMs: o.settleMs });
  const answering = o.victim.alive && (await o.victim.ping(ALIVE_PING_TIMEOUT_MS));
  const victimState = answering
    ? 'answering'
    : o.victim.alive
      ? `running but silent: no answer to a ping within ${ALIVE_PING_TIMEOUT_MS} ms after the attack`
      : `gone: ${o.victim.describe()}`;

  const inWindow = samples.filter((s) => s.at >= from && s.at <= to);
  const first = inWindow[0] ?? baseline;
  const last = inWindow.at(-1) ?? final ?? baseline;
  const cpuPct = last.at > first.at ? (100 * (last.cpuMs - first.cpuMs)) / (last.at - first.at) : Number.NaN;
  const max = (f: (s: Sample) => number): number => Math.max(f(baseline), ...samples.map(f));
  const growth = heapGrowthMB(baseline, samples);
  return {
    name: o.name,
    victimAlive: answering,
    victimState,
    heapGrowthMB: growth,
    cpuPct,
    honestDelivered: d.delivered,
    honestExpected: d.expected,
    honestP99Ms: d.p99Ms,
    honestP50Ms: d.p50Ms,
    honestMaxMs: d.maxMs,
    heapBaselineMB: baseline.heapUsedMB,
    heapPeakMB: baseline.heapUsedMB + growth,
    heapPeakRawMB: max((s) => s.heapUsedMB),
    cpuPeakPct: Math.max(0, ...inWindow.map((s) => s.cpuPct)),
    peakConnections: max((s) => s.connections),
    peakHandshaking: max((s) => s.handshaking),
    peakFds: max((s) => s.fds),
    peakTimers: max((s) => s.timers),
    peakActiveHandles: max((s) => s.activeHandles),
    dials: max((s) => s.dials) - baseline.dials,
    dialsRefused: max((s) => s.dialsRefused) - baseline.dialsRefused,
    report,
    baseline,
    samples,
    sampleErrors: sampler.errors,
    missing: d.missing,
  };
}

/** Options of {@link measureTransportAttack}. */
export interface TransportAttackOptions {
  name: string;
  victim: NodeHandle;
  /** Broadcasts from the first, deliveries at the second, across the victim. */
  sender: NodeHandle;
  receiver: NodeHandle;
  durationMs: number;
  /** The attacker's hosts (see {@link loopbackHosts}): as many as the per-IP caps need. */
  bindHosts: string[];
  attack: Attack;
  /** More attackers, started with the first (e.g. a second kind of socket); their reports follow its own. */
  more?: () => AttackerHandle[];
  /** Honest connects from HONEST_CONNECT_HOSTS, `count` one every `everyMs`, none in the last second. */
  connects: { count: number; everyMs: number };
  /** Runs alongside the honest connects, from the start of the attack phase; `end` is its end (`performance.now()`). */
  alongside?: (x: { attacker: AttackerHandle; end: number }) => Promise<void>;
}

/** What {@link measureTransportAttack} measured. */
export interface TransportAttack {
  r: AttackResult;
  /** The first attacker's report, then those of `more`. */
  reports: AttackReport[];
  connects: HonestConnects | undefined;
  /** The victim's transport stats at the last sample. */
  transport: JsonObject;
}

/**
 * A transport attack (sockets or sessions from many hosts) measured by {@link measureAttack}, with
 * honest connects to the victim during its whole attack phase: once every attacker is attacking, the
 * connects and `o.alongside` run together until the attack ends.
 */
export async function measureTransportAttack(lab: Lab, o: TransportAttackOptions): Promise<TransportAttack> {
  let connects: HonestConnects | undefined;
  let more: AttackReport[] = [];
  const r = await measureAttack(lab, {
    name: o.name,
    victim: o.victim,
    senders: [o.sender],
    receivers: [o.receiver],
    attack: { durationMs: o.durationMs, bindHosts: o.bindHosts, attack: o.attack },
    during: async (attacker) => {
      const others = o.more?.() ?? [];
      await Promise.all([attacker.attacking, ...others.map((a) => a.attacking)]);
      const end = performance.now() + o.durationMs;
      await Promise.all([
        honestConnects(o.victim, {
          count: o.connects.count,
          everyMs: o.connects.everyMs,
          bindHosts: HONEST_CONNECT_HOSTS,
          until: end - 1000,
        }).then((c) => {
          connects = c;
        }),
        o.alongside?.({ attacker, end }),
      ]);
      more = await Promise.all(others.map((a) => a.report));
    },
  });
  return {
    r,
    reports: [r.report, ...more],
    connects,
    transport: asObject(r.samples.at(-1)?.stats.transport),
  };
}

/** A one-line summary of a result, for logs and failure messages. */
export function summary(r: AttackResult): string {
  const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : String(n));
  return (
    `${r.name}: victim ${r.victimState}; heap +${f(r.heapGrowthMB)} MB (baseline ${f(r.heapBaselineMB)}, ` +
    `raw peak ${f(r.heapPeakRawMB)}) cpu ${f(r.cpuPct, 0)}% honest ${r.honestDelivered}/${r.honestExpected} ` +
    `p99 ${f(r.honestP99Ms)} ms; conns≤${r.peakConnections} fds≤${r.peakFds} timers≤${r.peakTimers}; ` +
    `attacker ${r.report.ok ? 'ok' : `failed: ${r.report.error}`} frames=${r.report.counters.framesSent} ` +
    `sessions=${r.report.counters.sessionsOpened}/${r.report.counters.sessionsAttempted}`
  );
}

/**
 * Resolves once `victim` has every one of `honest` as a neighbour and each of them has the victim.
 * @throws {Error} after `timeoutMs` (default 30 s), with the victim's neighbours.
 */
export function untilStar(
  victim: NodeHandle,
  honest: readonly NodeHandle[],
  timeoutMs = 30_000,
): Promise<void> {
  return until(
    async () => {
      const v = await victim.neighbors();
      if (!honest.every((h) => v.includes(h.id))) return false;
      for (const h of honest) if (!(await h.neighbors()).includes(victim.id)) return false;
      return true;
    },
    {
      timeoutMs,
      what: 'the star (victim ↔ every honest peer)',
      detail: async () => `victim neighbours ${JSON.stringify(await victim.neighbors().catch(() => '?'))}`,
    },
  );
}

// ---------------------------------------------------------------------------------------------------
// Lab

/** Everything one test starts, torn down together (see the module header). */
export class Lab {
  /** A fresh random topic hash (hex). */
  readonly topic: string = randomBytes(32).toString('hex');
  readonly #nodes = new Set<NodeHandle>();
  readonly #attackers = new Set<AttackerHandle>();
  #honestCount = 0;

  constructor(readonly name = 'lab') {}

  async node(o: Omit<NodeOptions, 'topic'> & { topic?: string }): Promise<NodeHandle> {
    const n = await startNode({ ...o, topic: o.topic ?? this.topic });
    this.#nodes.add(n);
    return n;
  }

  /** The victim: listens on 127.0.0.1, defaults otherwise (production settings). */
  victim(o: Partial<Omit<NodeOptions, 'topic'>> = {}): Promise<NodeHandle> {
    return this.node({ name: 'victim', ...o });
  }

  /**
   * An honest peer joined through `via`: unreachable unless `advertise` is given (see the module
   * header). It listens all the same, so a transport that allows loopback peers only to a node on
   * loopback ('auto' address policy) treats it as the testnet node it is.
   */
  honest(
    via: NodeHandle | readonly NodeHandle[],
    o: Partial<Omit<NodeOptions, 'topic'>> = {},
  ): Promise<NodeHandle> {
    const list = Array.isArray(via) ? via : [via as NodeHandle];
    return this.node({
      name: `honest-${++this.#honestCount}`,
      advertise: [],
      bootstrap: list.map((n) => n.peer()),
      ...o,
    });
  }

  /**
   * A victim and `honest` peers joined through it, resolved once the victim has every honest peer as
   * a neighbour and every honest peer has the victim.
   */
  async star(
    o: {
      honest?: number;
      victim?: Partial<Omit<NodeOptions, 'topic'>>;
      honestOptions?: Partial<Omit<NodeOptions, 'topic'>>;
      timeoutMs?: number;
    } = {},
  ): Promise<{ victim: NodeHandle; honest: NodeHandle[] }> {
    const victim = await this.victim(o.victim);
    const honest = await Promise.all(
      Array.from({ length: o.honest ?? 2 }, () => this.honest(victim, o.honestOptions)),
    );
    await untilStar(victim, honest, o.timeoutMs);
    return { victim, honest };
  }

  /** An attacker against `o.victim` on the lab's topic. */
  attacker(o: Omit<AttackerOptions, 'topic'> & { topic?: string }): AttackerHandle {
    const a = startAttacker({ ...o, topic: o.topic ?? this.topic });
    this.#attackers.add(a);
    return a;
  }

  /** Stops every attacker and closes every node (SIGKILL after DEFAULT_CLOSE_TIMEOUT_MS). Idempotent. */
  async close(): Promise<void> {
    const attackers = [...this.#attackers];
    const nodes = [...this.#nodes];
    this.#attackers.clear();
    this.#nodes.clear();
    await Promise.all(attackers.map((a) => a.stop()));
    await Promise.all(nodes.map((n) => n.close()));
  }
}
