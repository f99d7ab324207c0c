/**
 * The attacker's network primitives, over real sockets bound to the attacker's own IP (any 127.x.y.z
 * is local on Linux, so the victim's per-IP accounting sees a host of its own):
 *
 * - {@link Session}: a WebSocket with a completed Noise XX handshake (PROTOCOL.md §9.3) under any
 *   identity, built on the library's own pure `Handshake` and frame codec (`sealFrame` / `openFrame`),
 *   so the victim cannot tell it from a real node. After the handshake it sends whatever it is told:
 *   gossip messages (`encodeFrame`, which accepts everything the codec can express, e.g. ttl 255 or
 *   repeated ids), raw gossip frame bytes, transport frames, or arbitrary WebSocket messages. It answers
 *   PINGs (optionally), decodes what the victim sends and counts it.
 * - {@link joinTopic} / {@link askNeighbor}: become a neighbour (JOIN or NEIGHBOR, wait for the reply).
 * - {@link openTcp}, {@link openSlowHttp}, {@link openSilentWebSocket}: transport-level abuse that
 *   never gets as far as a handshake.
 * - {@link ListenerPool}: ports of the attacker's IP that count the TCP connections the victim opens
 *   to them (dials made on an attacker's behalf) and whether each began with an HTTP request.
 * - {@link pump}: send at a target rate, or as fast as the socket drains, until a deadline.
 *
 * Used by attacker.ts (its own process); nothing here keeps a process alive after `close()`.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { EventEmitter } from 'eventemitter3';
import { type RawData, WebSocket } from 'ws';
import type { Address } from '../../src/crypto/address.js';
import type { KeyPair } from '../../src/crypto/keys.js';
import type { CryptoSuite } from '../../src/crypto/suite.js';
import { defaultSuite } from '../../src/native/crypto.js';
import { type Frame, MAX_FRAME_PLAINTEXT_LIMIT, openFrame, sealFrame } from '../../src/net/frame.js';
import { Handshake, type HandshakeDone } from '../../src/net/handshake.js';
import type { Message, PeerData } from '../../src/proto/types.js';
import { decodeFrame, encodeFrame } from '../../src/proto/wire.js';
import type { AttackCounters } from './spec.js';

/** The attacker never refuses its own frames for size: the victim's limits are what is tested. */
const LIMITS = { maxPlaintextBytes: MAX_FRAME_PLAINTEXT_LIMIT };
/** Decode limits for what the victim sends (generous: the attacker only counts and inspects). */
const DECODE = { maxMessageBytes: MAX_FRAME_PLAINTEXT_LIMIT, maxPeerDataBytes: 65_535 };

/** Fresh zeroed counters. */
export function newCounters(): AttackCounters {
  return {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    receivedByKind: {},
    pingsAnswered: 0,
    sessionsAttempted: 0,
    sessionsOpened: 0,
    sessionsFailed: 0,
    closedByVictim: 0,
    socketsAttempted: 0,
    socketsOpened: 0,
    socketsFailed: 0,
    peakOpen: 0,
    joinsSent: 0,
    joinsAccepted: 0,
    joinsRefused: 0,
    evictions: 0,
    reconnects: 0,
    incomingDials: 0,
    incomingHttp: 0,
    failures: {},
  };
}

/** Adds one to `counters.failures[reason]`. */
export function countFailure(counters: AttackCounters, reason: string): void {
  counters.failures[reason] = (counters.failures[reason] ?? 0) + 1;
}

/** A fresh random ed25519 identity (public key from the given suite: OpenSSL is ~50× noble here). */
export function randomIdentity(suite: CryptoSuite = defaultSuite()): KeyPair {
  const secretKey = new Uint8Array(randomBytes(32));
  return { secretKey, publicKey: suite.ed25519PublicKey(secretKey) };
}

/** A fresh random 32-byte id as hex (a peer id nobody holds, or an unknown message id). */
export const randomId = (): string => randomBytes(32).toString('hex');

const url = (host: string, port: number): string =>
  host.includes(':') ? `ws://[${host}]:${port}` : `ws://${host}:${port}`;

const toBytes = (data: RawData): Uint8Array => {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
};

// ---------------------------------------------------------------------------------------------------
// Sessions

