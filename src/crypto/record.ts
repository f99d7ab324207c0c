/**
 * The signed record, plaintext layout v1 (PROTOCOL.md §4).
 *
 * ```
 * offset size
 * 0      1    version = 1
 * 1      1    flags = 0 (reserved: writers write 0, readers ignore)
 * 2      4    minute u32be
 * 6      32   topic hash
 * 38     32   publisher id (its ed25519 public key)
 * 70     1    n = count of publisher addresses, 0..4
 *        …    n TLV addresses
 *        1    p = count of active peers, 0..5
 *        …    p × (32-byte peer id || u8 address count 0..2 || that many TLV addresses)
 *        1    m = count of recent message ids, 0..5
 *        …    m × 16 bytes
 *        64   ed25519 signature over "gossip-topic-tracker/v1/record" || 0x00 || body
 * ```
 * `body` is every byte before the signature. Decoding never throws: bad network bytes are a reason.
 *
 * Ed25519 comes from a {@link CryptoSuite} argument, default the @noble reference `nobleSuite`; the
 * record store passes its Dht's suite (OpenSSL). Both sign the same bytes (RFC 8032 is deterministic)
 * and verify strictly (see `CryptoSuite.ed25519Verify` for the one difference, which only a
 * publisher can provoke in its own records).
 */
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  type Address,
  encodeAddressAs,
  MAX_ADDRESS_TLV_BYTES,
  normalizeAddressAs,
  readAddress,
} from './address.js';
import { MAX_MINUTE } from './keys.js';
import { type CryptoSuite, KEY_BYTES, nobleSuite, SIGNATURE_BYTES } from './suite.js';
import { TOPIC_HASH_BYTES } from './topic.js';
import { aarray, abytes, aint, aobject, copy, equalBytes, isBytes } from './utils.js';

/** The record format version this code writes and reads. */
export const RECORD_VERSION = 1;
/** Most addresses a publisher lists for itself. */
export const MAX_PUBLISHER_ADDRESSES = 4;
/** Most active peers a record lists. */
export const MAX_RECORD_PEERS = 5;
/** Most addresses listed per peer. */
export const MAX_PEER_ADDRESSES = 2;
/** Most recent message ids a record lists. */
export const MAX_MESSAGE_IDS = 5;
/** Length in bytes of a message id. */
export const MESSAGE_ID_BYTES = 16;
/** Domain string prefixed (with a 0x00 separator) to every signed record body. */
export const RECORD_SIGNATURE_DOMAIN = 'gossip-topic-tracker/v1/record';
/** Bytes before the first count: version, flags, minute, topic hash, publisher id. */
export const RECORD_HEADER_BYTES = 1 + 1 + 4 + TOPIC_HASH_BYTES + KEY_BYTES;
/** Smallest v1 record: header, three zero counts, signature (137 bytes). */
export const MIN_RECORD_BYTES = RECORD_HEADER_BYTES + 3 + SIGNATURE_BYTES;

const DOMAIN_PREFIX = concatBytes(utf8ToBytes(RECORD_SIGNATURE_DOMAIN), Uint8Array.of(0));

/**
 * Largest v1 record plaintext, every list full and every address a longest TLV (942 bytes). Unknown
 * address types are bounded by the same TLV size, so this holds for records with them too.
 */
export function maxRecordSize(): number {
  return (
    RECORD_HEADER_BYTES +
    1 +
    MAX_PUBLISHER_ADDRESSES * MAX_ADDRESS_TLV_BYTES +
    1 +
    MAX_RECORD_PEERS * (KEY_BYTES + 1 + MAX_PEER_ADDRESSES * MAX_ADDRESS_TLV_BYTES) +
    1 +
    MAX_MESSAGE_IDS * MESSAGE_ID_BYTES +
    SIGNATURE_BYTES
  );
}

/** An active peer listed in a record. */
export interface PeerInfo {
  /** The peer's ed25519 public key (32 bytes). */
  id: Uint8Array;
  /** 0..MAX_PEER_ADDRESSES addresses. */
  addresses: Address[];
}

