/**
 * A gossip node in its own process, for the adversarial suite (started by harness.ts `startNode`): the
 * victim, or an honest peer. It receives a `NodeSpec` over IPC, runs one real `Gossip` node subscribed
 * to one topic, and answers the requests of `NodeRequests` (spec.ts): samples of its heap (after
 * `global.gc()`: the harness starts it with `--expose-gc`), CPU, event-loop delay, handles, file
 * descriptors (and whether it ever ran out of them), connections, neighbours and `gossip.stats`; the
 * messages it received and sent, with
 * their times; the TCP connects it attempted; broadcasts on demand or on a schedule.
 *
 * The dial guard (`NodeSpec.dialGuard`) wraps `net.Socket.prototype.connect` in this process only: it
 * records every outgoing connect and refuses any whose host is not a literal 127.x.y.z, so that an
 * attacker's hostile addresses (metadata, link-local, multicast, `localhost`…) are observed as dial
 * attempts without ever leaving the machine.
 *
 * The link log (`links`) records the topic's neighbour changes and, through a wrapper of
 * `Transport.prototype.emit` in this process only, every connection the transport lost with its close
 * reason and every send-queue overflow, per peer: a test can tell which links an attack got cut.
 *
 * The process exits by itself when the parent disconnects, after `lifetimeMs`, or after `close`.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { hexToBytes } from '@noble/hashes/utils.js';
import { nobleSuite } from '../../src/crypto/suite.js';
import { TopicId } from '../../src/crypto/topic.js';
import { Gossip, type GossipOptions } from '../../src/net/gossip.js';
import type { Topic } from '../../src/net/topic.js';
import { Transport } from '../../src/net/transport.js';
import {
  type DialRecord,
  epochMs,
  type FromNode,
  type JsonObject,
  type LinkRecord,
  type NodeOp,
  type NodeRequests,
  type NodeSpec,
  type ReceivedRecord,
  type Sample,
  type SentRecord,
  type ToNode,
  toJson,
} from './spec.js';

const MB = 1024 * 1024;
/** Longest graceful close before the process exits anyway. */
const CLOSE_BUDGET_MS = 5000;
const LOOPBACK_V4 =
  /^127\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)$/;

const send = (m: FromNode): void => {
  if (process.send !== undefined && process.connected) process.send(m);
};

/** A bounded log: keeps the first `cap` records, counts the rest. */
class Log<T> {
  readonly records: T[] = [];
  dropped = 0;
  constructor(private readonly cap: number) {}
  push(r: T): void {
    if (this.records.length < this.cap) this.records.push(r);
    else this.dropped++;
  }
  since(i: number): { records: T[]; next: number; dropped: number } {
    return { records: this.records.slice(i), next: this.records.length, dropped: this.dropped };
  }
}

/** See the module header. */
function installDialGuard(log: Log<DialRecord>, counts: { all: number; refused: number }): void {
  const original = net.Socket.prototype.connect;
  // biome-ignore lint/suspicious/noExplicitAny: Socket.connect has many overloads; we only inspect them
  net.Socket.prototype.connect = function (this: net.Socket, ...args: any[]): net.Socket {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    let host: string | undefined;
    let port = 0;
    let path: string | undefined;
    if (typeof first === 'object' && first !== null) {
      host = first.host;
      port = Number(first.port ?? 0);
      path = first.path ?? undefined;
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      port = Number(first);
      host = typeof args[1] === 'string' ? args[1] : undefined;
    } else if (typeof first === 'string') {
      path = first;
    }
    if (path === undefined) {
      const h = host ?? 'localhost';
      const allowed = LOOPBACK_V4.test(h);
      counts.all++;
      if (!allowed) counts.refused++;
      log.push({ host: h, port, at: epochMs(), allowed });
      if (!allowed) {
        const err = Object.assign(new Error(`dial guard: ${h} is outside 127.0.0.0/8`), { code: 'EACCES' });
        process.nextTick(() => this.destroy(err));
        return this;
      }
    }
    return original.apply(this, args as Parameters<typeof original>);
  } as typeof original;
}

