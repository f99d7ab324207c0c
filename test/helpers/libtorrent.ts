/**
 * Real libtorrent DHT nodes on loopback, for the interop lab (test/interop): most of the real DHT's
 * storing nodes run libtorrent, which does not store BEP 44 items the way bittorrent-dht does (to an
 * equal-seq put of another value it answers success and keeps the old one).
 *
 * {@link createLibtorrentTestnet} runs `libtorrent_node.py` (python3-libtorrent, libtorrent 2.0) as one
 * child process hosting N sessions, node i on its own host 127.(1+i).0.1, and talks to it in
 * line-delimited JSON (the script's docstring has the protocol and every libtorrent setting it
 * changes, with why). The child exits by itself when its stdin closes or its lifetime runs out, and
 * `close()` kills it by pid if it has not exited within {@link CLOSE_GRACE_MS}. Every request has a
 * deadline on both sides.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

const SCRIPT = fileURLToPath(new URL('./libtorrent_node.py', import.meta.url));
/**
 * `GTT_PYTHON` alone when set; else the Debian package's interpreter first (a pyenv or venv `python3`
 * on PATH does not see its modules), then `python3`.
 */
const PYTHONS = process.env.GTT_PYTHON ? [process.env.GTT_PYTHON] : ['/usr/bin/python3', 'python3'];
/** Budget of the availability probe (an interpreter start and an import). */
const PROBE_TIMEOUT_MS = 15_000;
/** Budget of the start-up: sessions, bootstrap, routing tables (the script gives up after 30 s). */
const START_TIMEOUT_MS = 45_000;
/** Default lifetime of the child: it exits after this even if nobody closes it. */
const DEFAULT_LIFETIME_MS = 300_000;
/** Margin of a request's deadline over the one the script enforces itself. */
const REQUEST_MARGIN_MS = 5_000;
/**
 * Default budget of a libtorrent get or put (its traversal of the DHT): libtorrent waits out its 15 s
 * query timeout for a node that never answers; measured: a put traversal that met its own session in
 * a reply's `nodes` sent it a `put` and waited for itself.
 */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Budget of stop, start and stats. */
const CONTROL_TIMEOUT_MS = 20_000;
/** How long close() waits for the child to exit before killing it. */
const CLOSE_GRACE_MS = 3_000;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** A mutable item as a libtorrent client read it. */
export interface LibtorrentItem {
  readonly value: Uint8Array;
  readonly seq: number;
  readonly signature: Uint8Array;
}

export interface LibtorrentNodeStats {
  readonly host: string;
  readonly port: number;
  /** Its DHT node id (hex) now, null when stopped: libtorrent may change it (BEP 42). */
  readonly id: string | null;
  readonly running: boolean;
  /** Nodes in its routing table (0 when stopped). */
  readonly routingTable: number;
}

export interface LibtorrentTestnetOptions {
  /** Sessions to run (1..254); node i listens on 127.(1+i).0.1 unless `hosts` is given. */
  readonly nodes: number;
  /**
   * One address per node instead (then `nodes` is its length): loopback or documentation addresses
   * (RFC 5737) only, which the script checks.
   */
  readonly hosts?: readonly string[];
  /** Run the child inside this network namespace (`ip netns exec`; the NAT lab's, root only). */
  readonly netns?: string;
  /**
   * Raise libtorrent's per-IP DoS block (`dht_block_ratelimit`) and its DHT upload rate limit
   * (`dht_upload_rate_limit`) out of the way, for labs that send far more from one IP than a real
   * client would. Default false: libtorrent's defaults.
   */
  readonly relaxed?: boolean;
  /** Extra `host:port` bootstrap addresses (127.x only), e.g. a bittorrent-dht testnet's. */
  readonly bootstrap?: readonly string[];
  /** The child exits after this long whatever happens (default 300 s). */
  readonly lifetimeMs?: number;
  /** Routing-table size every node must reach before ready: min(nodes − 1, this) (default 8). */
  readonly minRouting?: number;
}

