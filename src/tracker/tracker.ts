/**
 * The topic tracker: the bootstrap loop, the publisher and the two merges, over a {@link Mesh} and a
 * {@link RecordStore}. ARCHITECTURE.md "Tracker" has the picture; PROTOCOL.md §10 the rules.
 *
 * ## Bootstrap (follows distributed-topic-tracker's `bootstrap.rs`)
 * 1. A *pass* reads in stages, each only once the candidates of the ones before ran out: slot 0 of the
 *    current minute; its slots 1–3 unless slot 0 was clean; slot 0 of the previous minute; its slots
 *    1–3 unless that was clean. Publishers fill slot 0 first (record-store.ts), so a warm join costs one
 *    lookup and an empty topic two, where the reference reads both minutes' four slots every pass.
 *    Unlike the reference, which waits for every lookup to finish, candidates (each record's publisher,
 *    then the neighbours it lists; minus ourselves and current neighbours) are dialed as soon as the
 *    first record opens: one dead DHT node holds a lookup for its whole timeout.
 * 2. Optionally publish a start-up record, only when slot 0 of the current minute showed no record of
 *    others, on the nodes that read found (no walk of its own). Then slot 0's nodes are asked again, in
 *    one round (`RecordStore.read` `from`): `afterPublishRetryMs` after ours landed, or at once when a
 *    node refused ours for holding someone else's. Peers that start together publish at about the same
 *    time and find each other there, within the same pass.
 * 3. Candidates are joined **one by one**: ask the mesh to join one, wait `settleMs` or the first
 *    neighbour (longer, up to `dialWaitMs`, while its connection is still being set up), stop as soon
 *    as we have one; at most `maxJoinPeers` per pass. Joining one at a time disturbs as few existing
 *    neighbourhoods as possible (each JOIN makes the contact evict someone once its view is full).
 * 4. No records at all: publish ours for this minute (at most once per minute), wait `noRecordsRetryMs`
 *    or a neighbour, loop.
 * 5. Records but still alone: wait `confirmMs` (or a neighbour); then publish for this minute if not yet
 *    done, wait `pollMs` (or a neighbour) and loop.
 * 6. Our start-up record landed: link to the minute's lowest-id publisher (`#linkUp`).
 * Every wait also ends on close/abort; the loop ends when joined.
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
import { anyWake, type Clock, promiseWake, sleep, systemClock, type Wake } from './clock.js';
import type { TrackerConfig } from './config.js';
import { type Candidate, CandidateQueue, candidatesOf, type Mesh } from './mesh.js';
import type {
  PublishResult,
  ReadResult,
  RecordContent,
  RecordStore,
  SlotView,
  StoredRecord,
} from './record-store.js';

/** Why a record was published. */
export type PublishReason = 'startup' | 'no-records' | 'alone' | 'publisher';

/** What the tracker is doing, as it happens (the `gtt` status line and tests listen to these). */
export type TrackerEvent =
  | { type: 'read'; minutes: number[] }
  | { type: 'record'; minute: number; publisher: string; peers: number }
  | { type: 'read-done'; minutes: number[]; records: number; lookups: number }
  | { type: 'publish'; minute: number; reason: PublishReason }
  | { type: 'published'; minute: number; reason: PublishReason; result: PublishResult }
  | { type: 'dial'; peer: string; via: string; minute: number }
  | { type: 'wait'; ms: number; why: 'no-records' | 'confirm' | 'poll' }
  | { type: 'joined'; elapsedMs: number; neighbors: number }
  | { type: 'merge'; kind: 'bubble' | 'overlap' | 'link'; peers: string[] }
  | { type: 'error'; during: 'read' | 'publish' | 'bootstrap'; error: unknown };

/** Counters of a tracker (read them, do not write them). */
export interface TrackerStats {
  /** Bootstrap passes (each reads slot 0 of the current minute, and more only when needed). */
  passes: number;
  /** Record store reads (of one minute: 1–4 slot lookups each). */
  reads: number;
  /** Distinct records of others read. */
  recordsRead: number;
  /** Publish attempts by outcome. */
  published: number;
  publishSkipped: number;
  publishFailed: number;
  /** Peers handed to the mesh to join (bootstrap and merges). */
  joinAttempts: number;
  /** Runs of the publisher and of the merge worker. */
  publisherRuns: number;
  mergeRuns: number;
  /** Merge runs that joined someone, by kind. */
  bubbleMerges: number;
  overlapMerges: number;
  /** Start-up publishers that then asked the minute's leading publisher to join (see `#linkUp`). */
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

