/**
 * Dht on a real 30-node bittorrent-dht testnet on 127.0.0.1. Each test uses its own key pair, so its
 * slot (target) is its own. Tests wait for promises, never for time.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { GetResult } from 'bittorrent-dht';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signMutable, targetOf } from '../../src/dht/bep44.js';
import { createTestnet, Dht, type FoundValue, type LookupNode, type Testnet } from '../../src/dht/index.js';
import { compareDistance } from '../../src/dht/lookup.js';
import { GttError } from '../../src/errors.js';
import { hex, idSet, randomKeys, startRawNode, unusedUdpPort, utf8 } from '../helpers/dht.js';

/**
 * Nodes whose walks wait for every query until it answers or times out (no stall, see `lookup.ts`):
 * tests that compare exact node sets use them, so a reply slowed by CPU load cannot drop a node.
 */
const EXACT = { queryTimeoutMs: 2000, queryStallMs: 2000 };

let testnet: Testnet;
let writer: Dht;
let reader: Dht;
/** Closed by its test: created up front so that no later walk meets it dead (a 2 s query timeout). */
let spare: Dht;
/** Its `random` (drawn right before a put retry waits) runs `onRandom`. */
let retrier: Dht;
let onRandom = () => {};

beforeAll(async () => {
  testnet = await createTestnet({ nodes: 30 });
  writer = await testnet.createNode(EXACT);
  reader = await testnet.createNode(EXACT);
  spare = await testnet.createNode();
  retrier = await testnet.createNode({
    random: () => {
      onRandom();
      return 0;
    },
  });
});

afterAll(() => testnet?.close());

