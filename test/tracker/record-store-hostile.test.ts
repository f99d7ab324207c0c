/**
 * Readers never accept a record of another topic, minute or secret, nor a forged or altered one, and
 * hostile writers cannot break a read. Every bad value travels through real DHT nodes (bittorrent-dht
 * on 127.0.0.1) and the real read path.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deriveMinuteKeys,
  encodeSignedRecord,
  hashSecret,
  type MinuteKeys,
  type SignedRecord,
  sealRecord,
  signRecord,
  TopicId,
} from '../../src/crypto/index.js';
import { createTestnet, type Dht, type LookupNode, type Testnet, targetOf } from '../../src/dht/index.js';
import { startRawNode } from '../helpers/dht.js';
import { rawPut } from '../helpers/raw-krpc.js';
import { contentFor, freshNodes, makeStore, randomKeyPair, TEST_MINUTE } from '../helpers/records.js';

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

let testnet: Testnet;
let attacker: Dht;
let publisherDhts: Dht[];

beforeAll(async () => {
  testnet = await createTestnet({ nodes: 24 });
  attacker = await testnet.createNode();

  publisherDhts = await freshNodes(testnet, 5);
});

afterAll(async () => {
  await testnet?.close();
});

const nonce = () => crypto.getRandomValues(new Uint8Array(24));
const uniqueTopic = (label: string) => `${label}-${Math.random()}`;

function keysFor(topic: string, secret: string | undefined, minute = TEST_MINUTE): MinuteKeys {
  return deriveMinuteKeys(TopicId.fromName(topic), minute, {
    secretHash: secret === undefined ? undefined : hashSecret(secret),
  });
}

function signedRecord(topic: string, minute: number, seed = randomKeyPair()): SignedRecord {
  return signRecord(
    { topic: TopicId.fromName(topic).hash, minute, publisher: seed.publicKey, ...contentFor(1) },
    seed.secretKey,
  );
}

/** Seals arbitrary plaintext under a minute's sealing key, as a member could. */
function sealRaw(plaintext: Uint8Array, keys: MinuteKeys): Uint8Array {
  const n = nonce();
  const out = new Uint8Array(24 + plaintext.length + 16);
  out.set(n);
  out.set(xchacha20poly1305(keys.sealKey, n).encrypt(plaintext), 24);
  return out;
}

/** A member writes `value` into one slot of `keys`, on the nodes `pick` chooses (default: all). */
async function memberWrite(
  keys: MinuteKeys,
  slot: number,
  value: Uint8Array,
  opts: { seq?: number; pick?: (nodes: LookupNode[]) => LookupNode[] } = {},
) {
  const result = await attacker.put(
    { publicKey: keys.slotPublicKey, secretKey: keys.slotSeed, salt: keys.salts[slot] },
    value,
    { seq: opts.seq ?? 1, retries: 0, select: opts.pick ?? ((nodes) => nodes) },
  );
  expect(result.accepted.length).toBeGreaterThan(0);
  return result;
}

/** A fresh reader. It stays up until the testnet closes (a closed node would stall later lookups). */
async function readAs(topic: string, secret: string | undefined) {
  const reader = makeStore(await testnet.createNode(), topic, { secret });
  return reader.store.read(TEST_MINUTE);
}

