/**
 * Attacker sockets of the connection-manager and address-policy tests: raw TCP, bare WebSockets and
 * handshaking raw peers, each bound to its own 127.x.y.z (`localAddress`) so that per-IP limits act.
 */
import { connect, type Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { type Closer, type RawPeer, randomKeyPair, rawPeer, rawSocket } from '../helpers/net.js';

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
  const ws = await rawSocket(port, { from });
  closer.add({ close: () => ws.terminate() });
  return ws;
}

/** {@link rawPeer} from `from`, with an identity extension of our choice, closed with `closer`. */
export async function rawPeerFrom(
  closer: Closer,
  port: number,
  remoteId: string,
  from: string,
  extension: Uint8Array = new Uint8Array(0),
): Promise<RawPeer> {
  const peer = await rawPeer(port, remoteId, randomKeyPair(), { from, extension });
  closer.add({ close: () => peer.ws.terminate() });
  return peer;
}
