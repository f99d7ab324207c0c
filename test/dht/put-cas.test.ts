/**
 * `Dht.put` against racing writers (PROTOCOL.md §6.3, "Compare-and-swap and read-back"), on real
 * bittorrent-dht testnets over UDP: puts carry BEP 44 `cas` = the seq each node held when it was read,
 * so a node whose item changed answers 301; and a libtorrent-like node (test/helpers/keep-first-node.ts:
 * success to an equal-seq put, first item kept) is read back, and not reported as storing what it does
 * not hold. Racing writes are made deterministic with borrowed `responders` read before the race.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetOf } from '../../src/dht/bep44.js';
import { createTestnet, type Dht, type LookupNode, type Testnet } from '../../src/dht/index.js';
import { hex, idSet, randomKeys, startRawNode, type TestKeys, utf8 } from '../helpers/dht.js';
import { type KeepFirstNode, startKeepFirstNode } from '../helpers/keep-first-node.js';
import { rawPut } from '../helpers/raw-krpc.js';

/** Walks that wait for every query (no stall): node sets compared exactly stay exact under load. */
const EXACT = { queryTimeoutMs: 2000, queryStallMs: 2000 };

const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const tokenTargets = (nodes: readonly LookupNode[]) =>
  nodes.map((n) => ({ host: n.host, port: n.port, token: n.token }));

describe('cas on bittorrent-dht nodes', () => {
  let testnet: Testnet;
  let writer: Dht;
  const observers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    testnet = await createTestnet({ nodes: 20 });
    writer = await testnet.createNode(EXACT);
  });

  afterAll(async () => {
    await Promise.all(observers.map((o) => o.close()));
    await testnet?.close();
  });

  it('a put carries cas = the seq the node held, and no cas to a node that held nothing', async () => {
    const keys = randomKeys();
    const target = targetOf(keys.publicKey);
    // A plain bittorrent-dht node on the target itself: every walk toward it asks it.
    const observer = await startRawNode(testnet.bootstrap, target);
    observers.push(observer);
    const puts: Record<string, unknown>[] = [];
    const gets: unknown[] = [];
    observer.dht._rpc.on('query', (query: { q?: unknown; a?: Record<string, unknown> }) => {
      if (String(query.q) === 'put') puts.push(query.a ?? {});
      if (String(query.q) === 'get') gets.push(query);
    });

    const first = await writer.put(keys, utf8('one'), { seq: 1 });
    expect(idSet(first.accepted)).toContain(hex(target));
    expect(puts).toHaveLength(1);
    expect(puts[0]).not.toHaveProperty('cas');

    const readBacks = writer.stats.putsReadBack;
    const getsBefore = gets.length;
    const second = await writer.put(keys, utf8('two'), { seq: 2 });
    expect(idSet(second.accepted)).toContain(hex(target));
    expect(puts).toHaveLength(2);
    expect(puts[1]).toMatchObject({ seq: 2, cas: 1 });
    // bittorrent-dht replies carry no client version: its success is trusted, nothing is read back
    // (the walk's one `get` is all it received).
    expect(writer.stats.putsReadBack).toBe(readBacks);
    expect(gets.length - getsBefore).toBe(1);
  });

  it('a node whose item changed since our read answers 301: a conflict, not accepted', async () => {
    const keys = randomKeys();
    expect((await writer.put(keys, utf8('v1'), { seq: 1 })).ok).toBe(true);
    const read = await writer.getAll({ publicKey: keys.publicKey });
    const holders = read.nodes.slice(0, 20).filter((n) => n.item?.seq === 1);
    expect(holders.length).toBeGreaterThanOrEqual(15);
    // Another writer of the slot moves three of them to seq 2 between our read and our put.
    const raced = holders.slice(0, 3);
    const replies = await rawPut(tokenTargets(raced), {
      publicKey: keys.publicKey,
      seq: 2,
      value: utf8('raced'),
      secretKey: keys.secretKey,
    });
    expect(replies).toEqual(['r', 'r', 'r']);

    const before = writer.stats.putsRejected['301'] ?? 0;
    const put = await writer.put(keys, utf8('mine'), { seq: 3, responders: read.nodes, retries: 0 });
    expect(idSet(put.rejected.map((r) => r.node))).toEqual(idSet(raced));
    for (const r of put.rejected) expect(r).toMatchObject({ code: 301, conflict: true });
    expect(writer.stats.putsRejected['301']! - before).toBe(3);
    const racedIds = new Set(idSet(raced));
    expect(put.accepted.some((n) => racedIds.has(hex(n.id)))).toBe(false);
    expect(put.accepted).toHaveLength(put.selected - 3);
    // A conflict: no walk of its own after the borrowed responders, no retry.
    expect(put).toMatchObject({ ok: true, attempts: 1 });
    const after = await writer.getAll({ publicKey: keys.publicKey }, { nodes: raced });
    expect(after.values.map((v) => [v.seq, decode(v.value)])).toEqual([[2, 'raced']]);
  });
});

