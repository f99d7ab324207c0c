/**
 * `gtt demo`: the whole product in one process, offline. An embedded DHT testnet on 127.0.0.1 and N
 * peers (each its own DHT node and gossip node) that join a fresh topic at the same moment; a timeline of
 * what they do; every peer broadcasts once; a summary. Exit code 0 only when every peer got every other
 * peer's message.
 */
import { randomBytes } from 'node:crypto';
import { createTestnet, joinTopic, type Testnet, type TrackedTopic, type TrackerEvent } from '../../index.js';
import { meshComponents } from '../../tracker/mesh.js';
import type { DemoArgs } from '../args.js';
import {
  DEMO_DELIVERY_TIMEOUT_MS,
  DEMO_JOIN_TIMEOUT_MS,
  DEMO_QUIET_MS,
  DEMO_TESTNET_NODES,
} from '../defaults.js';
import { encodeChat } from '../message.js';
import { describeStatus, type Io, Out, plural, seconds, shortId, statusFields } from '../output.js';
import { INTERRUPTED, interrupted, startFailure } from './shared.js';

/** One demo peer and what happened to it. */
interface DemoPeer {
  index: number;
  topic: TrackedTopic;
  /** Milliseconds from the start of the peers to the first neighbour. */
  joinedMs: number | undefined;
  /** Origins (ids) of the demo messages it received. */
  got: Set<string>;
  /** Records found in the current bootstrap pass, and dials so far (for the timeline). */
  records: number;
  dials: number;
}

/** Runs `gtt demo`; resolves with the exit code. */
export async function demo(args: DemoArgs, io: Io): Promise<number> {
  const out = new Out(io);
  const abort = new AbortController();
  const offSignal = io.onSignal(() => {
    if (abort.signal.aborted) io.exit(INTERRUPTED);
    abort.abort();
  });
  const n = args.peers;
  const topicName = `gtt-demo-${randomBytes(4).toString('hex')}`;
  const secret = randomBytes(16).toString('hex');
  const at = () => `${String(out.ms()).padStart(6)} ms  `;
  const say = (text: string) => {
    if (!args.json) out.line(`${at()}${text}`);
  };

  if (args.json) out.json('demo', { peers: n, topic: topicName });
  else
    out.line(
      `gtt demo: ${n} peers join ${JSON.stringify(topicName)} (with a secret) on a local DHT, offline`,
    );

  let net: Testnet | undefined;
  const peers: DemoPeer[] = [];
  try {
    net = await createTestnet({ nodes: DEMO_TESTNET_NODES, signal: abort.signal });
    if (args.json) out.json('testnet', { nodes: DEMO_TESTNET_NODES, bootstrap: net.bootstrap[0] });
    say(
      `testnet of ${DEMO_TESTNET_NODES} DHT nodes ready at ${net.bootstrap[0]}; starting ${n} peers at once`,
    );

    const indexOf = new Map<string, number>();
    const who = (id: string) => {
      const i = indexOf.get(id);
      return i === undefined ? shortId(id) : `peer ${i}`;
    };
    const start = out.ms();
    const bootstrap = net.bootstrap;
    const started = await Promise.allSettled(
      Array.from({ length: n }, async (_, index) => {
        const topic = await joinTopic(topicName, {
          secret,
          wait: false,
          signal: abort.signal,
          dht: { bootstrap, host: '127.0.0.1' },
          gossip: { listen: { host: '127.0.0.1', port: 0 } },
        });
        const peer: DemoPeer = { index, topic, joinedMs: undefined, got: new Set(), records: 0, dials: 0 };
        peers.push(peer);
        indexOf.set(topic.id, index);
        topic.on('status', (e) => {
          if (args.json) out.json('status', { peer: index, ...statusFields(e) });
          else {
            const text = timelineText(e, peer, who);
            if (text !== undefined) say(`peer ${index} ${text}`);
          }
        });
        topic.once('joined', () => {
          peer.joinedMs = out.ms() - start;
          if (args.json) out.json('joined', { peer: index, neighbors: topic.neighbors().length });
        });
        topic.on('message', (m) => {
          if (!indexOf.has(m.origin)) return;
          peer.got.add(m.origin);
          if (args.json) out.json('message', { peer: index, from: indexOf.get(m.origin), hops: m.hops });
        });
        return topic;
      }),
    );
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    peers.sort((a, b) => a.index - b.index);

    // Joined, one connected mesh, every message everywhere: each waits for events, within a budget.
    // The mesh must also be steady: PlumTree loses a broadcast whose tree changes under it (a link
    // dropped mid-flight, a neighbour added after it passed), and the views still churn for a moment
    // after the last peer joined.
    const topics = peers.map((p) => p.topic);
    const allJoined = await waitUntil(
      topics,
      () => topics.every((t) => t.isJoined()) && components(topics).length === 1 && symmetric(topics),
      DEMO_JOIN_TIMEOUT_MS,
      abort.signal,
      DEMO_QUIET_MS,
    );
    if (abort.signal.aborted) return interrupted('demo', io);
    const sizes = components(topics);
    const degrees = topics.map((t) => t.neighbors().length);
    if (args.json) out.json('mesh', { components: sizes, neighbors: degrees });
    else if (allJoined) {
      say(`mesh steady: one component of ${n}, ${range(degrees)} neighbours per peer; everyone broadcasts`);
    } else {
      say(`mesh not whole within ${seconds(DEMO_JOIN_TIMEOUT_MS)}: components ${sizes.join(' + ')}`);
    }

    const expected = n * (n - 1);
    const delivered = () => peers.reduce((sum, p) => sum + p.got.size, 0);
    let deliveredMs: number | undefined;
    if (allJoined) {
      const sentAt = out.ms();
      for (const p of peers) p.topic.broadcast(encodeChat(`hello from peer ${p.index}`, `peer ${p.index}`));
      if (await waitUntil(topics, () => delivered() === expected, DEMO_DELIVERY_TIMEOUT_MS, abort.signal)) {
        deliveredMs = out.ms() - sentAt;
        say(`every peer has every other peer's message (${deliveredMs} ms after sending)`);
      }
    }
    if (abort.signal.aborted) return interrupted('demo', io);

    const joinTimes = peers.flatMap((p) => (p.joinedMs === undefined ? [] : [p.joinedMs]));
    const published = peers.reduce((sum, p) => sum + p.topic.stats.tracker.published, 0);
    const summary = {
      peers: n,
      joined: joinTimes.length,
      joinMs: stats(joinTimes),
      components: sizes,
      delivered: delivered(),
      expected,
      deliveredMs,
      recordsPublished: published,
    };
    if (args.json) out.json('summary', summary);
    else {
      const j = summary.joinMs;
      out.line('');
      out.line('summary');
      out.line(
        `  joined       ${joinTimes.length}/${n} peers` +
          (j === undefined
            ? ''
            : `; time to join min ${ms(j.min)}, median ${ms(j.median)}, max ${ms(j.max)} ` +
              '(from start, own DHT node included)'),
      );
      out.line(`  mesh         ${plural(sizes.length, 'component')} (${sizes.join(' + ')} peers)`);
      out.line(`  messages     delivered ${summary.delivered}/${expected}`);
      out.line(`  DHT          ${plural(published, 'record')} published`);
    }
    return summary.delivered === expected ? 0 : 1;
  } catch (e) {
    if (abort.signal.aborted) return interrupted('demo', io);
    return startFailure('demo', e, io, args.json ? out : undefined);
  } finally {
    offSignal();
    const closing = out.ms();
    await Promise.allSettled(peers.map((p) => p.topic.close()));
    await net?.close();
    if (args.json) out.json('closed', { closeMs: out.ms() - closing });
    else out.line(`closed everything in ${out.ms() - closing} ms`);
  }
}

