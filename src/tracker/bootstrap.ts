/**
 * The bootstrap loop (PROTOCOL.md §10.2) as a pure state machine: `handle(event, now)` returns the
 * actions the {@link Tracker} executes on the record store, the mesh and its clock, and the tracker
 * turns what comes back (reads done, records found, publishes done, neighbours, JOINs that ended, timers)
 * into the next events. No I/O, no timers, no clock and no randomness of its own (`now` and a `random`
 * source come in), in the style of the gossip core (`src/proto`: `handle(event, now)` → out-events,
 * timers as data) and of kad-dht's "coord" state machines (events in, named states, actions out).
 * It follows distributed-topic-tracker's `bootstrap.rs` loop, with the changes ARCHITECTURE.md
 * "Tracker" lists.
 *
 * ## States
 * ```
 *  idle ──start──▶ explicit-wait ──timer──┐           (explicit peers given: wait before the first pass)
 *    └──start─────────────────────────────┴─▶ pass:reading ◀──────────────────────────────────────┐
 *                                              │   ▲ record-found: a candidate                      │
 *                                   candidate  ▼   │ none left, reads idle: next stage read         │
 *                                          pass:settle ──timer `settle`, still joining──▶ dial-wait │
 *                                              │   ◀── join-settled / timer `dial-wait` ────┘        │
 *                                              │ no stage left, or maxJoinPeers asked               │
 *                                              ▼                                                    │
 *                                        pass:finishing (slot 0 reads of both minutes done)         │
 *                 no records of others ┌───────┴────────┐ records, still alone                      │
 *       (publish for the minute once)  ▼                ▼                                           │
 *                                   watching      confirm-wait ──timer──▶ (publish) poll-wait ──────┤
 *          timer `watch`: re-ask       │  ▲ nothing                                   timer `poll`  │
 *          slots 0, 1 in one round ──▶ watch-pass ──records──▶ settle …                             │
 *          a new minute, or a record our put came across: a full pass ────────────────────────────┘
 *  any state ──neighbor-up──▶ linking (a start-up record of ours landed) ──▶ joined
 *                               timer `link` → read slot 0 → dial its lowest-id publisher
 *  any state ──close──▶ closed
 * ```
 *
 * - **pass** (§10.2 steps 1 and 3): reads come in stages, each only once the candidates of the ones
 *   before ran out (none, or all tried) and no read of the pass is in flight: slot 0 of the first minute;
 *   then, when that slot 0 was clean, slot 0 of the minute before *before* the first minute's other
 *   slots (just after a minute boundary the new minute is empty and last minute's records are where the
 *   peers are; read in the other order, a warm join there walked slots 1–3 of the empty minute first:
 *   the outlier bench:join's slow profile describes); otherwise the first minute's slots 1–3, then the previous minute. A
 *   later stage reads slots 1–3 of a minute only when its slot 0 held something besides our own record.
 *   Candidates are dialed one by one as records open: `settle` (`settleMs`) after each, `dial-wait` (up
 *   to `dialWaitMs` in all) while the mesh says that JOIN is still under way (a `join-settled` event
 *   ends it), at most `maxJoinPeers` per pass.
 * - **start-up record** (step 2): on the first pass, when slot 0 of the current minute held no record
 *   of others, publish ours on the nodes that read found; then `startup-retry` (`noRecordsRetryMs`,
 *   ended early when that publish settles or our put came across someone) and `after-publish`
 *   (`afterPublishRetryMs`, skipped when a node refused ours for holding another's) before slot 0's
 *   nodes are asked again in one round. That re-ask belongs to the pass: its stages wait for it.
 * - **finishing**: once the pass has asked its candidates, it waits for the slot 0 reads of both
 *   minutes before judging it found nothing.
 * - **confirm-wait**, **poll-wait** (step 5): records but still alone: wait `confirmMs`, publish for
 *   the minute if not yet done, wait `pollMs`, next pass.
 * - **watching** (step 4): no records of others. Publish for the minute (once per minute), then
 *   watch: every `watch` interval, which starts at `noRecordsRetryMs` and doubles up to
 *   `loneWatchMaxMs`, ask the nodes known for slots 0 and 1 of the minute again (`RecordStore.read`
 *   `from`: one round, no walk; see `#watchTick`); a full pass (walks) only at the start of a new
 *   minute (which publishes again), or when a put of ours came across a record. A newcomer finds us
 *   through our record of the minute and joins us, so a lone peer needs few reads of its own; it used
 *   to walk every `noRecordsRetryMs` (ARCHITECTURE.md "Tracker" has both figures, from bench:join
 *   `loneQueriesPerMinute`).
 * - **linking** (step 7): joined, and our start-up record was stored: after `link`
 *   (`afterPublishRetryMs`), read slot 0 once more and join its lowest-id publisher other than us.
 *
 * The mesh's state is read through two synchronous queries given at construction (`isNeighbor`, and
 * `joinSettles`: whether the mesh reports `join-settled` at all; without it a dial waits `settleMs`
 * only, as in the reference).
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { PeerInfo } from '../crypto/index.js';
import { assertNever } from '../proto/types.js';
import type { TrackerConfig } from './config.js';
import type { PublishResult, ReadResult, SlotView, StoredRecord } from './record-store.js';

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
  | {
      type: 'wait';
      ms: number;
      why: 'no-records' | 'confirm' | 'poll';
      /** `poll`: peers of this pass we asked to join and did not get as neighbours (unreachable so far). */
      unreachable?: number;
    }
  | { type: 'joined'; elapsedMs: number; neighbors: number }
  | { type: 'merge'; kind: 'bubble' | 'overlap' | 'link'; peers: string[] }
  | { type: 'error'; during: 'read' | 'publish' | 'bootstrap'; error: unknown };

