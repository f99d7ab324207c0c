/**
 * Publishers racing for one slot: the tracker's start-up race (PROTOCOL.md §6.2, §6.3), as
 * `RecordStore` runs it, on a network of real storing nodes. Shared by test/interop/racing.test.ts
 * (which asserts the outcome on libtorrent) and `npm run bench:interop` (which counts it on four
 * networks).
 *
 * Peers that start together on an empty topic each read slot 0 of the current minute and publish at
 * once on the nodes that read found. They share the slot: its signing key and salts derive from the
 * topic, the minute and the secret alone (`deriveMinuteKeys`), and a minute's first record of each has
 * seq 1. Each stores on `replicas` (5) of the `closestWindow` (16) closest nodes, picked by rendezvous
 * hashing, so their picks overlap, and a node that gets two equal-seq puts keeps the first. Where
 * bittorrent-dht answers the second 302, libtorrent answers success: a publisher told "accepted" may
 * hold no node at all, and its peers never find its record.
 *
 * Each trial: five `RecordStore`s (own key pairs, own `Dht` nodes on their own loopback hosts, one
 * topic and secret, fresh per trial) read slot 0 and then publish together, as `Tracker` does at
 * start-up (`read` reused, `skipIfOthersFound`). A sixth node, the verifier, then asks every node of
 * the network (its storing nodes and our five) what it holds in each slot of the minute, with no walk
 * that could miss a holder. A publisher whose `publish` returned `published` is lost when no node holds
 * its value; a copy its final `put` reported `accepted` is a phantom when that node does not hold it.
 *
 * Networks ({@link RacingNetworkKind}), 30 storing nodes each by default:
 * - `libtorrent`: libtorrent 2.0 sessions run relaxed (`relaxed: true`): the same six addresses send
 *   thirty trials' queries within a minute, which libtorrent's per-IP DoS block (5 queries/s) and its
 *   8 kB/s DHT upload limit would turn into dropped replies: a lab of the seq race, not of rate limits.
 * - `libtorrent-default`: the same with libtorrent's default limits (what the real DHT runs); our
 *   nodes' pacer (`pacer.ts`, DEFAULT_PACE_PER_SECOND) is what keeps them under the DoS block.
 * - `mixed`: half libtorrent (relaxed, as above), half our `Dht` (bittorrent-dht) on a `createTestnet`,
 *   bootstrapped to each other: equal-seq puts meet both answers within one slot.
 * - `bittorrent-dht`: our `createTestnet` alone.
 * Our six nodes serve the DHT too (they answer as bittorrent-dht does), and sit among the storing
 * nodes in the id space.
 */
import { randomBytes } from 'node:crypto';
import { hexToBytes } from '@noble/hashes/utils.js';
import { createTestnet, Dht, type DhtOptions, type NodeRef, type PutResult } from '../../src/dht/index.js';
import type { PublishResult } from '../../src/tracker/record-store.js';
import { hex } from './dht.js';
import { createLibtorrentTestnet, type LibtorrentTestnet } from './libtorrent.js';
import { contentFor, makeStore, TEST_DHT_OPTIONS, TEST_MINUTE } from './records.js';

/** The networks {@link createRacingNetwork} builds (module comment). */
export const RACING_NETWORKS = ['libtorrent', 'libtorrent-default', 'mixed', 'bittorrent-dht'] as const;
export type RacingNetworkKind = (typeof RACING_NETWORKS)[number];

/** Storing nodes of a racing network by default. */
export const RACING_NODES = 30;
/** Racing publishers by default. */
export const RACING_PUBLISHERS = 5;
const SECRET = 'interop racing';

