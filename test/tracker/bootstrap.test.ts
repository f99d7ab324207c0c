/**
 * The bootstrap state machine (src/tracker/bootstrap.ts) under virtual time, with no I/O: the test is
 * the driver. It executes nothing; it answers the machine's reads and publishes with made-up results,
 * fires its timers in order on a virtual clock, and checks the actions and named states that come out.
 */
import { describe, expect, it } from 'vitest';
import type { PeerInfo } from '../../src/crypto/index.js';
import {
  Bootstrap,
  type BootstrapAction,
  type BootstrapEvent,
  type BootstrapTimer,
} from '../../src/tracker/bootstrap.js';
import { parseTrackerConfig, type TrackerConfigInput } from '../../src/tracker/config.js';
import type { PublishResult, ReadResult, SlotView, StoredRecord } from '../../src/tracker/record-store.js';

const SELF = 'ee'.repeat(32);
const MINUTE = 29_000_000;
/** 10 s into MINUTE. */
const T0 = MINUTE * 60_000 + 10_000;

const id = (byte: number) => new Uint8Array(32).fill(byte);
const hexOf = (byte: number) => byte.toString(16).padStart(2, '0').repeat(32);
const peer = (byte: number): PeerInfo => ({ id: id(byte), addresses: [{ host: '127.0.0.1', port: byte }] });

/** A record of publisher `byte` in `minute`, listing `peers`. */
function record(byte: number, minute = MINUTE, peers: number[] = []): StoredRecord {
  return {
    topic: new Uint8Array(32),
    minute,
    publisher: id(byte),
    addresses: [{ host: '127.0.0.1', port: byte }],
    peers: peers.map(peer),
    messageIds: [],
    signature: new Uint8Array(64),
    slot: 0,
    seq: 1,
  };
}

/** A read's result: `records` in slot 0 (of others), clean otherwise; with responders to re-ask. */
function view(minute: number, slots: number[], records: StoredRecord[] = [], own?: StoredRecord): ReadResult {
  const slotViews: SlotView[] = slots.map((index) => {
    const n = (index === 0 ? records.length : 0) + (own !== undefined && own.slot === index ? 1 : 0);
    return {
      index,
      responders: 20,
      occupied: n * 5,
      records: n,
      invalid: 0,
      timedOut: false,
      nodes: [{ id: id(0x10), host: '127.0.0.1', port: 6881, token: new Uint8Array(4) }],
    };
  });
  return {
    minute,
    readAtMs: 0,
    records,
    own,
    rejected: {},
    lookups: slots.length,
    slots: slotViews,
    complete: slots.length === 4,
  };
}

const published = (minute: number): PublishResult => ({
  status: 'published',
  minute,
  slot: 0,
  seq: 1,
  accepted: 5,
  attempts: 1,
});

type Read = Extract<BootstrapAction, { type: 'read' }>;
type Publish = Extract<BootstrapAction, { type: 'publish' }>;

