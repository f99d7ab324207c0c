/**
 * Query pacing (`pacer.ts`): the pure state on a fake clock, and a tight loop of reads against one raw
 * UDP node, which counts what it receives per second (libtorrent's `dht_block_ratelimit` blocks an IP
 * at 50 packets within 10 s).
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PACE_BURST, DEFAULT_PACE_PER_SECOND } from '../../src/dht/config.js';
import { Dht, type DhtOptions } from '../../src/dht/index.js';
import { PaceState, QueryPacer } from '../../src/dht/pacer.js';
import { randomKeys, utf8 } from '../helpers/dht.js';
import { until } from '../helpers/net.js';
import { bdecode, bencode, type Decoded } from '../helpers/raw-krpc.js';

/** Send times of `count` queries to one address, each sent as soon as the pacer allows from `start`. */
function schedule(state: PaceState, count: number, address = 'a:1', start = 0): (number | undefined)[] {
  return Array.from({ length: count }, () => {
    const delay = state.reserve(address, start);
    return delay === undefined ? undefined : start + delay;
  });
}

/** Most send times within any window of `ms`. */
function maxInWindow(times: readonly number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('PaceState', () => {
  it('lets a burst go at once, then one query per 1/rate; a full queue refuses', () => {
    const state = new PaceState({ perSecond: 4, burst: 4, maxQueued: 8 });
    const times = schedule(state, 14);
    expect(times.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(times.slice(4, 12)).toEqual([250, 500, 750, 1000, 1250, 1500, 1750, 2000]);
    expect(times.slice(12)).toEqual([undefined, undefined]);
  });

  it('addresses are paced apart', () => {
    const state = new PaceState({ perSecond: 4, burst: 1, maxQueued: 8 });
    expect(state.reserve('a:1', 0)).toBe(0);
    expect(state.reserve('b:1', 0)).toBe(0);
    expect(state.reserve('a:1', 0)).toBe(250);
    expect(state.reserve('a:2', 0)).toBe(0);
  });

  it('never lets more than burst + 10 s × rate go within 10 s (libtorrent blocks at 50)', () => {
    const state = new PaceState();
    const sent: number[] = [];
    // A caller that retries every 10 ms for 60 s (fake clock).
    for (let now = 0; now < 60_000; now += 10) {
      const delay = state.reserve('node:6881', now);
      if (delay !== undefined) sent.push(now + delay);
    }
    expect(maxInWindow(sent, 10_000)).toBeLessThanOrEqual(44);
    expect(maxInWindow(sent, 1000)).toBeLessThanOrEqual(
      DEFAULT_PACE_BURST + Math.ceil(DEFAULT_PACE_PER_SECOND),
    );
    expect(sent.length).toBeGreaterThan(Math.floor(60 * DEFAULT_PACE_PER_SECOND));
  });

  it('after a quiet spell an address has its burst back, and forgotten addresses free the table', () => {
    const state = new PaceState({ perSecond: 4, burst: 2, maxQueued: 1, maxTracked: 2 });
    expect(schedule(state, 3, 'a:1', 0)).toEqual([0, 0, 250]);
    expect(schedule(state, 2, 'a:1', 10_000)).toEqual([10_000, 10_000]);
    expect(state.reserve('b:1', 10_000)).toBe(0);
    expect(state.reserve('c:1', 10_000)).toBeUndefined(); // a and b are still paced
    expect(state.reserve('c:1', 20_000)).toBe(0);
    expect(state.tracked).toBeLessThanOrEqual(2);
  });
});

describe('QueryPacer', () => {
  it('runs a query at once or at its turn with jitter; refuses a full queue; close drops the waiting', () => {
    let now = 0;
    const pacer = new QueryPacer({ perSecond: 4, burst: 1, maxQueued: 1, now: () => now, random: () => 0 });
    const ran: string[] = [];
    expect(pacer.run({ host: 'h', port: 1 }, () => ran.push('first'))).toBe(true);
    expect(ran).toEqual(['first']);
    expect(pacer.run({ host: 'h', port: 1 }, () => ran.push('second'))).toBe(true);
    expect(pacer.run({ host: 'h', port: 1 }, () => ran.push('third'))).toBe(false);
    expect(pacer.waiting).toBe(1);
    pacer.close();
    expect(pacer.waiting).toBe(0);
    now = 10_000;
    expect(pacer.run({ host: 'h', port: 1 }, () => ran.push('closed'))).toBe(false);
    expect(ran).toEqual(['first']);
  });
});

/** A raw node on 127.0.0.1 answering every query with its id and a token; records arrival times. */
class CountingNode {
  readonly id = crypto.getRandomValues(new Uint8Array(20));
  readonly arrivals: number[] = [];
  readonly #socket = dgram.createSocket('udp4');

  static async open(): Promise<CountingNode> {
    const node = new CountingNode();
    await new Promise<void>((resolve) => node.#socket.bind(0, '127.0.0.1', resolve));
    return node;
  }

  private constructor() {
    this.#socket.on('message', (msg, rinfo) => {
      let d: { [key: string]: Decoded };
      try {
        d = bdecode(msg) as { [key: string]: Decoded };
      } catch {
        return;
      }
      if (!(d.y instanceof Uint8Array) || d.y[0] !== 0x71 || !(d.t instanceof Uint8Array)) return;
      this.arrivals.push(performance.now());
      const r = { id: this.id, token: utf8('tok') };
      this.#socket.send(bencode({ t: d.t, y: 'r', r }), rinfo.port, rinfo.address);
    });
  }

  get port(): number {
    return this.#socket.address().port;
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

describe('a tight loop of reads against one node', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** A reader bootstrapped to a fresh counting node, and 2.5 s of reads, 20 at a time. */
  async function tightLoop(options: DhtOptions = {}) {
    const node = await CountingNode.open();
    cleanup.push(() => node.close());
    const reader = await Dht.create({
      host: '127.0.0.1',
      port: 0,
      bootstrap: [`127.0.0.1:${node.port}`],
      ...options,
    });
    cleanup.push(() => reader.close());
    await until(() => reader.nodeCount() > 0, 5000, 'the raw node in the routing table');

    const { publicKey } = randomKeys();
    const start = performance.now();
    let reads = 0;
    // Each lane starts a read as soon as its previous one ends.
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (performance.now() - start < 2500) {
          await reader.getAll({ publicKey });
          reads++;
          // A refused read ends in a microtask: yield to I/O so the loop stays a loop of reads.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    return { node, reader, reads, elapsed: performance.now() - start };
  }

  it('never sends it more than the pace allows', async () => {
    const { node, reader, reads, elapsed } = await tightLoop();
    expect(reads).toBeGreaterThan(100);
    // The burst, then the rate (the bootstrap query counts too), 50 ms of jitter at most.
    const rate = DEFAULT_PACE_PER_SECOND;
    expect(maxInWindow(node.arrivals, 1000)).toBeLessThanOrEqual(DEFAULT_PACE_BURST + Math.ceil(rate) + 1);
    expect(node.arrivals.length).toBeLessThanOrEqual(
      DEFAULT_PACE_BURST + 1 + Math.ceil((elapsed / 1000) * rate) + 1,
    );
    expect(reader.stats.queriesPaced).toBeGreaterThan(0);
  }, 30_000);

  it('sends unpaced to a host in pace.unpaced (a testnet of ours), and a config can loosen the pace', async () => {
    const unpaced = await tightLoop({ pace: { unpaced: ['127.0.0.1'] } });
    // Far beyond what the default pace lets through in a second (16 + 2.8).
    expect(maxInWindow(unpaced.node.arrivals, 1000)).toBeGreaterThan(4 * (DEFAULT_PACE_BURST + 3));
    expect(unpaced.reader.stats.queriesPaced).toBe(0);

    const loose = await tightLoop({ pace: { perSecond: 40, burst: 4, jitterMs: 0 } });
    expect(maxInWindow(loose.node.arrivals, 1000)).toBeGreaterThan(DEFAULT_PACE_BURST + 3);
    expect(maxInWindow(loose.node.arrivals, 1000)).toBeLessThanOrEqual(4 + 40 + 1);
  }, 30_000);

  it('refuses a pace option it does not know, or a host that is not IPv4', async () => {
    await expect(Dht.create({ pace: { perSec: 5 } as never })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
    await expect(Dht.create({ pace: { unpaced: ['localhost'] } })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });
});
