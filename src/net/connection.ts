/**
 * One WebSocket between two nodes (PROTOCOL.md §9): drives a `Handshake` under a deadline (and, for an
 * inbound one, a shorter deadline for the dialer's first message, §9.8), then seals
 * and opens frames, answers PINGs, sends its own when idle, drops a peer silent for
 * `keepaliveTimeoutMs`, and bounds what it holds unsent. Every way it can end is one `CloseReason`.
 *
 * ```
 * handshaking ──handshake done──▶ open ──close()/CLOSE/socket closed──▶ closing ──socket 'close'──▶ closed
 *      └──── timeout, refused bytes, socket error: the socket is destroyed ─────────────────────────┘
 * ```
 * A connection closed gracefully (`close()`) still delivers frames until its socket closes: the peer
 * may have sent some before it learned of the close (a duplicate of a simultaneous dial, §9.7).
 *
 * Reading can be stopped (PROTOCOL.md §8.7): `pause(ms)` stops reading from a peer over its budget,
 * so that its frames wait in its own socket buffers and TCP back-pressure slows it down. A paused peer
 * is not silent: the keepalive does not count the pause. Fairness between sockets: at most
 * `MAX_MESSAGES_PER_TURN` messages of one read are handled at once, the rest in the next turns.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { EventEmitter } from 'eventemitter3';
import type { RawData, WebSocket } from 'ws';
import type { Address } from '../crypto/address.js';
import type { CryptoSuite } from '../crypto/suite.js';
import { defaultSuite } from '../native/crypto.js';
import type { CloseInfo, CloseReason, ConnectionCounters } from './close.js';
import type { TransportConfig } from './config.js';
import { type Frame, openFrame, sealFrame } from './frame.js';
import { Handshake, type HandshakeDone, type HandshakeFailReason } from './handshake.js';
import type { NoiseRole } from './noise.js';

export type { CloseInfo, CloseReason, ConnectionCounters } from './close.js';

/**
 * Longest read pause `pause()` takes at once (guess: a default budget refills a max-size frame in
 * 63 ms; only a budget with a zero refill rate asks for longer, and the peer is read again, so that its
 * CLOSE and PINGs are seen, at least this often).
 */
export const MAX_READ_PAUSE_MS = 1000;

/**
 * WebSocket messages of one connection handled in one go (one socket read, then one event-loop turn
 * each): the rest wait, with the socket paused, for the next turns, so that a peer that fills its
 * socket cannot hold the loop for a whole read's worth of frames while other connections wait. An
 * honest read holds one or two messages and pays nothing. Measured in bench:attack: without any such
 * cap (ws's synchronous events), GRAFT floods of small frames held honest p99 at 149 ms; with ws
 * deferring every message to its own turn (`allowSynchronousEvents: false`), at 12 ms, but then every
 * message costs a turn of the loop: 15–25 % more CPU per message in a three-node mesh (guess: 8).
 */
export const MAX_MESSAGES_PER_TURN = 8;

/** Result of {@link Connection.send}. */
export type SendResult = 'sent' | 'overflow' | 'closed';

/** Connection states. */
export type ConnectionState = 'handshaking' | 'open' | 'closing' | 'closed';

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  /** The handshake finished; `remoteId` and `extension` are set. */
  open: () => void;
  /** The first handshake message arrived (an inbound connection started its handshake). */
  progress: () => void;
  /** One GOSSIP frame's body (a §8.2 gossip frame, not decoded yet). */
  message: (bytes: Uint8Array) => void;
  /** A frame did not fit the send queue (counted; with policy `disconnect` the close follows). */
  overflow: (bytes: number) => void;
  /** The socket closed. Emitted once. */
  close: (info: CloseInfo) => void;
}

