/**
 * The attacker process (started by harness.ts `startAttacker`, one process per attacker): it receives
 * an `AttackSpec` over IPC, sets up (listeners, sessions, JOINs) within `setupTimeoutMs`, announces
 * `attacking`, runs the attack for `durationMs`, then sends its `AttackReport` and exits. Every socket
 * binds to `spec.bindHost`, so the victim sees one hostile host (or to `spec.bindHosts`, round robin:
 * many hosts).
 *
 * It always ends by itself: at the end of the attack phase, when the parent sends `stop` or
 * disconnects (the test process died), or at the hard bound `setupTimeoutMs + durationMs + 10 s`.
 *
 * Adding an attack kind: add its variant to `Attack` (spec.ts) and a case to `run` below, built from the
 * primitives of wire.ts and the helpers of {@link Ctx}; call `ctx.attacking()` once set up.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Address } from '../../src/crypto/address.js';
import type { KeyPair } from '../../src/crypto/keys.js';
import { defaultSuite } from '../../src/native/crypto.js';
import { decodeAddressList, encodeAddressList } from '../../src/net/addresses.js';
import { messageId, messageIdBytes, signedMessage } from '../../src/proto/ids.js';
import type { Message, PeerInfo } from '../../src/proto/types.js';
import {
  encodeFrame,
  GOSSIP_OVERHEAD_BYTES,
  IHAVE_ENTRY_BYTES,
  IHAVE_HEADER_BYTES,
} from '../../src/proto/wire.js';
import {
  type Attack,
  type AttackReport,
  type AttackSpec,
  epochMs,
  type FromAttacker,
  type HoldOptions,
  type JsonObject,
  type ToAttacker,
  toJson,
} from './spec.js';
import {
  askNeighbor,
  countFailure,
  type HeldSocket,
  joinTopic,
  ListenerPool,
  newCounters,
  openSilentWebSocket,
  openSlowHttp,
  openTcp,
  pump,
  type RawSocketOptions,
  randomId,
  randomIdentity,
  Session,
} from './wire.js';

/** Slack past setup + duration before the process stops itself whatever it is doing. */
const HARD_STOP_SLACK_MS = 10_000;
/**
 * Pause before replacing a held connection the victim closed (guess: back within a blink, yet 50
 * sockets shed at once come back at ~200/s, not as a busy loop that loads the whole machine).
 */
const DEFAULT_RECONNECT_DELAY_MS = 250;
/** IHAVE entries in a full frame at the default 64 KiB message size: (65 536 − 36) / 34 = 1926. */
const DEFAULT_IHAVE_ENTRIES = 1900;

const send = (m: FromAttacker): void => {
  if (process.send !== undefined && process.connected) process.send(m);
  else console.log(JSON.stringify(m));
};

/** What an attack implementation gets. */
class Ctx {
  readonly counters = newCounters();
  readonly notes: JsonObject = {};
  readonly stop = new AbortController();
  readonly #stopped = new Promise<void>((resolve) =>
    this.stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  /** Sessions and sockets to close at the end. */
  readonly #sessions = new Set<Session>();
  readonly #sockets = new Set<HeldSocket>();
  listeners: ListenerPool | undefined;
  attackStartedAt: number | undefined;
  /** `performance.now()` at which the attack phase ends (set by `attacking()`). */
  until = Number.POSITIVE_INFINITY;
  readonly #onAttacking: () => void;

  constructor(
    readonly spec: AttackSpec,
    onAttacking: () => void,
  ) {
    this.#onAttacking = onAttacking;
  }

  get aborted(): boolean {
    return this.stop.signal.aborted;
  }

  /** Setup is done: the attack phase starts now and lasts `durationMs`. Returns its end (performance.now()). */
  attacking(): number {
    if (this.attackStartedAt === undefined) {
      this.attackStartedAt = epochMs();
      this.until = performance.now() + this.spec.durationMs;
      this.#onAttacking();
    }
    return this.until;
  }

