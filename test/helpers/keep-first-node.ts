/**
 * A real bittorrent-dht node on 127.0.0.1 that stores BEP 44 mutable items the way libtorrent does,
 * for tests of what our `Dht.put` believes: to an equal-seq `put` of another value it answers success
 * and keeps the item it has (bittorrent-dht answers 302), and every message it sends carries
 * libtorrent's BEP 5 client version `v` ("LT" and two version bytes). Everything else (tokens, `cas`
 * → 301, a lower seq → 302, storing into an empty slot or over a lower seq) is bittorrent-dht's own
 * code, which libtorrent matches there. It also records the queries it receives.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { KrpcMessage, RemoteInfo } from 'bittorrent-dht';
import { targetOf } from '../../src/dht/bep44.js';
import { type RawNode, startRawNode } from './dht.js';
import { bencode } from './raw-krpc.js';

/** libtorrent's `v` as libtorrent 2.0 sends it ("LT", then major/minor version bytes). */
export const LIBTORRENT_V = Buffer.from([0x4c, 0x54, 0x02, 0x00]);

export interface KeepFirstNode extends RawNode {
  /** Every query received, in order: its method and arguments. */
  readonly queries: { q: string; a: Record<string, unknown> }[];
}

type Internals = {
  _onput(query: KrpcMessage, peer: RemoteInfo): void;
  _validateToken(host: string, token: Buffer): boolean;
};
type Sender = { send(peer: RemoteInfo, message: Record<string, unknown>, cb?: () => void): void };

/**
 * Starts the node (as {@link startRawNode}: bootstrapped to `bootstrap`, id `nodeId`) and patches its
 * `put` handling and its outgoing messages as the module comment says.
 */
export async function startKeepFirstNode(bootstrap: string[], nodeId?: Uint8Array): Promise<KeepFirstNode> {
  const raw = await startRawNode(bootstrap, nodeId);
  const dht = raw.dht as typeof raw.dht & Internals;
  const queries: KeepFirstNode['queries'] = [];
  dht._rpc.on('query', (query: KrpcMessage) => {
    queries.push({ q: String(query.q), a: query.a ?? {} });
  });
  const socket = dht._rpc.socket as unknown as Sender;
  const send = socket.send.bind(socket);
  socket.send = (peer, message, cb) => send(peer, { ...message, v: LIBTORRENT_V }, cb);

  const onput = dht._onput.bind(dht);
  dht._onput = (query, peer) => {
    const a = query.a ?? {};
    const { k, salt, seq, sig, v, token, cas } = a as Record<string, Buffer | number | undefined>;
    const mutable = k instanceof Uint8Array && sig instanceof Uint8Array && v instanceof Uint8Array;
    if (!mutable || typeof seq !== 'number' || !(token instanceof Uint8Array)) return onput(query, peer);
    const prev = dht._values.get(bytesToHex(targetOf(k, salt instanceof Uint8Array ? salt : undefined)));
    const equalSeq = prev !== undefined && prev.seq === seq && (cas === undefined || cas === prev.seq);
    if (!equalSeq || !dht._validateToken(peer.address, token)) return onput(query, peer);
    const signed = bencode({ salt: salt instanceof Uint8Array ? salt : undefined, seq, v });
    if (!ed25519.verify(sig, signed.subarray(1, signed.length - 1), k)) return onput(query, peer);
    // libtorrent: an equal seq is "stored" (the reply says success) but the first item stays.
    socket.send(peer, { t: query.t, y: 'r', r: { id: dht._rpc.id } });
  };
  return { ...raw, queries };
}
