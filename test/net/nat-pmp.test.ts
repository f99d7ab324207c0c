/**
 * NAT-PMP (RFC 6886) codec and port-mapping state machine (src/net/nat-pmp.ts): bytes as the RFC lays
 * them out, and every transition under virtual time. Pure: no sockets, no clock.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeResponse,
  encodeAddressRequest,
  encodeMapRequest,
  NAT_PMP_LIFETIME_S,
  NAT_PMP_RETRY_MS,
  type PortMapAction,
  PortMapMachine,
} from '../../src/net/nat-pmp.js';
import { defaultGatewayFromRouteTable } from '../../src/net/port-map.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s/g, ''), 'hex'));

/** An op 0 answer: result, epoch, address 203.0.113.5. */
const addressAnswer = (epoch = 100, result = 0) =>
  bytes(`00 80 ${result.toString(16).padStart(4, '0')} ${epoch.toString(16).padStart(8, '0')} cb 00 71 05`);
/** An op 2 answer: internal port 4000 (0fa0) → external, lifetime. */
const mapAnswer = (external = 40_000, lifetime = 7200, epoch = 101, internal = 4000) =>
  bytes(
    `00 82 0000 ${epoch.toString(16).padStart(8, '0')} ${internal.toString(16).padStart(4, '0')} ` +
      `${external.toString(16).padStart(4, '0')} ${lifetime.toString(16).padStart(8, '0')}`,
  );

const sends = (actions: PortMapAction[]) => actions.flatMap((a) => (a.type === 'send' ? [hex(a.bytes)] : []));
const timers = (actions: PortMapAction[]) =>
  actions.flatMap((a) => (a.type === 'set-timer' ? [a.delayMs] : []));

/** A machine mapped at t = 0: 203.0.113.5:40000 for 7200 s. */
function mapped(): PortMapMachine {
  const m = new PortMapMachine({ internalPort: 4000 });
  m.handle({ type: 'start' }, 0);
  m.handle({ type: 'datagram', bytes: addressAnswer() }, 1);
  m.handle({ type: 'datagram', bytes: mapAnswer() }, 2);
  expect(m.state).toBe('mapped');
  return m;
}

describe('NAT-PMP codec (RFC 6886 §3)', () => {
  it('encodes the address request and a TCP map request byte by byte', () => {
    expect(hex(encodeAddressRequest())).toBe('0000');
    // version 0, opcode 2 (TCP), reserved 0, internal 4000, suggested 4001, lifetime 7200 s.
    expect(hex(encodeMapRequest(4000, 4001, 7200))).toBe('0002' + '0000' + '0fa0' + '0fa1' + '00001c20');
  });

  it('decodes answers, and refuses bytes that are not a version 0 answer', () => {
    expect(decodeResponse(addressAnswer(7))).toEqual({
      kind: 'address',
      result: 'success',
      epochS: 7,
      host: '203.0.113.5',
    });
    expect(decodeResponse(mapAnswer(40_000, 60))).toMatchObject({
      kind: 'map',
      result: 'success',
      internalPort: 4000,
      externalPort: 40_000,
      lifetimeS: 60,
    });
    // A refusal (§3.5) may carry only the header and the epoch.
    expect(decodeResponse(bytes('0082 0002 00000009'))).toMatchObject({
      kind: 'map',
      result: 'not-authorized',
    });
    expect(decodeResponse(bytes('0082 0063 00000009'))).toMatchObject({ result: 'unknown-result' });
    expect(decodeResponse(bytes('0080 0000'))).toEqual({ kind: 'invalid', reason: 'length' });
    expect(decodeResponse(new Uint8Array(17))).toEqual({ kind: 'invalid', reason: 'length' });
    expect(decodeResponse(bytes('0180 0000 00000001 01020304'))).toEqual({
      kind: 'invalid',
      reason: 'version',
    });
    expect(decodeResponse(bytes('0081 0000 00000001 01020304'))).toEqual({
      kind: 'invalid',
      reason: 'opcode',
    });
    // A success too short to carry its address or mapping.
    expect(decodeResponse(bytes('0082 0000 00000001 0fa0 9c40'))).toEqual({
      kind: 'invalid',
      reason: 'length',
    });
  });

  it("finds the default route's gateway in /proc/net/route", () => {
    const table = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t0001000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'eth0\t00000000\t0101000A\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    ].join('\n');
    expect(defaultGatewayFromRouteTable(table)).toBe('10.0.1.1');
    // A default route without RTF_GATEWAY (a point-to-point link), or none at all.
    expect(defaultGatewayFromRouteTable(table.replace('0003', '0001'))).toBeUndefined();
    expect(defaultGatewayFromRouteTable('Iface\tDestination\n')).toBeUndefined();
    expect(defaultGatewayFromRouteTable('garbage')).toBeUndefined();
  });
});

