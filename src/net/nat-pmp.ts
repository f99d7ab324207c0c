/**
 * NAT-PMP (RFC 6886) port mapping as an explicit state machine: `handle(event, now) → actions`,
 * driven by `PortMapper` (src/net/port-mapper.ts), which owns the UDP socket and the one timer. Pure:
 * no sockets, no clock; time comes in as `now` (ms).
 *
 * ```
 * idle ──start──▶ asking (op 0: external address) ──answer──▶ mapping (op 2: TCP internal → external)
 *   ──answer──▶ mapped ──lifetime / 2──▶ renewing ──answer──▶ mapped
 * asking / mapping ──no answer after MAX_ATTEMPTS, or a refusal──▶ unavailable ──retry timer──▶ asking
 * renewing ──no answer / refusal──▶ unavailable (the mapping is reported lost)
 * mapped / renewing ──close──▶ deleting (lifetime 0) ──answer or attempts spent──▶ closed
 * any other state ──close──▶ closed
 * ```
 * A request is resent after 250 ms, doubling, as RFC 6886 §3.1 says, but only MAX_ATTEMPTS times (the
 * RFC's nine tries take 64 s; a router that has not answered within ~4 s does not speak NAT-PMP). The
 * gateway's epoch (seconds since its mappings were last lost) going backwards means it rebooted and
 * forgot us (§3.6): we map again. Whatever the gateway sends is checked before it is used (version,
 * opcode, length, internal port); what does not fit is counted as ignored, never thrown.
 *
 * What the mapping is used for (advertising `external:port` first) is decided by `Gossip`, after the
 * address policy: an external address that is not public (a second NAT in front, e.g. carrier-grade)
 * is not advertised. PROTOCOL.md §9.7.
 */

import { failureActions, type MapperAction, type MapperEvent, type PortMapping } from './port-map.js';

export type { PortMapping } from './port-map.js';

/** The NAT-PMP server port on the gateway (RFC 6886 §3). */
export const NAT_PMP_PORT = 5351;
/** First retransmission delay (RFC 6886 §3.1: 250 ms, doubling). */
export const NAT_PMP_FIRST_RETRY_MS = 250;
/** Sends per request before giving up: 250 + 500 + 1000 + 2000 ms, ~3.75 s (see the module comment). */
export const NAT_PMP_MAX_ATTEMPTS = 4;
/** Sends of the delete at close (its answer is not needed; bounded so that close stays quick). */
export const NAT_PMP_DELETE_ATTEMPTS = 2;
/** Lifetime we ask for: RFC 6886 §3.3 recommends 7200 s. */
export const NAT_PMP_LIFETIME_S = 7200;
/** After giving up, ask again this much later (guess: a router's settings can change; rare and cheap). */
export const NAT_PMP_RETRY_MS = 10 * 60_000;
/** Renewals are never closer than this, whatever lifetime a gateway grants (bounds a bad gateway's cost). */
export const NAT_PMP_MIN_RENEW_MS = 10_000;
/** Largest datagram decoded: the map response is 16 bytes; anything longer is not NAT-PMP version 0. */
export const NAT_PMP_MAX_RESPONSE_BYTES = 16;

/** Result codes of RFC 6886 §3.5, by name. */
export const NAT_PMP_RESULTS = [
  'success',
  'unsupported-version',
  'not-authorized',
  'network-failure',
  'out-of-resources',
  'unsupported-opcode',
] as const;
export type NatPmpResult = (typeof NAT_PMP_RESULTS)[number] | 'unknown-result';

/** The external-address request (RFC 6886 §3.2): version 0, opcode 0. */
export function encodeAddressRequest(): Uint8Array {
  return new Uint8Array([0, 0]);
}

/**
 * A TCP mapping request (RFC 6886 §3.3): version 0, opcode 2, reserved, internal port, suggested
 * external port, lifetime in seconds (0 deletes).
 */
export function encodeMapRequest(internalPort: number, suggestedPort: number, lifetimeS: number): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  out[1] = 2;
  v.setUint16(4, internalPort);
  v.setUint16(6, suggestedPort);
  v.setUint32(8, lifetimeS);
  return out;
}

/** A decoded response, or why the bytes are not one. */
export type NatPmpResponse =
  | { kind: 'address'; result: NatPmpResult; epochS: number; host: string }
  | {
      kind: 'map';
      result: NatPmpResult;
      epochS: number;
      internalPort: number;
      externalPort: number;
      lifetimeS: number;
    }
  | { kind: 'invalid'; reason: 'length' | 'version' | 'opcode' };