/** The test's driver: a virtual clock, the armed timers, and every action the machine asked for. */
function harness(config: TrackerConfigInput['bootstrap'] = {}, opts: { joinSettles?: boolean } = {}) {
  const cfg = parseTrackerConfig({ bootstrap: config }).bootstrap;
  let seed = 1;
  const machine = new Bootstrap({
    config: cfg,
    selfHex: SELF,
    // A fixed sequence: the machine takes its randomness from here only.
    random: () => {
      seed = (seed * 16807) % 2147483647;
      return (seed - 1) / 2147483646;
    },
    joinSettles: opts.joinSettles ?? false,
  });
  let now = T0;
  const timers = new Map<BootstrapTimer, number>();
  const log: BootstrapAction[] = [];
  const open = new Map<number, Read>();
  const feed = (event: BootstrapEvent): BootstrapAction[] => {
    const out = machine.handle(event, now);
    for (const a of out) {
      log.push(a);
      if (a.type === 'schedule') timers.set(a.timer, now + a.delayMs);
      if (a.type === 'cancel-timer') timers.delete(a.timer);
      if (a.type === 'read') open.set(a.read, a);
      if (a.type === 'cancel-reads') for (const r of a.reads) open.delete(r);
    }
    return out;
  };
  /** Fires the earliest armed timer (moving the clock to it); returns its name. */
  const fireNext = (): BootstrapTimer => {
    const [timer, at] = [...timers].sort((a, b) => a[1] - b[1])[0]!;
    timers.delete(timer);
    now = Math.max(now, at);
    feed({ type: 'timer-expired', timer });
    return timer;
  };
  const lastRead = (): Read => [...open.values()].at(-1)!;
  const done = (read: Read, result: ReadResult | undefined) => {
    open.delete(read.read);
    return feed({ type: 'read-done', read: read.read, result });
  };
  const of = <T extends BootstrapAction['type']>(out: BootstrapAction[], type: T) =>
    out.filter((a): a is Extract<BootstrapAction, { type: T }> => a.type === type);
  return {
    machine,
    cfg,
    feed,
    fireNext,
    lastRead,
    done,
    of,
    log,
    timers,
    open,
    get now() {
      return now;
    },
    set now(v: number) {
      now = v;
    },
  };
}

