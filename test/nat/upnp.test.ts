import { describe, expect, it } from 'vitest';
import { GATEWAY, installed, mappingLab } from '../helpers/mapping-lab.js';
import { HOME_ADDRESS, natLabUnavailable, ROUTER_WAN } from '../helpers/nat-lab.js';
import { portMappings, SSDP_GROUP, SSDP_PORT, UPNP_HTTP_PORT } from '../helpers/nat-topologies.js';

const noLab = await natLabUnavailable();
if (noLab) console.log(`test/nat/upnp.test.ts skipped: ${noLab}`);
const upnpc = installed('upnpc');
if (!noLab && !upnpc)
  console.log('test/nat/upnp.test.ts: upnpc case skipped: upnpc (Debian miniupnpc) is not installed');

const SERVICE = 'urn:schemas-upnp-org:service:WANIPConnection:1';
const IGD = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
const search = (st: string) =>
  `M-SEARCH * HTTP/1.1\r\nHOST: ${SSDP_GROUP}:${SSDP_PORT}\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ${st}\r\n\r\n`;
/**
 * Sends argv[2] (hex) to argv[1]:1900 over UDP from an unbound socket (the kernel picks the LAN
 * interface by the default route); prints a JSON array of the answers (text and source) once
 * argv[3] came, or after 1.5 s.
 */
const SSDP = `const d=require('dgram').createSocket('udp4');const got=[];const want=+process.argv[3];const end=()=>{console.log(JSON.stringify(got));process.exit(0)};setTimeout(end,1500);d.on('message',(m,r)=>{got.push({text:m.toString(),from:r.address});if(got.length>=want)end()});d.send(Buffer.from(process.argv[2],'hex'),${SSDP_PORT},process.argv[1])`;
/** An HTTP request (argv: method, url, headers JSON, body); prints {status,headers,body} or {error}. */
const HTTP = `fetch(process.argv[2],{method:process.argv[1],headers:JSON.parse(process.argv[3]),body:process.argv[1]==='GET'?undefined:process.argv[4],signal:AbortSignal.timeout(5000)}).then(async r=>console.log(JSON.stringify({status:r.status,type:r.headers.get('content-type'),body:await r.text()})),e=>console.log(JSON.stringify({error:String(e.cause?.code??e.name)})))`;
/** Writes argv[3] (hex) to argv[1]:argv[2] over TCP; prints what came back (JSON string) at its end or after 3 s. */
const RAW = `const c=require('net').connect(+process.argv[2],process.argv[1]);let out='';const end=()=>{console.log(JSON.stringify(out));process.exit(0)};setTimeout(end,3000);c.on('connect',()=>c.write(Buffer.from(process.argv[3],'hex')));c.on('data',d=>out+=d);c.on('close',end);c.on('error',e=>{out+='error:'+e.code})`;

const hexOf = (text: string) => Buffer.from(text, 'latin1').toString('hex');
const header = (text: string, name: string) =>
  new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(text)?.[1]?.trim();
const element = (xml: string, name: string) =>
  new RegExp(`<(?:\\w+:)?${name}>([^<]*)</(?:\\w+:)?${name}>`).exec(xml)?.[1];

interface HttpReply {
  status?: number;
  type?: string;
  body?: string;
  error?: string;
}

