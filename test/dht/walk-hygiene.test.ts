/**
 * Walk hygiene on a real 30-node testnet (`lookup.ts`): 8 hostile responders, plain UDP sockets with
 * ids near a stored item's target, answer every query with 300 fresh random ids nearer still, at
 * ports where nobody listens (2,400 fakes per round of the 8). A `getAll` must still find the item,
 * with a bounded number of queries and well before its budget. Waits for conditions, never for time.
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetOf } from '../../src/dht/bep44.js';
import { createTestnet, Dht, type Testnet } from '../../src/dht/index.js';
import { randomKeys, utf8 } from '../helpers/dht.js';
import { until } from '../helpers/net.js';
import { type Bencodable, bdecode, bencode, type Decoded, RawKrpc } from '../helpers/raw-krpc.js';

const HOSTILE = 8;
const FAKES_PER_REPLY = 300;

/** A UDP socket on 127.0.0.1 that answers every query with `fakes` contacts near `target`. */
class HostileNode {
  readonly id: Uint8Array;
  readonly #socket = dgram.createSocket('udp4');
  readonly #target: Uint8Array;
  queries = 0;
  replies = 0;

  static async open(target: Uint8Array): Promise<HostileNode> {
    const node = new HostileNode(target);
    await new Promise<void>((resolve) => node.#socket.bind(0, '127.0.0.1', resolve));
    return node;
  }

  private constructor(target: Uint8Array) {
    this.#target = target;
    this.id = nearId(target, 2);
    this.#socket.on('message', (msg, rinfo) => {
      let d: { [key: string]: Decoded };
      try {
        d = bdecode(msg) as { [key: string]: Decoded };
      } catch {
        return;
      }
      const y = d.y instanceof Uint8Array ? Buffer.from(d.y).toString('latin1') : '';
      if (y === 'r') this.replies++;
      if (y !== 'q' || !(d.t instanceof Uint8Array)) return;
      this.queries++;
      const nodes = Buffer.alloc(FAKES_PER_REPLY * 26);
      for (let i = 0; i < FAKES_PER_REPLY; i++) {
        nodes.set(nearId(this.#target, 4), i * 26);
        nodes.set([127, 0, 0, 1], i * 26 + 20);
        // Ports 1–1023: nobody in a test binds them, so every fake is silent.
        nodes.writeUInt16BE(1 + Math.floor(Math.random() * 1023), i * 26 + 24);
      }
      const r: Bencodable = { id: this.id, token: utf8('tok'), nodes };
      this.#socket.send(bencode({ t: d.t, y: 'r', r }), rinfo.port, rinfo.address);
    });
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** A `find_node` to `to`, so that it adds us to its routing table (k-rpc adds every querier). */
  announce(to: { host: string; port: number }): void {
    const q = { t: utf8('hn'), y: 'q', q: 'find_node', a: { id: this.id, target: this.id } };
    this.#socket.send(bencode(q), to.port, to.host);
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

/** A random id sharing its first `shared` bytes with `target`. */
function nearId(target: Uint8Array, shared: number): Uint8Array {
  const id = crypto.getRandomValues(new Uint8Array(20));
  id.set(target.subarray(0, shared));
  return id;
}

let testnet: Testnet;
const hostile: HostileNode[] = [];
const readers: Dht[] = [];

beforeAll(async () => {
  testnet = await createTestnet({ nodes: 30 });
});

afterAll(async () => {
  await Promise.all(readers.map((r) => r.close()));
  await Promise.all(hostile.map((h) => h.close()));
  await testnet?.close();
});

async function timedGet(reader: Dht, publicKey: Uint8Array) {
  const before = reader.stats.queriesSent;
  const t0 = performance.now();
  const got = await reader.getAll({ publicKey });
  return { got, ms: performance.now() - t0, queries: reader.stats.queriesSent - before };
}

describe('walks among hostile responders', () => {
  it('8 nodes answering with 2,400 fakes near the target: getAll still finds the item, bounded', async () => {
    const keys = randomKeys();
    const writer = await testnet.createNode();
    const put = await writer.put(keys, utf8('still here'), { seq: 1 });
    expect(put.ok).toBe(true);

    const baseline = await timedGet(await testnet.createNode(), keys.publicKey);
    expect(baseline.got.values.map((v) => v.seq)).toEqual([1]);

    // The hostile nodes join: every testnet node adds them (they query it), and they are the
    // closest nodes to the target, so every walk toward it meets them.
    const target = targetOf(keys.publicKey);
    for (let i = 0; i < HOSTILE; i++) hostile.push(await HostileNode.open(target));
    for (const h of hostile) for (const n of testnet.nodes) h.announce(n.address());
    await until(() => hostile.every((h) => h.replies >= testnet.nodes.length), 10_000, 'hostile joins');

    // The reader also knows them first-hand (its bootstrap asks them), so its walk meets them whatever
    // room the testnet nodes' buckets had for them.
    const reader = await Dht.create({
      host: '127.0.0.1',
      bootstrap: [...testnet.bootstrap, ...hostile.map((h) => `127.0.0.1:${h.port}`)],
    });
    readers.push(reader);
    const attacked = await timedGet(reader, keys.publicKey);
    if (process.env.WALK_MEASURE) {
      console.info(
        `baseline ${baseline.ms.toFixed(0)} ms, ${baseline.queries} queries; ` +
          `hostile ${attacked.ms.toFixed(0)} ms, ${attacked.queries} queries, ` +
          `${hostile.reduce((n, h) => n + h.queries, 0)} to hostile nodes`,
      );
    }
    expect(hostile.some((h) => h.queries > 0)).toBe(true);
    expect(attacked.got.values.map((v) => v.seq)).toEqual([1]);
    expect(attacked.got.timedOut).toBe(false);
    // Each hostile reply brings at most 8 fakes into the walk (BEP 5 K per reply): 8 × 8 dead queries
    // beside the ~30 of a walk on this testnet. Without the bound a walk takes all 2,400.
    expect(attacked.queries).toBeLessThanOrEqual(60 + HOSTILE * 8);
    // Generous: the dead fakes cost the walk a few stall delays (100 ms each on loopback); without the
    // bound, its whole 10 s budget.
    expect(attacked.ms).toBeLessThan(Math.max(3 * baseline.ms, 4000));
  }, 60_000);
});

describe('routing-table IP diversity', () => {
  it('one address querying with 50 ids holds one entry (loopback: one per host:port)', async () => {
    const victim = await Dht.create({ host: '127.0.0.1', port: 0, bootstrap: [] });
    const raw = await RawKrpc.open();
    try {
      const to = victim.address();
      for (let i = 0; i < 50; i++) {
        const id = crypto.getRandomValues(new Uint8Array(20));
        const reply = await raw.query(to, 'find_node', { id, target: id });
        expect(reply?.y).toBe('r');
      }
      // k-rpc adds every querier: without the filter the table holds 50 ids at one address.
      expect(victim.nodeCount()).toBe(1);
      expect(victim.stats.server.routingDiversityRefused).toBe(49);
    } finally {
      await raw.close();
      await victim.close();
    }
  });
});
