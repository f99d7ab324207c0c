/**
 * A NAT-PMP server (RFC 6886) for the NAT lab (test/helpers/nat-lab.ts `HomeOptions.portMapping`),
 * run as a child inside a home router's namespace, driving the router's iptables:
 *
 *   nat-pmp-responder.ts LAN_CIDR WAN_ADDRESS [WAN_IFACE] [LAN_IFACE]
 *     LAN_CIDR: the router's LAN address and prefix (10.0.1.1/24); it binds UDP LAN:5351 and answers
 *     only sources on that LAN. WAN_ADDRESS: the external address it reports. Interfaces default to
 *     the lab's names, `wan` and `lan`.
 *
 * - Opcode 0 → the external address (§3.2). Opcodes 1/2 (map UDP/TCP, §3.3) → a DNAT rule in
 *   `nat PREROUTING` (`-i WAN --dport EXT → CLIENT:INTERNAL`) and an ACCEPT rule at the top of
 *   `FORWARD` (the lab's FORWARD policy is DROP), both tagged with the comment `gtt-pmp`. EXT is the
 *   suggested port when no other mapping of that protocol holds it, else the internal port, else the
 *   next free one. A request for a (client, protocol, internal port) already mapped renews it with the
 *   same EXT. Lifetime 0 deletes (internal port 0: all of that client's mappings of the protocol);
 *   a lifetime running out deletes too.
 * - Version ≠ 0 → result 1 (Unsupported Version, the errata's OP = 128 + op, §3.5); opcode < 128 not
 *   0/1/2 → result 5; more than `MAX_MAPPINGS` → result 4; internal port 0 with a lifetime → result 2.
 *   A packet too short for its opcode, a response (opcode ≥ 128) or one from outside the LAN is ignored.
 *   Seconds since start of epoch count from this process's start (its mapping table).
 * - stdout, one JSON line per event: `{"type":"ready"}`, `{"type":"mapped",protocol,client,internal,
 *   external,lifetime,renewed}`, `{"type":"unmapped",…,"reason":"deleted"|"expired"}`, `{"type":"error",
 *   message}`. stdin: `{"cmd":"list","id"?:…}` → `{"type":"list","id",mappings:[…]}`.
 * - Removes every rule it added when stdin closes, on SIGTERM/SIGINT, or after its lifetime (15 min),
 *   then exits.
 */
import dgram from 'node:dgram';
import {
  IPV4,
  mappingRules,
  type Protocol,
  parseLan,
  print,
  serveCommands,
  toInt,
} from './port-mapping-rules.js';

const PORT = 5351;
const LIFETIME_MS = 15 * 60_000;
/** Mappings held at once (every client, both protocols); beyond: result 4 (Out of resources). */
const MAX_MAPPINGS = 64;
/** Longest lifetime granted (s): a lab run is minutes; RFC 6886 §3.3 lets the server shorten it. */
const MAX_LIFETIME_S = 24 * 3600;
const TAG = 'gtt-pmp';

enum Result {
  Success = 0,
  UnsupportedVersion = 1,
  Refused = 2,
  OutOfResources = 4,
  UnsupportedOpcode = 5,
}

interface Mapping {
  readonly protocol: Protocol;
  readonly client: string;
  readonly internal: number;
  readonly external: number;
  lifetime: number;
  expiresAt: number;
  timer: NodeJS.Timeout;
}

const [lanCidr, wanAddress, wanIface = 'wan', lanIface = 'lan'] = process.argv.slice(2);
const lan = parseLan(lanCidr ?? '');
if (!lan || !IPV4.test(wanAddress ?? '')) {
  print({ type: 'error', message: 'usage: nat-pmp-responder.ts LAN_ADDRESS/PREFIX WAN_ADDRESS [WAN] [LAN]' });
  process.exit(2);
}
const lanAddress = lan.address;
const onLan = lan.onLan;

const started = performance.now();
const epochSeconds = () => Math.floor((performance.now() - started) / 1000) >>> 0;
const mappings = new Set<Mapping>();
const rules = mappingRules(wanIface, lanIface, TAG);
const addRules = rules.add;
const removeRules = rules.remove;

const describe = (m: Mapping) => ({
  protocol: m.protocol,
  client: m.client,
  internal: m.internal,
  external: m.external,
  lifetime: m.lifetime,
});

async function unmap(m: Mapping, reason: 'deleted' | 'expired'): Promise<void> {
  if (!mappings.delete(m)) return;
  clearTimeout(m.timer);
  await removeRules(m);
  print({ type: 'unmapped', ...describe(m), reason });
}

function arm(m: Mapping, lifetime: number): void {
  clearTimeout(m.timer);
  m.lifetime = lifetime;
  m.expiresAt = performance.now() + lifetime * 1000;
  m.timer = setTimeout(() => void unmap(m, 'expired'), lifetime * 1000);
  m.timer.unref();
}