describe('a reader never accepts', () => {
  it("another topic's record (as sealed, or re-sealed under this topic's key)", async () => {
    const topic = uniqueTopic('topic-a');
    const other = uniqueTopic('topic-b');
    const foreign = signedRecord(other, TEST_MINUTE);
    await memberWrite(keysFor(topic, 's'), 0, sealRecord(foreign, keysFor(other, 's'), nonce()));
    await memberWrite(keysFor(topic, 's'), 1, sealRaw(encodeSignedRecord(foreign), keysFor(topic, 's')));
    const result = await readAs(topic, 's');
    expect(result.records).toEqual([]);
    expect(result.rejected).toEqual({ undecryptable: 1, 'wrong-topic': 1 });
  });

  it("another minute's record (a replay as sealed, or re-sealed)", async () => {
    const topic = uniqueTopic('minute');
    const old = signedRecord(topic, TEST_MINUTE - 1);
    const keys = keysFor(topic, 's');
    await memberWrite(keys, 0, sealRecord(old, keysFor(topic, 's', TEST_MINUTE - 1), nonce()));
    await memberWrite(keys, 1, sealRaw(encodeSignedRecord(old), keys));
    const result = await readAs(topic, 's');
    expect(result.records).toEqual([]);
    expect(result.rejected).toEqual({ undecryptable: 1, 'wrong-minute': 1 });
  });

  it("another secret's record, and never sees the other secret's slots at all", async () => {
    const topic = uniqueTopic('secret');
    const publisher = makeStore(publisherDhts[0]!, topic, { secret: 'other-secret' });
    expect((await publisher.store.publish(contentFor(0))).status).toBe('published');
    // A member of both copies it into our slot: it does not open under our secret's keys.
    const record = signedRecord(topic, TEST_MINUTE);
    await memberWrite(
      keysFor(topic, 'our-secret'),
      2,
      sealRecord(record, keysFor(topic, 'other-secret'), nonce()),
    );
    const ours = await readAs(topic, 'our-secret');
    expect(ours.records).toEqual([]);
    expect(ours.rejected).toEqual({ undecryptable: 1 });
    const theirs = await readAs(topic, 'other-secret');
    expect(theirs.records.map((r) => bytesToHex(r.publisher))).toEqual([
      bytesToHex(publisher.keyPair.publicKey),
    ]);
  });

  it('a forged record (signed by another key than its publisher)', async () => {
    const topic = uniqueTopic('forged');
    const keys = keysFor(topic, 's');
    const victim = randomKeyPair();
    const forger = randomKeyPair();
    const real = signedRecord(topic, TEST_MINUTE, forger);
    const forged: SignedRecord = { ...real, publisher: victim.publicKey };
    await memberWrite(keys, 0, sealRecord(forged, keys, nonce()));
    const result = await readAs(topic, 's');
    expect(result.records).toEqual([]);
    expect(result.rejected).toEqual({ 'bad-signature': 1 });
  });

  it('an altered record (a field changed and re-sealed, or a bit flipped in transit)', async () => {
    const topic = uniqueTopic('altered');
    const keys = keysFor(topic, 's');
    const real = signedRecord(topic, TEST_MINUTE);
    const altered: SignedRecord = { ...real, addresses: [{ host: '10.6.6.6', port: 666 }] };
    await memberWrite(keys, 0, sealRecord(altered, keys, nonce()));
    const flipped = sealRecord(real, keys, nonce());
    flipped[50]! ^= 0x01;
    await memberWrite(keys, 1, flipped);
    const result = await readAs(topic, 's');
    expect(result.records).toEqual([]);
    expect(result.rejected).toEqual({ 'bad-signature': 1, undecryptable: 1 });
  });
});

/** Every kind of junk a writer can produce for a minute, given the keys it knows. */
function junkFor(topic: string, keys: MinuteKeys, previousKeys: MinuteKeys): Record<string, Uint8Array> {
  const valid = sealRecord(signedRecord(topic, keys.minute), keys, nonce());
  const lastMinute = signedRecord(topic, keys.minute - 1);
  const victim = randomKeyPair();
  const forged = { ...signedRecord(topic, keys.minute), publisher: victim.publicKey };
  const plaintext = encodeSignedRecord(signedRecord(topic, keys.minute));
  const v2 = plaintext.slice();
  v2[0] = 2;
  const flipped = valid.slice();
  flipped[valid.length - 1]! ^= 0x80;
  return {
    random: crypto.getRandomValues(new Uint8Array(300)),
    truncatedShort: valid.slice(0, 30),
    truncatedLong: valid.slice(0, valid.length - 20),
    bitFlip: flipped,
    replayAsSealed: sealRecord(lastMinute, previousKeys, nonce()),
    replayResealed: sealRaw(encodeSignedRecord(lastMinute), keys),
    otherKey: sealRecord(forged, keys, nonce()),
    malformed: sealRaw(plaintext.slice(0, 60), keys),
    unknownVersion: sealRaw(v2, keys),
  };
}

/** Writes the junk into one slot with raw puts, one junk kind per node, round-robin over `nodes`. */
async function sprayJunk(
  keys: MinuteKeys,
  slot: number,
  nodes: LookupNode[],
  junk: Uint8Array[],
  seq: number,
) {
  const replies = await Promise.all(
    nodes.map((node, i) =>
      rawPut([node], {
        publicKey: keys.slotPublicKey,
        salt: keys.salts[slot],
        seq,
        value: junk[i % junk.length]!,
        secretKey: keys.slotSeed,
      }),
    ),
  );
  return replies.flat();
}

async function slotNodes(keys: MinuteKeys, slot: number): Promise<LookupNode[]> {
  const { nodes } = await attacker.getAll({ publicKey: keys.slotPublicKey, salt: keys.salts[slot] });
  return nodes;
}

async function publishFive(topic: string, secret: string) {
  const publishers = publisherDhts.map((dht) => makeStore(dht, topic, { secret }));
  const results = await Promise.all(publishers.map((p, i) => p.store.publish(contentFor(i))));
  return { publishers, results };
}