/** Options of {@link Session.open}. */
export interface SessionOptions {
  host: string;
  port: number;
  /** Local address to bind (the attacker's IP). */
  bindHost: string;
  /** The id (hex) the victim must prove; a different one fails the session. */
  expectedId?: string;
  /** The identity to prove; default a fresh random one. */
  identity?: KeyPair;
  /** Our identity extension (an address list: `encodeAddressList`); default empty. */
  extension?: Uint8Array;
  /** Longest WebSocket upgrade plus Noise handshake. Default 10 s. */
  timeoutMs?: number;
  /** Answer transport PINGs with PONGs (default true: otherwise the victim's keepalive cuts us). */
  answerPings?: boolean;
  /** Shared counters to add to (default: the session's own). */
  counters?: AttackCounters;
}

/** How a session ended. */
export interface SessionEnd {
  /** WebSocket close code (1006 when the socket just died). */
  code: number;
  reason: string;
  /** True when we closed it (`close()` / `destroy()`), false when the victim did. */
  local: boolean;
}

/** Events of a {@link Session}. */
export interface SessionEvents {
  /** A gossip frame from the victim, decoded (frames that do not decode are only counted). */
  message: (message: Message, topic: string) => void;
  end: (end: SessionEnd) => void;
}

/** A finished Noise session with the victim over a real WebSocket. */
export class Session extends EventEmitter<SessionEvents> {
  /** Our id (hex) in this session. */
  readonly id: string;
  readonly identity: KeyPair;
  /** The victim's id (hex), as its handshake proved. */
  readonly remoteId: string;
  readonly counters: AttackCounters;
  /** Resolves when the socket closed, however. */
  readonly ended: Promise<SessionEnd>;
  #ended = false;
  #local = false;
  readonly #ws: WebSocket;
  readonly #done: HandshakeDone;
  readonly #answerPings: boolean;

