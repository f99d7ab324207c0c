/**
 * What the NAT lab's port-mapping servers share (nat-pmp-responder.ts, upnp-responder.ts; each a child
 * in a home router's namespace): the LAN they answer, the iptables rules of a mapping, their JSON
 * events on stdout and their stdin commands.
 *
 * - A mapping is a DNAT rule in `nat PREROUTING` (`-i WAN -p PROTO --dport EXT → CLIENT:INTERNAL`) and
 *   an ACCEPT rule at the top of `FORWARD` (the lab's FORWARD policy is DROP) for exactly the
 *   connections that DNAT sent there, both tagged with the server's comment (`gtt-pmp`, `gtt-upnp`).
 *   iptables runs one command at a time, in order: a delete never overtakes the add it undoes.
 * - stdout: one JSON object a line (`print`). stdin: `{"cmd":"list","id"?:…}` → `{"type":"list",id,
 *   mappings:[…]}`; the end of stdin ends the server (`serveCommands`).
 */
import { execFile } from 'node:child_process';
import { createInterface } from 'node:readline';

const COMMAND_TIMEOUT_MS = 10_000;

export type Protocol = 'udp' | 'tcp';

/** What a rule needs of a mapping. */
export interface Rule {
  readonly protocol: Protocol;
  readonly client: string;
  readonly internal: number;
  readonly external: number;
}

/** One JSON event on stdout. */
export const print = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

export const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
export const toInt = (ip: string): number => ip.split('.').reduce((n, b) => n * 256 + Number(b), 0);

/** The router's LAN (`10.0.1.1/24`), or undefined when `cidr` is not such an address and prefix. */
export function parseLan(cidr: string): { address: string; onLan(ip: string): boolean } | undefined {
  const [address, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  if (!address || !IPV4.test(address) || !(prefix >= 8 && prefix <= 30)) return undefined;
  const mask = 2 ** 32 - 2 ** (32 - prefix);
  const network = (toInt(address) & mask) >>> 0;
  const broadcast = network + 2 ** (32 - prefix) - 1;
  return {
    address,
    /** A host on the LAN other than the router itself (the network and broadcast addresses are not). */
    onLan(ip: string) {
      // An IPv4 socket may report a mapped address (::ffff:10.0.1.2).
      const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
      if (!IPV4.test(v4)) return false;
      const n = toInt(v4);
      return (n & mask) >>> 0 === network && n !== network && n !== broadcast && v4 !== address;
    },
  };
}

function run(argv: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: COMMAND_TIMEOUT_MS }, (error, _out, stderr) => {
      if (error) reject(new Error(`${argv.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve();
    });
  });
}

/** The iptables rules of mappings, tagged `tag`, between `wanIface` and `lanIface`. */
export function mappingRules(wanIface: string, lanIface: string, tag: string) {
  let queue: Promise<unknown> = Promise.resolve();
  const serial = (argv: readonly string[]): Promise<void> => {
    const next = queue.then(() => run(argv));
    queue = next.catch(() => {});
    return next;
  };
  const dnat = (m: Rule) => [
    ...['PREROUTING', '-i', wanIface, '-p', m.protocol, '--dport', String(m.external)],
    ...['-m', 'comment', '--comment', tag, '-j', 'DNAT', '--to-destination', `${m.client}:${m.internal}`],
  ];
  const forward = (m: Rule) => [
    ...['-i', wanIface, '-o', lanIface, '-p', m.protocol, '-d', m.client, '--dport', String(m.internal)],
    ...['-m', 'conntrack', '--ctstate', 'DNAT', '--ctorigdstport', String(m.external)],
    ...['-m', 'comment', '--comment', tag, '-j', 'ACCEPT'],
  ];
  return {
    /** Adds both rules (none when the second fails). */
    async add(m: Rule): Promise<void> {
      await serial(['iptables', '-t', 'nat', '-A', ...dnat(m)]);
      try {
        await serial(['iptables', '-I', 'FORWARD', '1', ...forward(m)]);
      } catch (error) {
        await serial(['iptables', '-t', 'nat', '-D', ...dnat(m)]).catch(() => {});
        throw error;
      }
    },
    /** Removes both rules (never throws). */
    async remove(m: Rule): Promise<void> {
      await Promise.allSettled([
        serial(['iptables', '-t', 'nat', '-D', ...dnat(m)]),
        serial(['iptables', '-D', 'FORWARD', ...forward(m)]),
      ]);
    },
    /** Resolves once every command queued so far ran. */
    drained: (): Promise<unknown> => queue,
  };
}

/**
 * Reads commands on stdin: `list` prints `{"type":"list",id,mappings:list()}`; other lines are
 * ignored; `onEnd` runs when stdin closes.
 */
export function serveCommands(list: () => unknown[], onEnd: () => void): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    let command: { cmd?: unknown; id?: unknown } | null;
    try {
      command = JSON.parse(line) as typeof command;
    } catch {
      return;
    }
    if (command?.cmd === 'list') print({ type: 'list', id: command.id ?? null, mappings: list() });
  });
  lines.on('close', onEnd);
}
