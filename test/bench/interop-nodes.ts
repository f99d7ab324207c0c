/**
 * Misbehaving and restartable DHT nodes for `npm run bench:interop` (interop.bench.ts), on loopback:
 *
 * - {@link ReadOnlyNode}: a read-only node (BEP 43) as it looks from outside a NAT: every query it
 *   sends carries `ro=1`, and no query sent to it is ever answered (the NAT drops it; libtorrent's
 *   `dht_read_only` mode stops answering as well). A plain UDP socket that speaks KRPC.
 * - {@link HostileNode}: answers every query with `FAKES_PER_REPLY` random ids next to the query's
 *   target, at ports where nobody listens (the responder of test/dht/walk-hygiene.test.ts, aimed at
 *   whatever target it is asked about).
 * - {@link RestartableNetwork}: a network of our `Dht` nodes on fixed ports that can be stopped and
 *   started again on the same ports (a fresh node each time: new id, empty table, empty store), which
 *   `createTestnet` cannot do.
 *
 * Every socket is closed by `close()`; every wait is bounded.
 */
import dgram from 'node:dgram';
import { Dht, type DhtOptions } from '../../src/dht/index.js';
import { type Bencodable, bdecode, bencode, type Decoded } from '../helpers/raw-krpc.js';

/** Fake contacts per hostile reply (test/dht/walk-hygiene.test.ts: 8 × 300 = 2,400 in all). */
export const FAKES_PER_REPLY = 300;

type Krpc = { [key: string]: Decoded };

/** A KRPC message, or undefined for a datagram that does not decode. */
function decode(msg: Buffer): Krpc | undefined {
  try {
    return bdecode(msg) as Krpc;
  } catch {
    return undefined;
  }
}
const latin1 = (b: Decoded | undefined) => (b instanceof Uint8Array ? Buffer.from(b).toString('latin1') : '');

/** A random id sharing its first `shared` bytes with `target`. */
export function nearId(target: Uint8Array, shared: number): Uint8Array {
  const id = crypto.getRandomValues(new Uint8Array(20));
  id.set(target.subarray(0, shared));
  return id;
}

/** A UDP socket bound on `host` (any port), opened. */
async function openSocket(host: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => {});
  return socket;
}

/** See the module comment. Counts the queries sent to it (all dropped) and the replies it got. */
export class ReadOnlyNode {
  readonly id = crypto.getRandomValues(new Uint8Array(20));
  readonly #socket: dgram.Socket;
  readonly #pending = new Map<string, () => void>();
  #tid = 0;
  /** Queries others sent it (none answered): a walk that tries it waits for nothing. */
  queriesReceived = 0;
  /** Replies to its own queries. */
  replies = 0;

  static async open(host: string): Promise<ReadOnlyNode> {
    return new ReadOnlyNode(await openSocket(host));
  }

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on('message', (msg) => {
      const d = decode(msg);
      if (!d) return;
      const y = latin1(d.y);
      if (y === 'q') {
        this.queriesReceived++; // dropped, as behind a NAT
        return;
      }
      if (y !== 'r' || !(d.t instanceof Uint8Array)) return;
      const done = this.#pending.get(Buffer.from(d.t).toString('hex'));
      if (done) {
        this.replies++;
        done();
      }
    });
  }

  /**
   * Sends `find_node` (toward a random id) with `ro=1` to each of `nodes`, as a read-only node's walk
   * does, and resolves with how many answered within `waitMs`.
   */
  async queryAll(nodes: readonly { host: string; port: number }[], waitMs = 2000): Promise<number> {
    const answered = await Promise.all(
      nodes.map(
        (to) =>
          new Promise<boolean>((resolve) => {
            this.#tid = (this.#tid % 0xffff) + 1;
            const t = Buffer.alloc(2);
            t.writeUInt16BE(this.#tid);
            const key = t.toString('hex');
            const timer = setTimeout(() => {
              this.#pending.delete(key);
              resolve(false);
            }, waitMs);
            this.#pending.set(key, () => {
              clearTimeout(timer);
              this.#pending.delete(key);
              resolve(true);
            });
            const target = crypto.getRandomValues(new Uint8Array(20));
            const q: Bencodable = { t, y: 'q', q: 'find_node', ro: 1, a: { id: this.id, target } };
            this.#socket.send(bencode(q), to.port, to.host);
          }),
      ),
    );
    return answered.filter(Boolean).length;
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