describe('put and getAll', () => {
  it('stores on the k closest nodes and reads the value back', async () => {
    const keys = randomKeys();
    const put = await writer.put(keys, utf8('hello'), { seq: 1 });
    expect(put).toMatchObject({
      ok: true,
      seq: 1,
      attempts: 1,
      rejected: [],
      timedOut: [],
      alreadyStored: [],
    });
    expect(put.accepted).toHaveLength(20);
    expect(put.target).toEqual(targetOf(keys.publicKey));
    expect(put.history).toHaveLength(1);

    const seen: FoundValue[] = [];
    const got = await reader.getAll({ publicKey: keys.publicKey }, { onValue: (v) => seen.push(v) });
    expect(got.timedOut).toBe(false);
    expect(got.rejected).toEqual({});
    expect(got.values).toHaveLength(1);
    const [value] = got.values;
    expect(value).toMatchObject({ seq: 1, value: utf8('hello'), publicKey: keys.publicKey });
    expect(seen).toEqual([value]);
    // Every holder answers, except at most one: when the writer is among the 20 nodes closest to the
    // target, its 20 closest others reach one node further than the reader's walk does.
    const holders = new Set(idSet(put.accepted));
    expect(value!.from.every((n) => holders.has(hex(n.id)))).toBe(true);
    expect(value!.from.length).toBeGreaterThanOrEqual(19);
    // The reader may be a holder itself: its own store counts (in `from`), but it is not a responder.
    const responders = got.nodes.filter((n) => n.item).length;
    expect(responders).toBe(value!.from.filter((n) => hex(n.id) !== hex(reader.id)).length);
    expect(got.nodes.length).toBeGreaterThanOrEqual(20);
    expect(reader.stats.lookups).toBeGreaterThan(0);
  });

  it('an empty salt is no salt: a put with it is read without a salt', async () => {
    const keys = randomKeys();
    const put = await writer.put({ ...keys, salt: new Uint8Array(0) }, utf8('unsalted'), { seq: 3 });
    expect(put.ok).toBe(true);
    expect(put.target).toEqual(targetOf(keys.publicKey));
    const got = await reader.getAll({ publicKey: keys.publicKey });
    expect(got.values.map((v) => v.value)).toEqual([utf8('unsalted')]);
    expect(got.values[0]!.salt).toBeUndefined();
    const withEmpty = await reader.getAll({ publicKey: keys.publicKey, salt: new Uint8Array(0) });
    expect(withEmpty.values).toHaveLength(1);
  });

  it('keeps salts apart', async () => {
    const keys = randomKeys();
    await writer.put({ ...keys, salt: utf8('a') }, utf8('in a'), { seq: 1 });
    const a = await reader.getAll({ publicKey: keys.publicKey, salt: utf8('a') });
    const b = await reader.getAll({ publicKey: keys.publicKey, salt: utf8('b') });
    expect(a.values.map((v) => [v.value, v.salt])).toEqual([[utf8('in a'), utf8('a')]]);
    expect(b.values).toEqual([]);
  });

  it('getAll returns every distinct value, where the library get returns one', async () => {
    const small = await createTestnet({ nodes: 16 });
    try {
      const node = await small.createNode(EXACT);
      const keys = randomKeys();
      const slot = { publicKey: keys.publicKey };
      const putA = await node.put(keys, utf8('value A'), {
        seq: 1,
        retries: 0,
        select: (nodes) => nodes.slice(0, Math.floor(nodes.length / 2)),
      });
      const putB = await node.put(keys, utf8('value B'), {
        seq: 1,
        retries: 0,
        select: (nodes) => nodes.filter((n) => n.item === undefined),
      });
      expect(putA.ok && putB.ok).toBe(true);
      expect(putB.rejected).toEqual([]);

      // Read from the writer: its walk reaches exactly the nodes it wrote to.
      const got = await node.getAll(slot);
      const byValue = new Map(got.values.map((v) => [new TextDecoder().decode(v.value), v]));
      expect([...byValue.keys()].sort()).toEqual(['value A', 'value B']);
      expect(idSet(byValue.get('value A')!.from)).toEqual(idSet(putA.accepted));
      expect(idSet(byValue.get('value B')!.from)).toEqual(idSet(putB.accepted));
      expect(got.values.every((v) => v.seq === 1)).toBe(true);

      const raw = await startRawNode(small.bootstrap);
      try {
        const one = await new Promise<GetResult | null>((resolve, reject) =>
          raw.dht.get(targetOf(keys.publicKey), {}, (err, value) => (err ? reject(err) : resolve(value))),
        );
        expect(['value A', 'value B']).toContain(new TextDecoder().decode(one!.v));
      } finally {
        await raw.close();
      }
    } finally {
      await small.close();
    }
  });
});

describe('put on borrowed responders', () => {
  it("stores on a recent getAll's responders without a walk of its own", async () => {
    const keys = randomKeys();
    const read = await writer.getAll({ publicKey: keys.publicKey });
    const before = writer.stats.lookups;
    const put = await writer.put(keys, utf8('lent'), { seq: 1, responders: read.nodes });
    expect(writer.stats.lookups - before).toBe(0);
    expect(put).toMatchObject({ ok: true, attempts: 1 });
    expect(idSet(put.accepted)).toEqual(idSet(read.nodes.slice(0, 20)));
    const got = await reader.getAll({ publicKey: keys.publicKey });
    expect(got.values.map((v) => v.value)).toEqual([utf8('lent')]);
  });

  it('walks at once, without counting a retry, when the borrowed tokens are refused', async () => {
    const keys = randomKeys();
    const read = await writer.getAll({ publicKey: keys.publicKey });
    const forged = read.nodes.map((n) => ({ ...n, token: new Uint8Array(4).fill(9) }));
    const before = writer.stats.lookups;
    const put = await writer.put(keys, utf8('fresh'), { seq: 1, retries: 0, responders: forged });
    expect(writer.stats.lookups - before).toBe(1);
    expect(put.ok).toBe(true);
    expect(put.attempts).toBe(2);
    expect(put.history[0]!.accepted).toEqual([]);
    expect(put.history[0]!.rejected.length).toBeGreaterThan(0);
  });

  it('refuses a responders option that is not an array', async () => {
    const keys = randomKeys();
    await expect(
      writer.put(keys, utf8('x'), { seq: 1, responders: 'nodes' as unknown as [] }),
    ).rejects.toThrow(TypeError);
  });
});

