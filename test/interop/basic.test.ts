/**
 * Our Dht against real libtorrent nodes (test/helpers/libtorrent.ts): BEP 44 mutable items stored by
 * our `put` on a libtorrent-only network and on a mixed one (a bittorrent-dht testnet with libtorrent
 * nodes bootstrapped into it), read back by our `getAll` and, byte for byte, by a libtorrent client.
 * Skipped, with a one-line reason, where python3-libtorrent is unavailable.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestnet, Dht, MAX_VALUE_BYTES, type NodeRef, type Testnet } from '../../src/dht/index.js';
import { hex, randomKeys, utf8 } from '../helpers/dht.js';
import {
  createLibtorrentTestnet,
  type LibtorrentTestnet,
  libtorrentAvailable,
} from '../helpers/libtorrent.js';

const unavailable = await libtorrentAvailable();
if (unavailable !== undefined) console.log(`test/interop/basic.test.ts skipped: ${unavailable}`);

/** Nodes in a libtorrent `nodes` reply (BEP 5's K; libtorrent sends 8). */
const LIBTORRENT_K = 8;
/** Every test's child exits by itself after this, whatever happens to the test process. */
const LIFETIME_MS = 180_000;

/**
 * Our nodes, closed with their network, not after each test: a node of ours that closed stays in the
 * libtorrent routing tables for minutes, and a libtorrent lookup waits for it to time out.
 */
const opened: Dht[] = [];
const closeOurs = () => Promise.all(opened.splice(0).map((d) => d.close()));

/** A Dht of ours on its own loopback host (libtorrent's limits are per IP), joined through `bootstrap`. */
async function ourNode(host: string, bootstrap: string[]): Promise<Dht> {
  const dht = await Dht.create({ host, port: 0, bootstrap });
  opened.push(dht);
  return dht;
}

const isLibtorrent = (lt: LibtorrentTestnet, n: NodeRef) =>
  lt.nodes.some((l) => l.host === n.host && l.port === n.port);
const addresses = (nodes: readonly NodeRef[]) => nodes.map((n) => `${n.host}:${n.port}`).sort();

describe.skipIf(unavailable !== undefined)(
  'a libtorrent-only network (10 nodes, libtorrent defaults)',
  () => {
    let lt: LibtorrentTestnet;
    beforeAll(async () => {
      lt = await createLibtorrentTestnet({ nodes: 10, lifetimeMs: LIFETIME_MS });
    });
    afterAll(async () => {
      await closeOurs();
      await lt?.close();
    });

    it('stores our put on the libtorrent nodes; our getAll and a libtorrent client read the same bytes', async () => {
      const writer = await ourNode('127.0.1.1', lt.bootstrap);
      const keys = randomKeys();
      const salt = utf8('interop basic');
      // The largest value libtorrent stores (BEP 44: the bencoded `v` is at most 1000 bytes).
      const value = new Uint8Array(randomBytes(MAX_VALUE_BYTES));
      const put = await writer.put({ ...keys, salt }, value, { seq: 5 });
      expect(put).toMatchObject({ ok: true, rejected: [], timedOut: [], alreadyStored: [] });
      // k = 20 > 10, but a libtorrent reply names only the 8 closest nodes its sender knows (BEP 5's
      // K), so a walk is sure to meet the target's 8 closest, not the nodes farthest from it.
      expect(put.accepted.every((n) => isLibtorrent(lt, n))).toBe(true);
      expect(put.accepted.length).toBeGreaterThanOrEqual(LIBTORRENT_K);

      // A reader that joined after the put: the libtorrent nodes are the only holders.
      const reader = await ourNode('127.0.1.2', lt.bootstrap.slice(1));
      const got = await reader.getAll({ publicKey: keys.publicKey, salt });
      expect(got.timedOut).toBe(false);
      expect(got.values).toHaveLength(1);
      const [found] = got.values;
      expect(found).toMatchObject({ seq: 5, value });
      // Only nodes the put stored on hold it, and the reader met at least the 8 closest of them.
      const holders = new Set(addresses(put.accepted));
      expect(found!.from.every((n) => holders.has(`${n.host}:${n.port}`))).toBe(true);
      expect(found!.from.length).toBeGreaterThanOrEqual(LIBTORRENT_K);

      const read = await lt.get({ publicKey: keys.publicKey, salt }, { node: 7 });
      expect(read).toBeDefined();
      expect(hex(read!.value)).toBe(hex(value));
      expect(read!.seq).toBe(5);
      expect(hex(read!.signature)).toBe(hex(found!.signature));
    });

    it('an empty salt is no salt there too: libtorrent reads it without a salt', async () => {
      const writer = await ourNode('127.0.1.3', lt.bootstrap);
      const keys = randomKeys();
      // libtorrent answers 206 to an item signed over "4:salt0:"; ours signs an empty salt as none.
      const put = await writer.put({ ...keys, salt: new Uint8Array() }, utf8('no salt'), { seq: 1 });
      expect(put.ok).toBe(true);
      expect(put.rejected).toEqual([]);
      const read = await lt.get({ publicKey: keys.publicKey }, { node: 4 });
      expect(read && new TextDecoder().decode(read.value)).toBe('no salt');
    });

    it('reads an item a libtorrent client stored', async () => {
      const keys = randomKeys();
      const salt = utf8('from libtorrent');
      const stored = await lt.put({ ...keys, salt }, utf8('written by libtorrent'), { node: 3 });
      expect(stored.numSuccess).toBeGreaterThan(0);
      const reader = await ourNode('127.0.1.4', lt.bootstrap);
      const got = await reader.getAll({ publicKey: keys.publicKey, salt });
      expect(got.values.map((v) => [new TextDecoder().decode(v.value), v.seq])).toEqual([
        ['written by libtorrent', stored.seq],
      ]);
    });
  },
);

