/**
 * The address policy (PROTOCOL.md §9.8): which kind of network a host is on, whether a node may store
 * or dial an address it learned from the network, and the network group (an IPv4 /24, an IPv6 /48)
 * that per-prefix limits count by.
 *
 * Classes follow the IANA IPv4 and IPv6 special-purpose address registries (RFC 6890 and its
 * updates), with two departures: the documentation ranges (RFC 5737, RFC 3849, RFC 9637) count as
 * public, because NAT labs use them as their "internet"; and the instance-metadata endpoints of the
 * large clouds have a class of their own, because a node tricked into dialing one leaks credentials
 * (server-side request forgery). An IPv4 address written inside IPv6 (IPv4-mapped `::ffff:0:0/96`,
 * the NAT64 prefix `64:ff9b::/96`, 6to4 `2002::/16`) is classified as the IPv4 address it reaches.
 * A DNS name is `dns` (checked again once resolved), except `localhost` and `*.localhost`, which
 * RFC 6761 §6.3 reserves for loopback.
 *
 * Pure: no I/O, no resolver. Host text is read with the parsers of `address.ts`, so the odd forms
 * they refuse (`127.1`, `0x7f000001`, `0127.0.0.1`, zone ids, brackets) are `invalid`, never a
 * loophole.
 */
import { type Address, addressKind, normalizeAddress, parseIPv4, parseIPv6 } from './address.js';

/** What kind of network a host is on. */
export type HostClass =
  /** Globally routable (and the documentation ranges). */
  | 'public'
  /** RFC 1918, CGNAT 100.64.0.0/10 (RFC 6598), IPv6 ULA fc00::/7 (RFC 4193), NAT64 local-use. */
  | 'private'
  /** 127.0.0.0/8, ::1, and the names `localhost` / `*.localhost`. */
  | 'loopback'
  /** 169.254.0.0/16, fe80::/10. */
  | 'link-local'
  /** 0.0.0.0/8, ::. */
  | 'unspecified'
  /** 224.0.0.0/4, ff00::/8. */
  | 'multicast'
  /** 255.255.255.255. */
  | 'broadcast'
  /** A cloud's instance-metadata endpoint ({@link METADATA_HOSTS}). */
  | 'metadata'
  /** Not for hosts: 240.0.0.0/4, benchmarking, deprecated and unallocated ranges. */
  | 'reserved'
  /** A DNS name (other than the loopback names): resolve, then check what it resolves to. */
  | 'dns'
  /** Not a host the address parsers accept. */
  | 'invalid';

/**
 * What a node allows besides public addresses and names. The I/O layer resolves its `'auto'`
 * settings into this (see the transport's `addressPolicy` option).
 */
export interface AddressPolicy {
  /** Allow loopback hosts (a testnet on one machine). */
  loopback: boolean;
  /** Allow private hosts (LAN peers). */
  private: boolean;
}

/** Why {@link checkAddress} refused an address. */
export type AddressRejectReason =
  | 'invalid'
  /** Port 0 or out of range. */
  | 'port'
  | 'unspecified'
  | 'broadcast'
  | 'multicast'
  | 'link-local'
  | 'metadata'
  | 'reserved'
  /** Loopback, and the policy does not allow it. */
  | 'loopback'
  /** Private, and the policy does not allow it. */
  | 'private';

/** Result of {@link checkAddress}. */
export type AddressVerdict = { ok: true } | { ok: false; reason: AddressRejectReason };

/**
 * Instance-metadata endpoints, in canonical text: AWS/GCP/Azure/OpenStack/DigitalOcean
 * (169.254.169.254), AWS ECS task metadata (169.254.170.2), AWS IMDS over IPv6 (fd00:ec2::254),
 * Alibaba Cloud (100.100.100.200), Oracle Cloud (192.0.0.192), Azure WireServer (168.63.129.16, a
 * public-range address, which is why this is a list and not a range).
 */
