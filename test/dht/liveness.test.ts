/**
 * Liveness of the routing table over real UDP on 127.0.0.1 (see src/dht/liveness.ts): stale buckets
 * are refreshed (BEP 5), a table that shrank or went silent is bootstrapped again with back-off,
 * `Dht.create` sends its bootstrap walk again after a lost datagram, and `close()` leaves no timer.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestnet, Dht, type DhtOptions, type Testnet } from '../../src/dht/index.js';
import { backoffMs, randomIdInBucket, sharedPrefixBits, staleBuckets } from '../../src/dht/liveness.js';
import { runChild } from '../helpers/child.js';
import { randomKeys, unusedUdpPort, utf8 } from '../helpers/dht.js';
import { until } from '../helpers/net.js';

const HOST = '127.0.0.1';
/** The liveness intervals scaled for tests: 15 min → 1 s bucket refresh, 5 s → 100 ms checks. */
const SCALED: DhtOptions = {
  queryTimeoutMs: 500,
  liveness: { checkMs: 100, bucketRefreshMs: 1000, rebootstrapMinDelayMs: 200, rebootstrapMaxDelayMs: 1000 },
};

const open: { close(): unknown }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});
const track = <T extends { close(): unknown }>(x: T): T => {
  open.push(x);
  return x;
};

/**
 * A testnet-like set of our Dht nodes on given ports (0 = any): the first alone, the others bootstrapped
 * to it, then one refresh walk each so every node knows every other.
 */
async function startNet(ports: readonly number[]): Promise<Dht[]> {
  const first = track(await Dht.create({ host: HOST, port: ports[0]!, bootstrap: [] }));
  const bootstrap = [`${HOST}:${first.address().port}`];
  const rest = await Promise.all(
    ports.slice(1).map(async (port) => track(await Dht.create({ host: HOST, port, bootstrap }))),
  );
  const nodes = [first, ...rest];
  await Promise.all(nodes.map((n) => n.refresh()));
  return nodes;
}

describe('an outage of every DHT node', () => {
  it('survivors bootstrap again once the nodes are back, and a newcomer finds them', async () => {
    const NET = 8;
    let net = await startNet(Array.from({ length: NET }, () => 0));
    const ports = net.map((n) => n.address().port);
    const bootstrap = [`${HOST}:${ports[0]}`];
    const survivors = [
      track(await Dht.create({ ...SCALED, host: HOST, bootstrap })),
      track(await Dht.create({ ...SCALED, host: HOST, bootstrap })),
    ];
    await Promise.all(survivors.map((s) => s.refresh()));
    await until(() => survivors.every((s) => s.nodeCount() >= NET), 10_000, 'survivors know the net');

    // Outage: every DHT node stops. The survivors' own walks (bucket refreshes) find them dead.
    await Promise.all(net.map((n) => n.close()));
    const stoppedAt = performance.now();
    await until(() => survivors.every((s) => s.nodeCount() <= 1), 20_000, 'survivors drop the dead nodes');
    const droppedMs = performance.now() - stoppedAt;
    const stats = survivors.map((s) => s.stats.liveness);
    const sum = (f: (l: (typeof stats)[number]) => number) => stats.reduce((t, l) => t + f(l), 0);

    // While the outage lasts, each survivor bootstraps again and again, backing off: four attempts
    // take at least 3 ping timeouts + 200 + 400 + 800 ms of back-off (2900 ms; ~1.8 s without).
    const first = stats[0]!.rebootstraps;
    const outageAt = performance.now();
    await until(() => stats[0]!.rebootstraps >= first + 4, 20_000, 'four re-bootstraps during the outage');
    expect(performance.now() - outageAt).toBeGreaterThanOrEqual(3 * 500 + 200 + 400 + 800);
    expect(stats[0]!.rebootstrapQueries).toBeGreaterThanOrEqual(first + 4);
    const answeredBefore = sum((l) => l.rebootstrapsAnswered);

    // The nodes come back on the same ports, with new ids, knowing nothing of the survivors.
    const restartedAt = performance.now();
    net = await startNet(ports);
    await until(() => survivors.every((s) => s.nodeCount() >= NET), 15_000, 'survivors recover');
    const recoveredMs = performance.now() - restartedAt;
    // At least one survivor got back through a bootstrap node (the other may through it).
    expect(sum((l) => l.rebootstrapsAnswered)).toBeGreaterThan(answeredBefore);

    // A newcomer bootstrapped to one restarted node only reads what a survivor publishes now.
    const newcomer = track(await Dht.create({ ...SCALED, host: HOST, bootstrap: [`${HOST}:${ports[3]}`] }));
    const keys = randomKeys();
    const put = await survivors[0]!.put(keys, utf8('after the outage'), { seq: 1, retries: 0 });
    expect(put.ok).toBe(true);
    const got = await newcomer.getAll({ publicKey: keys.publicKey });
    const foundMs = performance.now() - restartedAt;
    expect(got.values.map((v) => new TextDecoder().decode(v.value))).toEqual(['after the outage']);
    const answered = got.nodes.map((n) => n.port);
    for (const s of survivors) expect(answered).toContain(s.address().port);
    expect(foundMs).toBeLessThan(20_000);
    console.log(
      `outage: survivors dropped the dead nodes in ${droppedMs.toFixed(0)} ms, recovered ${recoveredMs.toFixed(0)} ms, newcomer read ${foundMs.toFixed(0)} ms after restart`,
    );
  }, 90_000);
});

