/** What the commands share: DHT options, and how a failed start or an interrupt is reported. */
import { type DhtOptions, type ErrorCode, GttError } from '../../index.js';
import type { CommandName, DhtArgs } from '../args.js';
import { errorFields, errorMessage, type Io, type Out } from '../output.js';

/**
 * Exit code of a command stopped by Ctrl-C or SIGTERM while it runs (128 + SIGINT, the shell
 * convention); a signal with no command listening ends the process with 130 or 143 (`main.ts`).
 */
export const INTERRUPTED = 130;

/** Says that `command` was interrupted; returns {@link INTERRUPTED}. */
export function interrupted(command: CommandName, io: Io): number {
  io.stderr.write(`gtt ${command}: interrupted\n`);
  return INTERRUPTED;
}

/**
 * `Dht.create` options from the command line. A DHT reached only through loopback addresses (a local
 * testnet) binds 127.0.0.1 rather than every interface.
 */
export function dhtOptions(args: DhtArgs): DhtOptions {
  const options: DhtOptions = { bootstrapTimeoutMs: args.bootstrapTimeoutMs };
  if (args.bootstrap !== undefined) {
    options.bootstrap = args.bootstrap;
    if (args.bootstrap.every((b) => b.startsWith('127.'))) options.host = '127.0.0.1';
  }
  return options;
}

/** Where the DHT node bootstraps from, for a status line. */
export function dhtTarget(bootstrap: readonly string[] | undefined): string {
  return bootstrap === undefined ? 'the public mainline routers' : bootstrap.join(', ');
}

/** What went wrong, by error code, before the library's message. */
const FAILURE_PREFIX: Partial<Record<ErrorCode, string>> = {
  DHT_BOOTSTRAP_FAILED: 'cannot reach the DHT',
  DHT_LISTEN_FAILED: 'DHT socket',
  LISTEN_FAILED: 'gossip node',
  INVALID_CONFIG: 'bad option',
};

/**
 * Reports an error that stopped a command from starting (one line on stderr, and an `error` JSON line
 * with `--json`) and returns the exit code: 2 for a bad option the library refused, else 1.
 */
export function startFailure(command: CommandName, error: unknown, io: Io, json: Out | undefined): number {
  if (json) json.json('error', errorFields(error));
  const code = error instanceof GttError ? error.code : undefined;
  const what = (code === undefined ? undefined : FAILURE_PREFIX[code]) ?? 'failed';
  // The system error under ours (EADDRINUSE, EACCES…) says why.
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  const message = errorMessage(error);
  const why = typeof cause === 'string' && !message.includes(cause) ? ` (${cause})` : '';
  io.stderr.write(`gtt ${command}: ${what}: ${message}${why}\n`);
  return code === 'INVALID_CONFIG' ? 2 : 1;
}
