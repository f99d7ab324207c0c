/**
 * Message identity and what an origin signs (PROTOCOL.md §8.3, §8.4).
 *
 * `id = SHA-256("gossip-topic-tracker/v2/message-id" || 0x00 || topic || origin || u64be seq ||
 * u64be sentAt || u8 scope || content)`. The per-origin sequence number makes two sends of the same bytes
 * two messages (iroh-gossip derives ids from the content alone, so a repeated payload is silently
 * dropped as a duplicate). The send time is in the id so that the origin signature, which signs the id,
 * covers it; the domain is v2 because a v1 preimage (no `sentAt`) can read as a v2 one of other content.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { MessageId, Scope } from './types.js';

/** Domain string of message ids. */
export const MESSAGE_ID_DOMAIN = 'gossip-topic-tracker/v2/message-id';
/** Domain string of origin signatures. */
export const GOSSIP_SIGNATURE_DOMAIN = 'gossip-topic-tracker/v1/gossip';

const ID_PREFIX = new Uint8Array([...utf8ToBytes(MESSAGE_ID_DOMAIN), 0]);
const SIG_PREFIX = new Uint8Array([...utf8ToBytes(GOSSIP_SIGNATURE_DOMAIN), 0]);

/** Signs `message` with the node's own key; returns a 64-byte signature. */
export type SignFn = (message: Uint8Array) => Uint8Array;
/** Checks `signature` by `origin` (32-byte public key) over `message`. Must not throw. */
export type VerifyFn = (origin: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

/**
 * The raw 32-byte id of a message. `sentAt` is the origin's send time (unix ms, an integer in
 * 0..2^53-1, as the wire codec guarantees).
 */
export function messageIdBytes(
  topic: Uint8Array,
  origin: Uint8Array,
  seq: bigint,
  sentAt: number,
  scope: Scope,
  content: Uint8Array,
): Uint8Array {
  const buf = new Uint8Array(ID_PREFIX.length + 32 + 32 + 8 + 8 + 1 + content.length);
  let p = 0;
  buf.set(ID_PREFIX, p);
  p += ID_PREFIX.length;
  buf.set(topic, p);
  p += 32;
  buf.set(origin, p);
  p += 32;
  const view = new DataView(buf.buffer);
  view.setBigUint64(p, seq);
  p += 8;
  view.setBigUint64(p, BigInt(sentAt));
  p += 8;
  buf[p++] = scope === 'neighbors' ? 1 : 0;
  buf.set(content, p);
  return sha256(buf);
}

/** {@link messageIdBytes} as hex. */
export function messageId(
  topic: Uint8Array,
  origin: Uint8Array,
  seq: bigint,
  sentAt: number,
  scope: Scope,
  content: Uint8Array,
): MessageId {
  return bytesToHex(messageIdBytes(topic, origin, seq, sentAt, scope, content));
}

/** `"gossip-topic-tracker/v1/gossip" || 0x00 || id`: the bytes an origin signs. */
export function signedMessage(id: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIG_PREFIX.length + id.length);
  out.set(SIG_PREFIX);
  out.set(id, SIG_PREFIX.length);
  return out;
}
