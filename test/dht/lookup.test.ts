/** The pure BEP 5 walk, driven by a simulated network of 200 nodes (no sockets, no timers). */
import { describe, expect, it } from 'vitest';
import { type Contact, compareDistance, decodeNodes, Lookup } from '../../src/dht/lookup.js';

/** A deterministic PRNG (mulberry32) so the simulated network is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomId(rand: () => number): Uint8Array {
  return Uint8Array.from({ length: 20 }, () => Math.floor(rand() * 256));
}

interface SimNode extends Contact {
  readonly id: Uint8Array;
  known: SimNode[];
  dead: boolean;
}

/** `n` nodes on 10.x.y.1 (one per /24), each knowing its 20 closest others and 10 random ones. */
function network(n: number, seed: number): SimNode[] {
  const rand = prng(seed);
  const nodes: SimNode[] = Array.from({ length: n }, (_, i) => ({
    id: randomId(rand),
    host: `10.${i >> 8}.${i & 255}.1`,
    port: 6881,
    known: [],
    dead: false,
  }));
  for (const node of nodes) {
    const others = nodes.filter((o) => o !== node);
    const near = [...others].sort((a, b) => compareDistance(a.id, b.id, node.id)).slice(0, 20);
    const random = Array.from({ length: 10 }, () => others[Math.floor(rand() * others.length)]!);
    node.known = [...new Set([...near, ...random])];
  }
  return nodes;
}

/**
 * Runs a walk to completion, answering queries in order (a dead node fails); each reply lists the
 * responder's 20 known nodes closest to the target. Returns who answered.
 */
function run(lookup: Lookup, byHost: Map<string, SimNode>, target: Uint8Array): SimNode[] {
  const answered: SimNode[] = [];
  let queue = lookup.next();
  while (queue.length > 0 || !lookup.finished) {
    const contact = queue.shift();
    if (!contact) break;
    const node = byHost.get(contact.host)!;
    if (node.dead) lookup.onFailure(contact);
    else {
      answered.push(node);
      const closest = [...node.known].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 20);
      lookup.onResponse(contact, node.id, closest);
    }
    queue = [...queue, ...lookup.next()];
  }
  return answered;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('Lookup', () => {
  const nodes = network(200, 1);
  const byHost = new Map(nodes.map((n) => [n.host, n]));
  const self = randomId(prng(99));

  it('converges on the k closest nodes of the network', () => {
    const rand = prng(2);
    for (let trial = 0; trial < 20; trial++) {
      const target = randomId(rand);
      const lookup = new Lookup(target, self, { k: 20, alpha: 3 });
      lookup.add(nodes.slice(trial * 5, trial * 5 + 8));
      const answered = run(lookup, byHost, target);
      expect(lookup.finished).toBe(true);
      expect(lookup.inFlight).toBe(0);
      const answeredIds = new Set(answered.map((n) => hex(n.id)));
      const truth = [...nodes].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 20);
      for (const node of truth) expect(answeredIds.has(hex(node.id))).toBe(true);
    }
  });

  it('moves past dead nodes: their slots go to the next closest', () => {
    const target = randomId(prng(3));
    const truth = [...nodes].sort((a, b) => compareDistance(a.id, b.id, target));
    for (const dead of truth.slice(0, 5)) dead.dead = true;
    try {
      const lookup = new Lookup(target, self, { k: 20, alpha: 3 });
      lookup.add(nodes.slice(0, 8));
      const answered = new Set(run(lookup, byHost, target).map((n) => hex(n.id)));
      expect(lookup.failed).toBeGreaterThanOrEqual(5);
      for (const live of truth.slice(5, 25)) expect(answered.has(hex(live.id))).toBe(true);
    } finally {
      for (const n of nodes) n.dead = false;
    }
  });

  it('never has more than alpha queries in flight and queries each address once', () => {
    const target = randomId(prng(4));
    const lookup = new Lookup(target, self, { k: 20, alpha: 3 });
    lookup.add(nodes.slice(0, 50));
    const first = lookup.next();
    expect(first).toHaveLength(3);
    expect(lookup.next()).toHaveLength(0);
    lookup.add(nodes.slice(0, 50));
    expect(lookup.inFlight).toBe(3);
  });

  it('a stalled node frees its slot; a late answer still counts; finished ignores stalled nodes', () => {
    const target = randomId(prng(8));
    const lookup = new Lookup(target, self, { k: 2, alpha: 1 });
    const [a, b, c] = [...nodes].sort((x, y) => compareDistance(x.id, y.id, target));
    lookup.add([a!, b!, c!]);
    expect(lookup.next()).toEqual([{ host: a!.host, port: a!.port, id: a!.id }]);
    lookup.onStall(a!);
    expect(lookup.inFlight).toBe(0);
    expect(lookup.next().map((q) => q.host)).toEqual([b!.host]);
    lookup.onResponse(b!, b!.id);
    expect(lookup.next().map((q) => q.host)).toEqual([c!.host]);
    lookup.onResponse(c!, c!.id);
    expect(lookup.finished).toBe(true);
    // The stalled node answers after all: it counts, and the k closest are a and b again.
    lookup.onResponse(a!, a!.id);
    expect(lookup).toMatchObject({ finished: true, responded: 3, stalled: 1, failed: 0 });
    lookup.onFailure(a!);
    expect(lookup.failed).toBe(0);
  });

  it('queries bootstrap addresses (no id yet) and ranks them once they answer', () => {
    const target = randomId(prng(5));
    const lookup = new Lookup(target, self, { k: 20, alpha: 3 });
    const boot = nodes[0]!;
    lookup.add([{ host: boot.host, port: boot.port }]);
    expect(lookup.finished).toBe(false);
    const [query] = lookup.next();
    expect(query).toEqual({ host: boot.host, port: boot.port });
    lookup.onResponse(query!, boot.id, []);
    expect(lookup.finished).toBe(true);
    expect(lookup.responded).toBe(1);
  });

  it('ignores ourselves and port 0, and is finished at once with no candidates', () => {
    const lookup = new Lookup(randomId(prng(6)), self, { k: 20, alpha: 3 });
    lookup.add([
      { id: self, host: '10.9.9.9', port: 1 },
      { id: randomId(prng(7)), host: '10.9.9.8', port: 0 },
    ]);
    expect(lookup.next()).toEqual([]);
    expect(lookup.finished).toBe(true);
  });
});

