/**
 * The types of the DHT layer's public surface: the options and outcomes of `Dht.getAll`, `Dht.put` and
 * `Dht.refresh`, and `Dht.stats` (re-exported by `index.ts`).
 */

import type { MutableItem, RejectReason } from './bep44.js';
import type { ExternalAddress, VoteReject } from './external.js';
import type { LivenessStats } from './liveness.js';
import type { ServerStats } from './serve.js';

/** A DHT node: its id and UDP address. */
export interface NodeRef {
  readonly id: Uint8Array;
  readonly host: string;
  readonly port: number;
}

/** A distinct, signature-valid item found by a lookup, and every node that returned it. */
export interface FoundValue extends MutableItem {
  /** The nodes that returned this item; grows until the lookup settles. */
  readonly from: NodeRef[];
}

/** A node that answered a lookup with a write token (so it can be asked to store). */
export interface LookupNode extends NodeRef {
  /** The write token it handed out (BEP 5 / BEP 44); valid for a few minutes. */
  readonly token: Uint8Array;
  /** The verified item it holds for the slot, if any. */
  readonly item?: MutableItem;
  /** Why the item it returned was rejected, if it returned a bad one. */
  readonly invalid?: RejectReason;
}

/** Outcome of `Dht.getAll`. */
export interface GetAllResult {
  /** SHA-1(publicKey || salt). */
  readonly target: Uint8Array;
  /** Every distinct valid item (by seq, value and signature), highest seq first. */
  readonly values: FoundValue[];
  /** Every node that answered with a token, closest to the target first. */
  readonly nodes: LookupNode[];
  /** Nodes that answered at all. */
  readonly responded: number;
  /** Replies whose item was rejected, by reason (reasons never seen are absent). */
  readonly rejected: Partial<Record<RejectReason, number>>;
  /** True when the overall timeout ended the lookup before it converged. */
  readonly timedOut: boolean;
}

/** The slot an item lives in: an ed25519 public key and an optional salt (empty salt = no salt). */
export interface Slot {
  readonly publicKey: Uint8Array;
  readonly salt?: Uint8Array;
}

/** A slot we can write: its public key with the 32-byte ed25519 seed (`secretKey`). */
export interface SigningSlot extends Slot {
  readonly secretKey: Uint8Array;
}

/** Options of `Dht.getAll`. */
export interface GetAllOptions {
  readonly signal?: AbortSignal;
  /** Overall budget (default `getTimeoutMs`); on expiry the lookup resolves with what it has. */
  readonly timeoutMs?: number;
  /** Called once per new distinct valid item, as soon as it arrives. If it throws, `getAll` rejects. */
  readonly onValue?: (value: FoundValue) => void;
  /**
   * Ask only these nodes, all at once, and do not walk on to the nodes their replies name: one round
   * trip instead of a walk. For a second look at a slot whose closest nodes a recent `getAll` found
   * (its `nodes`): what they hold may have changed within seconds, who they are has not. Nodes beyond
   * the `k` closest given are not asked.
   */
  readonly nodes?: readonly NodeRef[];
}

/** Options of `Dht.put`. */
export interface PutOptions {
  /** BEP 44 sequence number: a safe integer ≥ 0, greater than what the nodes hold. */
  readonly seq: number;
  readonly signal?: AbortSignal;
  /** Budget of one attempt's lookup (default `putTimeoutMs`); puts then wait for their own replies. */
  readonly timeoutMs?: number;
  /** Extra attempts after a failed one (default `putRetries`). */
  readonly retries?: number;
  /** Base delay before a retry (default `putRetryDelayMs`). */
  readonly retryDelayMs?: number;
  /** Maximum random delay added to a retry (default `putRetryJitterMs`). */
  readonly retryJitterMs?: number;
  /** Nodes that must store the item for an attempt to succeed (default 1). */
  readonly minAccepted?: number;
  /**
   * Picks the nodes to store on from the lookup's responders (closest first). Default: the `k`
   * closest.
   */
  readonly select?: (nodes: LookupNode[]) => LookupNode[];
  /**
   * The responders (with their tokens) of a recent `getAll` of the same slot: the first attempt stores
   * on them without a walk of its own. Tokens stay valid for 5–10 minutes (bittorrent-dht rotates its
   * secret every 5, libtorrent accepts the last two), so a read a few seconds old saves one walk. If
   * that attempt falls short for any reason but a conflict, a normal attempt (walk, then put) follows
   * at once, with no wait; it counts toward `retries` (`put-retry.ts`).
   */
  readonly responders?: readonly LookupNode[];
}

/**
 * A node that refused a put: `code` is the KRPC error code (e.g. 302) or a string such as
 * 'EUNEXPECTEDNODE', or 'ENOTSTORED' for a node that answered success but whose read-back showed
 * another item or none (see `put.ts`).
 */
