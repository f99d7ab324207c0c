/**
 * A UPnP Internet Gateway Device (IGD v1) for the NAT lab (test/helpers/nat-lab.ts
 * `HomeOptions.portMapping: 'upnp'`), run as a child inside a home router's namespace, driving the
 * router's iptables (miniupnpd 2.3.1 refuses to map with a documentation WAN address):
 *
 *   upnp-responder.ts LAN_CIDR WAN_ADDRESS [WAN_IFACE] [LAN_IFACE] [HTTP_PORT]
 *     LAN_CIDR: the router's LAN address and prefix (10.0.1.1/24); it answers only sources on that
 *     LAN. WAN_ADDRESS: the external address it reports. Interfaces default to the lab's `wan` and
 *     `lan`; HTTP_PORT to 5000.
 *
 * - SSDP (UDP 1900, joined to 239.255.255.250 on the LAN address): an `M-SEARCH *` with
 *   `MAN: "ssdp:discover"` and an ST of ours (`ssdp:all`, `upnp:rootdevice`, `uuid:…`, the
 *   InternetGatewayDevice:1, WANDevice:1, WANConnectionDevice:1 devices, the WANIPConnection:1 service)
 *   gets a unicast `HTTP/1.1 200 OK` per matching type (every type for `ssdp:all`) with
 *   `LOCATION: http://LAN:HTTP_PORT/rootDesc.xml`. Anything else is ignored.
 * - HTTP on LAN:HTTP_PORT: `GET /rootDesc.xml` (the device description: InternetGatewayDevice:1 →
 *   WANDevice:1 → WANConnectionDevice:1 → WANIPConnection:1, controlURL `/ctl/IPConn`, no URLBase;
 *   the WANDevice lists a WANCommonInterfaceConfig:1 whose every action is 401, as miniupnpc wants),
 *   `GET /WANIPCn.xml` (its SCPD), `POST /ctl/IPConn` (SOAP, the action from the SOAPAction header):
 *   - GetExternalIPAddress → NewExternalIPAddress = WAN_ADDRESS.
 *   - AddPortMapping → a DNAT rule and its FORWARD accept (port-mapping-rules.ts, tagged `gtt-upnp`).
 *     NewInternalClient ≠ the requester → fault 606; the external port of that protocol mapped to
 *     another client → 718 (the same client: the mapping is replaced, `renewed`); NewRemoteHost not
 *     empty → 726; external port 0 → 716; a bad protocol, port, enabled flag or lease → 402; 64
 *     mappings held → 728. Lease 0 is permanent (IGD v1); else the lease running out deletes it.
 *   - DeletePortMapping → removes it; no such mapping → 714; another client's → 606.
 *   - GetSpecificPortMappingEntry (upnpc -a reads the mapping back) → its fields, or 714;
 *     GetStatusInfo → Connected, GetConnectionTypeInfo → IP_Routed (miniupnpc takes an IGD as valid
 *     only when it says it is connected).
 *   - any other action → 401 Invalid Action. A fault is HTTP 500 with a UPnPError body.
 *   Requests from outside the LAN are closed unanswered; a body over 16 KiB → 413; a request must
 *   arrive within 5 s; at most 16 connections at once. Malformed input never ends the process.
 * - stdout, one JSON line per event: `{"type":"ready",address,ssdp,http}`, `{"type":"mapped",protocol,
 *   client,internal,external,lifetime,description,renewed}`, `{"type":"unmapped",…,"reason":"deleted"|
 *   "expired"}`, `{"type":"error",message}`. stdin: `{"cmd":"list","id"?:…}` → `{"type":"list",id,
 *   mappings:[…,remaining (s, null when permanent)]}`.
 * - Removes every rule it added when stdin closes, on SIGTERM/SIGINT/SIGHUP, or after its lifetime
 *   (15 min), then exits.
 */
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import http from 'node:http';
import { IPV4, mappingRules, type Protocol, parseLan, print, serveCommands } from './port-mapping-rules.js';