/** The suggested port if free, else the internal port, else the next free port above 1023. */
function chooseExternal(protocol: Protocol, suggested: number, internal: number): number | undefined {
  const taken = new Set([...mappings].filter((m) => m.protocol === protocol).map((m) => m.external));
  for (const port of [suggested, internal]) if (port !== 0 && !taken.has(port)) return port;
  for (let i = 0; i < 65535 - 1024; i++) {
    const port = 1024 + ((internal + i) % (65536 - 1024));
    if (!taken.has(port)) return port;
  }
  return undefined;
}

function header(op: number, result: Result, length: number): Buffer {
  const b = Buffer.alloc(length);
  b[0] = 0;
  b[1] = 128 + op;
  b.writeUInt16BE(result, 2);
  b.writeUInt32BE(epochSeconds(), 4);
  return b;
}
function mapResponse(op: number, result: Result, internal: number, external: number, lifetime: number) {
  const b = header(op, result, 16);
  b.writeUInt16BE(internal, 8);
  b.writeUInt16BE(external, 10);
  b.writeUInt32BE(lifetime, 12);
  return b;
}

/** The answer to one request (RFC 6886 §3), or undefined to ignore it. */
async function answer(msg: Buffer, client: string): Promise<Buffer | undefined> {
  if (msg.length < 2) return undefined;
  const version = msg[0]!;
  const op = msg[1]!;
  if (op >= 128) return undefined; // a response, not a request (§3.5)
  if (version !== 0) return header(0, Result.UnsupportedVersion, 8);
  if (op === 0) {
    const b = header(0, Result.Success, 12);
    b.writeUInt32BE(toInt(wanAddress!) >>> 0, 8);
    return b;
  }
  if (op !== 1 && op !== 2) return header(op, Result.UnsupportedOpcode, 8);
  if (msg.length < 12) return undefined;
  const protocol: Protocol = op === 1 ? 'udp' : 'tcp';
  const internal = msg.readUInt16BE(4);
  const suggested = msg.readUInt16BE(6);
  const requested = msg.readUInt32BE(8);
  const own = [...mappings].filter((m) => m.protocol === protocol && m.client === client);
  if (requested === 0) {
    // Deletion (§3.4): of one internal port, or of every mapping of the client (internal port 0).
    for (const m of own) if (internal === 0 || m.internal === internal) await unmap(m, 'deleted');
    return mapResponse(op, Result.Success, internal, 0, 0);
  }
  if (internal === 0) return mapResponse(op, Result.Refused, internal, 0, 0);
  const lifetime = Math.min(requested, MAX_LIFETIME_S);
  const existing = own.find((m) => m.internal === internal);
  if (existing) {
    arm(existing, lifetime);
    print({ type: 'mapped', ...describe(existing), renewed: true });
    return mapResponse(op, Result.Success, internal, existing.external, lifetime);
  }
  const external = mappings.size < MAX_MAPPINGS ? chooseExternal(protocol, suggested, internal) : undefined;
  if (external === undefined) return mapResponse(op, Result.OutOfResources, internal, 0, 0);
  const m: Mapping = {
    protocol,
    client,
    internal,
    external,
    lifetime,
    expiresAt: 0,
    timer: setTimeout(() => {}),
  };
  mappings.add(m); // before the awaits: a second request meanwhile sees the port taken
  try {
    await addRules(m);
  } catch (error) {
    mappings.delete(m);
    clearTimeout(m.timer);
    print({ type: 'error', message: String(error) });
    return mapResponse(op, Result.OutOfResources, internal, 0, 0);
  }
  if (!mappings.has(m)) return mapResponse(op, Result.OutOfResources, internal, 0, 0); // closing
  arm(m, lifetime);
  print({ type: 'mapped', ...describe(m), renewed: false });
  return mapResponse(op, Result.Success, internal, external, lifetime);
}

let closing: Promise<void> | undefined;
function shutdown(code: number): Promise<void> {
  closing ??= (async () => {
    socket.close();
    await Promise.allSettled([...mappings].map((m) => unmap(m, 'deleted')));
    await rules.drained();
    process.exit(code);
  })();
  return closing;
}

const socket = dgram.createSocket('udp4');
socket.on('message', (msg, rinfo) => {
  if (closing || !onLan(rinfo.address)) return;
  answer(msg, rinfo.address).then(
    (reply) => {
      if (reply && !closing) socket.send(reply, rinfo.port, rinfo.address);
    },
    (error: unknown) => print({ type: 'error', message: String(error) }),
  );
});
socket.on('error', (error) => {
  print({ type: 'error', message: String(error) });
  void shutdown(1);
});
socket.bind(PORT, lanAddress, () => print({ type: 'ready', address: lanAddress, port: PORT }));

setTimeout(() => void shutdown(3), LIFETIME_MS).unref();
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => void shutdown(0));
serveCommands(
  () => {
    const now = performance.now();
    return [...mappings].map((m) => ({
      ...describe(m),
      remaining: Math.max(0, Math.round((m.expiresAt - now) / 1000)),
    }));
  },
  () => void shutdown(0),
);
