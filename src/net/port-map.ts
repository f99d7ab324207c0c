/**
 * What the two port-mapping protocols share (NAT-PMP, src/net/nat-pmp.ts; UPnP IGD, src/net/upnp.ts;
 * PROTOCOL.md §9.7): the mapping they grant, the actions every mapping machine emits besides its
 * protocol's own I/O, and `MapperDriver`, the part of a driver that runs those: the one timer, the
 * events, and a `close()` that lets the machine delete its mapping and then releases the protocol's
 * sockets. `PortMapper` (NAT-PMP) and `UpnpMapper` extend it with their sockets. Both ask the
 * default route's gateway (`defaultGateway`).
 */
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'eventemitter3';

/** A mapping a gateway granted. */
export interface PortMapping {
  /** The gateway's external IPv4 address. */
  host: string;
  /** The external port the gateway forwards to our internal port. */
  port: number;
  /** Granted lifetime in ms (UPnP: 0 for a permanent mapping). */
  lifetimeMs: number;
}

/** The actions of every mapping machine besides its protocol's I/O; `R` is its failure reason. */
export type MapperAction<R extends string> =
  /** (Re)arm the one timer: a `timer` event after `delayMs`; replaces any armed one. */
  | { type: 'set-timer'; delayMs: number }
  | { type: 'clear-timer' }
  /** A mapping was granted or renewed (`renewed`), possibly with another port or address. */
  | { type: 'mapped'; mapping: PortMapping; renewed: boolean }
  /** A mapping we had is gone (a failed renewal). */
  | { type: 'lost'; reason: R }
  /** No mapping could be made; another attempt follows after `retryMs`. */
  | { type: 'unavailable'; reason: R; retryMs: number }
  /** Closed: the driver releases its sockets. */
  | { type: 'closed' };

/** The events of both mappers. */
export interface PortMapperEvents {
  mapped: [mapping: PortMapping, renewed: boolean];
  /** A mapping we had is gone; the reason is the machine's own (`PortMapFailure`, `UpnpFailure`). */
  lost: [reason: string];
  unavailable: [reason: string];
}

/** The events every mapping machine takes besides its protocol's input. */
export type MapperEvent = { type: 'start' } | { type: 'timer' } | { type: 'close' };

/** A mapping machine as its driver sees it. */
export interface MappingMachine<E, A> {
  readonly state: string;
  readonly mapping: PortMapping | undefined;
  handle(event: E | MapperEvent, now: number): A[];
}

/**
 * Runs a mapping machine's common actions; a subclass runs the protocol's own (`runOwn`) and frees its
 * sockets (`release`, once).
 */
export abstract class MapperDriver<E, A extends { type: string }> extends EventEmitter<PortMapperEvents> {
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #done: (() => void) | undefined;
  #released = false;

  protected constructor(protected readonly machine: MappingMachine<E, A | MapperAction<string>>) {
    super();
  }

  get mapping(): PortMapping | undefined {
    return this.machine.mapping;
  }

  /** Whether `close()` was called (a socket bound after it must not start the machine). */
  protected get closing(): boolean {
    return this.#closing !== undefined;
  }

  protected get released(): boolean {
    return this.#released;
  }

  /** Runs an action that is not one of {@link MapperAction}. */
  protected abstract runOwn(action: A): void;
  /** Frees the protocol's sockets and requests; called once. */
  protected abstract release(): void;

  protected feed(event: E | MapperEvent): void {
    for (const a of this.machine.handle(event, performance.now())) this.#run(a);
  }

  #run(a: A | MapperAction<string>): void {
    const c = a as MapperAction<string>;
    switch (c.type) {
      case 'set-timer':
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.feed({ type: 'timer' }), c.delayMs);
        // Renewals and retries alone must not keep a process alive; a pending delete at close does.
        if (this.machine.state !== 'deleting') this.#timer.unref();
        return;
      case 'clear-timer':
        clearTimeout(this.#timer);
        this.#timer = undefined;
        return;
      case 'mapped':
        this.emit('mapped', c.mapping, c.renewed);
        return;
      case 'lost':
        this.emit('lost', c.reason);
        return;
      case 'unavailable':
        this.emit('unavailable', c.reason);
        return;
      case 'closed':
        this.#release();
        return;
      default:
        this.runOwn(a as A);
    }
  }

  #release(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#released) {
      this.#released = true;
      this.release();
    }
    this.#done?.();
  }

  /** Deletes the mapping (when there is one) and releases everything. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#done = resolve;
      this.beforeClose();
      this.feed({ type: 'close' });
      if (this.machine.state === 'closed') this.#release();
    });
    return this.#closing;
  }

  /** Runs before the machine hears `close` (default: nothing). */
  protected beforeClose(): void {}
}

/** The counters every mapping machine keeps of its failures. */
export interface MapperFailureCounts<R extends string> {
  lost: number;
  failures: Partial<Record<R, number>>;
}

/**
 * What a machine emits when a step fails (and counts it): the mapping lost, if it `had` one; then
 * unavailable, with the retry timer.
 */
export function failureActions<R extends string>(
  stats: MapperFailureCounts<R>,
  had: boolean,
  reason: R,
  retryMs: number,
): MapperAction<R>[] {
  stats.failures[reason] = (stats.failures[reason] ?? 0) + 1;
  const out: MapperAction<R>[] = [];
  if (had) {
    stats.lost += 1;
    out.push({ type: 'lost', reason });
  }
  out.push({ type: 'unavailable', reason, retryMs }, { type: 'set-timer', delayMs: retryMs });
  return out;
}

/**
 * Parses Linux's `/proc/net/route`: the IPv4 gateway of the default route (destination 0, flag
 * RTF_GATEWAY), or undefined. Addresses there are hex in host byte order (little-endian on x86/arm).
 */
export function defaultGatewayFromRouteTable(table: string): string | undefined {
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[1] !== '00000000') continue;
    const flags = Number.parseInt(f[3]!, 16);
    if (!(flags & 0x2) || !/^[0-9A-Fa-f]{8}$/.test(f[2]!)) continue;
    const n = Number.parseInt(f[2]!, 16);
    if (n === 0) continue;
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
  }
  return undefined;
}

/** The IPv4 gateway of this machine's default route (Linux: `/proc/net/route`), or undefined. */
export function defaultGateway(): string | undefined {
  try {
    return defaultGatewayFromRouteTable(readFileSync('/proc/net/route', 'utf8'));
  } catch {
    return undefined; // not Linux, or no procfs
  }
}