const SSDP_PORT = 1900;
const SSDP_GROUP = '239.255.255.250';
const LIFETIME_MS = 15 * 60_000;
const MAX_MAPPINGS = 64;
const MAX_BODY = 16 * 1024;
const MAX_CONNECTIONS = 16;
const REQUEST_TIMEOUT_MS = 5000;
/** Longest lease granted (s), the IGD v2 bound (a lab run is minutes). */
const MAX_LEASE_S = 604_800;
const TAG = 'gtt-upnp';
const DESCRIPTION = '/rootDesc.xml';
const SCPD = '/WANIPCn.xml';
const CONTROL = '/ctl/IPConn';
const COMMON_SCPD = '/WANCfg.xml';
const COMMON_CONTROL = '/ctl/CmnIfCfg';

const IGD = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
const WAN_DEVICE = 'urn:schemas-upnp-org:device:WANDevice:1';
const WAN_CONNECTION_DEVICE = 'urn:schemas-upnp-org:device:WANConnectionDevice:1';
const SERVICE = 'urn:schemas-upnp-org:service:WANIPConnection:1';
/** Listed (miniupnpc looks for it before it takes a device as an IGD); every action of it is 401. */
const COMMON_INTERFACE = 'urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1';

interface Mapping {
  readonly protocol: Protocol;
  readonly client: string;
  readonly internal: number;
  readonly external: number;
  readonly description: string;
  /** Seconds; 0 = permanent. */
  readonly lifetime: number;
  readonly expiresAt: number | undefined;
  readonly timer: NodeJS.Timeout | undefined;
}

const [lanCidr, wanAddress, wanIface = 'wan', lanIface = 'lan', httpPortText = '5000'] =
  process.argv.slice(2);
const lan = parseLan(lanCidr ?? '');
const httpPort = Number(httpPortText);
if (!lan || !IPV4.test(wanAddress ?? '') || !Number.isInteger(httpPort) || httpPort < 1 || httpPort > 65535) {
  print({
    type: 'error',
    message: 'usage: upnp-responder.ts LAN_ADDRESS/PREFIX WAN_ADDRESS [WAN] [LAN] [HTTP_PORT]',
  });
  process.exit(2);
}
const lanAddress = lan.address;
const uuid = randomUUID();
const started = performance.now();
const location = `http://${lanAddress}:${httpPort}${DESCRIPTION}`;
const rules = mappingRules(wanIface, lanIface, TAG);
/** Keyed `protocol:external`. */
const mappings = new Map<string, Mapping>();
const key = (protocol: Protocol, external: number) => `${protocol}:${external}`;

// ---------------------------------------------------------------------------------------------- SSDP

const SEARCH_TARGETS = ['upnp:rootdevice', `uuid:${uuid}`, IGD, WAN_DEVICE, WAN_CONNECTION_DEVICE, SERVICE];

function ssdpReply(st: string): Buffer {
  const usn = st === `uuid:${uuid}` ? st : `uuid:${uuid}::${st}`;
  return Buffer.from(
    [
      'HTTP/1.1 200 OK',
      'CACHE-CONTROL: max-age=120',
      `ST: ${st}`,
      `USN: ${usn}`,
      'EXT:',
      'SERVER: Linux/6 UPnP/1.0 gtt-lab-igd/1.0',
      `LOCATION: ${location}`,
      '',
      '',
    ].join('\r\n'),
  );
}

