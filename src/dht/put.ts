/**
 * The put path of `Dht.put`: attempts (a walk, or the borrowed responders, then `put` queries to the
 * selected nodes, with per-node outcomes: `krpc.ts`, defect 2), driven by the retry policy of
 * `put-retry.ts`.
 *
 * Racing writers (PROTOCOL.md §6.2, §6.3). A storing node keeps one item per target, and for an equal
 * seq bittorrent-dht keeps the first and answers 302, while libtorrent keeps the first and answers
 * success. Two measures keep `accepted` true:
 * - **BEP 44 `cas`.** A put to a node that held an item when our walk (or the borrowed `responders`)
 *   read it carries `cas` = that item's seq. A node whose item changed in the meantime answers 301 (both
 *   bittorrent-dht and libtorrent check `cas` before `seq`), a conflict like 302. A node that held
 *   nothing gets no `cas` (BEP 44 defines it against a stored seq).
 * - **Read-back.** Where a "stored" answer cannot be trusted (a libtorrent node that no `cas` protected,
 *   see {@link needsReadBack}), one `get` query to that node checks that it holds our exact item (seq,
 *   value, signature); one that does not is moved to `rejected` with code `ENOTSTORED`.
 * An attempt's puts go out at once (each walk caps its own queries in flight: `krpc.ts`, defect 4).
 */

import { type MutableItem, readReplyItem } from './bep44.js';
import { Collector, sameItem, type VerifiedItems } from './collector.js';
import type { DhtConfig } from './config.js';
import { toBuffer } from './krpc.js';
import type { KrpcReply, QueryTarget } from './krpc-types.js';
import { compareDistance } from './lookup.js';
import type { Operation } from './op.js';
import { PutRetry } from './put-retry.js';
import type { LookupNode, NodeRef, PutAttempt, PutOptions, PutRejection, PutResult } from './types.js';
import { startWalk, type WalkHost } from './walk.js';

/** KRPC codes meaning the node holds a newer or conflicting item: retrying the same seq cannot win. */
const CONFLICT_CODES: ReadonlySet<number | string> = new Set([301, 302]);
/** libtorrent's KRPC client version prefix (BEP 5 `v`: two letters naming the client, then its version). */
const LIBTORRENT_VERSION = [0x4c, 0x54]; // "LT"

/** What the put path needs from its Dht. */
export interface PutHost extends WalkHost {
  readonly config: WalkHost['config'] & Pick<DhtConfig, 'queryTimeoutMs' | 'random'>;
  /** The node's cache of verified items (`collector.ts`). */
  readonly verified: VerifiedItems;
  /** Starts an operation tracked for close(); rejects it at once when closed or `signal` is aborted. */
  begin<T>(signal: AbortSignal | undefined): Operation<T>;
}

/** A put's item and options, checked and with defaults filled in (`Dht.put`). */
export interface PutPlan {
  readonly item: MutableItem;
  readonly target: Uint8Array;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly retryJitterMs: number;
  readonly minAccepted: number;
  readonly select: PutOptions['select'];
  readonly responders: readonly LookupNode[] | undefined;
  readonly signal: AbortSignal | undefined;
}

/**
 * Runs a put: attempts and waits as {@link PutRetry} says, until it is done.
 * @throws {GttError} `ABORTED` / `CLOSED` (as a rejection), or whatever `select` throws.
 */
export async function runPut(host: PutHost, plan: PutPlan): Promise<PutResult> {
  const { item, target } = plan;
  const retry = new PutRetry({
    retries: plan.retries,
    retryDelayMs: plan.retryDelayMs,
    retryJitterMs: plan.retryJitterMs,
    minAccepted: plan.minAccepted,
    customSelect: plan.select !== undefined,
    borrowed: plan.responders !== undefined,
    random: host.config.random,
  });
  const history: PutAttempt[] = [];
  for (let state = retry.state; ; ) {
    switch (state.type) {
      case 'borrow':
      case 'walk': {
        const responders = state.type === 'borrow' ? plan.responders : undefined;
        const attempt = await putAttempt(
          host,
          item,
          target,
          plan.timeoutMs,
          plan.select,
          plan.signal,
          responders,
        );
        history.push(attempt);
        state = retry.handle({
          type: 'attempt-finished',
          outcome: {
            stored: attempt.accepted.length + attempt.alreadyStored.length,
            conflict: attempt.rejected.some((r) => r.conflict),
            selected: attempt.selected,
            responded: attempt.responded,
          },
        });
        break;
      }
      case 'wait':
        await sleep(host, state.delayMs, plan.signal);
        state = retry.handle({ type: 'wait-over' });
        break;
      case 'done': {
        const last = history[history.length - 1]!;
        return { ...last, ok: state.ok, target, seq: item.seq, attempts: history.length, history };
      }
    }
  }
}

