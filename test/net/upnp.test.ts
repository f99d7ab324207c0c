/**
 * UPnP IGD port mapping (src/net/upnp.ts): the SSDP and SOAP bytes, the description parser, the
 * gateway-only URL rule, and every transition of `UpnpMachine` under virtual time. Pure: no sockets
 * (the real-socket path runs in the NAT lab, test/nat/upnp-peer.test.ts: multicast must not leave
 * this machine).
 */
import { describe, expect, it } from 'vitest';
import {
  encodeSearch,
  faultCode,
  gatewayUrl,
  type HttpRequest,
  parseDescription,
  parseSearchReply,
  soapRequest,
  UPNP_RETRY_MS,
  UPNP_SEARCH_ATTEMPTS,
  type UpnpAction,
  UpnpMachine,
} from '../../src/net/upnp.js';

const GW = '10.0.1.1';
const text = (s: string) => new TextEncoder().encode(s);
const reply = (location: string) =>
  text(
    `HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: ${location}\r\n\r\n`,
  );
const DESCRIPTION = `<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType><serviceList><service>
<serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL>
</service></serviceList><deviceList><device><deviceList><device><serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<controlURL>/ctl/IPConn</controlURL></service></serviceList></device></deviceList></device></deviceList>
</device></root>`;
const soapOk = (inner = '') =>
  `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${inner}</s:Body></s:Envelope>`;
const fault = (code: number) =>
  soapOk(`<s:Fault><detail><UPnPError><errorCode>${code}</errorCode></UPnPError></detail></s:Fault>`);

const http = (actions: UpnpAction[]): HttpRequest | undefined =>
  actions.flatMap((a) => (a.type === 'http' ? [a.request] : []))[0];

/** A machine that found the gateway's WANIPConnection and asked its address; returns its last request. */
function described(): { m: UpnpMachine; last: HttpRequest } {
  const m = new UpnpMachine({ gateway: GW, internalPort: 4000 });
  m.handle({ type: 'start' }, 0);
  const get = http(
    m.handle({ type: 'ssdp', bytes: reply(`http://${GW}:5000/rootDesc.xml`), fromHost: GW }, 1),
  )!;
  expect(get).toMatchObject({ method: 'GET', url: `http://${GW}:5000/rootDesc.xml` });
  const ask = http(
    m.handle(
      { type: 'http-response', id: get.id, status: 200, body: DESCRIPTION, localAddress: '10.0.1.2' },
      2,
    ),
  )!;
  return { m, last: ask };
}

/** …and mapped: 203.0.113.1:4000. */
function mapped(): { m: UpnpMachine; add: HttpRequest } {
  const { m, last } = described();
  const add = http(
    m.handle(
      {
        type: 'http-response',
        id: last.id,
        status: 200,
        body: soapOk('<u:r><NewExternalIPAddress>203.0.113.1</NewExternalIPAddress></u:r>'),
        localAddress: '10.0.1.2',
      },
      3,
    ),
  )!;
  m.handle({ type: 'http-response', id: add.id, status: 200, body: soapOk(), localAddress: '10.0.1.2' }, 4);
  expect(m.state).toBe('mapped');
  return { m, add };
}