/** Decodes a gateway's datagram (RFC 6886 §3.2, §3.3; §3.5 for a refusal's shorter form). */
export function decodeResponse(bytes: Uint8Array): NatPmpResponse {
  if (bytes.length < 8 || bytes.length > NAT_PMP_MAX_RESPONSE_BYTES)
    return { kind: 'invalid', reason: 'length' };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== 0) return { kind: 'invalid', reason: 'version' };
  const code = v.getUint16(2);
  const result: NatPmpResult = NAT_PMP_RESULTS[code] ?? 'unknown-result';
  const epochS = v.getUint32(4);
  if (bytes[1] === 128) {
    // A refusal may stop after the epoch; a success carries the address.
    if (result === 'success' && bytes.length !== 12) return { kind: 'invalid', reason: 'length' };
    const host = bytes.length >= 12 ? `${bytes[8]}.${bytes[9]}.${bytes[10]}.${bytes[11]}` : '';
    return { kind: 'address', result, epochS, host };
  }
  if (bytes[1] === 130) {
    if (result === 'success' && bytes.length !== 16) return { kind: 'invalid', reason: 'length' };
    const full = bytes.length === 16;
    return {
      kind: 'map',
      result,
      epochS,
      internalPort: full ? v.getUint16(8) : 0,
      externalPort: full ? v.getUint16(10) : 0,
      lifetimeS: full ? v.getUint32(12) : 0,
    };
  }
  return { kind: 'invalid', reason: 'opcode' };
}

export type PortMapStateName =
  | 'idle'
  | 'asking'
  | 'mapping'
  | 'mapped'
  | 'renewing'
  | 'unavailable'
  | 'deleting'
  | 'closed';

/** Why there is no mapping. */
export type PortMapFailure = 'no-answer' | NatPmpResult | 'bad-answer';

export type PortMapEvent = MapperEvent | { type: 'datagram'; bytes: Uint8Array };

export type PortMapAction =
  /** Send these bytes to the gateway. */
  { type: 'send'; bytes: Uint8Array } | MapperAction<PortMapFailure>;

/** Counters of a {@link PortMapMachine}. */
export interface PortMapStats {
  requests: number;
  mapped: number;
  renewed: number;
  lost: number;
  failures: Partial<Record<PortMapFailure, number>>;
  /** Datagrams that did not decode or did not answer what we asked. */
  ignored: number;
  /** Times the gateway's epoch went backwards (it forgot its mappings) and we mapped again. */
  gatewayResets: number;
}

export interface PortMapMachineOptions {
  /** Our listener's port: the internal port, and the external port we suggest. */
  internalPort: number;
  /** Lifetime to ask for (default NAT_PMP_LIFETIME_S). */
  lifetimeS?: number;
  /** Delay before asking again after a failure (default NAT_PMP_RETRY_MS). */
  retryMs?: number;
}

/** One TCP port mapping's lifecycle (see the module comment). */
export class PortMapMachine {
  #state: PortMapStateName = 'idle';
  #attempt = 0;
  #request: Uint8Array = new Uint8Array(0);
  #host = '';
  #mapping: PortMapping | undefined;
  /** The gateway's last epoch and our time then, for the reboot check of RFC 6886 §3.6. */
  #epoch: { s: number; at: number } | undefined;
  readonly #internalPort: number;
  readonly #lifetimeS: number;
  readonly #retryMs: number;
  readonly stats: PortMapStats = {
    requests: 0,
    mapped: 0,
    renewed: 0,
    lost: 0,
    failures: {},
    ignored: 0,
    gatewayResets: 0,
  };

  /** @throws {RangeError} for a port outside 1–65535 or a lifetime outside 1 s–1 day. */
  constructor(opts: PortMapMachineOptions) {
    if (!Number.isInteger(opts.internalPort) || opts.internalPort < 1 || opts.internalPort > 65_535) {
      throw new RangeError('"internalPort" expected an integer 1-65535');
    }
    const lifetimeS = opts.lifetimeS ?? NAT_PMP_LIFETIME_S;
    if (!Number.isInteger(lifetimeS) || lifetimeS < 1 || lifetimeS > 86_400) {
      throw new RangeError('"lifetimeS" expected an integer 1-86400');
    }
    this.#internalPort = opts.internalPort;
    this.#lifetimeS = lifetimeS;
    this.#retryMs = opts.retryMs ?? NAT_PMP_RETRY_MS;
  }

  get state(): PortMapStateName {
    return this.#state;
  }

  /** The granted mapping, while there is one. */
  get mapping(): PortMapping | undefined {
    return this.#mapping;
  }

  handle(event: PortMapEvent, now: number): PortMapAction[] {
    if (this.#state === 'closed') return [];
    switch (event.type) {
      case 'start':
        return this.#state === 'idle' ? this.#ask('asking', encodeAddressRequest()) : [];
      case 'timer':
        return this.#onTimer();
      case 'datagram':
        return this.#onDatagram(event.bytes, now);
      case 'close':
        return this.#onClose();
    }
  }

  #ask(state: PortMapStateName, request: Uint8Array): PortMapAction[] {
    this.#state = state;
    this.#attempt = 1;
    this.#request = request;
    this.stats.requests += 1;
    return [
      { type: 'send', bytes: request },
      { type: 'set-timer', delayMs: NAT_PMP_FIRST_RETRY_MS },
    ];
  }

