import { describe, expect, it } from 'vitest';
import { GATEWAY, installed, mappingLab } from '../helpers/mapping-lab.js';
import { HOME_ADDRESS, natLabUnavailable, ROUTER_WAN } from '../helpers/nat-lab.js';
import { NAT_PMP_PORT, portMappings } from '../helpers/nat-topologies.js';

const noLab = await natLabUnavailable();
if (noLab) console.log(`test/nat/port-mapping.test.ts skipped: ${noLab}`);
const natpmpc = installed('natpmpc');
if (!noLab && !natpmpc)
  console.log('test/nat/port-mapping.test.ts: natpmpc case skipped: natpmpc is not installed');

/** Sends hex bytes to host:5351 over UDP; prints the reply's hex, or `none` after 1 s. */
const PMP = `const d=require('dgram').createSocket('udp4');setTimeout(()=>{console.log('none');process.exit(0)},1000);d.on('message',m=>{console.log(m.toString('hex'));process.exit(0)});d.send(Buffer.from(process.argv[2],'hex'),${NAT_PMP_PORT},process.argv[1])`;

const hex = (...parts: [bytes: number, value: number][]) =>
  parts.map(([n, v]) => v.toString(16).padStart(n * 2, '0')).join('');
const mapRequest = (op: number, internal: number, suggested: number, lifetime: number) =>
  hex([1, 0], [1, op], [2, 0], [2, internal], [2, suggested], [4, lifetime]);

interface Reply {
  version: number;
  op: number;
  result: number;
  epoch: number;
  length: number;
  external?: string;
  internal?: number;
  mapped?: number;
  lifetime?: number;
}
function decode(text: string): Reply | 'none' {
  if (text === 'none') return 'none';
  const b = Buffer.from(text, 'hex');
  const reply: Reply = {
    version: b[0]!,
    op: b[1]!,
    result: b.readUInt16BE(2),
    epoch: b.readUInt32BE(4),
    length: b.length,
  };
  if (b.length === 12) reply.external = [...b.subarray(8, 12)].join('.');
  if (b.length === 16) {
    reply.internal = b.readUInt16BE(8);
    reply.mapped = b.readUInt16BE(10);
    reply.lifetime = b.readUInt32BE(12);
  }
  return reply;
}

