/**
 * The slot targets of PROTOCOL.md §6.1's worked example: computed from the `secret-small` vector with
 * our BEP 44 code, cross-checked with node:crypto's SHA-1, and found verbatim in PROTOCOL.md.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { deriveMinuteKeys, hashSecret, TopicId } from '../../src/crypto/index.js';
import { targetOf } from '../../src/dht/index.js';

const root = new URL('../../', import.meta.url);
const vector = JSON.parse(readFileSync(new URL('test/vectors/record-v1.json', root), 'utf8')).vectors.find(
  (v: { name: string }) => v.name === 'secret-small',
);
const protocol = readFileSync(new URL('PROTOCOL.md', root), 'utf8');

describe('PROTOCOL.md §6.1 slot targets', () => {
  const keys = deriveMinuteKeys(TopicId.fromName(vector.input.topicName), vector.input.minute, {
    secretHash: hashSecret(vector.input.secret),
  });

  it('the derived slot key and salts are the vector’s', () => {
    expect(bytesToHex(keys.slotPublicKey)).toBe(vector.output.slotPublicKey);
    expect(keys.salts.map(bytesToHex)).toEqual(vector.output.salts);
  });

  it.each([0, 1, 2, 3])('slot %i: SHA-1(k ‖ salt) matches node:crypto and the document', (slot) => {
    const salt = hexToBytes(vector.output.salts[slot]);
    const target = bytesToHex(targetOf(keys.slotPublicKey, salt));
    const reference = createHash('sha1').update(keys.slotPublicKey).update(salt).digest('hex');
    expect(target).toBe(reference);
    // A table row | slot | `salt` | `target` |, compared without the formatter's padding.
    const rows = protocol.split('\n').map((line) => line.replaceAll(' ', ''));
    expect(rows).toContain(`|${slot}|\`${vector.output.salts[slot]}\`|\`${target}\`|`);
  });
});