describe('read-back of libtorrent nodes', () => {
  let testnet: Testnet;
  let writer: Dht;
  /** One key pair per test, with a libtorrent-like node on its target. */
  const keys: TestKeys[] = [randomKeys(), randomKeys(), randomKeys()];
  const liars: KeepFirstNode[] = [];

  beforeAll(async () => {
    testnet = await createTestnet({ nodes: 16 });
    writer = await testnet.createNode(EXACT);
    for (const k of keys) liars.push(await startKeepFirstNode(testnet.bootstrap, targetOf(k.publicKey)));
  });

  afterAll(async () => {
    await Promise.all(liars.map((l) => l.close()));
    await testnet?.close();
  });

  /** Whether `node` is the libtorrent-like node of test `i` (on its target). */
  const isLiarOf = (i: number) => (node: { id: Uint8Array }) =>
    hex(node.id) === hex(targetOf(keys[i]!.publicKey));
  /** Whether `node` is any of the libtorrent-like nodes (each is an ordinary node of the others' slots). */
  const isLiar = (node: { id: Uint8Array }) => keys.some((_, i) => isLiarOf(i)(node));
  /** The liar's queries about test `i`'s slot: `get` by target, `put` by key. */
  const slotQueries = (liar: KeepFirstNode, i: number) => {
    const target = hex(targetOf(keys[i]!.publicKey));
    const key = hex(keys[i]!.publicKey);
    return liar.queries.filter(
      (q) =>
        (q.q === 'get' && hex(q.a.target as Uint8Array) === target) ||
        (q.q === 'put' && hex(q.a.k as Uint8Array) === key),
    );
  };

  it('a node that answers success but keeps another item is rejected as ENOTSTORED, not accepted', async () => {
    const k = keys[0]!;
    // Our read sees the slot empty (as publishers starting together do) …
    const read = await writer.getAll({ publicKey: k.publicKey });
    expect(read.nodes.some(isLiarOf(0))).toBe(true);
    // … then a faster writer stores its item at the same seq on every node we read, liars included.
    const replies = await rawPut(tokenTargets(read.nodes), {
      publicKey: k.publicKey,
      seq: 1,
      value: utf8('rival'),
      secretKey: k.secretKey,
    });
    expect(replies.every((r) => r === 'r')).toBe(true);

    const before = { ...writer.stats, putsRejected: { ...writer.stats.putsRejected } };
    const put = await writer.put(k, utf8('mine'), { seq: 1, responders: read.nodes, retries: 0 });
    expect(put.accepted).toEqual([]);
    expect(put.ok).toBe(false);
    const lies = put.rejected.filter((r) => isLiar(r.node));
    expect(lies.some((r) => isLiarOf(0)(r.node))).toBe(true);
    for (const lie of lies) {
      expect(lie).toMatchObject({ code: 'ENOTSTORED', conflict: true });
      expect(lie.message).toMatch(/another item \(seq 1\)/);
    }
    // The honest nodes said so themselves (302: no cas, they held nothing when we read them).
    expect(put.rejected.filter((r) => !isLiar(r.node)).every((r) => r.code === 302)).toBe(true);
    expect(writer.stats.putsRejected.ENOTSTORED! - (before.putsRejected.ENOTSTORED ?? 0)).toBe(lies.length);
    expect(writer.stats.putsReadBack - before.putsReadBack).toBe(lies.length);
    expect(writer.stats.putsAccepted).toBe(before.putsAccepted);
  });

  it('a node that did store our item passes its read-back (one get query) and is accepted', async () => {
    const k = keys[1]!;
    const before = writer.stats.putsReadBack;
    const put = await writer.put(k, utf8('mine'), { seq: 1 });
    expect(put.ok).toBe(true);
    expect(put.rejected).toEqual([]);
    expect(put.accepted.some(isLiarOf(1))).toBe(true);
    // One read-back per libtorrent node stored on (each held nothing, so no cas protected it).
    expect(writer.stats.putsReadBack - before).toBe(put.accepted.filter(isLiar).length);
    // The liar saw the walk's get, our put, then the read-back get.
    expect(slotQueries(liars[1]!, 1).map((q) => q.q)).toEqual(['get', 'put', 'get']);

    // A put over our own older item carries cas = 1: the node stores it or answers 301, so its
    // success needs no read-back.
    const again = writer.stats.putsReadBack;
    const next = await writer.put(k, utf8('mine, again'), { seq: 2 });
    expect(next.accepted.some(isLiarOf(1))).toBe(true);
    expect(slotQueries(liars[1]!, 1).at(-1)?.a).toMatchObject({ seq: 2, cas: 1 });
    expect(writer.stats.putsReadBack).toBe(again);
  });

  it('a read-back that gets no answer leaves the node timed out, not accepted', async () => {
    const k = keys[2]!;
    const read = await writer.getAll({ publicKey: k.publicKey });
    expect(read.nodes.some(isLiarOf(2))).toBe(true);
    // From now on this liar answers puts but drops gets.
    (liars[2]!.dht as unknown as { _onget: () => void })._onget = () => {};
    const put = await writer.put(k, utf8('mine'), { seq: 1, responders: read.nodes, retries: 0 });
    expect(put.timedOut.some(isLiarOf(2))).toBe(true);
    expect(put.accepted.some(isLiarOf(2))).toBe(false);
    expect(slotQueries(liars[2]!, 2).map((q) => q.q)).toEqual(['get', 'put', 'get']);
    expect(put.ok).toBe(true);
  });
});