/** Options of {@link Connection}. */
export interface ConnectionOptions {
  socket: WebSocket;
  /** `initiator` when we dialed. */
  role: NoiseRole;
  identitySecretKey: Uint8Array;
  staticSecretKey: Uint8Array;
  /** The id a dialed peer must prove. */
  expectedRemoteId?: Uint8Array | undefined;
  /** Our identity extension (our advertised addresses). */
  extension: Uint8Array;
  config: TransportConfig;
  /** Monotonic clock in ms. */
  now: () => number;
  /** The handshake's and the frames' crypto; default `defaultSuite()` (OpenSSL on Node). */
  crypto?: CryptoSuite | undefined;
  /** The remote's IP address and port: the socket's peer (inbound) or the address dialed. */
  remote?: Address | undefined;
}

/** One WebSocket connection to a peer. */
export class Connection extends EventEmitter<ConnectionEvents> {
  readonly role: NoiseRole;
  /** The remote's id (hex) once open; the expected id while dialing. */
  remoteId: string | undefined;
  /** The remote's identity extension once open. */
  extension: Uint8Array = new Uint8Array(0);
  /** The remote's IP address and port, when known. */
  readonly remote: Address | undefined;
  #state: ConnectionState = 'handshaking';
  #close: CloseInfo | undefined;
  #session: HandshakeDone | undefined;
  readonly #socket: WebSocket;
  readonly #handshake: Handshake;
  readonly #config: TransportConfig;
  readonly #now: () => number;
  readonly #counters: ConnectionCounters;
  #timer: NodeJS.Timeout | undefined;
  /** A responder's deadline for the dialer's first message (`firstMessageTimeoutMs`). */
  #first: NodeJS.Timeout | undefined;
  #progressed = false;
  #lastRecv: number;
  #lastSend: number;
  #pingSeq = 0;
  #closeEmitted = false;
  /** Reading stopped until this time (`pause`), or 0. */
  #pausedUntil = 0;
  #pauseTimer: NodeJS.Timeout | undefined;
  /** Messages handled since the current socket read began (see `MAX_MESSAGES_PER_TURN`). */
  #turnMessages = 0;
  /** Messages read but not yet handled, waiting for the next turns; the socket is paused meanwhile. */
  readonly #backlog: Array<[RawData, boolean]> = [];