  private constructor(ws: WebSocket, done: HandshakeDone, identity: KeyPair, o: SessionOptions) {
    super();
    this.#ws = ws;
    this.#done = done;
    this.identity = identity;
    this.id = bytesToHex(identity.publicKey);
    this.remoteId = bytesToHex(done.remoteId);
    this.counters = o.counters ?? newCounters();
    this.#answerPings = o.answerPings ?? true;
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.#onMessage(toBytes(data));
    });
    this.ended = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.#ended = true;
        const end = { code, reason: reason.toString(), local: this.#local };
        if (!end.local) this.counters.closedByVictim++;
        this.emit('end', end);
        resolve(end);
      });
    });
  }

  /**
   * Dials the victim and runs the initiator handshake.
   * @throws {Error} when the upgrade or the handshake fails or times out (the message names why:
   *   `refused`, `http-<status>`, `closed-<code>`, `timeout`, `handshake-<reason>`); counted in
   *   `counters.sessionsFailed` / `failures`.
   */
  static open(o: SessionOptions): Promise<Session> {
    const counters = o.counters ?? newCounters();
    counters.sessionsAttempted++;
    const identity = o.identity ?? randomIdentity();
    const suite = defaultSuite();
    const hs = new Handshake({
      role: 'initiator',
      identitySecretKey: identity.secretKey,
      staticSecretKey: randomBytes(32),
      ephemeralSecretKey: randomBytes(32),
      ...(o.expectedId === undefined ? {} : { expectedRemoteId: hexToBytes(o.expectedId) }),
      ...(o.extension === undefined ? {} : { extension: o.extension }),
      crypto: suite,
    });
    const timeoutMs = o.timeoutMs ?? 10_000;
    const ws = new WebSocket(url(o.host, o.port), {
      localAddress: o.bindHost,
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
      maxPayload: MAX_FRAME_PLAINTEXT_LIMIT + 64,
    });
    return new Promise<Session>((resolve, reject) => {
      let settled = false;
      const fail = (reason: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        counters.sessionsFailed++;
        countFailure(counters, reason);
        ws.removeAllListeners('message');
        ws.on('error', () => {});
        ws.terminate();
        reject(new Error(reason));
      };
      const timer = setTimeout(() => fail('timeout'), timeoutMs);
      timer.unref();
      ws.on('error', (err: Error & { code?: string }) =>
        fail(err.code === 'ECONNREFUSED' ? 'refused' : (err.code ?? err.message)),
      );
      ws.on('unexpected-response', (_req, res) => fail(`http-${res.statusCode}`));
      ws.once('close', (code) => fail(`closed-${code}`));
      ws.once('open', () => {
        const m1 = hs.start();
        if (m1 !== undefined) {
          ws.send(m1);
          counters.bytesSent += m1.length;
        }
      });
      ws.once('message', (data) => {
        const step = hs.receive(toBytes(data));
        if (step.error !== undefined || step.done === undefined || step.send === undefined) {
          fail(`handshake-${step.error ?? 'incomplete'}`);
          return;
        }
        ws.send(step.send);
        counters.bytesSent += step.send.length;
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners('close');
        ws.removeAllListeners('error');
        ws.on('error', () => {});
        counters.sessionsOpened++;
        resolve(new Session(ws, step.done, identity, { ...o, counters }));
      });
    });
  }

  /** Whether the socket is still open. */
  get open(): boolean {
    return !this.#ended && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Bytes the socket holds unsent (what {@link pump} keeps bounded). */
  get buffered(): number {
    return this.#ws.bufferedAmount;
  }

  /**
   * Sends one gossip message of `topic`, encoded by the library's own codec.
   * @throws {RangeError} when the codec refuses a field (see `encodeFrame`).
   */
  send(topic: string, message: Message): boolean {
    return this.sendGossip(encodeFrame(topic, message));
  }

  /** Sends raw gossip frame bytes (anything, even what the codec cannot produce) as a GOSSIP frame. */
  sendGossip(bytes: Uint8Array): boolean {
    return this.sendFrame({ type: 'gossip', message: bytes });
  }

  /** Seals and sends one transport frame (PING, PONG, CLOSE or GOSSIP). */
  sendFrame(frame: Frame): boolean {
    if (!this.open) return false;
    const r = sealFrame(this.#done.send, frame, LIMITS);
    if (!r.ok) return false;
    return this.sendRaw(r.bytes);
  }

  /** Sends an arbitrary WebSocket binary message (not sealed: garbage, replays, oversize…). */
  sendRaw(bytes: Uint8Array): boolean {
    if (!this.open) return false;
    this.#ws.send(bytes, { binary: true });
    this.counters.framesSent++;
    this.counters.bytesSent += bytes.length;
    return true;
  }

  /** Resolves with the first gossip message that passes `match`; rejects on timeout or end. */
  waitFor(match: (m: Message) => boolean, timeoutMs: number, what = 'message'): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (m: Message): void => {
        if (match(m)) done(undefined, m);
      };
      const onEnd = (end: SessionEnd): void => done(new Error(`session ended (${end.code}) before ${what}`));
      const done = (err: Error | undefined, m?: Message): void => {
        clearTimeout(timer);
        this.off('message', onMessage);
        this.off('end', onEnd);
        if (err !== undefined) reject(err);
        else resolve(m!);
      };
      if (!this.open) {
        done(new Error(`session ended before ${what}`));
        return;
      }
      this.on('message', onMessage);
      this.on('end', onEnd);
    });
  }

  /** Closes the WebSocket (close handshake, then destroyed after 1 s). Idempotent. */
  close(): void {
    if (this.#ended) return;
    if (this.#ws.readyState === WebSocket.OPEN) this.#local = true;
    this.#ws.close(1000);
    setTimeout(() => this.#ws.terminate(), 1000).unref();
  }

  /** Destroys the socket at once. Idempotent. */
  destroy(): void {
    if (this.#ended) return;
    // A socket already closing that we did not close: the victim began it (its CLOSE frame came in).
    if (this.#ws.readyState === WebSocket.OPEN) this.#local = true;
    this.#ws.terminate();
  }

  #onMessage(bytes: Uint8Array): void {
    const c = this.counters;
    c.bytesReceived += bytes.length;
    const r = openFrame(this.#done.recv, bytes, LIMITS);
    if (!r.ok) {
      countFailure(c, `victim-frame-${r.reason}`);
      return;
    }
    c.framesReceived++;
    const f = r.frame;
    switch (f.type) {
      case 'ping':
        c.receivedByKind.ping = (c.receivedByKind.ping ?? 0) + 1;
        if (this.#answerPings && this.sendFrame({ type: 'pong', data: f.data })) c.pingsAnswered++;
        return;
      case 'pong':
      case 'close':
        c.receivedByKind[f.type] = (c.receivedByKind[f.type] ?? 0) + 1;
        return;
      case 'gossip': {
        const d = decodeFrame(f.message, DECODE);
        if (!d.ok) {
          countFailure(c, `victim-gossip-${d.reason}`);
          return;
        }
        c.receivedByKind[d.message.type] = (c.receivedByKind[d.message.type] ?? 0) + 1;
        if (d.message.type === 'disconnect') c.evictions++;
        this.emit('message', d.message, d.topic);
      }
    }
  }
}

/**
 * Sends JOIN for `topic` (with `data` as our peer data) and waits for the victim's NEIGHBOR_REPLY.
 * Resolves with whether it accepted; false also when no answer came within `timeoutMs`.
 */
export async function joinTopic(
  s: Session,
  topic: string,
  timeoutMs: number,
  data?: PeerData,
): Promise<boolean> {
  return request(s, topic, data === undefined ? { type: 'join' } : { type: 'join', data }, timeoutMs);
}

/** Sends NEIGHBOR (`priority`) and waits for the reply, like {@link joinTopic}. */
export async function askNeighbor(
  s: Session,
  topic: string,
  priority: 'high' | 'low',
  timeoutMs: number,
  data?: PeerData,
): Promise<boolean> {
  const m: Message =
    data === undefined ? { type: 'neighbor', priority } : { type: 'neighbor', priority, data };
  return request(s, topic, m, timeoutMs);
}

async function request(s: Session, topic: string, m: Message, timeoutMs: number): Promise<boolean> {
  const reply = s.waitFor((r) => r.type === 'neighbor-reply', timeoutMs, 'NEIGHBOR_REPLY');
  s.counters.joinsSent++;
  if (!s.send(topic, m)) {
    reply.catch(() => {});
    return false;
  }
  try {
    const r = await reply;
    const accepted = r.type === 'neighbor-reply' && r.accepted;
    if (accepted) s.counters.joinsAccepted++;
    else s.counters.joinsRefused++;
    return accepted;
  } catch {
    s.counters.joinsRefused++;
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Raw sockets

/** Options of the raw-socket openers. */
export interface RawSocketOptions {
  host: string;
  port: number;
  bindHost: string;
  /** Longest connect (or upgrade). Default 10 s. */
  timeoutMs?: number;
  counters: AttackCounters;
}

/** A raw socket the attacker holds open; `ended` resolves when it closed (`local` false: the victim did). */
export interface HeldSocket {
  readonly ended: Promise<{ local: boolean }>;
  destroy(): void;
}

function hold(socket: net.Socket, counters: AttackCounters, stopTimer?: () => void): HeldSocket {
  let local = false;
  const ended = new Promise<{ local: boolean }>((resolve) => {
    socket.once('close', () => {
      stopTimer?.();
      if (!local) counters.closedByVictim++;
      resolve({ local });
    });
  });
  socket.on('data', () => {}); // read (and drop) whatever the victim says, e.g. an HTTP error
  return {
    ended,
    destroy: () => {
      local = true;
      socket.destroy();
    },
  };
}

function connectTcp(o: RawSocketOptions): Promise<net.Socket> {
  o.counters.socketsAttempted++;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: o.host, port: o.port, localAddress: o.bindHost });
    const timer = setTimeout(() => fail('timeout'), o.timeoutMs ?? 10_000);
    timer.unref();
    const fail = (reason: string): void => {
      clearTimeout(timer);
      o.counters.socketsFailed++;
      countFailure(o.counters, reason);
      socket.destroy();
      reject(new Error(reason));
    };
    socket.once('error', (err: Error & { code?: string }) => fail(err.code ?? err.message));
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      o.counters.socketsOpened++;
      resolve(socket);
    });
  });
}

/** A TCP connection that never sends a byte (half-open from the HTTP server's point of view). */
export async function openTcp(o: RawSocketOptions): Promise<HeldSocket> {
  return hold(await connectTcp(o), o.counters);
}

/**
 * A TCP connection that sends an HTTP request line and a Host header, then one more header byte every
 * `byteEveryMs` and never ends the headers (slowloris).
 */
export async function openSlowHttp(o: RawSocketOptions & { byteEveryMs: number }): Promise<HeldSocket> {
  const socket = await connectTcp(o);
  const head = `GET / HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nX-Slow: `;
  socket.write(head);
  o.counters.bytesSent += head.length;
  const timer = setInterval(() => {
    if (socket.writable) {
      socket.write('a');
      o.counters.bytesSent++;
    }
  }, o.byteEveryMs);
  timer.unref();
  return hold(socket, o.counters, () => clearInterval(timer));
}

/** A WebSocket whose upgrade completed and that never sends Noise message 1. */
export function openSilentWebSocket(o: RawSocketOptions): Promise<HeldSocket> {
  o.counters.socketsAttempted++;
  const ws = new WebSocket(url(o.host, o.port), {
    localAddress: o.bindHost,
    perMessageDeflate: false,
    handshakeTimeout: o.timeoutMs ?? 10_000,
  });
  return new Promise((resolve, reject) => {
    const fail = (reason: string): void => {
      o.counters.socketsFailed++;
      countFailure(o.counters, reason);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(new Error(reason));
    };
    ws.on('error', (err: Error & { code?: string }) => fail(err.code ?? err.message));
    ws.on('unexpected-response', (_req, res) => fail(`http-${res.statusCode}`));
    ws.once('close', (code) => fail(`closed-${code}`));
    ws.once('open', () => {
      ws.removeAllListeners();
      ws.on('error', () => {});
      o.counters.socketsOpened++;
      let local = false;
      const ended = new Promise<{ local: boolean }>((r) =>
        ws.once('close', () => {
          if (!local) o.counters.closedByVictim++;
          r({ local });
        }),
      );
      resolve({
        ended,
        destroy: () => {
          local = true;
          ws.terminate();
        },
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Listeners

/**
 * `count` TCP listeners on `host` (any free ports): they count every connection the victim opens to
 * them, note whether its first bytes are an HTTP request (a WebSocket dial), and hold the socket open
 * (`hold`, the default: the victim's dial then waits for its handshake timeout) or close it at once.
 */
export class ListenerPool {
  readonly addresses: Address[] = [];
  readonly #servers: net.Server[] = [];
  readonly #sockets = new Set<net.Socket>();

  private constructor(
    private readonly counters: AttackCounters,
    private readonly holdOpen: boolean,
  ) {}

  /** @throws {Error} when a port cannot be bound. */
  static async open(
    host: string,
    count: number,
    counters: AttackCounters,
    hold = true,
  ): Promise<ListenerPool> {
    const pool = new ListenerPool(counters, hold);
    for (let i = 0; i < count; i++) {
      const server = net.createServer((socket) => pool.#onConnection(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: 0 }, () => resolve());
      });
      server.on('error', () => {});
      pool.#servers.push(server);
      const a = server.address() as net.AddressInfo;
      pool.addresses.push({ host, port: a.port });
    }
    return pool;
  }

  #onConnection(socket: net.Socket): void {
    this.counters.incomingDials++;
    socket.on('error', () => {});
    socket.once('data', (chunk: Buffer) => {
      if (chunk.subarray(0, 4).toString('latin1') === 'GET ') this.counters.incomingHttp++;
      if (!this.holdOpen) socket.destroy();
    });
    if (this.holdOpen) {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    }
  }

  /** Closes every listener and held socket. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

// ---------------------------------------------------------------------------------------------------
// Pacing

/** Most bytes a session may hold unsent before {@link pump} waits (guess: ~30 full-size frames). */
export const PUMP_HIGH_WATER_BYTES = 2 * 1024 * 1024;

/** Options of {@link pump}. */
export interface PumpOptions {
  /** Frames per second; 0: as fast as the socket drains. */
  ratePerSec: number;
  /** Stop at this `performance.now()`. */
  until: number;
  signal: AbortSignal;
  /** Sends one frame; false when it could not (the session is gone: pump asks `recover`). */
  send: () => boolean;
  /** Bytes unsent right now (0 when not known). */
  buffered: () => number;
  /** Called when `send` fails; resolve true to go on (e.g. after a reconnect), false to stop. */
  recover?: () => Promise<boolean>;
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Calls `send` at `ratePerSec` (in bursts every 10 ms, catching up after a stall) or as fast as the
 * socket drains, until `until` or `signal`. Resolves with the number of frames sent.
 */
export async function pump(o: PumpOptions): Promise<number> {
  const start = performance.now();
  let sent = 0;
  while (!o.signal.aborted && performance.now() < o.until) {
    let budget: number;
    if (o.ratePerSec > 0) {
      budget = Math.min(1000, Math.floor(((performance.now() - start) * o.ratePerSec) / 1000) - sent);
    } else {
      budget = 64;
    }
    let stalled = false;
    for (let i = 0; i < budget; i++) {
      if (o.buffered() > PUMP_HIGH_WATER_BYTES) {
        stalled = true;
        break;
      }
      if (!o.send()) {
        if (o.recover === undefined || !(await o.recover())) return sent;
        break;
      }
      sent++;
    }
    if (o.ratePerSec > 0 || stalled) await tick(o.ratePerSec > 0 ? 10 : 2);
    else await immediate();
  }
  return sent;
}