describe.skipIf(unavailable !== undefined)(
  'a mixed network (10 bittorrent-dht + 10 libtorrent nodes)',
  () => {
    let testnet: Testnet;
    let lt: LibtorrentTestnet;
    beforeAll(async () => {
      testnet = await createTestnet({ nodes: 10 });
      // relaxed: the testnet's ten nodes share 127.0.0.1, which libtorrent's per-IP DoS block (5
      // queries/s) would take for one flooding node.
      lt = await createLibtorrentTestnet({
        nodes: 10,
        relaxed: true,
        bootstrap: testnet.bootstrap,
        lifetimeMs: LIFETIME_MS,
      });
    });
    afterAll(async () => {
      await closeOurs();
      await lt?.close();
      await testnet?.close();
    });

    it('a put through the bittorrent-dht side lands on both kinds; the libtorrent side reads it', async () => {
      // The writer knows only the bittorrent-dht testnet, the reader only the libtorrent nodes.
      const writer = await ourNode('127.0.2.1', testnet.bootstrap);
      const keys = randomKeys();
      const salt = utf8('interop mixed');
      const value = utf8('one network, two implementations');
      const put = await writer.put({ ...keys, salt }, value, { seq: 3 });
      expect(put).toMatchObject({ ok: true, rejected: [], timedOut: [] });
      const ltCopies = put.accepted.filter((n) => isLibtorrent(lt, n)).length;
      // All 20 are among the 20 closest; a walk may miss one node on a loaded machine.
      expect(ltCopies).toBeGreaterThanOrEqual(8);
      expect(put.accepted.length - ltCopies).toBeGreaterThanOrEqual(8);

      const reader = await ourNode('127.0.2.2', lt.bootstrap);
      const got = await reader.getAll({ publicKey: keys.publicKey, salt });
      expect(got.values).toHaveLength(1);
      const [found] = got.values;
      expect(found).toMatchObject({ seq: 3, value });
      expect(found!.from.some((n) => isLibtorrent(lt, n))).toBe(true);
      expect(found!.from.some((n) => !isLibtorrent(lt, n))).toBe(true);

      const read = await lt.get({ publicKey: keys.publicKey, salt }, { node: 9 });
      expect(read && hex(read.value)).toBe(hex(value));
      expect(read!.seq).toBe(3);
      expect(hex(read!.signature)).toBe(hex(found!.signature));
    });
  },
);
