/**
 * Run as a child process by test/tracker/exit.test.ts: a 10-node testnet, two peers that join a topic
 * through it and exchange a message, a third closed in the middle of its bootstrap, a discovery-only
 * handle, and a `createNode` node with three topics (one left, two still bootstrapping when the node
 * closes); everything is closed and the script returns. Anything left open keeps the process alive.
 */
import { createTestnet } from '../../src/dht/index.js';
import { discoverPeers } from '../../src/tracker/discovery.js';
import { joinTopic } from '../../src/tracker/join.js';
import { createNode } from '../../src/tracker/node.js';

const net = await createTestnet({ nodes: 10 });
const opts = {
  dht: { bootstrap: net.bootstrap, host: '127.0.0.1' },
  gossip: { listen: { host: '127.0.0.1', port: 0 } },
};
const [a, b] = await Promise.all([joinTopic('exit test', opts), joinTopic('exit test', opts)]);
const got = new Promise<string>((resolve) =>
  b.once('message', (m) => resolve(new TextDecoder().decode(m.content))),
);
a.broadcast(new TextEncoder().encode('bye'));
const content = await got;
const alone = await joinTopic('nobody here', { ...opts, wait: false });
const pending = alone.joined().catch((e: { code?: string }) => e.code);
const discovery = await discoverPeers('exit test', {
  dht: { bootstrap: net.bootstrap, host: '127.0.0.1' },
  addresses: [{ host: '127.0.0.1', port: 9 }],
  state: () => ({ neighbors: [] }),
});
const node = await createNode({
  dht: { bootstrap: net.bootstrap, host: '127.0.0.1' },
  listen: '127.0.0.1:0',
});
const [left] = ['exit test', 'node topic 2', 'node topic 3'].map((name) => node.join(name));
await left!.joined();
await left!.leave();
await Promise.all([a.close(), b.close(), alone.close(), discovery.close(), node.close()]);
await net.close();
console.log(JSON.stringify({ content, pending: await pending }));
