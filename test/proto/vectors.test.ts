/**
 * test/vectors/gossip-v2.json (written by scripts/gen-gossip-vectors.ts, cross-checked there against
 * an independent byte-by-byte construction with node:crypto) against src/proto and src/crypto, and
 * the worked example printed in PROTOCOL.md §8.2 against the file.
 */
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { keyPairFromSeed, TopicId } from '../../src/crypto/index.js';
import {
  decodeFrame,
  encodeFrame,
  type GossipMessage,
  messageIdBytes,
  signedMessage,
  WIRE_VERSION,
} from '../../src/proto/index.js';

interface Vector {
  name: string;
  input: {
    topicName: string;
    originSeed: string;
    seq: string;
    sentAt: number;
    scope: 'swarm' | 'neighbors';
    hops: number;
    content: string;
    signed: boolean;
  };
  output: {
    topicHash: string;
    origin: string;
    id: string;
    signedMessage: string;
    signature: string | null;
    frameLength: number;
    frame: string;
  };
}

const file = JSON.parse(readFileSync(new URL('../vectors/gossip-v2.json', import.meta.url), 'utf8')) as {
  source: string;
  version: number;
  vectors: Vector[];
};
const protocol = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8');

describe('test/vectors/gossip-v2.json', () => {
  it('names its source and is of the wire version this code speaks', () => {
    expect(file.source).toContain('PROTOCOL.md');
    expect(file.source).toContain('scripts/gen-gossip-vectors.ts');
    expect(file.source).toContain('node:crypto');
    expect(file.version).toBe(WIRE_VERSION);
    expect(file.vectors.map((v) => v.name)).toEqual(['signed-swarm', 'unsigned-neighbors']);
  });

  describe.each(file.vectors.map((v) => [v.name, v] as const))('%s', (_, v) => {
    const { input: i, output: o } = v;
    const keys = keyPairFromSeed(hexToBytes(i.originSeed));
    const topic = TopicId.fromName(i.topicName).hash;
    const content = utf8ToBytes(i.content);
    const message: GossipMessage = {
      type: 'gossip',
      origin: o.origin,
      seq: BigInt(i.seq),
      sentAt: i.sentAt,
      scope: i.scope,
      hops: i.hops,
      content,
      ...(o.signature === null ? {} : { signature: hexToBytes(o.signature) }),
    };

    it('the id, what is signed and the signature', () => {
      expect(bytesToHex(topic)).toBe(o.topicHash);
      expect(bytesToHex(keys.publicKey)).toBe(o.origin);
      const id = messageIdBytes(topic, keys.publicKey, BigInt(i.seq), i.sentAt, i.scope, content);
      expect(bytesToHex(id)).toBe(o.id);
      expect(bytesToHex(signedMessage(id))).toBe(o.signedMessage);
      expect(o.signature !== null).toBe(i.signed);
      if (o.signature !== null) {
        expect(ed25519.verify(hexToBytes(o.signature), hexToBytes(o.signedMessage), keys.publicKey)).toBe(
          true,
        );
      }
    });

    it('encodes to the frame and decodes back', () => {
      const frame = encodeFrame(o.topicHash, message);
      expect(frame.length).toBe(o.frameLength);
      expect(bytesToHex(frame)).toBe(o.frame);
      expect(decodeFrame(hexToBytes(o.frame))).toEqual({ ok: true, topic: o.topicHash, message });
    });

    it('another sentAt in the frame is another id, and the signature no longer holds', () => {
      const frame = hexToBytes(o.frame);
      frame[2 + 32 + 1 + 32 + 8 + 7]! ^= 1; // the last byte of sentAt
      const d = decodeFrame(frame);
      if (!d.ok || d.message.type !== 'gossip') throw new Error('expected a GOSSIP');
      expect(d.message.sentAt).toBe(i.sentAt % 2 === 0 ? i.sentAt + 1 : i.sentAt - 1);
      const id = messageIdBytes(
        topic,
        keys.publicKey,
        d.message.seq,
        d.message.sentAt,
        d.message.scope,
        content,
      );
      expect(bytesToHex(id)).not.toBe(o.id);
      if (o.signature !== null) {
        expect(ed25519.verify(hexToBytes(o.signature), signedMessage(id), keys.publicKey)).toBe(false);
      }
    });
  });
});

describe('PROTOCOL.md §8.2 worked example', () => {
  const v = file.vectors.find((x) => x.name === 'signed-swarm')!;
  const at = protocol.indexOf('<!-- vector-gossip:signed-swarm -->');
  const open = protocol.indexOf('```\n', at);
  const lines = protocol.slice(open + 4, protocol.indexOf('\n```', open + 4)).split('\n');
  /** The hex column of an annotated line: everything before the first run of 2+ spaces. */
  const hexColumn = (line: string): string => line.split(/ {2,}/)[0]!.replaceAll(' ', '');

  it('shows the frame of vector signed-swarm field by field', () => {
    expect(at).toBeGreaterThanOrEqual(0);
    for (const line of lines) expect(hexColumn(line), line).toMatch(/^[0-9a-f]+$/);
    expect(lines.map(hexColumn).join('')).toBe(v.output.frame);
  });

  it('shows its inputs and id', () => {
    expect(protocol).toContain(`"${v.input.topicName}"`);
    expect(protocol).toContain(`${v.output.frameLength} bytes`);
    expect(protocol).toContain(v.output.id);
    expect(protocol).toContain(String(v.input.sentAt));
  });
});
