/**
 * Binary codec of gossip frames (PROTOCOL.md §8.2). Pure; the decoder never throws on bytes from the
 * network: it returns a reason.
 *
 * ```
 * offset size
 * 0      1    version = 2
 * 1      1    kind (1 join … 11 prune)
 * 2      32   topic hash
 * 34     …    body of the kind
 * ```
 * Integers are big-endian. A decoder accepts exactly one frame: trailing bytes are `malformed`.
 */
import { abytes, bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_PEER_DATA_BYTES } from './config.js';
import { assertNever, type IHaveEntry, type Message, type PeerInfo, type TopicKey } from './types.js';

/**
 * Frame format version this code writes and reads (PROTOCOL.md §8.2). 2: GOSSIP carries `sentAt`;
 * a node of version 1 counts our frames as `unknown-version`, and we count its.
 */
export const WIRE_VERSION = 2;
/**
 * Length of peer ids (Ed25519 public keys), topic hashes and message ids. src/proto imports no other
 * layer, so this and `SIGNATURE_BYTES` are the copies of `KEY_BYTES` and `SIGNATURE_BYTES` of
 * src/crypto/suite.ts that the gossip core keeps; test/proto/wire.test.ts checks they agree.
 */
export const ID_BYTES = 32;
/** Length of an origin signature (Ed25519). */
export const SIGNATURE_BYTES = 64;
/** version, kind, topic. */
export const FRAME_HEADER_BYTES = 2 + ID_BYTES;
/** Bytes of a GOSSIP frame besides its content (signature included): flags, origin, seq, sentAt, hops, len. */
export const GOSSIP_OVERHEAD_BYTES = FRAME_HEADER_BYTES + 1 + ID_BYTES + 8 + 8 + 2 + 4 + SIGNATURE_BYTES;
/** Bytes of an IHAVE frame besides its entries. */
export const IHAVE_HEADER_BYTES = FRAME_HEADER_BYTES + 2;
/** Bytes of one IHAVE entry: id, hops. */
export const IHAVE_ENTRY_BYTES = ID_BYTES + 2;
/** Most peers in a SHUFFLE or SHUFFLE_REPLY. */
export const MAX_SHUFFLE_PEERS = 255;
/** Most entries in one IHAVE (the count is a u16). */
export const MAX_IHAVE_ENTRIES = 65_535;
/** Largest hop count on the wire. */
export const MAX_HOPS = 65_535;
/**
 * Largest GOSSIP `sentAt` (a u64 on the wire): 2^53 − 1, the largest integer a JS number holds
 * exactly, about 285,000 years of unix ms. Larger values are `malformed`.
 */
export const MAX_SENT_AT = Number.MAX_SAFE_INTEGER;

/** Wire kinds, in PROTOCOL.md §8.2 order. */
export const KIND = {
  join: 1,
  'forward-join': 2,
  neighbor: 3,
  'neighbor-reply': 4,
  disconnect: 5,
  shuffle: 6,
  'shuffle-reply': 7,
  gossip: 8,
  ihave: 9,
  graft: 10,
  prune: 11,
} as const satisfies Record<Message['type'], number>;

const GOSSIP_FLAG_SIGNED = 1;
const GOSSIP_FLAG_NEIGHBORS = 2;
const U64_MAX = (1n << 64n) - 1n;
const HEX_ID = /^[0-9a-f]{64}$/;

/** Why a frame was refused. */
export type WireRejectReason = 'oversize' | 'truncated' | 'unknown-version' | 'unknown-kind' | 'malformed';

/** Result of {@link decodeFrame}. */
export type DecodeFrameResult =
  | { ok: true; topic: TopicKey; message: Message }
  | { ok: false; reason: WireRejectReason };

/** Limits the decoder enforces. */
export interface DecodeLimits {
  /** Largest frame (default 64 KiB). */
  maxMessageBytes?: number;
  /** Largest peer data blob (default 1024). */
  maxPeerDataBytes?: number;
}

// ---------------------------------------------------------------------------------------------------
// Encoding