export interface PutRejection {
  readonly node: NodeRef;
  readonly code: number | string;
  readonly message: string;
  /**
   * True when the node holds another item that keeps ours out, so the same seq cannot win there: 301
   * (its item changed since we read it), 302 (it holds an equal or higher seq), and `ENOTSTORED` when
   * the read-back showed an item.
   */
  readonly conflict: boolean;
}

/** Per-node outcomes of one put attempt. */
export interface PutAttempt {
  /**
   * Nodes that stored the item: they answered success, and where that answer could not be trusted, a
   * read-back showed our exact item (`put.ts`).
   */
  readonly accepted: NodeRef[];
  /**
   * Nodes that answered 302 while holding exactly this item (same seq, value and signature, as their
   * `get` reply showed): bittorrent-dht answers 302 to an identical re-put. They count toward
   * `minAccepted`.
   */
  readonly alreadyStored: NodeRef[];
  readonly rejected: PutRejection[];
  /** Nodes whose put query timed out, or whose read-back did not answer within the attempt's budget. */
  readonly timedOut: NodeRef[];
  /** Nodes that answered the lookup. */
  readonly responded: number;
  /** True when the attempt's budget ended its lookup early. */
  readonly lookupTimedOut: boolean;
  /** Nodes the put queries went to (after `select`). */
  readonly selected: number;
}

/** Outcome of `Dht.put`: the per-node outcomes of the last attempt, and every attempt's. */
export interface PutResult extends PutAttempt {
  /** True when the last attempt reached `minAccepted` (accepted + alreadyStored). */
  readonly ok: boolean;
  readonly target: Uint8Array;
  readonly seq: number;
  /** Attempts made (1 + retries used, + 1 when borrowed `responders` fell short). */
  readonly attempts: number;
  readonly history: PutAttempt[];
}

/** Outcome of `Dht.refresh`. */
export interface RefreshResult {
  /** Nodes that answered the walk. */
  readonly responded: number;
  /** True when `getTimeoutMs` ended the walk before it converged. */
  readonly timedOut: boolean;
}

/** Cheap counters, updated in place. */
export interface DhtStats {
  /** Walks started (getAll, put attempts, refresh); a `getAll` of given `nodes` counts as one. */
  lookups: number;
  /** Walks ended by their budget before converging. */
  lookupsTimedOut: number;
  /** `get` / `find_node` queries sent by our walks. */
  queriesSent: number;
  /** Walk queries a walk stopped waiting for after its stall delay (most later time out). */
  queriesStalled: number;
  /** Queries not sent because their node's pace queue was full (`pacer.ts`; failed with `EPACED`). */
  queriesPaced: number;
  /** Walk and put queries that hit the per-query timeout (also after their walk ended). */
  queriesTimedOut: number;
  /** Walk queries answered with an error, a malformed reply or an unexpected node id. */
  queryErrors: number;
  /** Replies whose item was rejected, by reason (reasons never seen are absent). */
  valuesRejected: Partial<Record<RejectReason, number>>;
  /** `put` queries sent. */
  putsSent: number;
  /** `put` queries a node accepted (after the read-back, when one was needed). */
  putsAccepted: number;
  /**
   * `put` queries refused, by code (e.g. `"302"`, `"EUNEXPECTEDNODE"`; `"ENOTSTORED"`: answered success
   * but the read-back did not show our item).
   */
  putsRejected: Record<string, number>;
  /** Read-back `get` queries sent after a "stored" answer that could not be trusted. */
  putsReadBack: number;
  /** Socket errors reported by bittorrent-dht after start-up. */
  socketErrors: number;
  /** Warnings reported by bittorrent-dht (undecodable datagrams, stray replies, …). */
  warnings: number;
  /** The serving side: rate limit, stored items, refused puts by reason (see `serve.ts`). */
  server: ServerStats;
  /** Bucket refreshes and re-bootstraps (see `liveness.ts`). */
  liveness: LivenessStats;
  /** BEP 42 votes on our external address and BEP 43 read-only (see `external.ts`). */
  external: ExternalStats;
}

/** Counters of `external.ts`'s inputs. */
export interface ExternalStats {
  /** Replies whose `ip` was counted as a vote. */
  votes: number;
  /** Replies whose `ip` was not counted, by reason (a reply without `ip` is neither). */
  votesRejected: Partial<Record<VoteReject, number>>;
  /** Times `externalAddress` changed (its first value included). */
  changes: number;
  /** Queries from an IP we never sent to: proof that we are reachable. */
  unsolicitedQueries: number;
  /** Times `readOnly: 'auto'` switched read-only on or off. */
  readOnlySwitches: number;
}

/** What {@link Dht} emits. */
export interface DhtEvents {
  /** `externalAddress` changed (BEP 42); the new value. */
  'external-address': [ExternalAddress];
  /** `reachable` became true: a node we never queried queried us. */
  reachable: [];
}
