/**
 * The I/O driver of {@link UpnpMachine} (src/net/upnp.ts): one UDP socket for the SSDP search (sent to
 * the multicast group, answered by unicast), node:http for the description and the SOAP calls (each
 * bounded by UPNP_HTTP_TIMEOUT_MS and UPNP_MAX_BODY_BYTES, to the gateway's address only: the machine
 * checks every URL), one timer. Same events and lifecycle as `PortMapper` (NAT-PMP): `Gossip` runs
 * both and keeps whichever maps first (PROTOCOL.md §9.7). `close()` deletes the mapping (bounded by
 * one HTTP request's budget) and leaves no socket, request or timer behind.
 */
import { createSocket, type Socket } from 'node:dgram';
import { type ClientRequest, request } from 'node:http';
import { MapperDriver } from './port-map.js';
import {
  type HttpRequest,
  SSDP_ADDRESS,
  SSDP_PORT,
  UPNP_HTTP_TIMEOUT_MS,
  UPNP_MAX_BODY_BYTES,
  UPNP_MAX_SSDP_BYTES,
  type UpnpAction,
  type UpnpEvent,
  UpnpMachine,
  type UpnpStateName,
  type UpnpStats,
} from './upnp.js';

export interface UpnpMapperOptions {
  /** The gateway's IPv4 address: the only host asked. */
  gateway: string;
  internalPort: number;
  /** Where the SSDP socket binds (the listener's host when it is a LAN address). */
  bindHost?: string;
  leaseS?: number;
  retryMs?: number;
}

/** Keeps one TCP port mapped on a UPnP IGD while open. */
export class UpnpMapper extends MapperDriver<UpnpEvent, UpnpAction> {
  declare protected readonly machine: UpnpMachine;
  readonly #socket: Socket;
  readonly #gateway: string;
  readonly #requests = new Set<ClientRequest>();

  /** Starts at once (the socket binds in the background). @throws {RangeError} for a bad port. */
  constructor(opts: UpnpMapperOptions) {
    super(
      new UpnpMachine({
        gateway: opts.gateway,
        internalPort: opts.internalPort,
        ...(opts.leaseS === undefined ? {} : { leaseS: opts.leaseS }),
        ...(opts.retryMs === undefined ? {} : { retryMs: opts.retryMs }),
      }),
    );
    this.#gateway = opts.gateway;
    this.#socket = createSocket('udp4');
    this.#socket.on('error', () => {}); // a lost search is resent; the machine gives up in time
    this.#socket.on('message', (bytes, from) => {
      if (bytes.length > UPNP_MAX_SSDP_BYTES) return;
      this.feed({ type: 'ssdp', bytes: new Uint8Array(bytes), fromHost: from.address });
    });
    this.#socket.bind(0, opts.bindHost, () => {
      if (this.closing) return;
      try {
        this.#socket.setMulticastTTL(2);
      } catch {
        // not fatal: the default TTL (1) reaches the LAN's router too
      }
      this.feed({ type: 'start' });
    });
  }

  get state(): UpnpStateName {
    return this.machine.state;
  }

  get stats(): UpnpStats & { state: UpnpStateName; gateway: string; protocol: 'upnp' } {
    const s = this.machine.stats;
    return {
      ...s,
      failures: { ...s.failures },
      state: this.machine.state,
      gateway: this.#gateway,
      protocol: 'upnp',
    };
  }

  protected runOwn(a: UpnpAction): void {
    if (a.type === 'ssdp-search') {
      if (!this.released) this.#socket.send(a.bytes, SSDP_PORT, SSDP_ADDRESS, () => {});
    } else if (a.type === 'http') this.#http(a.request);
  }

  #http(r: HttpRequest): void {
    const url = new URL(r.url);
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    let settled = false;
    const settle = (event: UpnpEvent) => {
      if (settled) return;
      settled = true;
      this.#requests.delete(req);
      this.feed(event);
    };
    const req = request(
      {
        host: url.hostname,
        port: url.port === '' ? 80 : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: r.method,
        agent: false,
        timeout: UPNP_HTTP_TIMEOUT_MS,
        headers: { ...r.headers, ...(body === undefined ? {} : { 'Content-Length': String(body.length) }) },
      },
      (res) => {
        const localAddress = res.socket?.localAddress ?? '';
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > UPNP_MAX_BODY_BYTES) {
            req.destroy();
            settle({ type: 'http-error', id: r.id });
            return;
          }
          chunks.push(c);
        });
        res.on('end', () =>
          settle({
            type: 'http-response',
            id: r.id,
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            localAddress,
          }),
        );
        res.on('error', () => settle({ type: 'http-error', id: r.id }));
      },
    );
    this.#requests.add(req);
    req.on('timeout', () => req.destroy());
    req.on('error', () => settle({ type: 'http-error', id: r.id }));
    req.end(body);
  }

  /** An answer still on its way to an earlier request would only be ignored: drop those first. */
  protected override beforeClose(): void {
    for (const req of this.#requests) req.destroy();
    this.#requests.clear();
  }

  protected release(): void {
    this.beforeClose();
    try {
      this.#socket.close();
    } catch {
      // never bound
    }
  }
}