class Writer {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  u8(n: number): void {
    this.view.setUint8(this.pos++, n);
  }
  u16(n: number): void {
    this.view.setUint16(this.pos, n);
    this.pos += 2;
  }
  u32(n: number): void {
    this.view.setUint32(this.pos, n);
    this.pos += 4;
  }
  u64(n: bigint): void {
    this.view.setBigUint64(this.pos, n);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  id(hex: string, title: string): void {
    if (!HEX_ID.test(hex))
      throw new RangeError(`"${title}" expected 64 lower-case hex characters, got "${hex}"`);
    this.bytes(hexToBytes(hex));
  }
  data(d: Uint8Array | undefined): void {
    const len = d?.length ?? 0;
    if (len > 0xffff) throw new RangeError(`"data" expected at most 65535 bytes, got length=${len}`);
    this.u16(len);
    if (d !== undefined) this.bytes(d);
  }
  done(): Uint8Array {
    return this.pos === this.buf.length ? this.buf : this.buf.subarray(0, this.pos);
  }
}

const dataLen = (d: Uint8Array | undefined): number => 2 + (d?.length ?? 0);
const peersLen = (peers: PeerInfo[]): number => peers.reduce((n, p) => n + ID_BYTES + dataLen(p.data), 1);

/** Encoded size of a message's frame, without encoding it. */
export function frameSize(message: Message): number {
  const m = message;
  let body: number;
  switch (m.type) {
    case 'join':
      body = dataLen(m.data);
      break;
    case 'forward-join':
      body = ID_BYTES + 1 + dataLen(m.data);
      break;
    case 'neighbor':
    case 'neighbor-reply':
      body = 1 + dataLen(m.data);
      break;
    case 'disconnect':
      body = 1;
      break;
    case 'shuffle':
      body = ID_BYTES + 1 + dataLen(m.originData) + peersLen(m.peers);
      break;
    case 'shuffle-reply':
      body = peersLen(m.peers);
      break;
    case 'gossip':
      body =
        1 + ID_BYTES + 8 + 8 + 2 + 4 + m.content.length + (m.signature === undefined ? 0 : SIGNATURE_BYTES);
      break;
    case 'ihave':
      body = 2 + m.entries.length * IHAVE_ENTRY_BYTES;
      break;
    case 'graft':
      body = 1 + (m.id === undefined ? 0 : ID_BYTES);
      break;
    case 'prune':
      body = 0;
      break;
    default:
      return assertNever(m);
  }
  return FRAME_HEADER_BYTES + body;
}

/**
 * `aint` of src/crypto/utils.ts with its message, for encoder inputs (src/proto imports no other layer;
 * byte arrays use noble's `abytes`, which gives the same messages).
 */
function aint(n: number, max: number, title: string): void {
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new RangeError(`"${title}" expected integer in [0, ${max}], got ${n}`);
  }
}

function writePeers(w: Writer, peers: PeerInfo[]): void {
  aint(peers.length, MAX_SHUFFLE_PEERS, 'peers.length');
  w.u8(peers.length);
  for (const p of peers) {
    w.id(p.id, 'peer.id');
    w.data(p.data);
  }
}

/**
 * Encodes one frame.
 * @throws {RangeError} when a field is out of range: an id that is not 64 lower-case hex characters, a
 *   ttl or hop count too large, a `sentAt` outside 0..MAX_SENT_AT, a signature not 64 bytes, too many
 *   peers or entries.
 */
export function encodeFrame(topic: TopicKey, message: Message): Uint8Array {
  const m = message;
  const w = new Writer(frameSize(m));
  w.u8(WIRE_VERSION);
  w.u8(KIND[m.type]);
  w.id(topic, 'topic');
  switch (m.type) {
    case 'join':
      w.data(m.data);
      break;
    case 'forward-join':
      w.id(m.peer, 'peer');
      aint(m.ttl, 255, 'ttl');
      w.u8(m.ttl);
      w.data(m.data);
      break;
    case 'neighbor':
      w.u8(m.priority === 'high' ? 1 : 0);
      w.data(m.data);
      break;
    case 'neighbor-reply':
      w.u8(m.accepted ? 1 : 0);
      w.data(m.data);
      break;
    case 'disconnect':
      w.u8(m.alive ? 1 : 0);
      break;
    case 'shuffle':
      w.id(m.origin, 'origin');
      aint(m.ttl, 255, 'ttl');
      w.u8(m.ttl);
      w.data(m.originData);
      writePeers(w, m.peers);
      break;
    case 'shuffle-reply':
      writePeers(w, m.peers);
      break;
    case 'gossip': {
      if (m.signature !== undefined) abytes(m.signature, SIGNATURE_BYTES, 'signature');
      if (m.seq < 0n || m.seq > U64_MAX) throw new RangeError(`"seq" expected a u64, got ${m.seq}`);
      aint(m.hops, MAX_HOPS, 'hops');
      aint(m.sentAt, MAX_SENT_AT, 'sentAt');
      w.u8(
        (m.signature === undefined ? 0 : GOSSIP_FLAG_SIGNED) |
          (m.scope === 'neighbors' ? GOSSIP_FLAG_NEIGHBORS : 0),
      );
      w.id(m.origin, 'origin');
      w.u64(m.seq);
      w.u64(BigInt(m.sentAt));
      w.u16(m.hops);
      w.u32(m.content.length);
      w.bytes(m.content);
      if (m.signature !== undefined) w.bytes(m.signature);
      break;
    }
    case 'ihave':
      aint(m.entries.length, MAX_IHAVE_ENTRIES, 'entries.length');
      w.u16(m.entries.length);
      for (const e of m.entries) {
        w.id(e.id, 'entry.id');
        aint(e.hops, MAX_HOPS, 'entry.hops');
        w.u16(e.hops);
      }
      break;
    case 'graft':
      w.u8(m.id === undefined ? 0 : 1);
      if (m.id !== undefined) w.id(m.id, 'id');
      break;
    case 'prune':
      break;
    default:
      return assertNever(m);
  }
  return w.done();
}

// ---------------------------------------------------------------------------------------------------
// Decoding

/** Thrown inside the decoder only, caught by `decodeFrame`. */
class Short extends Error {}
class Bad extends Error {}