/** `count` ids sharing the first `shared` bytes of `target` (closer to it than any honest node). */
function nearIds(target: Uint8Array, count: number, rand: () => number, shared = 4): Uint8Array[] {
  return Array.from({ length: count }, () => {
    const id = randomId(rand);
    id.set(target.subarray(0, shared));
    return id;
  });
}

describe('Lookup hygiene', () => {
  const nodes = network(200, 11);
  const self = randomId(prng(98));

  it('takes at most maxPerReply contacts of one reply, the closest', () => {
    const target = randomId(prng(12));
    const lookup = new Lookup(target, self, { k: 20, alpha: 3, maxPerReply: 20 });
    lookup.add(nodes.slice(0, 1));
    const [first] = lookup.next();
    const fakes = nearIds(target, 2400, prng(13)).map((id, i) => ({
      id,
      host: `11.${i >> 8}.${i & 255}.1`,
      port: 6881,
    }));
    lookup.onResponse(first!, nodes[0]!.id, fakes);
    expect(lookup.size).toBe(21);
    expect(lookup.ignored.perReply).toBe(2380);
    const closest = [...fakes].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 3);
    expect(lookup.next().map((c) => c.host)).toEqual(closest.map((c) => c.host));
  });

  it('ignores an id already known at another address', () => {
    const target = randomId(prng(14));
    const lookup = new Lookup(target, self, { k: 20, alpha: 3 });
    const a = nodes[0]!;
    lookup.add([a, { id: a.id, host: '12.0.0.1', port: 1 }, { id: a.id, host: '12.0.1.1', port: 2 }]);
    expect(lookup.size).toBe(1);
    expect(lookup.ignored.knownId).toBe(2);
  });

  it('ignores contacts farther than the k-th closest responder', () => {
    const target = randomId(prng(15));
    const sorted = [...nodes].sort((a, b) => compareDistance(a.id, b.id, target));
    const lookup = new Lookup(target, self, { k: 2, alpha: 2 });
    lookup.add(sorted.slice(0, 2));
    for (const c of lookup.next()) lookup.onResponse(c, c.id!, []);
    lookup.add([sorted[1]!, sorted[50]!, sorted[150]!]);
    expect(lookup.ignored.far).toBe(2);
    expect(lookup.size).toBe(2);
  });

  it('holds one candidate per IP, maxPerPrefix per /24; on loopback one per host:port', () => {
    const lookup = new Lookup(randomId(prng(16)), self, { k: 20, alpha: 3, maxPerPrefix: 2 });
    const ids = nearIds(randomId(prng(17)), 8, prng(18), 0);
    lookup.add([
      { id: ids[0]!, host: '13.0.0.1', port: 1 },
      { id: ids[1]!, host: '13.0.0.1', port: 2 }, // same IP
      { id: ids[2]!, host: '13.0.0.2', port: 1 },
      { id: ids[3]!, host: '13.0.0.3', port: 1 }, // third of the /24
      { id: ids[4]!, host: '127.0.0.1', port: 1 },
      { id: ids[5]!, host: '127.0.0.1', port: 2 },
      { id: ids[6]!, host: '127.0.0.1', port: 3 },
    ]);
    expect(lookup.size).toBe(5);
    expect(lookup.ignored.diversity).toBe(2);
  });

  it('holds at most maxCandidates: a closer contact replaces the farthest waiting one', () => {
    const target = randomId(prng(19));
    const sorted = [...nodes].sort((a, b) => compareDistance(a.id, b.id, target));
    const lookup = new Lookup(target, self, { k: 20, alpha: 3, maxCandidates: 10 });
    lookup.add(sorted.slice(10, 20));
    lookup.add([sorted[30]!]);
    expect(lookup.ignored.full).toBe(1);
    lookup.add(sorted.slice(0, 5));
    expect(lookup.size).toBe(10);
    expect(lookup.next().map((c) => c.host)).toEqual(sorted.slice(0, 3).map((n) => n.host));
  });

  it('forgets the unqueried contacts of a responder once distrustAfter of its contacts failed', () => {
    const target = randomId(prng(21));
    const lookup = new Lookup(target, self, { k: 20, alpha: 2, distrustAfter: 2 });
    const referrer = nodes[0]!;
    lookup.add([referrer]);
    const [q] = lookup.next();
    const listed = nearIds(target, 5, prng(22)).map((id, i) => ({ id, host: `15.0.${i}.1`, port: 1 }));
    lookup.onResponse(q!, referrer.id, listed);
    const [a, b] = lookup.next();
    lookup.onFailure(a!);
    lookup.onStall(b!);
    expect(lookup.ignored.distrusted).toBe(3);
    expect(lookup.next()).toEqual([]);
    // Another responder listing one of them brings it back.
    lookup.add([nodes[1]!]);
    const [q2] = lookup.next();
    lookup.onResponse(q2!, nodes[1]!.id, [listed[4]!]);
    expect(lookup.next().map((c) => c.host)).toEqual([listed[4]!.host]);
  });

  it('8 hostile responders listing 300 dead fakes near the target each: bounded queries, same result', () => {
    const rand = prng(20);
    const target = randomId(rand);
    const sorted = [...nodes].sort((a, b) => compareDistance(a.id, b.id, target));
    const hostile = new Set(sorted.slice(40, 48).map((n) => n.host));
    let fakeIndex = 0;
    const walk = () => {
      // The defaults `walk.ts` passes (DEFAULT_WALK_CONTACTS_PER_REPLY, DEFAULT_WALK_DISTRUST_AFTER).
      const lookup = new Lookup(target, self, { k: 20, alpha: 16, maxPerReply: 8, distrustAfter: 2 });
      lookup.add([...sorted.slice(40, 48), ...nodes.slice(0, 8)]);
      const answered: SimNode[] = [];
      let queries = 0;
      let queue = lookup.next();
      while (queue.length > 0) {
        const contact = queue.shift()!;
        queries++;
        const node = byHost.get(contact.host);
        if (!node) lookup.onFailure(contact);
        else if (hostile.has(node.host)) {
          const fakes = nearIds(target, 300, rand).map((id) => {
            fakeIndex++;
            return {
              id,
              host: `14.${(fakeIndex >> 8) & 255}.${fakeIndex & 255}.${fakeIndex >> 16}`,
              port: 1,
            };
          });
          lookup.onResponse(contact, node.id, fakes);
        } else {
          answered.push(node);
          const closest = [...node.known].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 20);
          lookup.onResponse(contact, node.id, closest);
        }
        queue = [...queue, ...lookup.next()];
      }
      expect(lookup.finished).toBe(true);
      const ids = new Set(answered.map((n) => hex(n.id)));
      const honest = sorted.filter((n) => !hostile.has(n.host)).slice(0, 20);
      return { queries, found: honest.filter((n) => ids.has(hex(n.id))).length };
    };
    const byHost = new Map(nodes.map((n) => [n.host, n]));
    const bounded = walk();
    expect(bounded.found).toBe(20);
    // 81 when measured: a walk's ~40 honest nodes, the 8 hostile ones and the fakes in flight when
    // their responders became distrusted (at most 8 per reply). Without the rules: 2,435.
    expect(bounded.queries).toBeLessThanOrEqual(100 + 8 * 8);
  });
});

