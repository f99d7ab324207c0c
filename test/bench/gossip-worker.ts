/**
 * The node side of `npm run bench:gossip` (test/bench/gossip.bench.ts): a child process started with
 * `--child` holds up to 50 `Gossip` nodes on 127.0.0.1 and answers the parent's requests over IPC
 * (build, join, neighbours, RSS, timed broadcasts, receive counts, counters, close).
 *
 * Every broadcast payload carries its broadcast id and the sender's wall-clock send time
 * (`performance.timeOrigin + performance.now()`, shared by the processes of one machine), so each
 * receiver computes its own latency; this process keeps, per broadcast id, the receptions and the
 * largest latency among its nodes, and the parent takes the max over processes.
 */
import { performance } from 'node:perf_hooks';
import type { Address } from '../../src/crypto/address.js';
import { TopicId } from '../../src/crypto/topic.js';
import type { TransportOptions } from '../../src/net/config.js';
import { Gossip } from '../../src/net/gossip.js';
import type { Topic } from '../../src/net/topic.js';

/** Wall-clock milliseconds, comparable across the processes of one machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** The topic every bench node subscribes to. */
export const BENCH_TOPIC = 'gossip bench';

/** Bytes of the payload header: u32 broadcast id, f64 send time (wall ms). */
export const PAYLOAD_HEADER_BYTES = 12;

/** A node as the parent knows it: id and where to dial it. */
export interface PeerRef {
  id: string;
  addresses: Address[];
}

/** One broadcast to send: from local node `index`, at wall time `at`. */
export interface Scheduled {
  bid: number;
  index: number;
  at: number;
}

/** Sums of the counters of this process's nodes. */
export interface Counters {
  payloadsSent: number;
  messagesOut: number;
  protoDuplicates: number;
  graftsSent: number;
  prunesSent: number;
  sendQueueOverflows: number;
  /** Connections closed for any reason (released links after their linger included). */
  connectionsClosed: number;
  /** Of those, dropped because the peer went silent: a starved event loop on loopback. */
  keepaliveTimeouts: number;
  handshakeFailures: number;
  /** CPU time of this process so far (user + system), ms: the bench's own IPC work is included. */
  cpuMs: number;
}

/** Requests of the parent, by `op`. */
export type Request =
  | { op: 'build'; count: number; transport: TransportOptions; payloadBytes: number; maxBids: number }
  | { op: 'join'; index: number; contact: PeerRef | null; timeoutMs: number }
  | { op: 'neighbors' }
  | { op: 'rss' }
  | { op: 'run'; items: Scheduled[] }
  | { op: 'received'; from: number; to: number }
  | { op: 'collect'; from: number; to: number }
  | { op: 'counters' }
  | { op: 'closeReasons' }
  | { op: 'close' };

/** The answer to each request. */
export interface Responses {
  build: { baselineRssBytes: number; peers: PeerRef[] };
  join: { ms: number };
  neighbors: { ids: string[]; neighbors: string[][] };
  rss: { rssBytes: number; heapUsedBytes: number };
  /** `lateMaxMs`: the most a broadcast went out after its scheduled time (a busy event loop). */
  run: { sent: number; failed: number; firstAt: number; lastAt: number; lateMaxMs: number };
  received: { receptions: number };
  /** Per broadcast id in [from, to): receptions and the largest latency (ms; 0 with no reception). */
  collect: { receptions: number[]; maxLatencyMs: number[]; appDuplicates: number };
  counters: Counters;
  /** Connections closed so far, by `CloseReason`, summed over this process's nodes. */
  closeReasons: Record<string, number>;
  close: { ms: number };
}

/** Parent → child: one request with a correlation id. */
export interface RequestEnvelope {
  id: number;
  req: Request;
}
/** Child → parent: the answer, or why it failed. */
export type ResponseEnvelope =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };

const gc = (globalThis as { gc?: () => void }).gc;

/** Collects garbage twice (the second pass frees what finalizers of the first released). */
function collectGarbage(): void {
  gc?.();
  gc?.();
}

interface Node {
  gossip: Gossip;
  topic: Topic | undefined;
  /** Broadcast ids received (duplicate check at the application). */
  seen: Uint8Array;
}

