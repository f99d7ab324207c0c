/**
 * The JSON shapes the adversarial harness (harness.ts) exchanges with its two kinds of child process
 * over Node's IPC channel: a gossip node (node-process.ts: the victim and the honest peers) and an
 * attacker (attacker.ts). Everything here is plain JSON: ids and topic hashes are 64 lower-case hex
 * characters, raw frames are hex, times are epoch milliseconds (`performance.timeOrigin +
 * performance.now()`, comparable across the processes of one machine).
 *
 * Protocol of both children: the parent spawns the script with an IPC channel and sends `{ type:
 * 'spec', spec }`; the child answers `{ type: 'ready', … }` once set up. A child exits on its own when
 * the parent disconnects, when its lifetime (`lifetimeMs` / the attack's bounds) runs out, or when
 * asked to (`close` / `stop`).
 */
import type { Address } from '../../src/crypto/address.js';

/** A node to dial: its id (hex) and where it listens. */
export interface Endpoint {
  id: string;
  host: string;
  port: number;
}

/** A peer as `Gossip.subscribe({ bootstrap })` takes it. */
export interface PeerSpec {
  id: string;
  addresses: Address[];
}

// ---------------------------------------------------------------------------------------------------
// Gossip node process (victim or honest peer)

/** What a node process runs. */
export interface NodeSpec {
  /** A label for reports and failure messages ("victim", "honest-1"…). */
  name: string;
  /** Where the node listens; null for a node that only dials (it advertises no address). */
  listen: { host: string; port: number } | null;
  /** Addresses to advertise instead of the listener's; `[]` makes a node nobody can dial. */
  advertise?: Address[];
  /** The topic hash (hex) the node subscribes to at start. */
  topic: string;
  /** Peers to join the topic through at start (none: wait to be joined). */
  bootstrap: PeerSpec[];
  /** `Gossip.create` options besides listen/keyPair: `{ transport, proto, crypto: 'noble' }` (JSON). */
  gossip?: {
    transport?: Record<string, unknown>;
    proto?: Record<string, unknown>;
    crypto?: 'native' | 'noble';
  };
  /** Broadcast from the start: one message of `bytes` every `everyMs`. Also via the `broadcast-start` request. */
  broadcast?: BroadcastSpec;
  /**
   * While the topic has no neighbour, join through `bootstrap` again every this many ms (an app that
   * rediscovers its peers). 0 turns it off. Unreachable honest peers need it: nobody can dial them back.
   */
  rejoinEveryMs: number;
  /** Most received / sent messages and dials kept (later ones are counted, not kept). */
  recordCap: number;
  /**
   * Refuse (and record) every outgoing TCP connect whose host is not a literal 127.x.y.z address, so
   * that an attacker naming 169.254.169.254 or a multicast address can never make the victim contact
   * anything outside loopback; every connect attempt is recorded either way (`dials`).
   */
  dialGuard: boolean;
  /** The process exits by itself after this long, whatever happens. */
  lifetimeMs: number;
}

/** A periodic broadcast. */
export interface BroadcastSpec {
  everyMs: number;
  /** Content size; the first 8 bytes carry a counter so that every message has its own id. */
  bytes: number;
}

/** One message a node received (an app-level delivery). */
export interface ReceivedRecord {
  id: string;
  origin: string;
  from: string;
  hops: number;
  bytes: number;
  at: number;
}

/** One message a node broadcast. */
export interface SentRecord {
  id: string;
  bytes: number;
  at: number;
}

/** One outgoing TCP connect the node attempted (see `NodeSpec.dialGuard`). */
export interface DialRecord {
  host: string;
  port: number;
  at: number;
  /** False when the guard refused it. */
  allowed: boolean;
}

/**
 * One change of a link of the node: a topic neighbour that came or went (`neighbor-up` /
 * `neighbor-down`, with the core's cause), a connection the transport lost (`transport-down`, with
 * the core's cause and the transport's close reason, e.g. `send-queue-overflow`, `keepalive-timeout`),
 * or a frame that did not fit a send queue (`overflow`). Attributes cut links to peers.
 */
export interface LinkRecord {
  at: number;
  peer: string;
  event: 'neighbor-up' | 'neighbor-down' | 'transport-down' | 'overflow';
  cause?: string;
  reason?: string;
}