describe('decodeNodes (BEP 5 compact node info)', () => {
  it('decodes 26-byte entries, skipping port 0 and a trailing partial entry', () => {
    const a = new Uint8Array(26).fill(1);
    a.set([127, 0, 0, 1, 0x1a, 0xe1], 20);
    const zeroPort = new Uint8Array(26).fill(2);
    zeroPort.set([127, 0, 0, 2, 0, 0], 20);
    const buf = new Uint8Array([...a, ...zeroPort, 9, 9, 9]);
    expect(decodeNodes(buf)).toEqual([
      {
        id: new Uint8Array(20).fill(1),
        host: '127.0.0.1',
        port: 6881,
        key: (127 * 2 ** 24 + 1) * 65536 + 6881,
      },
    ]);
  });

  it('skips, before decoding them, the entries whose address key `skip` refuses', () => {
    const a = new Uint8Array(26).fill(1);
    a.set([203, 0, 113, 1, 0, 1], 20);
    const b = new Uint8Array(26).fill(2);
    b.set([203, 0, 113, 2, 0, 1], 20);
    const refused = (203 * 2 ** 24 + 113 * 256 + 1) * 65536 + 1;
    const got = decodeNodes(new Uint8Array([...a, ...b]), (key) => key === refused);
    expect(got.map((c) => c.host)).toEqual(['203.0.113.2']);
  });

  for (const form of ['decoded contacts', 'compact node info'] as const) {
    it(`a listed contact (${form}) at an address a lookup already holds (from its host string) is not taken again`, () => {
      const target = new Uint8Array(20).fill(0x40);
      const lookup = new Lookup(target, new Uint8Array(20).fill(0xff), { k: 8, alpha: 1 });
      lookup.add([{ host: '203.0.113.9', port: 6881, id: new Uint8Array(20).fill(0x41) }]);
      const [seed] = lookup.next();
      const entry = new Uint8Array(26).fill(0x42);
      entry.set([203, 0, 113, 9, 0x1a, 0xe1], 20);
      const other = new Uint8Array(26).fill(0x43);
      other.set([198, 51, 100, 7, 0x1a, 0xe1], 20);
      const bytes = new Uint8Array([...entry, ...other]);
      lookup.onResponse(
        seed!,
        new Uint8Array(20).fill(0x41),
        form === 'compact node info' ? bytes : decodeNodes(bytes),
      );
      expect(lookup.size).toBe(2);
      const [next] = lookup.next();
      expect(next).toEqual({ host: '198.51.100.7', port: 6881, id: new Uint8Array(20).fill(0x43) });
    });
  }
});

describe('compareDistance', () => {
  it('orders by XOR distance to the target', () => {
    const target = new Uint8Array([0b1010]);
    expect(compareDistance(new Uint8Array([0b1011]), new Uint8Array([0b0010]), target)).toBeLessThan(0);
    expect(compareDistance(new Uint8Array([0b0010]), new Uint8Array([0b1011]), target)).toBeGreaterThan(0);
    expect(compareDistance(target, target, target)).toBe(0);
  });
});
