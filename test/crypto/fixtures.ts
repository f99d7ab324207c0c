/** Shared builders and fast-check arbitraries for the crypto tests. */
import fc from 'fast-check';
import {
  type Address,
  deriveMinuteKeys,
  hashSecret,
  keyPairFromSeed,
  MAX_HOST_LEN,
  MAX_MESSAGE_IDS,
  MAX_PEER_ADDRESSES,
  MAX_PUBLISHER_ADDRESSES,
  MAX_RECORD_PEERS,
  type MinuteKeys,
  type PeerInfo,
  type RecordBody,
  type SignedRecord,
  signRecord,
  TopicId,
} from '../../src/crypto/index.js';

/** `n` bytes all equal to `fill`. */
export const bytes = (n: number, fill = 0): Uint8Array => new Uint8Array(n).fill(fill);

export const TOPIC = TopicId.fromName('test/topic');
export const OTHER_TOPIC = TopicId.fromName('test/other-topic');
export const SECRET_HASH = hashSecret('test secret');
export const MINUTE = 29_400_000;
export const PUBLISHER = keyPairFromSeed(bytes(32, 7));
export const OTHER_PUBLISHER = keyPairFromSeed(bytes(32, 8));

/** Keys of TOPIC at `minute` (with the test secret unless `secret` is false). */
export function keysAt(minute = MINUTE, secret = true, topic = TOPIC): MinuteKeys {
  return deriveMinuteKeys(topic, minute, secret ? { secretHash: SECRET_HASH } : {});
}

/** A small valid body of TOPIC at MINUTE from PUBLISHER, with `overrides`. */
export function makeBody(overrides: Partial<RecordBody> = {}): RecordBody {
  return {
    topic: TOPIC.hash,
    minute: MINUTE,
    publisher: PUBLISHER.publicKey,
    addresses: [{ host: '198.51.100.7', port: 6881 }],
    peers: [{ id: bytes(32, 0x11), addresses: [{ host: '2001:db8::1', port: 443 }] }],
    messageIds: [bytes(16, 0xaa)],
    ...overrides,
  };
}

/** `makeBody(overrides)` signed by PUBLISHER. */
export function makeRecord(overrides: Partial<RecordBody> = {}): SignedRecord {
  return signRecord(makeBody(overrides), PUBLISHER.secretKey);
}

/** A DNS name of exactly `MAX_HOST_LEN` bytes. */
export function longName(tag: string): string {
  return `${tag}.${'x'.repeat(MAX_HOST_LEN - tag.length - '..example'.length)}.example`;
}

/** The largest record: every list full, every address a longest DNS name. */
export function worstCaseBody(): RecordBody {
  const dns = (tag: string): Address => ({ host: longName(tag), port: 65535 });
  return makeBody({
    addresses: Array.from({ length: MAX_PUBLISHER_ADDRESSES }, (_, i) => dns(`p${i}`)),
    peers: Array.from({ length: MAX_RECORD_PEERS }, (_, i) => ({
      id: bytes(32, i),
      addresses: Array.from({ length: MAX_PEER_ADDRESSES }, (_, j) => dns(`q${i}${j}`)),
    })),
    messageIds: Array.from({ length: MAX_MESSAGE_IDS }, (_, i) => bytes(16, i)),
  });
}

// ---------------------------------------------------------------------------------------------------
// Arbitraries

export const arbBytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
export const arbPort = fc.integer({ min: 1, max: 65535 });

export const arbIp4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));

/**
 * IPv6 text of random words in a random valid spelling: upper case, leading zeros, the first zero run
 * compressed to `::` (not necessarily the canonical one), the last 32 bits as a dotted quad.
 */
export const arbIp6 = fc
  .tuple(
    fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([words, upper, pad, compress, v4tail]) => {
    let parts = words.map((w) => (pad ? w.toString(16).padStart(4, '0') : w.toString(16)));
    if (upper) parts = parts.map((p) => p.toUpperCase());
    const n = v4tail ? 6 : 8;
    const tail = v4tail
      ? [[words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff].join('.')]
      : [];
    parts = parts.slice(0, n);
    const i = words.slice(0, n).indexOf(0);
    if (compress && i !== -1) {
      let j = i;
      while (j < n && words[j] === 0) j++;
      return `${parts.slice(0, i).join(':')}::${[...parts.slice(j), ...tail].join(':')}`;
    }
    return [...parts, ...tail].join(':');
  });

/** `text` with one character inserted, deleted or replaced, from characters that matter to parsers. */
export const mutateText = (arb: fc.Arbitrary<string>) =>
  fc
    .tuple(
      arb,
      fc.nat(),
      fc.constantFrom('insert', 'delete', 'replace'),
      fc.constantFrom(...':.0aF9g%'.split('')),
    )
    .map(([text, at, op, ch]) => {
      const i = at % (text.length + 1);
      if (op === 'insert') return text.slice(0, i) + ch + text.slice(i);
      if (op === 'delete') return text.slice(0, i) + text.slice(i + 1);
      return text.slice(0, i) + ch + text.slice(i + 1);
    });

const labelChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-ABC'.split(''));
const arbLabel = fc
  .string({ unit: labelChars, minLength: 1, maxLength: 12 })
  .filter((l) => !l.startsWith('-') && !l.endsWith('-'));

/** Valid DNS names of 1..36 bytes whose last label is not numeric. */
export const arbDns = fc
  .array(arbLabel, { minLength: 1, maxLength: 4 })
  .map((labels) => labels.join('.'))
  .filter((n) => n.length <= MAX_HOST_LEN && !/^(?:[0-9]+|0[xX][0-9a-fA-F]*)$/.test(n.split('.').pop()!));

export const arbHost = fc.oneof(arbIp4, arbIp6, arbDns);
export const arbAddress: fc.Arbitrary<Address> = fc.record({ host: arbHost, port: arbPort });

export const arbPeer: fc.Arbitrary<PeerInfo> = fc.record({
  id: arbBytes(32),
  addresses: fc.array(arbAddress, { maxLength: MAX_PEER_ADDRESSES }),
});

/** Bodies of PUBLISHER with arbitrary topic, minute and lists. */
export const arbBody: fc.Arbitrary<RecordBody> = fc.record({
  topic: arbBytes(32),
  minute: fc.integer({ min: 0, max: 0xffff_ffff }),
  publisher: fc.constant(PUBLISHER.publicKey),
  addresses: fc.array(arbAddress, { maxLength: MAX_PUBLISHER_ADDRESSES }),
  peers: fc.array(arbPeer, { maxLength: MAX_RECORD_PEERS }),
  messageIds: fc.array(arbBytes(16), { maxLength: MAX_MESSAGE_IDS }),
});