class Reader {
  private readonly view: DataView;
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly maxData: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Short();
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }
  bool(): boolean {
    const b = this.u8();
    if (b > 1) throw new Bad();
    return b === 1;
  }
  u16(): number {
    this.need(2);
    const n = this.view.getUint16(this.pos);
    this.pos += 2;
    return n;
  }
  u32(): number {
    this.need(4);
    const n = this.view.getUint32(this.pos);
    this.pos += 4;
    return n;
  }
  u64(): bigint {
    this.need(8);
    const n = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return n;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    // A copy: the caller's buffer may be reused by the transport.
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  id(): string {
    this.need(ID_BYTES);
    const out = bytesToHex(this.buf.subarray(this.pos, this.pos + ID_BYTES));
    this.pos += ID_BYTES;
    return out;
  }
  data(): Uint8Array | undefined {
    const len = this.u16();
    if (len > this.maxData) throw new Bad();
    return len === 0 ? undefined : this.bytes(len);
  }
  peers(): PeerInfo[] {
    const n = this.u8();
    const out: PeerInfo[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.id();
      const data = this.data();
      out.push(data === undefined ? { id } : { id, data });
    }
    return out;
  }
  end(): boolean {
    return this.pos === this.buf.length;
  }
}

function readBody(r: Reader, kind: number): Message | undefined {
  switch (kind) {
    case KIND.join: {
      const data = r.data();
      return data === undefined ? { type: 'join' } : { type: 'join', data };
    }
    case KIND['forward-join']: {
      const peer = r.id();
      const ttl = r.u8();
      const data = r.data();
      return { type: 'forward-join', peer, ttl, ...(data === undefined ? {} : { data }) };
    }
    case KIND.neighbor: {
      const priority = r.bool() ? 'high' : 'low';
      const data = r.data();
      return { type: 'neighbor', priority, ...(data === undefined ? {} : { data }) };
    }
    case KIND['neighbor-reply']: {
      const accepted = r.bool();
      const data = r.data();
      return { type: 'neighbor-reply', accepted, ...(data === undefined ? {} : { data }) };
    }
    case KIND.disconnect:
      return { type: 'disconnect', alive: r.bool() };
    case KIND.shuffle: {
      const origin = r.id();
      const ttl = r.u8();
      const originData = r.data();
      const peers = r.peers();
      return { type: 'shuffle', origin, ttl, ...(originData === undefined ? {} : { originData }), peers };
    }
    case KIND['shuffle-reply']:
      return { type: 'shuffle-reply', peers: r.peers() };
    case KIND.gossip: {
      const flags = r.u8();
      if ((flags & ~(GOSSIP_FLAG_SIGNED | GOSSIP_FLAG_NEIGHBORS)) !== 0) throw new Bad();
      const origin = r.id();
      const seq = r.u64();
      const sentAtU64 = r.u64();
      if (sentAtU64 > BigInt(MAX_SENT_AT)) throw new Bad();
      const sentAt = Number(sentAtU64);
      const hops = r.u16();
      const content = r.bytes(r.u32());
      const scope = flags & GOSSIP_FLAG_NEIGHBORS ? 'neighbors' : 'swarm';
      if (flags & GOSSIP_FLAG_SIGNED) {
        const signature = r.bytes(SIGNATURE_BYTES);
        return { type: 'gossip', origin, seq, sentAt, scope, hops, content, signature };
      }
      return { type: 'gossip', origin, seq, sentAt, scope, hops, content };
    }
    case KIND.ihave: {
      const n = r.u16();
      r.need(n * IHAVE_ENTRY_BYTES);
      const entries: IHaveEntry[] = [];
      for (let i = 0; i < n; i++) entries.push({ id: r.id(), hops: r.u16() });
      return { type: 'ihave', entries };
    }
    case KIND.graft:
      return r.bool() ? { type: 'graft', id: r.id() } : { type: 'graft' };
    case KIND.prune:
      return { type: 'prune' };
    default:
      return undefined;
  }
}

/** Decodes one frame. Never throws: bad bytes give `{ok: false, reason}`. */
export function decodeFrame(bytes: Uint8Array, limits: DecodeLimits = {}): DecodeFrameResult {
  const max = limits.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!(bytes instanceof Uint8Array)) return { ok: false, reason: 'malformed' };
  if (bytes.length > max) return { ok: false, reason: 'oversize' };
  const r = new Reader(bytes, limits.maxPeerDataBytes ?? DEFAULT_MAX_PEER_DATA_BYTES);
  try {
    if (r.u8() !== WIRE_VERSION) return { ok: false, reason: 'unknown-version' };
    const kind = r.u8();
    const topic = r.id();
    const message = readBody(r, kind);
    if (message === undefined) return { ok: false, reason: 'unknown-kind' };
    if (!r.end()) return { ok: false, reason: 'malformed' };
    return { ok: true, topic, message };
  } catch (e) {
    if (e instanceof Short) return { ok: false, reason: 'truncated' };
    if (e instanceof Bad) return { ok: false, reason: 'malformed' };
    throw e;
  }
}
