import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Address,
  addressKind,
  decodeAddress,
  encodeAddress,
  formatAddress,
  MAX_ADDRESS_TLV_BYTES,
  normalizeAddress,
  parseAddress,
} from '../../src/crypto/index.js';
import { arbAddress, arbDns, arbIp4, arbIp6, longName, mutateText } from './fixtures.js';
import { hex, unhex } from './reference.js';

const canon = (host: string): string => normalizeAddress({ host, port: 1 }).host;

describe('addressKind', () => {
  it('classifies hosts', () => {
    expect(addressKind('0.0.0.0')).toBe('ip4');
    expect(addressKind('255.255.255.255')).toBe('ip4');
    expect(addressKind('::')).toBe('ip6');
    expect(addressKind('::ffff:1.2.3.4')).toBe('ip6');
    expect(addressKind('example.org')).toBe('dns');
    expect(addressKind('localhost')).toBe('dns');
    expect(addressKind('a')).toBe('dns');
    expect(addressKind('1a')).toBe('dns');
    expect(addressKind('x.0y')).toBe('dns');
    expect(addressKind('0xg')).toBe('dns');
  });

  it('rejects malformed IPv4 that is not a valid DNS name either', () => {
    for (const host of [
      '1.2.3.256',
      '01.2.3.4',
      '1.2.3.04',
      '1.2.3',
      '1.2.3.4.5',
      '127.1',
      '1.2.3.',
      '.1.2.3',
      '1..2.3',
      '+1.2.3.4',
      '１.2.3.4',
    ]) {
      expect(() => addressKind(host), host).toThrow(RangeError);
    }
  });

  it('rejects IPv6 text outside RFC 4291', () => {
    for (const host of [
      ':',
      ':::',
      '1::2::3',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7::8',
      '1:2:3:4:5:6:7:8::',
      ':1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:',
      '12345::',
      'g::',
      '1.2.3.4::',
      '::1.2.3.4:5',
      '::1.2.3',
      '::01.2.3.4',
      '1:2:3:4:5:6:7:1.2.3.4',
      'fe80::1%eth0',
      '[::1]',
      ' ::1',
    ]) {
      expect(() => addressKind(host), host).toThrow(RangeError);
    }
  });

  it('applies the DNS rules: charset, label length and hyphens, 36 bytes, no trailing dot, no numeric end', () => {
    expect(addressKind(longName('a'))).toBe('dns');
    expect(longName('a')).toHaveLength(36);
    expect(addressKind('a-b.c-d')).toBe('dns');
    for (const host of [
      '',
      `${longName('a')}x`,
      'example.org.',
      '.example.org',
      'a..b',
      '-a.b',
      'a-.b',
      'a.-b',
      'a_b.org',
      'a b.org',
      'exämple.org',
      'a.b.123',
      '0x7f000001',
      'a.0X',
      'a.0xdead',
      '999',
    ]) {
      expect(() => addressKind(host), JSON.stringify(host)).toThrow(RangeError);
    }
  });

  it('has exact messages', () => {
    expect(() => addressKind('a..b')).toThrow(
      new RangeError('"host" expected IPv4, IPv6 or DNS name of at most 36 bytes, got "a..b"'),
    );
    expect(() => addressKind(7 as unknown as string)).toThrow(
      new TypeError('"host" expected string, got type=number'),
    );
    expect(() => addressKind('a'.repeat(100))).toThrow(`got "${'a'.repeat(64)}…"`);
  });
});

describe('IPv6 canonical text (RFC 5952)', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'], // §4.2.1 longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2 no :: for one group
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3 longest run wins
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3 first of equal runs
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['fe80::0001:0:0:1', 'fe80::1:0:0:1'],
    ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1'], // §5 IPv4-mapped keeps the dotted tail
    ['::FFFF:192.0.2.1', '::ffff:192.0.2.1'],
    ['::192.0.2.1', '::c000:201'], // deprecated IPv4-compatible: plain hex
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['::1:ffff:1.2.3.4', '::1:ffff:102:304'],
  ];
  it.each(cases)('%s -> %s', (input, expected) => {
    expect(canon(input)).toBe(expected);
  });

  it('agrees with the WHATWG URL serializer for addresses that are not IPv4-mapped', () => {
    fc.assert(
      fc.property(arbIp6, (text) => {
        const ours = canon(text);
        const url = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        if (ours.includes('.')) expect(url.startsWith('::ffff:')).toBe(true);
        else expect(ours).toBe(url);
      }),
      { numRuns: 300 },
    );
  });
});

