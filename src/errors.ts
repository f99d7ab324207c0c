/**
 * Error classes shared by every layer. Each error has a stable `code` that callers can switch on;
 * messages are for humans and may change. Expected protocol outcomes (a bad record, a rejected put)
 * are never thrown: they are returned as reasons and counted.
 *
 * This module is a leaf: it imports only `options.ts` (itself a leaf that imports zod's types only),
 * so the pure layers (`crypto`, `proto`) may use it. It re-exports what every layer's options parser
 * shares: {@link parseOptions} below formats a failed parse with `options.ts`'s `describeIssues`.
 */
import type { z } from 'zod';
import { describeIssues } from './options.js';

export {
  closest,
  describeIssues,
  HOST_PORT_MESSAGE,
  type OptionAlias,
  type OptionAliases,
  splitHostPort,
  withAliases,
} from './options.js';

/** Every stable error code the library throws. */
export type ErrorCode =
  | 'ABORTED'
  | 'CLOSED'
  | 'INVALID_CONFIG'
  | 'DHT_BOOTSTRAP_FAILED'
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

  /** Options failed validation; `message` names every offending field. */
  static invalidConfig(message: string, cause?: unknown): GttError {
    return new GttError('INVALID_CONFIG', message, { cause });
  }
}

/** Throws `GttError('ABORTED')` when `signal` is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw GttError.aborted(signal.reason);
}

/**
 * Parses `input` (`undefined` as `{}`) with `schema` and fills in its defaults: the one way every
 * layer validates its options.
 * @throws {GttError} `INVALID_CONFIG`: `Invalid <what>: <path>: <problem>; …`, naming every offending
 *   field, with a suggestion for each unknown key (see `options.ts`); `cause` is the zod error.
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw GttError.invalidConfig(
    `Invalid ${what}: ${describeIssues(result.error.issues, schema)}`,
    result.error,
  );
}