/** One measurement of a node process. Sizes in MB (2^20 bytes). */
export interface Sample {
  at: number;
  /** Whether `global.gc()` ran right before (heap figures are then live data, not garbage). */
  gc: boolean;
  heapUsedMB: number;
  heapTotalMB: number;
  externalMB: number;
  arrayBuffersMB: number;
  rssMB: number;
  /** User + system CPU since the process started, ms (deltas give CPU use over a window). */
  cpuMs: number;
  /** CPU use since the previous sample, % of one core. */
  cpuPct: number;
  /** Event-loop delay since the previous sample (perf_hooks monitorEventLoopDelay), ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** `process.getActiveResourcesInfo()`: count in all and by type (TCPSocketWrap, Timeout…). */
  activeHandles: number;
  resources: Record<string, number>;
  /** Open file descriptors (/proc/self/fd), -1 where unknown. */
  fds: number;
  /** The transport's open and handshaking connections. */
  connections: number;
  handshaking: number;
  /** The topic's neighbours (active view), hex ids. */
  neighbors: string[];
  /** Pending protocol timers (`gossip.stats.timers`). */
  timers: number;
  /** Outgoing connects attempted so far (all, and those the guard refused). */
  dials: number;
  dialsRefused: number;
  /** `gossip.stats` as JSON (transport and proto counters). */
  stats: JsonObject;
  /**
   * Times the process found no free file descriptor (EMFILE / ENFILE) since it started, probed every
   * 100 ms: anything above 0 means it refused connections and failed dials for want of descriptors.
   */
  fdExhausted?: number;
}

/** Requests a node process answers, with their arguments and results. */
export interface NodeRequests {
  ping: { args: Record<string, never>; result: { pid: number; uptimeMs: number } };
  sample: { args: { gc?: boolean }; result: Sample };
  stats: { args: Record<string, never>; result: JsonObject };
  neighbors: { args: Record<string, never>; result: string[] };
  /** Records from index `since` on (0 for all); `next` is the cursor of the next call. */
  received: { args: { since: number }; result: { records: ReceivedRecord[]; next: number; dropped: number } };
  sent: { args: { since: number }; result: { records: SentRecord[]; next: number; dropped: number } };
  dials: { args: { since: number }; result: { records: DialRecord[]; next: number; dropped: number } };
  links: { args: { since: number }; result: { records: LinkRecord[]; next: number; dropped: number } };
  broadcast: { args: { bytes: number }; result: { id: string } };
  'broadcast-start': { args: BroadcastSpec; result: Record<string, never> };
  'broadcast-stop': { args: Record<string, never>; result: { sent: number } };
  join: { args: { peers: PeerSpec[] }; result: Record<string, never> };
  /** Closes the node gracefully; the process exits after answering. */
  close: { args: Record<string, never>; result: Record<string, never> };
}

export type NodeOp = keyof NodeRequests;

/** Parent → node process. */
export type ToNode =
  | { type: 'spec'; spec: NodeSpec }
  | { type: 'req'; reqId: number; op: NodeOp; args: unknown };

/** Node process → parent. */
export type FromNode =
  | { type: 'ready'; id: string; addresses: Address[]; pid: number }
  | { type: 'res'; reqId: number; ok: true; result: unknown }
  | { type: 'res'; reqId: number; ok: false; error: string }
  | { type: 'fatal'; error: string };

// ---------------------------------------------------------------------------------------------------
// Attacker process

/**
 * The attacks an attacker process knows: one per kind of hostile peer the hardened node must survive
 * (floods of IHAVE, walks and shuffles, idle sessions and sockets, eclipse, forged and flooded GOSSIP,
 * GRAFT amplification, hostile addresses), plus generic ones. Every rate is per second; 0 means "as
 * fast as the socket drains" (the attacker keeps at most a few MB unsent, so it cannot exhaust its own
 * memory). Sessions are real WebSockets bound to the attacker's own IP with a completed Noise XX
 * handshake under a fresh random identity; "neighbour" means the session first JOINs the topic and
 * waits for the victim's accepting NEIGHBOR_REPLY. `reconnect` reopens a session (new identity) the
 * victim closed, until the end.
 */
