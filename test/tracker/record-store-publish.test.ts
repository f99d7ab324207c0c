/**
 * RecordStore.publish and read, one behaviour at a time, on a real 20-node DHT testnet: the per-minute
 * cap, refreshing our own record, our own record set apart, streaming, reuse of a read, validation,
 * and publishers racing for a slot (301 after `cas`, libtorrent's "success" caught by a read-back).
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEAL_NONCE_BYTES, sealRecord, signRecord, TopicId } from '../../src/crypto/index.js';
import { createTestnet, type Dht, type LookupNode, type Testnet, targetOf } from '../../src/dht/index.js';
import { GttError } from '../../src/errors.js';
import { type ReadResult, RecordStore } from '../../src/tracker/record-store.js';
import { type KeepFirstNode, startKeepFirstNode } from '../helpers/keep-first-node.js';
import { rawPut } from '../helpers/raw-krpc.js';
import {
  contentFor,
  freshNodes,
  makeStore,
  randomKeyPair,
  type StoreFixture,
  TEST_DHT_OPTIONS,
  TEST_MINUTE,
} from '../helpers/records.js';

let testnet: Testnet;
let nodes: Dht[];

beforeAll(async () => {
  testnet = await createTestnet({ nodes: 20 });
  nodes = await freshNodes(testnet, 7);
});

afterAll(async () => {
  await testnet?.close();
});

const topicName = (label: string) => `${label}-${Math.random()}`;
const hex = (b: Uint8Array) => bytesToHex(b);

/** A sealed record of a publisher other than `of`'s, for `of`'s topic and minute: what a rival stores. */
function rivalRecord(of: StoreFixture): Uint8Array {
  const keys = of.store.keys(TEST_MINUTE);
  const rival = randomKeyPair();
  const record = signRecord(
    { topic: keys.topic, minute: TEST_MINUTE, publisher: rival.publicKey, ...contentFor(99) },
    rival.secretKey,
  );
  return sealRecord(record, keys, new Uint8Array(randomBytes(SEAL_NONCE_BYTES)));
}

/** A raw put of `value` at `seq` into slot `slot` of `of`'s minute, on `nodes`, signed with the slot key. */
async function putRaw(
  of: StoreFixture,
  slot: number,
  nodes: readonly LookupNode[],
  seq: number,
  value: Uint8Array,
) {
  const keys = of.store.keys(TEST_MINUTE);
  return rawPut(
    nodes.map((n) => ({ host: n.host, port: n.port, token: n.token })),
    { publicKey: keys.slotPublicKey, salt: keys.salts[slot]!, seq, value, secretKey: keys.slotSeed },
  );
}

/** The responders of slot `slot` in `view`. */
const slotOf = (view: ReadResult, slot: number) => view.slots.find((s) => s.index === slot)!.nodes;