/** The signed fields of a record. */
export interface RecordBody {
  /** Topic hash (32 bytes). */
  topic: Uint8Array;
  /** Unix minute, 0..2^32-1. */
  minute: number;
  /** Publisher id: its ed25519 public key (32 bytes). */
  publisher: Uint8Array;
  /** 0..MAX_PUBLISHER_ADDRESSES addresses of the publisher. */
  addresses: Address[];
  /** 0..MAX_RECORD_PEERS active peers. */
  peers: PeerInfo[];
  /** 0..MAX_MESSAGE_IDS recent message ids of MESSAGE_ID_BYTES bytes. */
  messageIds: Uint8Array[];
}

/** A record body and the publisher's signature over it. */
export type SignedRecord = RecordBody & { signature: Uint8Array };

/** Why `decodeRecord` refused bytes. */
export type DecodeRejectReason = 'malformed' | 'unknown-version';

/** Result of {@link decodeRecord}. */
export type DecodeResult = { ok: true; record: SignedRecord } | { ok: false; reason: DecodeRejectReason };

// ---------------------------------------------------------------------------------------------------
// Encoding

/** Validated, normalized deep copy of a record body; `title`-prefixed messages on failure. */
function checkBody(value: unknown): RecordBody {
  const b = aobject(value, 'body');
  const topic = copy(abytes(b.topic, TOPIC_HASH_BYTES, 'topic'));
  const minute = aint(b.minute, 0, MAX_MINUTE, 'minute');
  const publisher = copy(abytes(b.publisher, KEY_BYTES, 'publisher'));
  const addresses = aarray(b.addresses, MAX_PUBLISHER_ADDRESSES, 'addresses').map((a, i) =>
    normalizeAddressAs(a, `addresses[${i}]`),
  );
  const peers = aarray(b.peers, MAX_RECORD_PEERS, 'peers').map((value, i): PeerInfo => {
    const p = aobject(value, `peers[${i}]`);
    return {
      id: copy(abytes(p.id, KEY_BYTES, `peers[${i}].id`)),
      addresses: aarray(p.addresses, MAX_PEER_ADDRESSES, `peers[${i}].addresses`).map((a, j) =>
        normalizeAddressAs(a, `peers[${i}].addresses[${j}]`),
      ),
    };
  });
  const messageIds = aarray(b.messageIds, MAX_MESSAGE_IDS, 'messageIds').map((id, i) =>
    copy(abytes(id, MESSAGE_ID_BYTES, `messageIds[${i}]`)),
  );
  return { topic, minute, publisher, addresses, peers, messageIds };
}

/** Body bytes of an already validated body. */
function writeBody(b: RecordBody): Uint8Array {
  const header = new Uint8Array(RECORD_HEADER_BYTES);
  header[0] = RECORD_VERSION;
  header[1] = 0; // flags: reserved
  new DataView(header.buffer).setUint32(2, b.minute);
  header.set(b.topic, 6);
  header.set(b.publisher, 6 + TOPIC_HASH_BYTES);
  const parts: Uint8Array[] = [header, Uint8Array.of(b.addresses.length)];
  for (const a of b.addresses) parts.push(encodeAddressAs(a, 'address'));
  parts.push(Uint8Array.of(b.peers.length));
  for (const p of b.peers) {
    parts.push(p.id, Uint8Array.of(p.addresses.length));
    for (const a of p.addresses) parts.push(encodeAddressAs(a, 'address'));
  }
  parts.push(Uint8Array.of(b.messageIds.length), ...b.messageIds);
  return concatBytes(...parts);
}

/**
 * Encodes the body of a record: every byte that the signature covers. Addresses are normalized
 * (IPv6 canonical, DNS names lower case); flags are written as 0.
 * @throws {TypeError} when a field has the wrong type, e.g. `"topic" expected Uint8Array of length 32,
 *   got type=string`.
 * @throws {RangeError} when a field has the wrong length or range, e.g. `"publisher" expected Uint8Array
 *   of length 32, got length=31`, a list is longer than its maximum, or an address is invalid.
 */
export function encodeRecordBody(body: RecordBody): Uint8Array {
  return writeBody(checkBody(body));
}

/**
 * Raw body bytes of records returned by `decodeRecord`, for the cases where re-encoding the decoded
 * fields does not give back the signed bytes: a TLV of unknown type was skipped, flags were not 0, or a
 * DNS name was sent in upper case. `canonical` is the re-encoding at decode time; while the record
 * still re-encodes to it, its signature is checked over `raw`.
 */