  /** @throws {TypeError|RangeError} when a key has the wrong type or length. */
  constructor(opts: ConnectionOptions, counters: ConnectionCounters) {
    super();
    this.role = opts.role;
    this.#socket = opts.socket;
    this.#config = opts.config;
    this.#now = opts.now;
    this.#counters = counters;
    this.remote = opts.remote === undefined ? undefined : { host: opts.remote.host, port: opts.remote.port };
    this.#lastRecv = this.#lastSend = opts.now();
    if (opts.expectedRemoteId !== undefined) this.remoteId = bytesToHex(opts.expectedRemoteId);
    this.#handshake = new Handshake({
      role: opts.role,
      identitySecretKey: opts.identitySecretKey,
      staticSecretKey: opts.staticSecretKey,
      ephemeralSecretKey: randomBytes(32),
      expectedRemoteId: opts.expectedRemoteId,
      extension: opts.extension,
      crypto: opts.crypto ?? defaultSuite(),
    });
    const s = this.#socket;
    s.binaryType = 'nodebuffer';
    s.on('message', (data, isBinary) => this.#onRead(data, isBinary));
    s.on('error', (err: Error & { code?: string }) => this.#onSocketError(err));
    s.on('close', () => this.#onSocketClose());
    this.#timer = setTimeout(() => this.#fail('handshake-timeout'), this.#config.handshakeTimeoutMs);
    this.#timer.unref();
    if (opts.role === 'responder' && this.#config.firstMessageTimeoutMs < this.#config.handshakeTimeoutMs) {
      this.#first = setTimeout(() => this.#firstMessageDue(), this.#config.firstMessageTimeoutMs);
      this.#first.unref();
    }
    if (opts.role === 'initiator') {
      if (s.readyState === s.OPEN) this.#start();
      else s.once('open', () => this.#start());
    }
  }

  /** The current state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** How it ended (or is ending), once known. */
  get closeInfo(): CloseInfo | undefined {
    return this.#close;
  }

  /** Bytes the socket holds unsent. */
  get bufferedBytes(): number {
    return this.#socket.bufferedAmount;
  }

  /**
   * Sends one GOSSIP frame body. Only an open connection sends; a frame that would push the unsent
   * bytes past `maxSendQueueBytes` is refused (`overflow`, counted by the caller) and, with policy
   * `disconnect`, closes the connection.
   * @throws {RangeError} when `message` is empty.
   */
  send(message: Uint8Array): SendResult {
    if (this.#state !== 'open' || this.#session === undefined) return 'closed';
    const size = message.length + 1 + 16;
    if (this.#socket.bufferedAmount + size > this.#config.maxSendQueueBytes) {
      this.emit('overflow', size);
      if (this.#config.sendQueueOverflow === 'disconnect') this.#fail('send-queue-overflow');
      return 'overflow';
    }
    return this.#sendFrame({ type: 'gossip', message }) ? 'sent' : 'closed';
  }

  /**
   * Stops reading from the peer for `ms` (at most `MAX_READ_PAUSE_MS`; a longer pause already under
   * way is kept): what it sends meanwhile waits in the socket buffers, and TCP back-pressure slows it
   * down. Frames already read are still delivered. The keepalive does not count the pause as silence.
   * Only an open connection pauses; `close()` ends a pause.
   */
  pause(ms: number): void {
    if (this.#state !== 'open' || !(ms > 0)) return;
    const now = this.#now();
    const until = now + Math.min(ms, MAX_READ_PAUSE_MS);
    if (until <= this.#pausedUntil) return;
    this.#pausedUntil = until;
    this.#counters.readPauses++;
    this.#socket.pause();
    this.#armResume(now);
  }

  #armResume(now: number): void {
    if (this.#pauseTimer !== undefined) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = setTimeout(
      () => {
        this.#pauseTimer = undefined;
        this.#resumeReading();
      },
      Math.max(1, Math.ceil(this.#pausedUntil - now)),
    );
    this.#pauseTimer.unref();
  }

  /** Reads again once the pause is over. */
  #resumeReading(): void {
    if (this.#state !== 'open') return;
    if (this.#pausedUntil > 0) {
      const now = this.#now();
      if (now < this.#pausedUntil) {
        this.#armResume(now);
        return;
      }
      this.#pausedUntil = 0;
      // We chose not to read: the peer was not silent meanwhile.
      if (now > this.#lastRecv) this.#lastRecv = now;
    }
    // A backlog being handled resumes the socket itself when it is done.
    if (this.#readable()) this.#socket.resume();
  }

  #clearPause(): void {
    if (this.#pauseTimer !== undefined) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    this.#pausedUntil = 0;
  }

  /**
   * Closes gracefully: a CLOSE frame (when open), then the WebSocket close handshake, destroyed after
   * `closeTimeoutMs`. Frames keep arriving until the socket closes (a pause ends), except with reason
   * `banned`: then nothing more is read. Idempotent.
   */
  close(reason: CloseReason = 'local', detail?: string): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    if (this.#state !== 'open') {
      this.#fail(reason, detail);
      return;
    }
    this.#close = { reason, detail, established: true };
    this.#sendFrame({ type: 'close', reason: detail ?? reason });
    this.#state = 'closing';
    this.#clearTimer();
    if (reason === 'banned') {
      // Whatever a banned peer still sends is dropped: it is not even read while the close runs out.
      this.#clearPause();
      this.#backlog.length = 0;
      this.#socket.pause();
    } else if (this.#pausedUntil > 0) {
      // The close handshake needs the peer's answer: a pause would only hold it to closeTimeoutMs.
      this.#clearPause();
      if (this.#readable()) this.#socket.resume();
    }
    this.#socket.close(1000);
    this.#timer = setTimeout(() => this.#socket.terminate(), this.#config.closeTimeoutMs);
    this.#timer.unref();
  }

  /** Destroys the socket at once: no CLOSE frame, no close handshake (a crash, or a refused peer). */
  destroy(reason: CloseReason = 'local', detail?: string): void {
    this.#fail(reason, detail);
  }

  #start(): void {
    if (this.#state !== 'handshaking') return;
    const m1 = this.#handshake.start();
    if (m1 !== undefined) this.#raw(m1);
  }

  #raw(bytes: Uint8Array): boolean {
    if (this.#socket.readyState !== this.#socket.OPEN) return false;
    this.#socket.send(bytes, { binary: true });
    this.#counters.bytesOut += bytes.length;
    this.#lastSend = this.#now();
    return true;
  }

  #sendFrame(frame: Frame): boolean {
    if (this.#session === undefined) return false;
    const r = sealFrame(this.#session.send, frame, { maxPlaintextBytes: this.#config.maxFrameBytes });
    if (!r.ok) {
      // Our own frame too large is the caller's bug upstream (the core sizes its frames); a spent
      // nonce ends the session (§9.1).
      if (r.reason === 'nonce-exhausted') this.#fail('nonce-exhausted');
      return false;
    }
    this.#counters.framesOut++;
    return this.#raw(r.bytes);
  }

  /** A message from the socket: handled now, or queued behind this read's first `MAX_MESSAGES_PER_TURN`. */
  #onRead(data: RawData, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    if (this.#backlog.length === 0 && this.#turnMessages < MAX_MESSAGES_PER_TURN) {
      // ws emits all messages of one socket read synchronously: a microtask runs once they are done.
      if (this.#turnMessages++ === 0) queueMicrotask(this.#newTurn);
      this.#onMessage(data, isBinary);
      return;
    }
    if (this.#backlog.length === 0) {
      // What the read holds beyond the cap is queued (at most one read's worth: the socket stops).
      this.#socket.pause();
      setImmediate(() => this.#drainBacklog());
    }
    this.#backlog.push([data, isBinary]);
  }

  #newTurn = (): void => {
    this.#turnMessages = 0;
  };

  /** Handles up to `MAX_MESSAGES_PER_TURN` queued messages; the next turn takes the rest. */
  #drainBacklog(): void {
    const batch = this.#backlog.splice(0, MAX_MESSAGES_PER_TURN);
    // They count for this turn: a read that the resume below starts before it ends (its stream
    // flows on the next tick) queues its messages instead of adding to them.
    this.#turnMessages = batch.length;
    queueMicrotask(this.#newTurn);
    for (const [data, isBinary] of batch) {
      if (this.#state === 'closed') break;
      this.#onMessage(data, isBinary);
    }
    if (this.#state === 'closed') {
      this.#backlog.length = 0;
      return;
    }
    if (this.#backlog.length > 0) setImmediate(() => this.#drainBacklog());
    else if (this.#readable()) this.#socket.resume();
  }

  /** Whether the socket may be read: no backlog, no `pause`, and not closing for a ban. */
  #readable(): boolean {
    return this.#backlog.length === 0 && this.#pausedUntil === 0 && this.#close?.reason !== 'banned';
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#counters.bytesIn += bytes.length;
    this.#lastRecv = this.#now();
    if (!this.#progressed) {
      this.#progressed = true;
      this.#clearFirst();
      this.emit('progress');
    }
    if (!isBinary) {
      this.#fail('malformed', 'text message');
      return;
    }
    if (this.#state === 'handshaking') {
      const step = this.#handshake.receive(bytes);
      if (step.error !== undefined) {
        this.#failHandshake(step.error);
        return;
      }
      if (step.send !== undefined) this.#raw(step.send);
      if (step.done !== undefined) this.#opened(step.done);
      return;
    }
    if (this.#session === undefined) return;
    const r = openFrame(this.#session.recv, bytes, { maxPlaintextBytes: this.#config.maxFrameBytes });
    if (!r.ok) {
      this.#fail(r.reason);
      return;
    }
    this.#counters.framesIn++;
    const f = r.frame;
    switch (f.type) {
      case 'gossip':
        this.emit('message', f.message);
        break;
      case 'ping':
        if (this.#state === 'open') this.#sendFrame({ type: 'pong', data: f.data });
        break;
      case 'pong':
        break;
      case 'close':
        if (this.#state === 'open') {
          this.#close = { reason: 'remote-close', detail: f.reason, established: true };
          this.#state = 'closing';
          this.#clearTimer();
          this.#socket.close(1000);
          this.#timer = setTimeout(() => this.#socket.terminate(), this.#config.closeTimeoutMs);
          this.#timer.unref();
        }
        break;
    }
  }

  /**
   * Like the keepalive, decided after this event-loop turn's socket reads: message 1 may be waiting in
   * the kernel after a long synchronous stretch.
   */
  #firstMessageDue(): void {
    this.#first = undefined;
    setImmediate(() => {
      if (!this.#progressed && this.#state === 'handshaking') this.#fail('first-message-timeout');
    });
  }

  #clearFirst(): void {
    if (this.#first !== undefined) clearTimeout(this.#first);
    this.#first = undefined;
  }

  #failHandshake(reason: HandshakeFailReason): void {
    if (reason === 'oversize') this.#fail('oversize', 'handshake');
    else this.#fail('handshake-failed', reason);
  }

  #opened(done: HandshakeDone): void {
    this.#session = done;
    this.remoteId = bytesToHex(done.remoteId);
    this.extension = done.extension;
    this.#state = 'open';
    this.#clearTimer();
    this.#armKeepalive();
    this.emit('open');
  }

  /**
   * One timer per connection, re-armed at the earlier of "send a PING" (nothing sent for
   * `keepaliveIntervalMs`) and "the peer is silent" (nothing received for `keepaliveTimeoutMs`), so a
   * silent peer is cut exactly `keepaliveTimeoutMs` after its last frame.
   */
  #armKeepalive(): void {
    const { keepaliveIntervalMs, keepaliveTimeoutMs } = this.#config;
    const now = this.#now();
    const wake = Math.min(this.#lastSend + keepaliveIntervalMs, this.#lastRecv + keepaliveTimeoutMs);
    this.#timer = setTimeout(() => this.#keepalive(), Math.max(1, Math.ceil(wake - now)));
    this.#timer.unref();
  }

  #keepalive(): void {
    this.#timer = undefined;
    if (this.#state !== 'open') return;
    const now = this.#now();
    if (this.#pausedUntil > 0 && now - this.#lastRecv >= this.#config.keepaliveTimeoutMs) {
      // Not reading by our own choice (`pause`): its silence is ours; count from the resume.
      this.#lastRecv = now;
    }
    if (now - this.#lastRecv >= this.#config.keepaliveTimeoutMs) {
      // Timers run before socket reads in an event-loop turn: after a long synchronous stretch (a
      // burst of handshakes), frames may be waiting in the kernel. Decide after this turn's reads.
      setImmediate(() => {
        if (this.#state !== 'open') return;
        if (this.#now() - this.#lastRecv >= this.#config.keepaliveTimeoutMs) this.#fail('keepalive-timeout');
        else this.#keepalive();
      });
      return;
    }
    if (now - this.#lastSend >= this.#config.keepaliveIntervalMs) {
      const data = new Uint8Array(4);
      new DataView(data.buffer).setUint32(0, this.#pingSeq++ >>> 0);
      this.#counters.pingsOut++;
      this.#sendFrame({ type: 'ping', data });
    }
    if (this.#state === 'open') this.#armKeepalive();
  }

  #onSocketError(err: Error & { code?: string }): void {
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#fail('oversize', 'websocket');
    else this.#fail('socket-error', err.code ?? err.message);
  }

  #onSocketClose(): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.#clearTimer();
    this.#clearPause();
    this.#close ??= { reason: 'socket-closed', established: this.#session !== undefined };
    this.#state = 'closed';
    const info = this.#close;
    this.emit('close', info);
    this.removeAllListeners();
  }

  /** Records the first reason and destroys the socket; 'close' follows from the socket. */
  #fail(reason: CloseReason, detail?: string): void {
    if (this.#state === 'closed') return;
    this.#close ??= { reason, detail, established: this.#session !== undefined };
    this.#state = 'closed';
    this.#clearTimer();
    this.#clearPause();
    this.#backlog.length = 0;
    this.#socket.terminate();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#clearFirst();
  }
}