/** Waits `ms`; rejects with ABORTED / CLOSED like any other operation. */
function sleep(host: PutHost, ms: number, signal: AbortSignal | undefined): Promise<void> {
  const op = host.begin<void>(signal);
  op.timer(ms, () => op.resolve());
  return op.promise;
}

/**
 * One attempt: a walk toward `target` (as in `Dht.getAll`, collecting write tokens and what each node
 * holds) or, with `responders`, no walk; then the `put` queries to the selected nodes ({@link sendPuts}).
 */
function putAttempt(
  host: PutHost,
  item: MutableItem,
  target: Uint8Array,
  timeoutMs: number,
  select: PutOptions['select'],
  signal: AbortSignal | undefined,
  responders?: readonly LookupNode[],
): Promise<PutAttempt> {
  const op = host.begin<PutAttempt>(signal);
  if (op.settled) return op.promise;
  // The attempt's budget bounds its walk and its read-backs (puts wait for their own replies).
  const deadline = performance.now() + timeoutMs;
  if (responders !== undefined) {
    let chosen: LookupNode[];
    try {
      const nodes = [...responders].sort((a, b) => compareDistance(a.id, b.id, target));
      chosen = select ? select(nodes) : nodes.slice(0, host.config.k);
    } catch (error) {
      op.reject(error);
      return op.promise;
    }
    sendPuts(host, op, chosen, item, target, {
      responded: responders.length,
      lookupTimedOut: false,
      deadline,
    });
    return op.promise;
  }
  const slot = item.salt ? { publicKey: item.publicKey, salt: item.salt } : { publicKey: item.publicKey };
  const collector = new Collector(slot, target, host.stats, host.verified.verify);
  let lookupTimedOut = false;
  let storing = false;
  const store = (): void => {
    if (storing || op.settled) return;
    storing = true;
    cancelTimer();
    let chosen: LookupNode[];
    try {
      const nodes = collector.sortedNodes();
      chosen = select ? select(nodes) : nodes.slice(0, host.config.k);
    } catch (error) {
      op.reject(error);
      return;
    }
    sendPuts(host, op, chosen, item, target, { responded: collector.responded, lookupTimedOut, deadline });
  };
  // The timer is armed first: a walk with no candidates converges (and stores) synchronously.
  const cancelTimer = op.timer(timeoutMs, () => {
    walk.stop();
    lookupTimedOut = true;
    host.stats.lookupsTimedOut++;
    store();
  });
  const walk = startWalk(host, op, target, 'get', collector, store);
  return op.promise;
}

/**
 * Sends the `put` queries (with `cas` where the node held an item), reads back the "stored" answers
 * that {@link needsReadBack} distrusts, and resolves `op` once every node is settled.
 */
