/**
 * The serving side of a real `Dht` node (src/dht/serve.ts) under hostile traffic: raw KRPC packets from
 * plain UDP sockets on 127.0.0.1 (test/helpers/raw-krpc.ts) against a node on 127.0.0.1. Each case is
 * a defect bittorrent-dht 11.0.12 has on its own; every wait is for a reply or a counter, with a
 * deadline.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CryptoSuite } from '../../src/crypto/suite.js';
import { signMutable, targetOf } from '../../src/dht/bep44.js';
import { Dht, type DhtOptions } from '../../src/dht/index.js';
import { defaultSuite } from '../../src/native/crypto.js';
import { randomKeys, utf8 } from '../helpers/dht.js';
import { until } from '../helpers/net.js';
import {
  type Bencodable,
  bencode,
  immutableTarget,
  RawKrpc,
  rawSign,
  replyKind,
} from '../helpers/raw-krpc.js';

const HOST = '127.0.0.1';
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

/** A lone node on 127.0.0.1 (no bootstrap): only the test's packets reach it. */
async function node(options: DhtOptions = {}): Promise<Dht> {
  const dht = await Dht.create({ bootstrap: [], host: HOST, ...options });
  open.push(dht);
  return dht;
}

async function client(): Promise<RawKrpc> {
  const c = await RawKrpc.open(HOST);
  open.push(c);
  return c;
}

const addressOf = (dht: Dht) => ({ host: HOST, port: dht.address().port });

/** Runs `fn(0..n-1)` with at most `width` calls in flight (a UDP socket buffer holds a few hundred). */
async function inBatches<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < n; start += width) {
    const batch = Array.from({ length: Math.min(width, n - start) }, (_, j) => fn(start + j));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

/** `base` with its Ed25519 verifications counted. */
function counted(base: CryptoSuite): { suite: CryptoSuite; calls: { verify: number } } {
  const calls = { verify: 0 };
  const suite: CryptoSuite = Object.freeze({
    ...base,
    name: `counted-${base.name}`,
    ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
      calls.verify++;
      return base.ed25519Verify(signature, message, publicKey);
    },
  });
  return { suite, calls };
}

/** A mutable put query's arguments for `keys` (signed with `keys.secretKey` unless `sig` is given). */
function mutablePut(
  keys: { publicKey: Uint8Array; secretKey: Uint8Array },
  token: Uint8Array,
  id: Uint8Array,
  seq: number,
  value: Uint8Array,
  sig?: Uint8Array,
): Record<string, Bencodable> {
  return {
    id,
    token,
    k: keys.publicKey,
    seq,
    v: value,
    sig: sig ?? rawSign({ publicKey: keys.publicKey, seq, value, secretKey: keys.secretKey }),
  };
}

describe('BEP 44 storage', () => {
  it('1,100 immutable puts from one socket do not evict a mutable record another node stored', async () => {
    const victim = await node();
    const writer = await node({ bootstrap: [`${HOST}:${victim.address().port}`] });
    const keys = randomKeys();
    const record = utf8('the record');
    const stored = await writer.put(keys, record, { seq: 1, retries: 0 });
    expect(stored.accepted.map((n) => n.port)).toEqual([victim.address().port]);

    const attacker = await client();
    const to = addressOf(victim);
    const replies = await inBatches(1100, 50, async (i) => {
      const v = utf8(`junk ${i}`);
      const token = await attacker.token(to, immutableTarget(v));
      return replyKind(await attacker.query(to, 'put', { id: attacker.id, token, v }));
    });
    // Each junk item is stored (a good citizen stores immutable items for anyone)...
    expect(replies.filter((r) => r === 'r')).toHaveLength(1100);

    // ...but the record is still there: the flood churned the attacker's own share of the store.
    const reader = await client();
    const got = await reader.query(to, 'get', { id: reader.id, target: targetOf(keys.publicKey) });
    expect(got?.r?.v).toEqual(record);
    const server = victim.stats.server;
    expect(server.items).toBeLessThanOrEqual(101);
    expect(server.itemsEvicted.share).toBeGreaterThanOrEqual(1000);
    expect(server.itemsEvicted.full).toBe(0);
  });

  it('a write token is good for the target it was handed out for only', async () => {
    const victim = await node();
    const c = await client();
    const to = addressOf(victim);
    const token = await c.token(to, immutableTarget(utf8('asked for this')));
    expect(replyKind(await c.query(to, 'put', { id: c.id, token, v: utf8('but puts this') }))).toBe('e:203');
    expect(replyKind(await c.query(to, 'put', { id: c.id, token, v: utf8('asked for this') }))).toBe('r');
    expect(victim.stats.server.putsRefused).toEqual({ 'bad-token': 1 });
  });

  it('refuses a 60 kB immutable dict (no 822× reflection) and a mutable value over 1000 bencoded bytes', async () => {
    const victim = await node();
    const c = await client();
    const to = addressOf(victim);
    const dict: Record<string, Uint8Array> = {};
    for (let i = 0; i < 60; i++) dict[`k${i}`] = new Uint8Array(1000).fill(i);
    const target = immutableTarget(dict);
    const token = await c.token(to, target);
    expect(replyKind(await c.query(to, 'put', { id: c.id, token, v: dict }))).toBe('e:205');
    const get = await c.query(to, 'get', { id: c.id, target });
    expect(get?.r?.v).toBeUndefined();
    expect(get!.bytes).toBeLessThan(1500);

    // A mutable value of 997 bytes bencodes to 1001 (`997:` + 997); 996 bytes is the largest stored.
    const keys = randomKeys();
    const mutableToken = await c.token(to, targetOf(keys.publicKey));
    const put = (seq: number, length: number) =>
      c.query(to, 'put', mutablePut(keys, mutableToken!, c.id, seq, new Uint8Array(length).fill(7)));
    expect(replyKind(await put(1, 997))).toBe('e:205');
    expect(replyKind(await put(1, 996))).toBe('r');
    expect(victim.stats.server.putsRefused).toEqual({ oversize: 2 });
  });

  it('drops an item that was not re-put within its lifetime', async () => {
    const victim = await node({ server: { itemLifetimeMs: 300 } });
    const c = await client();
    const to = addressOf(victim);
    const v = utf8('short-lived');
    const target = immutableTarget(v);
    expect(replyKind(await c.query(to, 'put', { id: c.id, token: await c.token(to, target), v }))).toBe('r');
    await untilAsync(
      async () => (await c.query(to, 'get', { id: c.id, target }))?.r?.v === undefined,
      'the item to expire',
    );
    expect(victim.stats.server.itemsEvicted.expired).toBe(1);
  });
});

