/**
 * Recomputes every vector of test/vectors/record-v1.json with src/crypto and with node:crypto, and
 * checks that the worked example printed in PROTOCOL.md §5.4 is the file's.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type Address,
  decodeRecord,
  deriveMinuteKeys,
  encodeRecordBody,
  encodeSignedRecord,
  hashSecret,
  keyPairFromSeed,
  openRecord,
  RECORD_SIGNATURE_DOMAIN,
  sealRecord,
  signRecord,
  TopicId,
} from '../../src/crypto/index.js';
import {
  ed25519Sign,
  hex,
  referenceMinuteKeys,
  unhex,
  utf8,
  type VectorInput,
  xchachaEncrypt,
} from './reference.js';

interface Vector {
  name: string;
  description: string;
  input: VectorInput;
  output: {
    topicHash: string;
    secretHash: string | null;
    minuteSecret: string | null;
    root: string;
    sealKey: string;
    slotSeed: string;
    slotPublicKey: string;
    salts: string[];
    publisher: string;
    addresses: Address[];
    peers: { id: string; addresses: Address[] }[];
    signature: string;
    plaintextLength: number;
    plaintext: string;
    sealedLength: number;
    sealed: string;
  };
}

const file = JSON.parse(readFileSync(new URL('../vectors/record-v1.json', import.meta.url), 'utf8')) as {
  source: string;
  vectors: Vector[];
};
const protocol = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8');

describe('test/vectors/record-v1.json', () => {
  it('names its source and covers the required cases', () => {
    expect(file.source).toContain('PROTOCOL.md');
    expect(file.source).toContain('scripts/gen-record-vectors.ts');
    expect(file.source).toContain('node:crypto');
    const names = file.vectors.map((v) => v.name);
    expect(names).toEqual(
      expect.arrayContaining(['secret-small', 'public-small', 'secret-max', 'public-empty']),
    );
    const max = file.vectors.find((v) => v.name === 'secret-max')!;
    expect([max.output.plaintextLength, max.output.sealedLength]).toEqual([942, 982]);
    const empty = file.vectors.find((v) => v.name === 'public-empty')!;
    expect([empty.output.plaintextLength, empty.output.sealedLength]).toEqual([137, 177]);
  });

  describe.each(file.vectors)('$name', (v) => {
    const { input, output } = v;
    const topic = TopicId.fromName(input.topicName);
    const secretHash = input.secret === null ? undefined : hashSecret(input.secret);
    const keys = deriveMinuteKeys(topic, input.minute, { secretHash });

    it('keys: src/crypto and node:crypto both give the vector', () => {
      const ref = referenceMinuteKeys(input.topicName, input.secret, input.minute);
      for (const [ours, theirs, expected] of [
        [topic.hash, ref.topicHash, output.topicHash],
        [keys.sealKey, ref.sealKey, output.sealKey],
        [keys.slotSeed, ref.slotSeed, output.slotSeed],
        [keys.slotPublicKey, ref.slotPublicKey, output.slotPublicKey],
      ] as const) {
        expect(hex(ours)).toBe(expected);
        expect(hex(theirs)).toBe(expected);
      }
      expect(keys.salts.map(hex)).toEqual(output.salts);
      expect(ref.salts.map(hex)).toEqual(output.salts);
      expect(hex(ref.root)).toBe(output.root);
      expect(secretHash === undefined ? null : hex(secretHash)).toBe(output.secretHash);
      expect(ref.secretHash === null ? null : hex(ref.secretHash)).toBe(output.secretHash);
      expect(ref.minuteSecret === null ? null : hex(ref.minuteSecret)).toBe(output.minuteSecret);
      expect(keys.hasSecret).toBe(input.secret !== null);
    });

    it('record: signing, encoding and sealing give the vector bytes', () => {
      const seed = unhex(input.publisherSeed);
      const publisher = keyPairFromSeed(seed);
      expect(hex(publisher.publicKey)).toBe(output.publisher);
      const rec = signRecord(
        {
          topic: topic.hash,
          minute: input.minute,
          publisher: publisher.publicKey,
          addresses: input.addresses,
          peers: input.peers.map((p) => ({ id: unhex(p.id), addresses: p.addresses })),
          messageIds: input.messageIds.map(unhex),
        },
        seed,
      );
      const message = new Uint8Array([...utf8(RECORD_SIGNATURE_DOMAIN), 0, ...encodeRecordBody(rec)]);
      expect(hex(rec.signature)).toBe(output.signature);
      expect(hex(ed25519Sign(seed, message))).toBe(output.signature);
      const plaintext = encodeSignedRecord(rec);
      expect(plaintext.length).toBe(output.plaintextLength);
      expect(hex(plaintext)).toBe(output.plaintext);
      const nonce = unhex(input.nonce);
      const sealed = sealRecord(rec, keys, nonce);
      expect(sealed.length).toBe(output.sealedLength);
      expect(hex(sealed)).toBe(output.sealed);
      expect(input.nonce + hex(xchachaEncrypt(keys.sealKey, nonce, plaintext))).toBe(output.sealed);
    });

    it('record: the vector bytes decode and open to the normalized fields', () => {
      const expected = {
        topic: topic.hash,
        minute: input.minute,
        publisher: unhex(output.publisher),
        addresses: output.addresses,
        peers: output.peers.map((p) => ({ id: unhex(p.id), addresses: p.addresses })),
        messageIds: input.messageIds.map(unhex),
        signature: unhex(output.signature),
      };
      expect(decodeRecord(unhex(output.plaintext))).toEqual({ ok: true, record: expected });
      expect(openRecord(unhex(output.sealed), keys)).toEqual({ ok: true, record: expected });
    });
  });
});

describe('PROTOCOL.md worked example', () => {
  /** Lines of the fenced block right after `<!-- marker -->`. */
  function block(marker: string): string[] {
    const at = protocol.indexOf(`<!-- ${marker} -->`);
    expect(at, marker).toBeGreaterThanOrEqual(0);
    const open = protocol.indexOf('```\n', at);
    const close = protocol.indexOf('\n```', open + 4);
    return protocol.slice(open + 4, close).split('\n');
  }
  /** The hex column of an annotated line: everything before the first run of 2+ spaces. */
  const hexColumn = (line: string): string => line.split(/ {2,}/)[0]!.replaceAll(' ', '');

  const v = file.vectors.find((x) => x.name === 'secret-small')!;

  it('shows the derived values of vector secret-small', () => {
    const lines = block('vector-keys:secret-small');
    const values = Object.fromEntries(lines.map((l) => [l.split(/ {2,}/)[0]!, l.split(/ {2,}/)[1]!]));
    expect(values).toEqual({
      'topic hash': v.output.topicHash,
      'secret hash': v.output.secretHash,
      'minute secret': v.output.minuteSecret,
      root: v.output.root,
      'seal key': v.output.sealKey,
      'slot seed': v.output.slotSeed,
      'slot key': v.output.slotPublicKey,
      'salt[0]': v.output.salts[0],
      'salt[1]': v.output.salts[1],
      'salt[2]': v.output.salts[2],
      'salt[3]': v.output.salts[3],
      'publisher id': v.output.publisher,
    });
  });

  it('shows its plaintext field by field', () => {
    const lines = block('vector-plaintext:secret-small');
    for (const line of lines) expect(hexColumn(line), line).toMatch(/^[0-9a-f]+$/);
    expect(lines.map(hexColumn).join('')).toBe(v.output.plaintext);
  });

  it('shows its sealed value', () => {
    expect(block('vector-sealed:secret-small').join('')).toBe(v.output.sealed);
  });

  it('shows its inputs', () => {
    expect(protocol).toContain(`"${v.input.topicName}"`);
    expect(protocol).toContain(`"${v.input.secret}"`);
    expect(protocol).toContain(v.input.publisherSeed);
    expect(protocol).toContain(v.input.nonce);
    expect(protocol).toContain(String(v.input.minute));
  });

  it('is the v1 protocol document', () => {
    expect(protocol).toMatch(/^# gossip-topic-tracker protocol \(v1\)\n/);
  });
});
