/** Helpers of the socket-level tests (test/net): transports on 127.0.0.1, a raw Noise client, waits. */
import { randomBytes } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { WebSocket, WebSocketServer } from 'ws';
import { type KeyPair, keyPairFromSeed } from '../../src/crypto/keys.js';
import type { TransportOptions } from '../../src/net/config.js';
import { type Frame, Handshake, type HandshakeDone, sealFrame } from '../../src/net/index.js';
import { Transport } from '../../src/net/transport.js';

export const LOCAL = { host: '127.0.0.1', port: 0 };

export const randomKeyPair = (): KeyPair => keyPairFromSeed(randomBytes(32));

/** Everything a test opens, closed in `afterEach`. */
export class Closer {
  readonly #items: (() => unknown)[] = [];
  add<T extends { close(): unknown }>(item: T): T {
    this.#items.push(() => item.close());
    return item;
  }
  async closeAll(): Promise<void> {
    const items = this.#items.splice(0);
    await Promise.all(items.map((f) => f()));
  }
}

/** A transport listening on 127.0.0.1. */
export async function transport(closer: Closer, config?: TransportOptions, keyPair = randomKeyPair()) {
  return closer.add(await Transport.create({ keyPair, listen: LOCAL, config }));
}

/** Resolves with the arguments of the first `event` that passes `filter`; rejects after `ms`. */
// biome-ignore lint/suspicious/noExplicitAny: any typed emitter (eventemitter3 event maps)
type AnyEmitter = { on(event: any, fn: any): unknown; off(event: any, fn: any): unknown };

export function once<A extends unknown[]>(
  emitter: AnyEmitter,
  event: string,
  filter: (...args: A) => boolean = () => true,
  ms = 10_000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no "${event}" within ${ms} ms`));
    }, ms);
    const on = (...args: A): void => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args);
    };
    emitter.on(event, on);
  });
}

/** Polls `cond` every 10 ms until true; rejects after `ms`. For state with no event of its own. */
export async function until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Where a raw client dials from, and what it advertises in its handshake. */
export interface RawOptions {
  /** Local address to bind (each 127.x.y.z is its own host to per-IP limits); default any. */
  from?: string;
  /** Identity extension of the handshake (the addresses the remote learns); default none. */
  extension?: Uint8Array;
}

/** A raw WebSocket client to `port`, opened. */
export async function rawSocket(port: number, opts: RawOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(
    `ws://127.0.0.1:${port}`,
    opts.from === undefined ? {} : { localAddress: opts.from },
  );
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', () => reject(new Error('closed before open')));
  });
  return ws;
}

/** Resolves when `ws` closes. */
export const closed = (ws: WebSocket): Promise<void> =>
  ws.readyState === ws.CLOSED ? Promise.resolve() : new Promise((r) => ws.once('close', () => r()));

/** A raw client that completed the handshake with a transport: it can send any bytes. */
export interface RawPeer {
  ws: WebSocket;
  keyPair: KeyPair;
  session: HandshakeDone;
  sendFrame(frame: Frame): void;
  sealed(frame: Frame): Uint8Array;
}

/** Dials `port` with a raw socket and runs the initiator handshake expecting `remoteId` (hex). */
export async function rawPeer(
  port: number,
  remoteId: string,
  keyPair = randomKeyPair(),
  opts: RawOptions = {},
): Promise<RawPeer> {
  const ws = await rawSocket(port, opts);
  const hs = new Handshake({
    role: 'initiator',
    identitySecretKey: keyPair.secretKey,
    staticSecretKey: randomBytes(32),
    ephemeralSecretKey: randomBytes(32),
    expectedRemoteId: hexToBytes(remoteId),
    ...(opts.extension === undefined ? {} : { extension: opts.extension }),
  });
  const session = await new Promise<HandshakeDone>((resolve, reject) => {
    ws.once('message', (data: Buffer) => {
      const step = hs.receive(new Uint8Array(data));
      if (step.send !== undefined) ws.send(step.send);
      if (step.done !== undefined) resolve(step.done);
      else reject(new Error(`handshake failed: ${step.error}`));
    });
    ws.once('close', () => reject(new Error('closed during the handshake')));
    ws.send(hs.start()!);
  });
  const sealed = (frame: Frame): Uint8Array => {
    const r = sealFrame(session.send, frame, { maxPlaintextBytes: 16 * 1024 * 1024 });
    if (!r.ok) throw new Error(r.reason);
    return r.bytes;
  };
  return { ws, keyPair, session, sealed, sendFrame: (f) => ws.send(sealed(f)) };
}

/** A WebSocket server that accepts and then does nothing, or answers each message with `reply`. */
export async function rawServer(
  closer: Closer,
  reply?: (bytes: Uint8Array) => Uint8Array | string | undefined,
): Promise<{ server: WebSocketServer; port: number; sockets: WebSocket[] }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const sockets: WebSocket[] = [];
  server.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => {
      const r = reply?.(new Uint8Array(data));
      if (r !== undefined) ws.send(r);
    });
  });
  await new Promise<void>((r) => server.once('listening', () => r()));
  closer.add({
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.terminate();
        server.close(() => r());
      }),
  });
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return { server, port: a.port, sockets };
}

export const hex = bytesToHex;
