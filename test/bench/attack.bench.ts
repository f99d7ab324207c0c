/**
 * `npm run bench:attack [-- --json] [-- --runs 1] [-- --only ihave-repeat,eclipse,…] [-- --attack-ms 6000]`
 *
 * What hostile peers cost a member (PROTOCOL.md §8.7 and §9.8): every attack of `npm run test:adversarial`
 * against a real victim node, each time in a fresh lab of the adversarial harness
 * (test/adversarial/harness.ts): the victim, its honest peers and the attacker each in a process of
 * their own, over real sockets on 127.0.0.0/8, the attacker bound to hosts of its own. A victim and
 * two honest peers that advertise no address form a star, so the honest broadcasts (one 64-byte
 * message every 100 ms from one honest peer) reach the other only across the victim. A no-attack
 * baseline (the same path, an attacker that does nothing) always runs first. Per attack:
 *
 * - `victimAlive`: it answers IPC within 10 s after the attack;
 * - `heapGrowthMB`: its largest gc'd heap during or right after the attack minus the gc'd baseline;
 * - `cpuPct`: its CPU over the attack phase (% of one core);
 * - `honestDelivered` / `honestExpected`, `honestP99Ms`: honest broadcasts sent during the attack and
 *   delivered across the victim, and their latency; `baselineP99Ms` is the baseline's;
 * - per attack, what it needs (`notes` in the table): honest connects accepted during the transport
 *   attacks (fresh identities from ten hosts that handshake, PING and leave, one every 100 ms), the
 *   victim's open descriptors and whether it ever ran out (the slow-TCP victim runs with
 *   `ulimit -n 1024`), dials made on an attacker's behalf, bytes out per byte in of GRAFT service,
 *   the fewest honest neighbours the victim had at any sample under eclipse, dials to hostile
 *   addresses.
 *
 * The attacks (the transport ones spread over as many attacker hosts
 * as the per-IP caps need to let them reach that size): `ihave-repeat` and `ihave-fresh` (full 64 KiB
 * IHAVE frames as fast as the socket drains, from one neighbour); `walks` (FORWARD_JOIN, SHUFFLE and
 * SHUFFLE_REPLY with ttl 255 from three non-neighbours, naming the attackers' own ports); `idle-sessions`
 * (256 handshaken sessions that only answer PINGs, 32 hosts); `silent-websockets` (300 upgraded
 * WebSockets that never send Noise message 1, 75 hosts); `slow-tcp` (600 half-open TCP and 600
 * slow-header HTTP sockets, 150 hosts each); `eclipse` (30 identities that re-JOIN or re-ask
 * NEIGHBOR(high) as soon as evicted, from 5 hosts, once the honest neighbours have served
 * `protectAfterMs`); `forged-gossip` (10,000 relayed GOSSIP/s with random signatures, one neighbour at
 * a time); `signed-flood` (1 MB/s of validly signed GOSSIP from one neighbour); `graft-flood` (GRAFT
 * for a cached 60 kB message as fast as the socket drains); `bad-addresses` (loopback, unspecified,
 * link-local, metadata, multicast and broadcast hosts named in JOIN, FORWARD_JOIN and SHUFFLE peer
 * data, against a victim whose policy refuses loopback); `prng` (a neighbour records the sequence
 * numbers of the victim's own broadcasts: observed only, since telling a 32-bit seed from a 256-bit
 * one takes a 2^32 search that does not fit a bench).
 *
 * Targets, printed next to each row (`pass` or the misses): victimAlive; heapGrowthMB ≤ 50; honest
 * delivery ≥ 99 %; for the floods from a single peer (ihave-*, forged-gossip, signed-flood,
 * graft-flood) honest p99 ≤ 3 × the baseline's (the medians over runs: run with `--runs 3` or more); ≥ 99 % of honest connects during the transport
 * attacks and no descriptor exhaustion; ≤ 28 dials on the walkers' behalf (the SHUFFLE_REPLY bound of
 * test/adversarial/walks.test.ts); 0 dials to hostile addresses; ≥ 2 honest neighbours at every
 * sample under eclipse.
 *
 * `--runs N` repeats the whole sequence (baseline included) N times; the table then shows medians and
 * p95. `--json` prints exactly one JSON object, `{ "attacks": [{ "name", "victimAlive",
 * "heapGrowthMB", "cpuPct", "honestDelivered", "honestExpected", "honestP99Ms", "baselineP99Ms", …,
 * "targets", "pass" }] }` (medians over runs; `victimAlive` only if alive in every run; `p95` holds the
 * p95 of the numbers when N > 1). Progress goes to stderr. One run takes about 3 minutes.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_PROTECT_AFTER_MS } from '../../src/proto/config.js';
import {
  type AttackResult,
  CONTROL_HOST,
  DELIVERY_TARGET,
  HEAP_BOUND_MB,
  HONEST_CONNECT_HOSTS,
  type HonestConnects,
  honestConnects,
  honestNeighbors,
  hostileWalkFrames,
  isLoopback,
  Lab,
  LOOPBACK_HOSTS,
  loopbackHosts,
  type MeasureOptions,
  measureAttack,
  NEVER_HOSTS,
  type NodeHandle,
  type NodeOptions,
  openTrap,
  until,
} from '../adversarial/harness.js';
import type { AttackReport, DialRecord } from '../adversarial/spec.js';
import { median, num, onlyScenarios, p95, printTable, round } from './stats.js';

const ATTACKS = [
  'ihave-repeat',
  'ihave-fresh',
  'walks',
  'idle-sessions',
  'silent-websockets',
  'slow-tcp',
  'eclipse',
  'forged-gossip',
  'signed-flood',
  'graft-flood',
  'bad-addresses',
  'prng',
] as const;
type Attack = (typeof ATTACKS)[number];
type Name = 'baseline' | Attack;

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    only: { type: 'string', default: ATTACKS.join(',') },
    'attack-ms': { type: 'string', default: '6000' },
  },
});
const runs = num(args.runs, 1, 'runs', 1);
const attackMs = num(args['attack-ms'], 6000, 'attack-ms', 1000);
const selected = onlyScenarios<Attack>(args.only, ATTACKS);

const progress = (msg: string): void => {
  process.stderr.write(`[bench:attack] ${msg}\n`);
};

const P99_FACTOR = 3;
const MIN_HONEST_NEIGHBORS = 2;
/** Dials on the walkers' behalf: SHUFFLE_REPLY admits 4 replies × 7 peers per 10 s (walks.test.ts). */
const WALK_DIAL_BOUND = 28;
/** Floods from a single peer: their honest p99 is held to P99_FACTOR × the baseline's. */
const SINGLE_PEER_FLOODS: ReadonlySet<Name> = new Set<Name>([
  'ihave-repeat',
  'ihave-fresh',
  'forged-gossip',
  'signed-flood',
  'graft-flood',
]);
/** Honest connects during the transport attacks: one every 100 ms from HONEST_CONNECT_HOSTS (ten hosts of their own). */
const HONEST_EVERY_MS = 100;