describe.skipIf(noLab !== undefined)('the NAT lab’s UPnP IGD (WANIPConnection:1)', () => {
  const m = mappingLab('upnp');
  const { heard, mapper, connect, next, seen } = m;
  let controlUrl: string;
  const ssdp = async (payload: string, want = 1, ns = m.lab.home, to = SSDP_GROUP) =>
    JSON.parse(
      (await m.lab.exec(ns, [process.execPath, '-e', SSDP, to, hexOf(payload), String(want)])).trim(),
    ) as { text: string; from: string }[];
  const request = async (
    method: string,
    url: string,
    headers: Record<string, string> = {},
    body = '',
    ns = m.lab.home,
  ) =>
    JSON.parse(
      (
        await m.lab.exec(ns, [process.execPath, '-e', HTTP, method, url, JSON.stringify(headers), body])
      ).trim(),
    ) as HttpReply;
  const soap = (action: string, args: Record<string, string | number> = {}, service = SERVICE) =>
    request(
      'POST',
      controlUrl,
      { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: `"${service}#${action}"` },
      `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:${action} xmlns:u="${service}">${Object.entries(
        args,
      )
        .map(([k, v]) => `<${k}>${v}</${k}>`)
        .join('')}</u:${action}></s:Body></s:Envelope>\r\n`,
    );
  const add = (external: number, internal: number, lease = 3600, client = HOME_ADDRESS, protocol = 'TCP') =>
    soap('AddPortMapping', {
      NewRemoteHost: '',
      NewExternalPort: external,
      NewProtocol: protocol,
      NewInternalPort: internal,
      NewInternalClient: client,
      NewEnabled: 1,
      NewPortMappingDescription: 'gtt test',
      NewLeaseDuration: lease,
    });
  const remove = (external: number, protocol = 'TCP') =>
    soap('DeletePortMapping', { NewRemoteHost: '', NewExternalPort: external, NewProtocol: protocol });
  const errorCode = (r: HttpReply) =>
    r.status === 500 ? Number(element(r.body ?? '', 'errorCode')) : r.status;
  const rules = () => m.lab.exec(m.lab.router, ['iptables-save']);

  it('the router joined the SSDP group on its LAN interface', async () => {
    const groups = await m.lab.exec(m.lab.router, ['ip', 'maddr', 'show', 'dev', 'lan']);
    expect(groups).toContain(SSDP_GROUP);
  });

  it('an SSDP M-SEARCH for the IGD gets a unicast answer with the LOCATION', async () => {
    const [answer, ...more] = await ssdp(search(IGD));
    expect(more).toEqual([]);
    expect(answer!.from).toBe(GATEWAY);
    expect(answer!.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(header(answer!.text, 'ST')).toBe(IGD);
    expect(header(answer!.text, 'USN')).toMatch(new RegExp(`^uuid:[0-9a-f-]{36}::${IGD}$`));
    expect(header(answer!.text, 'CACHE-CONTROL')).toBe('max-age=120');
    expect(answer!.text).toMatch(/\r\nEXT:\r\n/);
    expect(header(answer!.text, 'LOCATION')).toBe(`http://${GATEWAY}:${UPNP_HTTP_PORT}/rootDesc.xml`);
    // The other targets a client may search for.
    for (const st of ['upnp:rootdevice', SERVICE]) {
      const [a] = await ssdp(search(st));
      expect(header(a!.text, 'ST')).toBe(st);
    }
    const all = await ssdp(search('ssdp:all'), 6);
    expect(all.map((a) => header(a.text, 'ST'))).toEqual(
      expect.arrayContaining([IGD, SERVICE, 'upnp:rootdevice']),
    );
    // Sent to the router's own address too (unicast M-SEARCH).
    expect(await ssdp(search(IGD), 1, m.lab.home, GATEWAY)).toHaveLength(1);
    // Another device type: no answer.
    expect(await ssdp(search('urn:schemas-upnp-org:device:MediaServer:1'))).toEqual([]);
  });

  it('the description leads to the WANIPConnection:1 control URL; GetExternalIPAddress is the WAN address', async () => {
    const [answer] = await ssdp(search(IGD));
    const location = header(answer!.text, 'LOCATION')!;
    const description = await request('GET', location);
    expect(description.status).toBe(200);
    expect(description.type).toMatch(/^text\/xml/);
    const xml = description.body!;
    expect(xml).not.toContain('<URLBase>');
    const nested = [
      IGD,
      'urn:schemas-upnp-org:device:WANDevice:1',
      'urn:schemas-upnp-org:device:WANConnectionDevice:1',
    ];
    const at = nested.map((t) => xml.indexOf(`<deviceType>${t}</deviceType>`));
    expect(at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1]!))).toBe(true);
    const service = xml.slice(xml.indexOf(`<serviceType>${SERVICE}</serviceType>`));
    expect(element(service, 'controlURL')).toBe('/ctl/IPConn');
    controlUrl = new URL(element(service, 'controlURL')!, location).href;
    expect((await request('GET', new URL(element(service, 'SCPDURL')!, location).href)).status).toBe(200);
    const reply = await soap('GetExternalIPAddress');
    expect(reply.status).toBe(200);
    expect(reply.body).toContain(`<u:GetExternalIPAddressResponse xmlns:u="${SERVICE}">`);
    expect(element(reply.body!, 'NewExternalIPAddress')).toBe(ROUTER_WAN);
  });

  it('AddPortMapping: a connection from the internet to WAN:EXT reaches the home listener', async () => {
    const before = seen();
    const reply = await add(17001, 7001);
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('AddPortMappingResponse');
    expect(await next('mapped', before)).toMatchObject({
      protocol: 'tcp',
      client: HOME_ADDRESS,
      internal: 7001,
      external: 17001,
      lifetime: 3600,
      description: 'gtt test',
      renewed: false,
    });
    const heardBefore = heard.length;
    expect(await connect(ROUTER_WAN, 17001)).toBe('ok');
    await expect.poll(() => heard.slice(heardBefore)).toContainEqual({ from: '203.0.113.254', port: 7001 });
    expect(await connect(ROUTER_WAN, 7002)).toBe('timeout');
    expect(await portMappings(m.lab)).toEqual([
      expect.objectContaining({ protocol: 'tcp', internal: 7001, external: 17001, lifetime: 3600 }),
    ]);
    // The same request again renews it.
    const again = seen();
    expect((await add(17001, 7001, 0)).status).toBe(200);
    expect(await next('mapped', again)).toMatchObject({ external: 17001, lifetime: 0, renewed: true });
    expect(await portMappings(m.lab)).toEqual([expect.objectContaining({ lifetime: 0, remaining: null })]);
  });

  it('refuses a wrong NewInternalClient (606), a port of another client (718), bad arguments (402), an unknown action (401)', async () => {
    const wrong = await add(17002, 7002, 3600, '10.0.1.3');
    expect(wrong.status).toBe(500);
    expect(wrong.body).toContain('<UPnPError xmlns="urn:schemas-upnp-org:control-1-0">');
    expect(errorCode(wrong)).toBe(606);
    expect(element(wrong.body!, 'errorDescription')).toBe('Action not authorized');
    // 17001/TCP belongs to 10.0.1.2; another LAN host asking for it conflicts. The lab has one host:
    // a second address on its interface stands in for a second client.
    await m.lab.exec(m.lab.home, ['ip', 'addr', 'add', '10.0.1.9/24', 'dev', 'eth']);
    try {
      const other = `const b=${JSON.stringify(
        `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:AddPortMapping xmlns:u="${SERVICE}"><NewRemoteHost></NewRemoteHost><NewExternalPort>17001</NewExternalPort><NewProtocol>TCP</NewProtocol><NewInternalPort>7002</NewInternalPort><NewInternalClient>10.0.1.9</NewInternalClient><NewEnabled>1</NewEnabled><NewPortMappingDescription>x</NewPortMappingDescription><NewLeaseDuration>60</NewLeaseDuration></u:AddPortMapping></s:Body></s:Envelope>`,
      )};const r=require('http').request({host:'${GATEWAY}',port:${UPNP_HTTP_PORT},path:'/ctl/IPConn',method:'POST',localAddress:'10.0.1.9',headers:{'Content-Type':'text/xml; charset="utf-8"',SOAPAction:'"${SERVICE}#AddPortMapping"','Content-Length':Buffer.byteLength(b)}},res=>{let t='';res.on('data',d=>t+=d);res.on('end',()=>console.log(res.statusCode+' '+t))});r.on('error',e=>console.log(e.code));r.end(b)`;
      const out = await m.lab.exec(m.lab.home, [process.execPath, '-e', other]);
      expect(out).toMatch(/^500 /);
      expect(Number(element(out, 'errorCode'))).toBe(718);
    } finally {
      await m.lab.exec(m.lab.home, ['ip', 'addr', 'del', '10.0.1.9/24', 'dev', 'eth']);
    }
    // The same port of the other protocol is free.
    expect((await add(17001, 7003, 60, HOME_ADDRESS, 'UDP')).status).toBe(200);
    expect((await remove(17001, 'UDP')).status).toBe(200);
    expect(errorCode(await add(17002, 7002, 3600, HOME_ADDRESS, 'SCTP'))).toBe(402);
    expect(errorCode(await add(17002, 0))).toBe(402);
    expect(errorCode(await add(0, 7002))).toBe(716);
    expect(errorCode(await add(17002, 7002, -1))).toBe(402);
    expect(errorCode(await soap('AddPortMapping', { NewExternalPort: 17002 }))).toBe(402);
    expect(errorCode(await soap('RequestConnection'))).toBe(401);
    expect(errorCode(await soap('ForceTermination'))).toBe(401);
    expect(
      errorCode(await soap('GetExternalIPAddress', {}, 'urn:schemas-upnp-org:service:WANPPPConnection:1')),
    ).toBe(401);
    expect((await portMappings(m.lab))?.map((m) => m.external)).toEqual([17001]);
  });

  it('DeletePortMapping removes it: the inbound connection no longer connects; again: 714', async () => {
    const before = seen();
    const reply = await remove(17001);
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('DeletePortMappingResponse');
    expect(await next('unmapped', before)).toMatchObject({
      internal: 7001,
      external: 17001,
      reason: 'deleted',
    });
    expect(await connect(ROUTER_WAN, 17001)).toBe('timeout');
    expect(await connect('127.0.0.1', 7001, m.lab.home)).toBe('ok'); // the listener is still there
    expect(errorCode(await remove(17001))).toBe(714);
    expect(await portMappings(m.lab)).toEqual([]);
    expect(await rules()).not.toContain('gtt-upnp');
  });

  it('a lease that runs out deletes the mapping', async () => {
    const before = seen();
    expect((await add(17003, 7003, 1)).status).toBe(200);
    expect(await next('mapped', before)).toMatchObject({ external: 17003, lifetime: 1 });
    expect(await next('unmapped', before)).toMatchObject({ external: 17003, reason: 'expired' });
    expect(await portMappings(m.lab)).toEqual([]);
  });

  it('garbage SSDP and HTTP do not kill it', async () => {
    for (const junk of [
      '\u0000\u0001\u0002',
      'M-SEARCH * HTTP/1.1\r\n\r\n',
      `M-SEARCH * HTTP/1.1\r\nST: ${IGD}\r\n\r\n`, // no MAN
      `NOTIFY * HTTP/1.1\r\nMAN: "ssdp:discover"\r\nST: ${IGD}\r\n\r\n`,
      `M-SEARCH * HTTP/1.1\r\nMAN: "ssdp:discover"\r\nST: ${IGD}\r\n${'X: y\r\n'.repeat(400)}\r\n`,
    ]) {
      expect(await ssdp(junk)).toEqual([]);
    }
    const raw = async (text: string) =>
      JSON.parse(
        (
          await m.lab.exec(m.lab.home, [
            process.execPath,
            '-e',
            RAW,
            GATEWAY,
            String(UPNP_HTTP_PORT),
            hexOf(text),
          ])
        ).trim(),
      ) as string;
    expect(await raw('GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw('\u0000\u00ff\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\n\r\n`)).toMatch(/^HTTP\/1\.1 4\d\d/);
    const big = await request(
      'POST',
      controlUrl,
      { SOAPAction: `"${SERVICE}#AddPortMapping"` },
      `<x>${'a'.repeat(20_000)}</x>`,
    );
    expect(big.status ?? big.error).not.toBe(200);
    expect(
      errorCode(await request('POST', controlUrl, { SOAPAction: `"${SERVICE}#AddPortMapping"` }, '<<<')),
    ).toBe(401);
    expect(errorCode(await request('POST', controlUrl, {}, ''))).toBe(401);
    expect((await request('GET', `http://${GATEWAY}:${UPNP_HTTP_PORT}/nothing`)).status).toBe(404);
    // Not from the LAN: the router's WAN address answers nothing (its firewall).
    expect(await ssdp(search(IGD), 1, m.lab.inet, ROUTER_WAN)).toEqual([]);
    expect(mapper().child.exitCode).toBeNull();
    expect(await ssdp(search(IGD))).toHaveLength(1);
    expect(element((await soap('GetExternalIPAddress')).body!, 'NewExternalIPAddress')).toBe(ROUTER_WAN);
  });

  it.skipIf(!upnpc)('upnpc discovers it, reads the address and maps a port', async () => {
    // -i: miniupnpc 2.2 calls an IGD with a reserved (documentation) external address "not
    // connected?" and stops there without it.
    const upnpcOut = (args: string) => m.lab.exec(m.lab.home, ['sh', '-c', `upnpc -i ${args} 2>&1`]);
    const status = await upnpcOut('-s');
    expect(status).toContain(`desc: http://${GATEWAY}:${UPNP_HTTP_PORT}/rootDesc.xml`);
    expect(status).toContain(`ExternalIPAddress = ${ROUTER_WAN}`);
    expect(status).toContain('Status : Connected');
    const before = seen();
    const mapped = await upnpcOut(`-e gtt -a ${HOME_ADDRESS} 7003 17004 TCP 60`);
    expect(mapped).toContain('external 203.0.113.1:17004 TCP is redirected to internal 10.0.1.2:7003');
    expect(await next('mapped', before)).toMatchObject({ internal: 7003, external: 17004, lifetime: 60 });
    expect(await connect(ROUTER_WAN, 17004)).toBe('ok');
    const deleted = seen();
    expect(await upnpcOut('-d 17004 TCP')).toContain('UPNP_DeletePortMapping() returned : 0');
    expect(await next('unmapped', deleted)).toMatchObject({ external: 17004, reason: 'deleted' });
  });

  it('ends with its stdin and removes the rules of the mappings it still held', async () => {
    expect((await add(17001, 7001, 0)).status).toBe(200);
    expect((await add(17002, 7002, 3600, HOME_ADDRESS, 'UDP')).status).toBe(200);
    expect(await rules()).toContain('gtt-upnp');
    const before = seen();
    mapper().end();
    expect((await mapper().exited(10_000)).code).toBe(0);
    expect(await next('unmapped', before)).toMatchObject({ reason: 'deleted' });
    expect(await rules()).not.toContain('gtt-upnp');
    expect(await connect(ROUTER_WAN, 17001)).toBe('timeout');
  });
});
