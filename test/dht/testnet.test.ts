import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestnet, type Testnet } from '../../src/dht/index.js';
import { randomKeys, utf8 } from '../helpers/dht.js';
import { RawKrpc } from '../helpers/raw-krpc.js';

describe('createTestnet', () => {
  let testnet: Testnet;
  beforeAll(async () => {
    testnet = await createTestnet({ nodes: 30 });
  });
  afterAll(() => testnet?.close());

  it('resolves with 30 nodes on 127.0.0.1, each knowing at least k = 20 others', () => {
    expect(testnet.nodes).toHaveLength(30);
    expect(testnet.bootstrap).toEqual([`127.0.0.1:${testnet.nodes[0]!.address().port}`]);
    for (const node of testnet.nodes) {
      expect(node.address().host).toBe('127.0.0.1');
      expect(node.nodeCount()).toBeGreaterThanOrEqual(20);
    }
  });

  it('createNode joins a fresh node bootstrapped to the testnet', async () => {
    const node = await testnet.createNode({ queryTimeoutMs: 500 });
    expect(node.address().host).toBe('127.0.0.1');
    expect(node.nodeCount()).toBeGreaterThan(0);
    const { responded } = await node.refresh();
    expect(responded).toBeGreaterThanOrEqual(20);
    expect(node.nodeCount()).toBeGreaterThanOrEqual(20);
  });

  it("createNode's queries to the testnet's nodes are not paced (they do not rate-limit loopback)", async () => {
    const single = await createTestnet({ nodes: 1 });
    try {
      const reader = await single.createNode();
      const { publicKey } = randomKeys();
      const start = performance.now();
      // Paced, 60 reads of the one node would take ≥ (60 − 16) / 2.8 s ≈ 15.7 s.
      for (let i = 0; i < 60; i++) await reader.getAll({ publicKey });
      expect(performance.now() - start).toBeLessThan(10_000);
      expect(reader.stats.queriesSent).toBeGreaterThanOrEqual(60);
    } finally {
      await single.close();
    }
  }, 30_000);

  it('close() closes the nodes made by createNode too, and is idempotent', async () => {
    const small = await createTestnet({ nodes: 3 });
    const extra = await small.createNode();
    expect(small.nodes.every((n) => n.nodeCount() >= 2)).toBe(true);
    await Promise.all([small.close(), small.close()]);
    expect([...small.nodes, extra].every((n) => n.closed)).toBe(true);
    await expect(small.createNode()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('rejects non-loopback hosts and bad sizes', async () => {
    await expect(createTestnet({ host: '0.0.0.0' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(createTestnet({ nodes: 0 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('rejects with ABORTED on an aborted signal', async () => {
    await expect(createTestnet({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('createTestnet with a real-DHT profile', () => {
  it('delays replies, drops some, and silences a share of nodes that stay in routing tables', async () => {
    const net = await createTestnet({
      nodes: 20,
      latency: { minMs: 60, maxMs: 120 },
      loss: 0.02,
      dead: { share: 0.3, afterMs: 0 },
    });
    try {
      const client = await RawKrpc.open();
      try {
        // The dead share answers nothing; every other node answers, late. All nodes are asked at
        // once (replies are matched by transaction id): one after another, each silent node's two
        // 600 ms waits added up to ~7 s.
        let silent = 0;
        await Promise.all(
          net.nodes.slice(1).map(async (node) => {
            const to = { host: '127.0.0.1', port: node.address().port };
            const started = performance.now();
            let reply = await client.query(to, 'ping', { id: client.id }, { waitMs: 600 });
            // A lost reply (2 %) is asked again once.
            reply ??= await client.query(to, 'ping', { id: client.id }, { waitMs: 600 });
            if (reply === undefined) silent++;
            else expect(performance.now() - started).toBeGreaterThanOrEqual(55);
          }),
        );
        expect(silent).toBeGreaterThanOrEqual(5);
        expect(silent).toBeLessThanOrEqual(7);
        // The silent nodes are still in the others' tables.
        expect(net.nodes[0]!.nodeCount()).toBeGreaterThanOrEqual(19);
        // A newcomer still reads and writes through what is left.
        const a = await net.createNode();
        const keys = randomKeys();
        const put = await a.put(keys, utf8('still works'), { seq: 1 });
        expect(put.ok).toBe(true);
        const b = await net.createNode();
        const got = await b.getAll({ publicKey: keys.publicKey });
        expect(got.values.map((v) => new TextDecoder().decode(v.value))).toContain('still works');
      } finally {
        await client.close();
      }
    } finally {
      await net.close();
    }
  }, 60_000);

  it('rejects a profile out of range', async () => {
    await expect(createTestnet({ nodes: 2, loss: 2 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(createTestnet({ nodes: 2, latency: { minMs: 10, maxMs: 5 } })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });
});
