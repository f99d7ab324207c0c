/**
 * Attacker sockets of the connection-manager and address-policy tests: raw TCP, bare WebSockets and
 * handshaking raw peers, each bound to its own 127.x.y.z (`localAddress`) so that per-IP limits act.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { hexToBytes } from '@noble/hashes/utils.js';
import { WebSocket } from 'ws';
import { Handshake, type HandshakeDone, sealFrame } from '../../src/net/index.js';
import { type Closer, type RawPeer, randomKeyPair } from '../helpers/net.js';

/** A raw TCP socket from `from` to 127.0.0.1:`port`; `closed` tells whether the victim closed it. */
export interface RawTcp {
  socket: Socket;
  closed: boolean;
  connected: Promise<void>;
}

export function rawTcp(closer: Closer, port: number, from: string): RawTcp {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  const r: RawTcp = {
    socket,
    closed: false,
    connected: new Promise<void>((resolve) => {
      socket.once('connect', () => resolve());
      socket.once('close', () => resolve());
    }),
  };
  socket.on('error', () => {});
  socket.on('close', () => {
    r.closed = true;
  });
  closer.add({ close: () => socket.destroy() });
  return r;
}

/** A WebSocket from `from` that completes the upgrade and never sends a byte more. */
export async function bareWebSocket(closer: Closer, port: number, from: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { localAddress: from });
  ws.on('error', () => {});
  closer.add({ close: () => ws.terminate() });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', () => reject(new Error('closed before open')));
  });
  return ws;
}

/**
 * {@link rawPeer} of test/helpers/net.ts, from `from` and with an identity extension of our choice
 * (the advertised addresses the victim learns from the handshake).
 */
export async function rawPeerFrom(
  closer: Closer,
  port: number,
  remoteId: string,
  from: string,
  extension: Uint8Array = new Uint8Array(0),
): Promise<RawPeer> {
  const keyPair = randomKeyPair();
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { localAddress: from });
  ws.on('error', () => {});
  closer.add({ close: () => ws.terminate() });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', () => reject(new Error('closed before open')));
  });
  const hs = new Handshake({
    role: 'initiator',
    identitySecretKey: keyPair.secretKey,
    staticSecretKey: randomBytes(32),
    ephemeralSecretKey: randomBytes(32),
    expectedRemoteId: hexToBytes(remoteId),
    extension,
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
  const sealed = (frame: Parameters<RawPeer['sealed']>[0]): Uint8Array => {
    const r = sealFrame(session.send, frame, { maxPlaintextBytes: 1 << 20 });
    if (!r.ok) throw new Error(r.reason);
    return r.bytes;
  };
  return { ws, keyPair, session, sealed, sendFrame: (f) => ws.send(sealed(f)) };
}

/** Resolves when `ws` closes. */
export const wsClosed = (ws: WebSocket): Promise<void> =>
  ws.readyState === ws.CLOSED ? Promise.resolve() : new Promise((r) => ws.once('close', () => r()));
