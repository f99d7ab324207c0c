/** Fixtures for record store tests: publishers with their own DHT nodes on a testnet. */
import { randomBytes } from 'node:crypto';
import { type KeyPair, keyPairFromSeed, TopicId } from '../../src/crypto/index.js';
import type { Dht, Testnet } from '../../src/dht/index.js';
import type { RecordStoreConfigInput } from '../../src/tracker/config.js';
import { type RecordContent, RecordStore } from '../../src/tracker/record-store.js';

/** DHT options of test nodes: a put that nobody answered is retried at once instead of after 5–15 s. */
export const TEST_DHT_OPTIONS = { putRetryDelayMs: 20, putRetryJitterMs: 20 } as const;

/** A fixed minute far from "now", so tests never depend on the wall clock. */
export const TEST_MINUTE = 29_000_000;

export function randomKeyPair(): KeyPair {
  return keyPairFromSeed(new Uint8Array(randomBytes(32)));
}

export function contentFor(index: number): RecordContent {
  return {
    addresses: [{ host: `127.0.0.${(index % 250) + 1}`, port: 4000 + index }],
    peers: [],
    messageIds: [],
  };
}

export interface StoreFixture {
  dht: Dht;
  keyPair: KeyPair;
  store: RecordStore;
}

export function makeStore(
  dht: Dht,
  topicName: string,
  opts: { secret?: string; keyPair?: KeyPair; minute?: number; config?: RecordStoreConfigInput } = {},
): StoreFixture {
  const keyPair = opts.keyPair ?? randomKeyPair();
  const minute = opts.minute ?? TEST_MINUTE;
  const store = new RecordStore({
    dht,
    topic: TopicId.fromName(topicName),
    keyPair,
    secret: opts.secret,
    config: opts.config,
    now: () => minute * 60_000 + 1_000,
  });
  return { dht, keyPair, store };
}

/** `count` fresh DHT nodes joined to the testnet (closed with it). */
export async function freshNodes(testnet: Testnet, count: number): Promise<Dht[]> {
  const nodes: Dht[] = [];
  for (let i = 0; i < count; i++) nodes.push(await testnet.createNode(TEST_DHT_OPTIONS));
  return nodes;
}
