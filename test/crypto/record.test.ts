import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  decodeRecord,
  encodeRecordBody,
  encodeSignedRecord,
  MIN_RECORD_BYTES,
  maxRecordSize,
  RECORD_HEADER_BYTES,
  RECORD_SIGNATURE_DOMAIN,
  type RecordBody,
  type SignedRecord,
  signRecord,
  verifyRecordSignature,
} from '../../src/crypto/index.js';
import {
  bytes,
  MINUTE,
  makeBody,
  makeRecord,
  OTHER_PUBLISHER,
  PUBLISHER,
  TOPIC,
  worstCaseBody,
} from './fixtures.js';
import { ed25519Sign, hex, unhex, utf8 } from './reference.js';

/** `body || signature` with the signature made by node:crypto over raw body bytes. */
function signRaw(body: Uint8Array, seed = PUBLISHER.secretKey): Uint8Array {
  const sig = ed25519Sign(seed, new Uint8Array([...utf8(RECORD_SIGNATURE_DOMAIN), 0, ...body]));
  return new Uint8Array([...body, ...sig]);
}

/** Decodes and fails the test when the bytes do not decode. */
function mustDecode(b: Uint8Array): SignedRecord {
  const out = decodeRecord(b);
  if (!out.ok) throw new Error(`decode failed: ${out.reason}`);
  return out.record;
}

const EMPTY_LISTS: Partial<RecordBody> = { addresses: [], peers: [], messageIds: [] };

describe('encodeRecordBody', () => {
  it('lays the fields out as PROTOCOL.md §4 says', () => {
    const body = encodeRecordBody(makeBody());
    const expected =
      '01' + // version
      '00' + // flags
      hex(Uint8Array.of(MINUTE >>> 24, (MINUTE >>> 16) & 0xff, (MINUTE >>> 8) & 0xff, MINUTE & 0xff)) +
      TOPIC.toHex() +
      hex(PUBLISHER.publicKey) +
      '01' + // n
      '0106c63364071ae1' + // 198.51.100.7:6881
      '01' + // p
      '11'.repeat(32) +
      '01' + // peer address count
      '021220010db800000000000000000000000101bb' + // [2001:db8::1]:443
      '01' + // m
      'aa'.repeat(16);
    expect(hex(body)).toBe(expected);
  });

  it('writes the smallest and the largest bodies at their computed sizes', () => {
    expect(encodeRecordBody(makeBody(EMPTY_LISTS))).toHaveLength(MIN_RECORD_BYTES - 64);
    expect(RECORD_HEADER_BYTES).toBe(70);
    expect(encodeRecordBody(worstCaseBody())).toHaveLength(maxRecordSize() - 64);
    expect(maxRecordSize()).toBe(942);
  });

  it('writes minute 0 and 2^32-1 as u32be', () => {
    expect(hex(encodeRecordBody(makeBody({ minute: 0 })).subarray(2, 6))).toBe('00000000');
    expect(hex(encodeRecordBody(makeBody({ minute: 0xffff_ffff })).subarray(2, 6))).toBe('ffffffff');
  });

  it('rejects bad local input with noble-style errors', () => {
    const cases: [Partial<RecordBody> | unknown, ErrorConstructor, string][] = [
      [{ publisher: bytes(31) }, RangeError, '"publisher" expected Uint8Array of length 32, got length=31'],
      [{ topic: 'ab' }, TypeError, '"topic" expected Uint8Array of length 32, got type=string'],
      [{ minute: -1 }, RangeError, '"minute" expected integer in [0, 4294967295], got -1'],
      [{ minute: 2 ** 32 }, RangeError, '"minute" expected integer in [0, 4294967295], got 4294967296'],
      [{ minute: 1n }, TypeError, '"minute" expected number, got type=bigint'],
      [{ addresses: 'x' }, TypeError, '"addresses" expected array, got type=string'],
      [
        { addresses: Array(5).fill({ host: 'a.b', port: 1 }) },
        RangeError,
        '"addresses" expected at most 4 items, got 5',
      ],
      [
        { addresses: [{ host: 'a.b', port: 0 }] },
        RangeError,
        '"addresses[0].port" expected integer in [1, 65535], got 0',
      ],
      [
        { peers: Array(6).fill({ id: bytes(32), addresses: [] }) },
        RangeError,
        '"peers" expected at most 5 items, got 6',
      ],
      [{ peers: [null] }, TypeError, '"peers[0]" expected object, got type=null'],
      [
        {
          peers: [
            { id: bytes(32), addresses: [] },
            { id: bytes(33), addresses: [] },
          ],
        },
        RangeError,
        '"peers[1].id" expected Uint8Array of length 32, got length=33',
      ],
      [
        { peers: [{ id: bytes(32), addresses: Array(3).fill({ host: 'a.b', port: 1 }) }] },
        RangeError,
        '"peers[0].addresses" expected at most 2 items, got 3',
      ],
      [
        {
          peers: [
            {
              id: bytes(32),
              addresses: [
                { host: 'a.b', port: 1 },
                { host: 'a..b', port: 1 },
              ],
            },
          ],
        },
        RangeError,
        '"peers[0].addresses[1].host" expected IPv4, IPv6 or DNS name of at most 36 bytes, got "a..b"',
      ],
      [{ messageIds: Array(6).fill(bytes(16)) }, RangeError, '"messageIds" expected at most 5 items, got 6'],
      [
        { messageIds: [bytes(16), bytes(15)] },
        RangeError,
        '"messageIds[1]" expected Uint8Array of length 16, got length=15',
      ],
    ];
    for (const [overrides, Type, message] of cases) {
      expect(() => encodeRecordBody(makeBody(overrides as Partial<RecordBody>)), message).toThrow(
        new Type(message),
      );
    }
    expect(() => encodeRecordBody(null as unknown as RecordBody)).toThrow(
      new TypeError('"body" expected object, got type=null'),
    );
  });
});