export interface LibtorrentTestnet {
  readonly nodes: readonly HostPort[];
  /** `host:port` of node 0 and node 1 (when there are two): pass as `bootstrap` to join. */
  readonly bootstrap: string[];
  /** A BEP 44 mutable get from node `node` (default 0), as a libtorrent client; undefined: none found. */
  get(
    slot: { publicKey: Uint8Array; salt?: Uint8Array },
    opts?: { node?: number; timeoutMs?: number },
  ): Promise<LibtorrentItem | undefined>;
  /**
   * A BEP 44 mutable put from node `node` (default 0), signed by libtorrent with `secretKey` (the
   * 32-byte seed); libtorrent chooses the seq (one above the highest it found).
   */
  put(
    slot: { publicKey: Uint8Array; secretKey: Uint8Array; salt?: Uint8Array },
    value: Uint8Array,
    opts?: { node?: number; timeoutMs?: number },
  ): Promise<{ seq: number; numSuccess: number }>;
  /** Stops node i: its session goes, with its routing table and its stored items. */
  stop(i: number): Promise<void>;
  /** Starts node i again, fresh, on the same host and port; resolves once it knows a node. */
  start(i: number): Promise<void>;
  /** Each node's id and routing-table size. */
  stats(): Promise<LibtorrentNodeStats[]>;
  /** Ends the child (kills it by pid if it lingers). Idempotent. */
  close(): Promise<void>;
}

let available: Promise<{ python: string } | { reason: string }> | undefined;

/** Runs `python -c code`, bounded; resolves with stdout or an error message. */
function probe(
  python: string,
  code: string,
): Promise<{ ok: true; out: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    execFile(python, ['-c', code], { timeout: PROBE_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        resolve({
          ok: false,
          error: missing ? 'not found' : (stderr.trim().split('\n').pop() ?? error.message),
        });
      } else resolve({ ok: true, out: stdout.trim() });
    });
  });
}

/** Whether 127.2.0.1 (node 1's host) can be bound: true on Linux, where all of 127/8 is local. */
function canBindLoopbackHosts(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(0, '127.2.0.1', () => {
      socket.close();
      resolve(true);
    });
  });
}

async function findPython(): Promise<{ python: string } | { reason: string }> {
  if (!(await canBindLoopbackHosts())) return { reason: '127.2.0.1 is not a local address on this machine' };
  let failure = 'python3 not found';
  for (const python of PYTHONS) {
    const r = await probe(python, 'import libtorrent; print(libtorrent.__version__)');
    if (r.ok) {
      const major = Number(r.out.split('.')[0]);
      if (major >= 2) return { python };
      failure = `libtorrent ${r.out} at ${python} is older than 2.0`;
    } else if (r.error !== 'not found')
      failure = `python3-libtorrent is not installed (${python}: ${r.error})`;
  }
  return { reason: failure };
}

/**
 * Undefined when the lab can run here (Linux loopback, python3 with libtorrent ≥ 2.0), else a one-line
 * reason such as "python3-libtorrent is not installed". Probed once per process.
 */
export async function libtorrentAvailable(): Promise<string | undefined> {
  const r = await probeOnce();
  return 'reason' in r ? r.reason : undefined;
}

function probeOnce(): Promise<{ python: string } | { reason: string }> {
  available ??= findPython();
  return available;
}

type Pending = {
  resolve(msg: Record<string, unknown>): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
};

/**
 * Starts `nodes` libtorrent sessions on loopback, bootstrapped to each other (and to `bootstrap`), and
 * resolves once every routing table holds min(nodes − 1, `minRouting`) nodes.
 * @throws Error when libtorrent is unavailable (see {@link libtorrentAvailable}) or start-up fails.
 */