type Extra = Record<string, number | boolean | string | null>;
/** A target of one row: its label and whether it held (undefined: not measured). */
type Check = [label: string, ok: boolean | undefined];

/** One attack in one run: the measurement, its extra figures, its own targets. */
interface Outcome {
  r: AttackResult;
  extra: Extra;
  checks: Check[];
  /** Short text for the table's notes column. */
  note: string;
}

/** A fresh star: a victim (options `victim`) and two unreachable honest peers. */
async function star(
  lab: Lab,
  victim: Partial<Omit<NodeOptions, 'topic'>> = {},
): Promise<{ victim: NodeHandle; sender: NodeHandle; receiver: NodeHandle; honest: NodeHandle[] }> {
  const s = await lab.star({ honest: 2, victim });
  return { victim: s.victim, sender: s.honest[0]!, receiver: s.honest[1]!, honest: s.honest };
}

type Attackish = MeasureOptions['attack'];

async function measure(
  lab: Lab,
  name: string,
  nodes: { victim: NodeHandle; sender: NodeHandle; receiver: NodeHandle },
  attack: Omit<Attackish, 'durationMs'> & { durationMs?: number },
  o: Partial<Pick<MeasureOptions, 'during' | 'sampler'>> = {},
): Promise<AttackResult> {
  return measureAttack(lab, {
    name,
    victim: nodes.victim,
    senders: [nodes.sender],
    receivers: [nodes.receiver],
    attack: { durationMs: attackMs, ...attack },
    ...o,
  });
}