/** A peer worth dialing, with the record that named it. */
export interface Candidate extends PeerInfo {
  /** Hex id. */
  idHex: string;
  /** Hex id of the record's publisher (equal to `idHex` for the publisher itself). */
  via: string;
  minute: number;
}

/** The peers a record names: its publisher first, then the neighbours it lists. */
export function candidatesOf(record: StoredRecord): Candidate[] {
  const via = bytesToHex(record.publisher);
  const out: Candidate[] = [
    { id: record.publisher, addresses: record.addresses, idHex: via, via, minute: record.minute },
  ];
  for (const p of record.peers) {
    out.push({ id: p.id, addresses: p.addresses, idHex: bytesToHex(p.id), via, minute: record.minute });
  }
  return out;
}

/** The machine's timers; at most one of each kind is armed. */
export type BootstrapTimer =
  | 'explicit-wait'
  | 'startup-retry'
  | 'after-publish'
  | 'settle'
  | 'dial-wait'
  | 'confirm'
  | 'poll'
  | 'watch'
  | 'link';

/** What happened, as the driver tells it. Read and publish ids are the ones the actions carried. */
export type BootstrapEvent =
  | { type: 'start'; joined: boolean; explicitWaitMs: number }
  /** A read's `onRecord`: a record of another publisher opened while its lookups still run. */
  | { type: 'record-found'; read: number; record: StoredRecord }
  /** A read ended; `result` undefined when it failed or was cut short. */
  | { type: 'read-done'; read: number; result: ReadResult | undefined }
  /** A record of others that the walk of one of our puts came across. */
  | { type: 'record-seen'; record: StoredRecord }
  /** A publish ended; `result` undefined when nothing was written (an error, no address to advertise). */
  | { type: 'published'; publish: number; result: PublishResult | undefined }
  | { type: 'neighbor-up' }
  /** A JOIN we asked for is no longer under way (its dial failed, its request was answered or timed out). */
  | { type: 'join-settled'; peer: string }
  | { type: 'timer-expired'; timer: BootstrapTimer }
  | { type: 'close' };

/** What the driver should do, in order. */
export type BootstrapAction =
  /** Read `slots` of `minute` (from an earlier read's nodes when `from` is given); `report`: send `record-found`s. */
  | { type: 'read'; read: number; minute: number; slots: number[]; from?: ReadResult; report: boolean }
  /** Abort these reads (their pass is over): they have nothing left to tell. */
  | { type: 'cancel-reads'; reads: number[] }
  | {
      type: 'publish';
      publish: number;
      minute: number;
      reason: PublishReason;
      /** A read of `minute` to store on (its nodes) and check against; none: the store reads itself. */
      read: ReadResult | undefined;
      /** See `RecordStore.publish`; the start-up record only. */
      skipIfOthersFound: boolean;
    }
  /** Ask the mesh to join `candidate`; `link`: the link step's. */
  | { type: 'dial'; candidate: Candidate; link: boolean }
  | { type: 'schedule'; timer: BootstrapTimer; delayMs: number }
  | { type: 'cancel-timer'; timer: BootstrapTimer }
  | { type: 'emit'; event: TrackerEvent }
  /** The loop is over: we have a neighbour (the link step may follow). */
  | { type: 'joined' };

/** Named states (see the module comment). */
export type BootstrapStateName =
  | 'idle'
  | 'explicit-wait'
  | 'reading'
  | 'settle'
  | 'dial-wait'
  | 'finishing'
  | 'confirm-wait'
  | 'poll-wait'
  | 'watching'
  | 'linking'
  | 'joined'
  | 'closed';