describe('bootstrap machine', () => {
  it('warm join: slot 0 names a peer, it is dialed as its record opens, and a neighbour ends the loop', () => {
    const h = harness({ publishOnStart: false });
    const start = h.feed({ type: 'start', joined: false, explicitWaitMs: 0 });
    expect(h.of(start, 'read')).toMatchObject([{ minute: MINUTE, slots: [0], report: true }]);
    expect(h.of(start, 'emit')).toEqual([{ type: 'emit', event: { type: 'read', minutes: [MINUTE] } }]);
    expect(h.machine.state).toBe('reading');
    const read = h.lastRead();
    // The record opens while the lookup still runs: dialed at once, then `settle`.
    const out = h.feed({ type: 'record-found', read: read.read, record: record(0xa1, MINUTE, [0xa2]) });
    expect(h.of(out, 'dial')).toMatchObject([{ candidate: { idHex: hexOf(0xa1), via: hexOf(0xa1) } }]);
    expect(h.of(out, 'schedule')).toEqual([{ type: 'schedule', timer: 'settle', delayMs: 100 }]);
    expect(h.machine.state).toBe('settle');
    const joined = h.feed({ type: 'neighbor-up' });
    expect(joined.map((a) => a.type)).toEqual(['cancel-reads', 'cancel-timer', 'joined']);
    expect(h.machine.state).toBe('joined');
    expect(h.machine.finished).toBe(true);
    expect(h.machine.passes).toBe(1);
  });

  it('empty topic: start-up record on the first read, a second look at slot 0 one round later, then watching', () => {
    const h = harness();
    h.feed({ type: 'start', joined: false, explicitWaitMs: 0 });
    const first = h.lastRead();
    const empty = view(MINUTE, [0]);
    const out = h.done(first, empty);
    const [pub] = h.of(out, 'publish');
    expect(pub).toMatchObject({ minute: MINUTE, reason: 'startup', read: empty, skipIfOthersFound: true });
    expect(h.timers.has('startup-retry')).toBe(true);
    // The put lands: `after-publish` (afterPublishRetryMs), then slot 0's nodes are asked again.
    h.feed({ type: 'published', publish: pub!.publish, result: published(MINUTE) });
    expect(h.timers.has('startup-retry')).toBe(false);
    expect(h.fireNext()).toBe('after-publish');
    const again = h.lastRead();
    expect(again).toMatchObject({ minute: MINUTE, slots: [0], from: empty });
    // Our own record is all it shows: clean of others, so last minute's slot 0 is next (not slots 1–3).
    const own = { ...record(0xee), slot: 0 };
    h.done(again, view(MINUTE, [0], [], own));
    const prev = h.lastRead();
    expect(prev).toMatchObject({ minute: MINUTE - 1, slots: [0] });
    expect(h.machine.state).toBe('reading');
    const end = h.done(prev, view(MINUTE - 1, [0]));
    // Nobody: no second publish in this minute, the wait is reported, then re-asks of slot 0.
    expect(h.of(end, 'publish')).toEqual([]);
    expect(h.of(end, 'emit')).toContainEqual({
      type: 'emit',
      event: { type: 'wait', ms: 1500, why: 'no-records' },
    });
    expect(h.machine.state).toBe('watching');
    // Watching: slots 0 and 1 on the nodes known for them (slot 0's from the first read; slot 1's
    // nodes are not known yet, so the store walks to them this once).
    expect(h.fireNext()).toBe('watch');
    const watch = h.lastRead();
    expect(watch).toMatchObject({ minute: MINUTE, slots: [0, 1] });
    expect(watch.from?.slots.map((s) => s.index)).toEqual([0]);
    expect(h.machine.passes).toBe(1);
  });

  it('a watch re-ask that finds a newcomer in slot 1 dials it', () => {
    const h = harness({ publishOnStart: false });
    h.feed({ type: 'start', joined: false, explicitWaitMs: 0 });
    h.done(h.lastRead(), view(MINUTE, [0]));
    const out = h.done(h.lastRead(), view(MINUTE - 1, [0]));
    expect(h.of(out, 'publish')).toMatchObject([{ reason: 'no-records', minute: MINUTE }]);
    h.fireNext();
    const reask = h.lastRead();
    expect(reask.from).toBeDefined();
    const dial = h.feed({ type: 'record-found', read: reask.read, record: { ...record(0xb1), slot: 1 } });
    expect(h.of(dial, 'dial')).toMatchObject([{ candidate: { idHex: hexOf(0xb1) } }]);
  });

  it('one by one: settleMs per candidate, dialWaitMs while a JOIN is under way, maxJoinPeers per pass', () => {
    const h = harness(
      { publishOnStart: false, settleMs: 100, dialWaitMs: 1000, maxJoinPeers: 3 },
      {
        joinSettles: true,
      },
    );
    h.feed({ type: 'start', joined: false, explicitWaitMs: 0 });
    const read = h.lastRead();
    h.feed({ type: 'record-found', read: read.read, record: record(0xa1, MINUTE, [0xa2, 0xa3, 0xa4]) });
    const dials = () => h.log.filter((a) => a.type === 'dial').length;
    expect(dials()).toBe(1);
    // The JOIN is still under way when `settle` is over: wait for it (up to dialWaitMs in all).
    expect(h.fireNext()).toBe('settle');
    expect(h.machine.state).toBe('dial-wait');
    expect(h.timers.get('dial-wait')).toBe(h.now + 900);
    h.now += 40;
    const next = h.feed({ type: 'join-settled', peer: hexOf(0xa1) });
    expect(h.of(next, 'dial')).toHaveLength(1);
    expect(dials()).toBe(2);
    // A JOIN that settles within `settle` does not cut it short.
    const second = h.log.filter((a) => a.type === 'dial').at(-1) as Extract<
      BootstrapAction,
      { type: 'dial' }
    >;
    expect(h.feed({ type: 'join-settled', peer: second.candidate.idHex })).toEqual([]);
    expect(h.machine.state).toBe('settle');
    expect(h.fireNext()).toBe('settle');
    expect(dials()).toBe(3);
    // Unanswered: `dial-wait` runs out, and the third is the last of this pass.
    expect(h.fireNext()).toBe('settle');
    expect(h.fireNext()).toBe('dial-wait');
    expect(dials()).toBe(3);
    expect(h.machine.state).toBe('finishing');
    // The pass waits for its slot 0 read before judging it: records, still alone.
    h.done(read, view(MINUTE, [0], [record(0xa1, MINUTE, [0xa2, 0xa3, 0xa4])]));
    expect(h.machine.state).toBe('confirm-wait');
    expect(h.fireNext()).toBe('confirm');
    expect(h.log.filter((a) => a.type === 'publish')).toMatchObject([{ reason: 'alone' }]);
    expect(h.machine.state).toBe('poll-wait');
    // The status says how many peers were asked and did not come up (gtt: "none reachable yet").
    expect(h.log.filter((a) => a.type === 'emit' && a.event.type === 'wait').at(-1)).toMatchObject({
      event: { why: 'poll', unreachable: 3 },
    });
    expect(h.fireNext()).toBe('poll');
    expect(h.machine.passes).toBe(2);
    expect(h.lastRead()).toMatchObject({ minute: MINUTE, slots: [0] });
    expect(h.lastRead().from).toBeUndefined();
  });

  it('a mesh without join-settled: settleMs only, as the reference', () => {
    const h = harness({ publishOnStart: false });
    h.feed({ type: 'start', joined: false, explicitWaitMs: 0 });
    h.feed({ type: 'record-found', read: h.lastRead().read, record: record(0xa1, MINUTE, [0xa2]) });
    expect(h.fireNext()).toBe('settle');
    expect(h.log.filter((a) => a.type === 'dial')).toHaveLength(2);
  });

  it('a failed read: no start-up record, and the minute is read further (slots 1–3, then the one before)', () => {
    const h = harness();
    h.feed({ type: 'start', joined: false, explicitWaitMs: 0 });
    const out = h.done(h.lastRead(), undefined);
    expect(h.of(out, 'publish')).toEqual([]);
    expect(h.lastRead()).toMatchObject({ minute: MINUTE, slots: [1, 2, 3] });
    h.done(h.lastRead(), view(MINUTE, [1, 2, 3]));
    expect(h.lastRead()).toMatchObject({ minute: MINUTE - 1, slots: [0] });
    const end = h.done(h.lastRead(), view(MINUTE - 1, [0]));
    // No view of the minute to store on: the store reads it itself.
    expect(h.of(end, 'publish')).toMatchObject([{ reason: 'no-records', read: undefined }]);
    expect(h.machine.state).toBe('watching');
    // …and with no nodes to re-ask, the next look is a full pass.
    h.fireNext();
    expect(h.machine.passes).toBe(2);
    expect(h.lastRead().from).toBeUndefined();
  });

  it('minute boundary: a clean slot 0 of the new minute is followed by slot 0 of the one before', () => {
    const h = harness();
    h.now = (MINUTE + 1) * 60_000 + 200;
    h.feed({ type: 'start', joined: false, explicitWaitMs: 0 });
    const cur = h.lastRead();
    h.done(cur, view(MINUTE + 1, [0]));
    // The start-up record and its second look run; last minute's slot 0 is read meanwhile? No: the
    // second look is part of the pass, and then the previous minute comes before slots 1–3.
    const [pub] = h.of(h.log, 'publish');
    h.feed({ type: 'published', publish: pub!.publish, result: published(MINUTE + 1) });
    h.fireNext();
    h.done(h.lastRead(), view(MINUTE + 1, [0], [], { ...record(0xee, MINUTE + 1), slot: 0 }));
    const prev = h.lastRead();
    expect(prev).toMatchObject({ minute: MINUTE, slots: [0] });
    const out = h.feed({ type: 'record-found', read: prev.read, record: record(0xc1, MINUTE) });
    expect(h.of(out, 'dial')).toMatchObject([{ candidate: { idHex: hexOf(0xc1), minute: MINUTE } }]);
    // Slots 1–3 of the new minute were never read.
    expect(h.log.filter((a) => a.type === 'read' && a.slots.length === 3)).toEqual([]);
  });

  it('a lone peer: one publish and at most two walks per minute, re-asks in between', () => {
    const h = harness({ publishOnStart: false });
    h.feed({ type: 'start', joined: false, explicitWaitMs: 0 });
    const end = T0 + 5 * 60_000;
    let guard = 0;
    while ((h.now < end || h.open.size > 0) && guard++ < 1000) {
      const r = h.open.size > 0 ? h.lastRead() : undefined;
      if (r !== undefined) {
        const own = { ...record(0xee, r.minute), slot: 0 };
        h.done(r, view(r.minute, r.slots, [], r.slots.includes(0) ? own : undefined));
        continue;
      }
      h.fireNext();
    }
    const reads = h.log.filter((a): a is Read => a.type === 'read');
    const publishes = h.log.filter((a): a is Publish => a.type === 'publish');
    const walks = reads.filter((r) => r.from === undefined);
    const minutes = 5;
    expect(guard).toBeLessThan(1000);
    expect(publishes.length).toBeLessThanOrEqual(minutes + 1);
    expect(new Set(publishes.map((p) => p.minute)).size).toBe(publishes.length);
    expect(walks.length).toBeLessThanOrEqual(2 * (minutes + 1));
    // Re-asks back off to loneWatchMaxMs: about five a minute.
    expect(reads.length - walks.length).toBeLessThanOrEqual(7 * (minutes + 1));
    expect(reads.every((r) => r.slots.every((i) => i <= 1))).toBe(true);
    expect(h.machine.state).toBe('watching');
  });

  it('linking: once joined, a start-up publisher reads slot 0 again and joins its lowest-id publisher', () => {
    const h = harness();
    h.feed({ type: 'start', joined: false, explicitWaitMs: 0 });
    const empty = view(MINUTE, [0]);
    const out = h.done(h.lastRead(), empty);
    const [pub] = h.of(out, 'publish');
    h.feed({ type: 'published', publish: pub!.publish, result: published(MINUTE) });
    const joined = h.feed({ type: 'neighbor-up' });
    expect(h.of(joined, 'joined')).toHaveLength(1);
    expect(h.machine.state).toBe('linking');
    expect(h.of(joined, 'schedule')).toEqual([{ type: 'schedule', timer: 'link', delayMs: 150 }]);
    expect(h.fireNext()).toBe('link');
    const link = h.lastRead();
    expect(link).toMatchObject({ minute: MINUTE, slots: [0], from: empty, report: false });
    const dial = h.done(link, view(MINUTE, [0], [record(0xd2), record(0xd1)]));
    expect(h.of(dial, 'emit')).toEqual([
      { type: 'emit', event: { type: 'merge', kind: 'link', peers: [hexOf(0xd1)] } },
    ]);
    expect(h.of(dial, 'dial')).toMatchObject([{ link: true, candidate: { idHex: hexOf(0xd1) } }]);
    expect(h.machine.state).toBe('joined');
  });

  it('explicit peers: the first pass waits explicitWaitMs, or none when already joined', () => {
    const h = harness();
    const out = h.feed({ type: 'start', joined: false, explicitWaitMs: 500 });
    expect(out).toEqual([{ type: 'schedule', timer: 'explicit-wait', delayMs: 500 }]);
    expect(h.machine.state).toBe('explicit-wait');
    h.fireNext();
    expect(h.machine.state).toBe('reading');
    const j = harness();
    expect(j.feed({ type: 'start', joined: true, explicitWaitMs: 500 })).toEqual([{ type: 'joined' }]);
    expect(j.machine.passes).toBe(0);
  });

  it('close: cancels its timers and reads, and ignores every later event', () => {
    const h = harness();
    h.feed({ type: 'start', joined: false, explicitWaitMs: 0 });
    const first = h.lastRead();
    h.done(first, view(MINUTE, [0]));
    expect(h.timers.size).toBe(1);
    const out = h.feed({ type: 'close' });
    expect(out).toEqual([{ type: 'cancel-timer', timer: 'startup-retry' }]);
    expect(h.timers.size).toBe(0);
    expect(h.machine.state).toBe('closed');
    expect(h.feed({ type: 'neighbor-up' })).toEqual([]);
    expect(h.feed({ type: 'timer-expired', timer: 'watch' })).toEqual([]);
    // A read in flight is aborted.
    const g = harness();
    g.feed({ type: 'start', joined: false, explicitWaitMs: 0 });
    const inFlight = g.lastRead().read;
    expect(g.feed({ type: 'close' })).toEqual([{ type: 'cancel-reads', reads: [inFlight] }]);
  });
});
