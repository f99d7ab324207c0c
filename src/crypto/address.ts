/**
 * Transport addresses and their TLV encoding (PROTOCOL.md §4.3).
 *
 * A host is an IPv4 dotted quad, an IPv6 address (RFC 4291 text) or a DNS name of at most
 * `MAX_HOST_LEN` bytes. On the wire an address is `type u8 | len u8 | body`, the body being the address
 * bytes (or the name's ASCII bytes) followed by the port as u16be. Readers skip TLVs of unknown type
 * whose length fits the largest body, so later versions can add kinds of address.
 *
 * The parsers are our own (no `node:net`) so that this module stays free of I/O imports.
 */
import { aint, aobject, astring } from './utils.js';

/** A transport address. `host` never has brackets or a zone id. */
export interface Address {
  host: string;
  port: number;
}

/** Kind of a host, by its text. */
export type AddressKind = 'ip4' | 'ip6' | 'dns';

/** TLV type of an IPv4 address. */
export const ADDRESS_TYPE_IP4 = 1;
/** TLV type of an IPv6 address. */
export const ADDRESS_TYPE_IP6 = 2;
/** TLV type of a DNS name. */
export const ADDRESS_TYPE_DNS = 3;
/**
 * Longest DNS name, in bytes. Chosen so that a record with every list full of such names still seals
 * into a BEP 44 value (PROTOCOL.md §5.3).
 */
export const MAX_HOST_LEN = 36;
/** Largest TLV body of any type, known or not: a longest name plus a port. */
export const MAX_ADDRESS_BODY_BYTES = MAX_HOST_LEN + 2;
/** Largest encoded address: type, length and the largest body. */
export const MAX_ADDRESS_TLV_BYTES = 2 + MAX_ADDRESS_BODY_BYTES;

const IP4_BODY_BYTES = 6;
const IP6_BODY_BYTES = 18;
const MAX_PORT = 0xffff;

// ---------------------------------------------------------------------------------------------------
// Host parsers

/** Decimal 0..255 without leading zeros (except "0"). */
function parseOctet(part: string): number | undefined {
  if (part.length === 0 || part.length > 3) return undefined;
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  if (part.length > 1 && part[0] === '0') return undefined;
  const n = Number(part);
  return n <= 255 ? n : undefined;
}