describe('UPnP codec', () => {
  it('searches for an IGD and reads the LOCATION of a reply', () => {
    expect(new TextDecoder().decode(encodeSearch())).toBe(
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n' +
        'ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n',
    );
    expect(parseSearchReply(reply('http://10.0.1.1:5000/d.xml'))).toBe('http://10.0.1.1:5000/d.xml');
    expect(parseSearchReply(text('HTTP/1.1 200 OK\r\nlocation:  http://x/ \r\n\r\n'))).toBe('http://x/');
    expect(parseSearchReply(text('NOTIFY * HTTP/1.1\r\nLOCATION: http://x/\r\n\r\n'))).toBeUndefined();
    expect(parseSearchReply(text('HTTP/1.1 200 OK\r\n\r\n'))).toBeUndefined();
    expect(parseSearchReply(new Uint8Array(4096))).toBeUndefined();
  });

  it('accepts URLs to the gateway over plain http only, relative ones against their base', () => {
    expect(gatewayUrl('/ctl/IPConn', `http://${GW}:5000/rootDesc.xml`, GW)?.href).toBe(
      `http://${GW}:5000/ctl/IPConn`,
    );
    expect(gatewayUrl(`http://${GW}/x`, undefined, GW)?.href).toBe(`http://${GW}/x`);
    for (const bad of [
      'http://10.0.1.9/x',
      `https://${GW}/x`,
      `http://u:p@${GW}/x`,
      'http://169.254.169.254/',
      'nonsense',
    ]) {
      expect(gatewayUrl(bad, undefined, GW)).toBeUndefined();
    }
    // A control URL naming another host is refused even when the description came from the gateway.
    expect(gatewayUrl('http://192.168.1.50/ctl', `http://${GW}:5000/d.xml`, GW)).toBeUndefined();
  });

  it('finds the WAN connection service among nested devices, ignoring others', () => {
    expect(parseDescription(DESCRIPTION)).toEqual({
      controlUrl: '/ctl/IPConn',
      service: 'urn:schemas-upnp-org:service:WANIPConnection:1',
    });
    expect(parseDescription(DESCRIPTION.replace('WANIPConnection', 'WANPPPConnection'))?.service).toBe(
      'urn:schemas-upnp-org:service:WANPPPConnection:1',
    );
    expect(parseDescription('<root><URLBase>http://10.0.1.1:1/</URLBase></root>')).toBeUndefined();
    expect(parseDescription('garbage <service><serviceType>')).toBeUndefined();
  });

  it('builds SOAP calls with escaped arguments and reads fault codes', () => {
    const r = soapRequest('urn:schemas-upnp-org:service:WANIPConnection:1', 'AddPortMapping', {
      NewPortMappingDescription: '<a&b>',
      NewExternalPort: 4000,
    });
    expect(r.soapAction).toBe('"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"');
    expect(r.body).toContain(
      '<u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">' +
        '<NewPortMappingDescription>&lt;a&amp;b&gt;</NewPortMappingDescription><NewExternalPort>4000</NewExternalPort>',
    );
    expect(faultCode(fault(718))).toBe(718);
    expect(faultCode(soapOk())).toBeUndefined();
  });
});