describe('mutable puts: cheap checks before the signature', () => {
  it('a flood of stale bad-signature puts costs no verification; fresh ones are verified, counted and dropped', async () => {
    const { suite, calls } = counted(defaultSuite());
    const victim = await node({ crypto: suite });
    const c = await client();
    const to = addressOf(victim);
    const keys = randomKeys();
    const token = (await c.token(to, targetOf(keys.publicKey)))!;
    const record = utf8('genuine');
    expect(replyKind(await c.query(to, 'put', mutablePut(keys, token, c.id, 10, record)))).toBe('r');
    expect(calls.verify).toBe(1);

    const junk = utf8('forged');
    const badSig = signMutable(randomKeys().secretKey, { seq: 10, value: junk });
    const stale = await inBatches(2000, 100, (i) =>
      c.query(to, 'put', mutablePut(keys, token, c.id, i % 10, junk, badSig)).then(replyKind),
    );
    // Refused with 302 on the stored seq alone.
    expect(new Set(stale)).toEqual(new Set(['e:302']));
    expect(calls.verify).toBe(1);

    // Fresh seqs must be verified; they are dropped silently (no reply), and counted.
    for (let sent = 0; sent < 2000; sent += 100) {
      for (let i = 0; i < 100; i++) {
        c.send(to, Buffer.from(bencodeQuery(mutablePut(keys, token, c.id, 11 + sent + i, junk, badSig))));
      }
      await until(() => (victim.stats.server.putsRefused['bad-signature'] ?? 0) >= sent + 100, 20_000);
    }
    expect(calls.verify).toBe(2001);
    expect(victim.stats.server).toMatchObject({
      signaturesChecked: 2001,
      putsStored: 1,
      putsRefused: { 'old-seq': 2000, 'bad-signature': 2000 },
    });
    const got = await c.query(to, 'get', { id: c.id, target: targetOf(keys.publicKey) });
    expect(got?.r?.v).toEqual(record);
    expect(got?.r?.seq).toBe(10);
  });
});

