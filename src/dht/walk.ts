/**
 * The walk driver: runs one pure {@link Lookup} (`lookup.ts`, the BEP 5 iterative lookup) over the
 * socket. It sends the queries the lookup asks for (through the pacer, {@link pacedQuery}), reports
 * each outcome back, sets a silent node aside after a stall delay that follows the measured round trips
 * (`rtt.ts`; at most `queryStallMs`), counts every query, stall, timeout and error in `Dht.stats`, and
 * takes nodes that timed out or answered with another id out of the routing table, as k-rpc's own walk
 * does (why we do not use that walk: `krpc.ts`, defects 3 and 4).
 */
import { TARGET_BYTES } from './bep44.js';
import type { DhtConfig, HostPort } from './config.js';
import { type KrpcNode, toBuffer } from './krpc.js';
import type { KrpcError, KrpcQuery, QueryCallback, QueryTarget } from './krpc-types.js';
import { type Contact, Lookup } from './lookup.js';
import type { Tracked } from './op.js';
import type { QueryPacer } from './pacer.js';
import type { RttEstimator } from './rtt.js';
import type { DhtStats, NodeRef } from './types.js';

/** The envelope of a `get` / `find_node` reply (BEP 5, BEP 44); item fields are read by `readReplyItem`. */
export interface ReplyEnvelope {
  /** The responder's node id (20 bytes). */
  readonly id: Uint8Array;
  readonly token?: Uint8Array;
  readonly nodes?: Uint8Array;
}

/**
 * `r` as a {@link ReplyEnvelope}, or undefined when `id` is not 20 bytes or `token` / `nodes` is present
 * and not a byte string. Checked by hand: it runs for every reply of every walk (a schema parse was a
 * visible share of `npm run bench:dht`'s CPU).
 */
export function readEnvelope(r: Record<string, unknown>): ReplyEnvelope | undefined {
  const { id, token, nodes } = r;
  if (!(id instanceof Uint8Array) || id.length !== TARGET_BYTES) return undefined;
  if (token !== undefined && !(token instanceof Uint8Array)) return undefined;
  if (nodes !== undefined && !(nodes instanceof Uint8Array)) return undefined;
  return { id, token, nodes };
}

/** A walk in progress. */
export type Walk = { stop(): void };

/** Takes every valid reply of a walk. */
export interface WalkSink {
  add(reply: Record<string, unknown>, envelope: ReplyEnvelope, from: NodeRef): void;
}

/** What a walk needs from its Dht. */
export interface WalkHost {
  readonly krpc: KrpcNode;
  readonly config: Pick<
    DhtConfig,
    | 'k'
    | 'concurrency'
    | 'walkContactsPerReply'
    | 'walkMaxCandidates'
    | 'maxNodesPerPrefix'
    | 'walkDistrustAfter'
  >;
  /** The resolved bootstrap addresses. */
  readonly bootstrap: readonly HostPort[];
  readonly stats: DhtStats;
  /** Stall delays of walks; undefined when stalls are off (`queryStallMs` ≥ `queryTimeoutMs`). */
  readonly rtt: RttEstimator | undefined;
  /** True once the Dht is closing (its `destroy()` cancels every query in flight). */
  readonly closing: boolean;
  /** Sends one query through the pacer ({@link pacedQuery}). */
  query(to: QueryTarget, message: KrpcQuery, cb: QueryCallback): void;
}

/**
 * Runs one iterative walk (see `lookup.ts`) toward `target` with `get` or `find_node` queries, calling
 * `sink.add` for every valid reply and `onDone` once when it converges. Stops when `op` settles or
 * `stop()` is called; later replies are ignored, except that failures are still counted and a node
 * that timed out still leaves the routing table. With `only`, a single round instead: those nodes
 * (the `k` closest of them) are asked at once and the nodes their replies name are not.
 */
