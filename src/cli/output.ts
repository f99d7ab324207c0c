/**
 * Output of `gtt`: JSON lines for scripts, human lines (with a live status line on a terminal), and the
 * words for what the tracker does.
 */
import { performance } from 'node:perf_hooks';
import { clearLine, cursorTo, type Interface as Readline } from 'node:readline';
import type { Readable } from 'node:stream';
import { GttError, type TrackerEvent } from '../index.js';
import { assertNever } from '../proto/types.js';

/** The process as a command sees it (injected by `main`). */
export interface Io {
  stdin: Readable & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Calls `fn` on SIGINT or SIGTERM until the returned function is called. */
  onSignal(fn: (signal: NodeJS.Signals) => void): () => void;
  /** Ends the process at once (a second Ctrl-C while closing). */
  exit(code: number): never;
}

/** Writes lines to stdout, stamped with milliseconds since the command started. */
export class Out {
  readonly #io: Io;
  readonly #start = performance.now();

  constructor(io: Io) {
    this.#io = io;
  }

  /** Milliseconds since the command started. */
  ms(): number {
    return Math.round(performance.now() - this.#start);
  }

  /** One human-readable line. */
  line(text: string): void {
    this.#io.stdout.write(`${text}\n`);
  }

  /**
   * One JSON object on its own line: `{"event": event, "at": ms since start, …fields}`. (Not "ms":
   * tracker events have an `ms` field of their own.)
   */
  json(event: string, fields: Record<string, unknown> = {}): void {
    this.#io.stdout.write(`${JSON.stringify({ event, at: this.ms(), ...fields })}\n`);
  }
}

/** Where `gtt join` prints for a human: permanent lines, and a status line that the next one replaces. */
export interface Screen {
  line(text: string): void;
  status(text: string): void;
  /** No status line from now on. */
  endStatus(): void;
}

/** Not a terminal: every status is a line of its own (repeats dropped). */
export class PlainScreen implements Screen {
  readonly #out: Out;
  #last: string | undefined;

  constructor(out: Out) {
    this.#out = out;
  }

  line(text: string): void {
    this.#last = undefined;
    this.#out.line(text);
  }

  status(text: string): void {
    if (text === this.#last) return;
    this.#out.line(text);
    this.#last = text;
  }

  endStatus(): void {
    this.#last = undefined;
  }
}

/**
 * A terminal: the status line is readline's prompt, rewritten in place (so what the user is typing
 * survives it); permanent lines print above it. After `endStatus` the prompt is `> `.
 */
export class TtyScreen implements Screen {
  readonly #stdout: Io['stdout'];
  readonly #rl: Readline;

  constructor(stdout: Io['stdout'], rl: Readline) {
    this.#stdout = stdout;
    this.#rl = rl;
  }