describe('getAll of given nodes', () => {
  it('asks only those nodes, in one round, and sees what they hold now', async () => {
    const keys = randomKeys();
    const first = await reader.getAll({ publicKey: keys.publicKey });
    expect(first.values).toEqual([]);
    // Stored after the first look, on the nodes that look found.
    const put = await writer.put(keys, utf8('later'), { seq: 1, responders: first.nodes });
    expect(put.ok).toBe(true);
    const given = first.nodes.slice(0, 20);
    const before = { ...reader.stats };
    const again = await reader.getAll({ publicKey: keys.publicKey }, { nodes: given });
    expect(again.values.map((v) => v.value)).toEqual([utf8('later')]);
    expect(reader.stats.lookups - before.lookups).toBe(1);
    // One query per node given, none to the nodes their replies name.
    expect(reader.stats.queriesSent - before.queriesSent).toBe(given.length);
    expect(idSet(again.nodes)).toEqual(idSet(given));
  });

  it('asks no more than the k closest of the nodes given', async () => {
    const keys = randomKeys();
    const many = [...testnet.nodes, writer].map((d) => ({ id: d.id, ...d.address() }));
    expect(many.length).toBeGreaterThan(20);
    const target = targetOf(keys.publicKey);
    const closest = [...many].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 20);
    const before = reader.stats.queriesSent;
    const again = await reader.getAll({ publicKey: keys.publicKey }, { nodes: many });
    expect(reader.stats.queriesSent - before).toBe(20);
    expect(idSet(again.nodes)).toEqual(idSet(closest));
  });

  it('refuses a nodes option that is not an array', async () => {
    const keys = randomKeys();
    await expect(
      reader.getAll({ publicKey: keys.publicKey }, { nodes: 'nodes' as unknown as [] }),
    ).rejects.toThrow(TypeError);
  });
});