const rawBodies = new WeakMap<object, { raw: Uint8Array; canonical: Uint8Array }>();

/** The bytes the signature of `rec` covers. @throws like {@link encodeRecordBody}. */
function signedBody(rec: RecordBody): Uint8Array {
  const encoded = encodeRecordBody(rec);
  const entry = rawBodies.get(rec);
  return entry !== undefined && equalBytes(entry.canonical, encoded) ? entry.raw : encoded;
}

/** `domain || 0x00 || body`: the message an ed25519 record signature signs. */
function signedMessage(body: Uint8Array): Uint8Array {
  return concatBytes(DOMAIN_PREFIX, body);
}

/**
 * Signs a record body with the publisher's secret key (its 32-byte ed25519 seed). Returns a
 * normalized copy of the body with the signature.
 * @param suite where Ed25519 comes from (default `nobleSuite`); every suite gives the same signature.
 * @throws {TypeError} when `body` or `publisherSecretKey` has the wrong type.
 * @throws {RangeError} when the body is invalid (see {@link encodeRecordBody}), the key is not 32 bytes,
 *   or its public key is not `body.publisher`.
 */
export function signRecord(
  body: RecordBody,
  publisherSecretKey: Uint8Array,
  suite: CryptoSuite = nobleSuite,
): SignedRecord {
  const b = checkBody(body);
  abytes(publisherSecretKey, KEY_BYTES, 'publisherSecretKey');
  if (!equalBytes(suite.ed25519PublicKey(publisherSecretKey), b.publisher)) {
    throw new RangeError('"publisherSecretKey" expected the secret key of "publisher", got another key');
  }
  const signature = suite.ed25519Sign(signedMessage(writeBody(b)), publisherSecretKey);
  return { ...b, signature };
}

/**
 * Encodes a signed record: body bytes followed by the 64-byte signature. A record returned by
 * `decodeRecord` and not modified since encodes to the bytes it was decoded from.
 * @throws {TypeError} when a field has the wrong type.
 * @throws {RangeError} when a field is invalid or `signature` is not 64 bytes.
 */
export function encodeSignedRecord(rec: SignedRecord): Uint8Array {
  aobject(rec, 'record');
  const body = signedBody(rec);
  return concatBytes(body, abytes(rec.signature, SIGNATURE_BYTES, 'signature'));
}

/**
 * True when `rec.signature` is the publisher's valid signature over the record's body. Verification is
 * strict RFC 8032 (canonical encodings, small-order keys rejected). Never throws: a record that does not
 * encode, or that is not an object, is simply not valid.
 * @param suite where Ed25519 comes from (default `nobleSuite`).
 */
export function verifyRecordSignature(rec: SignedRecord, suite: CryptoSuite = nobleSuite): boolean {
  try {
    aobject(rec, 'record');
    const body = signedBody(rec);
    const signature = abytes(rec.signature, SIGNATURE_BYTES, 'signature');
    return verifyBody(body, signature, rec.publisher, suite);
  } catch {
    return false;
  }
}

/**
 * Strict ed25519 verification of `signature` over `body` by `publisher`. Never throws: a signature or
 * key of the wrong length is `false`.
 * @internal
 */
export function verifyBody(
  body: Uint8Array,
  signature: Uint8Array,
  publisher: Uint8Array,
  suite: CryptoSuite = nobleSuite,
): boolean {
  // Every suite verifies as RFC 8032 / FIPS 186-5 say (y < p, S < L) and rejects small-order public
  // keys (nobleSuite: zip215 false), so conforming verifiers agree on which records are valid.
  return suite.ed25519Verify(signature, signedMessage(body), publisher);
}

// ---------------------------------------------------------------------------------------------------
// Decoding

/** A decoded record with the body bytes its signature covers (a view into the input). @internal */
export type ParsedRecord =
  | { ok: true; record: SignedRecord; body: Uint8Array }
  | { ok: false; reason: DecodeRejectReason };

const MALFORMED = { ok: false, reason: 'malformed' } as const;