describe('host parsers agree with node:net on near-miss inputs', () => {
  const hexGroup = fc.stringMatching(/^[0-9a-fA-F]{1,5}$/);
  const octet = fc.oneof(fc.nat(300).map(String), fc.constantFrom('00', '01', '256', ''));
  const v4ish = fc.array(octet, { minLength: 3, maxLength: 5 }).map((o) => o.join('.'));
  const v6random = fc
    .tuple(fc.array(fc.oneof(hexGroup, fc.constant('')), { minLength: 1, maxLength: 9 }), fc.option(v4ish))
    .map(([groups, tail]) => [...groups, ...(tail === null ? [] : [tail])].join(':'));
  // Roughly half valid, half one edit away from valid.
  const v6ish = fc.oneof(v6random, arbIp6, mutateText(arbIp6), mutateText(mutateText(arbIp6)));
  const v4near = fc.oneof(v4ish, arbIp4, mutateText(arbIp4));

  it('IPv4', () => {
    fc.assert(
      fc.property(v4near, (text) => {
        let kind: string | undefined;
        try {
          kind = addressKind(text);
        } catch {
          kind = undefined;
        }
        expect(kind === 'ip4').toBe(isIPv4(text));
      }),
      { numRuns: 500 },
    );
  });

  it('IPv6', () => {
    fc.assert(
      fc.property(v6ish, (text) => {
        let kind: string | undefined;
        try {
          kind = addressKind(text);
        } catch {
          kind = undefined;
        }
        // node:net accepts zone ids (`fe80::1%eth0`); we reject them on purpose.
        expect(kind === 'ip6', text).toBe(isIPv6(text) && !text.includes('%'));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('normalizeAddress / parseAddress / formatAddress', () => {
  it('normalizes hosts and validates ports', () => {
    expect(normalizeAddress({ host: 'Example.ORG', port: 80 })).toEqual({ host: 'example.org', port: 80 });
    expect(normalizeAddress({ host: '1.2.3.4', port: 65535 })).toEqual({ host: '1.2.3.4', port: 65535 });
    expect(() => normalizeAddress({ host: '1.2.3.4', port: 0 })).toThrow(
      new RangeError('"address.port" expected integer in [1, 65535], got 0'),
    );
    expect(() => normalizeAddress({ host: '1.2.3.4', port: 65536 })).toThrow(RangeError);
    expect(() => normalizeAddress({ host: '1.2.3.4', port: 1.5 })).toThrow(RangeError);
    expect(() => normalizeAddress({ host: '1.2.3.4', port: '80' } as unknown as Address)).toThrow(
      new TypeError('"address.port" expected number, got type=string'),
    );
    expect(() => normalizeAddress({ host: 5, port: 80 } as unknown as Address)).toThrow(
      new TypeError('"address.host" expected string, got type=number'),
    );
    expect(() => normalizeAddress(null as unknown as Address)).toThrow(
      new TypeError('"address" expected object, got type=null'),
    );
    expect(() => normalizeAddress({ host: 'a..b', port: 1 })).toThrow(
      new RangeError('"address.host" expected IPv4, IPv6 or DNS name of at most 36 bytes, got "a..b"'),
    );
  });

  it('parses host:port and [v6]:port', () => {
    expect(parseAddress('1.2.3.4:6881')).toEqual({ host: '1.2.3.4', port: 6881 });
    expect(parseAddress('Node.Example:443')).toEqual({ host: 'node.example', port: 443 });
    expect(parseAddress('[2001:DB8::0:1]:1')).toEqual({ host: '2001:db8::1', port: 1 });
    expect(parseAddress('[::ffff:1.2.3.4]:9')).toEqual({ host: '::ffff:1.2.3.4', port: 9 });
  });

  it('rejects malformed address text with clear messages', () => {
    expect(() => parseAddress('1.2.3.4')).toThrow(
      new RangeError('"address" expected "host:port" or "[ipv6]:port", got "1.2.3.4"'),
    );
    expect(() => parseAddress('::1:80')).toThrow(
      new RangeError('"address" expected brackets around an IPv6 host ("[ipv6]:port"), got "::1:80"'),
    );
    expect(() => parseAddress('[::1]80')).toThrow(
      new RangeError('"address" expected "[ipv6]:port", got "[::1]80"'),
    );
    expect(() => parseAddress('[::1')).toThrow(RangeError);
    expect(() => parseAddress('[1.2.3.4]:80')).toThrow(
      new RangeError('"address" expected an IPv6 address inside brackets, got "[1.2.3.4]:80"'),
    );
    expect(() => parseAddress('a.b:')).toThrow(
      new RangeError('"address" expected a decimal port after the last ":", got "a.b:"'),
    );
    expect(() => parseAddress('a.b:+80')).toThrow(RangeError);
    expect(() => parseAddress('a.b:123456')).toThrow(RangeError);
    expect(() => parseAddress('a.b:0')).toThrow(
      new RangeError('"address.port" expected integer in [1, 65535], got 0'),
    );
    expect(() => parseAddress('a.b:65536')).toThrow(RangeError);
    expect(() => parseAddress(':80')).toThrow(RangeError);
    expect(() => parseAddress('[fe80::1%eth0]:80')).toThrow(RangeError);
    expect(() => parseAddress(80 as unknown as string)).toThrow(
      new TypeError('"address" expected string, got type=number'),
    );
  });

  it('formats with brackets for IPv6 only', () => {
    expect(formatAddress({ host: '1.2.3.4', port: 80 })).toBe('1.2.3.4:80');
    expect(formatAddress({ host: 'A.example', port: 80 })).toBe('a.example:80');
    expect(formatAddress({ host: '2001:db8:0:0::1', port: 80 })).toBe('[2001:db8::1]:80');
    expect(() => formatAddress({ host: '[::1]', port: 80 })).toThrow(RangeError);
  });

  it('parseAddress inverts formatAddress', () => {
    fc.assert(
      fc.property(arbAddress, (a) => {
        expect(parseAddress(formatAddress(a))).toEqual(normalizeAddress(a));
      }),
      { numRuns: 300 },
    );
  });
});

describe('address TLV', () => {
  it('encodes each kind byte by byte', () => {
    expect(hex(encodeAddress({ host: '198.51.100.7', port: 6881 }))).toBe('0106c6336407' + '1ae1');
    expect(hex(encodeAddress({ host: '2001:db8::7', port: 443 }))).toBe(
      '0212' + '20010db8000000000000000000000007' + '01bb',
    );
    expect(hex(encodeAddress({ host: 'A.b', port: 1 }))).toBe(
      `0305${hex(new TextEncoder().encode('a.b'))}0001`,
    );
    expect(encodeAddress({ host: longName('z'), port: 1 })).toHaveLength(MAX_ADDRESS_TLV_BYTES);
  });

  it('round-trips every valid address to its normalized form', () => {
    fc.assert(
      fc.property(arbAddress, (a) => {
        expect(decodeAddress(encodeAddress(a))).toEqual({ ok: true, address: normalizeAddress(a) });
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips DNS names and IPv4 exactly (lower case)', () => {
    fc.assert(
      fc.property(fc.oneof(arbDns, arbIp4), (host) => {
        const out = decodeAddress(encodeAddress({ host, port: 7 }));
        expect(out).toEqual({ ok: true, address: { host: host.toLowerCase(), port: 7 } });
      }),
      { numRuns: 300 },
    );
  });

  it('skips unknown types whose body fits and rejects longer ones', () => {
    expect(decodeAddress(unhex('0000'))).toEqual({ ok: true, address: null });
    expect(decodeAddress(unhex(`04${'26'}${'ab'.repeat(38)}`))).toEqual({ ok: true, address: null });
    expect(decodeAddress(unhex(`ff${'27'}${'ab'.repeat(39)}`))).toEqual({ ok: false });
  });

  it('rejects malformed known types', () => {
    const bad = [
      '', // nothing
      '01', // no length
      '0106c633640700', // ip4 truncated... one byte short of port
      '0105c63364071a', // ip4 wrong length
      '0107c63364071ae100', // ip4 wrong length
      '0106c63364070000', // port 0
      `0211${'00'.repeat(17)}`, // ip6 wrong length
      `0212${'00'.repeat(16)}0000`, // ip6 port 0
      '03020001', // dns without a name
      '0303610000', // dns port 0
      '03046162', // truncated
      `0305${hex(new TextEncoder().encode('a.'))}01`, // truncated
      `0305${hex(new TextEncoder().encode('a.'))}0001`, // trailing dot
      `0305${hex(new TextEncoder().encode('-a'))}0001`,
      `0305${hex(new TextEncoder().encode('12'))}0001`, // numeric last label
      '030561e90001', // non-ASCII
      `0327${'61'.repeat(37)}0001`, // 37-byte name: len 39 > 38
      '0106c63364071ae1ff', // trailing byte
    ];
    for (const h of bad) expect(decodeAddress(unhex(h)), h).toEqual({ ok: false });
    expect(decodeAddress('0106' as unknown as Uint8Array)).toEqual({ ok: false });
  });

  it('accepts upper-case DNS names on the wire and lowers them', () => {
    expect(decodeAddress(unhex(`0305${hex(new TextEncoder().encode('A.B'))}0050`))).toEqual({
      ok: true,
      address: { host: 'a.b', port: 80 },
    });
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (b) => {
        const out = decodeAddress(b);
        if (out.ok && out.address !== null) expect(normalizeAddress(out.address)).toEqual(out.address);
      }),
      { numRuns: 1000 },
    );
  });
});