/**
 * The few tracker events the timeline shows, in words; undefined for the rest. Concise: a peer's first
 * dial says how many records it had found; the others are counted and told when it joins.
 */
function timelineText(e: TrackerEvent, peer: DemoPeer, who: (id: string) => string): string | undefined {
  switch (e.type) {
    case 'read':
      peer.records = 0;
      return undefined;
    case 'record':
      peer.records += 1;
      return undefined;
    case 'published':
      return e.result.status === 'published'
        ? `published its record (slot ${e.result.slot})`
        : describeStatus(e, who);
    case 'dial':
      peer.dials += 1;
      return peer.dials === 1 ? `found ${plural(peer.records, 'record')}, dialed ${who(e.peer)}` : undefined;
    case 'joined': {
      const dials = peer.dials > 1 ? ` after ${peer.dials} dials` : '';
      return `joined (${plural(e.neighbors, 'neighbour')})${dials}`;
    }
    case 'merge':
    case 'error':
      return describeStatus(e, who);
    default:
      return undefined;
  }
}

/**
 * Resolves true once `done()` holds and has held through `quietMs` without a neighbour change, or as
 * soon as it holds when `quietMs` is 0; re-checks on every neighbour and message event of `topics`.
 * False after `budgetMs` or when `signal` aborts.
 */
function waitUntil(
  topics: readonly TrackedTopic[],
  done: () => boolean,
  budgetMs: number,
  signal: AbortSignal,
  quietMs = 0,
): Promise<boolean> {
  if (quietMs === 0 && done()) return Promise.resolve(true);
  return new Promise((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    const finish = (ok: boolean) => {
      clearTimeout(budget);
      clearTimeout(quiet);
      signal.removeEventListener('abort', onAbort);
      for (const t of topics) {
        t.off('neighbor-up', onChange);
        t.off('neighbor-down', onChange);
        t.off('message', check);
      }
      resolve(ok);
    };
    const check = () => {
      if (quietMs === 0 && done()) finish(true);
    };
    // Any neighbour change restarts the quiet period.
    const onChange = () => {
      if (quietMs === 0) return check();
      clearTimeout(quiet);
      quiet = setTimeout(() => {
        if (done()) finish(true);
      }, quietMs);
    };
    const onAbort = () => finish(false);
    const budget = setTimeout(() => finish(false), budgetMs);
    signal.addEventListener('abort', onAbort, { once: true });
    for (const t of topics) {
      t.on('neighbor-up', onChange);
      t.on('neighbor-down', onChange);
      t.on('message', check);
    }
    onChange();
  });
}

/** Whether every neighbour relation is known at both ends (a link one end has not confirmed yet carries nothing back). */
function symmetric(topics: readonly TrackedTopic[]): boolean {
  const byId = new Map(topics.map((t) => [t.id, t]));
  return topics.every((t) => t.neighbors().every((n) => byId.get(n)?.neighbors().includes(t.id) ?? true));
}

/** Sizes of the connected components of the peers' neighbour graph, largest first. */
const components = (topics: readonly TrackedTopic[]): number[] => meshComponents(topics).map((c) => c.size);

function stats(values: readonly number[]): { min: number; median: number; max: number } | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
  return { min: s[0]!, median, max: s[s.length - 1]! };
}

function range(values: readonly number[]): string {
  const min = Math.min(...values);
  const max = Math.max(...values);
  return min === max ? `${min}` : `${min}–${max}`;
}

function ms(value: number): string {
  return value < 1000 ? `${value} ms` : seconds(value);
}