export const METADATA_HOSTS: readonly string[] = [
  '169.254.169.254',
  '169.254.170.2',
  'fd00:ec2::254',
  '100.100.100.200',
  '192.0.0.192',
  '168.63.129.16',
];
const METADATA = new Set(METADATA_HOSTS);

/** A host read into bytes: 4 for IPv4 (also an IPv4-mapped IPv6), 16 for other IPv6, or a name. */
type Parsed =
  | { kind: 'ip4'; bytes: Uint8Array }
  | { kind: 'ip6'; bytes: Uint8Array }
  | { kind: 'dns'; name: string };

function parseHost(host: unknown): Parsed | undefined {
  if (typeof host !== 'string') return undefined;
  const v4 = parseIPv4(host);
  if (v4 !== undefined) return { kind: 'ip4', bytes: v4 };
  if (host.includes(':')) {
    const v6 = parseIPv6(host);
    if (v6 === undefined) return undefined;
    if (isMapped(v6)) return { kind: 'ip4', bytes: v6.slice(12) };
    return { kind: 'ip6', bytes: v6 };
  }
  try {
    return addressKind(host) === 'dns' ? { kind: 'dns', name: host.toLowerCase() } : undefined;
  } catch {
    return undefined;
  }
}

/** ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
function isMapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

const v4Text = (b: Uint8Array): string => `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;

function classifyIPv4(b: Uint8Array): HostClass {
  const [a, c, d] = [b[0]!, b[1]!, b[2]!];
  if (METADATA.has(v4Text(b))) return 'metadata';
  if (a === 0) return 'unspecified'; // "this network", RFC 791; 0.0.0.0 reaches the local host on Linux
  if (a === 10) return 'private';
  if (a === 100 && (c & 0xc0) === 64) return 'private'; // CGNAT, RFC 6598
  if (a === 127) return 'loopback';
  if (a === 169 && c === 254) return 'link-local';
  if (a === 172 && (c & 0xf0) === 16) return 'private';
  if (a === 192 && c === 168) return 'private';
  if (a === 192 && c === 0 && d === 0) return 'reserved'; // IETF protocol assignments, RFC 6890
  if (a === 192 && c === 88 && d === 99) return 'reserved'; // 6to4 relay anycast, deprecated (RFC 7526)
  if (a === 198 && (c & 0xfe) === 18) return 'reserved'; // benchmarking, RFC 2544 (also "fake-ip" proxies)
  if (a >= 224 && a <= 239) return 'multicast';
  if (a === 255 && c === 255 && d === 255 && b[3] === 255) return 'broadcast';
  if (a >= 240) return 'reserved'; // RFC 1112 §4
  return 'public'; // including the documentation ranges 192.0.2/24, 198.51.100/24, 203.0.113/24
}

function classifyIPv6(b: Uint8Array): HostClass {
  const w = (i: number): number => (b[2 * i]! << 8) | b[2 * i + 1]!;
  let zeroPrefix = 0; // leading zero bytes
  while (zeroPrefix < 16 && b[zeroPrefix] === 0) zeroPrefix++;
  if (zeroPrefix === 16) return 'unspecified';
  if (zeroPrefix === 15 && b[15] === 1) return 'loopback';
  if (zeroPrefix >= 12) return 'reserved'; // IPv4-compatible ::/96, deprecated (RFC 4291 §2.5.5.1)
  // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): reaches the IPv4 address in its last 32 bits.
  if (w(0) === 0x64 && w(1) === 0xff9b && w(2) === 0 && w(3) === 0 && w(4) === 0 && w(5) === 0)
    return classifyIPv4(b.subarray(12));
  if (w(0) === 0x64 && w(1) === 0xff9b && w(2) === 1) return 'private'; // local-use NAT64, RFC 8215
  if (w(0) === 0x2002) return classifyIPv4(b.subarray(2, 6)); // 6to4, RFC 3056
  if ((b[0]! & 0xfe) === 0xfc) {
    // fd00:ec2::254 is in the ULA range: check the list first.
    return METADATA.has(normalizeAddress({ host: v6Text(b), port: 1 }).host) ? 'metadata' : 'private';
  }
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'reserved'; // site-local, deprecated (RFC 3879)
  if (b[0] === 0xff) return 'multicast';
  if (w(0) === 0x100 && w(1) === 0 && w(2) === 0 && w(3) === 0) return 'reserved'; // discard-only, RFC 6666
  if (w(0) === 0x2001 && w(1) === 0xdb8) return 'public'; // documentation, RFC 3849
  if (w(0) === 0x2001 && w(1) === 2 && w(2) === 0) return 'reserved'; // benchmarking, RFC 5180
  // ORCHID 2001:10::/28 (deprecated, RFC 4843) and ORCHIDv2 2001:20::/28 (RFC 7343): not routable.
  if (w(0) === 0x2001 && ((w(1) & 0xfff0) === 0x10 || (w(1) & 0xfff0) === 0x20)) return 'reserved';
  if ((b[0]! & 0xe0) !== 0x20) return 'reserved'; // outside global unicast 2000::/3: unallocated
  return 'public';
}

function v6Text(b: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  return words.join(':');
}

function classifyName(name: string): HostClass {
  return name === 'localhost' || name.endsWith('.localhost') ? 'loopback' : 'dns';
}

/**
 * The class of `host` (IPv4, IPv6 or DNS text; brackets and zone ids are `invalid`). Never throws.
 */
