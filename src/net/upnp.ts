/**
 * UPnP Internet Gateway Device port mapping (UPnP Device Architecture 1.1 §1 discovery, §2
 * description, §3 control; IGD v1 WANIPConnection:1) as an explicit state machine, `handle(event, now)
 * → actions`, driven by `UpnpMapper` (src/net/upnp-mapper.ts), which owns the SSDP socket, the HTTP
 * requests and the one timer. Pure: no sockets, no clock.
 *
 * ```
 * idle ──start──▶ discovering (SSDP M-SEARCH, resent) ──reply from the gateway──▶ describing (GET
 *   LOCATION) ──WANIPConnection / WANPPPConnection found──▶ asking (GetExternalIPAddress) ──▶ mapping
 *   (AddPortMapping) ──▶ mapped ──lease / 2──▶ renewing (AddPortMapping again) ──▶ mapped
 * any step ──no answer / a fault──▶ unavailable ──retry timer──▶ discovering
 * mapped / renewing ──close──▶ deleting (DeletePortMapping) ──answer or timeout──▶ closed
 * ```
 * What a LAN host sends is trusted no further than needed: SSDP replies count only from the gateway's
 * address, and the description and control URLs must name that same host over plain http, so no
 * device on the LAN can point our requests elsewhere. Sizes are capped (UPNP_MAX_*); what does not
 * parse is a failure reason, never an exception.
 */

import { failureActions, type MapperAction, type MapperEvent, type PortMapping } from './port-map.js';

/** The SSDP multicast group and port (UDA 1.1 §1.1.2). */
export const SSDP_ADDRESS = '239.255.255.250';
export const SSDP_PORT = 1900;
/** The device type searched for. */
export const IGD_DEVICE = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
/** M-SEARCH sends (UDP may drop one), one per UPNP_SEARCH_INTERVAL_MS. */
export const UPNP_SEARCH_ATTEMPTS = 3;
/** Guess: MX is 1 s, so a device answers within a second of each search. */
export const UPNP_SEARCH_INTERVAL_MS = 1000;
/** Budget of one HTTP request (the driver aborts it then; guess: a LAN router answers in well under). */
export const UPNP_HTTP_TIMEOUT_MS = 3000;
/** Largest HTTP body read (a description is a few KiB). */
export const UPNP_MAX_BODY_BYTES = 64 * 1024;
/** Largest SSDP datagram read. */
export const UPNP_MAX_SSDP_BYTES = 2048;
/** Lease asked for, in seconds (as NAT-PMP's lifetime). */
export const UPNP_LEASE_S = 7200;
/** External ports tried when the gateway says the port is taken (fault 718). */
export const UPNP_PORT_ATTEMPTS = 3;
/** After giving up, try again this much later (as NAT-PMP). */
export const UPNP_RETRY_MS = 10 * 60_000;

const SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
];

/** The M-SEARCH datagram (UDA 1.1 §1.3.2). */
export function encodeSearch(): Uint8Array {
  return new TextEncoder().encode(
    `M-SEARCH * HTTP/1.1\r\nHOST: ${SSDP_ADDRESS}:${SSDP_PORT}\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n` +
      `ST: ${IGD_DEVICE}\r\n\r\n`,
  );
}