describe('hostile writers', () => {
  it('(b) a member takes two slots and sprays junk into the others: readers count every reject, legitimate records are recovered', async () => {
    const topic = uniqueTopic('hostile-member');
    const secret = 'member-secret';
    const keys = keysFor(topic, secret);
    const junk = junkFor(topic, keys, keysFor(topic, secret, TEST_MINUTE - 1));
    const kinds = Object.values(junk);
    // Beyond BEP 44's 1000 bencoded bytes: our nodes and libtorrent refuse it, an unhardened
    // bittorrent-dht node stores it. One such node sits on slot 3's target, where every walk meets it.
    const oversize = crypto.getRandomValues(new Uint8Array(998));
    const plain = await startRawNode(testnet.bootstrap, targetOf(keys.slotPublicKey, keys.salts[3]));
    try {
      const plainPort = plain.dht.address().port;
      const onPlain = (await slotNodes(keys, 3)).filter((n) => n.port === plainPort);
      expect(onPlain, 'the plain node answers walks to slot 3').toHaveLength(1);
      expect(await sprayJunk(keys, 3, onPlain, [oversize], MAX_SEQ)).toEqual(['r']);
      // Slots 0 and 1: junk on every node, at the highest seq, so nobody can write there this minute.
      for (const slot of [0, 1]) {
        const replies = await sprayJunk(keys, slot, await slotNodes(keys, slot), kinds, MAX_SEQ);
        expect(replies.filter((r) => r === 'r').length).toBeGreaterThan(0);
      }
      // Slots 2 and 3: junk on three nodes each.
      for (const slot of [2, 3]) {
        await sprayJunk(
          keys,
          slot,
          (await slotNodes(keys, slot)).slice(0, 3),
          kinds.slice(slot * 2),
          MAX_SEQ,
        );
      }

      const { publishers, results } = await publishFive(topic, secret);
      for (const r of results) expect(r.status).toBe('published');
      const readResult = await readAs(topic, secret);
      const expected = publishers.map((p) => bytesToHex(p.keyPair.publicKey)).sort();
      expect(readResult.records.map((r) => bytesToHex(r.publisher)).sort()).toEqual(expected);
      for (const r of readResult.records) expect([2, 3]).toContain(r.slot);
      // Every junk kind was seen and skipped with its reason.
      for (const reason of [
        'undecryptable',
        'truncated',
        'wrong-minute',
        'bad-signature',
        'malformed',
        'unknown-version',
        // Beyond BEP 44's 1000 bencoded bytes: the DHT layer already refuses it.
        'dht-oversize',
      ]) {
        expect(readResult.rejected, reason).toHaveProperty(reason);
      }
    } finally {
      await plain.close();
    }
  });

  it('(a) an outsider who knows only the topic name cannot occupy any slot of a topic with a secret', async () => {
    const topic = uniqueTopic('hostile-outsider');
    const secret = 'outsider-does-not-know-this';
    // Everything the outsider can derive: the no-secret keys. It fills all of those slots with junk.
    const guessed = keysFor(topic, undefined);
    const kinds = Object.values(junkFor(topic, guessed, keysFor(topic, undefined, TEST_MINUTE - 1)));
    for (let slot = 0; slot < 4; slot++) {
      await sprayJunk(guessed, slot, await slotNodes(guessed, slot), kinds, MAX_SEQ);
    }
    // Even knowing the members' slot public keys and salts (say, by watching DHT traffic), it cannot sign
    // for them: storing nodes drop its forged puts, so the members' slots stay empty.
    const real = keysFor(topic, secret);
    const forgedReplies = await Promise.all(
      [0, 1, 2, 3].map(async (slot) =>
        rawPut(await slotNodes(real, slot), {
          publicKey: real.slotPublicKey,
          salt: real.salts[slot],
          seq: MAX_SEQ,
          value: crypto.getRandomValues(new Uint8Array(200)),
          secretKey: randomKeyPair().secretKey,
        }),
      ),
    );
    expect(forgedReplies.flat().length).toBeGreaterThan(0);
    expect(forgedReplies.flat().filter((r) => r === 'r')).toEqual([]);
    const before = await readAs(topic, secret);
    expect(before.records).toEqual([]);
    expect(before.rejected).toEqual({});
    for (const s of before.slots) expect(s.occupied).toBe(0);

    const { publishers, results } = await publishFive(topic, secret);
    for (const r of results) expect(r.status).toBe('published');
    const after = await readAs(topic, secret);
    expect(after.records.map((r) => bytesToHex(r.publisher)).sort()).toEqual(
      publishers.map((p) => bytesToHex(p.keyPair.publicKey)).sort(),
    );
    expect(after.rejected).toEqual({});
  });

  it('(a) without a secret, the same outsider can write into every slot (the documented risk)', async () => {
    const topic = uniqueTopic('no-secret');
    const keys = keysFor(topic, undefined);
    const kinds = Object.values(junkFor(topic, keys, keysFor(topic, undefined, TEST_MINUTE - 1)));
    for (let slot = 0; slot < 4; slot++)
      await sprayJunk(keys, slot, await slotNodes(keys, slot), kinds, MAX_SEQ);
    const result = await readAs(topic, undefined);
    expect(result.records).toEqual([]);
    for (const s of result.slots) expect(s.invalid).toBeGreaterThan(0);
  });
});