describe('routing table', () => {
  it('answers a read-only querier (BEP 43 ro=1) but keeps it out of the routing table', async () => {
    const victim = await node();
    const to = addressOf(victim);
    const readOnly = await client();
    expect(replyKind(await readOnly.query(to, 'ping', { id: readOnly.id }, { top: { ro: 1 } }))).toBe('r');
    const got = await readOnly.query(
      to,
      'find_node',
      { id: readOnly.id, target: readOnly.id },
      { top: { ro: 1 } },
    );
    expect(replyKind(got)).toBe('r');
    expect(victim.nodeCount()).toBe(0);
    expect(victim.stats.server.readOnlyQueries).toBe(2);

    // The same query without ro=1 adds the sender (BEP 5).
    const normal = await client();
    expect(replyKind(await normal.query(to, 'ping', { id: normal.id }))).toBe('r');
    expect(victim.nodeCount()).toBe(1);
  });

  it('a read-only node (readOnly) sends ro=1: the node it walks through answers it and keeps it out of its table', async () => {
    const victim = await node();
    const reader = await node({ bootstrap: [`${HOST}:${victim.address().port}`], readOnly: true });
    expect(reader.nodeCount()).toBe(1);
    const { publicKey } = randomKeys();
    await reader.getAll({ publicKey });
    expect(victim.stats.server.readOnlyQueries).toBeGreaterThan(0);
    expect(victim.nodeCount()).toBe(0);
    // Without it, the same walk adds the walker (BEP 5).
    await node({ bootstrap: [`${HOST}:${victim.address().port}`] });
    expect(victim.nodeCount()).toBe(1);
  });

  it('a reply never lists the asker itself in its nodes', async () => {
    const victim = await node();
    const to = addressOf(victim);
    const asker = await client();
    // The ping puts the asker in the victim's table (BEP 5); then it is the closest node to its own id.
    expect(replyKind(await asker.query(to, 'ping', { id: asker.id }))).toBe('r');
    expect(victim.nodeCount()).toBe(1);
    const other = await client();
    expect(replyKind(await other.query(to, 'ping', { id: other.id }))).toBe('r');
    const got = await asker.query(to, 'find_node', { id: asker.id, target: asker.id });
    const nodes = got?.r?.nodes;
    expect(nodes).toBeInstanceOf(Uint8Array);
    const ports = [];
    for (let i = 0; i + 26 <= (nodes as Uint8Array).length; i += 26)
      ports.push(Buffer.from(nodes as Uint8Array).readUInt16BE(i + 24));
    expect(ports).toEqual([other.port]);
  });

  it('2,000 unsolicited responses from one socket add no node', async () => {
    const victim = await node();
    const to = addressOf(victim);
    const c = await client();
    const warnings = victim.stats.warnings;
    for (let sent = 0; sent < 2000; sent += 200) {
      for (let i = 0; i < 200; i++) {
        const t = crypto.getRandomValues(new Uint8Array(2));
        const id = crypto.getRandomValues(new Uint8Array(20));
        c.send(to, Buffer.from(bencode({ t, y: 'r', r: { id } })));
      }
      // k-rpc-socket warns of every transaction id it cannot match.
      await until(() => victim.stats.warnings - warnings >= sent + 200, 20_000);
    }
    expect(victim.nodeCount()).toBe(0);
    expect(victim.stats.server.unsolicitedResponses).toBe(2000);
  });
});

describe('per-IP rate limit', () => {
  it('blocks an address over the rate, ignores it while it keeps sending, and lets it back after a silent block time', async () => {
    const blockMs = 2000;
    const victim = await node({ server: { exemptLoopback: false, rateLimit: 5, blockMs } });
    const to = addressOf(victim);
    const c = await client();
    // 5/s over 10 s: the 50th query in a window blocks the address.
    const answered = await inBatches(60, 10, (i) =>
      c.query(to, 'ping', { id: c.id }, { waitMs: 300 }).then((r) => (r ? i : -1)),
    );
    expect(answered.filter((i) => i >= 0)).toHaveLength(50);
    expect(victim.stats.server.ipsBlocked).toBe(1);
    expect(victim.stats.server.droppedBlocked).toBeGreaterThanOrEqual(1);

    // Right away: still blocked, and this ping restarts the block.
    expect(await c.query(to, 'ping', { id: c.id }, { waitMs: 200 })).toBeUndefined();
    // Pinging less often than the block time, the address gets an answer again.
    const start = performance.now();
    let reply: unknown;
    while (reply === undefined) {
      expect(performance.now() - start, 'unblocked within 20 s').toBeLessThan(20_000);
      reply = await c.query(to, 'ping', { id: c.id }, { waitMs: blockMs * 1.5 });
    }
    expect(replyKind(reply as never)).toBe('r');
    expect(victim.stats.server.ipsBlocked).toBe(1);
  });

  it('by default leaves loopback senders alone (testnets run every node on 127.0.0.1)', async () => {
    const victim = await node();
    const c = await client();
    const replies = await inBatches(300, 50, () => c.query(addressOf(victim), 'ping', { id: c.id }));
    expect(replies.filter((r) => r !== undefined)).toHaveLength(300);
    expect(victim.stats.server.ipsBlocked).toBe(0);
  });
});

/** A put query with a fresh transaction id (for puts that get no answer). */
function bencodeQuery(a: Record<string, Bencodable>): Uint8Array {
  return bencode({ t: crypto.getRandomValues(new Uint8Array(2)), y: 'q', q: 'put', a });
}

/** Polls `cond` (which sends a query) until it holds, 50 ms apart; fails after `ms`. */
async function untilAsync(cond: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
