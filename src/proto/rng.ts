/**
 * The core's only source of randomness: an injected seeded generator, so the core stays pure.
 *
 * - `createSecureRng(seed)`: for real nodes, seeded with 32 bytes of OS entropy. Peers see its outputs
 *   (the first ones are the sequence numbers every GOSSIP carries, PROTOCOL.md §8.3) and must not be
 *   able to predict the rest (evictions, walk targets): SHA-256 in counter mode, block `i` =
 *   `SHA-256("gossip-topic-tracker/v1/rng" || 0x00 || seed || u64be i)`, read as eight big-endian u32.
 *   Recovering the seed or a later block from earlier blocks means inverting SHA-256.
 * - `createRng(seed)`: a small non-cryptographic PRNG (sfc32 seeded through splitmix32) for simulators
 *   and tests; its 32-bit seed can be recovered from a few outputs.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { abytes, utf8ToBytes } from '@noble/hashes/utils.js';

/** A source of uniform 32-bit unsigned integers. */
export interface Rng {
  nextU32(): number;
}

/** Domain string of {@link createSecureRng}. */
export const SECURE_RNG_DOMAIN = 'gossip-topic-tracker/v1/rng';

/**
 * A CSPRNG: SHA-256 in counter mode over a 32-byte seed (see the module comment).
 * @throws {TypeError} when `seed` is not a Uint8Array (`"seed" expected Uint8Array of length 32, got type=…`).
 * @throws {RangeError} when it is not 32 bytes long (`"seed" expected Uint8Array of length 32, got length=…`).
 */
export function createSecureRng(seed: Uint8Array): Rng {
  abytes(seed, 32, 'seed');
  const prefix = utf8ToBytes(SECURE_RNG_DOMAIN);
  const input = new Uint8Array(prefix.length + 1 + 32 + 8);
  input.set(prefix);
  input.set(seed, prefix.length + 1);
  const view = new DataView(input.buffer);
  const counterAt = prefix.length + 1 + 32;
  let counter = 0n;
  let block = new DataView(new ArrayBuffer(32));
  let next = 8;
  return {
    nextU32(): number {
      if (next === 8) {
        view.setBigUint64(counterAt, counter++);
        const h = sha256(input);
        block = new DataView(h.buffer, h.byteOffset, h.byteLength);
        next = 0;
      }
      return block.getUint32(4 * next++);
    },
  };
}

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), seeded from `seed` with splitmix32. */
export function createRng(seed: number): Rng {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const rng: Rng = {
    nextU32(): number {
      const t = (((a + b) >>> 0) + d) >>> 0;
      d = (d + 1) >>> 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) >>> 0;
      c = ((c << 21) | (c >>> 11)) >>> 0;
      c = (c + t) >>> 0;
      return t;
    },
  };
  for (let i = 0; i < 12; i++) rng.nextU32();
  return rng;
}

/** Uniform integer in `[0, n)` for `1 <= n <= 2^32` (tiny modulo bias is irrelevant for peer sampling). */
export function below(rng: Rng, n: number): number {
  return Math.floor((rng.nextU32() / 0x1_0000_0000) * n);
}

/** A uniformly chosen element, or undefined for an empty array. */
export function pick<T>(rng: Rng, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[below(rng, items.length)];
}

/** Up to `k` distinct elements chosen uniformly (partial Fisher–Yates on a copy). */
export function sample<T>(rng: Rng, items: readonly T[], k: number): T[] {
  const copy = items.slice();
  const n = Math.min(k, copy.length);
  for (let i = 0; i < n; i++) {
    const j = i + below(rng, copy.length - i);
    const tmp = copy[i]!;
    copy[i] = copy[j]!;
    copy[j] = tmp;
  }
  copy.length = n;
  return copy;
}

/** A uniform 64-bit unsigned integer. */
export function nextU64(rng: Rng): bigint {
  return (BigInt(rng.nextU32()) << 32n) | BigInt(rng.nextU32());
}