describe('UpnpMachine', () => {
  it('discovers, describes, asks the address, maps the port for our LAN address, and renews at half the lease', () => {
    const { m, last } = described();
    expect(last).toMatchObject({ method: 'POST', url: `http://${GW}:5000/ctl/IPConn` });
    expect(last.headers.SOAPAction).toBe(
      '"urn:schemas-upnp-org:service:WANIPConnection:1#GetExternalIPAddress"',
    );
    const actions = m.handle(
      {
        type: 'http-response',
        id: last.id,
        status: 200,
        body: soapOk('<u:r><NewExternalIPAddress>203.0.113.1</NewExternalIPAddress></u:r>'),
        localAddress: '10.0.1.2',
      },
      3,
    );
    const add = http(actions)!;
    expect(add.body).toContain('<NewExternalPort>4000</NewExternalPort><NewProtocol>TCP</NewProtocol>');
    expect(add.body).toContain('<NewInternalClient>10.0.1.2</NewInternalClient>');
    expect(add.body).toContain('<NewLeaseDuration>7200</NewLeaseDuration>');
    const done = m.handle(
      { type: 'http-response', id: add.id, status: 200, body: soapOk(), localAddress: '' },
      4,
    );
    expect(done).toContainEqual({
      type: 'mapped',
      mapping: { host: '203.0.113.1', port: 4000, lifetimeMs: 7_200_000 },
      renewed: false,
    });
    expect(done).toContainEqual({ type: 'set-timer', delayMs: 3_600_000 });
    const renew = http(m.handle({ type: 'timer' }, 3_600_004))!;
    expect(renew.headers.SOAPAction).toContain('#AddPortMapping');
    expect(m.state).toBe('renewing');
    m.handle(
      { type: 'http-response', id: renew.id, status: 200, body: soapOk(), localAddress: '' },
      3_600_005,
    );
    expect(m.stats).toMatchObject({ mapped: 1, renewed: 1 });
  });

  it('ignores SSDP replies from other hosts and LOCATIONs naming another host', () => {
    const m = new UpnpMachine({ gateway: GW, internalPort: 4000 });
    m.handle({ type: 'start' }, 0);
    expect(m.handle({ type: 'ssdp', bytes: reply(`http://${GW}/d.xml`), fromHost: '10.0.1.66' }, 1)).toEqual(
      [],
    );
    expect(m.handle({ type: 'ssdp', bytes: reply('http://10.0.1.66/d.xml'), fromHost: GW }, 1)).toEqual([]);
    expect(m.handle({ type: 'ssdp', bytes: text('junk'), fromHost: GW }, 1)).toEqual([]);
    expect(m.stats.ignored).toBe(3);
    expect(m.state).toBe('discovering');
  });

  it('searches UPNP_SEARCH_ATTEMPTS times, then gives up until the retry timer', () => {
    const m = new UpnpMachine({ gateway: GW, internalPort: 4000 });
    const searches = (a: UpnpAction[]) => a.filter((x) => x.type === 'ssdp-search').length;
    let sent = searches(m.handle({ type: 'start' }, 0));
    for (let i = 1; i < UPNP_SEARCH_ATTEMPTS; i++) sent += searches(m.handle({ type: 'timer' }, i * 1000));
    expect(sent).toBe(UPNP_SEARCH_ATTEMPTS);
    expect(m.handle({ type: 'timer' }, 9000)).toContainEqual({
      type: 'unavailable',
      reason: 'no-gateway-reply',
      retryMs: UPNP_RETRY_MS,
    });
    expect(searches(m.handle({ type: 'timer' }, 9000 + UPNP_RETRY_MS))).toBe(1);
  });

  it('tries another port on a conflict (718), a permanent lease on 725, and fails on other faults', () => {
    const { m, last } = described();
    const addr = soapOk('<NewExternalIPAddress>203.0.113.1</NewExternalIPAddress>');
    const add1 = http(
      m.handle({ type: 'http-response', id: last.id, status: 200, body: addr, localAddress: '' }, 3),
    )!;
    const add2 = http(
      m.handle({ type: 'http-response', id: add1.id, status: 500, body: fault(718), localAddress: '' }, 4),
    )!;
    expect(add2.body).not.toContain('<NewExternalPort>4000<');
    const add3 = http(
      m.handle({ type: 'http-response', id: add2.id, status: 500, body: fault(725), localAddress: '' }, 5),
    )!;
    expect(add3.body).toContain('<NewLeaseDuration>0</NewLeaseDuration>');
    const ok = m.handle(
      { type: 'http-response', id: add3.id, status: 200, body: soapOk(), localAddress: '' },
      6,
    );
    expect(ok).toContainEqual(
      expect.objectContaining({ type: 'mapped', mapping: expect.objectContaining({ lifetimeMs: 0 }) }),
    );
    expect(ok).toContainEqual({ type: 'clear-timer' }); // permanent: no renewal

    const other = described();
    const a = http(
      other.m.handle(
        { type: 'http-response', id: other.last.id, status: 200, body: addr, localAddress: '' },
        3,
      ),
    )!;
    expect(
      other.m.handle({ type: 'http-response', id: a.id, status: 500, body: fault(606), localAddress: '' }, 4),
    ).toContainEqual(expect.objectContaining({ type: 'unavailable', reason: 'fault-606' }));
  });

  it('ignores answers to requests it no longer waits for; an HTTP error or timeout fails the step', () => {
    const { m, last } = described();
    expect(
      m.handle({ type: 'http-response', id: last.id + 5, status: 200, body: '', localAddress: '' }, 3),
    ).toEqual([]);
    expect(m.handle({ type: 'timer' }, 5000)).toContainEqual(
      expect.objectContaining({ reason: 'http-error' }),
    );
    expect(
      m.handle({ type: 'http-response', id: last.id, status: 200, body: '', localAddress: '' }, 5001),
    ).toEqual([]);
    expect(m.state).toBe('unavailable');
  });

  it('close deletes the mapping and then closes; without one it closes at once', () => {
    const { m } = mapped();
    const del = http(m.handle({ type: 'close' }, 10))!;
    expect(del.headers.SOAPAction).toContain('#DeletePortMapping');
    expect(del.body).toContain('<NewExternalPort>4000</NewExternalPort><NewProtocol>TCP</NewProtocol>');
    expect(
      m.handle({ type: 'http-response', id: del.id, status: 200, body: soapOk(), localAddress: '' }, 11),
    ).toContainEqual({
      type: 'closed',
    });
    const fresh = new UpnpMachine({ gateway: GW, internalPort: 1 });
    expect(fresh.handle({ type: 'close' }, 0)).toContainEqual({ type: 'closed' });
    expect(() => new UpnpMachine({ gateway: GW, internalPort: 0 })).toThrow(RangeError);
  });
});
