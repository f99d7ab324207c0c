/**
 * Writes test/vectors/gossip-v2.json: worked examples of PROTOCOL.md §8.2–§8.4 (GOSSIP frames of
 * version 2, their message ids and origin signatures). Every output is computed with src/proto (the
 * wire codec and `messageIdBytes`) and src/crypto (noble ed25519), and cross-checked against an
 * independent construction before it is written: the id preimage and the frame assembled byte by byte
 * from the PROTOCOL.md layout, hashed and signed with node:crypto (OpenSSL); a mismatch aborts.
 *
 *   npx tsx scripts/gen-gossip-vectors.ts
 *
 * The file is then formatted with the repository's biome config so that `biome check .` stays clean.
 */
import { createHash } from 'node:crypto';
import { keyPairFromSeed, TopicId } from '../src/crypto/index.js';
import { nobleSuite } from '../src/crypto/suite.js';
import {
  encodeFrame,
  GOSSIP_SIGNATURE_DOMAIN,
  type GossipMessage,
  MESSAGE_ID_DOMAIN,
  messageIdBytes,
  signedMessage,
  WIRE_VERSION,
} from '../src/proto/index.js';
import { ed25519PublicKey, ed25519Sign, hex, u64be, unhex, utf8 } from '../test/crypto/reference.js';
import { writeVectorFile } from './vector-file.js';

const OUT = new URL('../test/vectors/gossip-v2.json', import.meta.url);

interface Input {
  topicName: string;
  /** Origin's ed25519 seed (hex). */
  originSeed: string;
  /** u64 as a decimal string (JSON has no 64-bit integers). */
  seq: string;
  sentAt: number;
  scope: 'swarm' | 'neighbors';
  hops: number;
  /** Content as UTF-8 text. */
  content: string;
  signed: boolean;
}

const seq = (start: number, n: number): string =>
  hex(Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff));

const INPUTS: { name: string; description: string; input: Input }[] = [
  {
    name: 'signed-swarm',
    description: 'A signed swarm broadcast straight from its origin. The worked example of PROTOCOL.md §8.2.',
    input: {
      topicName: 'gtt-example/chat',
      originSeed: seq(0xa0, 32),
      seq: String(0x0102030405060708n),
      sentAt: 1_800_000_000_123,
      scope: 'swarm',
      hops: 1,
      content: 'hi',
      signed: true,
    },
  },
  {
    name: 'unsigned-neighbors',
    description: 'Signatures off, neighbour scope, seq 0 and sentAt 0, empty content.',
    input: {
      topicName: 'gtt-example/public',
      originSeed: seq(0x01, 32),
      seq: '0',
      sentAt: 0,
      scope: 'neighbors',
      hops: 1,
      content: '',
      signed: false,
    },
  },
];

/** The id preimage and frame of PROTOCOL.md §8.2/§8.3, assembled independently of src/proto. */
function reference(topic: Uint8Array, origin: Uint8Array, i: Input, signature: Uint8Array | undefined) {
  const content = utf8(i.content);
  const scope = Uint8Array.of(i.scope === 'neighbors' ? 1 : 0);
  const s = u64be(0);
  Buffer.from(s.buffer).writeBigUInt64BE(BigInt(i.seq));
  const preimage = Buffer.concat([
    utf8(MESSAGE_ID_DOMAIN),
    Uint8Array.of(0),
    topic,
    origin,
    s,
    u64be(i.sentAt),
    scope,
    content,
  ]);
  const id = new Uint8Array(createHash('sha256').update(preimage).digest());
  const len = Buffer.alloc(4);
  len.writeUInt32BE(content.length);
  const hops = Buffer.alloc(2);
  hops.writeUInt16BE(i.hops);
  const flags = (signature === undefined ? 0 : 1) | (i.scope === 'neighbors' ? 2 : 0);
  const frame = Buffer.concat([
    Uint8Array.of(2, 8),
    topic,
    Uint8Array.of(flags),
    origin,
    s,
    u64be(i.sentAt),
    hops,
    len,
    content,
    signature ?? new Uint8Array(0),
  ]);
  return { id, frame: new Uint8Array(frame) };
}

function check(what: string, a: string, b: string): void {
  if (a !== b) throw new Error(`${what}: src ${a} != reference ${b}`);
}

const vectors = INPUTS.map(({ name, description, input: i }) => {
  const topic = TopicId.fromName(i.topicName).hash;
  const keys = keyPairFromSeed(unhex(i.originSeed));
  check('origin', hex(keys.publicKey), hex(ed25519PublicKey(unhex(i.originSeed))));
  const content = utf8(i.content);
  const id = messageIdBytes(topic, keys.publicKey, BigInt(i.seq), i.sentAt, i.scope, content);
  const signed = signedMessage(id);
  const signature = i.signed ? nobleSuite.ed25519Sign(signed, keys.secretKey) : undefined;
  if (signature !== undefined) {
    check('signature', hex(signature), hex(ed25519Sign(unhex(i.originSeed), signed)));
  }
  const message: GossipMessage = {
    type: 'gossip',
    origin: hex(keys.publicKey),
    seq: BigInt(i.seq),
    sentAt: i.sentAt,
    scope: i.scope,
    hops: i.hops,
    content,
    ...(signature === undefined ? {} : { signature }),
  };
  const frame = encodeFrame(hex(topic), message);
  const ref = reference(topic, keys.publicKey, i, signature);
  check('id', hex(id), hex(ref.id));
  check('frame', hex(frame), hex(ref.frame));
  return {
    name,
    description,
    input: i,
    output: {
      topicHash: hex(topic),
      origin: hex(keys.publicKey),
      id: hex(id),
      signedMessage: hex(signed),
      signature: signature === undefined ? null : hex(signature),
      frameLength: frame.length,
      frame: hex(frame),
    },
  };
});

const file = {
  source:
    'gossip-topic-tracker PROTOCOL.md §8.2-8.4 worked examples (our own, not from an external spec). ' +
    'Generated by scripts/gen-gossip-vectors.ts with src/proto and src/crypto (@noble/*) and ' +
    'cross-checked against the layout assembled byte by byte, SHA-256 and Ed25519 of node:crypto (OpenSSL).',
  version: WIRE_VERSION,
  notes: [
    'Hex is lower case. seq is a decimal string (a u64); sentAt is unix ms.',
    `id = SHA-256("${MESSAGE_ID_DOMAIN}" || 0x00 || topic hash || origin || u64be seq || u64be sentAt || u8 scope || content).`,
    `signedMessage = "${GOSSIP_SIGNATURE_DOMAIN}" || 0x00 || id; signature = ed25519(originSeed, signedMessage).`,
  ],
  vectors,
};

writeVectorFile(OUT, file, vectors.length);
