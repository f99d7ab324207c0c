import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestnet, type Testnet } from '../../src/dht/index.js';

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
