/**
 * A hostile writer's tool: sends raw KRPC `put` queries (BEP 5 / BEP 44) from a plain UDP socket on
 * 127.0.0.1, bypassing every check of our `Dht.put`. Used to put real malformed, oversize and forged
 * values on testnet nodes so that tests can feed them through the real read path.
 */
import dgram from 'node:dgram';
import { ed25519 } from '@noble/curves/ed25519.js';

type Bencodable = number | string | Uint8Array | Bencodable[] | { [key: string]: Bencodable | undefined };

/** Minimal bencode encoder (BEP 3): enough to build KRPC queries. */
export function bencode(value: Bencodable): Uint8Array {
  const parts: Uint8Array[] = [];
  const text = (s: string) => parts.push(new TextEncoder().encode(s));
  const walk = (v: Bencodable): void => {
    if (typeof v === 'number') text(`i${v}e`);
    else if (typeof v === 'string') walk(new TextEncoder().encode(v));
    else if (v instanceof Uint8Array) {
      text(`${v.length}:`);
      parts.push(v);
    } else if (Array.isArray(v)) {
      text('l');
      v.forEach(walk);
      text('e');
    } else {
      text('d');
      for (const key of Object.keys(v).sort()) {
        const item = v[key];
        if (item === undefined) continue;
        walk(key);
        walk(item);
      }
      text('e');
    }
  };
  walk(value);
  return Buffer.concat(parts);
}

/**
 * The BEP 44 signature payload, built here without the size and range checks of `src/dht` so that a
 * hostile writer can sign oversize values too.
 */
function rawSignable(put: RawPut): Uint8Array {
  const dict = bencode({ salt: put.salt, seq: put.seq, v: put.value });
  return dict.subarray(1, dict.length - 1);
}

export interface RawTarget {
  host: string;
  port: number;
  token: Uint8Array;
}

export interface RawPut {
  publicKey: Uint8Array;
  salt?: Uint8Array;
  seq: number;
  value: Uint8Array;
  /** Sign with this seed (the slot key a member derives); omit to send `signature` as given. */
  secretKey?: Uint8Array;
  signature?: Uint8Array;
}

/**
 * Sends one `put` query to each target and resolves with the reply type per node: 'r' (stored),
 * 'e:<code>' (refused) or 'none' (dropped silently, as bittorrent-dht does for a bad signature).
 * A reply is awaited for at most `waitMs` per node; the socket is closed before it resolves.
 */
export async function rawPut(targets: RawTarget[], put: RawPut, waitMs = 1_000): Promise<string[]> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const signature = put.signature ?? ed25519.sign(rawSignable(put), put.secretKey ?? new Uint8Array(32));
  // Not a 20-byte node id on purpose: storing nodes then process the put but do not add this short-lived
  // socket to their routing tables, where it would linger as a dead entry and stall later lookups.
  const id = crypto.getRandomValues(new Uint8Array(8));
  const pending = new Map<number, (reply: string) => void>();
  socket.on('message', (msg) => {
    // The transaction id is the 2 bytes after "1:t2:" in the reply; match it back to the query.
    const s = Buffer.from(msg).toString('latin1');
    const at = s.indexOf('1:t2:');
    if (at < 0) return;
    const tid = msg.readUInt16BE(at + 5);
    const type = s.includes('1:y1:e') ? `e:${/li(\d+)e/.exec(s)?.[1] ?? '?'}` : 'r';
    pending.get(tid)?.(type);
  });
  try {
    return await Promise.all(
      targets.map(
        (target, i) =>
          new Promise<string>((resolve) => {
            const tid = i + 1;
            const timer = setTimeout(() => resolve('none'), waitMs);
            pending.set(tid, (reply) => {
              clearTimeout(timer);
              resolve(reply);
            });
            const t = Buffer.alloc(2);
            t.writeUInt16BE(tid);
            const query = bencode({
              t,
              y: 'q',
              q: 'put',
              a: {
                id,
                token: target.token,
                k: put.publicKey,
                salt: put.salt,
                seq: put.seq,
                sig: signature,
                v: put.value,
              },
            });
            socket.send(query, target.port, target.host);
          }),
      ),
    );
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