describe('PortMapMachine', () => {
  it('asks the address, then maps the listener port, and renews at half the lifetime', () => {
    const m = new PortMapMachine({ internalPort: 4000 });
    const start = m.handle({ type: 'start' }, 0);
    expect(sends(start)).toEqual(['0000']);
    expect(timers(start)).toEqual([250]);
    const map = m.handle({ type: 'datagram', bytes: addressAnswer() }, 5);
    expect(m.state).toBe('mapping');
    expect(sends(map)).toEqual([hex(encodeMapRequest(4000, 4000, NAT_PMP_LIFETIME_S))]);
    const done = m.handle({ type: 'datagram', bytes: mapAnswer(40_000, 7200) }, 10);
    expect(done).toContainEqual({
      type: 'mapped',
      mapping: { host: '203.0.113.5', port: 40_000, lifetimeMs: 7_200_000 },
      renewed: false,
    });
    expect(timers(done)).toEqual([3_600_000]);
    // Renewal: the same request, suggesting the port we hold.
    const renew = m.handle({ type: 'timer' }, 3_600_010);
    expect(m.state).toBe('renewing');
    expect(sends(renew)).toEqual([hex(encodeMapRequest(4000, 40_000, NAT_PMP_LIFETIME_S))]);
    const renewed = m.handle({ type: 'datagram', bytes: mapAnswer(40_000, 7200, 3701) }, 3_600_020);
    expect(renewed).toContainEqual(expect.objectContaining({ type: 'mapped', renewed: true }));
    expect(m.stats).toMatchObject({ mapped: 1, renewed: 1, requests: 3 });
  });

  it('resends at 250 ms doubling, then gives up and asks again after the retry delay', () => {
    const m = new PortMapMachine({ internalPort: 4000 });
    const delays = [timers(m.handle({ type: 'start' }, 0))[0]];
    for (let i = 0; i < 3; i++) {
      const a = m.handle({ type: 'timer' }, 0);
      expect(sends(a)).toEqual(['0000']);
      delays.push(timers(a)[0]);
    }
    expect(delays).toEqual([250, 500, 1000, 2000]);
    const gaveUp = m.handle({ type: 'timer' }, 0);
    expect(m.state).toBe('unavailable');
    expect(gaveUp).toContainEqual({ type: 'unavailable', reason: 'no-answer', retryMs: NAT_PMP_RETRY_MS });
    expect(sends(gaveUp)).toEqual([]);
    expect(sends(m.handle({ type: 'timer' }, NAT_PMP_RETRY_MS))).toEqual(['0000']);
    expect(m.state).toBe('asking');
  });

  it('a refusal makes it unavailable; a failed renewal reports the mapping lost', () => {
    const m = new PortMapMachine({ internalPort: 4000 });
    m.handle({ type: 'start' }, 0);
    expect(m.handle({ type: 'datagram', bytes: addressAnswer(1, 2) }, 1)).toContainEqual(
      expect.objectContaining({ type: 'unavailable', reason: 'not-authorized' }),
    );
    const n = mapped();
    n.handle({ type: 'timer' }, 3_600_000);
    for (let i = 0; i < 3; i++) n.handle({ type: 'timer' }, 3_600_000);
    const lost = n.handle({ type: 'timer' }, 3_600_000);
    expect(lost).toContainEqual({ type: 'lost', reason: 'no-answer' });
    expect(n.mapping).toBeUndefined();
    expect(n.stats.lost).toBe(1);
  });

  it('ignores what it did not ask for: another port, another opcode, garbage; zero port or lifetime is a bad answer', () => {
    const m = new PortMapMachine({ internalPort: 4000 });
    m.handle({ type: 'start' }, 0);
    expect(m.handle({ type: 'datagram', bytes: mapAnswer() }, 1)).toEqual([]); // a map answer while asking
    m.handle({ type: 'datagram', bytes: addressAnswer() }, 1);
    expect(m.handle({ type: 'datagram', bytes: mapAnswer(40_000, 7200, 101, 4001) }, 2)).toEqual([]);
    expect(m.handle({ type: 'datagram', bytes: new Uint8Array(3) }, 2)).toEqual([]);
    expect(m.stats.ignored).toBe(3);
    expect(m.state).toBe('mapping');
    expect(m.handle({ type: 'datagram', bytes: mapAnswer(0) }, 3)).toContainEqual(
      expect.objectContaining({ type: 'unavailable', reason: 'bad-answer' }),
    );
  });

  it('renews no more often than every 10 s, whatever lifetime the gateway grants', () => {
    const m = new PortMapMachine({ internalPort: 4000 });
    m.handle({ type: 'start' }, 0);
    m.handle({ type: 'datagram', bytes: addressAnswer() }, 1);
    expect(timers(m.handle({ type: 'datagram', bytes: mapAnswer(40_000, 1) }, 2))).toEqual([10_000]);
  });

  it("maps again from the start when the gateway's epoch went backwards (it rebooted)", () => {
    const m = mapped(); // epoch 101 at t = 2 ms
    m.handle({ type: 'timer' }, 3_600_000);
    // An hour later its epoch should be ~3700; 5 means it forgot every mapping.
    const again = m.handle({ type: 'datagram', bytes: mapAnswer(40_000, 7200, 5) }, 3_600_001);
    expect(m.state).toBe('asking');
    expect(sends(again)).toEqual(['0000']);
    expect(m.stats.gatewayResets).toBe(1);
  });

  it('close deletes a mapping (lifetime 0, suggested port 0), bounded to two sends; without one it closes at once', () => {
    const m = mapped();
    const del = m.handle({ type: 'close' }, 10);
    expect(m.state).toBe('deleting');
    expect(sends(del)).toEqual([hex(encodeMapRequest(4000, 0, 0))]);
    expect(sends(m.handle({ type: 'timer' }, 260))).toEqual([hex(encodeMapRequest(4000, 0, 0))]);
    expect(m.handle({ type: 'timer' }, 760)).toContainEqual({ type: 'closed' });
    expect(m.handle({ type: 'start' }, 800)).toEqual([]);

    const answered = mapped();
    answered.handle({ type: 'close' }, 10);
    expect(answered.handle({ type: 'datagram', bytes: mapAnswer(0, 0) }, 11)).toContainEqual({
      type: 'closed',
    });

    const fresh = new PortMapMachine({ internalPort: 4000 });
    expect(fresh.handle({ type: 'close' }, 0)).toContainEqual({ type: 'closed' });
  });

  it('refuses a bad port or lifetime', () => {
    expect(() => new PortMapMachine({ internalPort: 0 })).toThrow(RangeError);
    expect(() => new PortMapMachine({ internalPort: 70_000 })).toThrow(RangeError);
    expect(() => new PortMapMachine({ internalPort: 1, lifetimeS: 0 })).toThrow(RangeError);
  });
});
