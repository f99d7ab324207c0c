/** The reply envelope every walk reads (src/dht/walk.ts `readEnvelope`): pure. */
import { describe, expect, it } from 'vitest';
import { readEnvelope } from '../../src/dht/walk.js';

describe('readEnvelope', () => {
  const id = new Uint8Array(20).fill(7);

  it('takes a 20-byte id with optional byte-string token and nodes', () => {
    expect(readEnvelope({ id })).toEqual({ id, token: undefined, nodes: undefined });
    const token = Uint8Array.of(1, 2);
    const nodes = new Uint8Array(26);
    expect(readEnvelope({ id, token, nodes, v: 'x' })).toEqual({ id, token, nodes });
  });

  it('refuses a missing or mis-sized id and non-bytes token or nodes', () => {
    expect(readEnvelope({})).toBeUndefined();
    expect(readEnvelope({ id: new Uint8Array(19) })).toBeUndefined();
    expect(readEnvelope({ id: 'a'.repeat(20) })).toBeUndefined();
    expect(readEnvelope({ id, token: 5 })).toBeUndefined();
    expect(readEnvelope({ id, nodes: [] })).toBeUndefined();
    expect(readEnvelope({ id, nodes: { length: 26 } })).toBeUndefined();
  });
});