describe('signRecord', () => {
  it('signs "gossip-topic-tracker/v1/record" || 0x00 || body, as node:crypto does', () => {
    const rec = makeRecord();
    const message = new Uint8Array([...utf8('gossip-topic-tracker/v1/record'), 0, ...encodeRecordBody(rec)]);
    expect(hex(rec.signature)).toBe(hex(ed25519Sign(PUBLISHER.secretKey, message)));
    expect(verifyRecordSignature(rec)).toBe(true);
  });

  it('returns a normalized copy', () => {
    const body = makeBody({ addresses: [{ host: 'A.Example', port: 1 }] });
    const rec = signRecord(body, PUBLISHER.secretKey);
    expect(rec.addresses).toEqual([{ host: 'a.example', port: 1 }]);
    expect(body.addresses[0]!.host).toBe('A.Example');
    body.publisher[0]! ^= 0; // same bytes, different buffers
    expect(rec.publisher).not.toBe(body.publisher);
    expect(mustDecode(encodeSignedRecord(rec))).toEqual(rec);
  });

  it('refuses a key that is not the publisher', () => {
    expect(() => signRecord(makeBody(), OTHER_PUBLISHER.secretKey)).toThrow(
      new RangeError('"publisherSecretKey" expected the secret key of "publisher", got another key'),
    );
    expect(() => signRecord(makeBody(), bytes(64))).toThrow(
      new RangeError('"publisherSecretKey" expected Uint8Array of length 32, got length=64'),
    );
    expect(() => signRecord(makeBody({ minute: -5 }), PUBLISHER.secretKey)).toThrow(RangeError);
  });
});

