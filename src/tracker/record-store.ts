/**
 * The record store: reads and writes a topic's sealed per-minute records in the mainline DHT.
 *
 * ## Slot scheme (PROTOCOL.md §6)
 * Each minute has `SLOTS_PER_MINUTE` (4) BEP 44 mutable slots that share one signing key and differ by
 * salt, all derived from the topic, the minute and the secret. Storing nodes keep the *first* value they
 * see for a given sequence number (bittorrent-dht answers 302; libtorrent answers success but keeps the
 * old value, which `Dht.put` finds out with a read-back and reports as `ENOTSTORED`). If every publisher
 * wrote every node of one slot, as the Rust reference does, the first writer would own nearly all nodes
 * and a reader would recover one or two records.
 *
 * So a record is written to only `replicas` (5) of a slot's `closestWindow` (16) closest nodes, and
 * only to nodes that are *free*: holding nothing, our own older record, or junk with a lower sequence
 * number; never another member's valid record. Among the free nodes a publisher takes the ones that rank
 * first by `SHA-256(publisher id ‖ node id)` (rendezvous hashing), so publishers racing on the same slot
 * mostly pick different nodes without coordinating. A publisher picks the slot whose closest nodes hold
 * the fewest values (ties to the lowest index), so records spread over the four slots and a minute's
 * first record is always in slot 0.
 *
 * A reader runs one lookup per slot it reads (all four in parallel, or a subset: a bootstrap reads slot
 * 0 first; a second look within seconds asks the first lookup's nodes again instead of walking) and
 * keeps every distinct value from every node that answers; each value is opened and verified (crypto
 * `openRecord`), rejects are counted by reason, and the newest record per publisher (highest BEP 44
 * seq) wins.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes } from '@noble/hashes/utils.js';
import type { Address, CryptoSuite, PeerInfo, RecordRejectReason, SignedRecord } from '../crypto/index.js';
import {
  deriveMinuteKeys,
  hashSecret,
  type KeyPair,
  type MinuteKeys,
  openRecord,
  SEAL_NONCE_BYTES,
  type SecretRotation,
  sealRecord,
  signRecord,
  type TopicId,
  unixMinute,
} from '../crypto/index.js';
import { Lru } from '../crypto/lru.js';
import type { Dht, FoundValue, GetAllResult, LookupNode } from '../dht/index.js';
import { compareDistance, targetOf } from '../dht/index.js';
import { throwIfAborted } from '../errors.js';
import {
  checkRecordStoreOptions,
  parseRecordStoreConfig,
  type RecordStoreConfig,
  type RecordStoreConfigInput,
} from './config.js';

/** What a publisher says about itself in a record; the store fills in topic, minute and publisher. */
export interface RecordContent {
  addresses: Address[];
  peers: PeerInfo[];
  messageIds: Uint8Array[];
}

/** A verified record together with where it was found. */
export interface StoredRecord extends SignedRecord {
  /** Slot index (0..3) it was read from. */
  slot: number;
  /** Its BEP 44 sequence number. */
  seq: number;
}

/** Why a value read from a slot was skipped: a record reason, or a BEP 44 level reason from the DHT. */
export type ReadRejectReason = RecordRejectReason | `dht-${string}`;

/** What one slot looked like during a read. */
export interface SlotView {
  index: number;
  /** Nodes that answered the lookup with a token. */
  responders: number;
  /** Of the `closestWindow` closest responders, how many hold a value. */
  occupied: number;
  /** Distinct valid records found in the slot (ours included). */
  records: number;
  /** Distinct values that failed to open. */
  invalid: number;
  timedOut: boolean;
  /** The responders with their tokens, closest first (a publish right after the read stores on them). */
  nodes: LookupNode[];
}

