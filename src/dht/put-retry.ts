/**
 * The retry policy of `Dht.put` as a pure state machine (no I/O, no timers, no randomness of its own),
 * in the style of the broadcast state machines of go-libp2p-kad-dht v2 (`brdcst`): events flow in
 * (an attempt finished with its outcome, a wait is over), one state flows out (start an attempt, wait,
 * done). `put.ts` drives it: it runs the attempts and the waits and feeds their ends back.
 *
 * The policy:
 * - An attempt succeeds when at least `minAccepted` nodes stored the item (accepted + already stored).
 * - The first attempt stores on the borrowed `responders` of a recent `getAll` when there are any
 *   (`borrow`). If it falls short for any reason but a conflict, an attempt with a walk of its own
 *   (`walk`) follows at once, with no wait. It still counts toward `retries`: the budget bounds
 *   attempts after the first (`attempts > retries` ends the put).
 * - It stops after success; after a conflict (a node holds a newer or conflicting item, so the same seq
 *   cannot win: read, bump seq, put again); when a custom `select` chose no node among live responders
 *   (a retry would see the same nodes and choose the same way); or once `retries` are used up.
 * - Otherwise it waits `retryDelayMs` + ⌊random() · `retryJitterMs`⌋, then walks again. `random` is
 *   drawn once per wait, and only then.
 */

/** Options of {@link PutRetry}. */
export interface PutRetryOptions {
  /** Extra attempts after the first. */
  readonly retries: number;
  /** Base delay before a retry. */
  readonly retryDelayMs: number;
  /** Maximum random delay added to a retry. */
  readonly retryJitterMs: number;
  /** Nodes that must store the item for an attempt to succeed. */
  readonly minAccepted: number;
  /** True when the caller chose the nodes with its own `select`. */
  readonly customSelect: boolean;
  /** True when the first attempt stores on borrowed responders instead of walking. */
  readonly borrowed: boolean;
  /** Uniform in [0, 1): the jitter draws (the Dht passes its `random` option). */
  readonly random: () => number;
}

/** What one attempt came to (see `PutAttempt`). */
export interface AttemptOutcome {
  /** Nodes that stored the item: accepted + already stored. */
  readonly stored: number;
  /** True when a node holds a newer or conflicting item (`PutRejection.conflict`). */
  readonly conflict: boolean;
  /** Nodes the put queries went to. */
  readonly selected: number;
  /** Nodes that answered the lookup. */
  readonly responded: number;
}

/** Events into {@link PutRetry}. */
export type PutRetryEvent =
  | { readonly type: 'attempt-finished'; readonly outcome: AttemptOutcome }
  | { readonly type: 'wait-over' };

/** Why a put ended. */
export type PutDoneReason = 'stored' | 'conflict' | 'declined' | 'exhausted';

/** The one state out of {@link PutRetry}: what the driver does next. */
export type PutRetryState =
  /** Store on the borrowed responders, without a walk. */
  | { readonly type: 'borrow' }
  /** An attempt: a walk toward the target, then puts to the nodes selected among its responders. */
  | { readonly type: 'walk' }
  /** Wait this long, then report `wait-over`. */
  | { readonly type: 'wait'; readonly delayMs: number }
  /** Stop: `ok` when the last attempt reached `minAccepted`. */
  | {
      readonly type: 'done';
      readonly ok: boolean;
      readonly reason: PutDoneReason;
      readonly attempts: number;
    };

/** The retry policy of one put (module comment). */
export class PutRetry {
  readonly #options: PutRetryOptions;
  #state: PutRetryState;
  #attempts = 0;
  /** True while the attempt in progress is the one on borrowed responders. */
  #borrowing: boolean;

  constructor(options: PutRetryOptions) {
    this.#options = options;
    this.#borrowing = options.borrowed;
    this.#state = options.borrowed ? { type: 'borrow' } : { type: 'walk' };
  }

  /** The current state (the first: `borrow` or `walk`). */
  get state(): PutRetryState {
    return this.#state;
  }

  /** Attempts finished so far. */
  get attempts(): number {
    return this.#attempts;
  }

  /**
   * Advances on `event` and returns the new state.
   * @throws {TypeError} on an event the current state does not expect (a driver bug).
   */
  handle(event: PutRetryEvent): PutRetryState {
    const state = this.#state;
    switch (event.type) {
      case 'attempt-finished':
        if (state.type !== 'borrow' && state.type !== 'walk') throw unexpected(event, state);
        this.#state = this.#afterAttempt(event.outcome);
        break;
      case 'wait-over':
        if (state.type !== 'wait') throw unexpected(event, state);
        this.#state = { type: 'walk' };
        break;
      default:
        assertNever(event);
    }
    return this.#state;
  }

  #afterAttempt(outcome: AttemptOutcome): PutRetryState {
    const o = this.#options;
    this.#attempts++;
    const ok = outcome.stored >= o.minAccepted;
    const { conflict } = outcome;
    const borrowing = this.#borrowing;
    this.#borrowing = false;
    // The borrowed responders fell short (gone, new tokens): walk for fresh ones, now.
    if (borrowing && !ok && !conflict) return { type: 'walk' };
    const declined = o.customSelect && outcome.selected === 0 && outcome.responded > 0;
    const done = (reason: PutDoneReason): PutRetryState => ({
      type: 'done',
      ok,
      reason,
      attempts: this.#attempts,
    });
    if (ok) return done('stored');
    if (conflict) return done('conflict');
    if (declined) return done('declined');
    if (this.#attempts > o.retries) return done('exhausted');
    return { type: 'wait', delayMs: o.retryDelayMs + Math.floor(o.random() * o.retryJitterMs) };
  }
}

function unexpected(event: PutRetryEvent, state: PutRetryState): TypeError {
  return new TypeError(`PutRetry: unexpected ${event.type} in state ${state.type}`);
}

/**
 * Exhaustiveness check for closed unions. @throws {TypeError} always (unreachable when types hold).
 * A copy of src/proto/types.ts's: src/dht may not import src/proto (test/native/layers.test.ts).
 */
function assertNever(value: never): never {
  throw new TypeError(`unexpected variant: ${JSON.stringify(value)}`);
}
