/** The routing table's `closest` (src/dht/krpc.ts `closestInTree`) against k-bucket's own. */
import KBucket from 'k-bucket';
import { describe, expect, it } from 'vitest';
import { type BucketNode, closestInTree } from '../../src/dht/krpc.js';

/** Deterministic bytes (xorshift32), so a failure replays. */
function bytes(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

const hex = (c: { id: Uint8Array }) => Buffer.from(c.id).toString('hex');

/** XOR distance order over all 20 bytes. */
function xorOrder(target: Uint8Array) {
  return (a: { id: Uint8Array }, b: { id: Uint8Array }) => {
    for (let i = 0; i < 20; i++) {
      const d = ((a.id[i] as number) ^ (target[i] as number)) - ((b.id[i] as number) ^ (target[i] as number));
      if (d !== 0) return d;
    }
    return 0;
  };
}

describe('closestInTree', () => {
  it("reads the buckets k-bucket's closest reads and returns them in exact XOR order", () => {
    const rand = bytes(42);
    for (const size of [0, 1, 7, 20, 60, 300]) {
      const table = new KBucket({ localNodeId: rand(20) });
      for (let i = 0; i < size; i++) table.add({ id: rand(20) });
      const root = (table as unknown as { root: BucketNode<{ id: Uint8Array }> }).root;
      for (let q = 0; q < 40; q++) {
        const target = rand(20);
        for (const n of [1, 8, 20, 1000]) {
          const mine = closestInTree(root, target, n);
          const theirs = table.closest(target, n);
          expect(mine.map(hex).sort()).toEqual(theirs.map(hex).sort());
          expect(mine.map(hex)).toEqual([...mine].sort(xorOrder(target)).map(hex));
        }
      }
    }
  });

  it('orders ids equal in their first 4 bytes by the rest', () => {
    const leaf = (contacts: { id: Uint8Array }[]) =>
      ({ contacts }) as unknown as BucketNode<{ id: Uint8Array }>;
    const id = (last: number) => Uint8Array.from({ length: 20 }, (_, i) => (i === 19 ? last : 9));
    const target = new Uint8Array(20).fill(9);
    const got = closestInTree(leaf([{ id: id(5) }, { id: id(1) }, { id: id(3) }]), target, 2);
    expect(got.map((c) => c.id[19])).toEqual([1, 3]);
  });
});