export function classifyHost(host: string): HostClass {
  const p = parseHost(host);
  if (p === undefined) return 'invalid';
  switch (p.kind) {
    case 'ip4':
      return classifyIPv4(p.bytes);
    case 'ip6':
      return classifyIPv6(p.bytes);
    case 'dns':
      return classifyName(p.name);
  }
}

/**
 * The canonical text of `host`, for comparing hosts: IPv4 unchanged, an IPv4-mapped IPv6 as its
 * IPv4 address (what a dual-stack socket reports for an IPv4 peer), other IPv6 as RFC 5952 text, a
 * name in lower case; undefined when `host` is not a valid host. Never throws.
 */
export function canonicalHost(host: string): string | undefined {
  const p = parseHost(host);
  if (p === undefined) return undefined;
  switch (p.kind) {
    case 'ip4':
      return v4Text(p.bytes);
    case 'ip6':
      return normalizeAddress({ host: v6Text(p.bytes), port: 1 }).host;
    case 'dns':
      return p.name;
  }
}

/** A policy setting: allow, refuse, or decide from the node's own addresses. */
export type PolicySetting = boolean | 'auto';

/**
 * The policy of a node whose own hosts (listen host, advertised hosts) are `hosts`, its `'auto'`
 * settings resolved: loopback when one of them is loopback (a testnet on one machine), private when
 * one is private (a LAN). Never throws: invalid hosts count for nothing.
 */
export function resolvePolicy(
  hosts: readonly string[],
  settings: { loopback: PolicySetting; private: PolicySetting } = { loopback: 'auto', private: 'auto' },
): AddressPolicy {
  const classes = new Set(hosts.map((h) => classifyHost(h)));
  return {
    loopback: settings.loopback === 'auto' ? classes.has('loopback') : settings.loopback,
    private: settings.private === 'auto' ? classes.has('private') : settings.private,
  };
}

/**
 * Whether `address` may be stored or dialed under `policy`: never an unspecified, broadcast,
 * multicast, link-local, metadata, reserved or invalid host, nor port 0; a loopback host only when
 * `policy.loopback`, a private one only when `policy.private`. Public addresses and DNS names pass (a
 * name is checked again, address by address, once resolved). Never throws.
 */
export function checkAddress(address: Address, policy: AddressPolicy): AddressVerdict {
  const a = address as unknown as { host?: unknown; port?: unknown } | null;
  if (typeof a !== 'object' || a === null) return { ok: false, reason: 'invalid' };
  if (typeof a.port !== 'number' || !Number.isInteger(a.port) || a.port < 1 || a.port > 0xffff)
    return { ok: false, reason: 'port' };
  const cls = classifyHost(a.host as string);
  switch (cls) {
    case 'public':
    case 'dns':
      return { ok: true };
    case 'loopback':
      return policy.loopback ? { ok: true } : { ok: false, reason: 'loopback' };
    case 'private':
      return policy.private ? { ok: true } : { ok: false, reason: 'private' };
    default:
      return { ok: false, reason: cls };
  }
}