export interface BootstrapOptions {
  config: TrackerConfig['bootstrap'];
  /** Our id, hex: never a candidate. */
  selfHex: string;
  /** Uniform [0, 1): random picks among the queued publishers. */
  random: () => number;
  /** Whether a peer is a neighbour now (candidates that are get skipped; the link step's leader). */
  isNeighbor?: (idHex: string) => boolean;
  /** Whether the mesh sends `join-settled`; without it a dial waits `settleMs` only. */
  joinSettles?: boolean;
}

/**
 * A lone peer's first look at a new minute comes this long after the minute began (guess): a timer
 * of a scaled clock may fire a little early in clock time, and the look would land in the old minute.
 */
const NEW_MINUTE_MARGIN_MS = 50;

/** The slots a lone peer watches (see `#watchTick`). */
const WATCH_SLOTS = [0, 1];
/**
 * A watch re-ask asks this many of a slot's closest known nodes (guess). A publisher stores on 5 of the
 * 16 closest (`replicas`, `closestWindow`): the chance that none of them is among our 10 closest is
 * C(6,5)/C(16,5) ≈ 0.1 %, and the next minute's full pass would find it anyway. Half the queries of
 * asking all k = 20.
 */
const WATCH_NODES = 10;

/** A copy of `view` whose slots list only their `WATCH_NODES` closest nodes (closest first already). */
function closestOf(view: ReadResult): ReadResult {
  return { ...view, slots: view.slots.map((s) => ({ ...s, nodes: s.nodes.slice(0, WATCH_NODES) })) };
}

/**
 * `b`'s slots over `a`'s (same minute), each slot keeping the view that knows more nodes: a re-ask's
 * answer lists only the nodes that answered it, and should not shrink the set the next one asks.
 */
function mergeViews(a: ReadResult | undefined, b: ReadResult): ReadResult {
  if (a === undefined || a.minute !== b.minute) return b;
  const slots = new Map(a.slots.map((s) => [s.index, s]));
  for (const s of b.slots) {
    const old = slots.get(s.index);
    if (old === undefined || s.nodes.length >= old.nodes.length) slots.set(s.index, s);
  }
  return { ...b, slots: [...slots.values()].sort((x, y) => x.index - y.index) };
}

/** One read of a pass. */
interface PassRead {
  minute: number;
  slots: number[];
  done: boolean;
  result: ReadResult | undefined;
}

type Stage = 'first-rest' | 'previous-0' | 'previous-rest';

type PassStep = 'reading' | 'settle' | 'dial-wait' | 'finishing' | 'confirm-wait' | 'poll-wait';

/** The start-up record's second look (step 2), part of the first pass. */
type StartupStep = 'off' | 'await-read' | 'retry' | 'after-publish' | 'reasking' | 'done';

interface Pass {
  /** A full pass (walks), or a watch pass (one re-ask of slot 0). */
  kind: 'full' | 'watch';
  minute: number;
  first: number;
  queue: Candidates;
  reads: Map<number, PassRead>;
  current: number;
  previous: number | undefined;
  /** Reads of slot 0 of the first minute (the first one and the start-up re-ask). */
  slot0: number[];
  stages: Stage[];
  step: PassStep;
  asked: number;
  dialing: { idHex: string; settled: boolean } | undefined;
  startup: StartupStep;
  startupReask: number | undefined;
}

/** Candidates in arrival order, each id once, minus ourselves; `take` skips neighbours. */
class Candidates {
  readonly #seen = new Set<string>();
  readonly #queue: Candidate[] = [];
  /** Distinct records added. */
  records = 0;

  constructor(
    private readonly selfHex: string,
    private readonly isNeighbor: (idHex: string) => boolean,
    private readonly random: () => number,
  ) {}

