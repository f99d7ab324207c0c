/** Helpers of the tracker tests: peers on a DHT testnet, mesh components, waits on tracker events. */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createTestnet, type Dht, type Testnet } from '../../src/dht/index.js';
import { type JoinTopicOptions, joinTopic, type TrackedTopic } from '../../src/tracker/join.js';
import { meshComponents } from '../../src/tracker/mesh.js';
import type { TrackerEvent } from '../../src/tracker/tracker.js';

/** Everything a test started; closed in `afterEach`/`afterAll`. */
export class Peers {
  readonly all: TrackedTopic[] = [];
  readonly #testnet: () => Testnet;

  constructor(testnet: () => Testnet) {
    this.#testnet = testnet;
  }

  /**
   * A peer of `topic` with its own DHT node on the testnet and a gossip node on 127.0.0.1. The DHT node
   * stays open until the testnet closes (a closed node would linger in routing tables and stall later
   * lookups), so tests close peers with `closePeers`, and the testnet in `afterAll`.
   */
  async start(topic: string, opts: JoinTopicOptions = {}): Promise<TrackedTopic> {
    const dht = opts.dht ?? (await this.#testnet().createNode());
    const peer = await joinTopic(topic, {
      wait: false,
      gossip: { listen: { host: '127.0.0.1', port: 0 } },
      ...opts,
      dht,
    });
    this.all.push(peer);
    return peer;
  }

  /** Closes every peer (not their DHT nodes). */
  async closePeers(): Promise<void> {
    await Promise.all(this.all.splice(0).map((p) => p.close()));
  }
}

/**
 * The setup of a tracker test file: a testnet of `nodes` DHT nodes and `pool` more nodes created up front
 * (reused across runs with fresh topic names, so starting a peer costs no DHT bootstrap), every peer a
 * test started closed after it, the testnet after the file. `pool` fills in `beforeAll`.
 */
export function trackerTestnet(opts: { nodes: number; pool: number }): { peers: Peers; pool: Dht[] } {
  let testnet: Testnet | undefined;
  const peers = new Peers(() => testnet!);
  const pool: Dht[] = [];
  beforeAll(async () => {
    testnet = await createTestnet({ nodes: opts.nodes });
    pool.push(...(await Promise.all(Array.from({ length: opts.pool }, () => testnet!.createNode()))));
  }, 60_000);
  afterEach(() => peers.closePeers());
  afterAll(() => testnet?.close());
  return { peers, pool };
}

/** A fresh topic name: tests share a testnet, so each run of each test gets its own topic. */
export const uniq = (label: string) => `${label}-${Math.random().toString(36).slice(2)}`;

/** Sizes of the connected components of `peers` over their neighbour lists, largest first. */
export const components = (peers: readonly TrackedTopic[]): number[] =>
  meshComponents(peers).map((c) => c.size);

/** Resolves with the first tracker event of `peer` that passes `filter`; rejects after `ms`. */
export function statusEvent<T extends TrackerEvent['type']>(
  peer: TrackedTopic,
  type: T,
  filter: (e: Extract<TrackerEvent, { type: T }>) => boolean = () => true,
  ms = 30_000,
): Promise<Extract<TrackerEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      peer.off('status', on);
      reject(new Error(`no "${type}" status event within ${ms} ms`));
    }, ms);
    const on = (e: TrackerEvent) => {
      if (e.type !== type || !filter(e as Extract<TrackerEvent, { type: T }>)) return;
      clearTimeout(timer);
      peer.off('status', on);
      resolve(e as Extract<TrackerEvent, { type: T }>);
    };
    peer.on('status', on);
  });
}

/** Every tracker event of `peer` from now on, with its `performance.now()` time. */
export function recordStatus(peer: TrackedTopic): { at: number; event: TrackerEvent }[] {
  const log: { at: number; event: TrackerEvent }[] = [];
  peer.on('status', (event) => log.push({ at: performance.now(), event }));
  return log;
}
