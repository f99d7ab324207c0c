/**
 * Run as a child process by test/net/exit.test.ts: two gossip nodes join a topic, exchange a message,
 * close, and the script returns. Anything left open (a timer, a socket) would keep the process alive.
 */
import { TopicId } from '../../src/crypto/topic.js';
import { Gossip } from '../../src/net/gossip.js';

const cfg = { transport: { keepaliveTimeoutMs: 500, keepaliveIntervalMs: 100 } };
const a = await Gossip.create({ listen: { host: '127.0.0.1', port: 0 }, ...cfg });
const b = await Gossip.create({ listen: { host: '127.0.0.1', port: 0 }, ...cfg });
const topic = TopicId.fromName('exit test');
const ta = a.subscribe(topic);
const tb = b.subscribe(topic, { bootstrap: [{ id: a.id, addresses: a.addresses() }] });
await Promise.all([ta.joined(), tb.joined()]);
const got = new Promise<Uint8Array>((resolve) => tb.once('message', (m) => resolve(m.content)));
ta.broadcast(new TextEncoder().encode('bye'));
const content = new TextDecoder().decode(await got);
// An iterator and a joined() still waiting at close must not keep the process alive either.
const pending = b
  .subscribe(TopicId.fromName('nobody'))
  .joined()
  .catch((e: { code?: string }) => e.code);
await Promise.all([a.close(), b.close()]);
console.log(JSON.stringify({ content, pending: await pending }));