function sendPuts(
  host: PutHost,
  op: Operation<PutAttempt>,
  nodes: readonly LookupNode[],
  item: MutableItem,
  target: Uint8Array,
  context: { responded: number; lookupTimedOut: boolean; deadline: number },
): void {
  const { krpc, stats } = host;
  const seen = new Set<string>();
  const targets = nodes.filter((n) => {
    const key = `${n.host}:${n.port}`;
    if (seen.has(key) || !(n.token instanceof Uint8Array) || !(n.id instanceof Uint8Array)) return false;
    seen.add(key);
    return true;
  });
  const attempt = {
    accepted: [] as NodeRef[],
    alreadyStored: [] as NodeRef[],
    rejected: [] as PutRejection[],
    timedOut: [] as NodeRef[],
    responded: context.responded,
    lookupTimedOut: context.lookupTimedOut,
    selected: targets.length,
  };
  let pending = targets.length;
  if (pending === 0) {
    op.resolve(attempt);
    return;
  }
  const settleOne = (): void => {
    if (--pending === 0) op.resolve(attempt);
  };
  const accept = (ref: NodeRef): void => {
    stats.putsAccepted++;
    attempt.accepted.push(ref);
  };
  const reject = (ref: NodeRef, code: number | string, message: string, conflict: boolean): void => {
    stats.putsRejected[String(code)] = (stats.putsRejected[String(code)] ?? 0) + 1;
    attempt.rejected.push({ node: ref, code, message, conflict });
  };
  const getMessage = krpc.message('get', { target: toBuffer(target) });
  const slot = item.salt ? { publicKey: item.publicKey, salt: item.salt } : { publicKey: item.publicKey };
  /** One `get` to a node that said it stored the item: accepted only if it shows exactly our item. */
  const readBack = (node: QueryTarget, ref: NodeRef): void => {
    stats.putsReadBack++;
    let done = false;
    // The rest of the attempt's budget, but at least the stall delay: the node answered our put a
    // moment ago, so a live node answers within a round trip even when the walk used the budget up.
    const floorMs = host.rtt?.delayMs ?? host.config.queryTimeoutMs;
    const cancel = op.timer(Math.max(context.deadline - performance.now(), floorMs), () => {
      if (done) return;
      done = true;
      attempt.timedOut.push(ref);
      settleOne();
    });
    host.query(node, getMessage, (error, reply) => {
      const timedOut = error?.code === 'ETIMEDOUT';
      if (timedOut) stats.queriesTimedOut++;
      if (op.settled || done) return;
      done = true;
      cancel();
      if (timedOut) attempt.timedOut.push(ref);
      else {
        const held = error || !reply?.r ? undefined : readReplyItem(reply.r, slot);
        if (held?.kind === 'candidate' && sameItem(held.item, item)) accept(ref);
        else {
          const what =
            held === undefined
              ? `its get failed (${error?.message ?? 'no reply'})`
              : held.kind === 'none'
                ? 'it holds no item'
                : held.kind === 'candidate'
                  ? `it holds another item (seq ${held.item.seq})`
                  : `it holds an item that does not parse (${held.reason})`;
          // An item there keeps ours out (as 302 would say); an empty node just did not store it.
          reject(
            ref,
            'ENOTSTORED',
            `Answered put with success, but ${what}`,
            held?.kind === 'candidate' || held?.kind === 'invalid',
          );
        }
      }
      settleOne();
    });
  };
  for (const node of targets) {
    const ref: NodeRef = { id: node.id, host: node.host, port: node.port };
    const a: Record<string, unknown> = {
      token: toBuffer(node.token),
      k: toBuffer(item.publicKey),
      seq: item.seq,
      sig: toBuffer(item.signature),
      v: toBuffer(item.value),
    };
    if (item.salt) a.salt = toBuffer(item.salt);
    // BEP 44 `cas`: store only if the node still holds the seq our read saw (else 301).
    if (node.item !== undefined) a.cas = node.item.seq;
    stats.putsSent++;
    const to: QueryTarget = { host: node.host, port: node.port, id: toBuffer(node.id) };
    host.query(to, krpc.message('put', a), (error, reply) => {
      if (op.settled) return;
      if (!error) {
        if (needsReadBack(node, item, reply)) {
          readBack(to, ref);
          return;
        }
        accept(ref);
      } else if (error.code === 'ETIMEDOUT') {
        stats.queriesTimedOut++;
        attempt.timedOut.push(ref);
      } else {
        const code = error.code ?? 'UNKNOWN';
        if (code === 302 && node.item && sameItem(node.item, item)) {
          stats.putsRejected[String(code)] = (stats.putsRejected[String(code)] ?? 0) + 1;
          attempt.alreadyStored.push(ref);
        } else reject(ref, code, error.message, CONFLICT_CODES.has(code));
      }
      settleOne();
    });
  }
}

/**
 * Whether a node's "stored" answer to our put must be checked with a read-back (a `get` to that node):
 * when no `cas` protected the put and the node is libtorrent (its reply's BEP 5 `v` starts with "LT").
 *
 * `cas` protects a put whose seq is above the one the node held: the node then stores ours or answers
 * 301, on every implementation. A node holding exactly our item tells the truth either way. Otherwise
 * (it held nothing, junk, or another item at our seq) an equal-seq item of a racing writer may be
 * there: bittorrent-dht answers 302, so its success is true, but libtorrent answers success and keeps
 * the first item. Measured with 5 publishers racing on 30 libtorrent nodes (30 trials,
 * test/interop/racing.test.ts, `npm run test:interop`): without the read-back 40–47 % of the copies
 * reported stored on libtorrent nodes did not exist, and 7–13 of 150 records were lost; with it, none.
 *
 * Why libtorrent only, not every unprotected node: a read-back costs one more round trip (one `get`
 * per node read back, sent as its put reply arrives, all in parallel). bittorrent-dht sends no `v`, so
 * on our testnets (and in `npm run bench:dht`) nothing is read back and a publish costs what it did;
 * reading back every unprotected node would add that round trip to every publish there, to confirm
 * answers that are true.
 */
function needsReadBack(node: LookupNode, item: MutableItem, reply: KrpcReply | null): boolean {
  const held = node.item;
  if (held !== undefined && (held.seq < item.seq || sameItem(held, item))) return false;
  const version = reply?.v;
  return (
    version instanceof Uint8Array &&
    version.length >= LIBTORRENT_VERSION.length &&
    LIBTORRENT_VERSION.every((byte, i) => version[i] === byte)
  );
}
