/**
 * How a connection ends and what it counts: the types the transport's public events and stats carry,
 * kept apart from `connection.ts` so that the published declarations need no WebSocket types.
 */
/** Why a connection ended. */
export type CloseReason =
  /** We closed it: `close()` (disconnect, shutdown). */
  | 'local'
  /** We kept another connection to the same peer (simultaneous dial, §9.7). */
  | 'duplicate'
  /** The connection table is full. */
  | 'max-connections'
  /** The remote proved our own id. */
  | 'self'
  /** A frame did not fit the send queue and the policy is `disconnect`. */
  | 'send-queue-overflow'
  /** The handshake did not finish within `handshakeTimeoutMs`. */
  | 'handshake-timeout'
  /** The handshake refused the remote's bytes (`detail` is the HandshakeFailReason). */
  | 'handshake-failed'
  /** A frame failed authentication. */
  | 'tampered'
  /** A frame (or handshake message) exceeded the size limit. */
  | 'oversize'
  /** A frame was authentic but invalid, or a text message arrived. */
  | 'malformed'
  /** A CipherState ran out of nonces. */
  | 'nonce-exhausted'
  /** Nothing arrived for `keepaliveTimeoutMs`. */
  | 'keepalive-timeout'
  /**
   * An inbound connection's dialer sent no Noise message 1 within `firstMessageTimeoutMs` of the
   * upgrade (PROTOCOL.md §9.8).
   */
  | 'first-message-timeout'
  /** No topic used the connection for `topiclessGraceMs` (PROTOCOL.md §9.8). */
  | 'unused'
  /** Closed to admit a newcomer to a full table: idle and without a topic, or pending without progress. */
  | 'evicted'
  /** The peer is banned (`Transport.ban`): closed, refused after its handshake, or not dialed. */
  | 'banned'
  /** A dial's every address was refused by the address policy (`detail` is the last reason). No socket. */
  | 'address-refused'
  /** A dial's every address was over its dial bounds (`detail`: `rate` or `backoff …`). No socket. */
  | 'dial-throttled'
  /** The remote sent CLOSE (`detail` is its reason). */
  | 'remote-close'
  /** The socket closed without a CLOSE frame. */
  | 'socket-closed'
  /** The socket failed (`detail` is the error code or message): refused, reset, unreachable. */
  | 'socket-error';

/** How a connection ended. */
export interface CloseInfo {
  reason: CloseReason;
  /** Extra detail: a handshake refusal, an error code, the remote's CLOSE reason. */
  detail?: string | undefined;
  /** Whether the handshake had finished. */
  established: boolean;
}

/** Counters a connection adds to (the transport's stats object). */
export interface ConnectionCounters {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  pingsOut: number;
  /** Times reading from a peer was paused for its budget (`pause`). */
  readPauses: number;
}
