/**
 * The item store and the per-IP blocker of the serving side (src/dht/store.ts,
 * src/dht/server-blocker.ts): pure structures, driven with explicit times.
 */
import { describe, expect, it } from 'vitest';
import { IpBlocker, RATE_WINDOW_MS } from '../../src/dht/server-blocker.js';
import { ItemStore, ownerOf, type StoredValue, type StoreStats } from '../../src/dht/store.js';

const value = (n: number): StoredValue => ({ v: Buffer.from(`v${n}`), id: Buffer.alloc(20) });

function store(maxItems: number, maxPerOwner: number, lifetimeMs = 1_000_000) {
  const stats: StoreStats = { items: 0, itemsEvicted: { expired: 0, share: 0, full: 0 } };
  return { items: new ItemStore({ maxItems, maxPerOwner, lifetimeMs }, stats), stats };
}

describe('ItemStore', () => {
  it("a source at its share replaces its own least recently stored item, not others'", () => {
    const { items, stats } = store(100, 3);
    items.set('honest', value(0), 'A', 0);
    for (let i = 0; i < 10; i++) items.set(`junk${i}`, value(i), 'B', i + 1);
    expect(items.get('honest', 20)).toBeDefined();
    expect(['junk7', 'junk8', 'junk9'].map((t) => items.get(t, 20) !== undefined)).toEqual([
      true,
      true,
      true,
    ]);
    expect(items.get('junk6', 20)).toBeUndefined();
    expect(stats).toEqual({ items: 4, itemsEvicted: { expired: 0, share: 7, full: 0 } });
  });

  it('when full, evicts the oldest item of the source holding the most', () => {
    const { items, stats } = store(6, 4);
    items.set('a1', value(1), 'A', 0);
    for (let i = 0; i < 4; i++) items.set(`b${i}`, value(i), 'B', 1 + i);
    items.set('c1', value(1), 'C', 10);
    items.set('d1', value(1), 'D', 11); // full: B holds 4, its oldest goes
    expect(items.get('b0', 12)).toBeUndefined();
    expect(items.get('a1', 12)).toBeDefined();
    items.set('e1', value(1), 'E', 13); // B still holds the most (3)
    expect(items.get('b1', 14)).toBeUndefined();
    expect(stats.itemsEvicted).toEqual({ expired: 0, share: 0, full: 2 });
    expect(items.size).toBe(6);
  });

  it('expires items a lifetime after their last store or refresh; reads do not keep them alive', () => {
    const { items, stats } = store(10, 10, 100);
    items.set('x', value(1), 'A', 0);
    items.set('y', value(2), 'A', 0);
    expect(items.get('x', 99)).toBeDefined();
    expect(items.refresh('y', 50)).toBe(true);
    expect(items.get('x', 100)).toBeUndefined();
    expect(items.get('y', 149)).toBeDefined();
    items.set('z', value(3), 'A', 150); // sweeps y
    expect(stats).toEqual({ items: 1, itemsEvicted: { expired: 2, share: 0, full: 0 } });
    expect(items.refresh('gone', 150)).toBe(false);
  });

  it('an item stays charged to its first source: another source replaying it cannot churn it out', () => {
    const { items } = store(100, 3);
    items.set('honest', value(0), 'A', 0);
    expect(items.refresh('honest', 1)).toBe(true);
    items.set('honest', value(1), 'B', 2); // a newer version from B: still A's
    for (let i = 0; i < 10; i++) items.set(`junk${i}`, value(i), 'B', 3 + i);
    expect(items.get('honest', 20)).toEqual(value(1));
  });

  it('charges loopback senders per port and others per address', () => {
    expect(ownerOf('127.0.0.1', 4000)).toBe('127.0.0.1:4000');
    expect(ownerOf('192.0.2.7', 4000)).toBe('192.0.2.7');
  });
});

describe('IpBlocker', () => {
  it('blocks at rate × 10 s messages in a window, renews the block while it sends, lifts it after silence', () => {
    const blocker = new IpBlocker({ rate: 2, blockMs: 1000, maxTracked: 10 });
    for (let i = 1; i < 20; i++) expect(blocker.count('a', i)).toBe(false);
    expect(blocker.count('a', 20)).toBe(true);
    expect(blocker.blocked('a', 21)).toBe(true);
    expect(blocker.blocked('a', 900)).toBe(true); // renews to 1900
    expect(blocker.blocked('a', 1899)).toBe(true); // renews to 2899
    expect(blocker.blocked('a', 2899)).toBe(false);
    // A fresh window after the block.
    for (let i = 0; i < 19; i++) expect(blocker.count('a', 3000 + i)).toBe(false);
    expect(blocker.blocked('b', 0)).toBe(false);
  });

  it('a window that ends below the threshold starts afresh', () => {
    const blocker = new IpBlocker({ rate: 1, blockMs: 1000, maxTracked: 10 });
    for (let i = 0; i < 9; i++) expect(blocker.count('a', i)).toBe(false);
    for (let i = 0; i < 9; i++) expect(blocker.count('a', RATE_WINDOW_MS + i)).toBe(false);
    expect(blocker.count('a', RATE_WINDOW_MS + 9)).toBe(true);
  });

  it('tracks at most maxTracked addresses, forgetting the least recently heard', () => {
    const blocker = new IpBlocker({ rate: 0.1, blockMs: 1000, maxTracked: 2 });
    expect(blocker.count('a', 0)).toBe(true); // threshold 1
    blocker.count('b', 1);
    expect(blocker.blocked('a', 2)).toBe(true); // heard again: most recent
    blocker.count('c', 3); // forgets b
    expect(blocker.tracked).toBe(2);
    expect(blocker.blocked('a', 4)).toBe(true);
  });
});