describe('put outcomes', () => {
  it('reports 302 from every node holding the item, for an equal or lower seq, and does not retry', async () => {
    const keys = randomKeys();
    const first = await writer.put(keys, utf8('first'), { seq: 5 });
    expect(first.ok).toBe(true);
    const holders = idSet(first.accepted);

    // Put to the holders only: on a loaded machine a later walk can meet a node among the k closest
    // that the first walk missed (it answered late); that node holds nothing and would accept.
    const toHolders = (nodes: LookupNode[]) => nodes.filter((n) => holders.includes(hex(n.id)));
    for (const [seq, value] of [
      [5, 'same seq, other value'],
      [4, 'lower seq'],
    ] as const) {
      const put = await writer.put(keys, utf8(value), {
        seq,
        retries: 3,
        retryDelayMs: 60_000,
        select: toHolders,
      });
      expect(put).toMatchObject({ ok: false, attempts: 1, accepted: [], timedOut: [] });
      expect(put.rejected.every((r) => r.code === 302)).toBe(true);
      expect(idSet(put.rejected.map((r) => r.node))).toEqual(holders);
      expect(put.rejected[0]!.message).toMatch(/sequence/);
    }
    expect(writer.stats.putsRejected['302']).toBeGreaterThanOrEqual(40);

    const again = await writer.put(keys, utf8('first'), { seq: 5 });
    expect(again).toMatchObject({ ok: true, accepted: [], rejected: [] });
    expect(idSet(again.alreadyStored)).toEqual(holders);

    const newer = await writer.put(keys, utf8('second'), { seq: 6 });
    expect(newer.ok).toBe(true);
    expect(idSet(newer.accepted)).toEqual(holders);
    const got = await reader.getAll({ publicKey: keys.publicKey });
    expect(got.values.map((v) => [v.seq, new TextDecoder().decode(v.value)])).toEqual([[6, 'second']]);
  });

  it('is not ok when fewer than minAccepted nodes store it, after its retries', async () => {
    const keys = randomKeys();
    const put = await writer.put(keys, utf8('x'), {
      seq: 1,
      minAccepted: 2,
      retries: 1,
      retryDelayMs: 0,
      retryJitterMs: 0,
      select: (nodes) => nodes.slice(0, 1),
    });
    expect(put).toMatchObject({ ok: false, attempts: 2 });
    expect(put.history.map((a) => a.accepted.length + a.alreadyStored.length)).toEqual([1, 1]);
  });

  it('a select that picks no node among live responders ends the put at once: no retry, nothing sent', async () => {
    const keys = randomKeys();
    const sentBefore = writer.stats.putsSent;
    let calls = 0;
    const put = await writer.put(keys, utf8('x'), {
      seq: 1,
      retries: 3,
      retryDelayMs: 0,
      retryJitterMs: 0,
      select: () => {
        calls++;
        return [];
      },
    });
    expect(put).toMatchObject({ ok: false, attempts: 1, selected: 0 });
    expect(put.responded).toBeGreaterThan(0);
    expect(calls).toBe(1);
    expect(writer.stats.putsSent).toBe(sentBefore);
  });

  it('rejects bad arguments with TypeError / RangeError before any network work', async () => {
    const keys = randomKeys();
    const value = utf8('v');
    const sent = writer.stats.putsSent;
    const cases: [string, () => Promise<unknown>, ErrorConstructor][] = [
      ['seq above 2^53', () => writer.put(keys, value, { seq: 2 ** 53 + 2 }), RangeError],
      ['negative seq', () => writer.put(keys, value, { seq: -1 }), RangeError],
      ['seq not a number', () => writer.put(keys, value, { seq: '1' as unknown as number }), TypeError],
      ['no options', () => writer.put(keys, value, undefined as unknown as { seq: number }), TypeError],
      ['value of 997 bytes', () => writer.put(keys, new Uint8Array(997), { seq: 1 }), RangeError],
      ['value not bytes', () => writer.put(keys, 'v' as unknown as Uint8Array, { seq: 1 }), TypeError],
      [
        'salt of 65 bytes',
        () => writer.put({ ...keys, salt: new Uint8Array(65) }, value, { seq: 1 }),
        RangeError,
      ],
      [
        'a 31-byte public key',
        () => writer.put({ ...keys, publicKey: new Uint8Array(31) }, value, { seq: 1 }),
        RangeError,
      ],
      [
        'a 64-byte secret key',
        () => writer.put({ ...keys, secretKey: new Uint8Array(64) }, value, { seq: 1 }),
        RangeError,
      ],
      [
        'a seed of another key',
        () => writer.put({ ...keys, secretKey: randomKeys().secretKey }, value, { seq: 1 }),
        RangeError,
      ],
      ['minAccepted 0', () => writer.put(keys, value, { seq: 1, minAccepted: 0 }), RangeError],
      ['negative retries', () => writer.put(keys, value, { seq: 1, retries: -1 }), RangeError],
      ['select not a function', () => writer.put(keys, value, { seq: 1, select: 1 as never }), TypeError],
      ['getAll with a 33-byte key', () => writer.getAll({ publicKey: new Uint8Array(33) }), RangeError],
      ['getAll with timeoutMs 0', () => writer.getAll(keys, { timeoutMs: 0 }), RangeError],
    ];
    for (const [name, run, type] of cases) {
      let promise: Promise<unknown> | undefined;
      expect(() => {
        promise = run();
      }, name).not.toThrow();
      await expect(promise, name).rejects.toBeInstanceOf(type);
    }
    expect(writer.stats.putsSent).toBe(sent);
  });
});

