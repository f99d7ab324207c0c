/**
 * The topic tracker: the bootstrap loop, the publisher and the two merges, over a {@link Mesh} and a
 * {@link RecordStore}. ARCHITECTURE.md "Tracker" has the picture; PROTOCOL.md §10 the rules.
 *
 * ## Bootstrap (follows distributed-topic-tracker's `bootstrap.rs`)
 * The loop itself is the pure state machine of bootstrap.ts (its header has the state diagram): staged
 * reads of slot 0 and the other slots of this minute and the last, a start-up record with a second
 * look at slot 0, candidates joined one by one (`settleMs`, `dialWaitMs`), confirm and poll waits, a
 * lone peer watching slots 0 and 1 in one-round re-asks, and the link step. The tracker is its driver:
 * it executes the machine's actions (reads and publishes on the {@link RecordStore}, JOINs on the
 * {@link Mesh}, timers on the {@link Clock}, status events) and turns their outcomes, the mesh's
 * neighbour-up and join-settled callbacks and the timers into the machine's events. Nothing polls.
 *
 * ## After joining: publisher and merges, with DHT load that does not grow with the topic
 * In the reference every member reads the DHT every 10–60 s, so a topic's lookups grow linearly with its
 * members. Here:
 * - **Publisher**: each run reads the current minute (reused from the other worker when fresh) and
 *   publishes our record if the minute has fewer than `maxRecordsPerMinute` records of others and we
 *   have not published in it yet. While our view is healthy, a run with nothing to write *doubles* the
 *   interval (up to `maxIntervalMs`) and one that published *halves* it (not below `intervalMs`); an
 *   unhealthy view resets it. Each minute's first few readers publish; since about as many runs
 *   publish as back off, the topic's runs per minute settle near 2 × `maxRecordsPerMinute` whatever N.
 * - **Bubble merge**: with fewer than `minNeighbors` neighbours, join up to `maxJoinPeers` peers named by
 *   the records that are not neighbours yet.
 * - **Message-overlap merge**: a record whose recent message ids are all unknown to us, while we have
 *   been joined since before its minute and have seen messages, comes from another component of a split
 *   mesh: join its publisher (and the peers it lists), up to `maxJoinPeers`.
 * - The merge worker backs off like the publisher while healthy and no split is seen: one join between
 *   two components merges them, so the topic's aggregate read rate decides how fast a split heals.
 */

import { bytesToHex } from '@noble/hashes/utils.js';
import { EventEmitter } from 'eventemitter3';
import {
  type Address,
  encodeAddress,
  MAX_MESSAGE_IDS,
  MAX_PEER_ADDRESSES,
  MAX_PUBLISHER_ADDRESSES,
  MAX_RECORD_PEERS,
  MESSAGE_ID_BYTES,
  type PeerInfo,
  unixMinute,
} from '../crypto/index.js';
import { GttError } from '../errors.js';
import { assertNever } from '../proto/types.js';
import {
  Bootstrap,
  type BootstrapAction,
  type BootstrapEvent,
  type BootstrapTimer,
  type Candidate,
  candidatesOf,
  type PublishReason,
  type TrackerEvent,
} from './bootstrap.js';
import { type Clock, type ClockTimer, sleep, systemClock } from './clock.js';
import type { TrackerConfig } from './config.js';
import type { Mesh } from './mesh.js';
import type { PublishResult, ReadResult, RecordContent, RecordStore, StoredRecord } from './record-store.js';

export type { PublishReason, TrackerEvent } from './bootstrap.js';

/** Counters of a tracker (read them, do not write them). */
export interface TrackerStats {
  /**
   * Full bootstrap passes (each walks to slot 0 of a minute, and reads more only when needed; a lone
   * peer's one-round re-asks of slot 0 are not passes).
   */
  passes: number;
  /** Record store reads (of one minute: 1–4 slot lookups each). */
  reads: number;
  /** Distinct records of others read. */
  recordsRead: number;
  /** Publish attempts by outcome. */
  published: number;
  publishSkipped: number;
  /** Records refreshed at once because our addresses changed (PROTOCOL.md §9.7). */
  addressRefreshes: number;
  publishFailed: number;
  /** Peers handed to the mesh to join (bootstrap and merges). */
  joinAttempts: number;
  /** Runs of the publisher and of the merge worker. */
  publisherRuns: number;
  mergeRuns: number;
  /** Merge runs that joined someone, by kind. */
  bubbleMerges: number;
  overlapMerges: number;
  /** Start-up publishers that then asked the minute's leading publisher to join (bootstrap.ts, "linking"). */
  links: number;
  /** Milliseconds from start to the first neighbour; undefined until joined. */
  joinedAfterMs: number | undefined;
  /**
   * Reads or publishes that threw (a closed DHT, …), and a bootstrap loop that failed; counted and
   * reported as `error` events.
   */
  errors: number;
}

