/** The bounded LRU map shared by the caches of src/native and src/dht. */
import { describe, expect, it } from 'vitest';
import { Lru } from '../../src/crypto/lru.js';

describe('Lru', () => {
  it('keeps at most max entries, dropping the least recently used', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1); // a is now the most recent: b goes next
    lru.set('c', 3);
    expect(lru.size).toBe(2);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
  });

  it('peek reads a value without making it the most recent', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.peek('a')).toBe(1); // a stays the least recent: it goes next
    expect(lru.peek('z')).toBeUndefined();
    lru.set('c', 3);
    expect(lru.peek('a')).toBeUndefined();
    expect(lru.peek('b')).toBe(2);
  });

  it('setting a key again replaces its value and makes it the most recent', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('a', 10);
    lru.set('c', 3);
    expect(lru.get('a')).toBe(10);
    expect(lru.get('b')).toBeUndefined();
  });

  it('keeps null values apart from absent keys, and deletes', () => {
    const lru = new Lru<string, null>(3);
    lru.set('x', null);
    expect(lru.get('x')).toBeNull();
    expect(lru.get('y')).toBeUndefined();
    expect(lru.delete('x')).toBe(true);
    expect(lru.get('x')).toBeUndefined();
  });

  it('refuses a bound that is not an integer >= 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new Lru(bad)).toThrow(RangeError);
  });
});