/** The 4 bytes of a strict dotted quad, or undefined. @internal (the address policy reads them) */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const n = parseOctet(parts[i]!);
    if (n === undefined) return undefined;
    out[i] = n;
  }
  return out;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * The 16 bytes of an RFC 4291 §2.2 text address, or undefined: eight groups of 1-4 hex digits, at most
 * one `::` standing for one or more zero groups, and optionally a dotted quad as the last two groups.
 * No zone id, no brackets. @internal (the address policy reads them)
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  // Longest form: six 4-digit groups and a 15-character dotted quad.
  if (text.length < 2 || text.length > 45) return undefined;
  const gap = text.indexOf('::');
  if (gap !== -1 && text.indexOf('::', gap + 1) !== -1) return undefined;
  const headText = gap === -1 ? text : text.slice(0, gap);
  const tailText = gap === -1 ? '' : text.slice(gap + 2);
  const head = headText === '' ? [] : headText.split(':');
  const tail = tailText === '' ? [] : tailText.split(':');
  // The part that ends the text, the only one that may be a dotted quad.
  const final = gap === -1 ? head : tail;
  const groups: number[][] = [[], []];
  const sides = [head, tail];
  for (let s = 0; s < 2; s++) {
    const parts = sides[s]!;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (parts === final && i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIPv4(part);
        if (v4 === undefined) return undefined;
        groups[s]!.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (HEX_GROUP.test(part)) {
        groups[s]!.push(Number.parseInt(part, 16));
      } else {
        return undefined;
      }
    }
  }
  const [left, right] = groups as [number[], number[]];
  const count = left.length + right.length;
  if (gap === -1 ? count !== 8 : count > 7) return undefined;
  const words = [...left, ...new Array<number>(8 - count).fill(0), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/** `0x`/`0X` followed by hex digits only (possibly none), or decimal digits only. */
const NUMERIC_LABEL = /^(?:[0-9]+|0[xX][0-9a-fA-F]*)$/;
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * True for a DNS name we accept: 1..MAX_HOST_LEN ASCII bytes, dot-separated labels of 1-63 letters,
 * digits and hyphens that neither start nor end with a hyphen, no trailing dot. The last label must not
 * look like a number (all digits, or `0x` and hex digits): resolvers read such names as IPv4 addresses
 * (`127.1`, `0x7f000001`), which would dodge the checks applied to type-1 addresses. Same rule as the
 * WHATWG URL host parser's "ends in a number".
 */
function isDnsName(text: string): boolean {
  if (text.length === 0 || text.length > MAX_HOST_LEN) return false;
  const labels = text.split('.');
  for (const label of labels) if (!DNS_LABEL.test(label)) return false;
  return !NUMERIC_LABEL.test(labels[labels.length - 1]!);
}

/** RFC 5952 text of 16 address bytes. */
function formatIPv6(b: Uint8Array): string {
  // §5: IPv4-mapped addresses (::ffff:0:0/96) keep their dotted tail.
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b[i] !== 0) mapped = false;
  if (mapped) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  // §4.2.1-4.2.3: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // §4.1, §4.3: no leading zeros, lower case.
  const hex = words.map((w) => w.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Kind of `host`, or undefined when it is none of them. */
function kindOf(host: string): AddressKind | undefined {
  if (parseIPv4(host) !== undefined) return 'ip4';
  if (host.includes(':')) return parseIPv6(host) !== undefined ? 'ip6' : undefined;
  return isDnsName(host) ? 'dns' : undefined;
}

/** `"title" expected …, got "host"`, with long hosts cut short. */
function badHost(host: string, title: string): RangeError {
  const shown = host.length > 64 ? `${host.slice(0, 64)}…` : host;
  return new RangeError(
    `"${title}" expected IPv4, IPv6 or DNS name of at most ${MAX_HOST_LEN} bytes, got ${JSON.stringify(shown)}`,
  );
}

/**
 * Kind of a host by its text: `ip4` for a dotted quad (no leading zeros), `ip6` for RFC 4291 text,
 * otherwise `dns` when it is a valid DNS name of at most `MAX_HOST_LEN` bytes.
 * @throws {TypeError} when `host` is not a string.
 * @throws {RangeError} when `host` is none of the three.
 */
export function addressKind(host: string): AddressKind {
  astring(host, 'host');
  const kind = kindOf(host);
  if (kind === undefined) throw badHost(host, 'host');
  return kind;
}

/** The canonical host text and the kind; `title` prefixes error messages. */
function canonical(address: unknown, title: string): { kind: AddressKind; host: string; port: number } {
  const a = aobject(address, title);
  const host = astring(a.host, `${title}.host`);
  const port = aint(a.port, 1, MAX_PORT, `${title}.port`);
  const kind = kindOf(host);
  switch (kind) {
    case 'ip4':
      return { kind, host, port };
    case 'ip6':
      return { kind, host: formatIPv6(parseIPv6(host)!), port };
    case 'dns':
      return { kind, host: host.toLowerCase(), port };
    default:
      throw badHost(host, `${title}.host`);
  }
}

/**
 * A validated copy of `address` with its host in canonical form: IPv6 as RFC 5952 text, DNS names in
 * lower case, IPv4 unchanged.
 * @throws {TypeError} when `address` is not an object, `host` not a string or `port` not a number.
 * @throws {RangeError} when the host is invalid or the port is not an integer in [1, 65535].
 */
export function normalizeAddress(address: Address): Address {
  return normalizeAddressAs(address, 'address');
}

/**
 * {@link normalizeAddress} with `title` prefixing error messages (`"peers[0].addresses[1].port" …`).
 * @throws {TypeError} when `address` is not an object, `host` not a string or `port` not a number.
 * @throws {RangeError} when the host is invalid or the port is out of range.
 * @internal
 */
export function normalizeAddressAs(address: unknown, title: string): Address {
  const { host, port } = canonical(address, title);
  return { host, port };
}

/**
 * Parses `"host:port"` or `"[ipv6]:port"` into a normalized address.
 * @throws {TypeError} when `text` is not a string.
 * @throws {RangeError} when the text is not of that form, the host is invalid, an IPv6 host lacks
 *   brackets, or the port is not a decimal integer in [1, 65535].
 */
export function parseAddress(text: string): Address {
  astring(text, 'address');
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1 || text[close + 1] !== ':') {
      throw new RangeError(`"address" expected "[ipv6]:port", got ${JSON.stringify(text)}`);
    }
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (kindOf(host) !== 'ip6') {
      throw new RangeError(`"address" expected an IPv6 address inside brackets, got ${JSON.stringify(text)}`);
    }
  } else {
    const colon = text.lastIndexOf(':');
    if (colon === -1)
      throw new RangeError(`"address" expected "host:port" or "[ipv6]:port", got ${JSON.stringify(text)}`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) {
      throw new RangeError(
        `"address" expected brackets around an IPv6 host ("[ipv6]:port"), got ${JSON.stringify(text)}`,
      );
    }
  }
  if (!/^[0-9]{1,5}$/.test(portText)) {
    throw new RangeError(`"address" expected a decimal port after the last ":", got ${JSON.stringify(text)}`);
  }
  return normalizeAddress({ host, port: Number(portText) });
}

