/** BEP 42 votes and the reachability judgement of `readOnly: 'auto'` (src/dht/external.ts): pure. */
import { describe, expect, it } from 'vitest';
import {
  decodeCompactAddress,
  EXTERNAL_VOTE_TTL_MS,
  ExternalAddressVotes,
  encodeCompactAddress,
  Reachability,
  voterGroup,
} from '../../src/dht/external.js';

const ip = (host: string, port = 6881) => encodeCompactAddress(host, port);

describe('compact address (BEP 42 ip)', () => {
  it('round-trips and rejects other lengths', () => {
    expect(ip('203.0.113.1', 40000)).toEqual(Uint8Array.of(203, 0, 113, 1, 0x9c, 0x40));
    expect(decodeCompactAddress(ip('203.0.113.1', 40000))).toEqual({ host: '203.0.113.1', port: 40000 });
    expect(decodeCompactAddress(new Uint8Array(18))).toBeUndefined();
    expect(decodeCompactAddress('abcdef')).toBeUndefined();
    expect(() => encodeCompactAddress('::1', 1)).toThrow(RangeError);
    expect(() => encodeCompactAddress('1.2.3.256', 1)).toThrow(RangeError);
    expect(() => encodeCompactAddress('1.2.3.4', 70000)).toThrow(RangeError);
  });

  it('groups voters by /16, and by host:port on loopback', () => {
    expect(voterGroup('198.51.100.7', 1)).toBe('198.51/16');
    expect(voterGroup('198.51.3.9', 2)).toBe('198.51/16');
    expect(voterGroup('127.0.0.1', 4000)).toBe('127.0.0.1:4000');
    expect(voterGroup('2001:db8::1', 1)).toBeUndefined();
  });
});

