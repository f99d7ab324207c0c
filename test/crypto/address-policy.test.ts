/**
 * The address policy (PROTOCOL.md §9.8): a vector for every class, IPv4 written inside IPv6, the odd
 * text forms resolvers read as addresses, the verdict under each policy and the network groups.
 */
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AddressPolicy,
  canonicalHost,
  checkAddress,
  classifyHost,
  dialOrder,
  type HostClass,
  METADATA_HOSTS,
  netGroup,
  resolvePolicy,
} from '../../src/crypto/address-policy.js';

/** host → class; sources: the IANA IPv4/IPv6 special-purpose registries and the RFC in the comment. */
const VECTORS: [string, HostClass][] = [
  // public, documentation ranges included (RFC 5737, 3849, 9637)
  ['1.1.1.1', 'public'],
  ['8.8.8.8', 'public'],
  ['192.0.2.1', 'public'],
  ['198.51.100.7', 'public'],
  ['203.0.113.254', 'public'],
  ['100.63.255.255', 'public'], // just below CGNAT
  ['100.128.0.0', 'public'], // just above CGNAT
  ['172.15.255.255', 'public'],
  ['172.32.0.0', 'public'],
  ['169.253.255.255', 'public'],
  ['223.255.255.255', 'public'],
  ['2606:4700:4700::1111', 'public'],
  ['2001:db8::1', 'public'],
  ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'public'],
  ['3fff::1', 'public'],
  ['2001::1', 'public'], // Teredo: globally routable
  ['2002:0808:0808::1', 'public'], // 6to4 of a public IPv4
  ['64:ff9b::808:808', 'public'], // NAT64 of 8.8.8.8
  // private: RFC 1918, CGNAT (RFC 6598), ULA (RFC 4193), local-use NAT64 (RFC 8215)
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'private'],
  ['100.127.255.255', 'private'],
  ['fc00::1', 'private'],
  ['fd12:3456:789a::1', 'private'],
  ['64:ff9b:1::a00:1', 'private'],
  ['2002:c0a8:0101::1', 'private'], // 6to4 of 192.168.1.1
  // loopback
  ['127.0.0.1', 'loopback'],
  ['127.0.0.66', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['localhost', 'loopback'],
  ['LocalHost', 'loopback'],
  ['foo.localhost', 'loopback'],
  ['a.b.LOCALHOST', 'loopback'],
  ['2002:7f00:0001::', 'loopback'], // 6to4 of 127.0.0.1
  // link-local
  ['169.254.0.1', 'link-local'],
  ['169.254.255.255', 'link-local'],
  ['fe80::1', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  // unspecified
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['0:0:0:0:0:0:0:0', 'unspecified'],
  // multicast
  ['224.0.0.1', 'multicast'],
  ['239.255.255.255', 'multicast'],
  ['ff02::1', 'multicast'],
  ['ff05::1:3', 'multicast'],
  // broadcast
  ['255.255.255.255', 'broadcast'],
  // metadata
  ['169.254.169.254', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['fd00:ec2::254', 'metadata'],
  ['fd00:0ec2:0000:0000:0000:0000:0000:0254', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['192.0.0.192', 'metadata'],
  ['168.63.129.16', 'metadata'],
  ['64:ff9b::a9fe:a9fe', 'metadata'], // NAT64 of 169.254.169.254
  ['2002:a9fe:a9fe::', 'metadata'], // 6to4 of 169.254.169.254
  // reserved
  ['240.0.0.1', 'reserved'],
  ['254.255.255.255', 'reserved'],
  ['255.255.255.254', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['192.88.99.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['198.19.255.255', 'reserved'],
  ['::7f00:1', 'reserved'], // IPv4-compatible, deprecated
  ['::2', 'reserved'],
  ['100::1', 'reserved'],
  ['2001:2::1', 'reserved'],
  ['2001:10::1', 'reserved'],
  ['2001:20::1', 'reserved'],
  ['fec0::1', 'reserved'],
  ['4000::1', 'reserved'], // outside 2000::/3
  ['1::1', 'reserved'],
  // dns
  ['example.org', 'dns'],
  ['localhost.example.org', 'dns'],
  ['metadata.google.internal', 'dns'], // resolved at dial time, then refused as metadata
  ['a', 'dns'],
  // invalid: forms a resolver would read as addresses, and other junk
  ['127.1', 'invalid'],
  ['0x7f000001', 'invalid'],
  ['2130706433', 'invalid'],
  ['0127.0.0.1', 'invalid'],
  ['127.0.0.01', 'invalid'],
  ['127.0.0.1.', 'invalid'],
  ['localhost.', 'invalid'],
  ['[::1]', 'invalid'],
  ['::1%lo', 'invalid'],
  ['fe80::1%eth0', 'invalid'],
  ['', 'invalid'],
  ['::1::', 'invalid'],
  ['1.2.3.4:80', 'invalid'],
  [' 127.0.0.1', 'invalid'],
];

describe('classifyHost', () => {
  it.each(VECTORS)('%s is %s', (host, cls) => {
    expect(classifyHost(host)).toBe(cls);
  });

  it('classifies an IPv4-mapped IPv6 address as its IPv4 address, in every text form', () => {
    for (const [v4, cls] of VECTORS.filter(([h]) => isIPv4(h))) {
      const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
      const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
      for (const form of [`::ffff:${v4}`, `::FFFF:${v4}`, `::ffff:${hex}`, `0:0:0:0:0:ffff:${hex}`]) {
        expect(classifyHost(form), form).toBe(cls);
      }
    }
  });

  it('every metadata host is metadata', () => {
    for (const h of METADATA_HOSTS) expect(classifyHost(h)).toBe('metadata');
  });

  it('never throws, whatever the input', () => {
    // A counterexample fast-check found: an object whose conversion to a string throws.
    expect(netGroup({ toString: 0 } as unknown as string, [])).toBe('?');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (x) => {
        expect(typeof classifyHost(x as string)).toBe('string');
        expect(() => netGroup(x as string, [])).not.toThrow();
        expect(checkAddress({ host: x as string, port: 1 }, { loopback: true, private: true })).toBeDefined();
      }),
    );
  });

  it('every IP text node:net accepts classifies as an IP class (not dns, not invalid)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        if (!isIPv4(ip) && !isIPv6(ip)) return;
        expect(['dns', 'invalid']).not.toContain(classifyHost(ip));
      }),
    );
  });
});

