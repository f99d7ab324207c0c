/**
 * Joining the DHT (BEP 5 bootstrap): resolving the bootstrap host names, and `Dht.create`'s bootstrap
 * walk, a `find_node` walk toward our own id seeded with the bootstrap addresses, retried until
 * `bootstrapTimeoutMs` (a lost datagram is not a dead node). bittorrent-dht's own bootstrap is off
 * (`krpc.ts`, defect 5). Later re-bootstraps are `liveness.ts`'s.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { GttError } from '../errors.js';
import type { DhtConfig, HostPort } from './config.js';
import type { Operation } from './op.js';
import { startWalk, type Walk, type WalkHost } from './walk.js';

/** Resolves host names with `dns.lookup(host, {family: 4})`; drops names that do not resolve. */
export async function resolveBootstrap(entries: readonly HostPort[]): Promise<HostPort[]> {
  const resolved = await Promise.all(
    entries.map(async (entry) => {
      if (isIP(entry.host) === 4) return entry;
      try {
        const { address } = await dnsLookup(entry.host, { family: 4 });
        return { host: address, port: entry.port };
      } catch {
        return undefined;
      }
    }),
  );
  const unique = new Map<string, HostPort>();
  for (const r of resolved) if (r) unique.set(`${r.host}:${r.port}`, r);
  if (entries.length > 0 && unique.size === 0) {
    const names = entries.map((e) => `${e.host}:${e.port}`).join(', ');
    throw new GttError('DHT_BOOTSTRAP_FAILED', `No bootstrap host resolved to an IPv4 address (${names})`);
  }
  return [...unique.values()];
}

/**
 * The bootstrap walk (BEP 5): a `find_node` walk toward our own id, seeded with the bootstrap
 * addresses (`host.bootstrap`, not empty). Resolves `op` once a walk ends with a non-empty routing
 * table, or once `bootstrapTimeoutMs` passes with at least one node known; rejects it with
 * `DHT_BOOTSTRAP_FAILED` otherwise.
 */
export function runBootstrap(
  host: WalkHost,
  op: Operation<void>,
  config: Pick<DhtConfig, 'bootstrapTimeoutMs' | 'queryTimeoutMs'>,
): void {
  const ms = config.bootstrapTimeoutMs;
  const attempts = new BootstrapAttempts(host.bootstrap, config.queryTimeoutMs);
  const stats = host.stats;
  const before = { sent: stats.queriesSent, timedOut: stats.queriesTimedOut, errors: stats.queryErrors };
  let responded = 0;
  let walk: Walk | undefined;
  // k-rpc adds a responder to the routing table just after our callback runs: count replies too.
  const joined = (): boolean => responded > 0 || host.krpc.nodeCount() > 0;
  const start = (): void => {
    attempts.started();
    walk = startWalk(host, op, host.krpc.id, 'find_node', { add: () => void responded++ }, ended);
  };
  // A walk nobody answered lost its datagrams or met a node still starting: walk again (paced by
  // BootstrapAttempts) until the deadline, rather than failing at the first lost packet.
  const ended = (): void => {
    if (joined()) op.resolve();
    else op.timer(attempts.retryDelayMs(), start);
  };
  op.timer(ms, () => {
    walk?.stop();
    if (joined()) {
      op.resolve();
      return;
    }
    const counts = {
      sent: stats.queriesSent - before.sent,
      timedOut: stats.queriesTimedOut - before.timedOut,
      errors: stats.queryErrors - before.errors,
    };
    op.reject(new GttError('DHT_BOOTSTRAP_FAILED', attempts.message(ms, counts)));
  });
  start();
}

/**
 * Paces the bootstrap walks of `Dht.create` and words its failure. A walk whose every query went
 * unanswered is sent again: at most one walk per query timeout (a walk seeded only with bootstrap
 * addresses waits that long for them anyway; the spacing matters when they answer with errors).
 */
export class BootstrapAttempts {
  readonly #bootstrap: readonly HostPort[];
  readonly #queryTimeoutMs: number;
  #walks = 0;
  #lastWalkAt = 0;

  constructor(bootstrap: readonly HostPort[], queryTimeoutMs: number) {
    this.#bootstrap = bootstrap;
    this.#queryTimeoutMs = queryTimeoutMs;
  }

  /** Call as a walk starts. */
  started(): void {
    this.#walks++;
    this.#lastWalkAt = performance.now();
  }

  /** How long to wait before the next walk, after one that nobody answered. */
  retryDelayMs(): number {
    return Math.max(0, this.#lastWalkAt + this.#queryTimeoutMs - performance.now());
  }

  /**
   * The failure message: the budget and the bootstrap nodes first (what a user checks), then how many
   * walks and queries went out and how they ended.
   */
  message(budgetMs: number, counts: { sent: number; timedOut: number; errors: number }): string {
    const addresses = this.#bootstrap.map((b) => `${b.host}:${b.port}`).join(', ');
    const walks = this.#walks === 1 ? '1 walk' : `${this.#walks} walks`;
    const queries = counts.sent === 1 ? '1 query' : `${counts.sent} queries`;
    const unanswered = Math.max(0, counts.sent - counts.timedOut - counts.errors);
    return (
      `No DHT node answered within ${budgetMs} ms (bootstrap: ${addresses}; ${walks}, ${queries}: ` +
      `${counts.timedOut} timed out, ${counts.errors} refused or invalid, ${unanswered} unanswered)`
    );
  }
}
