/**
 * Internal helpers of `src/crypto`: input asserters with noble-style messages and small byte
 * utilities. Not part of the public API (not re-exported by `index.ts`).
 *
 * Messages follow noble (`"publicKey" expected Uint8Array of length 32, got length=31`): a wrong
 * type is a TypeError, a wrong length or an out-of-range value is a RangeError.
 */

/** `"title" ` or nothing, as noble does. */
const quote = (title: string): string => (title ? `"${title}" ` : '');

/** Short description of what a value is, for "got …" in messages. */
function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** True for a Uint8Array (and its subclasses such as Buffer). */
export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/**
 * Asserts `value` is a Uint8Array, of exactly `length` bytes when given.
 * @throws {TypeError} when `value` is not a Uint8Array.
 * @throws {RangeError} when its length differs from `length`.
 */
export function abytes(value: unknown, length: number | undefined, title: string): Uint8Array {
  if (isBytes(value) && (length === undefined || value.length === length)) return value;
  const ofLen = length === undefined ? '' : ` of length ${length}`;
  if (!isBytes(value))
    throw new TypeError(`${quote(title)}expected Uint8Array${ofLen}, got type=${typeOf(value)}`);
  throw new RangeError(`${quote(title)}expected Uint8Array${ofLen}, got length=${value.length}`);
}

/**
 * Asserts `value` is an integer in `[min, max]`.
 * @throws {TypeError} when `value` is not a number.
 * @throws {RangeError} when it is not an integer in range.
 */
export function aint(value: unknown, min: number, max: number, title: string): number {
  if (typeof value !== 'number')
    throw new TypeError(`${quote(title)}expected number, got type=${typeOf(value)}`);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${quote(title)}expected integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/**
 * Asserts `value` is an array of at most `max` items.
 * @throws {TypeError} when `value` is not an array.
 * @throws {RangeError} when it has more than `max` items.
 */
export function aarray(value: unknown, max: number, title: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${quote(title)}expected array, got type=${typeOf(value)}`);
  if (value.length > max) {
    throw new RangeError(`${quote(title)}expected at most ${max} items, got ${value.length}`);
  }
  return value;
}

/**
 * Asserts `value` is a non-null object (not an array).
 * @throws {TypeError} otherwise.
 */
export function aobject(value: unknown, title: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${quote(title)}expected object, got type=${typeOf(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Asserts `value` is a string.
 * @throws {TypeError} otherwise.
 */
export function astring(value: unknown, title: string): string {
  if (typeof value !== 'string')
    throw new TypeError(`${quote(title)}expected string, got type=${typeOf(value)}`);
  return value;
}

/** Byte-wise equality. Not constant time: every compared value here is public. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `u64be(n)` for a safe integer `n >= 0` (callers validate the range). */
export function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(n / 0x1_0000_0000));
  view.setUint32(4, n >>> 0);
  return out;
}

/** A fresh copy that does not alias the caller's buffer (Buffer slices share memory). */
export function copy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes);
}