describe('values that fail verification, served by a real node', () => {
  it('are counted by reason and never returned', async () => {
    const small = await createTestnet({ nodes: 16 });
    const node = await small.createNode(EXACT);
    const keys = randomKeys();
    const target = targetOf(keys.publicKey);
    expect((await node.put(keys, utf8('genuine'), { seq: 1 })).ok).toBe(true);

    // A plain bittorrent-dht node whose id is the target itself: every walk toward the target asks it.
    const raw = await startRawNode(small.bootstrap, target);
    const other = randomKeys();
    const value = utf8('genuine');
    const signature = signMutable(keys.secretKey, { seq: 1, value });
    const forgeries = {
      'bad-signature': { k: keys.publicKey, seq: 1, v: utf8('genuinE'), sig: signature },
      'wrong-key': {
        k: other.publicKey,
        seq: 1,
        v: value,
        sig: signMutable(other.secretKey, { seq: 1, value }),
      },
      'unsafe-seq': { k: keys.publicKey, seq: 2 ** 60, v: value, sig: signature },
      oversize: { k: keys.publicKey, seq: 1, v: new Uint8Array(1000), sig: signature },
      malformed: { v: value },
    };
    try {
      for (const [reason, forged] of Object.entries(forgeries)) {
        const item = Object.fromEntries(
          Object.entries(forged).map(([k, v]) => [k, typeof v === 'number' ? v : Buffer.from(v)]),
        );
        raw.dht._values.set(hex(target), { ...item, id: raw.dht.nodeId } as never);
        const got = await node.getAll({ publicKey: keys.publicKey });
        expect(got.rejected, reason).toEqual({ [reason]: 1 });
        expect(got.values.map((v) => v.value)).toEqual([value]);
        const rawRef = got.nodes.find((n) => hex(n.id) === hex(target));
        expect(rawRef, reason).toMatchObject({ invalid: reason });
        expect(rawRef!.item).toBeUndefined();
        expect(got.values[0]!.from.some((n) => hex(n.id) === hex(target))).toBe(false);
      }
      expect(node.stats.valuesRejected).toEqual({
        'bad-signature': 1,
        'wrong-key': 1,
        'unsafe-seq': 1,
        oversize: 1,
        malformed: 1,
      });
    } finally {
      await raw.close();
      await small.close();
    }
  });
});

describe('per-query timeout', () => {
  it('a dead node costs one query timeout, is counted, and the values still come back', async () => {
    const small = await createTestnet({ nodes: 12 });
    try {
      // Stalls off (queryStallMs ≥ queryTimeoutMs): the walk waits for the dead node's query to time out.
      const node = await small.createNode({ queryTimeoutMs: 200, queryStallMs: 200 });
      const keys = randomKeys();
      const put = await node.put(keys, utf8('survives'), { seq: 1 });
      expect(put.ok).toBe(true);
      const bootstrapPort = small.nodes[0]!.address().port;
      const victim = small.nodes.find(
        (n) => n.address().port !== bootstrapPort && put.accepted.some((a) => a.port === n.address().port),
      )!;
      await victim.close();

      const timedOutBefore = node.stats.queriesTimedOut;
      const got = await node.getAll({ publicKey: keys.publicKey });
      expect(got.timedOut).toBe(false);
      expect(got.values.map((v) => v.value)).toEqual([utf8('survives')]);
      expect(got.values[0]!.from.some((n) => hex(n.id) === hex(victim.id))).toBe(false);
      expect(got.values[0]!.from.length).toBe(put.accepted.length - 1);
      expect(node.stats.queriesTimedOut).toBeGreaterThan(timedOutBefore);
    } finally {
      await small.close();
    }
  });
});

describe('stalled queries', () => {
  it('a walk stops waiting for a dead node after queryStallMs, long before its query times out', async () => {
    const small = await createTestnet({ nodes: 12 });
    try {
      // A 10-minute query timeout: only the stall delay can let this walk end within the test.
      const node = await small.createNode({ queryTimeoutMs: 600_000, queryStallMs: 100 });
      const keys = randomKeys();
      const put = await node.put(keys, utf8('still here'), { seq: 1 });
      const bootstrapPort = small.nodes[0]!.address().port;
      const victim = small.nodes.find(
        (n) => n.address().port !== bootstrapPort && put.accepted.some((a) => a.port === n.address().port),
      )!;
      await victim.close();
      const stalledBefore = node.stats.queriesStalled;

      const got = await node.getAll({ publicKey: keys.publicKey }, { timeoutMs: 30_000 });
      expect(got.timedOut).toBe(false);
      expect(got.values.map((v) => v.value)).toEqual([utf8('still here')]);
      expect(node.stats.queriesStalled).toBeGreaterThan(stalledBefore);
      expect(node.stats.queriesTimedOut).toBe(0);
    } finally {
      await small.close();
    }
  });
});

