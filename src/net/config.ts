/**
 * Options of the WebSocket transport and of `Gossip`: one zod schema, every default a named constant
 * with its source (house rule 6). Durations end in `Ms`.
 *
 * Sources: "issue 4" = the acceptance text of the transport issue; "PROTOCOL.md §n" = our spec;
 * "guess" = not measured yet.
 */
import { z } from 'zod';
import { GttError } from '../errors.js';
import { DEFAULT_MAX_FRAME_PLAINTEXT_BYTES, MAX_FRAME_PLAINTEXT_LIMIT } from './frame.js';

/** Bind host of the listener: every IPv4 interface (guess: the usual server default). */
export const DEFAULT_LISTEN_HOST = '0.0.0.0';
/** Bind port of the listener: any free port. */
export const DEFAULT_LISTEN_PORT = 0;
/** Largest frame plaintext (PROTOCOL.md §9.4: 1 + the gossip core's 64 KiB maxMessageBytes). */
export const DEFAULT_MAX_FRAME_BYTES = DEFAULT_MAX_FRAME_PLAINTEXT_BYTES;
/**
 * A connection whose handshake has not finished after this long is closed (guess: three messages
 * of at most 1219 bytes take a few round trips; 5 s leaves room for a slow link).
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
/** A peer silent for this long is dropped and reported as `timeout` (issue 4: "within 5 s"). */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 5000;
/**
 * A PING goes out after this long without sending anything (guess: a quarter of the timeout, so three
 * PINGs can be lost before a live peer is dropped).
 */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 1250;
/** Open and handshaking connections together, inbound and outbound (guess: 30 topics × 5 neighbours, with slack). */
export const DEFAULT_MAX_CONNECTIONS = 256;
/**
 * Bytes a connection may hold unsent: frames queued while its dial or handshake runs plus what the
 * socket has not written yet (guess: 16 full-size frames).
 */
export const DEFAULT_MAX_SEND_QUEUE_BYTES = 16 * DEFAULT_MAX_FRAME_PLAINTEXT_BYTES;
/**
 * What a full send queue does with a frame: `disconnect` closes the connection (the core sees
 * `peer-disconnected`/`error` and repairs: HyParView replaces the neighbour, PlumTree GRAFTs what it
 * misses), `drop` drops the frame. Both are counted in `stats.sendQueueOverflows`. Guess: `disconnect`,
 * since a silently thinned link breaks PlumTree's eager tree without anyone noticing.
 */
export const DEFAULT_SEND_QUEUE_OVERFLOW = 'disconnect';
/** After a graceful close, a socket whose peer does not finish the close handshake is destroyed after this long (guess). */
export const DEFAULT_CLOSE_TIMEOUT_MS = 1000;
/**
 * A connection the gossip core released (`disconnect-peer`) stays open this long, idle, and is reused
 * if the core needs the peer again. Guess, from the first real-socket runs: HyParView repair asks the
 * same few passive peers every `repairIntervalMs` (200 ms) while a view is short, and without reuse
 * every ask cost a fresh handshake (~30 ms of CPU per side in pure-JS crypto, ~1.5 ms since the
 * transport uses OpenSSL): 50 nodes in one process spent their time re-handshaking. 0 closes at once.
 */
export const DEFAULT_RELEASE_LINGER_MS = 5000;
/** Messages a topic's async iterator buffers before it drops the oldest and reports `lagged` (guess). */
export const DEFAULT_TOPIC_BUFFER_MESSAGES = 1024;

const DurationMs = z.int().min(1).max(2_147_483_647);

/** Options of the transport (every field defaults). */
export const TransportConfigSchema = z
  .object({
    maxFrameBytes: z.int().min(64).max(MAX_FRAME_PLAINTEXT_LIMIT).default(DEFAULT_MAX_FRAME_BYTES),
    handshakeTimeoutMs: DurationMs.default(DEFAULT_HANDSHAKE_TIMEOUT_MS),
    keepaliveTimeoutMs: DurationMs.default(DEFAULT_KEEPALIVE_TIMEOUT_MS),
    keepaliveIntervalMs: DurationMs.default(DEFAULT_KEEPALIVE_INTERVAL_MS),
    maxConnections: z.int().min(1).max(65_535).default(DEFAULT_MAX_CONNECTIONS),
    maxSendQueueBytes: z.int().min(1024).default(DEFAULT_MAX_SEND_QUEUE_BYTES),
    sendQueueOverflow: z.enum(['disconnect', 'drop']).default(DEFAULT_SEND_QUEUE_OVERFLOW),
    closeTimeoutMs: DurationMs.default(DEFAULT_CLOSE_TIMEOUT_MS),
    releaseLingerMs: z.int().min(0).max(2_147_483_647).default(DEFAULT_RELEASE_LINGER_MS),
  })
  .refine((c) => c.keepaliveIntervalMs < c.keepaliveTimeoutMs, {
    message: 'keepaliveIntervalMs must be below keepaliveTimeoutMs',
    path: ['keepaliveIntervalMs'],
  });
/** Validated transport options. */
export type TransportConfig = z.output<typeof TransportConfigSchema>;
/** Transport options as callers give them. */
export type TransportOptions = z.input<typeof TransportConfigSchema>;

/** Where to listen. */
export const ListenSchema = z.object({
  host: z.string().min(1).default(DEFAULT_LISTEN_HOST),
  port: z.int().min(0).max(65_535).default(DEFAULT_LISTEN_PORT),
});

/**
 * Validates transport options and fills in defaults.
 * @throws {GttError} `INVALID_CONFIG` naming every offending field.
 */
export function parseTransportConfig(options?: unknown): TransportConfig {
  const result = TransportConfigSchema.safeParse(options ?? {});
  if (result.success) return result.data;
  throw GttError.invalidConfig(`Invalid transport options: ${issues(result.error)}`, result.error);
}

/** `path: message; …` of a zod error. */
export function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