describe('encodeSignedRecord / decodeRecord', () => {
  it('round-trips', () => {
    for (const rec of [
      makeRecord(),
      makeRecord(EMPTY_LISTS),
      signRecord(worstCaseBody(), PUBLISHER.secretKey),
    ]) {
      const b = encodeSignedRecord(rec);
      expect(b).toHaveLength(encodeRecordBody(rec).length + 64);
      const back = mustDecode(b);
      expect(back).toEqual(rec);
      expect(verifyRecordSignature(back)).toBe(true);
    }
  });

  it('decodes copies that do not alias the input', () => {
    const b = encodeSignedRecord(makeRecord());
    const rec = mustDecode(b);
    b.fill(0);
    expect(rec.topic).toEqual(TOPIC.hash);
    expect(verifyRecordSignature(rec)).toBe(true);
  });

  it('decodes a Buffer into plain, unaliased Uint8Arrays', () => {
    const buf = Buffer.from(encodeSignedRecord(makeRecord()));
    const rec = mustDecode(buf);
    buf.fill(0);
    for (const field of [rec.topic, rec.publisher, rec.signature, rec.peers[0]!.id, rec.messageIds[0]!]) {
      expect(Object.getPrototypeOf(field)).toBe(Uint8Array.prototype);
    }
    expect(rec).toEqual(makeRecord());
    expect(verifyRecordSignature(rec)).toBe(true);
  });

  it('rejects bad signatures with the right length', () => {
    expect(() => encodeSignedRecord({ ...makeRecord(), signature: bytes(63) })).toThrow(
      new RangeError('"signature" expected Uint8Array of length 64, got length=63'),
    );
  });

  it('checks the version byte first', () => {
    const b = encodeSignedRecord(makeRecord());
    for (const v of [0, 2, 255]) {
      const c = b.slice();
      c[0] = v;
      expect(decodeRecord(c)).toEqual({ ok: false, reason: 'unknown-version' });
      expect(decodeRecord(c.subarray(0, 1))).toEqual({ ok: false, reason: 'unknown-version' });
    }
    expect(decodeRecord(new Uint8Array(0))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRecord(Uint8Array.of(1))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRecord('01' as unknown as Uint8Array)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects truncation, trailing bytes and counts above their maxima', () => {
    const b = encodeSignedRecord(makeRecord());
    for (let len = 0; len < b.length; len++) {
      expect(decodeRecord(b.subarray(0, len)).ok, `length ${len}`).toBe(false);
    }
    expect(decodeRecord(new Uint8Array([...b, 0]))).toEqual({ ok: false, reason: 'malformed' });

    const empty = encodeRecordBody(makeBody(EMPTY_LISTS)); // header, 00, 00, 00
    const withCounts = (n: number, p: number, m: number) => {
      const c = empty.slice();
      c[70] = n;
      c[71] = p;
      c[72] = m;
      return signRaw(c);
    };
    expect(mustDecode(withCounts(0, 0, 0)).addresses).toEqual([]);
    expect(decodeRecord(withCounts(5, 0, 0))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRecord(withCounts(0, 6, 0))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRecord(withCounts(0, 0, 6))).toEqual({ ok: false, reason: 'malformed' });
    // Counts within range but the lists are missing.
    expect(decodeRecord(withCounts(0, 0, 1))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRecord(withCounts(1, 0, 0))).toEqual({ ok: false, reason: 'malformed' });

    // A peer with 3 addresses.
    const peer = new Uint8Array([...empty.subarray(0, 71), 1, ...bytes(32, 9), 3, 0, 0, 0, 0, 0]);
    expect(decodeRecord(signRaw(peer))).toEqual({ ok: false, reason: 'malformed' });
    // The same with 0 addresses and a zero message count is fine.
    const okPeer = new Uint8Array([...empty.subarray(0, 71), 1, ...bytes(32, 9), 0, 0]);
    expect(mustDecode(signRaw(okPeer)).peers).toEqual([{ id: bytes(32, 9), addresses: [] }]);
  });

  it('rejects malformed addresses inside a record', () => {
    const empty = encodeRecordBody(makeBody(EMPTY_LISTS));
    const withTlv = (tlv: string) =>
      signRaw(new Uint8Array([...empty.subarray(0, 70), 1, ...unhex(tlv), 0, 0]));
    expect(mustDecode(withTlv('0106c63364071ae1')).addresses).toEqual([{ host: '198.51.100.7', port: 6881 }]);
    expect(decodeRecord(withTlv('0106c63364070000'))).toEqual({ ok: false, reason: 'malformed' }); // port 0
    expect(decodeRecord(withTlv('0107c63364071ae100'))).toEqual({ ok: false, reason: 'malformed' }); // bad len
    expect(decodeRecord(withTlv(`0327${'61'.repeat(37)}0001`))).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeRecord(withTlv(`0305${hex(utf8('a..'))}0001`))).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('forward compatibility: skipped TLVs, flags and upper-case names still verify', () => {
  const empty = encodeRecordBody(makeBody(EMPTY_LISTS));
  // n = 3: an ip4, an unknown type 9 with a 38-byte body, a DNS name sent in upper case; flags = 0x80.
  const raw = new Uint8Array([
    ...empty.subarray(0, 70),
    3,
    ...unhex('0106c63364071ae1'),
    ...unhex(`0926${'ee'.repeat(38)}`),
    ...unhex(`0305${hex(utf8('A.B'))}0050`),
    0,
    0,
  ]);
  raw[1] = 0x80;
  const signed = signRaw(raw);

  it('decodes the known addresses and verifies over the bytes as received', () => {
    const rec = mustDecode(signed);
    expect(rec.addresses).toEqual([
      { host: '198.51.100.7', port: 6881 },
      { host: 'a.b', port: 80 },
    ]);
    expect(verifyRecordSignature(rec)).toBe(true);
    expect(hex(encodeSignedRecord(rec))).toBe(hex(signed));
  });

  it('a copy or a modified record is checked over its own encoding (and fails)', () => {
    const rec = mustDecode(signed);
    expect(verifyRecordSignature({ ...rec })).toBe(false);
    rec.minute += 1;
    expect(verifyRecordSignature(rec)).toBe(false);
    rec.minute -= 1;
    expect(verifyRecordSignature(rec)).toBe(true);
    rec.topic[0]! ^= 1;
    expect(verifyRecordSignature(rec)).toBe(false);
  });
});

describe('verifyRecordSignature', () => {
  it('rejects a record whose signature is from another key than its publisher', () => {
    const body = encodeRecordBody(makeBody());
    const rec = mustDecode(signRaw(body, OTHER_PUBLISHER.secretKey));
    expect(verifyRecordSignature(rec)).toBe(false);
  });

  it('rejects any change to a signed field', () => {
    const rec = makeRecord();
    const changed: SignedRecord[] = [
      { ...rec, minute: rec.minute + 1 },
      { ...rec, topic: bytes(32, 1) },
      { ...rec, addresses: [] },
      { ...rec, peers: [] },
      { ...rec, messageIds: [] },
      { ...rec, publisher: OTHER_PUBLISHER.publicKey },
    ];
    for (const c of changed) expect(verifyRecordSignature(c)).toBe(false);
  });

  it('rejects a signature without the domain string, or with another one', () => {
    const body = encodeRecordBody(makeBody());
    const bare = mustDecode(new Uint8Array([...body, ...ed25519Sign(PUBLISHER.secretKey, body)]));
    expect(verifyRecordSignature(bare)).toBe(false);
    const other = ed25519Sign(
      PUBLISHER.secretKey,
      new Uint8Array([...utf8('gossip-topic-tracker/v2/record'), 0, ...body]),
    );
    expect(verifyRecordSignature(mustDecode(new Uint8Array([...body, ...other])))).toBe(false);
  });

  it('rejects non-canonical S (s + L) and small-order publisher keys', () => {
    const rec = makeRecord();
    // S + L, little endian; L = 2^252 + 27742317777372353535851937790883648493.
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(rec.signature[32 + i]!);
    let t = s + L;
    const sig = rec.signature.slice();
    for (let i = 0; i < 32; i++) {
      sig[32 + i] = Number(t & 0xffn);
      t >>= 8n;
    }
    expect(t).toBe(0n); // S + L < 2^256 always fits
    expect(verifyRecordSignature({ ...rec, signature: sig })).toBe(false);
    // The identity point as publisher with an all-zero R and S = 0 satisfies the equation for a
    // lenient verifier; strict verification refuses small-order keys.
    const identity = bytes(32);
    identity[0] = 1;
    const forged = { ...rec, publisher: identity, signature: new Uint8Array([...identity, ...bytes(32)]) };
    expect(verifyRecordSignature(forged)).toBe(false);
    const message = new Uint8Array([...utf8(RECORD_SIGNATURE_DOMAIN), 0, ...encodeRecordBody(forged)]);
    expect(ed25519.verify(forged.signature, message, identity, { zip215: true })).toBe(true);
  });

  it('never throws, whatever it is given', () => {
    for (const junk of [
      null,
      undefined,
      5,
      'x',
      {},
      [],
      { ...makeRecord(), signature: 'x' },
      { ...makeRecord(), publisher: bytes(3) },
    ]) {
      expect(verifyRecordSignature(junk as unknown as SignedRecord)).toBe(false);
    }
  });
});
