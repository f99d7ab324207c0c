/**
 * Writes test/vectors/record-v1.json: worked examples of PROTOCOL.md §§2-5 (topic and secret hashes,
 * per-minute keys, record plaintext, sealed value). Every output is computed with src/crypto (noble)
 * and cross-checked against node:crypto (OpenSSL) before it is written; a mismatch aborts.
 *
 *   npx tsx scripts/gen-record-vectors.ts
 *
 * The file is then formatted with the repository's biome config so that `biome check .` stays clean.
 */
import {
  deriveMinuteKeys,
  encodeRecordBody,
  encodeSignedRecord,
  hashSecret,
  keyPairFromSeed,
  RECORD_SIGNATURE_DOMAIN,
  sealRecord,
  signRecord,
  TopicId,
} from '../src/crypto/index.js';
import {
  ed25519PublicKey,
  ed25519Sign,
  hex,
  referenceMinuteKeys,
  unhex,
  utf8,
  type VectorInput,
  xchachaEncrypt,
} from '../test/crypto/reference.js';
import { writeVectorFile } from './vector-file.js';

const OUT = new URL('../test/vectors/record-v1.json', import.meta.url);

/** A DNS name of exactly 36 bytes: `tag` then padding then `.example`. */
function longName(tag: string): string {
  const name = `${tag}.${'x'.repeat(36 - tag.length - '..example'.length)}.example`;
  if (name.length !== 36) throw new Error(`bad name length ${name.length}`);
  return name;
}

const seq = (start: number, n: number): string =>
  hex(Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff));

const INPUTS: { name: string; description: string; input: VectorInput }[] = [
  {
    name: 'secret-small',
    description: 'Topic with a secret; a few fields of each kind. The worked example of PROTOCOL.md §5.4.',
    input: {
      topicName: 'gtt-example/chat',
      secret: 'correct horse battery staple',
      minute: 29_400_000,
      publisherSeed: seq(0xa0, 32),
      nonce: seq(0x40, 24),
      addresses: [
        { host: '198.51.100.7', port: 6881 },
        { host: '2001:db8::7', port: 6881 },
      ],
      peers: [{ id: '11'.repeat(32), addresses: [{ host: 'peer1.example.org', port: 443 }] }],
      messageIds: ['00112233445566778899aabbccddeeff'],
    },
  },
  {
    name: 'public-small',
    description: 'Public topic (no secret): anyone who knows the name derives these keys.',
    input: {
      topicName: 'gtt-example/public',
      secret: null,
      minute: 29_400_001,
      publisherSeed: seq(0x01, 32),
      nonce: seq(0x80, 24),
      addresses: [{ host: '203.0.113.9', port: 51413 }],
      peers: [
        { id: '22'.repeat(32), addresses: [] },
        {
          id: '33'.repeat(32),
          addresses: [
            { host: '192.0.2.33', port: 1 },
            { host: '2001:db8:0:1::33', port: 65535 },
          ],
        },
      ],
      messageIds: ['ffeeddccbbaa99887766554433221100', '0f'.repeat(16)],
    },
  },
  {
    name: 'secret-max',
    description:
      'Every list at its maximum and every address a 36-byte DNS name: the largest v1 record ' +
      '(942-byte plaintext, 982-byte sealed value).',
    input: {
      topicName: 'gtt-example/largest',
      secret: 'a much longer secret that nobody will guess',
      minute: 29_400_002,
      publisherSeed: seq(0x20, 32),
      nonce: seq(0xc0, 24),
      addresses: [0, 1, 2, 3].map((i) => ({ host: longName(`pub${i}`), port: 65535 })),
      peers: [0, 1, 2, 3, 4].map((i) => ({
        id: seq(0x10 * i, 32),
        addresses: [0, 1].map((j) => ({ host: longName(`peer${i}-${j}`), port: 65000 + 10 * i + j })),
      })),
      messageIds: [0, 1, 2, 3, 4].map((i) => seq(0x30 + 0x10 * i, 16)),
    },
  },
  {
    name: 'public-empty',
    description: 'Public topic, every list empty: the smallest v1 record (137-byte plaintext).',
    input: {
      topicName: 'gtt-example/empty',
      secret: null,
      minute: 0,
      publisherSeed: seq(0x60, 32),
      nonce: '00'.repeat(24),
      addresses: [],
      peers: [],
      messageIds: [],
    },
  },
  {
    name: 'secret-normalized',
    description:
      'Largest minute; hosts given in non-canonical text (upper-case DNS, uncompressed IPv6, ' +
      'IPv4-mapped IPv6). output.addresses and output.peers show the canonical forms that go on the wire.',
    input: {
      topicName: 'gtt-example/normalize',
      secret: 'ünïcödé secret',
      minute: 4_294_967_295,
      publisherSeed: seq(0xe0, 32),
      nonce: seq(0x00, 24),
      addresses: [
        { host: 'Node.Example.ORG', port: 8080 },
        { host: '2001:0DB8:0000:0000:0000:0000:0000:0001', port: 8080 },
      ],
      peers: [{ id: '44'.repeat(32), addresses: [{ host: '0:0:0:0:0:ffff:c000:0221', port: 9000 }] }],
      messageIds: [],
    },
  },
];

