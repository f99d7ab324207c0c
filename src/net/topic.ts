/**
 * The handle of one subscribed topic: commands go to the gossip core through the `Gossip` actor, app
 * events come back as typed events (eventemitter3) and through bounded async iterators.
 */
import { EventEmitter } from 'eventemitter3';
import type { Address } from '../crypto/address.js';
import { abytes } from '../crypto/utils.js';
import { GttError } from '../errors.js';
import {
  type AppEvent,
  assertNever,
  type Command,
  type NeighborDownCause,
  type PeerId,
  type PeerInfo,
  type Scope,
  type TopicKey,
} from '../proto/types.js';

/** A peer to join through: its id (hex or 32 bytes) and where to dial it. */
export interface Peer {
  id: PeerId | Uint8Array;
  addresses: Address[];
}

/** A message delivered on a topic. */
export interface TopicMessage {
  /** The message id (hex SHA-256, PROTOCOL.md §8.3): the same at every receiver. */
  id: string;
  content: Uint8Array;
  /** The node that broadcast it (hex id). */
  origin: PeerId;
  /** The neighbour it arrived from. */
  deliveredFrom: PeerId;
  /** Hops taken: 1 when it came from the origin itself. */
  hops: number;
  /** `swarm` for `broadcast`, `neighbors` for `broadcastNeighbors`. */
  scope: Scope;
  /**
   * When the origin broadcast it: unix ms by the origin's clock, signed with the message (PROTOCOL.md
   * §8.2). Never more than `limits.maxClockSkewMs` ahead of our clock (such messages are dropped).
   */
  sentAt: number;
  /**
   * Not a live delivery (PROTOCOL.md §8.6): it came in answer to a GRAFT of ours (a newcomer catching
   * up on its neighbours' recent messages, or a repair of a lost push), or `sentAt` is more than
   * `plumtree.replayAfterMs` (30 s) before our clock.
   */
  replay: boolean;
}

/** One of our own broadcasts. */
export interface SentMessage {
  id: string;
  content: Uint8Array;
  scope: Scope;
}

/** Events of a {@link Topic}. */
export interface TopicEvents {
  message: (message: TopicMessage) => void;
  'neighbor-up': (peer: PeerId) => void;
  'neighbor-down': (peer: PeerId, cause: NeighborDownCause) => void;
  /** The topic got its first neighbour. */
  joined: () => void;
  /** One of our own broadcasts left (its id is what receivers see as `message.id`). */
  sent: (message: SentMessage) => void;
  /** An async iterator's buffer was full: `dropped` oldest messages were dropped from it. */
  lagged: (dropped: number) => void;
}

/** How the Gossip actor reaches a Topic handle: given by the handle to its driver, never public. */
export interface TopicHandlers {
  /** One app event from the core. */
  deliver(event: AppEvent): void;
  /** Ends the handle without telling the core (the Gossip is crashing). */
  end(): void;
}

/** What a Topic needs from its Gossip. */
export interface TopicDriver {
  command(topic: TopicKey, command: Command): void;
  addPeers(peers: readonly Peer[]): PeerInfo[];
  /** Called once by the handle's constructor: where the actor delivers the topic's events. */
  attach(topic: TopicKey, handlers: TopicHandlers): void;
  release(topic: TopicKey): void;
  readonly maxContentBytes: number;
  readonly bufferMessages: number;
}

/** One subscribed topic. Get it from `Gossip.subscribe`. */
export class Topic extends EventEmitter<TopicEvents> {
  /** The topic hash (hex). */
  readonly key: TopicKey;
  readonly #driver: TopicDriver;
  readonly #neighbors = new Set<PeerId>();
  readonly #streams = new Set<MessageStream>();
  readonly #waiters = new Set<{ resolve: () => void; reject: (e: unknown) => void }>();
  #left = false;

