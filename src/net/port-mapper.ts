/**
 * The I/O driver of {@link PortMapMachine} (src/net/nat-pmp.ts, RFC 6886 NAT-PMP): one UDP socket
 * connected to the gateway (the kernel then delivers datagrams from that address only), one timer, and
 * the machine's actions run as they come. `Gossip` starts one when it learns it is behind a NAT
 * (PROTOCOL.md §9.7) and closes it with itself; `close()` deletes the mapping (bounded: at most
 * NAT_PMP_DELETE_ATTEMPTS sends, ~0.75 s) and leaves no socket or timer behind.
 */
import { createSocket, type Socket } from 'node:dgram';
import {
  type PortMapAction,
  type PortMapEvent,
  PortMapMachine,
  type PortMapStateName,
  type PortMapStats,
} from './nat-pmp.js';
import { MapperDriver } from './port-map.js';

export interface PortMapperOptions {
  /** The gateway's NAT-PMP address (port 5351 on a real one). */
  gateway: { host: string; port: number };
  /** Our listener's TCP port. */
  internalPort: number;
  /** Where the socket binds: the listener's host, so that the request comes from the mapped address. */
  bindHost?: string;
  lifetimeS?: number;
  retryMs?: number;
}

/** Keeps one TCP port mapped on the gateway (NAT-PMP) while open. */
export class PortMapper extends MapperDriver<PortMapEvent, PortMapAction> {
  declare protected readonly machine: PortMapMachine;
  readonly #socket: Socket;
  readonly #gateway: { host: string; port: number };

  /** Starts at once (the socket binds in the background). @throws {RangeError} for a bad port. */
  constructor(opts: PortMapperOptions) {
    super(
      new PortMapMachine({
        internalPort: opts.internalPort,
        ...(opts.lifetimeS === undefined ? {} : { lifetimeS: opts.lifetimeS }),
        ...(opts.retryMs === undefined ? {} : { retryMs: opts.retryMs }),
      }),
    );
    this.#gateway = opts.gateway;
    this.#socket = createSocket('udp4');
    // Errors (an ICMP port unreachable surfaces on a connected socket) change nothing: the machine's
    // retries run out and it reports `no-answer`.
    this.#socket.on('error', () => {});
    // decodeResponse refuses anything longer than NAT_PMP_MAX_RESPONSE_BYTES before reading it.
    this.#socket.on('message', (bytes) =>
      this.feed({ type: 'datagram', bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) }),
    );
    this.#socket.bind(0, opts.bindHost, () => {
      if (this.closing) return;
      this.#socket.connect(opts.gateway.port, opts.gateway.host, (err?: Error) => {
        if ((err === undefined || err === null) && !this.closing) this.feed({ type: 'start' });
      });
    });
  }

  get state(): PortMapStateName {
    return this.machine.state;
  }

  get stats(): PortMapStats & { state: PortMapStateName; gateway: string; protocol: 'nat-pmp' } {
    const s = this.machine.stats;
    return {
      ...s,
      failures: { ...s.failures },
      state: this.machine.state,
      gateway: `${this.#gateway.host}:${this.#gateway.port}`,
      protocol: 'nat-pmp',
    };
  }

  protected runOwn(a: PortMapAction): void {
    if (a.type === 'send' && !this.released) this.#socket.send(a.bytes, () => {});
  }

  protected release(): void {
    try {
      this.#socket.close();
    } catch {
      // never bound
    }
  }
}
