/**
 * What one walk toward a slot collects ({@link Collector}), and the node's cache of items whose
 * signature checked out ({@link VerifiedItems}): the same item served by several storing nodes, and
 * read again by later walks, costs one Ed25519 verification.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { Lru } from '../crypto/lru.js';
import type { CryptoSuite } from '../crypto/suite.js';
import { equalBytes } from '../crypto/utils.js';
import {
  type MutableItem,
  type RejectReason,
  type ReplyItemFields,
  readReplyItem,
  verifyMutable,
} from './bep44.js';
import { compareDistance } from './lookup.js';
import type { DhtStats, FoundValue, GetAllResult, LookupNode, NodeRef, Slot } from './types.js';
import type { ReplyEnvelope } from './walk.js';

/** Verified items remembered per node (guess: a topic's two minutes hold a few dozen; ≤ 256 kB). */
const VERIFIED_CACHE_ITEMS = 256;

/**
 * Items whose BEP 44 signature checked out, by target | seq | signature, with their value; the least
 * recently used goes first when full. A record is held by several nodes and read again by later walks (the publisher's and the
 * merges' reads, a put's own walk): one Ed25519 verification per distinct item, not one per walk.
 */
export class VerifiedItems {
  readonly #verified = new Lru<string, Uint8Array>(VERIFIED_CACHE_ITEMS);
  readonly #suite: CryptoSuite;

  constructor(suite: CryptoSuite) {
    this.#suite = suite;
  }

  /** Checks an item's signature (`target`: hex), once per distinct item while it stays cached. */
  verify = (item: MutableItem, target: string): boolean => {
    const key = `${target}|${item.seq}|${latin1(item.signature)}`;
    const known = this.#verified.get(key);
    if (known !== undefined && equalBytes(known, item.value)) return true;
    if (!verifyMutable(item, this.#suite)) return false;
    this.#verified.set(key, new Uint8Array(item.value));
    return true;
  };
}

/**
 * Collects the replies of one walk toward a slot: the responders with tokens, and each distinct item
 * (by seq, value and signature), verified once: the same item served by several storing nodes costs
 * one Ed25519 verification per walk.
 */
export class Collector {
  responded = 0;
  readonly rejected: Partial<Record<RejectReason, number>> = {};
  readonly #nodes: LookupNode[] = [];
  readonly #values: FoundValue[] = [];
  /** Distinct item key → the found value, or why it was rejected. */
  readonly #verdicts = new Map<string, FoundValue | RejectReason>();
  readonly #slot: Slot;
  readonly #target: Uint8Array;
  readonly #stats: DhtStats;
  /** Checks an item's signature (`target`: hex, for the node's cache of verified items). */
  readonly #verify: (item: MutableItem, target: string) => boolean;
  readonly #targetHex: string;
  readonly #onValue: ((value: FoundValue) => void) | undefined;

  constructor(
    slot: Slot,
    target: Uint8Array,
    stats: DhtStats,
    verify: (item: MutableItem, target: string) => boolean,
    onValue?: (value: FoundValue) => void,
  ) {
    this.#slot = slot;
    this.#target = target;
    this.#targetHex = bytesToHex(target);
    this.#stats = stats;
    this.#verify = verify;
    this.#onValue = onValue;
  }

  /** A node's reply to our `get`. */
  add(reply: Record<string, unknown>, envelope: ReplyEnvelope, from: NodeRef): void {
    this.responded++;
    this.#take(reply, from, envelope.token);
  }

  /** The item our own node stores for the slot (it is one of the DHT's nodes too). */
  addLocal(stored: ReplyItemFields, self: NodeRef): void {
    this.#take(stored, self, undefined);
  }

  #take(fields: ReplyItemFields, from: NodeRef, token: Uint8Array | undefined): void {
    const read = readReplyItem(fields, this.#slot);
    let found: FoundValue | undefined;
    let invalid: RejectReason | undefined;
    let isNew = false;
    if (read.kind === 'invalid') invalid = read.reason;
    else if (read.kind === 'candidate') {
      const key = itemKey(read.item);
      let verdict = this.#verdicts.get(key);
      if (verdict === undefined) {
        verdict = this.#verify(read.item, this.#targetHex) ? copyItem(read.item) : 'bad-signature';
        this.#verdicts.set(key, verdict);
        isNew = typeof verdict !== 'string';
        if (isNew) this.#values.push(verdict as FoundValue);
      }
      if (typeof verdict === 'string') invalid = verdict;
      else {
        found = verdict;
        found.from.push(from);
      }
    }
    if (invalid) {
      this.rejected[invalid] = (this.rejected[invalid] ?? 0) + 1;
      this.#stats.valuesRejected[invalid] = (this.#stats.valuesRejected[invalid] ?? 0) + 1;
    }
    if (token) {
      const { id, host, port } = from;
      const copy = new Uint8Array(token);
      this.#nodes.push(
        found
          ? { id, host, port, token: copy, item: found }
          : invalid
            ? { id, host, port, token: copy, invalid }
            : { id, host, port, token: copy },
      );
    }
    if (isNew && found) this.#onValue?.(found);
  }

  /** Responders with a token, closest to the target first. */
  sortedNodes(): LookupNode[] {
    return [...this.#nodes].sort((a, b) => compareDistance(a.id, b.id, this.#target));
  }

  result(timedOut: boolean): GetAllResult {
    return {
      target: this.#target,
      values: [...this.#values].sort((a, b) => b.seq - a.seq),
      nodes: this.sortedNodes(),
      responded: this.responded,
      rejected: { ...this.rejected },
      timedOut,
    };
  }
}

function itemKey(item: MutableItem): string {
  // latin1: one char per byte, decoded natively (every reply holding a value needs its key; a signature
  // is always 64 bytes, so the fields cannot run into each other).
  return `${item.seq}:${latin1(item.signature)}${latin1(item.value)}`;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function sameItem(a: MutableItem, b: MutableItem): boolean {
  return a.seq === b.seq && equalBytes(a.signature, b.signature) && equalBytes(a.value, b.value);
}

/** Copies an item out of the datagram buffer it was decoded from. */
function copyItem(item: MutableItem): FoundValue {
  const copy = {
    publicKey: new Uint8Array(item.publicKey),
    seq: item.seq,
    value: new Uint8Array(item.value),
    signature: new Uint8Array(item.signature),
    from: [] as NodeRef[],
  };
  return item.salt ? { ...copy, salt: new Uint8Array(item.salt) } : copy;
}