/** The nodes of this process and their receive bookkeeping. */
class Worker {
  readonly #nodes: Node[] = [];
  readonly #topicId = TopicId.fromName(BENCH_TOPIC);
  #payloadBytes = 1024;
  #receptions = new Int32Array(0);
  #maxLatency = new Float64Array(0);
  #appDuplicates = 0;

  async handle(req: Request): Promise<Responses[Request['op']]> {
    switch (req.op) {
      case 'build':
        return this.#build(req);
      case 'join':
        return this.#join(req.index, req.contact, req.timeoutMs);
      case 'neighbors':
        return {
          ids: this.#nodes.map((n) => n.gossip.id),
          neighbors: this.#nodes.map((n) => n.topic?.neighbors() ?? []),
        };
      case 'rss':
        collectGarbage();
        return { rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed };
      case 'run':
        return this.#run(req.items);
      case 'received': {
        let receptions = 0;
        for (let b = req.from; b < req.to; b++) receptions += this.#receptions[b] ?? 0;
        return { receptions };
      }
      case 'collect':
        return {
          receptions: Array.from(this.#receptions.subarray(req.from, req.to)),
          maxLatencyMs: Array.from(this.#maxLatency.subarray(req.from, req.to)),
          appDuplicates: this.#appDuplicates,
        };
      case 'counters':
        return this.#counters();
      case 'closeReasons': {
        const out: Record<string, number> = {};
        for (const n of this.#nodes) {
          for (const [k, v] of Object.entries(n.gossip.stats.transport.closed))
            out[k] = (out[k] ?? 0) + (v ?? 0);
        }
        return out;
      }
      case 'close': {
        const t0 = performance.now();
        await Promise.all(this.#nodes.map((n) => n.gossip.close()));
        return { ms: performance.now() - t0 };
      }
    }
  }

  async #build(req: Extract<Request, { op: 'build' }>): Promise<Responses['build']> {
    this.#payloadBytes = req.payloadBytes;
    collectGarbage();
    const baselineRssBytes = process.memoryUsage.rss();
    for (let i = 0; i < req.count; i++) {
      const gossip = await Gossip.create({
        listen: { host: '127.0.0.1', port: 0 },
        transport: req.transport,
      });
      this.#nodes.push({ gossip, topic: undefined, seen: new Uint8Array(0) });
    }
    // Receive bookkeeping is allocated here, before the idle RSS is read, and never grows. It is the
    // bench's own cost, but zero-filled and untouched until broadcasts start, so it adds next to
    // nothing to the idle figure (at most ~300 KB per process for the default ~5000 ids).
    this.#receptions = new Int32Array(req.maxBids);
    this.#maxLatency = new Float64Array(req.maxBids);
    for (const n of this.#nodes) n.seen = new Uint8Array(req.maxBids);
    return {
      baselineRssBytes,
      peers: this.#nodes.map((n) => ({ id: n.gossip.id, addresses: n.gossip.addresses() })),
    };
  }

  async #join(index: number, contact: PeerRef | null, timeoutMs: number): Promise<Responses['join']> {
    const node = this.#nodes[index];
    if (node === undefined) throw new RangeError(`no node ${index}`);
    const t0 = performance.now();
    const topic = node.gossip.subscribe(this.#topicId, { bootstrap: contact === null ? [] : [contact] });
    node.topic = topic;
    topic.on('message', (m) => this.#onMessage(node, m.content));
    if (contact !== null) await topic.joined({ signal: AbortSignal.timeout(timeoutMs) });
    return { ms: performance.now() - t0 };
  }

  #onMessage(node: Node, content: Uint8Array): void {
    const now = wallNow();
    if (content.length < PAYLOAD_HEADER_BYTES) return;
    const view = new DataView(content.buffer, content.byteOffset, content.byteLength);
    const bid = view.getUint32(0);
    const latency = now - view.getFloat64(4);
    if (bid >= node.seen.length) return;
    if (node.seen[bid] !== 0) {
      this.#appDuplicates++;
      return;
    }
    node.seen[bid] = 1;
    const before = this.#receptions[bid]!;
    this.#receptions[bid] = before + 1;
    if (before === 0 || latency > this.#maxLatency[bid]!) this.#maxLatency[bid] = latency;
  }

  #payload(bid: number): Uint8Array {
    const content = new Uint8Array(this.#payloadBytes);
    const view = new DataView(content.buffer);
    view.setUint32(0, bid);
    view.setFloat64(4, wallNow());
    // The rest stays zero: the payload's size is what matters, and nothing on the path compresses.
    return content;
  }

  /** Sends each scheduled broadcast at its time, on a timer; resolves after the last one. */
  #run(items: Scheduled[]): Promise<Responses['run']> {
    const queue = [...items].sort((a, b) => a.at - b.at);
    const result: Responses['run'] = {
      sent: 0,
      failed: 0,
      firstAt: Number.NaN,
      lastAt: Number.NaN,
      lateMaxMs: 0,
    };
    if (queue.length === 0) return Promise.resolve(result);
    let i = 0;
    return new Promise((resolve) => {
      const tick = (): void => {
        let now = wallNow();
        while (i < queue.length && queue[i]!.at <= now) {
          const s = queue[i++]!;
          const topic = this.#nodes[s.index]?.topic;
          try {
            if (topic === undefined) throw new Error(`node ${s.index} has no topic`);
            topic.broadcast(this.#payload(s.bid));
            result.sent++;
          } catch {
            result.failed++;
          }
          if (Number.isNaN(result.firstAt)) result.firstAt = now;
          result.lastAt = now;
          result.lateMaxMs = Math.max(result.lateMaxMs, now - s.at);
          now = wallNow();
        }
        if (i === queue.length) resolve(result);
        else setTimeout(tick, Math.max(0, queue[i]!.at - wallNow()));
      };
      setTimeout(tick, Math.max(0, queue[0]!.at - wallNow()));
    });
  }

  #counters(): Counters {
    const c: Counters = {
      payloadsSent: 0,
      messagesOut: 0,
      protoDuplicates: 0,
      graftsSent: 0,
      prunesSent: 0,
      sendQueueOverflows: 0,
      connectionsClosed: 0,
      keepaliveTimeouts: 0,
      handshakeFailures: 0,
      cpuMs: 0,
    };
    const cpu = process.cpuUsage();
    c.cpuMs = (cpu.user + cpu.system) / 1000;
    for (const n of this.#nodes) {
      const s = n.gossip.stats;
      c.payloadsSent += s.proto.payloadsSent;
      c.messagesOut += s.proto.messagesOut;
      c.protoDuplicates += s.proto.duplicates;
      c.graftsSent += s.proto.graftsSent;
      c.prunesSent += s.proto.prunesSent;
      c.sendQueueOverflows += s.transport.sendQueueOverflows;
      for (const v of Object.values(s.transport.closed)) c.connectionsClosed += v ?? 0;
      c.keepaliveTimeouts += s.transport.closed['keepalive-timeout'] ?? 0;
      for (const v of Object.values(s.transport.handshakeFailures)) c.handshakeFailures += v;
    }
    return c;
  }

  /** Closes whatever is still open (parent gone or a failed request). */
  async closeAll(): Promise<void> {
    await Promise.all(this.#nodes.map((n) => n.gossip.close()));
  }
}

/** Serves the parent's requests until it sends `close` or goes away; then the process ends. */
export function runWorker(): void {
  if (process.send === undefined) throw new Error('--child expects an IPC channel (run by the bench)');
  const send = (env: ResponseEnvelope): Promise<void> =>
    new Promise((resolve) => {
      if (process.send === undefined || !process.connected) resolve();
      else process.send(env, undefined, {}, () => resolve());
    });
  const worker = new Worker();
  let closing = false;
  const finish = (code: number): void => {
    if (closing) return;
    closing = true;
    // A close that hangs must not keep an orphan alive.
    setTimeout(() => process.exit(code), 10_000).unref();
    void worker.closeAll().finally(() => {
      if (process.connected) process.disconnect();
      process.exitCode = code;
    });
  };
  process.on('disconnect', () => finish(closing ? 0 : 1));
  process.on('message', (env: RequestEnvelope) => {
    worker.handle(env.req).then(
      async (result) => {
        await send({ id: env.id, ok: true, result });
        if (env.req.op === 'close') finish(0);
      },
      (e: unknown) => void send({ id: env.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
  });
}
