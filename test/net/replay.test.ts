/**
 * Send times and replays over real sockets on 127.0.0.1 (PROTOCOL.md §8.6): a late joiner catches up
 * on a message broadcast before it joined, from its neighbour's cache, and its `message` event says
 * `replay: true` with the origin's `sentAt`; a message broadcast after it joined arrives live.
 */
import { afterEach, expect, it } from 'vitest';
import { TopicId } from '../../src/crypto/topic.js';
import { Gossip, type GossipOptions } from '../../src/net/gossip.js';
import type { Topic, TopicMessage } from '../../src/net/topic.js';
import { Closer } from '../helpers/net.js';

const closer = new Closer();
afterEach(() => closer.closeAll());

const FAST: GossipOptions = {
  listen: { host: '127.0.0.1', port: 0 },
  transport: { keepaliveTimeoutMs: 500, keepaliveIntervalMs: 100, handshakeTimeoutMs: 2000 },
};
const node = async (): Promise<Gossip> => closer.add(await Gossip.create(FAST));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (m: TopicMessage): string => new TextDecoder().decode(m.content);
const peer = (g: Gossip) => ({ id: g.id, addresses: g.addresses() });
const TOPIC = TopicId.fromName('replay test');

/** The first message on `t` whose text is `want`. */
const message = (t: Topic, want: string): Promise<TopicMessage> =>
  new Promise((resolve) => {
    const on = (m: TopicMessage) => {
      if (text(m) !== want) return;
      t.off('message', on);
      resolve(m);
    };
    t.on('message', on);
  });

it("a late joiner's message event carries replay = true and the origin's sentAt; live ones replay = false", async () => {
  const [a, b, c] = [await node(), await node(), await node()];
  const ta = a.subscribe(TOPIC);
  const tb = b.subscribe(TOPIC, { bootstrap: [peer(a)] });
  await Promise.all([ta.joined(), tb.joined()]);

  const early = message(tb, 'early');
  const before = Date.now();
  ta.broadcast(utf8('early'));
  const atB = await early;
  const after = Date.now();
  expect(atB.replay).toBe(false);
  expect(atB.sentAt).toBeGreaterThanOrEqual(before);
  expect(atB.sentAt).toBeLessThanOrEqual(after);

  // c joins after the broadcast: its neighbour announces its cache, and c fetches the message.
  const tc = c.subscribe(TOPIC, { bootstrap: [peer(b)] });
  const caughtUp = message(tc, 'early');
  await tc.joined();
  const atC = await caughtUp;
  expect(atC).toMatchObject({ id: atB.id, origin: a.id, replay: true, sentAt: atB.sentAt });
  expect(c.stats.proto.replays).toBe(1);

  const live = message(tc, 'live');
  ta.broadcast(utf8('live'));
  expect(await live).toMatchObject({ origin: a.id, replay: false, sentAt: expect.any(Number) });
  expect(c.stats.proto.replays).toBe(1);
});
