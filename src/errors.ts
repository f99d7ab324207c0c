/**
 * Error classes shared by every layer. Each error has a stable `code` that callers can switch on;
 * messages are for humans and may change. Expected protocol outcomes (a bad record, a rejected put)
 * are never thrown: they are returned as reasons and counted.
 *
 * This module is a leaf: it imports nothing, so the pure layers (`crypto`, `proto`) may use it.
 */

/** Every stable error code the library throws. */
export type ErrorCode =
  | 'ABORTED'
  | 'CLOSED'
  | 'TIMEOUT'
  | 'INVALID_CONFIG'
  | 'DHT_BOOTSTRAP_FAILED'
  | 'DHT_PUT_FAILED'
  | 'DHT_LISTEN_FAILED'
  | 'NOISE_STATE'
  | 'LISTEN_FAILED'
  | 'ALREADY_SUBSCRIBED';

/** Base class of the library's errors: `err.code` is stable, `err.name` is the class name. */
export class GttError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** The operation was cancelled through its `AbortSignal`; `cause` is the signal's reason. */
  static aborted(reason?: unknown): GttError {
    return new GttError('ABORTED', 'The operation was aborted', { cause: reason });
  }

  /** The object was closed before or while the operation ran. */
  static closed(what: string): GttError {
    return new GttError('CLOSED', `${what} is closed`);
  }

  /** The operation did not finish within its time budget. */
  static timeout(what: string, ms: number): GttError {
    return new GttError('TIMEOUT', `${what} timed out after ${ms} ms`);
  }

  /** Options failed validation; `message` names every offending field. */
  static invalidConfig(message: string, cause?: unknown): GttError {
    return new GttError('INVALID_CONFIG', message, { cause });
  }
}

/** Throws `GttError('ABORTED')` when `signal` is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw GttError.aborted(signal.reason);
}