const connectsCheck = (c: HonestConnects | undefined): Check => [
  `honest connects ≥ ${DELIVERY_TARGET * 100} %`,
  c === undefined ? undefined : c.attempted > 0 && c.succeeded >= Math.ceil(DELIVERY_TARGET * c.attempted),
];

/** Honest connects for the whole attack phase of `attacker`. */
async function connectsDuring(victim: NodeHandle, attacking: Promise<number>): Promise<HonestConnects> {
  await attacking;
  return honestConnects(victim, {
    count: Math.floor((attackMs - 1000) / HONEST_EVERY_MS),
    everyMs: HONEST_EVERY_MS,
    bindHosts: HONEST_CONNECT_HOSTS,
  });
}

const sum = (reports: readonly AttackReport[], f: (r: AttackReport) => number): number =>
  reports.reduce((n, r) => n + f(r), 0);

/** Runs one attack in `lab`. */
async function runAttack(lab: Lab, name: Name): Promise<Outcome> {
  switch (name) {
    case 'baseline': {
      const s = await star(lab);
      const r = await measure(lab, name, s, { attack: { kind: 'none' } });
      return { r, extra: {}, checks: [], note: '' };
    }

    case 'ihave-repeat':
    case 'ihave-fresh': {
      const s = await star(lab);
      const r = await measure(lab, name, s, { attack: { kind: name, entries: 1900, ratePerSec: 0 } });
      const c = r.report.counters;
      return {
        r,
        extra: { framesSent: c.framesSent, peakTimers: r.peakTimers },
        checks: [],
        note: `${c.framesSent} frames, timers ≤ ${r.peakTimers}`,
      };
    }

    case 'walks': {
      const s = await star(lab);
      const others: Promise<AttackReport>[] = [];
      const kinds = ['forward-join', 'shuffle', 'shuffle-reply'] as const;
      const walker = (message: (typeof kinds)[number], i: number) => ({
        bindHost: `127.0.${i + 1}.71`,
        listenPorts: 2,
        attack: {
          kind: 'walk' as const,
          message,
          ttl: 255,
          peersPerFrame: message === 'forward-join' ? 1 : 32,
          ratePerSec: 200,
        },
      });
      const r = await measure(lab, name, s, walker('forward-join', 0), {
        during: async () => {
          for (const [i, m] of kinds.slice(1).entries()) {
            others.push(
              lab.attacker({
                name: `walks ${m}`,
                victim: s.victim,
                durationMs: attackMs,
                ...walker(m, i + 1),
              }).report,
            );
          }
          await Promise.all(others);
        },
      });
      const reports = [r.report, ...(await Promise.all(others))];
      const ports = new Set(reports.flatMap((x) => x.listeners.map((a) => `${a.host}:${a.port}`)));
      let onBehalf = 0;
      for (const n of [s.victim, s.sender, s.receiver]) {
        onBehalf += (await n.dials()).filter((d) => ports.has(`${d.host}:${d.port}`)).length;
      }
      return {
        r,
        extra: {
          framesSent: sum(reports, (x) => x.counters.framesSent),
          dialsOnBehalf: onBehalf,
          incomingDials: sum(reports, (x) => x.counters.incomingDials),
        },
        checks: [[`dials on behalf ≤ ${WALK_DIAL_BOUND}`, onBehalf <= WALK_DIAL_BOUND]],
        note: `${sum(reports, (x) => x.counters.framesSent)} frames, ${onBehalf} dials on behalf`,
      };
    }

    case 'idle-sessions':
    case 'silent-websockets':
    case 'slow-tcp': {
      const fdLimit = name === 'slow-tcp' ? 1024 : undefined;
      const s = await star(lab, fdLimit === undefined ? {} : { fdLimit });
      let connects: HonestConnects | undefined;
      let second: AttackReport | undefined;
      const attack: Attackish =
        name === 'idle-sessions'
          ? { bindHosts: loopbackHosts(32, 66), attack: { kind: 'idle-sessions', sessions: 256 } }
          : name === 'silent-websockets'
            ? { bindHosts: loopbackHosts(75, 66), attack: { kind: 'silent-websockets', sockets: 300 } }
            : { bindHosts: loopbackHosts(150, 66), attack: { kind: 'silent-tcp', sockets: 600 } };
      const r = await measure(lab, name, s, attack, {
        during: async (attacker) => {
          const slow =
            name === 'slow-tcp'
              ? lab.attacker({
                  name: 'slow-http',
                  victim: s.victim,
                  durationMs: attackMs,
                  bindHosts: loopbackHosts(150, 67),
                  attack: { kind: 'slow-http', sockets: 600, byteEveryMs: 500 },
                })
              : undefined;
          connects = await connectsDuring(s.victim, attacker.attacking);
          second = await slow?.report;
        },
      });
      const reports = second === undefined ? [r.report] : [r.report, second];
      const exhausted = Math.max(0, ...r.samples.map((x) => x.fdExhausted ?? 0));
      const checks: Check[] = [connectsCheck(connects)];
      if (fdLimit !== undefined) checks.push(['no EMFILE', exhausted === 0]);
      return {
        r,
        extra: {
          honestConnects: connects?.succeeded ?? null,
          honestConnectsAttempted: connects?.attempted ?? null,
          honestConnectP99Ms: connects === undefined ? null : round(connects.p99Ms),
          attackerOpened: sum(reports, (x) => x.counters.sessionsOpened + x.counters.socketsOpened),
          closedByVictim: sum(reports, (x) => x.counters.closedByVictim),
          peakConnections: r.peakConnections,
          peakFds: r.peakFds,
          fdExhausted: exhausted,
        },
        checks,
        note:
          `connects ${connects?.succeeded}/${connects?.attempted}, conns ≤ ${r.peakConnections}, ` +
          `fds ≤ ${r.peakFds}${fdLimit === undefined ? '' : `, EMFILE ${exhausted}`}`,
      };
    }

    case 'eclipse': {
      const s = await star(lab);
      const honestIds = s.honest.map((h) => h.id);
      // The honest neighbours must have served `protectAfterMs` first (the victim's own log says since when).
      await until(
        async () => {
          const ups = (await s.victim.links()).filter((l) => l.event === 'neighbor-up');
          const since = honestIds.map((id) => Math.max(...ups.filter((u) => u.peer === id).map((u) => u.at)));
          return Date.now() - Math.max(...since) >= DEFAULT_PROTECT_AFTER_MS + 500;
        },
        { timeoutMs: DEFAULT_PROTECT_AFTER_MS + 20_000, what: 'honest neighbours protected', everyMs: 250 },
      );
      const sybils = (request: 'join' | 'neighbor-high', second: number) => ({
        bindHosts: loopbackHosts(5, second),
        attack: { kind: 'eclipse' as const, identities: 15, request },
      });
      let other: AttackReport | undefined;
      const r = await measure(lab, name, s, sybils('join', 69), {
        sampler: { everyMs: 100 },
        during: async () => {
          other = await lab.attacker({
            name: 'eclipse neighbor-high',
            victim: s.victim,
            durationMs: attackMs,
            ...sybils('neighbor-high', 70),
          }).report;
        },
      });
      const from = r.report.attackStartedAt ?? r.report.startedAt;
      const to = r.report.attackEndedAt ?? from;
      const counts = r.samples
        .filter((x) => x.at >= from && x.at <= to)
        .map((x) => honestNeighbors(x, honestIds));
      const min = counts.length === 0 ? null : Math.min(...counts);
      const reports = other === undefined ? [r.report] : [r.report, other];
      return {
        r,
        extra: {
          minHonestNeighbors: min,
          samples: counts.length,
          sybilRequests: sum(reports, (x) => x.counters.joinsSent),
          sybilAccepted: sum(reports, (x) => x.counters.joinsAccepted),
        },
        checks: [
          [
            `≥ ${MIN_HONEST_NEIGHBORS} honest neighbours`,
            min === null ? undefined : min >= MIN_HONEST_NEIGHBORS,
          ],
        ],
        note: `min honest ${min} over ${counts.length} samples, sybils accepted ${sum(reports, (x) => x.counters.joinsAccepted)}`,
      };
    }

    case 'forged-gossip':
    case 'signed-flood': {
      const s = await star(lab);
      const r = await measure(lab, name, s, {
        attack:
          name === 'forged-gossip'
            ? { kind: 'forged-gossip', ratePerSec: 10_000, contentBytes: 100 }
            : { kind: 'signed-flood', bytesPerSec: 1_000_000, contentBytes: 1000 },
      });
      const c = r.report.counters;
      return {
        r,
        extra: { framesSent: c.framesSent, bytesSent: c.bytesSent, reconnects: c.reconnects },
        checks: [],
        note: `${c.framesSent} frames, ${round(c.bytesSent / 2 ** 20)} MiB, ${c.reconnects} reconnects`,
      };
    }

    case 'graft-flood': {
      const s = await star(lab);
      const honestIds = [s.sender.id, s.receiver.id];
      const r = await measure(
        lab,
        name,
        s,
        { attack: { kind: 'graft-flood', ratePerSec: 0, minContentBytes: 50_000 } },
        {
          during: async (attacker) => {
            // Once the attacker is a neighbour, the victim broadcasts the 60 kB message it will GRAFT.
            await until(async () => (await s.victim.neighbors()).some((n) => !honestIds.includes(n)), {
              timeoutMs: 20_000,
              what: 'the attacker became a neighbour',
            });
            await s.victim.request('broadcast', { bytes: 60_000 });
            await attacker.attacking.catch(() => 0);
          },
        },
      );
      const amp = Number(r.report.notes.amplification ?? Number.NaN);
      return {
        r,
        extra: { amplification: round(amp, 3), graftsSent: r.report.counters.framesSent },
        checks: [],
        note: `${r.report.counters.framesSent} GRAFTs, ${round(amp, 2)} B out per B in`,
      };
    }

    case 'bad-addresses': {
      const trap = await openTrap();
      try {
        const port = trap.port;
        const named = [CONTROL_HOST, ...NEVER_HOSTS, ...LOOPBACK_HOSTS].map((host) => ({ host, port }));
        const s = await star(lab, { gossip: { transport: { addressPolicy: { loopback: false } } } });
        let joins: AttackReport | undefined;
        const r = await measure(
          lab,
          name,
          s,
          {
            attack: {
              kind: 'frames',
              frames: hostileWalkFrames(lab.topic, named, Math.ceil((24 * attackMs) / 1000) + 8),
              neighbour: true,
              ratePerSec: 24,
              reconnect: true,
            },
          },
          {
            during: async () => {
              joins = await lab.attacker({
                name: 'bad-addresses joins',
                victim: s.victim,
                durationMs: attackMs,
                bindHosts: loopbackHosts(4, 68),
                attack: { kind: 'bad-addresses', via: 'join', addresses: named, ratePerSec: 4 },
              }).report;
            },
          },
        );
        const toTrap = async (n: NodeHandle): Promise<DialRecord[]> =>
          (await n.dials()).filter((d) => d.port === port);
        const victimDials = await toTrap(s.victim);
        const honestDials = [...(await toTrap(s.sender)), ...(await toTrap(s.receiver))];
        // The victim refuses loopback; its honest peers (a loopback testnet) may dial loopback, nothing else.
        const bad =
          victimDials.filter((d) => d.host !== CONTROL_HOST).length +
          honestDials.filter((d) => !isLoopback(d.host) && d.host !== CONTROL_HOST).length;
        const control = victimDials.filter((d) => d.host === CONTROL_HOST).length;
        return {
          r,
          extra: {
            badDials: bad,
            controlDials: control,
            walkFrames: r.report.counters.framesSent,
            joinsSent: joins?.counters.joinsSent ?? null,
          },
          checks: [
            ['0 hostile dials', bad === 0],
            ['control dialed', control > 0],
          ],
          note: `${bad} hostile dials (control ${control}), ${r.report.counters.framesSent} walks, ${joins?.counters.joinsSent} joins`,
        };
      } finally {
        await trap.close();
      }
    }

    case 'prng': {
      const s = await star(lab);
      const r = await measure(
        lab,
        name,
        s,
        { attack: { kind: 'observe' } },
        {
          during: async (attacker) => {
            await attacker.attacking.catch(() => 0);
            await s.victim.startBroadcast({ everyMs: 100, bytes: 64 });
            await attacker.report;
            await s.victim.stopBroadcast().catch(() => 0);
          },
        },
      );
      const seqs = (Array.isArray(r.report.notes.victimSeqs) ? r.report.notes.victimSeqs : []).map((x) =>
        BigInt(String(x)),
      );
      const consecutive = seqs.every((x, i) => i === 0 || x === seqs[i - 1]! + 1n);
      return {
        r,
        extra: {
          seqsObserved: seqs.length,
          seqStart: seqs[0]?.toString() ?? null,
          seqsConsecutive: consecutive,
        },
        checks: [],
        note: `${seqs.length} seqs observed from ${seqs[0] ?? '?'} (consecutive: ${consecutive}); seed not searched`,
      };
    }
  }
}