export function startWalk(
  host: WalkHost,
  op: Tracked,
  target: Uint8Array,
  query: 'get' | 'find_node',
  sink: WalkSink,
  onDone: () => void,
  only?: readonly NodeRef[],
): Walk {
  const { krpc, config, stats, rtt } = host;
  const { k, concurrency } = config;
  const lookup = new Lookup(target, krpc.id, {
    k,
    alpha: only === undefined ? concurrency : k,
    maxPerReply: config.walkContactsPerReply,
    maxCandidates: config.walkMaxCandidates,
    maxPerPrefix: config.maxNodesPerPrefix,
    distrustAfter: config.walkDistrustAfter,
  });
  if (only !== undefined) {
    lookup.add(only.map((n) => ({ id: n.id, host: n.host, port: n.port })));
  } else {
    const seeds = krpc.closest(target, k);
    lookup.add(seeds);
    // Like k-rpc: fall back on the bootstrap nodes while the routing table is smaller than their list.
    if (seeds.length < host.bootstrap.length) lookup.add(host.bootstrap);
  }
  const message = krpc.message(query, { target: toBuffer(target) });
  const stallTimers = new Set<() => void>();
  let ended = false;
  const end = (): void => {
    ended = true;
    for (const cancel of stallTimers) cancel();
    stallTimers.clear();
  };
  op.defer(end);
  stats.lookups++;

  const pump = (): void => {
    if (ended) return;
    for (let batch = lookup.next(); batch.length > 0 && !ended; batch = lookup.next()) {
      for (const contact of batch) send(contact);
    }
    if (!ended && lookup.finished) {
      end();
      onDone();
    }
  };
  const stall = (contact: Contact): void => {
    stats.queriesStalled++;
    lookup.onStall(contact);
    pump();
  };
  const send = (contact: Contact): void => {
    stats.queriesSent++;
    const sentAt = performance.now();
    // Bootstrap addresses (no id yet) are the last resort: wait for them until they answer or fail.
    // The stall runs from setImmediate, after the I/O phase: a reply that arrived while the event
    // loop was busy is read first, so CPU load alone does not set a live node aside.
    const cancelStall = contact.id && rtt ? schedule(stallTimers, rtt.delayMs, () => stall(contact)) : noop;
    host.query(toQueryTarget(contact), message, (error, reply) => {
      cancelStall();
      if (host.closing) return; // destroy() cancels every query: not the nodes' fault
      const r = reply?.r;
      const envelope = r && !error ? readEnvelope(r) : undefined;
      if (!r || !envelope) {
        countFailure(host, contact, error ?? undefined);
        if (!ended) lookup.onFailure(contact);
      } else if (!ended) {
        rtt?.sample(performance.now() - sentAt);
        const { id, nodes } = envelope;
        lookup.onResponse(contact, id, nodes && only === undefined ? nodes : []);
        sink.add(r, envelope, { id: new Uint8Array(id), host: contact.host, port: contact.port });
      }
      pump();
    });
  };
  pump();
  return { stop: end };
}

/**
 * `KrpcNode.query` through the pacer (`pacer.ts`): a query over its node's pace waits its turn; one
 * its node's full queue refuses fails, a microtask later, with code `EPACED` (a walk moves on).
 */
export function pacedQuery(
  krpc: KrpcNode,
  pacer: QueryPacer,
  stats: DhtStats,
  to: QueryTarget,
  message: KrpcQuery,
  cb: QueryCallback,
): void {
  if (pacer.run(to, () => krpc.query(to, message, cb))) return;
  stats.queriesPaced++;
  const error = Object.assign(new Error(`Over the query pace of ${to.host}:${to.port}`), {
    code: 'EPACED',
  }) as KrpcError;
  queueMicrotask(() => cb(error, null, undefined));
}

/**
 * Runs `fn` from setImmediate after `ms` (see the stall comment in {@link startWalk}), unless cancelled.
 * The canceller is kept in `pending` until it runs or is cancelled.
 */
function schedule(pending: Set<() => void>, ms: number, fn: () => void): () => void {
  let immediate: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => {
    immediate = setImmediate(() => {
      pending.delete(cancel);
      fn();
    });
  }, ms);
  const cancel = (): void => {
    clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    pending.delete(cancel);
  };
  pending.add(cancel);
  return cancel;
}

function countFailure(host: WalkHost, contact: Contact, error: KrpcError | undefined): void {
  const code = error?.code;
  if (code === 'ETIMEDOUT') host.stats.queriesTimedOut++;
  else host.stats.queryErrors++;
  // Like k-rpc's walk: a node that timed out or answered with another id leaves the routing table.
  if ((code === 'ETIMEDOUT' || code === 'EUNEXPECTEDNODE') && contact.id) host.krpc.removeNode(contact.id);
}

function noop(): void {}

function toQueryTarget(contact: Contact): QueryTarget {
  return contact.id
    ? { host: contact.host, port: contact.port, id: toBuffer(contact.id) }
    : { host: contact.host, port: contact.port };
}