export interface ReadResult {
  minute: number;
  /** When the read finished, on the store's clock (unix ms). */
  readAtMs: number;
  /** Records of others, one per publisher (the newest). */
  records: StoredRecord[];
  /** Our own newest record of that minute, if any node still holds it. */
  own: StoredRecord | undefined;
  /** Skipped values by reason (each distinct value counted once). */
  rejected: Partial<Record<ReadRejectReason, number>>;
  /** DHT lookups this read made (one per slot). */
  lookups: number;
  /** The slots read, in the order asked. */
  slots: SlotView[];
  /** Whether every slot of the minute was read (`records` then holds the whole minute). */
  complete: boolean;
}

export type PublishResult =
  | { status: 'published'; minute: number; slot: number; seq: number; accepted: number; attempts: number }
  | { status: 'skipped'; reason: 'minute-full' | 'others-found'; minute: number; others: number }
  | { status: 'failed'; reason: 'no-free-node' | 'not-accepted'; minute: number; attempts: number };

/** Options of {@link RecordStore}; unknown keys are errors (`RecordStoreOptionsSchema`, config.ts). */
export interface RecordStoreOptions {
  dht: Dht;
  topic: TopicId;
  /** The publisher identity: records are signed with it. */
  keyPair: KeyPair;
  /** Optional topic secret; strongly recommended (README, Security model). */
  secret?: string | Uint8Array;
  /** Secret rotation hook; default `defaultSecretRotation`. */
  rotation?: SecretRotation;
  config?: RecordStoreConfigInput;
  /** Clock in unix milliseconds (injectable so tests can stand at a minute boundary). */
  now?: () => number;
  /** Source of random bytes for nonces. */
  randomBytes?: (length: number) => Uint8Array;
}

/** Cheap counters, readable at any time. */
export interface RecordStoreStats {
  reads: number;
  lookups: number;
  recordsRead: number;
  rejected: Partial<Record<ReadRejectReason, number>>;
  published: number;
  publishSkipped: number;
  publishFailed: number;
}

const KEY_CACHE_MINUTES = 4;
/**
 * A read at most this old lends its responders (and their tokens) to a publish, which then stores
 * without a walk of its own (guess: tokens last 5–10 minutes; what the nodes hold can change within
 * seconds while peers start together, and a conflict costs only a walk).
 */
const RESPONDERS_REUSE_MS = 10_000;

export class RecordStore {
  readonly config: RecordStoreConfig;
  readonly stats: RecordStoreStats = {
    reads: 0,
    lookups: 0,
    recordsRead: 0,
    rejected: {},
    published: 0,
    publishSkipped: 0,
    publishFailed: 0,
  };

  readonly #dht: Dht;
  readonly #topic: TopicId;
  readonly #keyPair: KeyPair;
  readonly #publisherHex: string;
  readonly #secretHash: Uint8Array | undefined;
  readonly #rotation: SecretRotation | undefined;
  readonly #now: () => number;
  readonly #randomBytes: (length: number) => Uint8Array;
  readonly #keys = new Map<number, MinuteKeys>();
  /** Openers of the minutes in `#keys`. */
  readonly #openers = new Map<number, Opener>();
  /** Highest seq we wrote per minute, so a refresh overwrites our own copies. */
  readonly #ownSeq = new Map<number, number>();

  /**
   * @throws GttError `INVALID_CONFIG` for bad options or an unknown key; TypeError/RangeError for a
   *   bad key pair or secret.
   */
  constructor(options: RecordStoreOptions) {
    this.config = checkRecordStoreOptions(options).config ?? parseRecordStoreConfig(undefined);
    this.#dht = options.dht;
    this.#topic = options.topic;
    this.#keyPair = options.keyPair;
    this.#publisherHex = bytesToHex(options.keyPair.publicKey);
    this.#secretHash = options.secret === undefined ? undefined : hashSecret(options.secret);
    this.#rotation = options.rotation;
    this.#now = options.now ?? Date.now;
    this.#randomBytes = options.randomBytes ?? ((n) => crypto.getRandomValues(new Uint8Array(n)));
  }