  #mapRequest(lifetimeS: number): Uint8Array {
    // Suggest the port we have (a renewal keeps it), else the internal one (RFC 6886 §3.3).
    return encodeMapRequest(this.#internalPort, this.#mapping?.port ?? this.#internalPort, lifetimeS);
  }

  #onTimer(): PortMapAction[] {
    switch (this.#state) {
      case 'mapped':
        return this.#ask('renewing', this.#mapRequest(this.#lifetimeS));
      case 'unavailable':
        return this.#ask('asking', encodeAddressRequest());
      case 'asking':
      case 'mapping':
      case 'renewing':
      case 'deleting': {
        const max = this.#state === 'deleting' ? NAT_PMP_DELETE_ATTEMPTS : NAT_PMP_MAX_ATTEMPTS;
        if (this.#attempt >= max) {
          return this.#state === 'deleting' ? this.#closed() : this.#fail('no-answer');
        }
        this.#attempt += 1;
        return [
          { type: 'send', bytes: this.#request },
          { type: 'set-timer', delayMs: NAT_PMP_FIRST_RETRY_MS * 2 ** (this.#attempt - 1) },
        ];
      }
      case 'idle':
      case 'closed':
        return [];
    }
  }

  #fail(reason: PortMapFailure): PortMapAction[] {
    const had = this.#mapping !== undefined;
    this.#mapping = undefined;
    this.#state = 'unavailable';
    return failureActions(this.stats, had, reason, this.#retryMs);
  }

  #closed(): PortMapAction[] {
    this.#state = 'closed';
    this.#mapping = undefined;
    return [{ type: 'clear-timer' }, { type: 'closed' }];
  }

  #onClose(): PortMapAction[] {
    if (this.#mapping === undefined) return this.#closed();
    // Delete what we mapped (RFC 6886 §3.4: lifetime 0, suggested port 0); the answer is optional.
    this.#state = 'deleting';
    this.#attempt = 1;
    this.#request = encodeMapRequest(this.#internalPort, 0, 0);
    return [
      { type: 'send', bytes: this.#request },
      { type: 'set-timer', delayMs: NAT_PMP_FIRST_RETRY_MS },
    ];
  }

  /** True when the gateway's epoch shows it lost its mappings since the last answer (RFC 6886 §3.6). */
  #gatewayReset(epochS: number, now: number): boolean {
    const last = this.#epoch;
    this.#epoch = { s: epochS, at: now };
    if (last === undefined) return false;
    // Its clock runs at least 7/8 as fast as ours, with 2 s of slack: an epoch below that went back.
    const elapsedS = Math.max(0, now - last.at) / 1000;
    return epochS + 2 < last.s + (elapsedS * 7) / 8;
  }

  #onDatagram(bytes: Uint8Array, now: number): PortMapAction[] {
    const r = decodeResponse(bytes);
    const expected = this.#state === 'asking' ? 'address' : 'map';
    if (
      r.kind !== expected ||
      !['asking', 'mapping', 'renewing', 'deleting'].includes(this.#state) ||
      (r.kind === 'map' && r.result === 'success' && r.internalPort !== this.#internalPort)
    ) {
      this.stats.ignored += 1;
      return [];
    }
    if (this.#state === 'deleting') return this.#closed();
    if (r.result !== 'success') return this.#fail(r.result);
    const reset = this.#gatewayReset(r.epochS, now);
    if (r.kind === 'address') {
      this.#host = r.host;
      return this.#ask('mapping', this.#mapRequest(this.#lifetimeS));
    }
    if (r.kind !== 'map' || r.externalPort === 0 || r.lifetimeS === 0) return this.#fail('bad-answer');
    if (reset) {
      // The gateway forgot its mappings (a reboot): its address may have changed too, so start over;
      // the mapping we advertise stays until the new one replaces it.
      this.stats.gatewayResets += 1;
      return this.#ask('asking', encodeAddressRequest());
    }
    const renewed = this.#state === 'renewing' && this.#mapping !== undefined;
    const lifetimeMs = r.lifetimeS * 1000;
    this.#mapping = { host: this.#host, port: r.externalPort, lifetimeMs };
    this.#state = 'mapped';
    if (renewed) this.stats.renewed += 1;
    else this.stats.mapped += 1;
    return [
      { type: 'mapped', mapping: { ...this.#mapping }, renewed },
      { type: 'set-timer', delayMs: Math.max(NAT_PMP_MIN_RENEW_MS, lifetimeMs / 2) },
    ];
  }
}