/** The storing nodes the racers publish on. */
export interface RacingNetwork {
  readonly kind: RacingNetworkKind;
  /** `host:port` addresses to bootstrap our nodes from. */
  readonly bootstrap: readonly string[];
  /** Every storing node, with its id as it is now (libtorrent derives its id from its address, BEP 42). */
  storingNodes(): Promise<NodeRef[]>;
  /** Whether `n` is one of the libtorrent nodes. */
  isLibtorrent(n: { host: string; port: number }): boolean;
  /** Closes every storing node (kills the libtorrent child by pid if it lingers). Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a racing network of `nodes` storing nodes (`mixed`: half and half, libtorrent rounded down).
 * @throws Error when a libtorrent network is asked for and libtorrent is unavailable
 *   (`libtorrentAvailable()` says why), or when start-up fails.
 */
export async function createRacingNetwork(
  kind: RacingNetworkKind,
  opts: { nodes?: number; lifetimeMs?: number } = {},
): Promise<RacingNetwork> {
  const nodes = opts.nodes ?? RACING_NODES;
  const lifetimeMs = opts.lifetimeMs ?? 240_000;
  const ltCount = kind === 'bittorrent-dht' ? 0 : kind === 'mixed' ? Math.floor(nodes / 2) : nodes;
  const ourCount = nodes - ltCount;
  const testnet = ourCount > 0 ? await createTestnet({ nodes: ourCount }) : undefined;
  let lt: LibtorrentTestnet | undefined;
  try {
    if (ltCount > 0) {
      lt = await createLibtorrentTestnet({
        nodes: ltCount,
        relaxed: kind !== 'libtorrent-default',
        lifetimeMs,
        ...(testnet ? { bootstrap: testnet.bootstrap } : {}),
      });
    }
  } catch (error) {
    await testnet?.close();
    throw error;
  }
  const ltNodes = lt?.nodes ?? [];
  let closing: Promise<void> | undefined;
  return {
    kind,
    bootstrap: [...(lt?.bootstrap ?? []), ...(testnet?.bootstrap ?? [])],
    async storingNodes() {
      const fromLt = lt ? await lt.stats() : [];
      return [
        ...fromLt
          .filter((n) => n.id !== null)
          .map((n) => ({ host: n.host, port: n.port, id: hexToBytes(n.id!) })),
        ...(testnet?.nodes ?? []).map((d) => ({ ...d.address(), id: d.id })),
      ];
    },
    isLibtorrent: (n) => ltNodes.some((l) => l.host === n.host && l.port === n.port),
    close() {
      closing ??= Promise.all([lt?.close(), testnet?.close()]).then(() => undefined);
      return closing;
    },
  };
}

/** One `Dht.put` a publisher made: what it stored and what it was told. */
interface PutLog {
  readonly salt: Uint8Array | undefined;
  readonly value: Uint8Array;
  readonly result: PutResult;
}

/** Records each `put` of `dht` into `logs.get(dht)`: the accepted copies are the claim under test. */
function observePuts(dht: Dht, logs: Map<Dht, PutLog[]>): void {
  const put = dht.put.bind(dht);
  dht.put = async (slot, value, options) => {
    const result = await put(slot, value, options);
    logs.get(dht)?.push({ salt: slot.salt, value, result });
    return result;
  };
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => hex(a) === hex(b);

/**
 * The verifier waits for every query until it answers or times out (no stall, see `lookup.ts`), so a
 * reply slowed by load cannot hide a holder.
 */
const EXACT = { queryTimeoutMs: 2000, queryStallMs: 2000 };
/** Bucket-refresh rounds before the trials (measured: the tables held 33–35 of 35 after one or two). */
const WARM_UP_ROUNDS = 2;
/** Nodes a `getAll` with `nodes` asks at most (its k closest of those given; the Dht default k). */
const K = 20;

/**
 * Walks toward random ids (BEP 5 bucket refreshes), so that the trials' walks start from routing
 * tables that know nearly every node, as on a settled DHT: a young node's walk ends on what
 * libtorrent's replies (8 nodes each) name, and in the first trial would pick its nodes from fewer.
 */
async function warmUp(ours: readonly Dht[]): Promise<void> {
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    await Promise.all(
      ours.flatMap((d) =>
        Array.from({ length: 4 }, () => d.refresh({ target: new Uint8Array(randomBytes(20)) })),
      ),
    );
  }
}

const address = (n: { host: string; port: number }) => `${n.host}:${n.port}`;

/** Our racing publishers and the verifier, joined to a {@link RacingNetwork}. */
export interface RacingLab {
  readonly network: RacingNetwork;
  readonly publishers: readonly Dht[];
  readonly verifier: Dht;
  /** Closes our nodes (not the network). Idempotent. */
  close(): Promise<void>;
}

/** Per-publisher put logs of each lab (the wrapped `put`s write here). */
const labLogs = new WeakMap<RacingLab, Map<Dht, PutLog[]>>();

/**
 * Joins `publishers` racers (127.0.3.1, 127.0.3.2, …) and the verifier (127.0.3.100) to `network`, one
 * at a time, each bootstrapped to the ones before too: libtorrent lists few of our nodes in its replies
 * at first, so this is how ours learn each other. Then warms their routing tables up.
 * @throws whatever `Dht.create` throws (nodes already created are closed first).
 */
export async function createRacingLab(
  network: RacingNetwork,
  opts: { publishers?: number } = {},
): Promise<RacingLab> {
  const ours: Dht[] = [];
  const join = async (host: string, options: DhtOptions) => {
    const bootstrap = [...network.bootstrap, ...ours.map((d) => address(d.address()))];
    const dht = await Dht.create({ host, port: 0, bootstrap, ...options });
    ours.push(dht);
    return dht;
  };
  const publishers: Dht[] = [];
  let verifier: Dht;
  const logs = new Map<Dht, PutLog[]>();
  try {
    for (let i = 0; i < (opts.publishers ?? RACING_PUBLISHERS); i++) {
      publishers.push(await join(`127.0.3.${i + 1}`, TEST_DHT_OPTIONS));
    }
    verifier = await join('127.0.3.100', EXACT);
    for (const dht of publishers) observePuts(dht, logs);
    await warmUp(ours);
  } catch (error) {
    await Promise.all(ours.map((d) => d.close()));
    throw error;
  }
  let closing: Promise<void> | undefined;
  const lab: RacingLab = {
    network,
    publishers,
    verifier,
    close() {
      closing ??= Promise.all(ours.map((d) => d.close())).then(() => undefined);
      return closing;
    },
  };
  labLogs.set(lab, logs);
  return lab;
}

/** What the trials of {@link runRacingTrials} found, summed over trials. */
export interface RacingSummary {
  readonly trials: number;
  readonly publishers: number;
  /** Publish results by outcome (`published`, `skipped:others-found`, …). */
  readonly outcomes: Record<string, number>;
  /** Publishers told `published`. */
  readonly published: number;
  /** Of those, the ones whose value no node holds. */
  readonly lost: number;
  /** Trials in which at least one publisher was lost. */
  readonly trialsLosing: number[];
  /** Copies the publishers' final puts reported accepted, and those the node does not hold. */
  readonly accepted: number;
  readonly phantoms: number;
  /** The same, on libtorrent nodes only. */
  readonly acceptedOnLibtorrent: number;
  readonly phantomsOnLibtorrent: number;
}

/**
 * Runs `trials` racing trials (module comment) on `lab`. `check(ok, message)` is called for each
 * per-trial invariant (a publisher told `published` made an ok put; someone published in each trial):
 * the test passes vitest's `expect`, the bench counts the failures.
 */
export async function runRacingTrials(
  lab: RacingLab,
  opts: { trials: number; check: (ok: boolean, message: string) => void },
): Promise<RacingSummary> {
  const { publishers, verifier, network } = lab;
  const logs = labLogs.get(lab)!;
  const { trials, check } = opts;
  let published = 0;
  let lost = 0;
  let accepted = 0;
  let phantoms = 0;
  let acceptedOnLibtorrent = 0;
  let phantomsOnLibtorrent = 0;
  const trialsLosing: number[] = [];
  const outcomes: Record<string, number> = {};

  for (let trial = 0; trial < trials; trial++) {
    const topic = `race-${trial}-${Math.random()}`;
    const racers = publishers.map((dht) => makeStore(dht, topic, { secret: SECRET }));
    for (const dht of publishers) logs.set(dht, []);
    // The tracker's start-up: read slot 0 (the topic is empty), then publish on the nodes it found.
    const views = await Promise.all(racers.map((r) => r.store.read(TEST_MINUTE, { slots: [0] })));
    const results: PublishResult[] = await Promise.all(
      racers.map((r, i) =>
        r.store.publish(contentFor(i), { minute: TEST_MINUTE, read: views[i], skipIfOthersFound: true }),
      ),
    );

    // What every node of the network holds in each slot: its storing nodes (libtorrent ids as they
    // are now: libtorrent derives its id from the address replies report, BEP 42) and our publishers,
    // asked directly, k at a time. The verifier's own store counts too (`getAll` adds it).
    const everyone: NodeRef[] = [
      ...(await network.storingNodes()),
      ...publishers.map((d) => ({ ...d.address(), id: d.id })),
    ];
    const keys = racers[0]!.store.keys(TEST_MINUTE);
    /** Per slot: value (hex) → addresses of the nodes holding it. */
    const held = await Promise.all(
      keys.salts.map(async (salt) => {
        const holders = new Map<string, Set<string>>();
        for (let i = 0; i < everyone.length; i += K) {
          const got = await verifier.getAll(
            { publicKey: keys.slotPublicKey, salt },
            { nodes: everyone.slice(i, i + K) },
          );
          for (const v of got.values) {
            const set = holders.get(hex(v.value)) ?? new Set<string>();
            for (const n of v.from) set.add(address(n));
            holders.set(hex(v.value), set);
          }
        }
        return holders;
      }),
    );
    let lostThisTrial = 0;
    for (const [i, result] of results.entries()) {
      const outcome = result.status === 'published' ? 'published' : `${result.status}:${result.reason}`;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (result.status !== 'published') continue;
      published++;
      // The put that made it `published`: the publisher's last one that reported ok.
      const put = logs.get(publishers[i]!)!.findLast((p) => p.result.ok);
      check(put !== undefined, `publisher ${i} of trial ${trial} published without an ok put`);
      if (put === undefined) continue;
      const { value, salt, result: putResult } = put;
      const slot = keys.salts.findIndex((s) => salt !== undefined && sameBytes(s, salt));
      const holders = held[slot]?.get(hex(value)) ?? new Set<string>();
      if (holders.size === 0) lostThisTrial++;
      const copies = putResult.accepted;
      accepted += copies.length;
      acceptedOnLibtorrent += copies.filter(network.isLibtorrent).length;
      const missing = copies.filter((n) => !holders.has(address(n)));
      phantoms += missing.length;
      phantomsOnLibtorrent += missing.filter(network.isLibtorrent).length;
    }
    check(
      results.some((r) => r.status === 'published'),
      `trial ${trial}: nobody published`,
    );
    lost += lostThisTrial;
    if (lostThisTrial > 0) trialsLosing.push(trial);
  }
  return {
    trials,
    publishers: publishers.length,
    outcomes,
    published,
    lost,
    trialsLosing,
    accepted,
    phantoms,
    acceptedOnLibtorrent,
    phantomsOnLibtorrent,
  };
}