describe('publish', () => {
  it('skips once the minute shows maxRecordsPerMinute records of others', async () => {
    const topic = topicName('cap');
    const first = nodes.slice(0, 5).map((dht) => makeStore(dht, topic, { secret: 's' }));
    for (const [i, p] of first.entries())
      expect((await p.store.publish(contentFor(i))).status).toBe('published');
    const late = makeStore(nodes[5]!, topic, { secret: 's' });
    expect(await late.store.publish(contentFor(5))).toEqual({
      status: 'skipped',
      reason: 'minute-full',
      minute: TEST_MINUTE,
      others: 5,
    });
    expect(late.store.stats.publishSkipped).toBe(1);
    // A lower cap, configured, applies the same way.
    const strict = makeStore(nodes[6]!, topic, { secret: 's', config: { maxRecordsPerMinute: 2 } });
    expect((await strict.store.publish(contentFor(6))).status).toBe('skipped');
  });

  it('a second publish in the same minute replaces our record (seq + 1, same slot)', async () => {
    const topic = topicName('refresh');
    const publisher = makeStore(nodes[0]!, topic, { secret: 's' });
    const first = await publisher.store.publish(contentFor(1));
    const second = await publisher.store.publish({
      ...contentFor(2),
      messageIds: [new Uint8Array(16).fill(7)],
    });
    expect(first).toMatchObject({ status: 'published', seq: 1 });
    expect(second).toMatchObject({
      status: 'published',
      seq: 2,
      slot: first.status === 'published' && first.slot,
    });
    const reader = makeStore(nodes[1]!, topic, { secret: 's' });
    const { records } = await reader.store.read(TEST_MINUTE);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ seq: 2, addresses: contentFor(2).addresses });
    expect(records[0]!.messageIds.map(hex)).toEqual([hex(new Uint8Array(16).fill(7))]);
  });

  it('reuses a fresh read of the same minute: no read again, and the put stores on its responders', async () => {
    const topic = topicName('reuse');
    const publisher = makeStore(nodes[2]!, topic, { secret: 's' });
    const view = await publisher.store.read(TEST_MINUTE);
    expect(view.slots.every((s) => s.nodes.length === s.responders && s.responders > 0)).toBe(true);
    const before = nodes[2]!.stats.lookups;
    expect((await publisher.store.publish(contentFor(0), { read: view })).status).toBe('published');
    expect(nodes[2]!.stats.lookups - before).toBe(0);
    const reader = makeStore(nodes[3]!, topic, { secret: 's' });
    expect((await reader.store.read(TEST_MINUTE)).records).toHaveLength(1);
  });

  it('a read `from` an earlier one asks its nodes again, one round, and finds a record landed since', async () => {
    const topic = topicName('again');
    const reader = makeStore(nodes[5]!, topic, { secret: 's' });
    const first = await reader.store.read(TEST_MINUTE, { slots: [0] });
    expect(first.records).toHaveLength(0);
    const publisher = makeStore(nodes[6]!, topic, { secret: 's' });
    expect(await publisher.store.publish(contentFor(6))).toMatchObject({ status: 'published', slot: 0 });
    const before = { ...nodes[5]!.stats };
    const again = await reader.store.read(TEST_MINUTE, { slots: [0], from: first });
    expect(again.records.map((r) => hex(r.publisher))).toEqual([hex(publisher.keyPair.publicKey)]);
    // Only slot 0's responders of the first read were asked (at most k = 20 of them), no walk beyond.
    const asked = Math.min(20, first.slots[0]!.nodes.length);
    expect(nodes[5]!.stats.queriesSent - before.queriesSent).toBe(asked);
  });

  it('a read older than 10 s lends no responders: the put walks for fresh ones', async () => {
    const topic = topicName('stale');
    const publisher = makeStore(nodes[2]!, topic, { secret: 's' });
    const view = await publisher.store.read(TEST_MINUTE);
    const before = nodes[2]!.stats.lookups;
    const stale = { ...view, readAtMs: view.readAtMs - 10_001 };
    expect((await publisher.store.publish(contentFor(0), { read: stale })).status).toBe('published');
    expect(nodes[2]!.stats.lookups - before).toBe(1);
  });

  it("reports the records of others that the put's own walk came across", async () => {
    const topic = topicName('seen');
    const late = makeStore(nodes[4]!, topic, { secret: 's' });
    // The late publisher's read predates the others' records (as when peers start together) …
    const emptyView = await late.store.read(TEST_MINUTE);
    // … which then fill all four slots (each publish reads first and picks the emptiest slot).
    const early = nodes.slice(0, 4).map((dht) => makeStore(dht, topic, { secret: 's' }));
    const slots = new Set<number>();
    for (const [i, p] of early.entries()) {
      const r = await p.store.publish(contentFor(i));
      if (r.status === 'published') slots.add(r.slot);
    }
    expect(slots.size).toBe(4);
    const seen: string[] = [];
    const stale = { ...emptyView, readAtMs: emptyView.readAtMs - 60_000 };
    const result = await late.store.publish(contentFor(4), {
      read: stale,
      onRecord: (r) => seen.push(hex(r.publisher)),
    });
    expect(result.status).toBe('published');
    const earlyIds = new Set(early.map((p) => hex(p.keyPair.publicKey)));
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.every((id) => earlyIds.has(id))).toBe(true);
  });

  it("an empty minute's first record goes to slot 0, so a read of slot 0 alone tells the minute is live", async () => {
    const topic = topicName('slot0');
    const publisher = makeStore(nodes[0]!, topic, { secret: 's' });
    const result = await publisher.store.publish(contentFor(0));
    expect(result).toMatchObject({ status: 'published', slot: 0 });
    const reader = makeStore(nodes[1]!, topic, { secret: 's' });
    const before = nodes[1]!.stats.lookups;
    const view = await reader.store.read(TEST_MINUTE, { slots: [0] });
    expect(nodes[1]!.stats.lookups - before).toBe(1);
    expect(view).toMatchObject({ complete: false, lookups: 1 });
    expect(view.slots.map((s) => s.index)).toEqual([0]);
    expect(view.records.map((r) => hex(r.publisher))).toEqual([hex(publisher.keyPair.publicKey)]);
    // The next publisher, reading the whole minute, takes the emptiest slot: not 0.
    const second = await makeStore(nodes[2]!, topic, { secret: 's' }).store.publish(contentFor(1));
    expect(second).toMatchObject({ status: 'published', slot: 1 });
    expect((await reader.store.read(TEST_MINUTE)).complete).toBe(true);
  });

  it('refuses slot indices out of range', async () => {
    const reader = makeStore(nodes[0]!, topicName('range'), { secret: 's' });
    for (const bad of [[4], [-1], [0.5]]) {
      await expect(reader.store.read(TEST_MINUTE, { slots: bad })).rejects.toThrow(RangeError);
    }
  });

  it('skipIfOthersFound stores nothing once its walk meets a record of another publisher', async () => {
    const topic = topicName('skip');
    const late = makeStore(nodes[3]!, topic, { secret: 's' });
    const emptyView = await late.store.read(TEST_MINUTE, { slots: [0] });
    const early = makeStore(nodes[0]!, topic, { secret: 's' });
    expect(await early.store.publish(contentFor(0))).toMatchObject({ status: 'published', slot: 0 });
    const seen: string[] = [];
    const putsBefore = nodes[3]!.stats.putsSent;
    const result = await late.store.publish(contentFor(1), {
      // A minute-old read: too old to lend its responders, so the put walks (and meets `early`).
      read: { ...emptyView, readAtMs: emptyView.readAtMs - 60_000 },
      skipIfOthersFound: true,
      onRecord: (r) => seen.push(hex(r.publisher)),
    });
    expect(result).toEqual({ status: 'skipped', reason: 'others-found', minute: TEST_MINUTE, others: 1 });
    expect(seen).toEqual([hex(early.keyPair.publicKey)]);
    expect(nodes[3]!.stats.putsSent).toBe(putsBefore);
    expect(late.store.stats.publishSkipped).toBe(1);
  });

  it('a start-up record skips when a chosen node answers 301: its item changed since the read', async () => {
    const topic = topicName('cas-skip');
    const late = makeStore(nodes[3]!, topic, { secret: 's' });
    // Slot 0's nodes hold junk at seq 0 (a valid BEP 44 item that is no record): free for seq 1 …
    const probe = await late.store.read(TEST_MINUTE, { slots: [0] });
    const junk = await putRaw(late, 0, slotOf(probe, 0), 0, new Uint8Array(randomBytes(100)));
    expect(junk.every((r) => r === 'r')).toBe(true);
    // A second look at the nodes the probe found (and put junk on), so every responder holds junk.
    const view = await late.store.read(TEST_MINUTE, { slots: [0], from: probe });
    expect(slotOf(view, 0).filter((n) => n.item?.seq === 0).length).toBeGreaterThanOrEqual(16);
    // … until, between our read and our put, another publisher's record lands on all of them.
    const raced = await putRaw(late, 0, slotOf(view, 0), 1, rivalRecord(late));
    expect(raced.every((r) => r === 'r')).toBe(true);

    const before = { ...nodes[3]!.stats.putsRejected };
    const result = await late.store.publish(contentFor(1), { read: view, skipIfOthersFound: true });
    expect(result).toEqual({ status: 'skipped', reason: 'others-found', minute: TEST_MINUTE, others: 0 });
    // Our puts carried cas = 0, the seq the read saw: 301, where a put without cas would meet 302.
    const after = nodes[3]!.stats.putsRejected;
    expect((after['301'] ?? 0) - (before['301'] ?? 0)).toBe(late.store.config.replicas);
    expect(after['302'] ?? 0).toBe(before['302'] ?? 0);
  });

  it('a publish whose chosen nodes answer 301 takes the next slot at once, without a retry', async () => {
    const topic = topicName('cas-next');
    const publisher = makeStore(nodes[4]!, topic, { secret: 's' });
    // Junk at seq 0 on every node of every slot, so all four are equally occupied and slot 0 comes
    // first. A second read can meet a node the first did not (one that answered it late on a loaded
    // machine, or one it had not heard of yet): that node gets junk too, until a read meets no node
    // without. Otherwise that slot would be less occupied than slot 0, and taken first.
    let view = await publisher.store.read(TEST_MINUTE);
    for (let round = 0; ; round++) {
      const bare = [0, 1, 2, 3].map((slot) => slotOf(view, slot).filter((n) => n.item === undefined));
      if (bare.every((b) => b.length === 0)) break;
      expect(round, 'reads keep meeting nodes without junk').toBeLessThan(5);
      for (const slot of [0, 1, 2, 3]) {
        if (bare[slot]!.length > 0) {
          await putRaw(publisher, slot, bare[slot]!, 0, new Uint8Array(randomBytes(100)));
        }
      }
      view = await publisher.store.read(TEST_MINUTE, { from: view });
    }
    await putRaw(publisher, 0, slotOf(view, 0), 1, rivalRecord(publisher));
    const before = nodes[4]!.stats.putsRejected['301'] ?? 0;
    const result = await publisher.store.publish(contentFor(2), { read: view });
    expect(result).toMatchObject({ status: 'published', slot: 1, attempts: 2 });
    expect((nodes[4]!.stats.putsRejected['301'] ?? 0) - before).toBe(publisher.store.config.replicas);
  });

  it('rejects with ABORTED when its signal is aborted, before any network work', async () => {
    const publisher = makeStore(nodes[3]!, topicName('abort'), { secret: 's' });
    const before = nodes[3]!.stats.lookups;
    const error = await publisher.store
      .publish(contentFor(0), { signal: AbortSignal.abort(new Error('stop')) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GttError);
    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(nodes[3]!.stats.lookups).toBe(before);
  });

  it('refuses invalid content locally with RangeError (too many peers)', async () => {
    const publisher = makeStore(nodes[3]!, topicName('invalid'), { secret: 's' });
    const peers = Array.from({ length: 6 }, () => ({ id: randomKeyPair().publicKey, addresses: [] }));
    await expect(publisher.store.publish({ ...contentFor(0), peers })).rejects.toThrow(RangeError);
  });
});

