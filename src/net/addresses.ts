/**
 * The address list a node advertises (PROTOCOL.md §9.7): in its handshake identity extension and as
 * its gossip peer data (§8.1). Both carry the same bytes, a concatenation of address TLVs (§4.3) with
 * nothing around them; the list ends where the bytes end. Decoding never throws: a malformed TLV ends
 * the list (the addresses before it are kept) and unknown TLV types are skipped.
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { type Address, encodeAddress, formatAddress, readAddress } from '../crypto/address.js';
import { MAX_IDENTITY_EXTENSION_BYTES } from './identity.js';

/** Result of {@link decodeAddressList}: `ok` is false when a malformed TLV cut the list short. */
export interface DecodedAddressList {
  ok: boolean;
  addresses: Address[];
}

/**
 * The TLVs of `addresses`, in order, skipping duplicates, and stopping before the list would exceed
 * MAX_IDENTITY_EXTENSION_BYTES (1024, also the default peer data limit).
 * @throws {TypeError|RangeError} when an address is invalid (see `encodeAddress`).
 */
export function encodeAddressList(addresses: readonly Address[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const seen = new Set<string>();
  let size = 0;
  for (const a of addresses) {
    const key = formatAddress(a);
    if (seen.has(key)) continue;
    const tlv = encodeAddress(a);
    if (size + tlv.length > MAX_IDENTITY_EXTENSION_BYTES) break;
    seen.add(key);
    parts.push(tlv);
    size += tlv.length;
  }
  return concatBytes(...parts);
}

/** The addresses of an encoded list. Never throws. */
export function decodeAddressList(bytes: Uint8Array | undefined): DecodedAddressList {
  const addresses: Address[] = [];
  if (!(bytes instanceof Uint8Array)) return { ok: bytes === undefined, addresses };
  let offset = 0;
  while (offset < bytes.length) {
    const r = readAddress(bytes, offset);
    if (r === undefined) return { ok: false, addresses };
    if (r.address !== undefined) addresses.push(r.address);
    offset = r.next;
  }
  return { ok: true, addresses };
}
