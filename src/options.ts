/**
 * What every layer's options parser shares: the one formatter of zod issues into the message of an
 * `INVALID_CONFIG` error (with a suggestion for every unknown key), and the one "host:port" splitter
 * of address options.
 *
 * A leaf like `errors.ts`, which re-exports it: it imports zod's types only. Every layer, the pure
 * `proto` included, reaches it through `../errors.js`, the one root module the layer rules of
 * ARCHITECTURE.md let all of them import.
 *
 * Unknown keys are refused everywhere (`z.strictObject` / `.strict()`): a misspelt `secret` must fail,
 * not join the topic in the clear. The suggestion for an unknown key is, first that applies:
 * 1. an alias registered on the object's schema with {@link withAliases} (a name another library uses
 *    for an option we have under another name: Hyperswarm's `bootstrap`, `seed`, `maxPeers`);
 * 2. the object's own key closest by edit distance (`secrett` → `secret`);
 * 3. a key of that name further down (`listen` at the top of `joinTopic` → `gossip.listen`).
 */
import type { z } from 'zod';

/** An option another library spells differently: where it lives here, and a note for the message. */
export interface OptionAlias {
  /** Path of our option, relative to the object the alias is registered on (`dht.bootstrap`). */
  use: string;
  /** Shown after the suggestion (no semicolons: they separate the problems of a message). */
  note?: string;
}

/** Unknown key → the option meant. */
export type OptionAliases = Readonly<Record<string, OptionAlias>>;

const aliasesOf = new WeakMap<object, OptionAliases>();

/**
 * Registers `aliases` on an object schema (the instance passed, so call it on the final schema, after
 * `.refine`) and returns the schema.
 */
export function withAliases<S extends z.ZodType>(schema: S, aliases: OptionAliases): S {
  aliasesOf.set(schema, aliases);
  return schema;
}

/**
 * `"host:port"` → `{ host, port }` and `"[v6]:port"` → `{ host: v6, port }`, for `z.preprocess` in
 * front of an address schema; anything that is not a string passes unchanged, so `{ host, port }`
 * objects reach the schema as given. A string the schema can only refuse (an IPv6 host without
 * brackets, text after `]`) becomes `{ host }` (the port is then missing), or, with a colon in an
 * unbracketed host, stays a string, which the address schema refuses as a whole. The port is a
 * number when it is all digits, else the text, which the schema then names.
 */
export function splitHostPort(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(value);
  let host: string;
  let port: string | undefined;
  if (bracketed !== null) {
    host = bracketed[1]!;
    port = bracketed[2];
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) return { host: value };
    host = value.slice(0, colon);
    port = value.slice(colon + 1);
    if (host.includes(':')) return value;
  }
  if (port === undefined) return { host };
  return { host, port: /^\d{1,5}$/.test(port) ? Number(port) : port };
}

/** What a string address option that cannot be split says (see {@link splitHostPort}). */
export const HOST_PORT_MESSAGE = 'expected "host:port", "[ipv6]:port" or { host, port }';

// --- Issues ------------------------------------------------------------------------------------------

/** The fields of a zod issue the formatter reads (structural, so any zod 4 issue fits). */
export interface IssueLike {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
  readonly errors?: readonly (readonly IssueLike[])[];
  readonly expected?: unknown;
  readonly input?: unknown;
}

/**
 * `path: problem; path: problem` for the message of an `INVALID_CONFIG` error: paths as
 * `a.b[0].c`, the object itself as `(options)`, one entry per unknown key with its suggestion:
 * `secrett: unknown option (did you mean secret?)`.
 * `schema` (the one that was parsed) lets unknown keys get a suggestion; without it they are named only.
 */
export function describeIssues(issues: readonly IssueLike[], schema?: unknown): string {
  const out: string[] = [];
  for (const issue of issues) describeIssue(issue, [], schema, out);
  return out.join('; ');
}

function describeIssue(issue: IssueLike, base: readonly PropertyKey[], schema: unknown, out: string[]): void {
  const path = [...base, ...issue.path];
  if (issue.code === 'unrecognized_keys' && issue.keys !== undefined) {
    for (const key of issue.keys) {
      const hint = suggest(schema, path, key);
      out.push(`${formatPath([...path, key])}: unknown option${hint === undefined ? '' : ` (${hint})`}`);
    }
    return;
  }
  if (issue.code === 'invalid_union' && issue.errors !== undefined) {
    // One branch per accepted shape (`Dht | DhtOptions`): a branch that failed only at its root (the
    // value is not that type at all) was not what the caller meant; if one branch is left, its
    // problems are the caller's. Otherwise the union's own message says what it takes.
    const meant = issue.errors.filter((branch) => !branch.every((i) => i.path.length === 0));
    if (meant.length === 1) {
      for (const inner of meant[0]!) describeIssue(inner, path, schema, out);
      return;
    }
  }
  out.push(`${formatPath(path)}: ${issue.message}`);
}