/** Reads `count` TLVs from `bytes` at `offset`; undefined when one is malformed. Skips unknown types. */
function readAddresses(
  bytes: Uint8Array,
  offset: number,
  count: number,
): { list: Address[]; next: number } | undefined {
  const list: Address[] = [];
  let next = offset;
  for (let i = 0; i < count; i++) {
    const read = readAddress(bytes, next);
    if (read === undefined) return undefined;
    if (read.address !== undefined) list.push(read.address);
    next = read.next;
  }
  return { list, next };
}

/**
 * Decodes without side effects; the fields are fresh plain Uint8Arrays, `body` is a view into the input.
 * Never throws.
 * @internal
 */
export function parseRecord(input: Uint8Array): ParsedRecord {
  // A plain view, so that slice() copies into plain Uint8Arrays even for a Buffer (whose slice() would
  // alias the input and return Buffers).
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.length);
  if (bytes.length < 1) return MALFORMED;
  if (bytes[0] !== RECORD_VERSION) return { ok: false, reason: 'unknown-version' };
  if (bytes.length < MIN_RECORD_BYTES) return MALFORMED;
  // Every read below stays inside `body`; the last 64 bytes are the signature.
  const end = bytes.length - SIGNATURE_BYTES;
  const body = bytes.subarray(0, end);
  const minute = new DataView(body.buffer, body.byteOffset, body.length).getUint32(2);
  const topic = body.slice(6, 6 + TOPIC_HASH_BYTES);
  const publisher = body.slice(6 + TOPIC_HASH_BYTES, RECORD_HEADER_BYTES);
  let off = RECORD_HEADER_BYTES;

  const n = body[off++]!;
  if (n > MAX_PUBLISHER_ADDRESSES) return MALFORMED;
  const own = readAddresses(body, off, n);
  if (own === undefined) return MALFORMED;
  off = own.next;

  if (off >= end) return MALFORMED;
  const p = body[off++]!;
  if (p > MAX_RECORD_PEERS) return MALFORMED;
  const peers: PeerInfo[] = [];
  for (let i = 0; i < p; i++) {
    if (off + KEY_BYTES + 1 > end) return MALFORMED;
    const id = body.slice(off, off + KEY_BYTES);
    off += KEY_BYTES;
    const k = body[off++]!;
    if (k > MAX_PEER_ADDRESSES) return MALFORMED;
    const addrs = readAddresses(body, off, k);
    if (addrs === undefined) return MALFORMED;
    off = addrs.next;
    peers.push({ id, addresses: addrs.list });
  }

  if (off >= end) return MALFORMED;
  const m = body[off++]!;
  if (m > MAX_MESSAGE_IDS) return MALFORMED;
  const messageIds: Uint8Array[] = [];
  for (let i = 0; i < m; i++) {
    if (off + MESSAGE_ID_BYTES > end) return MALFORMED;
    messageIds.push(body.slice(off, off + MESSAGE_ID_BYTES));
    off += MESSAGE_ID_BYTES;
  }
  // Anything left between the lists and the signature is trailing garbage.
  if (off !== end) return MALFORMED;

  const signature = bytes.slice(end);
  const record: SignedRecord = {
    topic,
    minute,
    publisher,
    addresses: own.list,
    peers,
    messageIds,
    signature,
  };
  return { ok: true, record, body };
}

/**
 * Remembers the raw body of a decoded record when re-encoding its fields would not reproduce it.
 * @internal
 */
export function rememberBody(record: SignedRecord, body: Uint8Array): void {
  const canonical = writeBody(record);
  if (!equalBytes(canonical, body)) rawBodies.set(record, { raw: copy(body), canonical });
}

/**
 * Decodes a record plaintext. Checks the version byte first (`unknown-version` for anything but 1), then
 * the structure (`malformed`: truncation, a count above its maximum, a bad address, trailing bytes).
 * Does NOT verify the signature: see {@link verifyRecordSignature}. Address TLVs of unknown type are
 * skipped; the signature still verifies over the bytes as received. Never throws.
 */
export function decodeRecord(bytes: Uint8Array): DecodeResult {
  if (!isBytes(bytes)) return MALFORMED;
  const parsed = parseRecord(bytes);
  if (!parsed.ok) return parsed;
  rememberBody(parsed.record, parsed.body);
  return { ok: true, record: parsed.record };
}