describe('ExternalAddressVotes', () => {
  it('takes an address once three /16s agree, not before', () => {
    const v = new ExternalAddressVotes();
    expect(v.vote({ host: '192.0.2.10', port: 1 }, ip('203.0.113.1'), 0)).toBeUndefined();
    expect(v.vote({ host: '192.0.2.11', port: 1 }, ip('203.0.113.1'), 0)).toBeUndefined(); // same /16
    expect(v.vote({ host: '198.51.100.10', port: 1 }, ip('203.0.113.1'), 0)).toBeUndefined();
    expect(v.current).toBeUndefined();
    expect(v.vote({ host: '203.0.113.10', port: 1 }, ip('203.0.113.1'), 0)).toBe('changed');
    expect(v.current).toEqual({ host: '203.0.113.1', port: 6881, voters: 3 });
  });

  it('one /16 cannot outvote the others, however many nodes it runs', () => {
    const v = new ExternalAddressVotes();
    for (let i = 0; i < 3; i++) v.vote({ host: `10.${i}.0.1`, port: 1 }, ip('203.0.113.1'), 0);
    for (let i = 0; i < 50; i++) v.vote({ host: `198.51.100.${i}`, port: 1 }, ip('192.0.2.66'), 0);
    expect(v.current?.host).toBe('203.0.113.1');
  });

  it('does not take an address that does not lead, nor flap on a tie', () => {
    const v = new ExternalAddressVotes();
    for (let i = 0; i < 3; i++) v.vote({ host: `10.${i}.0.1`, port: 1 }, ip('203.0.113.1'), 0);
    for (let i = 0; i < 3; i++) v.vote({ host: `11.${i}.0.1`, port: 1 }, ip('203.0.113.2'), 0);
    expect(v.current?.host).toBe('203.0.113.1');
    const fresh = new ExternalAddressVotes();
    for (let i = 0; i < 3; i++) fresh.vote({ host: `10.${i}.0.1`, port: 1 }, ip('203.0.113.1'), 0);
    fresh.vote({ host: '12.0.0.1', port: 1 }, ip('203.0.113.2'), 0);
    expect(fresh.current?.host).toBe('203.0.113.1');
  });

  it('follows a NAT that changed its address once the old votes are replaced or expired', () => {
    const v = new ExternalAddressVotes();
    for (let i = 0; i < 3; i++) v.vote({ host: `10.${i}.0.1`, port: 1 }, ip('203.0.113.1'), 0);
    const later = EXTERNAL_VOTE_TTL_MS + 1;
    let last: string | undefined;
    for (let i = 0; i < 3; i++) last = v.vote({ host: `20.${i}.0.1`, port: 1 }, ip('203.0.113.9'), later);
    expect(last).toBe('changed');
    expect(v.current?.host).toBe('203.0.113.9');
  });

  it('a repeated vote still counts once older votes have expired', () => {
    const v = new ExternalAddressVotes({ minVoters: 2 });
    for (let i = 0; i < 2; i++) v.vote({ host: `10.${i}.0.1`, port: 1 }, ip('203.0.113.1'), 0);
    expect(v.current?.host).toBe('203.0.113.1');
    v.vote({ host: '20.0.0.1', port: 1 }, ip('203.0.113.9'), 10);
    v.vote({ host: '20.1.0.1', port: 1 }, ip('203.0.113.9'), 15); // a tie: no flap
    expect(v.current?.host).toBe('203.0.113.1');
    // The first two votes have expired; the same vote again now makes the other address lead.
    expect(v.vote({ host: '20.1.0.1', port: 1 }, ip('203.0.113.9'), EXTERNAL_VOTE_TTL_MS + 10)).toBe(
      'changed',
    );
    expect(v.current).toEqual({ host: '203.0.113.9', port: 6881, voters: 2 });
  });

  it('reports a changed port as a change, taking the most common port', () => {
    const v = new ExternalAddressVotes();
    for (let i = 0; i < 3; i++) v.vote({ host: `10.${i}.0.1`, port: 1 }, ip('203.0.113.1', 5000), 0);
    for (let i = 3; i < 6; i++) v.vote({ host: `10.${i}.0.1`, port: 1 }, ip('203.0.113.1', 6000), 0);
    expect(v.current?.port).toBe(5000);
    expect(v.vote({ host: '10.9.0.1', port: 1 }, ip('203.0.113.1', 6000), 0)).toBe('changed');
    expect(v.current).toEqual({ host: '203.0.113.1', port: 6000, voters: 7 });
  });

  it('refuses malformed and unusable claims, and keeps a bounded table', () => {
    const v = new ExternalAddressVotes({ maxVoters: 8 });
    const voter = { host: '10.0.0.1', port: 1 };
    expect(v.vote(voter, new Uint8Array(5), 0)).toBe('malformed');
    expect(v.vote(voter, ip('0.0.0.0'), 0)).toBe('unusable-address');
    expect(v.vote(voter, ip('224.0.0.1'), 0)).toBe('unusable-address');
    expect(v.vote(voter, ip('255.255.255.255'), 0)).toBe('unusable-address');
    expect(v.vote(voter, ip('169.254.1.1'), 0)).toBe('unusable-address');
    expect(v.vote(voter, ip('203.0.113.1', 0), 0)).toBe('unusable-address');
    expect(v.vote({ host: '::1', port: 1 }, ip('203.0.113.1'), 0)).toBe('voter-not-ipv4');
    for (let i = 0; i < 100; i++) v.vote({ host: `${i}.1.0.1`, port: 1 }, ip('203.0.113.1'), 0);
    expect(v.size).toBe(8);
  });

  it('checks a claim anew whenever its bytes differ from the last one, even in the same buffer', () => {
    const v = new ExternalAddressVotes();
    const claim = ip('203.0.113.1');
    expect(v.vote({ host: '10.0.0.1', port: 1 }, claim, 0)).toBeUndefined();
    claim.set([224, 0, 0, 1]); // the same buffer, now a multicast claim
    expect(v.vote({ host: '10.1.0.1', port: 1 }, claim, 0)).toBe('unusable-address');
    expect(v.vote({ host: '10.1.0.1', port: 1 }, new Uint8Array(5), 0)).toBe('malformed');
    expect(v.vote({ host: '10.1.0.1', port: 1 }, ip('203.0.113.2'), 0)).toBeUndefined();
    expect(v.vote({ host: '10.2.0.1', port: 1 }, ip('203.0.113.2'), 0)).toBeUndefined();
    expect(v.vote({ host: '10.3.0.1', port: 1 }, ip('203.0.113.2'), 0)).toBe('changed');
    expect(v.current).toEqual({ host: '203.0.113.2', port: 6881, voters: 3 });
  });

  it('testnet nodes on one loopback address vote one each', () => {
    const v = new ExternalAddressVotes();
    for (let p = 4000; p < 4003; p++) v.vote({ host: '127.0.0.1', port: p }, ip('127.0.0.1', 5555), 0);
    expect(v.current).toEqual({ host: '127.0.0.1', port: 5555, voters: 3 });
  });
});

describe('Reachability', () => {
  it('goes read-only behind a NAT after the window without unsolicited queries', () => {
    const r = new Reachability(1000);
    expect(r.readOnly(0)).toBe(false); // external address unknown
    r.sent('198.51.100.1');
    r.received('198.51.100.1'); // solicited: proves nothing
    r.external(false, 100);
    expect(r.readOnly(1099)).toBe(false);
    expect(r.readOnly(1100)).toBe(true);
  });

  it('never goes read-only when the external address is ours or an uncontacted IP queried us', () => {
    const ours = new Reachability(0);
    ours.external(true, 0);
    expect(ours.readOnly(10_000)).toBe(false);
    const forwarded = new Reachability(1000);
    forwarded.external(false, 0);
    expect(forwarded.readOnly(1000)).toBe(true);
    forwarded.received('192.0.2.77');
    expect(forwarded.reachable).toBe(true);
    expect(forwarded.readOnly(5000)).toBe(false);
  });
});