describe.skipIf(noLab !== undefined)('the NAT lab’s NAT-PMP responder (RFC 6886)', () => {
  const m = mappingLab('nat-pmp');
  const { heard, mapper, connect, next, seen } = m;
  const send = async (hexBytes: string, ns = m.lab.home, to = GATEWAY) =>
    decode((await m.lab.exec(ns, [process.execPath, '-e', PMP, to, hexBytes])).trim());

  it('opcode 0: the external address is the router’s WAN address', async () => {
    const reply = await send('0000');
    expect(reply).toMatchObject({ version: 0, op: 128, result: 0, length: 12, external: ROUTER_WAN });
    expect((reply as Reply).epoch).toBeLessThan(600);
  });

  it('opcode 2 maps a TCP port: a connection from the internet to WAN:EXT reaches the home listener', async () => {
    const before = seen();
    const reply = await send(mapRequest(2, 7001, 17001, 7200));
    expect(reply).toMatchObject({
      op: 130,
      result: 0,
      length: 16,
      internal: 7001,
      mapped: 17001,
      lifetime: 7200,
    });
    expect(await next('mapped', before)).toMatchObject({
      protocol: 'tcp',
      client: HOME_ADDRESS,
      internal: 7001,
      external: 17001,
      lifetime: 7200,
    });
    const heardBefore = heard.length;
    expect(await connect(ROUTER_WAN, 17001)).toBe('ok');
    // DNAT only: the listener sees the internet host itself, on the internal port.
    await expect.poll(() => heard.slice(heardBefore)).toContainEqual({ from: '203.0.113.254', port: 7001 });
    // Nothing else is open on the WAN address.
    expect(await connect(ROUTER_WAN, 7002)).toBe('timeout');
  });

  it('a taken suggested port gets another; a repeated request renews the same mapping', async () => {
    const other = await send(mapRequest(2, 7002, 17001, 3600));
    expect(other).toMatchObject({ result: 0, internal: 7002, mapped: 7002, lifetime: 3600 });
    const before = seen();
    const renewed = await send(mapRequest(2, 7001, 18000, 7200));
    expect(renewed).toMatchObject({ result: 0, internal: 7001, mapped: 17001 });
    expect(await next('mapped', before)).toMatchObject({ external: 17001, renewed: true });
    const list = await portMappings(m.lab);
    expect(list?.map((m) => [m.internal, m.external]).sort()).toEqual([
      [7001, 17001],
      [7002, 7002],
    ]);
    expect(await connect(ROUTER_WAN, 7002)).toBe('ok');
  });

  it('lifetime 0 deletes: the responder prints unmapped and the inbound connection no longer connects', async () => {
    const before = seen();
    const reply = await send(mapRequest(2, 7001, 0, 0));
    expect(reply).toMatchObject({ op: 130, result: 0, internal: 7001, mapped: 0, lifetime: 0 });
    expect(await next('unmapped', before)).toMatchObject({
      internal: 7001,
      external: 17001,
      reason: 'deleted',
    });
    expect(await connect(ROUTER_WAN, 17001)).toBe('timeout');
    expect(await connect('127.0.0.1', 7001, m.lab.home)).toBe('ok'); // the listener is still there
    // Internal port 0 with lifetime 0: every TCP mapping of this client.
    const all = seen();
    expect(await send(mapRequest(2, 0, 0, 0))).toMatchObject({
      result: 0,
      internal: 0,
      mapped: 0,
      lifetime: 0,
    });
    expect(await next('unmapped', all)).toMatchObject({ internal: 7002, reason: 'deleted' });
    expect(await portMappings(m.lab)).toEqual([]);
    expect(await connect(ROUTER_WAN, 7002)).toBe('timeout');
    const rules = await m.lab.exec(m.lab.router, ['iptables-save']);
    expect(rules).not.toContain('gtt-pmp');
  });

  it('a lifetime that runs out deletes the mapping', async () => {
    const before = seen();
    expect(await send(mapRequest(1, 7003, 7003, 1))).toMatchObject({
      op: 129,
      result: 0,
      mapped: 7003,
      lifetime: 1,
    });
    expect(await next('mapped', before)).toMatchObject({ protocol: 'udp', lifetime: 1 });
    expect(await next('unmapped', before)).toMatchObject({
      protocol: 'udp',
      internal: 7003,
      reason: 'expired',
    });
    expect(await portMappings(m.lab)).toEqual([]);
  });

  it('wrong version and opcode get their result codes; malformed packets are ignored without dying', async () => {
    expect(await send('0100')).toMatchObject({ version: 0, op: 128, result: 1, length: 8 }); // §3.5 errata
    expect(await send('0200')).toMatchObject({ op: 128, result: 1 }); // a PCP request
    expect(await send('0005')).toMatchObject({ op: 133, result: 5, length: 8 });
    expect(await send('00')).toBe('none');
    expect(await send('0002000a')).toBe('none'); // a mapping request cut short
    expect(await send('0080000000000000')).toBe('none'); // a response, not a request
    // Internal port 0 with a lifetime is no mapping: refused.
    expect(await send(mapRequest(2, 0, 1234, 60))).toMatchObject({ op: 130, result: 2, mapped: 0 });
    // Not from the LAN: the WAN address answers nothing.
    expect(await send('0000', m.lab.inet, ROUTER_WAN)).toBe('none');
    expect(await send('0000')).toMatchObject({ result: 0, external: ROUTER_WAN });
    expect(mapper().child.exitCode).toBeNull();
  });

  it.skipIf(!natpmpc)('natpmpc gets the address and a mapping', async () => {
    const address = await m.lab.exec(m.lab.home, ['natpmpc', '-g', GATEWAY]);
    expect(address).toContain(`Public IP address : ${ROUTER_WAN}`);
    const before = seen();
    const mapped = await m.lab.exec(m.lab.home, [
      'natpmpc',
      '-g',
      GATEWAY,
      '-a',
      '17003',
      '7003',
      'tcp',
      '60',
    ]);
    expect(mapped).toMatch(/Mapped public port 17003 protocol TCP to local port 7003 lif?e?time 60/);
    expect(await next('mapped', before)).toMatchObject({ internal: 7003, external: 17003 });
    expect(await connect(ROUTER_WAN, 17003)).toBe('ok');
    const deleted = seen();
    await m.lab.exec(m.lab.home, ['natpmpc', '-g', GATEWAY, '-a', '17003', '7003', 'tcp', '0']);
    expect(await next('unmapped', deleted)).toMatchObject({ internal: 7003, reason: 'deleted' });
  });

  it('ends with its stdin and removes the rules of the mappings it still held', async () => {
    expect(await send(mapRequest(2, 7001, 17001, 7200))).toMatchObject({ result: 0, mapped: 17001 });
    expect(await m.lab.exec(m.lab.router, ['iptables-save'])).toContain('gtt-pmp');
    const before = seen();
    mapper().end();
    expect((await mapper().exited(10_000)).code).toBe(0);
    expect(await next('unmapped', before)).toMatchObject({ internal: 7001, reason: 'deleted' });
    expect(await m.lab.exec(m.lab.router, ['iptables-save'])).not.toContain('gtt-pmp');
    expect(await connect(ROUTER_WAN, 17001)).toBe('timeout');
  });
});