/** See the module comment. */
export class HostileNode {
  readonly id = crypto.getRandomValues(new Uint8Array(20));
  readonly #socket: dgram.Socket;
  /** Queries it answered with fakes. */
  queries = 0;
  /** Replies to its own `announce` queries. */
  replies = 0;

  static async open(host = '127.0.0.1'): Promise<HostileNode> {
    return new HostileNode(await openSocket(host));
  }

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => {
      const d = decode(msg);
      if (!d) return;
      const y = latin1(d.y);
      if (y === 'r') this.replies++;
      if (y !== 'q' || !(d.t instanceof Uint8Array)) return;
      this.queries++;
      const a = (d.a ?? {}) as Krpc;
      const asked = a.target ?? a.info_hash;
      const target =
        asked instanceof Uint8Array && asked.length === 20
          ? asked
          : crypto.getRandomValues(new Uint8Array(20));
      const nodes = Buffer.alloc(FAKES_PER_REPLY * 26);
      for (let i = 0; i < FAKES_PER_REPLY; i++) {
        nodes.set(nearId(target, 4), i * 26);
        nodes.set([127, 0, 0, 1], i * 26 + 20);
        // Ports 1–1023: nobody on this machine binds them for a bench, so every fake is silent.
        nodes.writeUInt16BE(1 + Math.floor(Math.random() * 1023), i * 26 + 24);
      }
      const r: Bencodable = { id: this.id, token: new TextEncoder().encode('tok'), nodes };
      socket.send(bencode({ t: d.t, y: 'r', r }), rinfo.port, rinfo.address);
    });
  }

  /** A `find_node` to `to`, so that it adds us to its routing table (k-rpc adds every querier). */
  announce(to: { host: string; port: number }): void {
    const q = {
      t: new TextEncoder().encode('hn'),
      y: 'q',
      q: 'find_node',
      a: { id: this.id, target: this.id },
    };
    this.#socket.send(bencode(q), to.port, to.host);
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

/** Refresh rounds after a (re)start, as `createTestnet` fills its tables (toward self, then random). */
const FILL_ROUNDS = 3;

/**
 * `count` of our `Dht` nodes on `host`, the first the bootstrap node of the others, tables filled as
 * `createTestnet` fills them (a refresh toward each node's own id, then random targets). `stop()`
 * closes every node; `start()` starts fresh nodes on the same ports.
 */
export class RestartableNetwork {
  readonly host: string;
  readonly #count: number;
  readonly #options: DhtOptions;
  #ports: number[] = [];
  #nodes: Dht[] = [];

  constructor(count: number, opts: { host?: string; options?: DhtOptions } = {}) {
    this.#count = count;
    this.host = opts.host ?? '127.0.0.1';
    this.#options = opts.options ?? {};
  }

  get nodes(): readonly Dht[] {
    return this.#nodes;
  }

  /** `host:port` of the bootstrap node (stable across restarts once started). */
  get bootstrap(): string[] {
    return this.#ports.length === 0 ? [] : [`${this.host}:${this.#ports[0]}`];
  }

  /**
   * Starts the nodes (on the ports of the first start, after a stop).
   * @throws whatever `Dht.create` throws (e.g. a port taken meanwhile); nodes started are closed.
   */
  async start(): Promise<void> {
    if (this.#nodes.length > 0) return;
    const ports = this.#ports;
    const create = (i: number, bootstrap: string[]) =>
      Dht.create({ ...this.#options, host: this.host, port: ports[i] ?? 0, bootstrap });
    try {
      const first = await create(0, []);
      this.#nodes.push(first);
      const bootstrap = [`${this.host}:${first.address().port}`];
      const rest = await Promise.allSettled(
        Array.from({ length: this.#count - 1 }, (_, i) => create(i + 1, bootstrap)),
      );
      for (const r of rest) if (r.status === 'fulfilled') this.#nodes.push(r.value);
      const failed = rest.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      for (let round = 0; round < FILL_ROUNDS; round++) {
        await Promise.all(
          this.#nodes.map((n) =>
            n.refresh({ target: round === 0 ? undefined : crypto.getRandomValues(new Uint8Array(20)) }),
          ),
        );
        if (this.#nodes.every((n) => n.nodeCount() >= Math.min(this.#count - 1, 20))) break;
      }
      this.#ports = this.#nodes.map((n) => n.address().port);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Closes every node (their ports are free again). Idempotent. */
  async stop(): Promise<void> {
    const nodes = this.#nodes;
    this.#nodes = [];
    await Promise.all(nodes.map((n) => n.close()));
  }
}