export type Attack =
  /** Do nothing for `durationMs`: the no-attack baseline of a benchmark, through the same code path. */
  | { kind: 'none' }
  /** IHAVE frames repeating one unknown id `entries` times (default 1900: a 64 KiB frame). */
  | { kind: 'ihave-repeat'; entries?: number; id?: string; ratePerSec?: number; reconnect?: boolean }
  /** IHAVE frames of `entries` fresh random ids each (default 1900). */
  | { kind: 'ihave-fresh'; entries?: number; ratePerSec?: number; reconnect?: boolean }
  /**
   * Random-walk and shuffle messages with attacker-chosen fields: FORWARD_JOIN / SHUFFLE /
   * SHUFFLE_REPLY with `ttl` (default 255), naming `peersPerFrame` fresh random ids (default 1; at
   * most 255) whose peer data lists `addresses` ('listeners': the attacker's own listening ports,
   * round robin, so that dials the victim makes on the attacker's behalf are counted). From a
   * non-neighbour session unless `neighbour`.
   */
  | {
      kind: 'walk';
      message: 'forward-join' | 'shuffle' | 'shuffle-reply';
      ttl?: number;
      neighbour?: boolean;
      peersPerFrame?: number;
      addresses?: 'listeners' | Address[];
      ratePerSec?: number;
    }
  /**
   * Peer data naming `addresses` (loopback, unspecified, link-local, metadata, multicast, broadcast,
   * `localhost`…): in JOINs from fresh identities (`via: 'join'`, one session each), or in
   * FORWARD_JOIN / SHUFFLE frames naming fresh ids. The victim's dial guard records what it tried.
   */
  | {
      kind: 'bad-addresses';
      addresses: Address[];
      via: 'join' | 'forward-join' | 'shuffle';
      ratePerSec?: number;
    }
  /**
   * `sessions` completed handshakes (fresh ids) that send nothing but PONGs; optionally JOIN first.
   * This and the three socket kinds below hold `sessions` / `sockets` open at once, opening at most
   * `concurrency` at a time; with `reconnect` (default true) each one the victim closes is replaced
   * after `reconnectDelayMs` (default 250), so a victim that sheds them sees them come back at once.
   */
  | ({ kind: 'idle-sessions'; sessions: number; join?: boolean } & HoldOptions)
  /** `sockets` upgraded WebSockets that never send Noise message 1. */
  | ({ kind: 'silent-websockets'; sockets: number } & HoldOptions)
  /** `sockets` TCP connections that never send a byte. */
  | ({ kind: 'silent-tcp'; sockets: number } & HoldOptions)
  /** `sockets` TCP connections that send an HTTP request line, then one header byte every `byteEveryMs`. */
  | ({ kind: 'slow-http'; sockets: number; byteEveryMs?: number } & HoldOptions)
  /**
   * `identities` sessions that JOIN (or send NEIGHBOR with high priority) and do it again as soon as
   * the victim evicts them (DISCONNECT or a closed link), after `rejoinDelayMs` (default 0).
   */
  | { kind: 'eclipse'; identities: number; request?: 'join' | 'neighbor-high'; rejoinDelayMs?: number }
  /** Relayed GOSSIP (origin a random id, not the sender) with random 64-byte signatures. */
  | { kind: 'forged-gossip'; ratePerSec?: number; contentBytes?: number; reconnect?: boolean }
  /** Correctly signed GOSSIP of the attacker's own, `bytesPerSec` in all, `contentBytes` each (default 1000). */
  | { kind: 'signed-flood'; bytesPerSec: number; contentBytes?: number; reconnect?: boolean }
  /**
   * GRAFT(id) for a message the victim caches: `id`, or the first GOSSIP the victim pushes to the
   * attacker with at least `minContentBytes` of content (default 1). Counts bytes in per byte out.
   */
  | { kind: 'graft-flood'; ratePerSec?: number; id?: string; minContentBytes?: number; reconnect?: boolean }
  /**
   * Arbitrary gossip frames (hex, e.g. from `encodeFrame`, including ones the codec allows and the
   * protocol forbids), round robin over `sessions` sessions (default 1); `raw` sends them as plain
   * WebSocket messages after the handshake instead of sealed GOSSIP frames.
   */
  | {
      kind: 'frames';
      frames: string[];
      neighbour?: boolean;
      sessions?: number;
      ratePerSec?: number;
      raw?: boolean;
      reconnect?: boolean;
    }
  /**
   * JOIN and record what the victim sends (kinds; seq numbers of GOSSIP it originates; the walks it
   * passes on: `notes.walks` by kind, `notes.walkHosts` the hosts their peer data names, `walkMaxTtl`).
   */
  | { kind: 'observe' };

export type AttackKind = Attack['kind'];

/** How the holding attacks keep their connections (see `idle-sessions`). */
export interface HoldOptions {
  reconnect?: boolean;
  reconnectDelayMs?: number;
  concurrency?: number;
}