export interface TrackerOptions {
  store: RecordStore;
  mesh: Mesh;
  config: TrackerConfig;
  /** Our id, hex (the record publisher id). */
  selfHex: string;
  clock?: Clock;
  /** Uniform [0, 1): jitter and merge picks. */
  random?: () => number;
  /**
   * Peers were given to the mesh directly: wait this long (or for a neighbour) before the first DHT
   * pass, so a topic joined through explicit peers does not also dial strangers from the records.
   */
  explicitWaitMs?: number;
}

interface EventsMap {
  event: (event: TrackerEvent) => void;
}

/** Runs the bootstrap loop, then the workers, until closed. */
export class Tracker extends EventEmitter<EventsMap> {
  readonly stats: TrackerStats = {
    passes: 0,
    reads: 0,
    recordsRead: 0,
    published: 0,
    publishSkipped: 0,
    addressRefreshes: 0,
    publishFailed: 0,
    joinAttempts: 0,
    publisherRuns: 0,
    mergeRuns: 0,
    bubbleMerges: 0,
    overlapMerges: 0,
    links: 0,
    joinedAfterMs: undefined,
    errors: 0,
  };
  readonly #store: RecordStore;
  readonly #mesh: Mesh;
  readonly #cfg: TrackerConfig;
  readonly #self: string;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #abort = new AbortController();
  readonly #explicitWaitMs: number;
  /** What our last published record said (neighbour ids and message ids), to refresh only on change. */
  #lastContentKey = '';
  /** Background work (publishes, workers) that `close()` waits for. */
  readonly #tasks = new Set<Promise<unknown>>();
  #lastPublishedMinute = -1;
  #joinedAtMs: number | undefined;
  #current: { minute: number; at: number; view: Promise<ReadResult | undefined> } | undefined;
  #bootstrap: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #machine: Bootstrap;
  /** Settles the promise `start()` returned. */
  #loop: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  #startedAt = 0;
  /** The loop failed or the tracker closed: no more events for the machine. */
  #loopEnded = false;
  readonly #inbox: BootstrapEvent[] = [];
  #running = false;
  readonly #timers = new Map<BootstrapTimer, ClockTimer>();
  readonly #reads = new Map<number, AbortController>();
  /** The loop's subscriptions to the mesh. */
  readonly #offs: (() => void)[] = [];