describe('canonicalHost', () => {
  it('gives one text per host', () => {
    expect(canonicalHost('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalHost('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(canonicalHost('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalHost('FD00:EC2:0::254')).toBe('fd00:ec2::254');
    expect(canonicalHost('Example.ORG')).toBe('example.org');
    expect(canonicalHost('127.1')).toBeUndefined();
  });
});

describe('checkAddress', () => {
  const none: AddressPolicy = { loopback: false, private: false };
  const lab: AddressPolicy = { loopback: true, private: false };
  const lan: AddressPolicy = { loopback: false, private: true };
  const all: AddressPolicy = { loopback: true, private: true };

  it('never allows unspecified, broadcast, multicast, link-local, metadata, reserved or invalid hosts', () => {
    for (const [host, cls] of VECTORS) {
      if (
        !['unspecified', 'broadcast', 'multicast', 'link-local', 'metadata', 'reserved', 'invalid'].includes(
          cls,
        )
      )
        continue;
      expect(checkAddress({ host, port: 80 }, all), host).toEqual({ ok: false, reason: cls });
    }
  });

  it('allows loopback only with policy.loopback, private only with policy.private', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.2']) {
      expect(checkAddress({ host, port: 80 }, none)).toEqual({ ok: false, reason: 'loopback' });
      expect(checkAddress({ host, port: 80 }, lan)).toEqual({ ok: false, reason: 'loopback' });
      expect(checkAddress({ host, port: 80 }, lab)).toEqual({ ok: true });
    }
    for (const host of ['10.1.2.3', '192.168.0.1', '100.64.1.1', 'fd00::1']) {
      expect(checkAddress({ host, port: 80 }, lab)).toEqual({ ok: false, reason: 'private' });
      expect(checkAddress({ host, port: 80 }, lan)).toEqual({ ok: true });
    }
  });

  it('allows public hosts and names under any policy, never port 0', () => {
    for (const p of [none, lab, lan, all]) {
      expect(checkAddress({ host: '203.0.113.5', port: 1 }, p)).toEqual({ ok: true });
      expect(checkAddress({ host: '2001:db8::5', port: 65535 }, p)).toEqual({ ok: true });
      expect(checkAddress({ host: 'example.org', port: 443 }, p)).toEqual({ ok: true });
      for (const port of [0, -1, 65536, 1.5, Number.NaN])
        expect(checkAddress({ host: '203.0.113.5', port }, p)).toEqual({ ok: false, reason: 'port' });
    }
    expect(checkAddress(null as never, all)).toEqual({ ok: false, reason: 'invalid' });
    expect(checkAddress({ host: 5, port: 1 } as never, all)).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('netGroup', () => {
  it('IPv4 /24, IPv6 /48, a mapped address as IPv4', () => {
    expect(netGroup('203.0.113.5', [])).toBe('4:203.0.113');
    expect(netGroup('203.0.113.200', [])).toBe('4:203.0.113');
    expect(netGroup('::ffff:203.0.113.9', [])).toBe('4:203.0.113');
    expect(netGroup('10.0.0.1', [])).toBe('4:10.0.0');
    expect(netGroup('2001:db8:1234:5678::1', [])).toBe('6:2001:db8:1234');
    expect(netGroup('2001:0db8:1234:ffff:1::', [])).toBe('6:2001:db8:1234');
    expect(netGroup('2001:db8::1', [])).toBe('6:2001:db8:0');
    expect(netGroup('Example.org', [])).toBe('n:example.org');
  });

  it('each loopback host is a group of its own', () => {
    expect(netGroup('127.0.0.66', [])).toBe('4:127.0.0.66');
    expect(netGroup('127.0.0.67', [])).toBe('4:127.0.0.67');
    expect(netGroup('::ffff:127.0.0.66', [])).toBe('4:127.0.0.66');
    expect(netGroup('::1', [])).toBe('6:::1');
  });

  it('a host equal to one of our own is exempt (undefined), in any text form', () => {
    const own = ['127.0.0.1', '2001:db8::1'];
    expect(netGroup('127.0.0.1', own)).toBeUndefined();
    expect(netGroup('::ffff:127.0.0.1', own)).toBeUndefined();
    expect(netGroup('2001:DB8:0::1', own)).toBeUndefined();
    expect(netGroup('127.0.0.66', own)).toBe('4:127.0.0.66');
    expect(netGroup('2001:db8::2', own)).toBe('6:2001:db8:0');
  });
});

describe('resolvePolicy', () => {
  it("resolves 'auto' from the node's own hosts and keeps explicit settings", () => {
    expect(resolvePolicy(['127.0.0.1'])).toEqual({ loopback: true, private: false });
    expect(resolvePolicy(['192.168.1.5', '203.0.113.9'])).toEqual({ loopback: false, private: true });
    expect(resolvePolicy(['203.0.113.9', 'not a host!'])).toEqual({ loopback: false, private: false });
    expect(resolvePolicy([])).toEqual({ loopback: false, private: false });
    expect(resolvePolicy(['127.0.0.1'], { loopback: false, private: true })).toEqual({
      loopback: false,
      private: true,
    });
  });
});

describe('dialOrder', () => {
  const pub = { host: '203.0.113.5', port: 4000 };
  const lan = { host: '192.168.1.7', port: 4000 };
  const cgnat = { host: '100.64.1.2', port: 4000 };
  const linkLocal = { host: 'fe80::1', port: 4000 };
  const loop = { host: '127.0.0.1', port: 4000 };
  const name = { host: 'peer.example', port: 4000 };

  it('dials public addresses and names first, the rest after, each in the peer order', () => {
    expect(dialOrder([lan, pub, loop, name], undefined)).toEqual({
      dial: [pub, name, lan, loop],
      skippedPrivate: 0,
    });
  });

  it('with our external host known, leaves out the private addresses of a peer behind another NAT', () => {
    expect(dialOrder([lan, cgnat, linkLocal, pub], '198.51.100.9')).toEqual({
      dial: [pub],
      skippedPrivate: 3,
    });
    // A peer with nothing but a private address: not ours, so nothing to dial.
    expect(dialOrder([lan], '198.51.100.9')).toEqual({ dial: [], skippedPrivate: 1 });
  });

  it('keeps them when the peer advertises our own external host (one NAT, one LAN)', () => {
    const sameNat = { host: '198.51.100.9', port: 4000 };
    expect(dialOrder([lan, sameNat], '198.51.100.9')).toEqual({ dial: [sameNat, lan], skippedPrivate: 0 });
    // Compared canonically: an IPv4-mapped IPv6 external host is the same host.
    expect(dialOrder([lan, sameNat], '::ffff:198.51.100.9').skippedPrivate).toBe(0);
  });

  it("keeps a private address in the network group of one of our own private hosts (our LAN's /24)", () => {
    expect(dialOrder([lan, cgnat], '198.51.100.9', ['192.168.1.2', '127.0.0.1'])).toEqual({
      dial: [lan],
      skippedPrivate: 1,
    });
    // Our own public hosts say nothing of LANs.
    expect(dialOrder([lan], '198.51.100.9', ['203.0.113.1']).skippedPrivate).toBe(1);
  });

  it('never leaves out loopback (the policy decides) and keeps everything with no external host', () => {
    expect(dialOrder([loop], '198.51.100.9')).toEqual({ dial: [loop], skippedPrivate: 0 });
    expect(dialOrder([lan, cgnat], undefined)).toEqual({ dial: [lan, cgnat], skippedPrivate: 0 });
  });
});