describe('read', () => {
  it('sets our own record apart and reports each slot', async () => {
    const topic = topicName('own');
    const publisher = makeStore(nodes[4]!, topic, { secret: 's' });
    const published = await publisher.store.publish(contentFor(4));
    const view = await publisher.store.read(TEST_MINUTE);
    expect(view.records).toEqual([]);
    expect(view.own && hex(view.own.publisher)).toBe(hex(publisher.keyPair.publicKey));
    expect(view.own?.slot).toBe(published.status === 'published' ? published.slot : -1);
    expect(view.lookups).toBe(4);
    expect(view.slots.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    expect(view.slots.reduce((n, s) => n + s.records, 0)).toBe(1);
  });

  it('streams each new publisher once through onRecord', async () => {
    const topic = topicName('stream');
    const publishers = nodes.slice(0, 3).map((dht) => makeStore(dht, topic, { secret: 's' }));
    for (const [i, p] of publishers.entries()) await p.store.publish(contentFor(i));
    // Publish twice from one of them: its two copies must still stream once.
    await publishers[0]!.store.publish(contentFor(9));
    const reader = makeStore(nodes[5]!, topic, { secret: 's' });
    const streamed: string[] = [];
    const result = await reader.store.read(TEST_MINUTE, { onRecord: (r) => streamed.push(hex(r.publisher)) });
    expect(streamed.sort()).toEqual(publishers.map((p) => hex(p.keyPair.publicKey)).sort());
    expect(result.records.map((r) => hex(r.publisher)).sort()).toEqual(streamed);
  });
});

describe('publishers racing on libtorrent nodes (success to an equal seq, first item kept)', () => {
  let small: Testnet;
  let publisherNodes: Dht[];
  const liars: KeepFirstNode[] = [];
  const topic = topicName('libtorrent');
  /** Stores whose slot 0 window is the three libtorrent-like nodes on its target. */
  const NARROW = { closestWindow: 3, replicas: 3 };

  beforeAll(async () => {
    small = await createTestnet({ nodes: 12 });
    // Walks that wait for every query: under load a stalled liar would leave the narrow window.
    const exact = { ...TEST_DHT_OPTIONS, queryStallMs: 2000 };
    publisherNodes = [await small.createNode(exact), await small.createNode(exact)];
    const keys = makeStore(publisherNodes[0]!, topic, { secret: 's' }).store.keys(TEST_MINUTE);
    const target = targetOf(keys.slotPublicKey, keys.salts[0]);
    for (const last of [1, 2, 3]) {
      const id = new Uint8Array(target);
      id[19]! ^= last;
      liars.push(await startKeepFirstNode(small.bootstrap, id));
    }
  });

  afterAll(async () => {
    await Promise.all(liars.map((l) => l.close()));
    await small?.close();
  });

  const liarIds = () => new Set(liars.map((l) => hex(l.dht.nodeId)));

  it('a start-up record skips, and a publish takes the next slot, when the nodes keep a rival record', async () => {
    const startup = makeStore(publisherNodes[0]!, topic, { secret: 's', config: NARROW });
    const regular = makeStore(publisherNodes[1]!, topic, { secret: 's', config: NARROW });
    // Both read the minute while it is empty (peers starting together) …
    const startupView = await startup.store.read(TEST_MINUTE, { slots: [0] });
    const regularView = await regular.store.read(TEST_MINUTE);
    const window = slotOf(startupView, 0).slice(0, 3);
    expect(new Set(window.map((n) => hex(n.id)))).toEqual(liarIds());
    // … then a faster publisher's record lands on slot 0's three closest nodes.
    expect(await putRaw(startup, 0, window, 1, rivalRecord(startup))).toEqual(['r', 'r', 'r']);

    const skipped = await startup.store.publish(contentFor(1), {
      read: startupView,
      skipIfOthersFound: true,
    });
    expect(skipped).toMatchObject({ status: 'skipped', reason: 'others-found' });
    expect(publisherNodes[0]!.stats.putsRejected.ENOTSTORED).toBe(3);

    const moved = await regular.store.publish(contentFor(2), { read: regularView });
    expect(moved).toMatchObject({ status: 'published', slot: 1 });
    expect(publisherNodes[1]!.stats.putsRejected.ENOTSTORED).toBe(3);
    // What a reader finds: the rival's record in slot 0, ours in slot 1, nothing of ours in slot 0.
    const reader = makeStore(publisherNodes[0]!, topic, { secret: 's' });
    const read = await reader.store.read(TEST_MINUTE);
    expect(
      read.records.map((r) => [hex(r.publisher) === hex(regular.keyPair.publicKey), r.slot]).sort(),
    ).toEqual([
      [false, 0],
      [true, 1],
    ]);
  });
});

describe('config', () => {
  it('rejects invalid options with INVALID_CONFIG naming the field', () => {
    const make = () =>
      new RecordStore({
        dht: nodes[0]!,
        topic: TopicId.fromName('x'),
        keyPair: randomKeyPair(),
        config: { replicas: 0 },
      });
    expect(make).toThrow(GttError);
    expect(make).toThrow(/replicas/);
  });
});