/** The common targets of a row, then its own. */
function checksOf(o: Outcome): Check[] {
  const r = o.r;
  const checks: Check[] = [
    ['alive', r.victimAlive],
    [`heap ≤ ${HEAP_BOUND_MB} MB`, r.heapGrowthMB <= HEAP_BOUND_MB],
    [
      `delivery ≥ ${DELIVERY_TARGET * 100} %`,
      r.honestExpected > 0 && r.honestDelivered >= Math.ceil(DELIVERY_TARGET * r.honestExpected),
    ],
  ];
  return [...checks, ...o.checks];
}

/**
 * The latency target of a single-peer flood, on the medians over runs (the figures the row reports):
 * one run's p99 of ~60 broadcasts is close to its maximum, so a single scheduling hiccup of this
 * shared machine decides it; the bounds above must hold in every run.
 */
function latencyCheck(name: Name, p99Ms: number | null, baselineP99Ms: number): Check | undefined {
  if (!SINGLE_PEER_FLOODS.has(name)) return undefined;
  return [
    `p99 ≤ ${P99_FACTOR}× baseline`,
    p99Ms !== null && Number.isFinite(baselineP99Ms) ? p99Ms <= P99_FACTOR * baselineP99Ms : undefined,
  ];
}

interface Measured {
  name: Name;
  outcome?: Outcome;
  error?: string;
  ms: number;
}