  addRecord(record: StoredRecord): void {
    this.records += 1;
    for (const c of candidatesOf(record)) {
      if (c.idHex === this.selfHex || this.#seen.has(c.idHex) || c.addresses.length === 0) continue;
      this.#seen.add(c.idHex);
      this.#queue.push(c);
    }
  }

  /**
   * The next candidate that is not a neighbour by now: at random among the queued publishers, then
   * among the other queued peers. Peers that start together all see the same few records, and
   * spreading their JOINs over those publishers spares each of them an eviction per extra JOIN.
   */
  take(): Candidate | undefined {
    for (;;) {
      const q = this.#queue;
      if (q.length === 0) return undefined;
      let i = 0;
      if (q.length > 1) {
        const publishers = q.flatMap((c, j) => (c.via === c.idHex ? [j] : []));
        const from = publishers.length > 0 ? publishers : q.map((_, j) => j);
        i = from[Math.min(from.length - 1, Math.floor(this.random() * from.length))]!;
      }
      const [c] = q.splice(i, 1);
      if (c !== undefined && !this.isNeighbor(c.idHex)) return c;
    }
  }
}

/**
 * A slot that holds nothing of others: no value at all on its closest nodes, or only our own record
 * (junk could push publishers on to the next slots, so a slot holding junk is not clean).
 */
function cleanOfOthers(s: SlotView, read: ReadResult): boolean {
  if (s.invalid > 0) return false;
  if (s.records === 0) return s.occupied === 0;
  return s.records === 1 && read.own?.slot === s.index && Object.keys(read.rejected).length === 0;
}

/** The bootstrap loop; see the module comment. */
export class Bootstrap {
  readonly #cfg: TrackerConfig['bootstrap'];
  readonly #self: string;
  readonly #random: () => number;
  readonly #isNeighbor: (idHex: string) => boolean;
  readonly #joinSettles: boolean;
  readonly #armed = new Set<BootstrapTimer>();
  #state: 'idle' | 'explicit-wait' | 'pass' | 'watching' | 'linking' | 'joined' | 'closed' = 'idle';
  #pass: Pass | undefined;
  #passes = 0;
  #nextId = 1;
  #lastPublishedMinute = -1;
  /** Records of others our puts came across while no pass was under way: first in the next one. */
  #seen: StoredRecord[] = [];
  #startup: { publish: number; settled: boolean; result: PublishResult | undefined } | undefined;
  /** The newest read of slot 0 of the first pass's minute: the link step and watching ask its nodes. */
  #slot0View: ReadResult | undefined;
  /** Watching: the nodes of the current minute's slots 0 and 1 (see `#watchTick`), merged over reads. */
  #watchView: ReadResult | undefined;
  #watchMs = 0;
  #linkRead: number | undefined;
  #out: BootstrapAction[] = [];
  /** The `now` of the event being handled. */
  #now = 0;

  constructor(opts: BootstrapOptions) {
    this.#cfg = opts.config;
    this.#self = opts.selfHex;
    this.#random = opts.random;
    this.#isNeighbor = opts.isNeighbor ?? (() => false);
    this.#joinSettles = opts.joinSettles ?? false;
  }

  /** Full passes started (each reads slot 0 of a minute with a walk, and more only when needed). */
  get passes(): number {
    return this.#passes;
  }

  /** Where the loop is (see the module comment). */
  get state(): BootstrapStateName {
    if (this.#state === 'pass') return this.#pass!.step;
    return this.#state;
  }

  /** Whether the loop has ended (joined, or closed) and the link step, if any, is done too. */
  get finished(): boolean {
    return this.#state === 'joined' || this.#state === 'closed';
  }

  /** Feeds one event; returns the actions to execute, in order. */
  handle(event: BootstrapEvent, now: number): BootstrapAction[] {
    this.#out = [];
    this.#now = now;
    if (this.#state === 'closed') return this.#out;
    switch (event.type) {
      case 'start':
        this.#onStart(event);
        break;
      case 'record-found':
        this.#onRecordFound(event.read, event.record);
        break;
      case 'read-done':
        this.#onReadDone(event.read, event.result);
        break;
      case 'record-seen':
        this.#onRecordSeen(event.record);
        break;
      case 'published':
        this.#onPublished(event.publish, event.result);
        break;
      case 'neighbor-up':
        this.#onNeighborUp();
        break;
      case 'join-settled':
        this.#onJoinSettled(event.peer);
        break;
      case 'timer-expired':
        if (!this.#armed.delete(event.timer)) break; // cancelled meanwhile
        this.#onTimer(event.timer);
        break;
      case 'close':
        this.#close();
        break;
      default:
        assertNever(event);
    }
    return this.#out;
  }

  /** The unix minute of `now` (PROTOCOL.md §6: `floor(unix ms / 60,000)`). */
  #minute(): number {
    return Math.floor(this.#now / 60_000);
  }

  // --- actions ---------------------------------------------------------------------------------------

  #schedule(timer: BootstrapTimer, delayMs: number): void {
    this.#armed.add(timer);
    this.#out.push({ type: 'schedule', timer, delayMs: Math.max(0, delayMs) });
  }

  #cancel(timer: BootstrapTimer): void {
    if (this.#armed.delete(timer)) this.#out.push({ type: 'cancel-timer', timer });
  }

  #emit(event: TrackerEvent): void {
    this.#out.push({ type: 'emit', event });
  }

  #publish(minute: number, reason: PublishReason, read: ReadResult | undefined, skip = false): number {
    const publish = this.#nextId++;
    this.#lastPublishedMinute = minute;
    this.#out.push({ type: 'publish', publish, minute, reason, read, skipIfOthersFound: skip });
    return publish;
  }