/** See the module header: records the transport's lost connections and overflows of this process. */
function installLinkLog(log: Log<LinkRecord>): void {
  const original = Transport.prototype.emit;
  // biome-ignore lint/suspicious/noExplicitAny: a pass-through of every event's arguments
  Transport.prototype.emit = function (this: Transport, event: any, ...args: any[]): boolean {
    if (event === 'peer-disconnected') {
      const info = args[2] as { reason?: string } | undefined;
      log.push({
        at: epochMs(),
        peer: String(args[0]),
        event: 'transport-down',
        cause: String(args[1]),
        ...(info?.reason === undefined ? {} : { reason: info.reason }),
      });
    } else if (event === 'overflow') {
      log.push({ at: epochMs(), peer: String(args[0]), event: 'overflow' });
    }
    return (original as (this: Transport, ...a: unknown[]) => boolean).call(this, event, ...args);
  } as typeof original;
}

/** How often the process checks that it can still open a file descriptor. */
const FD_PROBE_EVERY_MS = 100;

/**
 * Counts the times this process found no free file descriptor (EMFILE / ENFILE), by opening and
 * closing /dev/null every FD_PROBE_EVERY_MS. Running out shows nowhere else: libuv drops the
 * connections it cannot accept without an error event, and the transport swallows listener errors.
 */
function installFdProbe(counts: { exhausted: number }): void {
  const probe = setInterval(() => {
    try {
      closeSync(openSync('/dev/null', 'r'));
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'EMFILE' || code === 'ENFILE') counts.exhausted++;
    }
  }, FD_PROBE_EVERY_MS);
  probe.unref();
}