/** The search targets an M-SEARCH asks for (none when it is not a well-formed discovery of ours). */
function searched(msg: Buffer): string[] {
  if (msg.length > 2048) return [];
  const lines = msg.toString('latin1').split(/\r?\n/);
  if (!/^M-SEARCH \* HTTP\/1\.[01]$/i.test(lines[0]!.trim())) return [];
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (headers.get('man')?.replace(/"/g, '') !== 'ssdp:discover') return [];
  const st = headers.get('st');
  if (st === undefined) return [];
  if (st === 'ssdp:all') return SEARCH_TARGETS;
  return SEARCH_TARGETS.includes(st) ? [st] : [];
}

const ssdp = dgram.createSocket({ type: 'udp4', reuseAddr: true });
ssdp.on('message', (msg, rinfo) => {
  if (closing || !lan.onLan(rinfo.address)) return;
  for (const st of searched(msg)) ssdp.send(ssdpReply(st), rinfo.port, rinfo.address);
});
ssdp.on('error', (error) => {
  print({ type: 'error', message: `ssdp: ${String(error)}` });
  void shutdown(1);
});

// ---------------------------------------------------------------------------------------- XML, SOAP

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
const xmlUnescape = (s: string) =>
  s.replace(
    /&(lt|gt|amp|quot|apos);/g,
    (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e]!,
  );

const deviceDescription = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device>
<deviceType>${IGD}</deviceType>
<friendlyName>gtt NAT lab router</friendlyName>
<manufacturer>gossip-topic-tracker</manufacturer>
<modelName>gtt-lab-igd</modelName>
<UDN>uuid:${uuid}</UDN>
<serviceList></serviceList>
<deviceList>
<device>
<deviceType>${WAN_DEVICE}</deviceType>
<friendlyName>WANDevice</friendlyName>
<manufacturer>gossip-topic-tracker</manufacturer>
<modelName>gtt-lab-igd</modelName>
<UDN>uuid:${uuid}-wan</UDN>
<serviceList>
<service>
<serviceType>${COMMON_INTERFACE}</serviceType>
<serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId>
<SCPDURL>${COMMON_SCPD}</SCPDURL>
<controlURL>${COMMON_CONTROL}</controlURL>
<eventSubURL>/evt/CmnIfCfg</eventSubURL>
</service>
</serviceList>
<deviceList>
<device>
<deviceType>${WAN_CONNECTION_DEVICE}</deviceType>
<friendlyName>WANConnectionDevice</friendlyName>
<manufacturer>gossip-topic-tracker</manufacturer>
<modelName>gtt-lab-igd</modelName>
<UDN>uuid:${uuid}-wanconn</UDN>
<serviceList>
<service>
<serviceType>${SERVICE}</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<SCPDURL>${SCPD}</SCPDURL>
<controlURL>${CONTROL}</controlURL>
<eventSubURL>/evt/IPConn</eventSubURL>
</service>
</serviceList>
</device>
</deviceList>
</device>
</deviceList>
<presentationURL>http://${lanAddress}/</presentationURL>
</device>
</root>
`;

const ACTIONS: Record<string, { in: string[]; out: string[] }> = {
  GetExternalIPAddress: { in: [], out: ['NewExternalIPAddress'] },
  GetStatusInfo: { in: [], out: ['NewConnectionStatus', 'NewLastConnectionError', 'NewUptime'] },
  GetConnectionTypeInfo: { in: [], out: ['NewConnectionType', 'NewPossibleConnectionTypes'] },
  AddPortMapping: {
    in: [
      'NewRemoteHost',
      'NewExternalPort',
      'NewProtocol',
      'NewInternalPort',
      'NewInternalClient',
      'NewEnabled',
      'NewPortMappingDescription',
      'NewLeaseDuration',
    ],
    out: [],
  },
  DeletePortMapping: { in: ['NewRemoteHost', 'NewExternalPort', 'NewProtocol'], out: [] },
  GetSpecificPortMappingEntry: {
    in: ['NewRemoteHost', 'NewExternalPort', 'NewProtocol'],
    out: [
      'NewInternalPort',
      'NewInternalClient',
      'NewEnabled',
      'NewPortMappingDescription',
      'NewLeaseDuration',
    ],
  },
};
const scpd = `<?xml version="1.0"?>
<scpd xmlns="urn:schemas-upnp-org:service-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<actionList>
${Object.entries(ACTIONS)
  .map(
    ([name, a]) =>
      `<action><name>${name}</name><argumentList>${[
        ...a.in.map((n) => `<argument><name>${n}</name><direction>in</direction></argument>`),
        ...a.out.map((n) => `<argument><name>${n}</name><direction>out</direction></argument>`),
      ].join('')}</argumentList></action>`,
  )
  .join('\n')}
</actionList>
<serviceStateTable></serviceStateTable>
</scpd>
`;

const emptyScpd = `<?xml version="1.0"?>
<scpd xmlns="urn:schemas-upnp-org:service-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<actionList></actionList>
<serviceStateTable></serviceStateTable>
</scpd>
`;

const envelope = (inner: string) =>
  `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>${inner}</s:Body></s:Envelope>\r\n`;

class Fault extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
  ) {
    super(`${code} ${description}`);
  }
}
const faultBody = (f: Fault) =>
  envelope(
    `<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${f.code}</errorCode><errorDescription>${xmlEscape(f.description)}</errorDescription></UPnPError></detail></s:Fault>`,
  );

/** The text of `<name>` (any namespace prefix) in the body, undefined when absent. */
function arg(body: string, name: string): string | undefined {
  const m = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?>([^<]*)</(?:[\\w.-]+:)?${name}\\s*>`).exec(body);
  if (m) return xmlUnescape(m[1]!).trim();
  return new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?/>`).test(body) ? '' : undefined;
}
const invalidArgs = () => new Fault(402, 'Invalid Args');
function port(body: string, name: string, allowZero = false): number {
  const text = arg(body, name);
  if (text === undefined || !/^\d{1,5}$/.test(text)) throw invalidArgs();
  const n = Number(text);
  if (n === 0 && !allowZero) throw invalidArgs();
  if (n > 65535) throw invalidArgs();
  return n;
}
function protocolOf(body: string): Protocol {
  const text = arg(body, 'NewProtocol');
  if (text === 'TCP') return 'tcp';
  if (text === 'UDP') return 'udp';
  throw invalidArgs();
}
function remoteHost(body: string): void {
  const text = arg(body, 'NewRemoteHost');
  if (text === undefined) throw invalidArgs();
  if (text !== '') throw new Fault(726, 'RemoteHostOnlySupportsWildcard');
}

const describe = (m: Mapping) => ({
  protocol: m.protocol,
  client: m.client,
  internal: m.internal,
  external: m.external,
  lifetime: m.lifetime,
  description: m.description,
});

async function unmap(m: Mapping, reason: 'deleted' | 'expired' | 'replaced'): Promise<void> {
  const k = key(m.protocol, m.external);
  if (mappings.get(k) !== m) return;
  mappings.delete(k);
  clearTimeout(m.timer);
  await rules.remove(m);
  if (reason !== 'replaced') print({ type: 'unmapped', ...describe(m), reason });
}

async function addPortMapping(body: string, requester: string): Promise<string> {
  remoteHost(body);
  const external = port(body, 'NewExternalPort', true);
  const protocol = protocolOf(body);
  const internal = port(body, 'NewInternalPort');
  const client = arg(body, 'NewInternalClient');
  const enabled = arg(body, 'NewEnabled');
  const description = (arg(body, 'NewPortMappingDescription') ?? '').slice(0, 256);
  const leaseText = arg(body, 'NewLeaseDuration');
  if (client === undefined || enabled === undefined || leaseText === undefined) throw invalidArgs();
  if (!/^\d{1,10}$/.test(leaseText)) throw invalidArgs();
  if (enabled !== '1' && enabled !== 'true') throw invalidArgs(); // a disabled entry: not supported
  if (external === 0) throw new Fault(716, 'WildCardNotPermittedInExtPort');
  if (client !== requester) throw new Fault(606, 'Action not authorized');
  const lifetime = Math.min(Number(leaseText), MAX_LEASE_S);
  const k = key(protocol, external);
  const existing = mappings.get(k);
  if (existing && existing.client !== client) throw new Fault(718, 'ConflictInMappingEntry');
  if (!existing && mappings.size >= MAX_MAPPINGS) throw new Fault(728, 'NoPortMapsAvailable');
  const timer =
    lifetime === 0
      ? undefined
      : setTimeout(() => {
          const held = mappings.get(k);
          if (held !== undefined && held.timer === timer) void unmap(held, 'expired');
        }, lifetime * 1000);
  timer?.unref();
  const m: Mapping = {
    protocol,
    client,
    internal,
    external,
    description,
    lifetime,
    expiresAt: lifetime === 0 ? undefined : performance.now() + lifetime * 1000,
    timer,
  };
  if (existing && existing.internal === internal) {
    // Same rules: a new lease and description only.
    clearTimeout(existing.timer);
    mappings.set(k, m);
  } else {
    if (existing) await unmap(existing, 'replaced');
    mappings.set(k, m); // before the await: a second request meanwhile sees the port taken
    try {
      await rules.add(m);
    } catch (error) {
      if (mappings.get(k) === m) mappings.delete(k);
      clearTimeout(timer);
      print({ type: 'error', message: String(error) });
      throw new Fault(501, 'Action Failed');
    }
    if (mappings.get(k) !== m) throw new Fault(501, 'Action Failed'); // closing
  }
  print({ type: 'mapped', ...describe(m), renewed: existing !== undefined });
  return '';
}

function entryOf(body: string): Mapping {
  remoteHost(body);
  const external = port(body, 'NewExternalPort');
  const m = mappings.get(key(protocolOf(body), external));
  if (!m) throw new Fault(714, 'NoSuchEntryInArray');
  return m;
}

/** The response arguments of `action`, or a Fault. */
async function control(action: string, body: string, requester: string): Promise<string> {
  switch (action) {
    case 'GetExternalIPAddress':
      return `<NewExternalIPAddress>${wanAddress}</NewExternalIPAddress>`;
    case 'GetStatusInfo': {
      const uptime = Math.floor((performance.now() - started) / 1000);
      return `<NewConnectionStatus>Connected</NewConnectionStatus><NewLastConnectionError>ERROR_NONE</NewLastConnectionError><NewUptime>${uptime}</NewUptime>`;
    }
    case 'GetConnectionTypeInfo':
      return '<NewConnectionType>IP_Routed</NewConnectionType><NewPossibleConnectionTypes>IP_Routed</NewPossibleConnectionTypes>';
    case 'AddPortMapping':
      return addPortMapping(body, requester);
    case 'DeletePortMapping': {
      const m = entryOf(body);
      if (m.client !== requester) throw new Fault(606, 'Action not authorized');
      await unmap(m, 'deleted');
      return '';
    }
    case 'GetSpecificPortMappingEntry': {
      const m = entryOf(body);
      const remaining =
        m.expiresAt === undefined ? 0 : Math.max(1, Math.round((m.expiresAt - performance.now()) / 1000));
      return [
        `<NewInternalPort>${m.internal}</NewInternalPort>`,
        `<NewInternalClient>${m.client}</NewInternalClient>`,
        '<NewEnabled>1</NewEnabled>',
        `<NewPortMappingDescription>${xmlEscape(m.description)}</NewPortMappingDescription>`,
        `<NewLeaseDuration>${remaining}</NewLeaseDuration>`,
      ].join('');
    }
    default:
      throw new Fault(401, 'Invalid Action');
  }
}

// ---------------------------------------------------------------------------------------------- HTTP

function reply(res: http.ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    Server: 'Linux/6 UPnP/1.0 gtt-lab-igd/1.0',
    Connection: 'close',
  });
  res.end(body);
}
const XML = 'text/xml; charset="utf-8"';

async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: string, from: string) {
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'GET' && path === DESCRIPTION) return reply(res, 200, XML, deviceDescription);
  if (req.method === 'GET' && path === SCPD) return reply(res, 200, XML, scpd);
  if (req.method === 'GET' && path === COMMON_SCPD) return reply(res, 200, XML, emptyScpd);
  if (req.method === 'POST' && path === COMMON_CONTROL) {
    return reply(res, 500, XML, faultBody(new Fault(401, 'Invalid Action')));
  }
  if (path !== CONTROL) return reply(res, 404, 'text/plain', 'Not Found\n');
  if (req.method !== 'POST') return reply(res, 405, 'text/plain', 'Method Not Allowed\n');
  const soapAction = String(req.headers.soapaction ?? '')
    .replace(/"/g, '')
    .trim();
  const hash = soapAction.lastIndexOf('#');
  const service = hash < 0 ? '' : soapAction.slice(0, hash);
  const action = hash < 0 ? '' : soapAction.slice(hash + 1);
  let inner: string;
  try {
    if (service !== SERVICE || !Object.hasOwn(ACTIONS, action)) throw new Fault(401, 'Invalid Action');
    // The body must be the action it announces.
    if (!new RegExp(`<(?:[\\w.-]+:)?${action}[\\s>/]`).test(body)) throw new Fault(401, 'Invalid Action');
    const out = await control(action, body, from);
    inner = `<u:${action}Response xmlns:u="${SERVICE}">${out}</u:${action}Response>`;
  } catch (error) {
    const fault = error instanceof Fault ? error : new Fault(501, 'Action Failed');
    if (!(error instanceof Fault)) print({ type: 'error', message: String(error) });
    return reply(res, 500, XML, faultBody(fault));
  }
  reply(res, 200, XML, envelope(inner));
}

const server = http.createServer({ maxHeaderSize: 8192 }, (req, res) => {
  const from = req.socket.remoteAddress ?? '';
  if (closing || !lan.onLan(from)) {
    req.socket.destroy();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = Number(req.headers['content-length'] ?? 0) > MAX_BODY;
  if (tooLarge) return reply(res, 413, 'text/plain', 'Payload Too Large\n');
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      tooLarge = true;
      reply(res, 413, 'text/plain', 'Payload Too Large\n');
      req.socket.destroySoon();
      return;
    }
    if (!tooLarge) chunks.push(chunk);
  });
  req.on('error', () => {});
  req.on('end', () => {
    if (tooLarge) return;
    handle(req, res, Buffer.concat(chunks).toString('utf8'), from).catch((error: unknown) => {
      print({ type: 'error', message: String(error) });
      reply(res, 500, 'text/plain', 'Internal Server Error\n');
    });
  });
});
server.maxConnections = MAX_CONNECTIONS;
server.requestTimeout = REQUEST_TIMEOUT_MS;
server.headersTimeout = REQUEST_TIMEOUT_MS;
server.keepAliveTimeout = 1000;
server.on('clientError', (_error, socket) => {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  else socket.destroy();
});
server.on('error', (error) => {
  print({ type: 'error', message: `http: ${String(error)}` });
  void shutdown(1);
});

// ------------------------------------------------------------------------------------ start and end

let closing: Promise<void> | undefined;
function shutdown(code: number): Promise<void> {
  closing ??= (async () => {
    try {
      ssdp.close();
    } catch {}
    server.close();
    server.closeAllConnections();
    await Promise.allSettled([...mappings.values()].map((m) => unmap(m, 'deleted')));
    await rules.drained();
    process.exit(code);
  })();
  return closing;
}

let listening = 0;
const up = () => {
  if (++listening === 2) {
    print({ type: 'ready', address: lanAddress, ssdp: SSDP_PORT, http: httpPort, location });
  }
};
ssdp.bind(SSDP_PORT, () => {
  try {
    // Multicast arrives on the LAN interface only: the group is joined on the LAN address.
    ssdp.addMembership(SSDP_GROUP, lanAddress);
    ssdp.setMulticastTTL(2);
  } catch (error) {
    print({ type: 'error', message: `ssdp: ${String(error)}` });
    void shutdown(1);
    return;
  }
  up();
});
server.listen(httpPort, lanAddress, up);

setTimeout(() => void shutdown(3), LIFETIME_MS).unref();
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => void shutdown(0));
serveCommands(
  () => {
    const now = performance.now();
    return [...mappings.values()].map((m) => ({
      ...describe(m),
      remaining: m.expiresAt === undefined ? null : Math.max(0, Math.round((m.expiresAt - now) / 1000)),
    }));
  },
  () => void shutdown(0),
);
