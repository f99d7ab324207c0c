/**
 * Transport frames after the handshake (PROTOCOL.md §9.4). Each WebSocket binary message carries
 * exactly one encrypted frame: `ChaCha20-Poly1305(k, n, ad = empty, plaintext) || tag` from the Noise
 * CipherState of that direction, where
 *
 * ```
 * plaintext = type u8 || body
 * type 1 GOSSIP  body = one gossip wire frame (PROTOCOL.md §8.2), 1..maxPlaintextBytes-1 bytes
 * type 2 PING    body = 0..MAX_PING_DATA_BYTES opaque bytes
 * type 3 PONG    body = the data of the PING it answers
 * type 4 CLOSE   body = 0..MAX_CLOSE_REASON_BYTES bytes of UTF-8 reason
 * ```
 * Nonces are implicit (one counter per direction), so a dropped, replayed or reordered frame fails
 * authentication exactly like a tampered one. Opening never throws: it returns a reason, and the
 * transport drops the connection on any of them.
 */

import { AEAD_TAG_BYTES } from '../crypto/suite.js';
import { abytes, aint, aobject, astring } from '../crypto/utils.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../proto/config.js';
import type { CipherState } from './noise.js';

/** Frame type bytes. */
export const FRAME_TYPE = { gossip: 1, ping: 2, pong: 3, close: 4 } as const;
/** Most bytes of PING/PONG data. Guess: room for a u64 id and a timestamp, with slack. */
export const MAX_PING_DATA_BYTES = 32;
/** Most bytes of a CLOSE reason: 123, the limit of a WebSocket close reason (RFC 6455 §5.5). */
export const MAX_CLOSE_REASON_BYTES = 123;
/** Default largest frame plaintext: a type byte and a gossip frame of src/proto's default maximum (65 537). */
export const DEFAULT_MAX_FRAME_PLAINTEXT_BYTES = 1 + DEFAULT_MAX_MESSAGE_BYTES;
/** Upper bound of `maxPlaintextBytes` (16 MiB): a sanity cap on configuration, not a protocol value. */
export const MAX_FRAME_PLAINTEXT_LIMIT = 16 * 1024 * 1024;
/** Smallest encrypted frame: a type byte and the tag. */
export const MIN_FRAME_BYTES = 1 + AEAD_TAG_BYTES;

/** A transport frame. */
export type Frame =
  | { type: 'gossip'; message: Uint8Array }
  | { type: 'ping'; data: Uint8Array }
  | { type: 'pong'; data: Uint8Array }
  | { type: 'close'; reason: string };

/** Frame size limits; every field defaults. */
export interface FrameLimits {
  /** Largest plaintext (type byte included). Default DEFAULT_MAX_FRAME_PLAINTEXT_BYTES. */
  maxPlaintextBytes?: number;
}

/** Why a frame was refused. */
export type FrameRejectReason =
  /** The tag did not verify: altered, replayed, reordered or from another session. */
  | 'tampered'
  /** Longer than the limit (checked before decrypting). */
  | 'oversize'
  /** Authentic but not a valid frame: too short, unknown type, bad body. */
  | 'malformed'
  /** The CipherState used up its 2^64-1 nonces. */
  | 'nonce-exhausted';

/** Result of {@link openFrame} and {@link decodeFramePlaintext}. */
export type OpenFrameResult = { ok: true; frame: Frame } | { ok: false; reason: FrameRejectReason };
/** Result of {@link sealFrame}. */
export type SealFrameResult =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; reason: 'oversize' | 'nonce-exhausted' };

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** `limits.maxPlaintextBytes` or its default. @throws {TypeError|RangeError} on a bad value. */
function maxPlaintext(limits: FrameLimits | undefined): number {
  const max = limits?.maxPlaintextBytes;
  if (max === undefined) return DEFAULT_MAX_FRAME_PLAINTEXT_BYTES;
  return aint(max, 2, MAX_FRAME_PLAINTEXT_LIMIT, 'maxPlaintextBytes');
}

/**
 * The plaintext of a frame (`type || body`); it may be longer than a limit (sealFrame checks).
 * @throws {TypeError} when a field has the wrong type or the frame type is unknown.
 * @throws {RangeError} when a gossip message is empty, PING/PONG data exceeds MAX_PING_DATA_BYTES or
 *   a CLOSE reason exceeds MAX_CLOSE_REASON_BYTES in UTF-8.
 */