function fdCount(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

function resources(): { all: number; byType: Record<string, number> } {
  const list = process.getActiveResourcesInfo();
  const byType: Record<string, number> = {};
  for (const r of list) byType[r] = (byType[r] ?? 0) + 1;
  return { all: list.length, byType };
}

async function main(spec: NodeSpec): Promise<void> {
  const dials = new Log<DialRecord>(spec.recordCap);
  const dialCounts = { all: 0, refused: 0 };
  if (spec.dialGuard) installDialGuard(dials, dialCounts);
  const links = new Log<LinkRecord>(spec.recordCap);
  installLinkLog(links);
  const fdProbe = { exhausted: 0 };
  installFdProbe(fdProbe);
  const life = setTimeout(() => process.exit(3), spec.lifetimeMs);
  life.unref();

  const options: GossipOptions = {
    listen: spec.listen,
    ...(spec.advertise === undefined ? {} : { advertise: spec.advertise }),
    ...(spec.gossip?.transport === undefined ? {} : { transport: spec.gossip.transport }),
    ...(spec.gossip?.proto === undefined ? {} : { proto: spec.gossip.proto }),
    ...(spec.gossip?.crypto === 'noble' ? { crypto: nobleSuite } : {}),
  };
  const gossip = await Gossip.create(options);
  const topic: Topic = gossip.subscribe(TopicId.fromHash(hexToBytes(spec.topic)), {
    bootstrap: spec.bootstrap,
  });
  const received = new Log<ReceivedRecord>(spec.recordCap);
  const sent = new Log<SentRecord>(spec.recordCap);
  topic.on('message', (m) =>
    received.push({
      id: m.id,
      origin: m.origin,
      from: m.deliveredFrom,
      hops: m.hops,
      bytes: m.content.length,
      at: epochMs(),
    }),
  );
  topic.on('sent', (m) => sent.push({ id: m.id, bytes: m.content.length, at: epochMs() }));
  topic.on('neighbor-up', (peer) => links.push({ at: epochMs(), peer, event: 'neighbor-up' }));
  topic.on('neighbor-down', (peer, cause) =>
    links.push({ at: epochMs(), peer, event: 'neighbor-down', cause }),
  );

  if (spec.rejoinEveryMs > 0 && spec.bootstrap.length > 0) {
    const rejoin = setInterval(() => {
      if (topic.left || topic.isJoined()) return;
      const peers = spec.bootstrap.filter((p) => !gossip.isJoining(topic.key, p.id));
      if (peers.length > 0) topic.joinPeers(peers);
    }, spec.rejoinEveryMs);
    rejoin.unref();
  }

  let counter = 0;
  const broadcastOnce = (bytes: number): void => {
    const content = new Uint8Array(Math.max(8, bytes));
    content.set(randomBytes(content.length));
    new DataView(content.buffer).setBigUint64(0, BigInt(counter++));
    topic.broadcast(content);
  };
  let broadcaster: NodeJS.Timeout | undefined;
  let broadcastsSent = 0;
  const startBroadcast = (everyMs: number, bytes: number): void => {
    clearInterval(broadcaster);
    broadcaster = setInterval(() => {
      if (topic.left) return;
      broadcastOnce(bytes);
      broadcastsSent++;
    }, everyMs);
  };
  if (spec.broadcast !== undefined) startBroadcast(spec.broadcast.everyMs, spec.broadcast.bytes);

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let lastCpu = process.cpuUsage();
  let lastWall = performance.now();
  const gc = (globalThis as { gc?: () => void }).gc;

  const sample = (wantGc: boolean): Sample => {
    const didGc = wantGc && gc !== undefined;
    if (didGc) gc();
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const cpuDelta = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    const cpuPct = wall > lastWall ? (100 * cpuDelta) / (wall - lastWall) : 0;
    lastCpu = cpu;
    lastWall = wall;
    const res = resources();
    const stats = gossip.stats;
    const s: Sample = {
      at: epochMs(),
      gc: didGc,
      heapUsedMB: mem.heapUsed / MB,
      heapTotalMB: mem.heapTotal / MB,
      externalMB: mem.external / MB,
      arrayBuffersMB: mem.arrayBuffers / MB,
      rssMB: mem.rss / MB,
      cpuMs: (cpu.user + cpu.system) / 1000,
      cpuPct,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      loopDelayMaxMs: loop.max / 1e6,
      activeHandles: res.all,
      resources: res.byType,
      fds: fdCount(),
      connections: stats.transport.connections,
      handshaking: stats.transport.handshaking,
      neighbors: topic.neighbors(),
      timers: stats.timers,
      dials: dialCounts.all,
      dialsRefused: dialCounts.refused,
      stats: toJson(stats) as JsonObject,
      fdExhausted: fdProbe.exhausted,
    };
    loop.reset();
    return s;
  };

  let closing = false;
  const handlers: { [K in NodeOp]: (args: NodeRequests[K]['args']) => unknown } = {
    ping: () => ({ pid: process.pid, uptimeMs: process.uptime() * 1000 }),
    sample: (a) => sample(a.gc === true),
    stats: () => toJson(gossip.stats),
    neighbors: () => topic.neighbors(),
    received: (a) => received.since(a.since),
    sent: (a) => sent.since(a.since),
    dials: (a) => dials.since(a.since),
    links: (a) => links.since(a.since),
    broadcast: (a) => {
      broadcastOnce(a.bytes);
      return { id: sent.records.at(-1)?.id ?? '' };
    },
    'broadcast-start': (a) => {
      startBroadcast(a.everyMs, a.bytes);
      return {};
    },
    'broadcast-stop': () => {
      clearInterval(broadcaster);
      broadcaster = undefined;
      return { sent: broadcastsSent };
    },
    join: (a) => {
      topic.joinPeers(a.peers);
      return {};
    },
    close: () => {
      closing = true;
      return {};
    },
  };

  process.on('message', (m: ToNode) => {
    if (m.type !== 'req') return;
    let reply: FromNode;
    try {
      const handler = handlers[m.op] as (args: unknown) => unknown;
      if (handler === undefined) throw new Error(`unknown request "${m.op}"`);
      reply = { type: 'res', reqId: m.reqId, ok: true, result: handler(m.args ?? {}) };
    } catch (e) {
      reply = { type: 'res', reqId: m.reqId, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    if (closing) {
      clearInterval(broadcaster);
      loop.disable();
      let exiting = false;
      const exit = (): void => {
        if (exiting) return;
        exiting = true;
        if (process.send !== undefined && process.connected) process.send(reply, () => process.exit(0));
        else process.exit(0);
        setTimeout(() => process.exit(0), 1000).unref();
      };
      setTimeout(exit, CLOSE_BUDGET_MS).unref();
      void gossip.close().then(exit, exit);
      return;
    }
    send(reply);
  });

  send({ type: 'ready', id: gossip.id, addresses: gossip.addresses(), pid: process.pid });
}

// The test process went away: nobody will ask us anything again.
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (e) => {
  send({ type: 'fatal', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exit(70);
});
process.once('message', (m: ToNode) => {
  if (m.type !== 'spec') return;
  main(m.spec).catch((e: unknown) => {
    send({ type: 'fatal', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    process.exit(70);
  });
});
