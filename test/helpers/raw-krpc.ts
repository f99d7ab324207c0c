/**
 * A hostile writer's tool: sends raw KRPC `put` queries (BEP 5 / BEP 44) from a plain UDP socket on
 * 127.0.0.1, bypassing every check of our `Dht.put`. Used to put real malformed, oversize and forged
 * values on testnet nodes so that tests can feed them through the real read path.
 *
 * {@link RawKrpc} is the general form: one socket that sends any query (immutable puts, `ro=1`
 * queries of BEP 43, floods) or any raw bytes (unsolicited responses), and reads the replies with a
 * minimal bencode decoder, for tests of what a node serves.
 */
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { ed25519 } from '@noble/curves/ed25519.js';

export type Bencodable =
  | number
  | string
  | Uint8Array
  | Bencodable[]
  | { [key: string]: Bencodable | undefined };

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

/** A decoded bencoded value (BEP 3): byte strings stay bytes; dict keys are latin1 strings. */
export type Decoded = number | Uint8Array | Decoded[] | { [key: string]: Decoded };

/** Minimal bencode decoder (BEP 3), enough to read KRPC replies. Throws on malformed input. */
export function bdecode(bytes: Uint8Array): Decoded {
  let at = 0;
  const readUntil = (stop: number): string => {
    const end = bytes.indexOf(stop, at);
    if (end < 0) throw new Error('bdecode: truncated');
    const s = Buffer.from(bytes.subarray(at, end)).toString('latin1');
    at = end + 1;
    return s;
  };
  const walk = (): Decoded => {
    const c = bytes[at];
    if (c === 0x69) {
      at++;
      return Number(readUntil(0x65));
    }
    if (c === 0x6c || c === 0x64) {
      at++;
      const list: Decoded[] = [];
      while (bytes[at] !== 0x65) {
        if (at >= bytes.length) throw new Error('bdecode: truncated');
        list.push(walk());
      }
      at++;
      if (c === 0x6c) return list;
      const dict: { [key: string]: Decoded } = {};
      for (let i = 0; i + 1 < list.length; i += 2) {
        dict[Buffer.from(list[i] as Uint8Array).toString('latin1')] = list[i + 1]!;
      }
      return dict;
    }
    const length = Number(readUntil(0x3a));
    if (!Number.isSafeInteger(length) || at + length > bytes.length) throw new Error('bdecode: bad string');
    const out = new Uint8Array(bytes.subarray(at, at + length));
    at += length;
    return out;
  };
  return walk();
}

/** A KRPC reply: its `y` ('r' or 'e'), `r` dict or `e` list, and its size on the wire. */
export interface RawReply {
  readonly y: string;
  readonly r?: { [key: string]: Decoded };
  readonly e?: Decoded[];
  readonly bytes: number;
}

/**
 * A raw KRPC client on one UDP socket on 127.0.0.1 (one source address and port for the node it talks
 * to): sends any query, and matches replies to queries by transaction id. Close it with `close()`.
 */
export class RawKrpc {
  readonly #socket = dgram.createSocket('udp4');
  readonly #pending = new Map<number, (reply: RawReply) => void>();
  #tid = 0;
  /** A 20-byte node id; pass `id` to queries that should look like a real node's. */
  readonly id = crypto.getRandomValues(new Uint8Array(20));

  static async open(host = '127.0.0.1'): Promise<RawKrpc> {
    const client = new RawKrpc();
    await new Promise<void>((resolve) => client.#socket.bind(0, host, resolve));
    return client;
  }

  private constructor() {
    this.#socket.on('message', (msg) => {
      let decoded: Decoded;
      try {
        decoded = bdecode(msg);
      } catch {
        return;
      }
      const d = decoded as { [key: string]: Decoded };
      const t = d.t;
      if (!(t instanceof Uint8Array) || t.length !== 2) return;
      const y = d.y instanceof Uint8Array ? Buffer.from(d.y).toString('latin1') : '?';
      const reply: RawReply = {
        y,
        bytes: msg.length,
        ...(d.r !== undefined ? { r: d.r as { [key: string]: Decoded } } : {}),
        ...(Array.isArray(d.e) ? { e: d.e } : {}),
      };
      const tid = Buffer.from(t).readUInt16BE(0);
      const resolve = this.#pending.get(tid);
      if (resolve) {
        this.#pending.delete(tid);
        resolve(reply);
      }
    });
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /**
   * Sends one query `{t, y: 'q', q, a, ...top}` and resolves with the reply, or undefined after
   * `waitMs`. `top` adds top-level keys (e.g. `{ro: 1}`, BEP 43).
   */
  query(
    to: { host: string; port: number },
    q: string,
    a: { [key: string]: Bencodable | undefined },
    opts: { top?: { [key: string]: Bencodable }; waitMs?: number } = {},
  ): Promise<RawReply | undefined> {
    this.#tid = (this.#tid % 0xffff) + 1;
    const tid = this.#tid;
    const t = Buffer.alloc(2);
    t.writeUInt16BE(tid);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(tid);
        resolve(undefined);
      }, opts.waitMs ?? 1000);
      this.#pending.set(tid, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.send(to, bencode({ ...opts.top, t, y: 'q', q, a }));
    });
  }

  /** Sends raw bytes. */
  send(to: { host: string; port: number }, bytes: Uint8Array): void {
    this.#socket.send(bytes, to.port, to.host);
  }

  /** A `get` for `target`; resolves with the reply's write token (undefined without one). */
  async token(to: { host: string; port: number }, target: Uint8Array): Promise<Uint8Array | undefined> {
    const reply = await this.query(to, 'get', { id: this.id, target });
    const token = reply?.r?.token;
    return token instanceof Uint8Array ? token : undefined;
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

/** The reply type the way {@link rawPut} reports it: 'r', 'e:<code>' or 'none'. */
export function replyKind(reply: RawReply | undefined): string {
  if (reply === undefined) return 'none';
  return reply.y === 'e' ? `e:${reply.e?.[0] ?? '?'}` : reply.y;
}

/** The BEP 44 target of an immutable item: SHA-1 of the bencoded value. */
export function immutableTarget(value: Bencodable): Uint8Array {
  return new Uint8Array(createHash('sha1').update(bencode(value)).digest());
}

/** The BEP 44 signature of a mutable item (built without size or range checks; see `rawSignable`). */
export function rawSign(put: RawPut): Uint8Array {
  return ed25519.sign(rawSignable(put), put.secretKey ?? new Uint8Array(32));
}