/** What an attacker process runs. */
export interface AttackSpec {
  /** A label for reports. */
  name: string;
  victim: Endpoint;
  /** The topic hash (hex). */
  topic: string;
  /** Local address every socket binds to (e.g. 127.0.0.66): the victim sees the attack from this IP. */
  bindHost: string;
  /**
   * Hosts the attack's sessions and sockets bind to, round robin (listeners stay on `bindHost`): one
   * attacker that looks like many hosts, so that per-IP caps alone cannot shed it. Default `[bindHost]`.
   */
  bindHosts?: string[];
  /** Length of the attack phase, after setup. */
  durationMs: number;
  /** Longest setup (sessions, JOIN) before the attack phase; a setup that runs out fails the attack. */
  setupTimeoutMs: number;
  /** Ports to listen on at `bindHost`, counting the TCP connections the victim opens to them. */
  listenPorts: number;
  /** Progress messages every this many ms (0: none). */
  progressEveryMs: number;
  attack: Attack;
}

/** Counters an attacker keeps (all sessions and sockets together). */
export interface AttackCounters {
  /** GOSSIP frames (or raw messages) sent after the handshake. */
  framesSent: number;
  /** Bytes written to the wire (WebSocket payloads or raw TCP bytes). */
  bytesSent: number;
  /** Frames and bytes received from the victim on finished sessions. */
  framesReceived: number;
  bytesReceived: number;
  /** Received gossip frames by kind ('join', 'gossip', 'graft'…), and transport PINGs. */
  receivedByKind: Record<string, number>;
  pingsAnswered: number;
  /** Noise sessions: attempted, completed, failed before completion (refused, 1013, timeout). */
  sessionsAttempted: number;
  sessionsOpened: number;
  sessionsFailed: number;
  /** Finished sessions (or held sockets) the victim closed while the attack wanted them open. */
  closedByVictim: number;
  /** Raw sockets (TCP, slow HTTP, silent WebSockets): attempted, connected, refused or failed. */
  socketsAttempted: number;
  socketsOpened: number;
  socketsFailed: number;
  /** Peak of sessions plus sockets open at once. */
  peakOpen: number;
  /** JOIN / NEIGHBOR requests sent and their answers. */
  joinsSent: number;
  joinsAccepted: number;
  joinsRefused: number;
  /** DISCONNECTs received from the victim (evictions). */
  evictions: number;
  /** Sessions reopened after the victim closed one. */
  reconnects: number;
  /** TCP connections the victim opened to the attacker's listeners, and how many began with an HTTP request. */
  incomingDials: number;
  incomingHttp: number;
  /** Why sessions or sockets failed, by reason. */
  failures: Record<string, number>;
}

/** An attacker's final report. */
export interface AttackReport {
  name: string;
  kind: AttackKind;
  /** False when setup failed or the attack threw; `error` says why. */
  ok: boolean;
  error?: string;
  startedAt: number;
  /** When the attack phase began and ended (undefined when setup failed). */
  attackStartedAt?: number;
  attackEndedAt?: number;
  /** Why it ended: 'duration', 'stopped' (asked), 'lifetime' (hard bound), 'error'. */
  endedBy: 'duration' | 'stopped' | 'lifetime' | 'error';
  counters: AttackCounters;
  /** The attacker's listening addresses (`listenPorts`). */
  listeners: Address[];
  /** Attack-specific findings (e.g. `graft-flood`: `id`, `amplification`; `observe`: `victimSeqs`). */
  notes: JsonObject;
}

/** Parent → attacker process. */
export type ToAttacker = { type: 'spec'; spec: AttackSpec } | { type: 'stop' };

/** Attacker process → parent. */
export type FromAttacker =
  | { type: 'ready'; listeners: Address[]; at: number }
  | { type: 'attacking'; at: number }
  | { type: 'progress'; at: number; counters: AttackCounters }
  | { type: 'report'; report: AttackReport };

// ---------------------------------------------------------------------------------------------------
// JSON

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/**
 * `value` as plain JSON, whatever it holds: bigint → decimal string, Uint8Array → hex, Map → object,
 * Set → array. Stats objects other engineers extend may hold any of these.
 */
export function toJson(value: unknown): Json {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      return v;
    }) ?? 'null',
  ) as Json;
}

/** `j` when it is a JSON object, else `{}`: for reading stats and notes whose shape others may change. */
export const asObject = (j: Json | undefined): JsonObject =>
  typeof j === 'object' && j !== null && !Array.isArray(j) ? j : {};

/** `j` when it is a number, else NaN (which fails every bound it is compared with). */
export const asNumber = (j: Json | undefined): number => (typeof j === 'number' ? j : Number.NaN);

/** Epoch milliseconds with sub-millisecond precision, comparable across processes of one machine. */
export const epochMs = (): number => performance.timeOrigin + performance.now();