/** The LOCATION of an SSDP search reply, or undefined when it is not one. */
export function parseSearchReply(bytes: Uint8Array): string | undefined {
  if (bytes.length > UPNP_MAX_SSDP_BYTES) return undefined;
  const text = new TextDecoder().decode(bytes);
  const lines = text.split('\r\n');
  if (!/^HTTP\/1\.[01] 200\b/.test(lines[0] ?? '')) return undefined;
  for (const line of lines) {
    const m = /^location:\s*(\S+)\s*$/i.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * `url` resolved against `base`, if it is plain http to `host` (the gateway), else undefined: no
 * other host, scheme or credentials.
 */
export function gatewayUrl(url: string, base: string | undefined, host: string): URL | undefined {
  let u: URL;
  try {
    u = base === undefined ? new URL(url) : new URL(url, base);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' || u.username !== '' || u.password !== '') return undefined;
  return u.hostname === host ? u : undefined;
}

const tag = (xml: string, name: string): string | undefined => {
  const m = new RegExp(`<(?:[\\w-]+:)?${name}>\\s*([^<]*?)\\s*</(?:[\\w-]+:)?${name}>`).exec(xml);
  return m?.[1];
};

/** The control URL and service type of the first WAN connection service of a description. */
export function parseDescription(
  xml: string,
): { controlUrl: string; service: string; base?: string } | undefined {
  const base = tag(xml, 'URLBase');
  for (const block of xml.split(/<service>/).slice(1)) {
    const end = block.indexOf('</service>');
    const body = end === -1 ? block : block.slice(0, end);
    const type = tag(body, 'serviceType');
    const control = tag(body, 'controlURL');
    if (type !== undefined && control !== undefined && SERVICES.includes(type)) {
      return { controlUrl: control, service: type, ...(base === undefined ? {} : { base }) };
    }
  }
  return undefined;
}

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

/** A SOAP request body and its SOAPAction header (UDA 1.1 §3.2.1). */
export function soapRequest(
  service: string,
  action: string,
  args: Readonly<Record<string, string | number>>,
): { body: string; soapAction: string } {
  const inner = Object.entries(args)
    .map(([k, v]) => `<${k}>${xmlEscape(String(v))}</${k}>`)
    .join('');
  return {
    body:
      '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' +
      's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>' +
      `<u:${action} xmlns:u="${service}">${inner}</u:${action}></s:Body></s:Envelope>`,
    soapAction: `"${service}#${action}"`,
  };
}

/** The UPnP error code of a SOAP fault body (`<errorCode>`), or undefined. */
export function faultCode(xml: string): number | undefined {
  const c = tag(xml, 'errorCode');
  return c !== undefined && /^\d{1,4}$/.test(c) ? Number(c) : undefined;
}

export type UpnpStateName =
  | 'idle'
  | 'discovering'
  | 'describing'
  | 'asking'
  | 'mapping'
  | 'mapped'
  | 'renewing'
  | 'unavailable'
  | 'deleting'
  | 'closed';

export type UpnpFailure =
  | 'no-gateway-reply'
  | 'no-wan-service'
  | 'http-error'
  | 'bad-answer'
  | 'bad-address'
  | 'port-conflict'
  | `fault-${number}`;

export interface HttpRequest {
  /** Matches the response event to the request. */
  id: number;
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export type UpnpEvent =
  | MapperEvent
  | { type: 'ssdp'; bytes: Uint8Array; fromHost: string }
  /** `localAddress`: the address our socket used toward the gateway (our LAN address). */
  | { type: 'http-response'; id: number; status: number; body: string; localAddress: string }
  | { type: 'http-error'; id: number };

export type UpnpAction =
  | { type: 'ssdp-search'; bytes: Uint8Array }
  | { type: 'http'; request: HttpRequest }
  | MapperAction<UpnpFailure>;

export interface UpnpStats {
  searches: number;
  requests: number;
  mapped: number;
  renewed: number;
  lost: number;
  failures: Partial<Record<UpnpFailure, number>>;
  /** SSDP replies from another host than the gateway, or URLs naming another host. */
  ignored: number;
}

export interface UpnpMachineOptions {
  /** The gateway's address (the default route's): the only host we talk to. */
  gateway: string;
  /** Our listener's TCP port. */
  internalPort: number;
  /** What shows in the router's table. */
  description?: string;
  leaseS?: number;
  retryMs?: number;
}

/** One TCP port mapping through a UPnP IGD (see the module comment). */
export class UpnpMachine {
  #state: UpnpStateName = 'idle';
  #attempt = 0;
  #nextId = 1;
  #pending: number | undefined;
  #control: { url: string; service: string } | undefined;
  /** The description's URL: the base of a relative control URL. */
  #location: string | undefined;
  #localAddress = '';
  #host = '';
  #portTry = 0;
  #externalPort = 0;
  #lease: number;
  #mapping: PortMapping | undefined;
  readonly #o: Required<UpnpMachineOptions>;
  readonly stats: UpnpStats = {
    searches: 0,
    requests: 0,
    mapped: 0,
    renewed: 0,
    lost: 0,
    failures: {},
    ignored: 0,
  };

  /** @throws {RangeError} for a port outside 1–65535. */
  constructor(opts: UpnpMachineOptions) {
    if (!Number.isInteger(opts.internalPort) || opts.internalPort < 1 || opts.internalPort > 65_535) {
      throw new RangeError('"internalPort" expected an integer 1-65535');
    }
    this.#o = {
      description: 'gossip-topic-tracker',
      leaseS: UPNP_LEASE_S,
      retryMs: UPNP_RETRY_MS,
      ...opts,
    };
    this.#lease = this.#o.leaseS;
  }

  get state(): UpnpStateName {
    return this.#state;
  }

  get mapping(): PortMapping | undefined {
    return this.#mapping;
  }

  handle(event: UpnpEvent, _now: number): UpnpAction[] {
    if (this.#state === 'closed') return [];
    switch (event.type) {
      case 'start':
        return this.#state === 'idle' ? this.#search() : [];
      case 'ssdp':
        return this.#onSsdp(event.bytes, event.fromHost);
      case 'http-response':
        if (event.id !== this.#pending) return [];
        this.#pending = undefined;
        return this.#onResponse(event.status, event.body, event.localAddress);
      case 'http-error':
        if (event.id !== this.#pending) return [];
        this.#pending = undefined;
        return this.#state === 'deleting' ? this.#closed() : this.#fail('http-error');
      case 'timer':
        return this.#onTimer();
      case 'close':
        return this.#onClose();
    }
  }

  #search(): UpnpAction[] {
    this.#state = 'discovering';
    this.#attempt = 1;
    this.stats.searches += 1;
    return [
      { type: 'ssdp-search', bytes: encodeSearch() },
      { type: 'set-timer', delayMs: UPNP_SEARCH_INTERVAL_MS },
    ];
  }

  #http(method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: string): UpnpAction[] {
    const id = this.#nextId++;
    this.#pending = id;
    this.stats.requests += 1;
    return [
      { type: 'http', request: { id, method, url, headers, ...(body === undefined ? {} : { body }) } },
      // The driver bounds each request too; this is the machine's own deadline for it.
      { type: 'set-timer', delayMs: UPNP_HTTP_TIMEOUT_MS + 500 },
    ];
  }

  #soap(action: string, args: Record<string, string | number>): UpnpAction[] {
    const c = this.#control!;
    const { body, soapAction } = soapRequest(c.service, action, args);
    return this.#http(
      'POST',
      c.url,
      { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: soapAction },
      body,
    );
  }

  #addMapping(): UpnpAction[] {
    return this.#soap('AddPortMapping', {
      NewRemoteHost: '',
      NewExternalPort: this.#externalPort,
      NewProtocol: 'TCP',
      NewInternalPort: this.#o.internalPort,
      NewInternalClient: this.#localAddress,
      NewEnabled: 1,
      NewPortMappingDescription: this.#o.description,
      NewLeaseDuration: this.#lease,
    });
  }

  #onSsdp(bytes: Uint8Array, fromHost: string): UpnpAction[] {
    if (this.#state !== 'discovering') return [];
    const location = fromHost === this.#o.gateway ? parseSearchReply(bytes) : undefined;
    const url = location === undefined ? undefined : gatewayUrl(location, undefined, this.#o.gateway);
    if (url === undefined) {
      this.stats.ignored += 1;
      return [];
    }
    this.#state = 'describing';
    this.#location = url.href;
    return this.#http('GET', url.href, {});
  }

  #onResponse(status: number, body: string, localAddress: string): UpnpAction[] {
    switch (this.#state) {
      case 'describing': {
        const d = status === 200 ? parseDescription(body) : undefined;
        if (d === undefined) return this.#fail('no-wan-service');
        // The description URL is the base of a relative control URL (UDA 1.1 §2.3 URLBase).
        const url = gatewayUrl(d.controlUrl, d.base ?? this.#location, this.#o.gateway);
        if (url === undefined) {
          this.stats.ignored += 1;
          return this.#fail('bad-address');
        }
        this.#control = { url: url.href, service: d.service };
        this.#localAddress = localAddress;
        this.#state = 'asking';
        return this.#soap('GetExternalIPAddress', {});
      }
      case 'asking': {
        const host = status === 200 ? tag(body, 'NewExternalIPAddress') : undefined;
        if (host === undefined || !/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return this.#fail('bad-answer');
        this.#host = host;
        this.#state = 'mapping';
        this.#portTry = 0;
        this.#externalPort = this.#o.internalPort;
        return this.#addMapping();
      }
      case 'mapping':
      case 'renewing': {
        if (status !== 200) {
          const code = faultCode(body);
          // 725: OnlyPermanentLeasesSupported (IGD v1 routers): ask again for a permanent one.
          if (code === 725 && this.#lease !== 0) {
            this.#lease = 0;
            return this.#addMapping();
          }
          // 718: ConflictInMappingEntry: the port belongs to another host; try another one.
          if (code === 718 && this.#state === 'mapping' && ++this.#portTry < UPNP_PORT_ATTEMPTS) {
            this.#externalPort = 1024 + ((this.#o.internalPort + this.#portTry * 7919) % 64_000);
            return this.#addMapping();
          }
          return this.#fail(
            code === 718 ? 'port-conflict' : code === undefined ? 'bad-answer' : `fault-${code}`,
          );
        }
        const renewed = this.#state === 'renewing';
        this.#mapping = { host: this.#host, port: this.#externalPort, lifetimeMs: this.#lease * 1000 };
        this.#state = 'mapped';
        if (renewed) this.stats.renewed += 1;
        else this.stats.mapped += 1;
        const out: UpnpAction[] = [{ type: 'mapped', mapping: { ...this.#mapping }, renewed }];
        // A permanent mapping needs no renewal; a leased one is renewed at half its lease.
        out.push(
          this.#lease === 0
            ? { type: 'clear-timer' }
            : { type: 'set-timer', delayMs: Math.max(10_000, (this.#lease * 1000) / 2) },
        );
        return out;
      }
      case 'deleting':
        return this.#closed();
      default:
        return [];
    }
  }

  #onTimer(): UpnpAction[] {
    switch (this.#state) {
      case 'discovering':
        if (this.#attempt >= UPNP_SEARCH_ATTEMPTS) return this.#fail('no-gateway-reply');
        this.#attempt += 1;
        return [
          { type: 'ssdp-search', bytes: encodeSearch() },
          { type: 'set-timer', delayMs: UPNP_SEARCH_INTERVAL_MS },
        ];
      case 'describing':
      case 'asking':
      case 'mapping':
      case 'renewing':
        this.#pending = undefined;
        return this.#fail('http-error');
      case 'deleting':
        return this.#closed();
      case 'mapped':
        this.#state = 'renewing';
        return this.#addMapping();
      case 'unavailable':
        return this.#search();
      case 'idle':
      case 'closed':
        return [];
    }
  }

  #fail(reason: UpnpFailure): UpnpAction[] {
    const had = this.#mapping !== undefined;
    this.#mapping = undefined;
    this.#state = 'unavailable';
    this.#lease = this.#o.leaseS;
    return failureActions(this.stats, had, reason, this.#o.retryMs);
  }

  #closed(): UpnpAction[] {
    this.#state = 'closed';
    this.#mapping = undefined;
    this.#pending = undefined;
    return [{ type: 'clear-timer' }, { type: 'closed' }];
  }

  #onClose(): UpnpAction[] {
    if (this.#mapping === undefined || this.#control === undefined) return this.#closed();
    this.#state = 'deleting';
    return this.#soap('DeletePortMapping', {
      NewRemoteHost: '',
      NewExternalPort: this.#mapping.port,
      NewProtocol: 'TCP',
    });
  }
}