/**
 * `host:port`, or `[host]:port` for IPv6, with the host in canonical form.
 * @throws {TypeError} when `address` is not an object, `host` not a string or `port` not a number.
 * @throws {RangeError} when the host is invalid or the port is out of range.
 */
export function formatAddress(address: Address): string {
  const { kind, host, port } = canonical(address, 'address');
  return kind === 'ip6' ? `[${host}]:${port}` : `${host}:${port}`;
}

// ---------------------------------------------------------------------------------------------------
// TLV encoding

/**
 * {@link encodeAddress} with `title` prefixing error messages.
 * @throws {TypeError} when `address` is not an object, `host` not a string or `port` not a number.
 * @throws {RangeError} when the host is invalid or the port is out of range.
 * @internal
 */
export function encodeAddressAs(address: unknown, title: string): Uint8Array {
  const { kind, host, port } = canonical(address, title);
  let type: number;
  let addr: Uint8Array;
  switch (kind) {
    case 'ip4':
      type = ADDRESS_TYPE_IP4;
      addr = parseIPv4(host)!;
      break;
    case 'ip6':
      type = ADDRESS_TYPE_IP6;
      addr = parseIPv6(host)!;
      break;
    case 'dns':
      type = ADDRESS_TYPE_DNS;
      addr = Uint8Array.from(host, (c) => c.charCodeAt(0));
      break;
  }
  const out = new Uint8Array(2 + addr.length + 2);
  out[0] = type;
  out[1] = addr.length + 2;
  out.set(addr, 2);
  out[out.length - 2] = port >> 8;
  out[out.length - 1] = port & 0xff;
  return out;
}

/**
 * Encodes `address` as one TLV: `type u8 | len u8 | address bytes | port u16be`. The host is
 * normalized first (DNS names go out in lower case).
 * @throws {TypeError} when `address` is not an object, `host` not a string or `port` not a number.
 * @throws {RangeError} when the host is invalid or the port is out of range.
 */
export function encodeAddress(address: Address): Uint8Array {
  return encodeAddressAs(address, 'address');
}

/** One TLV read from `bytes` at `offset`: the address (undefined when skipped) and the next offset. @internal */
export type ReadAddress = { address: Address | undefined; next: number } | undefined;

/**
 * Reads one TLV at `offset`. Returns undefined when it is malformed: truncated, `len` above
 * `MAX_ADDRESS_BODY_BYTES`, a known type with the wrong length, an invalid name or port 0. An unknown
 * type is skipped (`address` undefined). Never throws.
 * @internal
 */
export function readAddress(bytes: Uint8Array, offset: number): ReadAddress {
  if (offset + 2 > bytes.length) return undefined;
  const type = bytes[offset]!;
  const len = bytes[offset + 1]!;
  const start = offset + 2;
  const next = start + len;
  if (len > MAX_ADDRESS_BODY_BYTES || next > bytes.length) return undefined;
  let host: string;
  switch (type) {
    case ADDRESS_TYPE_IP4:
      if (len !== IP4_BODY_BYTES) return undefined;
      host = `${bytes[start]}.${bytes[start + 1]}.${bytes[start + 2]}.${bytes[start + 3]}`;
      break;
    case ADDRESS_TYPE_IP6:
      if (len !== IP6_BODY_BYTES) return undefined;
      host = formatIPv6(bytes.subarray(start, start + 16));
      break;
    case ADDRESS_TYPE_DNS: {
      if (len < 3) return undefined;
      host = String.fromCharCode(...bytes.subarray(start, next - 2));
      if (!isDnsName(host)) return undefined;
      host = host.toLowerCase();
      break;
    }
    default:
      // Forward compatibility: a later version's kind of address.
      return { address: undefined, next };
  }
  const port = (bytes[next - 2]! << 8) | bytes[next - 1]!;
  if (port === 0) return undefined;
  return { address: { host, port }, next };
}

/** Result of {@link decodeAddress}: `address` is null for a TLV of unknown type (skipped). */
export type DecodedAddress = { ok: true; address: Address | null } | { ok: false };

/**
 * Decodes exactly one TLV (no trailing bytes). Never throws; returns `{ ok: false }` for anything
 * malformed and `{ ok: true, address: null }` for a well-formed TLV of unknown type.
 */
export function decodeAddress(bytes: Uint8Array): DecodedAddress {
  if (!(bytes instanceof Uint8Array)) return { ok: false };
  const read = readAddress(bytes, 0);
  if (read === undefined || read.next !== bytes.length) return { ok: false };
  return { ok: true, address: read.address ?? null };
}