  constructor(opts: TrackerOptions) {
    super();
    this.#store = opts.store;
    this.#mesh = opts.mesh;
    this.#cfg = opts.config;
    this.#self = opts.selfHex;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#explicitWaitMs = opts.explicitWaitMs ?? 0;
    this.#machine = new Bootstrap({
      config: this.#cfg.bootstrap,
      selfHex: this.#self,
      random: this.#random,
      isNeighbor: (id) => this.#isNeighbor(id),
      joinSettles: this.#mesh.onJoinSettled !== undefined,
    });
  }

  /** Aborted when the tracker closes. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * Starts the bootstrap loop (once); the workers start when it has joined. The promise resolves when
   * joined and rejects with `GttError('CLOSED')` if the tracker closes first, or with what ended the
   * loop otherwise (also counted in `errors` and emitted as an `error` event, `during: 'bootstrap'`).
   * Idempotent.
   */
  start(): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(GttError.closed('tracker'));
    this.#bootstrap ??= this.#track(
      new Promise<void>((resolve, reject) => {
        this.#loop = { resolve, reject };
        this.#startedAt = this.#clock.now();
        try {
          this.#offs.push(this.#mesh.onNeighborUp(() => this.#feed({ type: 'neighbor-up' })));
          const off = this.#mesh.onJoinSettled?.((peer) =>
            this.#feed({ type: 'join-settled', peer: bytesToHex(peer) }),
          );
          if (off !== undefined) this.#offs.push(off);
          const offAddresses = this.#mesh.onAddressesChanged?.(() => this.#onAddressesChanged());
          if (offAddresses !== undefined) this.#offs.push(offAddresses);
          this.#feed({ type: 'start', joined: this.#mesh.isJoined(), explicitWaitMs: this.#explicitWaitMs });
        } catch (error) {
          this.#fail(error);
        }
      }),
    );
    return this.#bootstrap;
  }

  /** Stops the loop and the workers and waits for their DHT work to wind down. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort(GttError.closed('tracker'));
      this.#feed({ type: 'close' });
      this.#stopLoop();
      this.#loop?.reject(GttError.closed('tracker'));
      while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    })();
    return this.#closing;
  }

  #emit(event: TrackerEvent): void {
    this.emit('event', event);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#tasks.add(p);
    const done = () => this.#tasks.delete(p);
    p.then(done, done);
    return p;
  }

  get #closed(): boolean {
    return this.#abort.signal.aborted;
  }

  #minute(): number {
    return unixMinute(this.#clock.now());
  }

  // --- bootstrap: the driver of the state machine (bootstrap.ts) ---------------------------------------

  /**
   * Feeds one event to the bootstrap machine and executes its actions. Events raised while actions
   * execute (a JOIN that settles at once, a listener that closes us) queue and run after the current
   * one, never re-entering the machine.
   */
  #feed(event: BootstrapEvent): void {
    if (this.#loopEnded) return;
    this.#inbox.push(event);
    if (this.#running) return;
    this.#running = true;
    try {
      for (let i = 0; i < this.#inbox.length; i++) {
        const actions = this.#machine.handle(this.#inbox[i]!, this.#clock.now());
        this.stats.passes = this.#machine.passes;
        for (const a of actions) this.#execute(a);
        if (this.#loopEnded) break;
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#inbox.length = 0;
      this.#running = false;
    }
    if (this.#machine.finished) this.#stopLoop();
  }

  #execute(a: BootstrapAction): void {
    // Closed while this event's actions were queued: only the clean-up ones still run.
    if (this.#closed && a.type !== 'cancel-reads' && a.type !== 'cancel-timer') return;
    switch (a.type) {
      case 'read': {
        const ac = new AbortController();
        this.#reads.set(a.read, ac);
        const onRecord = a.report
          ? (record: StoredRecord) => this.#feed({ type: 'record-found', read: a.read, record })
          : undefined;
        void this.#track(this.#read(a.minute, ac.signal, onRecord, a.slots, a.from)).then((result) => {
          this.#reads.delete(a.read);
          this.#feed({ type: 'read-done', read: a.read, result });
        });
        break;
      }
      case 'cancel-reads':
        for (const id of a.reads) {
          this.#reads.get(id)?.abort();
          this.#reads.delete(id);
        }
        break;
      case 'publish':
        this.#lastPublishedMinute = a.minute;
        void this.#publishInBackground(a.minute, a.reason, Promise.resolve(a.read), {
          // Records of others that our put's walk came across (a put's walk reads its slot too).
          onRecord: (record) => this.#feed({ type: 'record-seen', record }),
          skipIfOthersFound: a.skipIfOthersFound,
        }).then((result) => this.#feed({ type: 'published', publish: a.publish, result }));
        break;
      case 'dial':
        if (a.link) this.stats.links += 1;
        this.#dial(a.candidate);
        break;
      case 'schedule': {
        this.#timers.get(a.timer)?.cancel();
        const t = this.#clock.setTimeout(
          () => {
            if (this.#timers.get(a.timer) !== t) return;
            this.#timers.delete(a.timer);
            this.#feed({ type: 'timer-expired', timer: a.timer });
          },
          a.delayMs,
          a.timer,
        );
        this.#timers.set(a.timer, t);
        break;
      }
      case 'cancel-timer':
        this.#timers.get(a.timer)?.cancel();
        this.#timers.delete(a.timer);
        break;
      case 'emit':
        this.#emit(a.event);
        break;
      case 'joined':
        this.#joinedAtMs = this.#clock.now();
        this.stats.joinedAfterMs = this.#joinedAtMs - this.#startedAt;
        this.#emit({
          type: 'joined',
          elapsedMs: this.stats.joinedAfterMs,
          neighbors: this.#mesh.neighbors().length,
        });
        this.#loop?.resolve();
        this.#startWorkers();
        break;
      default:
        assertNever(a);
    }
  }

  /** The loop failed (a mesh that throws): counted, reported, and `start()` rejects with it. */
  #fail(error: unknown): void {
    if (this.#loopEnded) return;
    this.#loopEnded = true;
    this.#stopLoop();
    if (!this.#closed) {
      this.stats.errors++;
      this.#emit({ type: 'error', during: 'bootstrap', error });
    }
    this.#loop?.reject(error);
  }

  /** Leaves no timer, read or subscription of the loop behind. */
  #stopLoop(): void {
    for (const off of this.#offs.splice(0)) off();
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
    for (const ac of this.#reads.values()) ac.abort();
    this.#reads.clear();
    if (this.#closed) this.#loopEnded = true;
  }

  #isNeighbor(idHex: string): boolean {
    return this.#mesh.neighbors().some((n) => bytesToHex(n.id) === idHex);
  }

  #dial(c: Candidate): void {
    this.stats.joinAttempts += 1;
    this.#emit({ type: 'dial', peer: c.idHex, via: c.via, minute: c.minute });
    this.#mesh.join({ id: c.id, addresses: c.addresses });
  }

  /** One minute's records; undefined when the read failed (closed DHT …) or was cut short. */
  async #read(
    minute: number,
    signal: AbortSignal,
    onRecord?: (r: StoredRecord) => void,
    slots?: number[],
    from?: ReadResult,
  ): Promise<ReadResult | undefined> {
    this.stats.reads += 1;
    try {
      const view = await this.#store.read(minute, { signal, onRecord, slots, from });
      this.stats.recordsRead += view.records.length;
      this.#emit({
        type: 'read-done',
        minutes: [minute],
        records: view.records.length,
        lookups: view.lookups,
      });
      if (minute === this.#minute() && view.complete)
        this.#current = { minute, at: this.#clock.now(), view: Promise.resolve(view) };
      return view;
    } catch (error) {
      if (!signal.aborted) {
        this.stats.errors += 1;
        this.#emit({ type: 'error', during: 'read', error });
      }
      return undefined;
    }
  }

  /** The current minute's records, reused for `readReuseMs` (the publisher and the merges share it). */
  #readCurrent(): Promise<ReadResult | undefined> {
    const minute = this.#minute();
    const c = this.#current;
    if (c !== undefined && c.minute === minute && this.#clock.now() - c.at < this.#cfg.readReuseMs)
      return c.view;
    const view = this.#read(minute, this.#abort.signal);
    this.#current = { minute, at: this.#clock.now(), view };
    return view;
  }

  #content(): RecordContent {
    const addresses = fitAddresses(this.#mesh.addresses(), MAX_PUBLISHER_ADDRESSES);
    const peers: PeerInfo[] = [];
    for (const n of this.#mesh.neighbors()) {
      if (peers.length === MAX_RECORD_PEERS) break;
      const a = fitAddresses(n.addresses, MAX_PEER_ADDRESSES);
      if (a.length > 0) peers.push({ id: n.id, addresses: a });
    }
    const messageIds = this.#mesh
      .recentMessageIds()
      .slice(0, MAX_MESSAGE_IDS)
      .map((id) => id.slice(0, MESSAGE_ID_BYTES));
    return { addresses, peers, messageIds };
  }

  /**
   * Our addresses, neighbour ids and message ids of a record content: what makes a refresh worth a
   * put (our addresses change when a port mapping or an external address is learned, PROTOCOL.md §9.7).
   */
  static #contentKey(c: RecordContent): string {
    return [
      ...c.addresses.map((a) => `${a.host}:${a.port}`),
      '|',
      ...c.peers.map((p) => bytesToHex(p.id)).sort(),
      '|',
      ...c.messageIds.map(bytesToHex),
    ].join(',');
  }

  /**
   * Our addresses changed (PROTOCOL.md §9.7): a record of ours already in this minute advertises the
   * old ones, so it is refreshed now rather than at the next publication (a newcomer reading it would
   * dial an address that does not reach us, or none).
   */
  #onAddressesChanged(): void {
    const minute = this.#minute();
    if (this.#closed || minute !== this.#lastPublishedMinute) return;
    this.stats.addressRefreshes += 1;
    void this.#publishInBackground(minute, 'publisher', this.#readCurrent());
  }

  #publishInBackground(
    minute: number,
    reason: PublishReason,
    read: Promise<ReadResult | undefined>,
    opts?: PublishOptions,
  ): Promise<PublishResult | undefined> {
    return this.#track(this.#publish(minute, reason, read, opts));
  }

  async #publish(
    minute: number,
    reason: PublishReason,
    read: Promise<ReadResult | undefined>,
    opts: PublishOptions = {},
  ): Promise<PublishResult | undefined> {
    const view = await read;
    if (this.#closed) return undefined;
    const content = this.#content();
    if (content.addresses.length === 0) return undefined; // nothing dialable to advertise
    this.#emit({ type: 'publish', minute, reason });
    try {
      const result = await this.#store.publish(content, {
        minute,
        signal: this.#abort.signal,
        read: view,
        onRecord: opts.onRecord,
        skipIfOthersFound: opts.skipIfOthersFound,
      });
      if (result.status === 'published') {
        this.stats.published += 1;
        this.#lastContentKey = Tracker.#contentKey(content);
      } else if (result.status === 'skipped') this.stats.publishSkipped += 1;
      else this.stats.publishFailed += 1;
      this.#emit({ type: 'published', minute, reason, result });
      return result;
    } catch (error) {
      if (!this.#closed) {
        this.stats.errors += 1;
        this.#emit({ type: 'error', during: 'publish', error });
      }
      return undefined;
    }
  }

  // --- workers -----------------------------------------------------------------------------------------

  #startWorkers(): void {
    const p = this.#cfg.publisher;
    if (p.enabled) this.#track(this.#worker(p, () => this.#publisherRun()));
    const m = this.#cfg.merge;
    if (m.bubble || m.overlap) this.#track(this.#worker(m, () => this.#mergeRun()));
  }

  /**
   * Runs `run` after `initialDelayMs`, then every interval + jitter. `run` says how it went: `calm`
   * (nothing to do) doubles the interval, up to `maxIntervalMs`; `busy` (did its job, all is well)
   * halves it, not below `intervalMs`; `reset` (something is wrong) sets it back to `intervalMs`.
   */
  async #worker(
    cfg: { initialDelayMs: number; intervalMs: number; jitterMs: number; maxIntervalMs: number },
    run: () => Promise<RunOutcome>,
  ): Promise<void> {
    const signal = this.#abort.signal;
    let interval = cfg.intervalMs;
    let wait = cfg.initialDelayMs;
    // A run may ask to come back soon ('urgent': still short of neighbours right after joining), a few
    // times only, so that a topic too small to ever fill a view does not read the DHT every few seconds.
    let urgentLeft = URGENT_RETRIES;
    for (;;) {
      if ((await sleep(this.#clock, wait, signal)) === 'aborted') return;
      const outcome = await run();
      if (this.#closed) return;
      if (outcome === 'urgent' && urgentLeft > 0) {
        urgentLeft -= 1;
        interval = cfg.intervalMs;
        wait = cfg.initialDelayMs + Math.floor(this.#random() * cfg.initialDelayMs);
        continue;
      }
      if (outcome === 'calm') interval = Math.min(interval * 2, cfg.maxIntervalMs);
      else if (outcome === 'busy') interval = Math.max(Math.floor(interval / 2), cfg.intervalMs);
      else interval = cfg.intervalMs;
      wait = interval + Math.floor(this.#random() * cfg.jitterMs);
    }
  }

  #healthy(): boolean {
    return this.#mesh.neighbors().length >= this.#cfg.merge.minNeighbors;
  }

  /**
   * Publishes when the minute has room for us and we have not published in it yet, or our record there
   * is out of date (other neighbours, newer messages: a refresh overwrites our own copies and takes no
   * extra room, so it is allowed in a full minute). Calm when it had nothing to write, the minute held
   * `maxRecordsPerMinute` records of others, and our view is healthy.
   */
  async #publisherRun(): Promise<RunOutcome> {
    this.stats.publisherRuns += 1;
    const minute = this.#minute();
    const view = this.#readCurrent();
    const v = await view;
    if (v === undefined || this.#closed) return 'reset';
    const full = v.records.length >= this.#store.config.maxRecordsPerMinute;
    const stale =
      minute !== this.#lastPublishedMinute || Tracker.#contentKey(this.#content()) !== this.#lastContentKey;
    // Our own record in the minute may always be refreshed: it takes no extra room.
    if ((!full || v.own !== undefined) && stale) {
      this.#lastPublishedMinute = minute;
      await this.#publish(minute, 'publisher', view);
      // Halving (not resetting) keeps each member's share small: every minute's first few readers
      // publish, and with a reset those members would all go back to the base rate.
      return this.#healthy() ? 'busy' : 'reset';
    }
    return this.#healthy() ? 'calm' : 'reset';
  }

  /** Joins up to `maxJoinPeers` random non-neighbours named by `records`; whether anyone was asked. */
  #mergeWith(records: StoredRecord[], kind: 'bubble' | 'overlap'): boolean {
    const pool = records
      .flatMap(candidatesOf)
      .filter((c) => c.idHex !== this.#self && !this.#isNeighbor(c.idHex));
    const picks = pickDistinct(pool, this.#cfg.merge.maxJoinPeers, this.#random);
    if (picks.length === 0) return false;
    for (const c of picks) this.#dial(c);
    if (kind === 'bubble') this.stats.bubbleMerges += 1;
    else this.stats.overlapMerges += 1;
    this.#emit({ type: 'merge', kind, peers: picks.map((c) => c.idHex) });
    return true;
  }

  /**
   * Bubble and overlap merges; calm when neither found anything to do, urgent while still short of
   * neighbours (a join burst can leave a small group split off: measured, 1 run in 10 of 10 peers
   * started at once ended 6 + 2 + 2 with only one merge run in the first 30 s).
   */
  async #mergeRun(): Promise<RunOutcome> {
    this.stats.mergeRuns += 1;
    const cfg = this.#cfg.merge;
    const needBubble = cfg.bubble && !this.#healthy();
    let view = await this.#readCurrent();
    if (this.#closed) return 'reset';
    let records = view?.records ?? [];
    if (records.length === 0 && view !== undefined) {
      // Early in a minute its slots are empty: fall back to the previous one.
      view = await this.#read(view.minute - 1, this.#abort.signal);
      records = view?.records ?? [];
    }
    if (this.#closed) return 'reset';
    if (records.length === 0) return needBubble ? 'urgent' : 'calm';

    let merged = false;
    if (needBubble) merged = this.#mergeWith(records, 'bubble');

    let split = false;
    if (cfg.overlap) {
      const ours = new Set(
        this.#mesh.recentMessageIds().map((id) => bytesToHex(id.slice(0, MESSAGE_ID_BYTES))),
      );
      const joinedMinute =
        this.#joinedAtMs === undefined ? Number.POSITIVE_INFINITY : unixMinute(this.#joinedAtMs);
      const strangers = records.filter(
        (r) =>
          ours.size > 0 &&
          r.messageIds.length > 0 &&
          // A record from a minute before we joined may list messages we never had a chance to see.
          // One from our joining minute may too; the cost of such a false alarm is one JOIN, while
          // skipping it would leave a split found in its first minute unhealed until the next.
          r.minute >= joinedMinute &&
          r.messageIds.every((id) => !ours.has(bytesToHex(id))),
      );
      if (strangers.length > 0) {
        split = true;
        merged = this.#mergeWith(strangers, 'overlap') || merged;
      }
    }
    if (needBubble && !this.#healthy()) return 'urgent';
    return !needBubble && !split && !merged ? 'calm' : 'reset';
  }
}

/** How a worker run went (see `#worker`); `urgent`: still short of neighbours right after joining. */
type RunOutcome = 'calm' | 'busy' | 'reset' | 'urgent';

interface PublishOptions {
  /** Records of others the put's walk came across. */
  onRecord?: (record: StoredRecord) => void;
  /** See `RecordStore.publish`. */
  skipIfOthersFound?: boolean;
}

/** Quick merge retries after joining while short of neighbours (guess; see `#worker`). */
const URGENT_RETRIES = 3;

/** Up to `n` distinct candidates (by id), picked at random. */
function pickDistinct(pool: Candidate[], n: number, random: () => number): Candidate[] {
  const byId = new Map<string, Candidate>();
  for (const c of pool) if (!byId.has(c.idHex) && c.addresses.length > 0) byId.set(c.idHex, c);
  const all = [...byId.values()];
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, n);
}

/** The first `max` addresses that the record codec can carry (a host of at most 36 bytes). */
function fitAddresses(addresses: readonly Address[], max: number): Address[] {
  const out: Address[] = [];
  for (const a of addresses) {
    if (out.length === max) break;
    try {
      encodeAddress(a);
      out.push({ host: a.host, port: a.port });
    } catch {
      // Not encodable (an over-long DNS name): leave it out of the record.
    }
  }
  return out;
}