describe('abort and close', () => {
  it('a getAll in flight rejects with ABORTED (cause: the reason) on abort', async () => {
    const controller = new AbortController();
    const reason = new Error('user stopped');
    const pending = reader.getAll(randomKeys(), { signal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED', cause: reason });
    await expect(reader.getAll(randomKeys(), { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });

  it('a put waiting to retry rejects with ABORTED on abort', async () => {
    const controller = new AbortController();
    onRandom = () => setImmediate(() => controller.abort());
    const accepted = retrier.stats.putsAccepted;
    const pending = retrier.put(randomKeys(), utf8('v'), {
      seq: 1,
      signal: controller.signal,
      minAccepted: 1000,
      retries: 1,
      retryDelayMs: 600_000,
    });
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    expect(retrier.stats.putsAccepted - accepted).toBe(20);
  });

  it('operations in flight reject with CLOSED on close; later ones too; close is idempotent', async () => {
    const node = spare;
    const keys = randomKeys();
    const lookup = node.getAll(keys).catch((error: unknown) => error);
    const put = node.put(keys, utf8('v'), { seq: 1 }).catch((error: unknown) => error);
    const closing = node.close();
    expect(node.close()).toBe(closing);
    await closing;
    expect(await lookup).toBeInstanceOf(GttError);
    expect(await lookup).toMatchObject({ code: 'CLOSED' });
    expect(await put).toMatchObject({ code: 'CLOSED' });
    expect(node.closed).toBe(true);
    expect(node.nodeCount()).toBe(0);
    expect(node.address().port).toBeGreaterThan(0);
    await expect(node.getAll(keys)).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(node.put(keys, utf8('v'), { seq: 2 })).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(node.refresh()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('create', () => {
  it('fails with DHT_BOOTSTRAP_FAILED when no bootstrap node answers within bootstrapTimeoutMs', async () => {
    const port = await unusedUdpPort();
    const create = Dht.create({
      host: '127.0.0.1',
      bootstrap: [`127.0.0.1:${port}`],
      bootstrapTimeoutMs: 500,
    });
    await expect(create).rejects.toMatchObject({ code: 'DHT_BOOTSTRAP_FAILED' });
    await expect(create).rejects.toThrow(`127.0.0.1:${port}`);
  });

  it('fails with DHT_LISTEN_FAILED when the port is taken', async () => {
    const port = testnet.nodes[0]!.address().port;
    await expect(Dht.create({ host: '127.0.0.1', port, bootstrap: [] })).rejects.toMatchObject({
      code: 'DHT_LISTEN_FAILED',
    });
  });

  it('fails with INVALID_CONFIG on bad options, and ABORTED on an aborted signal', async () => {
    await expect(Dht.create({ k: 0, bootstrap: [] })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(Dht.create({ bootstrap: [] }, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });

  it('starts alone without bootstrap nodes, and its lookups end at once', async () => {
    const node = await Dht.create({ host: '127.0.0.1', bootstrap: [] });
    try {
      expect(node.nodeCount()).toBe(0);
      expect(node.id).toHaveLength(20);
      const got = await node.getAll({ publicKey: ed25519.getPublicKey(ed25519.utils.randomSecretKey()) });
      expect(got).toMatchObject({ values: [], nodes: [], responded: 0, timedOut: false });
      const put = await node.put(randomKeys(), utf8('v'), { seq: 1, retries: 0 });
      expect(put).toMatchObject({ ok: false, accepted: [], attempts: 1 });
    } finally {
      await node.close();
    }
  });
});