function check(what: string, ours: Uint8Array, theirs: Uint8Array): void {
  if (hex(ours) !== hex(theirs))
    throw new Error(`${what}: src/crypto ${hex(ours)} != node:crypto ${hex(theirs)}`);
}

const vectors = INPUTS.map(({ name, description, input }) => {
  const topic = TopicId.fromName(input.topicName);
  const secretHash = input.secret === null ? undefined : hashSecret(input.secret);
  const keys = deriveMinuteKeys(topic, input.minute, { secretHash });
  const ref = referenceMinuteKeys(input.topicName, input.secret, input.minute);
  check('topic hash', topic.hash, ref.topicHash);
  if (secretHash !== undefined) check('secret hash', secretHash, ref.secretHash!);
  check('seal key', keys.sealKey, ref.sealKey);
  check('slot seed', keys.slotSeed, ref.slotSeed);
  check('slot public key', keys.slotPublicKey, ref.slotPublicKey);
  for (const [i, salt] of keys.salts.entries()) check(`salt ${i}`, salt, ref.salts[i]!);

  const seed = unhex(input.publisherSeed);
  const publisher = keyPairFromSeed(seed);
  check('publisher key', publisher.publicKey, ed25519PublicKey(seed));
  const record = signRecord(
    {
      topic: topic.hash,
      minute: input.minute,
      publisher: publisher.publicKey,
      addresses: input.addresses,
      peers: input.peers.map((p) => ({ id: unhex(p.id), addresses: p.addresses })),
      messageIds: input.messageIds.map(unhex),
    },
    publisher.secretKey,
  );
  const body = encodeRecordBody(record);
  const message = new Uint8Array([...utf8(RECORD_SIGNATURE_DOMAIN), 0, ...body]);
  check('signature', record.signature, ed25519Sign(seed, message));
  const plaintext = encodeSignedRecord(record);
  const nonce = unhex(input.nonce);
  const sealed = sealRecord(record, keys, nonce);
  check(
    'sealed value',
    sealed,
    new Uint8Array([...nonce, ...xchachaEncrypt(keys.sealKey, nonce, plaintext)]),
  );

  return {
    name,
    description,
    input,
    output: {
      topicHash: hex(topic.hash),
      secretHash: secretHash === undefined ? null : hex(secretHash),
      minuteSecret: ref.minuteSecret === null ? null : hex(ref.minuteSecret),
      root: hex(ref.root),
      sealKey: hex(keys.sealKey),
      slotSeed: hex(keys.slotSeed),
      slotPublicKey: hex(keys.slotPublicKey),
      salts: keys.salts.map(hex),
      publisher: hex(publisher.publicKey),
      addresses: record.addresses,
      peers: record.peers.map((p) => ({ id: hex(p.id), addresses: p.addresses })),
      signature: hex(record.signature),
      plaintextLength: plaintext.length,
      plaintext: hex(plaintext),
      sealedLength: sealed.length,
      sealed: hex(sealed),
    },
  };
});

const file = {
  source:
    'gossip-topic-tracker PROTOCOL.md §§2-5 worked examples (our own, not from an external spec). ' +
    'Generated by scripts/gen-record-vectors.ts with src/crypto (@noble/*) and cross-checked against ' +
    'node:crypto (OpenSSL: SHA-512, HKDF-SHA256, Ed25519, ChaCha20-Poly1305 with HChaCha20).',
  version: 1,
  notes: [
    'Hex is lower case. secret is a UTF-8 string hashed by hashSecret(); null means a public topic.',
    'Keys use the default secret rotation. root is the HKDF-SHA256 output before the expand steps.',
    'plaintext = the signed record (body || signature); sealed = nonce || XChaCha20-Poly1305(sealKey, nonce, plaintext).',
  ],
  vectors,
};

writeVectorFile(OUT, file, vectors.length);