/** `a.b[0].c`; `(options)` for the object itself. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(options)';
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

// --- Suggestions -------------------------------------------------------------------------------------

/** Keys listed in the message when nothing is close, up to this many (guess: one line's worth). */
const MAX_LISTED_KEYS = 12;
/** How deep a key of the same name is looked for below the object (guess: our deepest option is 3). */
const MAX_SEARCH_DEPTH = 4;

/** A hint for unknown `key` of the object at `path` in `schema`, or `undefined`. */
function suggest(schema: unknown, path: readonly PropertyKey[], key: string): string | undefined {
  const objects = objectsAt(schema, path);
  if (objects.length === 0) return undefined;
  const prefix = (p: string) => formatPath([...path, ...p.split('.')]);
  for (const o of objects) {
    const alias = aliasesOf.get(o.schema)?.[key];
    if (alias !== undefined) {
      return `did you mean ${prefix(alias.use)}?${alias.note === undefined ? '' : ` ${alias.note}`}`;
    }
  }
  const keys = [...new Set(objects.flatMap((o) => Object.keys(o.shape)))];
  const near = closest(key, keys);
  if (near !== undefined) return `did you mean ${prefix(near)}?`;
  const deeper = [...new Set(objects.flatMap((o) => findKey(o.shape, key, [], 1)))];
  if (deeper.length > 0 && deeper.length <= 3) return `did you mean ${deeper.map(prefix).join(' or ')}?`;
  return keys.length <= MAX_LISTED_KEYS ? `expected one of: ${keys.join(', ')}` : undefined;
}

/**
 * The key of `keys` closest to `key` by edit distance (optimal string alignment, ignoring case), if it
 * is close enough to be a typo: at most 1 edit for keys up to 7 characters, 1 per 4 characters beyond.
 * Ties go to the first in `keys`.
 */
export function closest(key: string, keys: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of keys) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    const allowed = Math.max(1, Math.floor(Math.max(key.length, k.length) / 4));
    if (d <= allowed && d < bestDistance && d < k.length) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

// --- Walking a zod schema ----------------------------------------------------------------------------
// zod 4 keeps a schema's definition in `schema._zod.def` (`type`, and `shape`, `innerType`, `in`/`out`,
// `options`, `element` by type). Read structurally: this module imports no zod code.

interface Def {
  type?: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  out?: unknown;
  options?: readonly unknown[];
  element?: unknown;
  getter?: () => unknown;
}

interface ObjectNode {
  schema: object;
  shape: Record<string, unknown>;
}

function defOf(schema: unknown): Def | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const def = (schema as { _zod?: { def?: unknown } })._zod?.def;
  return typeof def === 'object' && def !== null ? (def as Def) : undefined;
}

/** The schemas `schema` may stand for once wrappers (default, optional, pipe, …) are taken off. */
function variants(schema: unknown, depth = 0): unknown[] {
  const def = defOf(schema);
  if (def === undefined || depth > 16) return [];
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return variants(def.innerType, depth + 1);
    case 'pipe':
      // z.preprocess(fn, schema): `out` is the schema; schema.transform(fn): `in` is.
      return [...variants(def.out, depth + 1), ...variants(def.in, depth + 1)];
    case 'lazy':
      return def.getter === undefined ? [] : variants(def.getter(), depth + 1);
    case 'union':
      return (def.options ?? []).flatMap((o) => variants(o, depth + 1));
    default:
      return [schema];
  }
}

/** Every object schema at `path` below `schema` (several where a union allows several). */
function objectsAt(schema: unknown, path: readonly PropertyKey[]): ObjectNode[] {
  let nodes = variants(schema);
  for (const segment of path) {
    const next: unknown[] = [];
    for (const node of nodes) {
      const def = defOf(node)!;
      if (def.type === 'object' && typeof segment === 'string' && def.shape !== undefined) {
        if (Object.hasOwn(def.shape, segment)) next.push(...variants(def.shape[segment]));
      } else if (def.type === 'array' && typeof segment === 'number') {
        next.push(...variants(def.element));
      }
    }
    nodes = next;
  }
  return nodes.flatMap((node) => {
    const def = defOf(node)!;
    return def.type === 'object' && def.shape !== undefined
      ? [{ schema: node as object, shape: def.shape }]
      : [];
  });
}

/** Dotted paths below `shape` whose last key is `key` (ignoring case), to {@link MAX_SEARCH_DEPTH}. */
function findKey(
  shape: Record<string, unknown>,
  key: string,
  at: readonly string[],
  depth: number,
): string[] {
  if (depth > MAX_SEARCH_DEPTH) return [];
  const found: string[] = [];
  for (const [name, child] of Object.entries(shape)) {
    for (const node of variants(child)) {
      const def = defOf(node)!;
      if (def.type !== 'object' || def.shape === undefined) continue;
      for (const inner of Object.keys(def.shape)) {
        if (inner.toLowerCase() === key.toLowerCase()) found.push([...at, name, inner].join('.'));
      }
      found.push(...findKey(def.shape, key, [...at, name], depth + 1));
    }
  }
  return found;
}
