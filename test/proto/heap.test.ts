import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineHeap } from '../../src/proto/heap.js';

describe('DeadlineHeap', () => {
  it('is empty at first', () => {
    const h = new DeadlineHeap<string>();
    expect(h.size).toBe(0);
    expect(h.peek()).toBeUndefined();
    expect(h.peekAt()).toBeUndefined();
    expect(h.pop()).toBeUndefined();
  });

  it('pops by deadline, equal deadlines in insertion order', () => {
    const h = new DeadlineHeap<string>();
    h.push(5, 'c');
    h.push(1, 'a');
    h.push(5, 'd');
    h.push(3, 'b');
    h.push(5, 'e');
    expect(h.size).toBe(5);
    expect(h.peekAt()).toBe(1);
    expect(h.peek()).toBe('a');
    const out: string[] = [];
    while (h.size > 0) out.push(h.pop()!);
    expect(out).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('clear drops everything', () => {
    const h = new DeadlineHeap<number>();
    for (let i = 0; i < 10; i++) h.push(i, i);
    h.clear();
    expect(h.size).toBe(0);
    expect(h.pop()).toBeUndefined();
  });

  it('pops in the order of a stable sort by deadline, with pushes and pops interleaved', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined })), (ops) => {
        // `undefined` is a pop; a number pushes that deadline. The model is a stably sorted array.
        const h = new DeadlineHeap<number>();
        const model: { at: number; id: number }[] = [];
        let id = 0;
        for (const at of ops) {
          if (at === undefined) {
            expect(h.pop()).toBe(model.shift()?.id);
          } else {
            h.push(at, id);
            const i = model.findIndex((m) => m.at > at);
            model.splice(i === -1 ? model.length : i, 0, { at, id: id++ });
          }
          expect(h.size).toBe(model.length);
          expect(h.peekAt()).toBe(model[0]?.at);
        }
      }),
    );
  });
});