export async function createLibtorrentTestnet(options: LibtorrentTestnetOptions): Promise<LibtorrentTestnet> {
  const found = await probeOnce();
  if ('reason' in found) throw new Error(`libtorrent testnet unavailable: ${found.reason}`);
  const args = [SCRIPT, '--nodes', String(options.hosts?.length ?? options.nodes)];
  if (options.hosts) args.push('--hosts', options.hosts.join(','));
  args.push('--lifetime-ms', String(options.lifetimeMs ?? DEFAULT_LIFETIME_MS));
  if (options.relaxed) args.push('--relaxed');
  if (options.minRouting !== undefined) args.push('--min-routing', String(options.minRouting));
  for (const b of options.bootstrap ?? []) args.push('--bootstrap', b);
  // `ip netns exec` execs the interpreter in place, so the child's pid stays the one to kill.
  const [command, argv] = options.netns
    ? ['ip', ['netns', 'exec', options.netns, found.python, ...args]]
    : [found.python, args];
  const child: ChildProcessWithoutNullStreams = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {}); // it may exit before we write
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let exited = false;
  let onReady: ((msg: Record<string, unknown>) => void) | undefined;
  let onStartError: ((error: Error) => void) | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('close', (code, signal) => {
      exited = true;
      const error = new Error(
        `libtorrent child exited (${signal ?? code}): ${stderr.trim().split('\n').pop() ?? ''}`,
      );
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.reject(error);
      }
      pending.clear();
      onStartError?.(error);
      resolve();
    });
  });
  child.once('error', (error) => onStartError?.(error));

  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (msg.type === 'ready') onReady?.(msg);
      else if (msg.type === 'error' && msg.id === undefined) onStartError?.(new Error(String(msg.message)));
      else if (typeof msg.id === 'number') {
        const p = pending.get(msg.id);
        if (!p) continue;
        pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.type === 'error') p.reject(new Error(`libtorrent: ${String(msg.message)}`));
        else p.resolve(msg);
      }
    }
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (!exited) child.stdin.end(); // the script exits when its stdin closes
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exit, new Promise<void>((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      if (!exited && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await exit;
      }
    })();
    return closing;
  };

  let ready: Record<string, unknown>;
  try {
    ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`libtorrent testnet not ready within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      onReady = (msg) => {
        clearTimeout(timer);
        resolve(msg);
      };
      onStartError = (error) => {
        clearTimeout(timer);
        reject(error);
      };
    });
  } catch (error) {
    await close();
    throw error;
  } finally {
    onReady = undefined;
    onStartError = undefined;
  }
  const nodes = (ready.nodes as HostPort[]).map((n) => ({ host: n.host, port: n.port }));

  const request = (command: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> => {
    if (exited || closing) return Promise.reject(new Error('libtorrent testnet is closed'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(
          new Error(
            `libtorrent ${String(command.cmd)} got no answer within ${timeoutMs + REQUEST_MARGIN_MS} ms`,
          ),
        );
      }, timeoutMs + REQUEST_MARGIN_MS);
      pending.set(id, { resolve, reject, timer });
      child.stdin.write(`${JSON.stringify({ ...command, id, timeoutMs })}\n`);
    });
  };

  return {
    nodes,
    bootstrap: nodes.slice(0, 2).map((n) => `${n.host}:${n.port}`),
    async get(slot, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      const msg = await request(
        {
          cmd: 'get',
          node: opts.node ?? 0,
          publicKey: bytesToHex(slot.publicKey),
          salt: bytesToHex(slot.salt ?? new Uint8Array()),
        },
        timeoutMs,
      );
      const item = msg.item as {
        value: string | null;
        seq: number;
        signature: string;
        entry?: string;
      } | null;
      if (item === null) return undefined;
      if (item.value === null) throw new Error(`libtorrent returned a non-string value: ${item.entry}`);
      return { value: hexToBytes(item.value), seq: item.seq, signature: hexToBytes(item.signature) };
    },
    async put(slot, value, opts = {}) {
      if (!bytesEqual(ed25519.getPublicKey(slot.secretKey), slot.publicKey)) {
        throw new RangeError('"secretKey" is not the seed of "publicKey"');
      }
      const msg = await request(
        {
          cmd: 'put',
          node: opts.node ?? 0,
          seed: bytesToHex(slot.secretKey),
          publicKey: bytesToHex(slot.publicKey),
          salt: bytesToHex(slot.salt ?? new Uint8Array()),
          value: bytesToHex(value),
        },
        opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      );
      return { seq: Number(msg.seq), numSuccess: Number(msg.numSuccess) };
    },
    async stop(i) {
      await request({ cmd: 'stop', node: i }, CONTROL_TIMEOUT_MS);
    },
    async start(i) {
      await request({ cmd: 'start', node: i }, CONTROL_TIMEOUT_MS);
    },
    async stats() {
      const msg = await request({ cmd: 'stats' }, CONTROL_TIMEOUT_MS);
      return msg.nodes as LibtorrentNodeStats[];
    },
    close,
  };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