  /** Made by `Gossip.subscribe`, whose actor delivers the events through the handlers given here. */
  constructor(key: TopicKey, driver: TopicDriver) {
    super();
    this.key = key;
    this.#driver = driver;
    driver.attach(key, { deliver: (e) => this.#deliver(e), end: () => this.#end() });
  }

  /**
   * Broadcasts `content` to every member of the topic.
   * @throws {GttError} `CLOSED` after `leave()`; {@link TypeError} / {@link RangeError} for content that is not a Uint8Array or too large.
   */
  broadcast(content: Uint8Array): void {
    this.#command({ type: 'broadcast', content: this.#content(content) });
  }

  /**
   * Sends `content` to the current neighbours only; they do not forward it.
   * @throws {GttError} `CLOSED` after `leave()`; {@link TypeError} / {@link RangeError} for bad content.
   */
  broadcastNeighbors(content: Uint8Array): void {
    this.#command({ type: 'broadcast-neighbors', content: this.#content(content) });
  }

  /**
   * Joins through more peers.
   * @throws {GttError} `CLOSED` after `leave()`; {@link TypeError} / {@link RangeError} for a bad peer.
   */
  joinPeers(peers: readonly Peer[]): void {
    if (this.#left) throw GttError.closed('topic');
    const infos = this.#driver.addPeers(peers);
    this.#command({ type: 'join', peers: infos });
  }

  /** The current neighbours (the active view), hex ids. */
  neighbors(): PeerId[] {
    return [...this.#neighbors];
  }

  /** Whether the topic has at least one neighbour. */
  isJoined(): boolean {
    return this.#neighbors.size > 0;
  }

  /** Whether `leave()` ran (or the Gossip closed). */
  get left(): boolean {
    return this.#left;
  }

  /**
   * Resolves once the topic has a neighbour.
   * @throws {GttError} `ABORTED` when `signal` aborts, `CLOSED` when the topic is left first.
   */
  joined(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#left) return Promise.reject(GttError.closed('topic'));
    if (this.isJoined()) return Promise.resolve();
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(GttError.aborted(signal.reason));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(w);
        reject(GttError.aborted(signal?.reason));
      };
      const w = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.#waiters.add(w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * The messages delivered from now on, buffered up to `topicBufferMessages` (the oldest are dropped
   * and reported with `lagged`). Ends when the topic is left, the Gossip closes or `signal` aborts.
   */
  messages(opts: { signal?: AbortSignal } = {}): AsyncIterableIterator<TopicMessage> {
    const stream = new MessageStream(
      this.#driver.bufferMessages,
      (n) => this.emit('lagged', n),
      () => this.#streams.delete(stream),
    );
    if (this.#left) stream.end();
    else this.#streams.add(stream);
    const signal = opts.signal;
    if (signal !== undefined) {
      if (signal.aborted) stream.end();
      else signal.addEventListener('abort', () => stream.end(), { once: true });
    }
    return stream;
  }

  /** Same as `messages()`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<TopicMessage> {
    return this.messages();
  }

  /** Leaves the topic: DISCONNECTs every neighbour, ends the iterators. Idempotent. */
  leave(): void {
    if (this.#left) return;
    this.#driver.command(this.key, { type: 'leave' });
    this.#driver.release(this.key);
    this.#end();
  }

  /** Ends the handle without telling the core (the Gossip is crashing). */
  #end(): void {
    if (this.#left) return;
    this.#left = true;
    for (const s of this.#streams) s.end();
    this.#streams.clear();
    for (const w of this.#waiters) w.reject(GttError.closed('topic'));
    this.#waiters.clear();
    this.#neighbors.clear();
  }

  /** One app event from the core. */
  #deliver(event: AppEvent): void {
    if (this.#left) return;
    switch (event.type) {
      case 'neighbor-up':
        this.#neighbors.add(event.peer);
        for (const w of this.#waiters) w.resolve();
        this.#waiters.clear();
        this.emit('neighbor-up', event.peer);
        break;
      case 'neighbor-down':
        this.#neighbors.delete(event.peer);
        this.emit('neighbor-down', event.peer, event.cause);
        break;
      case 'joined':
        this.emit('joined');
        break;
      case 'sent':
        this.emit('sent', { id: event.id, content: event.content, scope: event.scope });
        break;
      case 'received': {
        const m: TopicMessage = {
          id: event.id,
          content: event.content,
          origin: event.origin,
          deliveredFrom: event.deliveredFrom,
          hops: event.hops,
          scope: event.scope,
          sentAt: event.sentAt,
          replay: event.replay,
        };
        for (const s of this.#streams) s.push(m);
        this.emit('message', m);
        break;
      }
      default:
        assertNever(event);
    }
  }

  #command(command: Command): void {
    if (this.#left) throw GttError.closed('topic');
    this.#driver.command(this.key, command);
  }

  #content(content: Uint8Array): Uint8Array {
    abytes(content, undefined, 'content');
    const max = this.#driver.maxContentBytes;
    if (content.length > max) {
      throw new RangeError(`"content" expected at most ${max} bytes, got length=${content.length}`);
    }
    return content;
  }
}

/** A bounded async iterator of messages: drops the oldest on overflow and reports it. */
class MessageStream implements AsyncIterableIterator<TopicMessage> {
  readonly #buffer: TopicMessage[] = [];
  readonly #pending: ((r: IteratorResult<TopicMessage>) => void)[] = [];
  #done = false;

  constructor(
    private readonly capacity: number,
    private readonly onLagged: (dropped: number) => void,
    private readonly onEnd: () => void,
  ) {}

  push(m: TopicMessage): void {
    if (this.#done) return;
    const next = this.#pending.shift();
    if (next !== undefined) {
      next({ value: m, done: false });
      return;
    }
    this.#buffer.push(m);
    if (this.#buffer.length > this.capacity) {
      this.#buffer.shift();
      this.onLagged(1);
    }
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.onEnd();
    for (const p of this.#pending) p({ value: undefined, done: true });
    this.#pending.length = 0;
  }

  next(): Promise<IteratorResult<TopicMessage>> {
    const m = this.#buffer.shift();
    if (m !== undefined) return Promise.resolve({ value: m, done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#pending.push(resolve));
  }

  return(): Promise<IteratorResult<TopicMessage>> {
    this.#buffer.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TopicMessage> {
    return this;
  }
}