  /** Starts a read of the pass; returns its id. */
  #read(pass: Pass, minute: number, slots: number[], from?: ReadResult): number {
    const read = this.#nextId++;
    pass.reads.set(read, { minute, slots, done: false, result: undefined });
    this.#emit({ type: 'read', minutes: [minute] });
    this.#out.push({ type: 'read', read, minute, slots, from, report: true });
    return read;
  }

  // --- events ----------------------------------------------------------------------------------------

  #onStart(event: { joined: boolean; explicitWaitMs: number }): void {
    if (this.#state !== 'idle') return;
    if (event.joined) {
      this.#joined();
      return;
    }
    if (event.explicitWaitMs > 0) {
      this.#state = 'explicit-wait';
      this.#schedule('explicit-wait', event.explicitWaitMs);
      return;
    }
    this.#startPass('full');
  }

  #onRecordFound(read: number, record: StoredRecord): void {
    const pass = this.#pass;
    if (pass === undefined || !pass.reads.has(read)) return;
    this.#emit({
      type: 'record',
      minute: pass.reads.get(read)!.minute,
      publisher: bytesToHex(record.publisher),
      peers: record.peers.length,
    });
    pass.queue.addRecord(record);
    this.#advance();
  }

  #onReadDone(id: number, result: ReadResult | undefined): void {
    if (id === this.#linkRead) {
      this.#onLinkRead(result);
      return;
    }
    const pass = this.#pass;
    const read = pass?.reads.get(id);
    if (pass === undefined || read === undefined || read.done) return;
    read.done = true;
    read.result = result;
    if (id === pass.current && pass.startup === 'await-read') this.#startupAfterRead(pass, result);
    if (id === pass.startupReask) {
      this.#slot0View = result ?? this.#slot0View;
      pass.startup = 'done';
    }
    if (pass.kind === 'watch' && result !== undefined) this.#watchView = mergeViews(this.#watchView, result);
    if (pass.step === 'finishing') this.#finish(pass);
    else this.#advance();
  }

  #onRecordSeen(record: StoredRecord): void {
    if (this.#state === 'watching') {
      // Our put came across someone: a full pass, which dials them first.
      this.#seen.push(record);
      this.#cancel('watch');
      this.#startPass('full');
      return;
    }
    const pass = this.#pass;
    if (this.#state !== 'pass' || pass === undefined) {
      if (this.#state !== 'joined' && this.#state !== 'linking') this.#seen.push(record);
      return;
    }
    if (pass.step === 'finishing' || pass.step === 'confirm-wait') {
      // Too late for this pass's candidates: the next pass dials them first.
      this.#seen.push(record);
      return;
    }
    if (pass.step === 'poll-wait') {
      this.#seen.push(record);
      this.#cancel('poll');
      this.#startPass('full');
      return;
    }
    pass.queue.addRecord(record);
    // The start-up second look: someone is known now, dial them rather than look again.
    if (pass.startup === 'retry') this.#startupWoken(pass);
    else if (pass.startup === 'after-publish') {
      this.#cancel('after-publish');
      pass.startup = 'done';
    }
    this.#advance();
  }

  #onPublished(id: number, result: PublishResult | undefined): void {
    const s = this.#startup;
    if (s === undefined || s.publish !== id) return;
    s.settled = true;
    s.result = result;
    const pass = this.#pass;
    if (this.#state === 'pass' && pass !== undefined && pass.startup === 'retry') {
      this.#startupWoken(pass);
      this.#advance();
    } else if (this.#state === 'linking' && this.#linkRead === undefined && !this.#armed.has('link')) {
      this.#linkAfterStartup();
    }
  }

  #onNeighborUp(): void {
    if (this.#state === 'linking' || this.#state === 'joined') return;
    this.#joined();
  }

  #onJoinSettled(peer: string): void {
    const pass = this.#pass;
    if (this.#state !== 'pass' || pass?.dialing?.idHex !== peer) return;
    pass.dialing.settled = true;
    if (pass.step === 'dial-wait') {
      this.#cancel('dial-wait');
      this.#afterDial(pass);
    }
  }

  #onTimer(timer: BootstrapTimer): void {
    const pass = this.#pass;
    switch (timer) {
      case 'explicit-wait':
        if (this.#state === 'explicit-wait') this.#startPass('full');
        break;
      case 'startup-retry':
        if (pass !== undefined && pass.startup === 'retry') {
          this.#startupWoken(pass);
          this.#advance();
        }
        break;
      case 'after-publish':
        if (pass !== undefined && pass.startup === 'after-publish') this.#startupReask(pass);
        break;
      case 'settle':
        if (pass?.step === 'settle') this.#afterSettle(pass);
        break;
      case 'dial-wait':
        if (pass?.step === 'dial-wait') this.#afterDial(pass);
        break;
      case 'confirm':
        if (pass?.step === 'confirm-wait') this.#afterConfirm(pass);
        break;
      case 'poll':
        if (pass?.step === 'poll-wait') this.#startPass('full');
        break;
      case 'watch':
        if (this.#state === 'watching') this.#watchTick();
        break;
      case 'link':
        if (this.#state === 'linking') this.#linkRead0();
        break;
      default:
        assertNever(timer);
    }
  }

  // --- passes (steps 1–3) ----------------------------------------------------------------------------

  #startPass(kind: 'full' | 'watch'): void {
    this.#endPass();
    const minute = this.#minute();
    const firstPass = this.#passes === 0 && kind === 'full';
    // The minute read first: the current one, or (first pass with checkOlderFirst) the one before.
    const first = firstPass && this.#cfg.checkOlderFirst ? minute - 1 : minute;
    const pass: Pass = {
      kind,
      minute,
      first,
      queue: new Candidates(this.#self, this.#isNeighbor, this.#random),
      reads: new Map(),
      current: 0,
      previous: undefined,
      slot0: [],
      stages: kind === 'full' ? ['first-rest', 'previous-0', 'previous-rest'] : [],
      step: 'reading',
      asked: 0,
      dialing: undefined,
      startup: firstPass && this.#cfg.publishOnStart && first === minute ? 'await-read' : 'off',
      startupReask: undefined,
    };
    if (kind === 'full') this.#passes += 1;
    this.#state = 'pass';
    this.#pass = pass;
    for (const r of this.#seen) pass.queue.addRecord(r);
    this.#seen = [];
    if (kind === 'watch') pass.current = this.#read(pass, first, WATCH_SLOTS, closestOf(this.#watchView!));
    else pass.current = this.#read(pass, first, [0]);
    pass.slot0.push(pass.current);
    this.#advance();
  }

  /** Ends the pass under way: its reads in flight are aborted. */
  #endPass(): void {
    const pass = this.#pass;
    if (pass === undefined) return;
    this.#pass = undefined;
    const open = [...pass.reads].filter(([, r]) => !r.done).map(([id]) => id);
    if (open.length > 0) this.#out.push({ type: 'cancel-reads', reads: open });
    for (const t of ['startup-retry', 'after-publish', 'settle', 'dial-wait', 'confirm', 'poll'] as const) {
      this.#cancel(t);
    }
  }

  /** Whether a read of the pass, or its start-up second look, may still add candidates. */
  #sourcesBusy(pass: Pass): boolean {
    if (pass.startup !== 'off' && pass.startup !== 'done') return true;
    for (const r of pass.reads.values()) if (!r.done) return true;
    return false;
  }

  /** In `reading`: dial the next candidate, or start the next stage, or finish the candidates. */
  #advance(): void {
    const pass = this.#pass;
    if (this.#state !== 'pass' || pass === undefined || pass.step !== 'reading') return;
    for (;;) {
      const c = pass.queue.take();
      if (c !== undefined) {
        this.#dial(pass, c);
        return;
      }
      if (this.#sourcesBusy(pass)) return;
      if (!this.#nextStage(pass)) break;
    }
    pass.step = 'finishing';
    this.#finish(pass);
  }

  /** Starts the next stage that has something to read; false when none is left. */
  #nextStage(pass: Pass): boolean {
    const done = (id: number | undefined) => (id === undefined ? undefined : pass.reads.get(id));
    const clean = (ids: (number | undefined)[]) =>
      ids.every((id) => {
        const r = done(id)?.result;
        return r?.slots.every((s) => cleanOfOthers(s, r)) === true;
      });
    // Just after a minute boundary the new minute is empty: when its slot 0 was clean, last minute's
    // slot 0 comes before this minute's other slots (see the module comment).
    if (pass.stages[0] === 'first-rest' && pass.previous === undefined && clean([pass.current])) {
      pass.stages = ['previous-0', 'first-rest', 'previous-rest'];
    }
    while (pass.stages.length > 0) {
      const stage = pass.stages.shift()!;
      switch (stage) {
        case 'first-rest':
          if (clean(pass.slot0)) continue;
          this.#read(pass, pass.first, [1, 2, 3]);
          return true;
        case 'previous-0':
          pass.previous = this.#read(pass, pass.first - 1, [0]);
          return true;
        case 'previous-rest':
          if (pass.previous === undefined || clean([pass.previous])) continue;
          this.#read(pass, pass.first - 1, [1, 2, 3]);
          return true;
        default:
          assertNever(stage);
      }
    }
    return false;
  }

  #dial(pass: Pass, c: Candidate): void {
    pass.asked += 1;
    pass.dialing = { idHex: c.idHex, settled: !this.#joinSettles };
    pass.step = 'settle';
    this.#out.push({ type: 'dial', candidate: c, link: false });
    this.#schedule('settle', this.#cfg.settleMs);
  }

  #afterSettle(pass: Pass): void {
    // Still connecting, or our JOIN still unanswered: let it finish rather than JOIN someone else.
    const left = this.#cfg.dialWaitMs - this.#cfg.settleMs;
    if (pass.dialing?.settled === false && left > 0) {
      pass.step = 'dial-wait';
      this.#schedule('dial-wait', left);
      return;
    }
    this.#afterDial(pass);
  }

  #afterDial(pass: Pass): void {
    pass.dialing = undefined;
    if (pass.asked >= this.#cfg.maxJoinPeers) {
      pass.step = 'finishing';
      this.#finish(pass);
      return;
    }
    pass.step = 'reading';
    this.#advance();
  }

  /** The candidates are asked: once both minutes' slot 0 reads are in, judge the pass. */
  #finish(pass: Pass): void {
    if (!pass.reads.get(pass.current)!.done) return;
    if (pass.previous !== undefined && !pass.reads.get(pass.previous)!.done) return;
    const view = pass.reads.get(pass.current)!.result;
    const read = pass.first === pass.minute ? view : undefined;
    if (pass.queue.records === 0) {
      // Step 4: nobody there. Our record of the minute lets newcomers find us; then watch.
      if (pass.minute !== this.#lastPublishedMinute) this.#publish(pass.minute, 'no-records', read);
      // The re-ask interval doubles while nobody shows up, and keeps its length over a new minute's
      // full pass; a pass that found records starts it over.
      if (this.#watchMs === 0) this.#watchMs = this.#cfg.noRecordsRetryMs;
      else if (pass.kind === 'watch') this.#watchMs = Math.min(this.#watchMs * 2, this.#watchMaxMs());
      if (pass.kind === 'full' && view !== undefined && pass.first === pass.minute) {
        this.#watchView = mergeViews(this.#watchView, view);
      }
      this.#endPass();
      this.#state = 'watching';
      // A new minute's full pass (and our record in it) comes right at its start, so that newcomers
      // find us in the minute they read first.
      const ms = Math.min(this.#watchMs, (this.#minute() + 1) * 60_000 - this.#now + NEW_MINUTE_MARGIN_MS);
      this.#emit({ type: 'wait', ms, why: 'no-records' });
      this.#schedule('watch', ms);
      return;
    }
    // Step 5: records, still alone.
    this.#watchMs = 0;
    pass.step = 'confirm-wait';
    this.#emit({ type: 'wait', ms: this.#cfg.confirmMs, why: 'confirm' });
    this.#schedule('confirm', this.#cfg.confirmMs);
  }

  #watchMaxMs(): number {
    return Math.max(this.#cfg.noRecordsRetryMs, this.#cfg.loneWatchMaxMs);
  }

  #afterConfirm(pass: Pass): void {
    if (pass.minute !== this.#lastPublishedMinute) {
      const view = pass.reads.get(pass.current)!.result;
      this.#publish(pass.minute, 'alone', pass.first === pass.minute ? view : undefined);
    }
    pass.step = 'poll-wait';
    this.#emit({ type: 'wait', ms: this.#cfg.pollMs, why: 'poll', unreachable: pass.asked });
    this.#schedule('poll', this.#cfg.pollMs);
  }

  /**
   * Watching: a new minute gets a full pass; otherwise slots 0 and 1 of the minute are asked again on
   * the nodes known for them (the first time in a minute, slot 1 is walked). Slot 0 for peers that
   * missed our record and published a start-up record of their own; slot 1 for the minute's second
   * record: a publisher takes the slot whose closest nodes hold the fewest values (record-store.ts),
   * and with ours in slot 0 that is slot 1. Such a publisher has joined someone but not us: an app of
   * `discoverPeers` that took another candidate, or a member whose dial to us failed.
   */
  #watchTick(): void {
    const view = this.#watchView;
    if (view === undefined || view.minute !== this.#minute()) {
      this.#watchView = undefined;
      this.#startPass('full');
      return;
    }
    this.#startPass('watch');
  }

  // --- the start-up record (step 2) ------------------------------------------------------------------

  #startupAfterRead(pass: Pass, view: ReadResult | undefined): void {
    // The start-up record is for peers starting together on an empty topic: on a live one (or when
    // the read failed) it would take a slot for nothing; the publisher runs once we have joined.
    if (view === undefined || view.records.length > 0) {
      pass.startup = 'done';
      return;
    }
    // Stored on the nodes the read just found, without a walk of its own: peers that start with us on
    // an empty topic publish at about the same time, and a node already holding one of theirs refuses
    // ours (301/302, or a read-back shows theirs), which ends the publish; the second look below then
    // shows who is there.
    const publish = this.#publish(pass.minute, 'startup', view, true);
    this.#startup = { publish, settled: false, result: undefined };
    this.#slot0View = view;
    pass.startup = 'retry';
    this.#schedule('startup-retry', this.#cfg.noRecordsRetryMs);
  }

  /** The start-up publish settled, our put came across someone, or `startup-retry` is over. */
  #startupWoken(pass: Pass): void {
    this.#cancel('startup-retry');
    // Our put came across someone (when slot 0 had no free node, it walked another slot): dial them
    // (already queued) instead of looking again.
    if (pass.queue.records > 0) {
      pass.startup = 'done';
      return;
    }
    if (this.#startup?.result?.status === 'skipped') {
      this.#startupReask(pass);
      return;
    }
    pass.startup = 'after-publish';
    this.#schedule('after-publish', this.#cfg.afterPublishRetryMs);
  }

  #startupReask(pass: Pass): void {
    if (pass.queue.records > 0 || this.#slot0View === undefined) {
      pass.startup = 'done';
      this.#advance();
      return;
    }
    pass.startup = 'reasking';
    pass.startupReask = this.#read(pass, pass.minute, [0], this.#slot0View);
    pass.slot0.push(pass.startupReask);
  }

  // --- joined, and the link step (step 7) ------------------------------------------------------------

  #joined(): void {
    this.#endPass();
    this.#cancel('explicit-wait');
    this.#cancel('watch');
    this.#out.push({ type: 'joined' });
    if (this.#startup === undefined) {
      this.#state = 'joined';
      return;
    }
    this.#state = 'linking';
    if (this.#startup.settled) this.#linkAfterStartup();
  }

  /** Our start-up record and those of the peers that started with us land at about the same time. */
  #linkAfterStartup(): void {
    if (this.#startup?.result?.status !== 'published') {
      this.#state = 'joined';
      return;
    }
    this.#schedule('link', this.#cfg.afterPublishRetryMs);
  }

  #linkRead0(): void {
    const read = this.#nextId++;
    this.#linkRead = read;
    // Slot 0's nodes are known from the bootstrap's read (in the same minute): ask them again.
    this.#out.push({
      type: 'read',
      read,
      minute: this.#minute(),
      slots: [0],
      from: this.#slot0View,
      report: false,
    });
  }

  /**
   * Peers that start together on an empty topic publish several start-up records at once, and each
   * publisher is dialed by a group of the others; such a group hangs on its publisher. So the
   * publisher joins the minute's *leading* publisher, the one with the lowest id other than us, unless
   * it is a neighbour already: every publisher picks the same leader (the leader itself the next one),
   * so the groups meet in one place (PROTOCOL.md §10.2 step 7).
   */
  #onLinkRead(view: ReadResult | undefined): void {
    this.#linkRead = undefined;
    this.#state = 'joined';
    if (view === undefined) return;
    // `records` leaves our own out: when we lead, we link to the next one.
    const leader = view.records
      .map((r) => ({ r, id: bytesToHex(r.publisher) }))
      .sort((a, b) => (a.id < b.id ? -1 : 1))[0];
    if (leader === undefined || this.#isNeighbor(leader.id)) return;
    const [c] = candidatesOf(leader.r);
    if (c === undefined || c.addresses.length === 0) return;
    this.#emit({ type: 'merge', kind: 'link', peers: [c.idHex] });
    this.#out.push({ type: 'dial', candidate: c, link: true });
  }

  #close(): void {
    this.#endPass();
    for (const t of [...this.#armed]) this.#cancel(t);
    if (this.#linkRead !== undefined) this.#out.push({ type: 'cancel-reads', reads: [this.#linkRead] });
    this.#linkRead = undefined;
    this.#state = 'closed';
  }
}