  /** Whether the attack phase is over (or the attack was stopped). */
  get over(): boolean {
    return this.aborted || performance.now() >= this.until;
  }

  /** Resolves at the end of the attack phase (or on stop). */
  async untilOver(): Promise<void> {
    while (!this.over) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#stopped,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, Math.min(200, Math.max(1, this.until - performance.now())));
        }),
      ]);
      clearTimeout(timer);
    }
  }

  #trackOpen(): void {
    const open = this.#sessions.size + this.#sockets.size;
    if (open > this.counters.peakOpen) this.counters.peakOpen = open;
  }

  /** A finished session (fresh identity unless given); undefined when it failed. */
  async session(o: { identity?: KeyPair; extension?: Uint8Array } = {}): Promise<Session | undefined> {
    if (this.aborted) return undefined;
    const v = this.spec.victim;
    try {
      const s = await Session.open({
        host: v.host,
        port: v.port,
        bindHost: this.nextBindHost(),
        expectedId: v.id,
        counters: this.counters,
        ...o,
      });
      if (this.aborted) {
        s.destroy();
        return undefined;
      }
      this.#sessions.add(s);
      this.#trackOpen();
      void s.ended.then(() => this.#sessions.delete(s));
      return s;
    } catch {
      return undefined;
    }
  }

  /** A session that JOINed the topic and was accepted; undefined when refused or failed. */
  async neighbour(o: { identity?: KeyPair; data?: Uint8Array } = {}): Promise<Session | undefined> {
    const s = await this.session(o.identity === undefined ? {} : { identity: o.identity });
    if (s === undefined) return undefined;
    if (await joinTopic(s, this.spec.topic, 10_000, o.data)) return s;
    s.destroy();
    return undefined;
  }

  /**
   * A neighbour session, retried until `deadline` (performance.now()); undefined when none could be
   * had. `reconnect` counts a reopen.
   */
  async neighbourUntil(deadline: number, reconnect = false): Promise<Session | undefined> {
    while (!this.aborted && performance.now() < deadline) {
      const s = await this.neighbour();
      if (s !== undefined) {
        if (reconnect) this.counters.reconnects++;
        return s;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  }

  /** Tracks a raw socket for closing at the end. */
  held(h: HeldSocket): HeldSocket {
    this.#sockets.add(h);
    this.#trackOpen();
    void h.ended.then(() => this.#sockets.delete(h));
    return h;
  }

  rawOptions(): RawSocketOptions {
    const v = this.spec.victim;
    return { host: v.host, port: v.port, bindHost: this.nextBindHost(), counters: this.counters };
  }

  #nextHost = 0;

  /** The host the next session or socket binds to: `spec.bindHosts` round robin, else `spec.bindHost`. */
  nextBindHost(): string {
    const hosts = this.spec.bindHosts;
    if (hosts === undefined || hosts.length === 0) return this.spec.bindHost;
    return hosts[this.#nextHost++ % hosts.length]!;
  }

  /** The addresses to put in attacker-made peer data. */
  addresses(choice: 'listeners' | Address[] | undefined, i: number): Address[] {
    if (Array.isArray(choice)) return choice;
    const l = this.listeners?.addresses ?? [];
    if (l.length === 0) return [];
    return [l[i % l.length]!];
  }

  /** Closes every session, socket and listener. */
  async closeAll(): Promise<void> {
    // Their 'close' events count who closed them (`closedByVictim`): the report waits for them.
    const ended = [...this.#sessions].map((s) => s.ended as Promise<unknown>);
    ended.push(...[...this.#sockets].map((h) => h.ended as Promise<unknown>));
    for (const s of this.#sessions) s.destroy();
    for (const h of this.#sockets) h.destroy();
    this.#sessions.clear();
    this.#sockets.clear();
    await Promise.all([...ended, this.listeners?.close()]);
  }
}

/**
 * Holds `n` connections open: setup makes `n` attempts, `concurrency` at a time; then, with
 * `reconnect`, the attack phase keeps `n` open, replacing each the victim closes (or that failed)
 * after `reconnectDelayMs`, until the end. Notes how long the victim let them live:
 * `victimClosedAfterMs` (count, p50, p95, max of the lifetimes of those it closed) and `oldestOpenMs`
 * (the age of the oldest one still open at the end; 0 when none is).
 */
async function holdMany(
  ctx: Ctx,
  n: number,
  hold: HoldOptions,
  defaultConcurrency: number,
  open: () => Promise<{ ended: Promise<{ local: boolean }> } | undefined>,
): Promise<void> {
  const concurrency = Math.max(1, Math.min(hold.concurrency ?? defaultConcurrency, n));
  const reconnect = hold.reconnect ?? true;
  const delay = hold.reconnectDelayMs ?? DEFAULT_RECONNECT_DELAY_MS;
  let live = 0;
  let opening = 0;
  let refillers = 0;
  const sleep = (): Promise<void> => new Promise((r) => setTimeout(r, delay));
  const openSince = new Set<{ at: number }>();
  const lifetimes: number[] = [];
  const tryOpen = async (): Promise<boolean> => {
    opening++;
    const h = await open().catch(() => undefined);
    opening--;
    if (h === undefined) return false;
    live++;
    const since = { at: performance.now() };
    openSince.add(since);
    void h.ended.then((end) => {
      openSince.delete(since);
      if (!end.local && lifetimes.length < 100_000) lifetimes.push(performance.now() - since.at);
      live--;
      if (reconnect && !ctx.over) {
        ctx.counters.reconnects++;
        void refill();
      }
    });
    return true;
  };
  const refill = async (): Promise<void> => {
    if (refillers >= concurrency || ctx.over) return;
    refillers++;
    try {
      await sleep();
      while (!ctx.over && live + opening < n) if (!(await tryOpen())) await sleep();
    } finally {
      refillers--;
    }
  };
  let attempts = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (attempts < n && !ctx.aborted) {
        attempts++;
        await tryOpen();
      }
    }),
  );
  ctx.notes.openAtStart = live;
  ctx.attacking();
  if (reconnect) for (let i = 0; i < concurrency; i++) void refill();
  await ctx.untilOver();
  const t = performance.now();
  ctx.notes.oldestOpenMs = Math.round(Math.max(0, ...[...openSince].map((o) => t - o.at)));
  lifetimes.sort((a, b) => a - b);
  const at = (q: number): number =>
    Math.round(lifetimes[Math.min(lifetimes.length - 1, Math.floor(q * lifetimes.length))] ?? 0);
  ctx.notes.victimClosedAfterMs = {
    count: lifetimes.length,
    p50: at(0.5),
    p95: at(0.95),
    max: Math.round(lifetimes.at(-1) ?? 0),
  };
}

/** Floods `frame()` over neighbour sessions, reopening a closed one when `reconnect`. */
async function floodAsNeighbour(
  ctx: Ctx,
  o: { ratePerSec: number; reconnect: boolean; frame: (s: Session) => Uint8Array; neighbour?: boolean },
): Promise<void> {
  const setupDeadline = performance.now() + ctx.spec.setupTimeoutMs;
  let s = o.neighbour === false ? await ctx.session() : await ctx.neighbourUntil(setupDeadline);
  if (s === undefined) throw new Error('no session with the victim');
  ctx.notes.joined = o.neighbour !== false;
  const until = ctx.attacking();
  await pump({
    ratePerSec: o.ratePerSec,
    until,
    signal: ctx.stop.signal,
    send: () => s?.sendGossip(o.frame(s)) ?? false,
    buffered: () => s?.buffered ?? 0,
    recover: async () => {
      if (!o.reconnect) return false;
      if (o.neighbour !== false) {
        s = await ctx.neighbourUntil(until, true);
      } else {
        s = await ctx.session();
        if (s !== undefined) ctx.counters.reconnects++;
      }
      return s !== undefined;
    },
  });
}

function ihaveTemplate(topic: string, entries: number, id: string): Uint8Array {
  return encodeFrame(topic, {
    type: 'ihave',
    entries: Array.from({ length: entries }, () => ({ id, hops: 1 })),
  });
}

/** The signed GOSSIP frame of `identity` as origin (a valid message of its own). */
function signedGossip(topic: string, identity: KeyPair, seq: bigint, content: Uint8Array): Uint8Array {
  const suite = defaultSuite();
  const sentAt = Date.now();
  const idBytes = messageIdBytes(hexToBytes(topic), identity.publicKey, seq, sentAt, 'swarm', content);
  const signature = suite.ed25519Sign(signedMessage(idBytes), identity.secretKey);
  return encodeFrame(topic, {
    type: 'gossip',
    origin: bytesToHex(identity.publicKey),
    seq,
    sentAt,
    scope: 'swarm',
    hops: 1,
    content,
    signature,
  });
}

/** Runs one attack to its end. */
async function run(ctx: Ctx, attack: Attack): Promise<void> {
  const spec = ctx.spec;
  const topic = spec.topic;
  switch (attack.kind) {
    case 'none':
      ctx.attacking();
      await ctx.untilOver();
      return;

    case 'ihave-repeat': {
      const id = attack.id ?? randomId();
      ctx.notes.id = id;
      const frame = ihaveTemplate(topic, attack.entries ?? DEFAULT_IHAVE_ENTRIES, id);
      await floodAsNeighbour(ctx, {
        ratePerSec: attack.ratePerSec ?? 0,
        reconnect: attack.reconnect ?? true,
        frame: () => frame,
      });
      return;
    }

    case 'ihave-fresh': {
      const entries = attack.entries ?? DEFAULT_IHAVE_ENTRIES;
      const frame = ihaveTemplate(topic, entries, randomId());
      await floodAsNeighbour(ctx, {
        ratePerSec: attack.ratePerSec ?? 0,
        reconnect: attack.reconnect ?? true,
        frame: () => {
          // Fresh ids in place: entry i is its 32-byte id then a u16 hop count.
          const ids = randomBytes(32 * entries);
          for (let i = 0; i < entries; i++) {
            frame.set(ids.subarray(32 * i, 32 * i + 32), IHAVE_HEADER_BYTES + i * IHAVE_ENTRY_BYTES);
          }
          return frame;
        },
      });
      return;
    }

    case 'walk':
    case 'bad-addresses': {
      const message = attack.kind === 'walk' ? attack.message : attack.via;
      const ttl = attack.kind === 'walk' ? (attack.ttl ?? 255) : 6;
      const perFrame = Math.min(255, attack.kind === 'walk' ? (attack.peersPerFrame ?? 1) : 1);
      const choice = attack.kind === 'walk' ? (attack.addresses ?? 'listeners') : attack.addresses;
      const rate = attack.ratePerSec ?? 100;
      let i = 0;
      const data = (): Uint8Array => encodeAddressList(ctx.addresses(choice, i++));
      const peers = (): PeerInfo[] =>
        Array.from({ length: perFrame }, () => ({ id: randomId(), data: data() }));
      if (message === 'join') {
        // One fresh identity per JOIN, its peer data the hostile list.
        const until = ctx.attacking();
        let sent = 0;
        const start = performance.now();
        while (!ctx.over) {
          const due = Math.floor(((performance.now() - start) * rate) / 1000) - sent;
          if (due <= 0) {
            await new Promise((r) => setTimeout(r, 10));
            continue;
          }
          sent++;
          const s = await ctx.session();
          if (s === undefined) continue;
          ctx.counters.joinsSent++;
          s.send(topic, { type: 'join', data: data() });
          void s
            .waitFor((m) => m.type === 'neighbor-reply', Math.max(1, until - performance.now()))
            .then(
              (m) => {
                if (m.type === 'neighbor-reply' && m.accepted) ctx.counters.joinsAccepted++;
                else ctx.counters.joinsRefused++;
              },
              () => {},
            );
        }
        return;
      }
      const neighbour = attack.kind === 'walk' ? (attack.neighbour ?? false) : true;
      await floodAsNeighbour(ctx, {
        ratePerSec: rate,
        reconnect: true,
        neighbour,
        frame: () => {
          let m: Message;
          if (message === 'forward-join') m = { type: 'forward-join', peer: randomId(), ttl, data: data() };
          else if (message === 'shuffle')
            m = { type: 'shuffle', origin: randomId(), ttl, originData: data(), peers: peers() };
          else m = { type: 'shuffle-reply', peers: peers() };
          return encodeFrame(topic, m);
        },
      });
      return;
    }

    case 'idle-sessions': {
      const join = attack.join ?? false;
      await holdMany(ctx, attack.sessions, attack, 16, async () => {
        const s = await ctx.session();
        if (s !== undefined && join) await joinTopic(s, topic, 5000);
        return s;
      });
      return;
    }

    case 'silent-websockets':
      await holdMany(ctx, attack.sockets, attack, 32, async () =>
        ctx.held(await openSilentWebSocket(ctx.rawOptions())),
      );
      return;

    case 'silent-tcp':
      await holdMany(ctx, attack.sockets, attack, 64, async () => ctx.held(await openTcp(ctx.rawOptions())));
      return;

    case 'slow-http':
      await holdMany(ctx, attack.sockets, attack, 64, async () =>
        ctx.held(await openSlowHttp({ ...ctx.rawOptions(), byteEveryMs: attack.byteEveryMs ?? 1000 })),
      );
      return;

    case 'eclipse': {
      const request = attack.request ?? 'join';
      const delay = attack.rejoinDelayMs ?? 0;
      const ask = (s: Session): Promise<boolean> =>
        request === 'join' ? joinTopic(s, topic, 5000) : askNeighbor(s, topic, 'high', 5000);
      const member = async (identity: KeyPair): Promise<void> => {
        // One identity for the whole attack: it comes back under the same id each time.
        while (!ctx.over) {
          const s = await ctx.session({ identity });
          if (s === undefined) {
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          let accepted = await ask(s);
          while (!ctx.over && s.open) {
            if (!accepted) await new Promise((r) => setTimeout(r, 200));
            else {
              // Wait for the eviction (DISCONNECT) or the end of the link.
              await s
                .waitFor(
                  (m) => m.type === 'disconnect',
                  Math.max(1, ctx.until - performance.now()),
                  'eviction',
                )
                .catch(() => undefined);
            }
            if (ctx.over || !s.open) break;
            if (delay > 0) await new Promise((r) => setTimeout(r, delay));
            accepted = await ask(s);
          }
          if (!ctx.over) ctx.counters.reconnects++;
        }
      };
      const ids = Array.from({ length: attack.identities }, () => randomIdentity());
      ctx.notes.identities = ids.map((k) => bytesToHex(k.publicKey));
      ctx.attacking();
      // The phase ends on time: a member still waiting for a session or a reply is cut by closeAll.
      await Promise.race([Promise.all(ids.map((k) => member(k))), ctx.untilOver()]);
      return;
    }

    case 'forged-gossip': {
      const contentBytes = attack.contentBytes ?? 100;
      await floodAsNeighbour(ctx, {
        ratePerSec: attack.ratePerSec ?? 10_000,
        reconnect: attack.reconnect ?? true,
        frame: () =>
          encodeFrame(topic, {
            type: 'gossip',
            origin: randomId(),
            seq: randomBytes(8).readBigUInt64BE(0),
            sentAt: Date.now(),
            scope: 'swarm',
            hops: 2,
            content: randomBytes(contentBytes),
            signature: randomBytes(64),
          }),
      });
      return;
    }

    case 'signed-flood': {
      const contentBytes = attack.contentBytes ?? 1000;
      const frameBytes = GOSSIP_OVERHEAD_BYTES + contentBytes;
      let seq = 0n;
      await floodAsNeighbour(ctx, {
        ratePerSec: Math.max(1, Math.round(attack.bytesPerSec / frameBytes)),
        reconnect: attack.reconnect ?? true,
        frame: (s) => signedGossip(topic, s.identity, seq++, randomBytes(contentBytes)),
      });
      return;
    }

    case 'graft-flood': {
      const setupDeadline = performance.now() + spec.setupTimeoutMs;
      let s = await ctx.neighbourUntil(setupDeadline);
      if (s === undefined) throw new Error('no neighbour session with the victim');
      let id = attack.id;
      if (id === undefined) {
        const min = attack.minContentBytes ?? 1;
        const m = await s.waitFor(
          (x) => x.type === 'gossip' && x.content.length >= min,
          Math.max(1, setupDeadline - performance.now()),
          `a GOSSIP of at least ${min} bytes`,
        );
        if (m.type !== 'gossip') throw new Error('unreachable');
        id = messageId(hexToBytes(topic), hexToBytes(m.origin), m.seq, m.sentAt, m.scope, m.content);
        ctx.notes.contentBytes = m.content.length;
      }
      ctx.notes.id = id;
      const frame = encodeFrame(topic, { type: 'graft', id });
      const before = { in: ctx.counters.bytesReceived, out: ctx.counters.bytesSent };
      const until = ctx.attacking();
      await pump({
        ratePerSec: attack.ratePerSec ?? 0,
        until,
        signal: ctx.stop.signal,
        send: () => s?.sendGossip(frame) ?? false,
        buffered: () => s?.buffered ?? 0,
        recover: async () => {
          if (!(attack.reconnect ?? true)) return false;
          s = await ctx.neighbourUntil(until, true);
          return s !== undefined;
        },
      });
      const out = ctx.counters.bytesSent - before.out;
      ctx.notes.amplification = out > 0 ? (ctx.counters.bytesReceived - before.in) / out : 0;
      return;
    }

    case 'frames': {
      const frames = attack.frames.map((h) => hexToBytes(h));
      if (frames.length === 0) throw new Error('"frames" expected at least one frame');
      const n = Math.max(1, attack.sessions ?? 1);
      const setupDeadline = performance.now() + spec.setupTimeoutMs;
      const open = (): Promise<Session | undefined> =>
        attack.neighbour ? ctx.neighbourUntil(setupDeadline) : ctx.session();
      const sessions = (await Promise.all(Array.from({ length: n }, open))).filter(
        (s): s is Session => s !== undefined,
      );
      if (sessions.length === 0) throw new Error('no session with the victim');
      let i = 0;
      const until = ctx.attacking();
      await pump({
        ratePerSec: attack.ratePerSec ?? 100,
        until,
        signal: ctx.stop.signal,
        send: () => {
          const live = sessions.filter((x) => x.open);
          if (live.length === 0) return false;
          const s = live[i % live.length]!;
          const f = frames[i % frames.length]!;
          i++;
          return attack.raw ? s.sendRaw(f) : s.sendGossip(f);
        },
        buffered: () => Math.max(0, ...sessions.map((x) => (x.open ? x.buffered : 0))),
        recover: async () => {
          if (!(attack.reconnect ?? false)) return false;
          const s = await (attack.neighbour ? ctx.neighbourUntil(until, true) : ctx.session());
          if (s === undefined) return false;
          sessions.push(s);
          return true;
        },
      });
      return;
    }

    case 'observe': {
      const s = await ctx.neighbourUntil(performance.now() + spec.setupTimeoutMs);
      if (s === undefined) throw new Error('no neighbour session with the victim');
      const seqs: string[] = [];
      // Walks the victim passes to us, by kind, and the hosts their peer data names (walk leaks).
      const walks: Record<string, number> = {};
      const walkHosts: Record<string, number> = {};
      let walkMaxTtl = 0;
      const named = (data: Uint8Array | undefined): void => {
        for (const a of decodeAddressList(data).addresses) walkHosts[a.host] = (walkHosts[a.host] ?? 0) + 1;
      };
      s.on('message', (m) => {
        if (m.type === 'gossip' && m.origin === spec.victim.id && seqs.length < 256)
          seqs.push(m.seq.toString());
        if (m.type === 'forward-join' || m.type === 'shuffle' || m.type === 'shuffle-reply') {
          walks[m.type] = (walks[m.type] ?? 0) + 1;
          if (m.type !== 'shuffle-reply') walkMaxTtl = Math.max(walkMaxTtl, m.ttl);
          if (m.type === 'forward-join') named(m.data);
          if (m.type === 'shuffle') named(m.originData);
          if (m.type !== 'forward-join') for (const p of m.peers) named(p.data);
        }
      });
      ctx.attacking();
      await ctx.untilOver();
      ctx.notes.victimSeqs = seqs;
      ctx.notes.walks = walks;
      ctx.notes.walkHosts = walkHosts;
      ctx.notes.walkMaxTtl = walkMaxTtl;
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Process

async function main(spec: AttackSpec): Promise<void> {
  const startedAt = epochMs();
  const ctx = new Ctx(spec, () => send({ type: 'attacking', at: ctx.attackStartedAt! }));
  let endedBy: AttackReport['endedBy'] = 'duration';
  let error: string | undefined;
  let finished = false;

  const finish = async (): Promise<void> => {
    if (finished) return;
    finished = true;
    ctx.stop.abort();
    clearInterval(progress);
    await Promise.race([ctx.closeAll(), new Promise((r) => setTimeout(r, 2000))]);
    const report: AttackReport = {
      name: spec.name,
      kind: spec.attack.kind,
      ok: error === undefined,
      ...(error === undefined ? {} : { error }),
      startedAt,
      ...(ctx.attackStartedAt === undefined
        ? {}
        : { attackStartedAt: ctx.attackStartedAt, attackEndedAt: epochMs() }),
      endedBy,
      counters: ctx.counters,
      listeners: ctx.listeners?.addresses ?? [],
      notes: toJson(ctx.notes) as JsonObject,
    };
    if (process.send !== undefined && process.connected) {
      process.send({ type: 'report', report } satisfies FromAttacker, () => process.exit(0));
      setTimeout(() => process.exit(0), 2000).unref();
    } else {
      console.log(JSON.stringify({ type: 'report', report }));
      process.exit(0);
    }
  };

  const hardStop = setTimeout(
    () => {
      endedBy = 'lifetime';
      void finish();
    },
    spec.setupTimeoutMs + spec.durationMs + HARD_STOP_SLACK_MS,
  );
  void hardStop; // not unref'd: it is the bound of last resort
  process.on('message', (m: ToAttacker) => {
    if (m.type === 'stop') {
      endedBy = 'stopped';
      void finish();
    }
  });
  const progress = setInterval(
    () => {
      if (spec.progressEveryMs > 0 && ctx.attackStartedAt !== undefined) {
        send({ type: 'progress', at: epochMs(), counters: ctx.counters });
      }
    },
    Math.max(100, spec.progressEveryMs),
  );
  progress.unref();

  try {
    if (spec.listenPorts > 0)
      ctx.listeners = await ListenerPool.open(spec.bindHost, spec.listenPorts, ctx.counters);
    send({ type: 'ready', listeners: ctx.listeners?.addresses ?? [], at: epochMs() });
    const setup = setTimeout(() => {
      if (ctx.attackStartedAt === undefined) {
        error = `setup did not finish within ${spec.setupTimeoutMs} ms`;
        endedBy = 'error';
        void finish();
      }
    }, spec.setupTimeoutMs);
    setup.unref();
    await run(ctx, spec.attack);
    clearTimeout(setup);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    endedBy = 'error';
    countFailure(ctx.counters, 'attack-error');
  }
  await finish();
}

// The test process went away: leave at once, with nothing held.
process.on('disconnect', () => process.exit(0));
process.once('message', (m: ToAttacker) => {
  if (m.type === 'spec') void main(m.spec);
});
if (process.send === undefined) {
  // Run by hand: `node --import tsx test/adversarial/attacker.ts '<AttackSpec JSON>'`.
  void main(JSON.parse(process.argv[2] ?? '{}') as AttackSpec);
}