export function encodeFramePlaintext(frame: Frame): Uint8Array {
  const f = aobject(frame, 'frame');
  let type: number;
  let body: Uint8Array;
  switch (f.type) {
    case 'gossip':
      type = FRAME_TYPE.gossip;
      body = abytes(f.message, undefined, 'message');
      if (body.length === 0) throw new RangeError('"message" expected at least 1 byte, got length=0');
      break;
    case 'ping':
    case 'pong':
      type = FRAME_TYPE[f.type];
      body = abytes(f.data, undefined, 'data');
      if (body.length > MAX_PING_DATA_BYTES) {
        throw new RangeError(
          `"data" expected at most ${MAX_PING_DATA_BYTES} bytes, got length=${body.length}`,
        );
      }
      break;
    case 'close':
      type = FRAME_TYPE.close;
      body = utf8Encoder.encode(astring(f.reason, 'reason'));
      if (body.length > MAX_CLOSE_REASON_BYTES) {
        throw new RangeError(
          `"reason" expected at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes, got length=${body.length}`,
        );
      }
      break;
    default:
      throw new TypeError(`"frame.type" expected 'gossip', 'ping', 'pong' or 'close', got ${String(f.type)}`);
  }
  const out = new Uint8Array(1 + body.length);
  out[0] = type;
  out.set(body, 1);
  return out;
}

/**
 * Decodes a frame plaintext. Never throws on bytes.
 * @throws {TypeError|RangeError} only when `limits` is invalid.
 */
export function decodeFramePlaintext(plaintext: Uint8Array, limits?: FrameLimits): OpenFrameResult {
  const max = maxPlaintext(limits);
  if (!(plaintext instanceof Uint8Array) || plaintext.length < 1) return { ok: false, reason: 'malformed' };
  if (plaintext.length > max) return { ok: false, reason: 'oversize' };
  const body = plaintext.slice(1);
  switch (plaintext[0]) {
    case FRAME_TYPE.gossip:
      if (body.length === 0) return { ok: false, reason: 'malformed' };
      return { ok: true, frame: { type: 'gossip', message: body } };
    case FRAME_TYPE.ping:
    case FRAME_TYPE.pong:
      if (body.length > MAX_PING_DATA_BYTES) return { ok: false, reason: 'malformed' };
      return { ok: true, frame: { type: plaintext[0] === FRAME_TYPE.ping ? 'ping' : 'pong', data: body } };
    case FRAME_TYPE.close: {
      if (body.length > MAX_CLOSE_REASON_BYTES) return { ok: false, reason: 'malformed' };
      let reason: string;
      try {
        reason = utf8Decoder.decode(body);
      } catch {
        return { ok: false, reason: 'malformed' };
      }
      return { ok: true, frame: { type: 'close', reason } };
    }
    default:
      return { ok: false, reason: 'malformed' };
  }
}

/**
 * Encrypts a frame with the sending CipherState: the bytes of one WebSocket binary message.
 * @throws {TypeError|RangeError} when the frame or the limits are invalid (see encodeFramePlaintext).
 */
export function sealFrame(send: CipherState, frame: Frame, limits?: FrameLimits): SealFrameResult {
  const max = maxPlaintext(limits);
  const plaintext = encodeFramePlaintext(frame);
  if (plaintext.length > max) return { ok: false, reason: 'oversize' };
  const r = send.encryptWithAd(new Uint8Array(0), plaintext);
  return r.ok ? { ok: true, bytes: r.ciphertext } : r;
}

/**
 * Decrypts and decodes one received WebSocket binary message. Size is checked before any crypto;
 * a refused frame does not advance the receiving nonce. Never throws on bytes.
 * @throws {TypeError|RangeError} only when `limits` is invalid.
 */
export function openFrame(recv: CipherState, bytes: Uint8Array, limits?: FrameLimits): OpenFrameResult {
  const max = maxPlaintext(limits);
  if (!(bytes instanceof Uint8Array)) return { ok: false, reason: 'malformed' };
  if (bytes.length > max + AEAD_TAG_BYTES) return { ok: false, reason: 'oversize' };
  if (bytes.length < MIN_FRAME_BYTES) return { ok: false, reason: 'malformed' };
  const r = recv.decryptWithAd(new Uint8Array(0), bytes);
  if (!r.ok) return r;
  return decodeFramePlaintext(r.plaintext, { maxPlaintextBytes: max });
}