describe('re-bootstrap when every query fails', () => {
  it('a node whose queries all went unanswered for rebootstrapSilenceMs asks its bootstrap nodes', async () => {
    const net = await startNet([0, 0, 0, 0]);
    const node = track(
      await Dht.create({
        host: HOST,
        bootstrap: [`${HOST}:${net[0]!.address().port}`],
        queryTimeoutMs: 200,
        // Only the silence trigger: the table-size one is off, buckets are not refreshed.
        liveness: {
          checkMs: 50,
          rebootstrapBelowNodes: 0,
          rebootstrapSilenceMs: 300,
          bucketRefreshMs: 3_600_000,
        },
      }),
    );
    await node.refresh();
    expect(node.stats.liveness.rebootstraps).toBe(0);
    await Promise.all(net.map((n) => n.close()));
    await node.refresh(); // every query times out
    await until(() => node.stats.liveness.rebootstraps > 0, 5000, 'a re-bootstrap after the silence');
    expect(node.stats.liveness.rebootstrapsAnswered).toBe(0);
  });
});

describe('liveness helpers', () => {
  it('backs off exponentially from rebootstrapMinDelayMs, bounded by rebootstrapMaxDelayMs', () => {
    const config = { rebootstrapMinDelayMs: 5000, rebootstrapMaxDelayMs: 300_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 100].map((f) => backoffMs(f, config))).toEqual([
      5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000,
    ]);
  });

  it('places random refresh targets in the bucket they refresh (BEP 5)', () => {
    const self = crypto.getRandomValues(new Uint8Array(20));
    for (const index of [0, 1, 7, 8, 13, 100, 159]) {
      for (let i = 0; i < 20; i++) {
        expect(sharedPrefixBits(self, randomIdInBucket(self, index, false))).toBe(index);
        expect(sharedPrefixBits(self, randomIdInBucket(self, index, true))).toBeGreaterThanOrEqual(index);
      }
    }
  });

  it('dates each bucket by the newest seen of its nodes, or by its last walk', () => {
    const self = new Uint8Array(20);
    const at = (bits: number, seen: number) => {
      const id = Buffer.alloc(20);
      id[bits >> 3] = 0x80 >> (bits & 7); // shares exactly `bits` leading bits with 0…0
      return { id, host: HOST, port: 1, seen };
    };
    const buckets = staleBuckets(self, [at(0, 50), at(0, 70), at(2, 90), at(3, 10)], new Map([[1, 40]]), 20);
    expect(buckets).toEqual([
      { index: 0, deepest: false, changedAt: 70 },
      { index: 1, deepest: false, changedAt: 40 },
      { index: 2, deepest: false, changedAt: 90 },
      { index: 3, deepest: true, changedAt: 20 },
    ]);
  });
});

/** A UDP relay in front of `target` that drops the first `drop` datagrams from its client. */
async function dropRelay(target: { host: string; port: number }, drop: number) {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  let client: dgram.RemoteInfo | undefined;
  const counts = { dropped: 0, forwarded: 0 };
  socket.on('message', (msg, from) => {
    if (from.port === target.port && from.address === target.host) {
      if (client) socket.send(msg, client.port, client.address);
      return;
    }
    client = from;
    if (counts.dropped < drop) {
      counts.dropped++;
      return;
    }
    counts.forwarded++;
    socket.send(msg, target.port, target.host);
  });
  return {
    counts,
    address: `${HOST}:${socket.address().port}`,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

describe('Dht.create over a lossy bootstrap', () => {
  let testnet: Testnet;
  afterEach(() => testnet?.close());

  it('succeeds when the bootstrap node loses its first 3 queries', async () => {
    testnet = await createTestnet({ nodes: 4 });
    const relay = track(await dropRelay({ host: HOST, port: testnet.nodes[0]!.address().port }, 3));
    const started = performance.now();
    const node = track(
      await Dht.create({
        host: HOST,
        bootstrap: [relay.address],
        queryTimeoutMs: 300,
        bootstrapTimeoutMs: 5000,
      }),
    );
    expect(relay.counts.dropped).toBe(3);
    expect(node.nodeCount()).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('fails only at bootstrapTimeoutMs, saying how many queries went unanswered', async () => {
    const port = await unusedUdpPort();
    const started = performance.now();
    const create = Dht.create({
      host: HOST,
      bootstrap: [`${HOST}:${port}`],
      queryTimeoutMs: 300,
      bootstrapTimeoutMs: 1500,
    });
    const error = await create.then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(1400);
    expect(error?.code).toBe('DHT_BOOTSTRAP_FAILED');
    expect(error?.message).toMatch(
      /^No DHT node answered within 1500 ms \(bootstrap: 127\.0\.0\.1:\d+; [3-5] walks, [3-5] queries: [2-5] timed out, 0 refused or invalid, [0-3] unanswered\)$/,
    );
  });
});

it('a process whose Dht refreshed buckets and bootstrapped again exits by itself after close()', async () => {
  const { outcome, stdout, stderr } = await runChild(
    new URL('../helpers/liveness-exit.ts', import.meta.url),
    45_000,
  );
  expect(outcome, stderr).toEqual({ code: 0, signal: null });
  const result = JSON.parse(stdout.trim());
  expect(result.bucketRefreshes).toBeGreaterThan(0);
  expect(result.rebootstraps).toBeGreaterThan(0);
  expect(result.timers).toBe(0);
}, 60_000);