  constructor(opts: TrackerOptions) {
    super();
    this.#store = opts.store;
    this.#mesh = opts.mesh;
    this.#cfg = opts.config;
    this.#self = opts.selfHex;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#explicitWaitMs = opts.explicitWaitMs ?? 0;
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
      this.#runBootstrap().catch((error: unknown) => {
        if (!this.#closed) {
          this.stats.errors++;
          this.#emit({ type: 'error', during: 'bootstrap', error });
        }
        throw error;
      }),
    );
    return this.#bootstrap;
  }

  /** Stops the loop and the workers and waits for their DHT work to wind down. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort(GttError.closed('tracker'));
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

  #wake = (fire: () => void): (() => void) => this.#mesh.onNeighborUp(fire);

  // --- bootstrap ---------------------------------------------------------------------------------------

  async #runBootstrap(): Promise<void> {
    const started = this.#clock.now();
    const cfg = this.#cfg.bootstrap;
    const signal = this.#abort.signal;
    // Records of others that our own puts came across (a put's walk reads its slot too): dialed in
    // the pass under way, or first in the next one.
    let live: CandidateQueue | undefined;
    let seen: StoredRecord[] = [];
    const seenWakers = new Set<() => void>();
    const onSeen = (r: StoredRecord) => {
      if (live !== undefined) live.addRecord(r);
      else seen.push(r);
      for (const fire of seenWakers) fire();
    };
    const seenWake: Wake = (fire) => {
      seenWakers.add(fire);
      return () => seenWakers.delete(fire);
    };
    let startup: Promise<PublishResult | undefined> | undefined;
    /** The start-up pass's newest look at slot 0 of the minute: the link step asks its nodes again. */
    let slot0View: ReadResult | undefined;
    if (this.#explicitWaitMs > 0 && !this.#mesh.isJoined()) {
      await sleep(this.#clock, this.#explicitWaitMs, signal, this.#wake);
    }
    for (let pass = 0; ; pass++) {
      if (this.#closed) throw GttError.closed('tracker');
      if (this.#mesh.isJoined()) break;
      const minute = this.#minute();
      // The minute read first: the current one, or (first pass with checkOlderFirst) the one before.
      const first = pass === 0 && cfg.checkOlderFirst ? minute - 1 : minute;
      this.stats.passes += 1;

      const queue = new CandidateQueue(this.#self, (id) => this.#isNeighbor(id), this.#random);
      live = queue;
      for (const r of seen) queue.addRecord(r);
      seen = [];
      const passAbort = new AbortController();
      const onAbort = () => passAbort.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      /** Finished reads of this pass, by the promise `feed` returned. */
      const done = new Map<Promise<ReadResult | undefined>, ReadResult | undefined>();
      const allClean = (reads: Promise<ReadResult | undefined>[]) =>
        reads.every((p) => {
          const v = done.get(p);
          return v?.slots.every(isClean) === true;
        });
      const feed = (m: number, slots?: number[], from?: ReadResult) => {
        this.#emit({ type: 'read', minutes: [m] });
        const p: Promise<ReadResult | undefined> = this.#read(
          m,
          passAbort.signal,
          (r) => {
            this.#emit({
              type: 'record',
              minute: m,
              publisher: bytesToHex(r.publisher),
              peers: r.peers.length,
            });
            queue.addRecord(r);
          },
          slots,
          from,
        ).then((v) => {
          done.set(p, v);
          return v;
        });
        return queue.source(p);
      };
      // Reads come in stages, each only once the ones before ran out of candidates (none, or all
      // tried): slot 0 of the first minute (publishers fill it first, so one lookup tells an empty
      // minute from a live one), then its other slots unless slot 0 was clean, then the same for the
      // minute before. On a live topic the first stage names enough peers; an empty topic costs two
      // lookups instead of eight.
      const current = feed(first, [0]);
      let previous: Promise<ReadResult | undefined> | undefined;
      const slot0Reads: Promise<ReadResult | undefined>[] = [current];
      const stages: (() => Promise<ReadResult | undefined> | undefined)[] = [
        () => (allClean(slot0Reads) ? undefined : feed(first, [1, 2, 3])),
        () => {
          const p = feed(first - 1, [0]);
          previous = p;
          return p;
        },
        () => (previous === undefined || allClean([previous]) ? undefined : feed(first - 1, [1, 2, 3])),
      ];
      if (pass === 0 && cfg.publishOnStart && first === minute) {
        this.#lastPublishedMinute = minute;
        // Stored on the nodes the read just found, without a walk of its own: peers that start with
        // us on an empty topic publish at about the same time, and a node already holding one of
        // theirs refuses ours (301/302, or a read-back shows theirs), which ends the publish; the read
        // below then shows who is there.
        startup = this.#publishInBackground(minute, 'startup', current, {
          onRecord: onSeen,
          onlyIfEmpty: true,
          skipIfOthersFound: true,
        });
        let startupResult: PublishResult | undefined;
        void startup.then((r) => {
          startupResult = r;
        });
        // Peers that start together all find the topic empty and publish at about the same time: ask
        // slot 0's nodes again (one round trip, no walk) `afterPublishRetryMs` after our record landed,
        // or at once when a node refused it for holding someone else's, within this pass.
        queue.source(
          (async () => {
            const view = await current;
            if (view === undefined || view.records.length > 0) return;
            slot0View = view;
            if (passAbort.signal.aborted) return;
            const woke = anyWake(this.#wake, seenWake);
            await sleep(
              this.#clock,
              cfg.noRecordsRetryMs,
              passAbort.signal,
              anyWake(woke, promiseWake(startup!)),
            );
            // Our put came across someone (when slot 0 had no free node, it walked another slot): dial
            // them (already queued) instead of looking again.
            if (queue.records > 0) return;
            if (startupResult?.status !== 'skipped') {
              await sleep(this.#clock, cfg.afterPublishRetryMs, passAbort.signal, woke);
            }
            if (passAbort.signal.aborted || this.#mesh.isJoined() || queue.records > 0) return;
            const again = feed(minute, [0], view);
            slot0Reads.push(again);
            slot0View = (await again) ?? slot0View;
          })(),
        );
      }

      let asked = 0;
      try {
        while (asked < cfg.maxJoinPeers && !this.#mesh.isJoined() && !this.#closed) {
          const c = await queue.next();
          if (this.#mesh.isJoined() || this.#closed) break;
          if (c === undefined) {
            let next: Promise<unknown> | undefined;
            while (next === undefined && stages.length > 0) next = stages.shift()!();
            if (next === undefined) break;
            continue;
          }
          this.#dial(c);
          asked += 1;
          await sleep(this.#clock, cfg.settleMs, signal, this.#wake);
          // Still connecting, or our JOIN still unanswered: let it finish rather than JOIN someone else.
          const until = this.#clock.now() + cfg.dialWaitMs - cfg.settleMs;
          while (!this.#mesh.isJoined() && !this.#closed && this.#mesh.isJoining?.(c.id) === true) {
            const left = until - this.#clock.now();
            if (left <= 0) break;
            await sleep(this.#clock, Math.min(DIAL_POLL_MS, left), signal, this.#wake);
          }
        }
        if (this.#mesh.isJoined() || this.#closed) continue;
        const view = await current;
        await previous;
        const found = queue.records;
        if (found === 0) {
          if (minute !== this.#lastPublishedMinute) {
            this.#lastPublishedMinute = minute;
            this.#publishInBackground(
              minute,
              'no-records',
              Promise.resolve(first === minute ? view : undefined),
              {
                onRecord: onSeen,
              },
            );
          }
          const ms = cfg.noRecordsRetryMs;
          if (this.#mesh.isJoined() || this.#closed) continue;
          this.#emit({ type: 'wait', ms, why: 'no-records' });
          await sleep(this.#clock, ms, signal, anyWake(this.#wake, seenWake));
          continue;
        }
        this.#emit({ type: 'wait', ms: cfg.confirmMs, why: 'confirm' });
        await sleep(this.#clock, cfg.confirmMs, signal, this.#wake);
        if (this.#mesh.isJoined() || this.#closed) continue;
        if (minute !== this.#lastPublishedMinute) {
          this.#lastPublishedMinute = minute;
          this.#publishInBackground(minute, 'alone', Promise.resolve(first === minute ? view : undefined), {
            onRecord: onSeen,
          });
        }
        this.#emit({ type: 'wait', ms: cfg.pollMs, why: 'poll' });
        await sleep(this.#clock, cfg.pollMs, signal, anyWake(this.#wake, seenWake));
      } finally {
        signal.removeEventListener('abort', onAbort);
        // Joined (or closing) with lookups still running: they have nothing left to tell us.
        passAbort.abort();
        queue.close();
        live = undefined;
      }
    }
    this.#joinedAtMs = this.#clock.now();
    this.stats.joinedAfterMs = this.#joinedAtMs - started;
    this.#emit({
      type: 'joined',
      elapsedMs: this.stats.joinedAfterMs,
      neighbors: this.#mesh.neighbors().length,
    });
    // After a start-up record of ours landed (not through explicit peers, whose topic is not meant to
    // dial strangers from the records).
    if (startup !== undefined) this.#track(this.#linkUp(startup, slot0View));
    this.#startWorkers();
  }

  /**
   * Our start-up record landed: peers that start together on an empty topic publish several start-up
   * records at once, and each publisher is dialed by a group of the others. Such a group hangs on its
   * publisher, and nothing would connect it to the others until a merge notices (a bubble merge only
   * when short of neighbours, an overlap merge only once messages flow): measured, 1 run of 10 with 50
   * peers at once stayed split 40 + 10 past 30 s. So the publisher reads slot 0 of the minute once
   * more and joins the minute's *leading* publisher, the one with the lowest id other than us, unless
   * it is a neighbour already. Every publisher picks the same leader (the leader itself the next one),
   * so the groups meet in one place (a random pick could pair groups off into separate components);
   * its JOIN's forward walks then give the group several links into the leader's.
   */
  async #linkUp(startup: Promise<PublishResult | undefined>, slot0?: ReadResult): Promise<void> {
    const signal = this.#abort.signal;
    // Our start-up record and those of the peers that started with us land at about the same time.
    if ((await startup)?.status !== 'published') return;
    if ((await sleep(this.#clock, this.#cfg.bootstrap.afterPublishRetryMs, signal)) === 'aborted') return;
    // Slot 0's nodes are known from the bootstrap's read (in the same minute): ask them again.
    const view = await this.#read(this.#minute(), signal, undefined, [0], slot0);
    if (view === undefined || this.#closed) return;
    // `records` leaves our own out: when we lead, we link to the next one, so that a leader whose read
    // missed a lower record still ties its group to someone.
    const leader = view.records
      .map((r) => ({ r, id: bytesToHex(r.publisher) }))
      .sort((a, b) => (a.id < b.id ? -1 : 1))[0];
    if (leader === undefined || this.#isNeighbor(leader.id)) return;
    const [c] = candidatesOf(leader.r);
    if (c === undefined || c.addresses.length === 0) return;
    this.stats.links += 1;
    this.#emit({ type: 'merge', kind: 'link', peers: [c.idHex] });
    this.#dial(c);
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

  /** Neighbour ids and message ids of a record content: what makes a refresh worth a put. */
  static #contentKey(c: RecordContent): string {
    return [...c.peers.map((p) => bytesToHex(p.id)).sort(), '|', ...c.messageIds.map(bytesToHex)].join(',');
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
    if (opts.onlyIfEmpty && (view === undefined || view.records.length > 0)) {
      // The start-up record is for peers starting together on an empty topic. On a live one (or when
      // the read failed) it would take a slot for nothing: the publisher runs once we have joined.
      if (this.#lastPublishedMinute === minute) this.#lastPublishedMinute = -1;
      return undefined;
    }
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

/**
 * A slot with no value at all, valid or not, on its closest nodes (junk there could push publishers
 * on to the next slots, so a slot 0 holding only junk does not mean an empty minute).
 */
function isClean(s: SlotView): boolean {
  return s.records === 0 && s.invalid === 0 && s.occupied === 0;
}

/** How a worker run went (see `#worker`); `urgent`: still short of neighbours right after joining. */
type RunOutcome = 'calm' | 'busy' | 'reset' | 'urgent';

interface PublishOptions {
  /** Records of others the put's walk came across. */
  onRecord?: (record: StoredRecord) => void;
  /** Publish only when the read found no records of others (the start-up record). */
  onlyIfEmpty?: boolean;
  /** See `RecordStore.publish`. */
  skipIfOthersFound?: boolean;
}

/** How often the bootstrap loop looks whether a slow dial is done (guess; a neighbour wakes it at once). */
const DIAL_POLL_MS = 25;

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