  /** The unix minute of the injected clock. */
  currentMinute(): number {
    return unixMinute(this.#now());
  }

  /**
   * The minute's record opener, which remembers every value it opened: reads of the same minute (the
   * bootstrap's, the publisher's, a put's own walk) verify each record's signature once.
   */
  #opener(minute: number): Opener {
    let opener = this.#openers.get(minute);
    if (opener === undefined) {
      opener = new Opener(this.keys(minute), this.#dht.crypto);
      this.#openers.set(minute, opener);
      for (const m of this.#openers.keys()) if (!this.#keys.has(m)) this.#openers.delete(m);
    }
    return opener;
  }

  /** The derived keys of a minute (cached for the last few minutes). */
  keys(minute: number): MinuteKeys {
    let keys = this.#keys.get(minute);
    if (keys === undefined) {
      keys = deriveMinuteKeys(this.#topic, minute, {
        secretHash: this.#secretHash,
        rotation: this.#rotation,
        suite: this.#dht.crypto,
      });
      this.#keys.set(minute, keys);
      if (this.#keys.size > KEY_CACHE_MINUTES) {
        const oldest = Math.min(...this.#keys.keys());
        this.#keys.delete(oldest);
      }
    }
    return keys;
  }

  /**
   * Reads the slots of `minute` (default all; one DHT lookup per slot, in parallel) and returns the
   * verified records of others, one per publisher. `onRecord` fires as soon as a new publisher's
   * record opens, before the lookups finish. Values that fail are counted by reason, never thrown.
   * Publishers fill slot 0 first (see `publish`), so a read of slot 0 alone tells an empty minute
   * from a live one.
   * @throws GttError `ABORTED` or `CLOSED`; RangeError for a slot index out of range.
   */
  async read(
    minute: number,
    opts: {
      signal?: AbortSignal;
      timeoutMs?: number;
      onRecord?: (record: StoredRecord) => void;
      slots?: readonly number[];
      /**
       * An earlier read of the same minute: a slot it covered is read by asking its responders again,
       * all at once (one round trip, no walk; `Dht.getAll` `nodes`). For a second look within seconds,
       * while peers that started with us are landing their records on the nodes the first read found.
       */
      from?: ReadResult;
    } = {},
  ): Promise<ReadResult> {
    throwIfAborted(opts.signal);
    const keys = this.keys(minute);
    const which = opts.slots ?? keys.salts.map((_, i) => i);
    for (const i of which) {
      if (!Number.isInteger(i) || i < 0 || i >= keys.salts.length) {
        throw new RangeError(`"slots" expected indices in 0..${keys.salts.length - 1}, got ${i}`);
      }
    }
    const from = opts.from?.minute === minute ? opts.from : undefined;
    const opener = this.#opener(minute);
    const seen = new Set<string>();
    const lookups = which.map((slot) =>
      this.#dht.getAll(
        { publicKey: keys.slotPublicKey, salt: keys.salts[slot]! },
        {
          signal: opts.signal,
          timeoutMs: opts.timeoutMs,
          nodes: slotNodes(from, slot),
          onValue: opts.onRecord
            ? (value) => {
                const opened = opener.open(value, slot);
                if (!opened.ok || opened.record.publisherHex === this.#publisherHex) return;
                if (seen.has(opened.record.publisherHex)) return;
                seen.add(opened.record.publisherHex);
                opts.onRecord?.(opened.record.stored);
              }
            : undefined,
        },
      ),
    );
    this.stats.reads += 1;
    this.stats.lookups += lookups.length;
    const results = await Promise.all(lookups);

    const newest = new Map<string, StoredRecord>();
    const rejected: Partial<Record<ReadRejectReason, number>> = {};
    const slots: SlotView[] = [];
    results.forEach((result, i) => {
      const slot = which[i]!;
      let records = 0;
      let invalid = 0;
      for (const value of result.values) {
        const opened = opener.open(value, slot);
        if (!opened.ok) {
          invalid += 1;
          bump(rejected, opened.reason);
          continue;
        }
        records += 1;
        const prev = newest.get(opened.record.publisherHex);
        if (prev === undefined || opened.record.stored.seq > prev.seq) {
          newest.set(opened.record.publisherHex, opened.record.stored);
        }
      }
      for (const [reason, count] of Object.entries(result.rejected)) {
        bump(rejected, `dht-${reason}` as const, count ?? 0);
      }
      const window = closest(
        result.nodes,
        targetOf(keys.slotPublicKey, keys.salts[slot]),
        this.config.closestWindow,
      );
      slots.push({
        index: slot,
        responders: result.nodes.length,
        occupied: window.filter((n) => n.item !== undefined).length,
        records,
        invalid,
        timedOut: result.timedOut,
        nodes: result.nodes,
      });
    });

    const own = newest.get(this.#publisherHex);
    newest.delete(this.#publisherHex);
    const records = [...newest.values()];
    this.stats.recordsRead += records.length;
    for (const [reason, count] of Object.entries(rejected)) {
      bump(this.stats.rejected, reason as ReadRejectReason, count ?? 0);
    }
    const complete = keys.salts.every((_, i) => which.includes(i));
    return {
      minute,
      readAtMs: this.#now(),
      records,
      own,
      rejected,
      lookups: results.length,
      slots,
      complete,
    };
  }

  /**
   * Signs, seals and stores our record for `minute` (default: the clock's current minute).
   * Skips when the minute already shows `maxRecordsPerMinute` records of others and none of ours (a
   * refresh of our own record is always allowed). Pass `read` when the
   * caller has just read the minute, to save the four lookups; a read at most `RESPONDERS_REUSE_MS` old
   * also lends its responders, and the put stores on them without walking again.
   * Failures to store are returned (`status: 'failed'`), not thrown.
   * `onRecord` sees the records of others that the put's own walk came across (each publisher once):
   * a put walks to the slot's closest nodes with `get` queries, so it reads the slot as a side effect,
   * and a publisher racing others (peers started together) learns of them without another read.
   * @throws GttError `ABORTED` or `CLOSED`; TypeError/RangeError when `content` is not a valid record.
   */
  async publish(
    content: RecordContent,
    opts: {
      minute?: number;
      signal?: AbortSignal;
      read?: ReadResult;
      onRecord?: (record: StoredRecord) => void;
      /**
       * Store nothing once the put's walk came across a record of another publisher, or a node
       * refused ours for holding another item (a conflict: 301, 302, or a libtorrent node whose
       * read-back showed another item; returns `skipped`, `others-found`): for a record meant only to
       * let peers that start together find each other, which is moot once one of them is found.
       */
      skipIfOthersFound?: boolean;
    } = {},
  ): Promise<PublishResult> {
    throwIfAborted(opts.signal);
    const minute = opts.minute ?? this.currentMinute();
    const keys = this.keys(minute);
    // Sign before any network work so that bad content fails fast and synchronously-ish.
    const record = signRecord(
      {
        topic: this.#topic.hash,
        minute,
        publisher: this.#keyPair.publicKey,
        addresses: content.addresses,
        peers: content.peers,
        messageIds: content.messageIds,
      },
      this.#keyPair.secretKey,
      this.#dht.crypto,
    );
    const sealed = sealRecord(record, keys, this.#randomBytes(SEAL_NONCE_BYTES));

    const view = opts.read?.minute === minute ? opts.read : await this.read(minute, { signal: opts.signal });
    // A refresh of our own record (one is already there) overwrites our copies and takes no new room.
    if (view.own === undefined && view.records.length >= this.config.maxRecordsPerMinute) {
      this.stats.publishSkipped += 1;
      return { status: 'skipped', reason: 'minute-full', minute, others: view.records.length };
    }

    const seq = Math.max(this.#ownSeq.get(minute) ?? 0, view.own?.seq ?? 0) + 1;
    let attempts = 0;
    let lastReason: 'no-free-node' | 'not-accepted' = 'no-free-node';
    const known = new Set<string>([this.#publisherHex, ...view.records.map((r) => bytesToHex(r.publisher))]);
    let othersFound = 0;
    const report = (nodes: LookupNode[], opener: Opener, slot: number) => {
      if (opts.onRecord === undefined && !opts.skipIfOthersFound) return;
      for (const node of nodes) {
        if (node.item === undefined) continue;
        const opened = opener.open(node.item, slot);
        if (!opened.ok || known.has(opened.record.publisherHex)) continue;
        known.add(opened.record.publisherHex);
        othersFound += 1;
        opts.onRecord?.(opened.record.stored);
      }
    };
    const skip = () => {
      this.stats.publishSkipped += 1;
      return { status: 'skipped', reason: 'others-found', minute, others: othersFound } as const;
    };
    // A read this fresh found the slots' closest nodes already: store on them without walking again.
    const fresh = this.#now() - view.readAtMs <= RESPONDERS_REUSE_MS;
    for (const slot of this.#slotOrder(view)) {
      const salt = keys.salts[slot]!;
      const target = targetOf(keys.slotPublicKey, salt);
      const opener = this.#opener(minute);
      const responders = fresh ? slotNodes(view, slot) : undefined;
      const result = await this.#dht.put(
        { publicKey: keys.slotPublicKey, secretKey: keys.slotSeed, salt },
        sealed,
        {
          seq,
          signal: opts.signal,
          responders,
          select: (nodes) => {
            report(nodes, opener, slot);
            if (opts.skipIfOthersFound && othersFound > 0) return [];
            return this.#selectNodes(nodes, target, seq, opener, slot);
          },
        },
      );
      attempts += result.attempts;
      if (opts.skipIfOthersFound && othersFound > 0 && result.selected === 0) return skip();
      // A conflict (301, 302, or an item seen on a read-back) means a faster publisher took the node:
      // someone else's record is there.
      if (opts.skipIfOthersFound && !result.ok && result.rejected.some((r) => r.conflict)) return skip();
      if (result.ok) {
        this.#ownSeq.set(minute, seq);
        this.#forgetOldSeqs(minute);
        this.stats.published += 1;
        return { status: 'published', minute, slot, seq, accepted: result.accepted.length, attempts };
      }
      // A slot with no free node is full for us, and one whose chosen nodes all went to a faster
      // publisher (a conflict: 301, 302, ENOTSTORED with an item; `Dht.put` does not retry those) is
      // worth no retry at this seq: either way, try the next slot.
      lastReason = result.selected === 0 ? 'no-free-node' : 'not-accepted';
    }
    this.stats.publishFailed += 1;
    return { status: 'failed', reason: lastReason, minute, attempts };
  }

  /**
   * Slots ordered by how full their closest nodes are (fewest occupied first; junk counts too, since a
   * node holding junk at a high seq is as unusable as one holding a record), ties by index, slots the
   * read did not cover after those (by index), and last the read slots too crowded to hold our
   * `replicas` copies. A refresh goes back to our own slot. Ties go to the lowest
   * index so that a minute's first record is always in slot 0: a reader that finds slot 0 clean knows
   * the minute is empty after one lookup instead of four.
   */
  #slotOrder(view: ReadResult): number[] {
    const ownSlot = view.own?.slot;
    const read = new Map(view.slots.map((s) => [s.index, s]));
    const { closestWindow, replicas } = this.config;
    // A read slot with room for our `replicas` first, then the slots not read, then crowded ones: a
    // slot whose closest nodes hold other members' records and leave fewer than `replicas` free would
    // take our record on those few only (a bootstrap reads slot 0 alone, publishers that started
    // together crowd it, a small DHT has few nodes per slot), where a reader's lookup may well miss
    // it. Records of others are counted `replicas` nodes each (at most the nodes holding a value);
    // junk at a lower seq is free for us, and does not crowd.
    const rank = (i: number): number => {
      const s = read.get(i);
      if (s === undefined) return 1;
      const others = s.records - (i === ownSlot ? 1 : 0);
      const taken = Math.min(s.occupied, Math.max(0, others) * replicas);
      return taken > 0 && Math.min(s.responders, closestWindow) - taken < replicas ? 2 : 0;
    };
    const slots = this.keys(view.minute).salts.map((_, i) => i);
    slots.sort((a, b) => {
      if (a === ownSlot) return -1;
      if (b === ownSlot) return 1;
      return rank(a) - rank(b) || (read.get(a)?.occupied ?? 0) - (read.get(b)?.occupied ?? 0) || a - b;
    });
    return slots;
  }

  /**
   * The nodes our record goes to: among the `closestWindow` responders closest to the target, those
   * that are free for `seq` (empty, our own older copy, or junk with a lower seq), ranked by
   * SHA-256(publisher ‖ node id), first `replicas` of them.
   */
  #selectNodes(
    nodes: LookupNode[],
    target: Uint8Array,
    seq: number,
    opener: Opener,
    slot: number,
  ): LookupNode[] {
    const window = closest(nodes, target, this.config.closestWindow);
    const free = window.filter((node) => {
      if (node.invalid !== undefined) return false;
      const item = node.item;
      if (item === undefined) return true;
      if (item.seq >= seq) return false;
      const opened = opener.open(item, slot);
      // Never overwrite another member's valid record, whatever its seq.
      return !opened.ok || opened.record.publisherHex === this.#publisherHex;
    });
    return free
      .map((node) => ({ node, rank: bytesToHex(sha256(concatBytes(this.#keyPair.publicKey, node.id))) }))
      .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0))
      .slice(0, this.config.replicas)
      .map((x) => x.node);
  }

  #forgetOldSeqs(minute: number): void {
    for (const m of this.#ownSeq.keys()) if (m < minute - 2) this.#ownSeq.delete(m);
  }
}

type Opened =
  | { ok: true; record: { stored: StoredRecord; publisherHex: string } }
  | { ok: false; reason: RecordRejectReason };

/** Opened values an opener remembers (guess: a minute holds a few dozen distinct values). */
const OPENER_CACHE_MAX = 512;

/**
 * Opens each distinct DHT value once (ed25519 verification is the expensive part), with the Dht's
 * crypto suite (OpenSSL by default). Values are told apart by slot and BEP 44 signature: the Dht
 * checked that signature over (salt, seq, value), strictly (RFC 8032), so it names one value.
 */
class Opener {
  // Bounded: a hostile writer can fill a minute with ever new junk.
  readonly #cache = new Lru<string, Opened>(OPENER_CACHE_MAX);
  constructor(
    readonly keys: MinuteKeys,
    readonly suite: CryptoSuite,
  ) {}

  open(value: Pick<FoundValue, 'value' | 'seq' | 'signature'>, slot: number): Opened {
    const id = `${slot}:${bytesToHex(value.signature)}`;
    let opened = this.#cache.get(id);
    if (opened === undefined) {
      const result = openRecord(value.value, this.keys, this.suite);
      opened = result.ok
        ? {
            ok: true,
            record: {
              stored: { ...result.record, slot, seq: value.seq },
              publisherHex: bytesToHex(result.record.publisher),
            },
          }
        : { ok: false, reason: result.reason };
      this.#cache.set(id, opened);
    }
    return opened;
  }
}

/** The responders of `read`'s lookup of `slot`, when it had any: nodes to store on, or to ask again. */
function slotNodes(read: ReadResult | undefined, slot: number): LookupNode[] | undefined {
  const nodes = read?.slots.find((s) => s.index === slot)?.nodes;
  return nodes !== undefined && nodes.length > 0 ? nodes : undefined;
}

/** The `n` nodes closest to `target` by XOR distance (BEP 5). */
function closest(nodes: readonly LookupNode[], target: Uint8Array, n: number): LookupNode[] {
  return [...nodes].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, n);
}

function bump<K extends string>(counts: Partial<Record<K, number>>, key: K, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

export type { GetAllResult };
