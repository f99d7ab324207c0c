/**
 * The NAT lab's NAT-PMP responder (test/helpers/nat-pmp-responder.ts, RFC 6886; root only): a home
 * router with `portMapping: 'nat-pmp'` answers raw NAT-PMP packets sent from its LAN with its WAN
 * address, maps a TCP port (a connection from the internet to WAN:EXT reaches the home listener),
 * renews, deletes (the inbound connection then no longer connects), lets a lifetime expire, answers a
 * wrong version or opcode with its result code, ignores malformed packets without dying, and removes
 * its rules when it ends. Debian's `natpmpc`, when installed, talks to it too.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll } from '../helpers/child.js';
import {
  createNatLab,
  HOME_ADDRESS,
  type NatLab,
  natLabUnavailable,
  ROUTER_WAN,
} from '../helpers/nat-lab.js';
import { NAT_PMP_PORT, portMappings } from '../helpers/nat-topologies.js';

const noLab = await natLabUnavailable();
if (noLab) console.log(`test/nat/port-mapping.test.ts skipped: ${noLab}`);
const natpmpc = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v natpmpc'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!noLab && !natpmpc)
  console.log('test/nat/port-mapping.test.ts: natpmpc case skipped: natpmpc is not installed');

const GATEWAY = '10.0.1.1';
const PORTS = [7001, 7002, 7003];
/** Sends hex bytes to host:5351 over UDP; prints the reply's hex, or `none` after 1 s. */
const PMP = `const d=require('dgram').createSocket('udp4');setTimeout(()=>{console.log('none');process.exit(0)},1000);d.on('message',m=>{console.log(m.toString('hex'));process.exit(0)});d.send(Buffer.from(process.argv[2],'hex'),${NAT_PMP_PORT},process.argv[1])`;
/** Connects to host:port; prints `ok` or the error code (a silent drop is `timeout` after 1.5 s). */
const CONNECT = `const c=require('net').connect(+process.argv[2],process.argv[1]);const t=setTimeout(()=>{console.log('timeout');process.exit(0)},1500);c.on('connect',()=>{console.log('ok');clearTimeout(t);c.destroy()});c.on('error',e=>{console.log(e.code);clearTimeout(t)})`;
/** Listens on PORTS; prints {"listening":true}, then {"from":…,"port":…} per connection; ends with stdin or after 60 s. */
const LISTEN = `let n=0;for(const p of ${JSON.stringify(PORTS)})require('net').createServer(c=>{console.log(JSON.stringify({from:c.remoteAddress,port:p}));c.end()}).listen(p,'0.0.0.0',()=>{if(++n===${PORTS.length})console.log(JSON.stringify({listening:true}))});process.stdin.on('end',()=>process.exit(0)).resume();setTimeout(()=>process.exit(0),60000)`;

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
  let lab: NatLab;
  let listener: ChildProcessWithoutNullStreams | undefined;
  const heard: Record<string, unknown>[] = [];
  const mapper = () => lab.homes[0]!.portMapper!;
  const send = async (hexBytes: string, ns = lab.home, to = GATEWAY) =>
    decode((await lab.exec(ns, [process.execPath, '-e', PMP, to, hexBytes])).trim());
  const connect = async (host: string, port: number, ns = lab.inet) =>
    (await lab.exec(ns, [process.execPath, '-e', CONNECT, host, String(port)])).trim();
  /** The responder's next event of `type` after the `seen` it had printed before the request. */
  const next = async (type: string, seen: number) => {
    const line = await mapper().line(
      (l) => mapper().lines.indexOf(l, seen) >= 0 && l.startsWith(`{"type":"${type}"`),
      `a ${type} event`,
      10_000,
    );
    return JSON.parse(line) as Record<string, unknown>;
  };
  /** Lines printed so far: `next` looks at those after. */
  const seen = () => mapper().lines.length;

  beforeAll(async () => {
    lab = await createNatLab({ inetHosts: [], homes: [{ portMapping: 'nat-pmp' }] });
    listener = spawn('ip', ['netns', 'exec', lab.home, process.execPath, '-e', LISTEN], { stdio: 'pipe' });
    listener.stdout.setEncoding('utf8');
    let partial = '';
    await new Promise<void>((resolve, reject) => {
      listener!.once('exit', () => reject(new Error('the home listener exited')));
      listener!.stdout.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        for (const line of parts) {
          const e = JSON.parse(line) as Record<string, unknown>;
          if (e.listening) resolve();
          else heard.push(e);
        }
      });
    });
  }, 90_000);

  afterAll(async () => {
    if (listener?.pid !== undefined && listener.exitCode === null) listener.kill('SIGKILL');
    await lab?.close();
    killAll();
  });

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
    const list = await portMappings(lab);
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
    expect(await connect('127.0.0.1', 7001, lab.home)).toBe('ok'); // the listener is still there
    // Internal port 0 with lifetime 0: every TCP mapping of this client.
    const all = seen();
    expect(await send(mapRequest(2, 0, 0, 0))).toMatchObject({
      result: 0,
      internal: 0,
      mapped: 0,
      lifetime: 0,
    });
    expect(await next('unmapped', all)).toMatchObject({ internal: 7002, reason: 'deleted' });
    expect(await portMappings(lab)).toEqual([]);
    expect(await connect(ROUTER_WAN, 7002)).toBe('timeout');
    const rules = await lab.exec(lab.router, ['iptables-save']);
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
    expect(await portMappings(lab)).toEqual([]);
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
    expect(await send('0000', lab.inet, ROUTER_WAN)).toBe('none');
    expect(await send('0000')).toMatchObject({ result: 0, external: ROUTER_WAN });
    expect(mapper().child.exitCode).toBeNull();
  });

  it.skipIf(!natpmpc)('natpmpc gets the address and a mapping', async () => {
    const address = await lab.exec(lab.home, ['natpmpc', '-g', GATEWAY]);
    expect(address).toContain(`Public IP address : ${ROUTER_WAN}`);
    const before = seen();
    const mapped = await lab.exec(lab.home, ['natpmpc', '-g', GATEWAY, '-a', '17003', '7003', 'tcp', '60']);
    expect(mapped).toMatch(/Mapped public port 17003 protocol TCP to local port 7003 lif?e?time 60/);
    expect(await next('mapped', before)).toMatchObject({ internal: 7003, external: 17003 });
    expect(await connect(ROUTER_WAN, 17003)).toBe('ok');
    const deleted = seen();
    await lab.exec(lab.home, ['natpmpc', '-g', GATEWAY, '-a', '17003', '7003', 'tcp', '0']);
    expect(await next('unmapped', deleted)).toMatchObject({ internal: 7003, reason: 'deleted' });
  });

  it('ends with its stdin and removes the rules of the mappings it still held', async () => {
    expect(await send(mapRequest(2, 7001, 17001, 7200))).toMatchObject({ result: 0, mapped: 17001 });
    expect(await lab.exec(lab.router, ['iptables-save'])).toContain('gtt-pmp');
    const before = seen();
    mapper().end();
    expect((await mapper().exited(10_000)).code).toBe(0);
    expect(await next('unmapped', before)).toMatchObject({ internal: 7001, reason: 'deleted' });
    expect(await lab.exec(lab.router, ['iptables-save'])).not.toContain('gtt-pmp');
    expect(await connect(ROUTER_WAN, 17001)).toBe('timeout');
  });
});
