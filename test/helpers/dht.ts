/**
 * Helpers for the DHT tests: key pairs, and a bare bittorrent-dht node on 127.0.0.1 (outside our
 * `Dht` wrapper) for comparing with the library's own `get` and for serving forged items from its
 * store: a real node answering real bytes.
 */
import dgram from 'node:dgram';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import DHT from 'bittorrent-dht';

export interface TestKeys {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export function randomKeys(): TestKeys {
  const secretKey = ed25519.utils.randomSecretKey();
  return { publicKey: ed25519.getPublicKey(secretKey), secretKey };
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export { bytesToHex as hex } from '@noble/hashes/utils.js';

/** The ids of a list of nodes, as a sorted list of hex strings (for set comparisons). */
export const idSet = (nodes: readonly { id: Uint8Array }[]): string[] =>
  nodes.map((n) => bytesToHex(n.id)).sort();

export interface RawNode {
  dht: DHT;
  close(): Promise<void>;
}

/**
 * A plain bittorrent-dht node bound to 127.0.0.1, bootstrapped to `bootstrap`, resolved after its
 * bootstrap walk. `nodeId` places it in the id space (e.g. on a target, so walks toward it reach it).
 */
export async function startRawNode(bootstrap: string[], nodeId?: Uint8Array): Promise<RawNode> {
  const dht = new DHT({
    bootstrap,
    ...(nodeId ? { nodeId } : {}),
    verify: (sig, msg, pk) => {
      try {
        return ed25519.verify(sig, msg, pk);
      } catch {
        return false;
      }
    },
  });
  dht.on('error', () => {});
  const ready = new Promise<void>((resolve) => dht.once('ready', resolve));
  dht.listen(0, '127.0.0.1');
  await ready;
  return { dht, close: () => new Promise<void>((resolve) => dht.destroy(() => resolve())) };
}

/** A 127.0.0.1 UDP port nobody listens on (bound, read, released). */
export async function unusedUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