  line(text: string): void {
    clearLine(this.#stdout, 0);
    cursorTo(this.#stdout, 0);
    this.#stdout.write(`${text}\n`);
    this.#rl.prompt(true);
  }

  status(text: string): void {
    // Room for the text and a few typed characters on one row (a pty may report 0 columns).
    const width = Math.max(20, (this.#stdout.columns || 80) - 16);
    const shown = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    this.#rl.setPrompt(`\x1b[2m… ${shown}\x1b[0m  `);
    this.#rl.prompt(true);
  }

  endStatus(): void {
    this.#rl.setPrompt('> ');
    this.#rl.prompt(true);
  }
}

/** First 8 hex digits of a node id. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/**
 * Text from the network made safe for a terminal: control characters (escape sequences, carriage
 * returns) and bidirectional overrides become U+FFFD.
 */
export function sanitize(text: string): string {
  return text.replace(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu, '\ufffd');
}

/** `0.8 s`, `12 s`. */
export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/**
 * How long ago a message was sent, from its age in ms: `12 s ago`, `3 min ago`, `2 h ago`, `4 d ago`.
 * An age below 0 (the sender's clock is ahead of ours) is `0 s ago`.
 */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  return h < 24 ? `${h} h ago` : `${Math.round(h / 24)} d ago`;
}

/**
 * What follows a chat line: the hop count, and for a replay (a message that did not come live,
 * PROTOCOL.md §8.6: a newcomer catching up, a repair, or an old one) how long ago it was sent.
 * `nowMs` is our clock in unix ms.
 */
export function messageNote(m: { hops: number; replay: boolean; sentAt: number }, nowMs: number): string {
  const hops = plural(m.hops, 'hop');
  return m.replay ? `(${hops}; replayed, sent ${ago(nowMs - m.sentAt)})` : `(${hops})`;
}

/** `1 record`, `2 records`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/**
 * What a tracker event means, in a few words. `who` names a peer id (a short id, or "peer 3" in the
 * demo).
 */
export function describeStatus(e: TrackerEvent, who: (id: string) => string): string {
  switch (e.type) {
    case 'read':
      return `reading records for minute ${e.minutes.join(', ')}`;
    case 'record':
      return `found record of ${who(e.publisher)} (${plural(e.peers, 'peer')})`;
    case 'read-done':
      return `minute ${e.minutes.join(', ')}: ${plural(e.records, 'record')}`;
    case 'publish':
      return `publishing record for minute ${e.minute}`;
    case 'published':
      switch (e.result.status) {
        case 'published':
          return `published record for minute ${e.minute} (slot ${e.result.slot}, ${plural(e.result.accepted, 'node')})`;
        case 'skipped':
          return e.result.reason === 'minute-full'
            ? `minute ${e.minute} already holds ${plural(e.result.others, 'record')}: not publishing`
            : `others published for minute ${e.minute} first: not publishing`;
        case 'failed':
          return `could not publish for minute ${e.minute} (${e.result.reason})`;
      }
      return assertNever(e.result);
    case 'dial':
      return `dialing peer ${who(e.peer)}`;
    case 'wait':
      switch (e.why) {
        case 'no-records':
          return `no records yet, reading again in ${seconds(e.ms)}`;
        case 'confirm':
          return `waiting ${seconds(e.ms)} for an answer`;
        case 'poll':
          return `still alone, reading again in ${seconds(e.ms)}`;
      }
      return assertNever(e.why);
    case 'joined':
      return `joined in ${seconds(e.elapsedMs)} with ${plural(e.neighbors, 'neighbour')}`;
    case 'merge':
      return `merging (${e.kind}): dialing ${e.peers.map(who).join(', ')}`;
    case 'error':
      return e.during === 'bootstrap'
        ? `bootstrap failed: ${errorMessage(e.error)}`
        : `DHT ${e.during} failed: ${errorMessage(e.error)}`;
  }
  return assertNever(e);
}

/** What a peer without neighbours is waiting for: since when, and whether its record is out. */
export interface WaitingState {
  /** When (ms since start) a read first found nobody; set by {@link describeWaiting}. */
  sinceMs: number | undefined;
  /** The minute of our last record that landed in the DHT, if any. */
  publishedMinute: number | undefined;
}

/**
 * The status line of a peer that found nobody to join (a `wait` that is not `confirm`): how long it
 * has been alone, whether peers can find it (our record is in the DHT), and when it reads again.
 */
export function describeWaiting(
  e: Extract<TrackerEvent, { type: 'wait' }>,
  state: WaitingState,
  nowMs: number,
): string {
  state.sinceMs ??= nowMs;
  const findable =
    state.publishedMinute === undefined
      ? 'our record is not in the DHT yet'
      : `our record for minute ${state.publishedMinute} is in the DHT`;
  const found =
    e.why === 'poll' && (e.unreachable ?? 0) > 0
      ? `${plural(e.unreachable!, 'peer')} found, none reachable yet (behind a NAT?), `
      : '';
  return `alone for ${seconds(nowMs - state.sinceMs)}, ${found}${findable}: waiting for a peer; reading again in ${seconds(e.ms)}`;
}

/** A tracker event as JSON fields (its `error`, if any, as `{code, message}`). */
export function statusFields(e: TrackerEvent): Record<string, unknown> {
  return e.type === 'error' ? { ...e, error: errorFields(e.error) } : { ...e };
}

/** `{code, message}` of an error (code `undefined` for errors that are not ours). */
export function errorFields(error: unknown): { code: string | undefined; message: string } {
  return { code: error instanceof GttError ? error.code : undefined, message: errorMessage(error) };
}

/** The first line of an error's message. */
export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!;
}
