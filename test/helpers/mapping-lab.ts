/**
 * The set-up the port-mapping responder tests share (test/nat/port-mapping.test.ts for NAT-PMP,
 * test/nat/upnp.test.ts for UPnP): a one-home NAT lab whose router runs the responder, a listener on
 * {@link PORTS} in the home namespace (so that a mapping can be shown to reach it from the internet),
 * and small probes run inside a namespace. Root only, like the lab.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { type Child, killAll } from './child.js';
import { createNatLab, type NatLab } from './nat-lab.js';

/** The home's router on its LAN. */
export const GATEWAY = '10.0.1.1';
/** Ports the home listener listens on. */
export const PORTS = [7001, 7002, 7003];
/** Connects to host:port; prints `ok` or the error code (a silent drop is `timeout` after 1.5 s). */
const CONNECT = `const c=require('net').connect(+process.argv[2],process.argv[1]);const t=setTimeout(()=>{console.log('timeout');process.exit(0)},1500);c.on('connect',()=>{console.log('ok');clearTimeout(t);c.destroy()});c.on('error',e=>{console.log(e.code);clearTimeout(t)})`;
/** Listens on PORTS; prints {"listening":true}, then {"from":…,"port":…} per connection; ends with stdin or after 60 s. */
const LISTEN = `let n=0;for(const p of ${JSON.stringify(PORTS)})require('net').createServer(c=>{console.log(JSON.stringify({from:c.remoteAddress,port:p}));c.end()}).listen(p,'0.0.0.0',()=>{if(++n===${PORTS.length})console.log(JSON.stringify({listening:true}))});process.stdin.on('end',()=>process.exit(0)).resume();setTimeout(()=>process.exit(0),60000)`;

/** Whether `tool` is on the PATH. */
export function installed(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface MappingLab {
  /** The lab (set in `beforeAll`). */
  readonly lab: NatLab;
  /** Connections the home listener saw: `{ from, port }`. */
  readonly heard: Record<string, unknown>[];
  /** The router's responder. */
  mapper(): Child;
  /** `ok`, or why a TCP connection from `ns` (default the internet) to host:port did not open. */
  connect(host: string, port: number, ns?: string): Promise<string>;
  /** The responder's next event of `type` printed after its first `seen` lines. */
  next(type: string, seen: number): Promise<Record<string, unknown>>;
  /** Lines the responder printed so far (for `next`). */
  seen(): number;
}

/** Registers the lab's `beforeAll`/`afterAll` for a describe block, with a responder of `kind`. */
export function mappingLab(kind: 'nat-pmp' | 'upnp'): MappingLab {
  let lab: NatLab | undefined;
  let listener: ChildProcessWithoutNullStreams | undefined;
  const heard: Record<string, unknown>[] = [];
  const mapper = () => lab!.homes[0]!.portMapper!;
  beforeAll(async () => {
    lab = await createNatLab({ inetHosts: [], homes: [{ portMapping: kind }] });
    const l = spawn('ip', ['netns', 'exec', lab.home, process.execPath, '-e', LISTEN], { stdio: 'pipe' });
    listener = l;
    l.stdout.setEncoding('utf8');
    let partial = '';
    await new Promise<void>((resolve, reject) => {
      l.once('exit', () => reject(new Error('the home listener exited')));
      l.stdout.on('data', (chunk: string) => {
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
  return {
    get lab() {
      if (lab === undefined) throw new Error('the lab is built in beforeAll');
      return lab;
    },
    heard,
    mapper,
    connect: async (host, port, ns) =>
      (await lab!.exec(ns ?? lab!.inet, [process.execPath, '-e', CONNECT, host, String(port)])).trim(),
    next: async (type, seen) => {
      const line = await mapper().line(
        (l) => mapper().lines.indexOf(l, seen) >= 0 && l.startsWith(`{"type":"${type}"`),
        `a ${type} event`,
        10_000,
      );
      return JSON.parse(line) as Record<string, unknown>;
    },
    seen: () => mapper().lines.length,
  };
}