/**
 * The network group per-prefix limits count `host` in: `"4:a.b.c"` (its /24) for IPv4 and IPv4-mapped
 * IPv6, `"6:xxxx:xxxx:xxxx"` (its /48) for IPv6, the whole address (`"4:127.0.0.66"`, `"6:::1"`) for a
 * loopback host, since each 127.x.y.z is a separate host of a lab, and `"n:name"` for a DNS name.
 * Undefined (exempt from per-IP and per-prefix limits) for a host equal to one of `ownHosts`, this
 * node's own addresses: on a one-machine testnet every peer is 127.0.0.1 and none is limited, while a
 * peer bound to 127.0.0.66 still is. Every invalid host is in one group, `"?"`. Never throws.
 */
export function netGroup(host: string, ownHosts: readonly string[]): string | undefined {
  const c = canonicalHost(host);
  // Not a host: one group for all of them (its text may not even be convertible to a string).
  if (c === undefined) return '?';
  for (const own of ownHosts) if (canonicalHost(own) === c) return undefined;
  const p = parseHost(c)!;
  switch (p.kind) {
    case 'ip4': {
      const b = p.bytes;
      return classifyIPv4(b) === 'loopback' ? `4:${c}` : `4:${b[0]}.${b[1]}.${b[2]}`;
    }
    case 'ip6': {
      if (classifyIPv6(p.bytes) === 'loopback') return `6:${c}`;
      const w = (i: number): string => ((p.bytes[2 * i]! << 8) | p.bytes[2 * i + 1]!).toString(16);
      return `6:${w(0)}:${w(1)}:${w(2)}`;
    }
    case 'dns':
      return `n:${c}`;
  }
}

/** What {@link dialOrder} decided about a peer's addresses. */
export interface DialOrder {
  /** The addresses to try, in order. */
  dial: Address[];
  /** Private and link-local addresses left out: the peer is not on our LAN (PROTOCOL.md §9.8). */
  skippedPrivate: number;
}

/**
 * The order in which to dial a peer's advertised addresses (PROTOCOL.md §9.8): public ones (and host
 * names) first, then the rest, each group in the peer's order. When we know our external host
 * (`external`, as the DHT or our neighbours see us), a private or link-local address of the peer is
 * left out unless the two of us appear to share a LAN: the peer also advertises that same host as a
 * public address (both behind one NAT), or the address is in the network group (IPv4 /24, IPv6 /48)
 * of one of our own private hosts (`ownHosts`). A private address elsewhere is someone else's LAN,
 * where a dial costs a handshake timeout or reaches a stranger. With no external host known (a LAN or
 * a machine without a NAT) nothing is left out. Pure; the address policy still applies to each.
 */
export function dialOrder(
  addresses: readonly Address[],
  external: string | undefined,
  ownHosts: readonly string[] = [],
): DialOrder {
  const ext = external === undefined ? undefined : canonicalHost(external);
  const dial: Address[] = [];
  const rest: { a: Address; lan: boolean }[] = [];
  let local = false;
  for (const a of addresses) {
    const cls = classifyHost(a.host);
    if (cls === 'public' || cls === 'dns') {
      dial.push(a);
      if (ext !== undefined && canonicalHost(a.host) === ext) local = true;
    } else rest.push({ a, lan: cls === 'private' || cls === 'link-local' });
  }
  const filter = ext !== undefined && !local;
  const ours = filter
    ? new Set(ownHosts.filter((h) => classifyHost(h) === 'private').map((h) => netGroup(h, [])))
    : undefined;
  let skippedPrivate = 0;
  for (const { a, lan } of rest) {
    if (lan && ours !== undefined && !ours.has(netGroup(a.host, []))) skippedPrivate++;
    else dial.push(a);
  }
  return { dial, skippedPrivate };
}