async function once(name: Name): Promise<Measured> {
  const lab = new Lab(`bench:attack ${name}`);
  const start = performance.now();
  try {
    const outcome = await runAttack(lab, name);
    return { name, outcome, ms: performance.now() - start };
  } catch (e) {
    return { name, error: e instanceof Error ? e.message : String(e), ms: performance.now() - start };
  } finally {
    await lab.close();
  }
}

async function main(): Promise<void> {
  const names: Name[] = ['baseline', ...ATTACKS.filter(selected)];
  const all: Measured[] = [];
  const t0 = performance.now();
  for (let run = 1; run <= runs; run++) {
    for (const name of names) {
      progress(`run ${run}/${runs}: ${name}…`);
      const m = await once(name);
      all.push(m);
      const r = m.outcome?.r;
      progress(
        m.error !== undefined
          ? `  ${name} failed after ${round(m.ms / 1000)} s: ${m.error}`
          : `  ${name}: alive ${r!.victimAlive}, heap +${round(r!.heapGrowthMB)} MB, cpu ${round(r!.cpuPct)} %, ` +
              `honest ${r!.honestDelivered}/${r!.honestExpected} p99 ${round(r!.honestP99Ms)} ms; ` +
              `${m.outcome!.note} (${round(m.ms / 1000)} s)`,
      );
    }
  }
  progress(`done in ${round((performance.now() - t0) / 1000)} s`);

  const baselineP99 = median(
    all.filter((m) => m.name === 'baseline' && m.outcome !== undefined).map((m) => m.outcome!.r.honestP99Ms),
  );
  const rows = names.map((name) => {
    const ms = all.filter((m) => m.name === name);
    const ok = ms.filter((m) => m.outcome !== undefined).map((m) => m.outcome!);
    const errors = ms.filter((m) => m.error !== undefined).map((m) => m.error!);
    const nums = (f: (o: Outcome) => number): number[] => ok.map(f).filter((x) => Number.isFinite(x));
    const med = (f: (o: Outcome) => number): number | null => {
      const v = nums(f);
      return v.length === 0 ? null : round(median(v), 2);
    };
    const q95 = (f: (o: Outcome) => number): number | null => {
      const v = nums(f);
      return v.length === 0 ? null : round(p95(v), 2);
    };
    // A bound holds when it held in every run (missed in one: missed; not measured in one: unknown);
    // the latency target is taken on the medians.
    const held = new Map<string, (boolean | undefined)[]>();
    for (const o of ok) {
      for (const [label, v] of checksOf(o)) held.set(label, [...(held.get(label) ?? []), v]);
    }
    const latency = latencyCheck(
      name,
      med((o) => o.r.honestP99Ms),
      baselineP99,
    );
    if (latency !== undefined && ok.length > 0) held.set(latency[0], [latency[1]]);
    const labels = new Map<string, boolean | undefined>();
    for (const [label, vs] of held) {
      labels.set(label, vs.includes(false) ? false : vs.includes(undefined) ? undefined : true);
    }
    if (errors.length > 0) labels.set('ran', false);
    const targets = Object.fromEntries([...labels].map(([k, v]) => [k, v ?? null]));
    const pass = [...labels.values()].every((v) => v === true);
    const extraKeys = [...new Set(ok.flatMap((o) => Object.keys(o.extra)))];
    const extra: Extra = {};
    for (const k of extraKeys) {
      const values = ok.map((o) => o.extra[k]);
      extra[k] = values.every((v) => typeof v === 'number')
        ? round(median(values as number[]), 3)
        : (values.at(-1) ?? null);
    }
    const fields = {
      heapGrowthMB: (o: Outcome) => o.r.heapGrowthMB,
      cpuPct: (o: Outcome) => o.r.cpuPct,
      honestDelivered: (o: Outcome) => o.r.honestDelivered,
      honestExpected: (o: Outcome) => o.r.honestExpected,
      honestP99Ms: (o: Outcome) => o.r.honestP99Ms,
    };
    return {
      name,
      victimAlive: ok.length === ms.length && ok.every((o) => o.r.victimAlive),
      heapGrowthMB: med(fields.heapGrowthMB),
      cpuPct: med(fields.cpuPct),
      honestDelivered: med(fields.honestDelivered),
      honestExpected: med(fields.honestExpected),
      honestP99Ms: med(fields.honestP99Ms),
      baselineP99Ms: Number.isFinite(baselineP99) ? round(baselineP99, 2) : null,
      ...extra,
      runs: ms.length,
      ...(runs > 1
        ? {
            p95: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, q95(f)])),
          }
        : {}),
      ...(errors.length > 0 ? { errors } : {}),
      notes: ok.at(-1)?.note ?? '',
      targets,
      pass,
    };
  });

  if (args.json) {
    console.log(JSON.stringify({ attacks: rows }));
    return;
  }
  const show = (v: number | null, p?: number | null): string =>
    v === null ? '–' : p === undefined || p === null ? String(v) : `${v} (p95 ${p})`;
  printTable(
    ['attack', 'alive', 'heap +MB', 'cpu %', 'honest', 'p99 ms', 'notes', 'targets'],
    rows.map((row) => {
      const p = (row as { p95?: Record<string, number | null> }).p95;
      const misses = Object.entries(row.targets)
        .filter(([, v]) => v !== true)
        .map(([k, v]) => (v === false ? `miss: ${k}` : `not measured: ${k}`));
      return [
        row.name,
        String(row.victimAlive),
        show(row.heapGrowthMB, p?.heapGrowthMB),
        show(row.cpuPct, p?.cpuPct),
        `${show(row.honestDelivered)}/${show(row.honestExpected)}`,
        show(row.honestP99Ms, p?.honestP99Ms),
        row.errors === undefined ? row.notes : `error: ${row.errors.join('; ')}`,
        misses.length === 0 ? 'pass' : misses.join(', '),
      ];
    }),
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    progress(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
