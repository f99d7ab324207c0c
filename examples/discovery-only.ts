/**
 * Discovery only: use gossip-topic-tracker to find the peers of a topic, and connect to them with your
 * own transport. Here the "transport" is a plain TCP server that exchanges one greeting per connection.
 *
 *   npx tsx examples/discovery-only.ts                     # two apps on a local DHT testnet
 *   npx tsx examples/discovery-only.ts --bootstrap host:port   # against a DHT you name
 *
 * Each app publishes its TCP address in the topic's DHT records and reports its connections back
 * through `state()`; the discovery hands it the other app as a candidate; it connects and says hello.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { createTestnet, discoverPeers } from '../src/index.js';
import { keyPairFromSeed } from '../src/records.js';

const flag = process.argv.indexOf('--bootstrap');
const testnet = flag === -1 ? await createTestnet({ nodes: 10 }) : undefined;
const bootstrap = testnet?.bootstrap ?? [process.argv[flag + 1]!];
const topic = `discovery-example-${randomBytes(4).toString('hex')}`;

async function app(name: string) {
  const keyPair = keyPairFromSeed(randomBytes(32));
  const connected = new Map<string, net.Socket>(); // peer id (hex) → socket
  let heard: (line: string) => void = () => {};
  const hello = new Promise<string>((resolve) => {
    heard = resolve;
  });
  // Your transport: a TCP server that prints what it is told.
  const server = net.createServer((socket) => {
    socket.once('data', (d) => heard(`${name} heard: ${d.toString().trim()}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  const discovery = await discoverPeers(topic, {
    keyPair,
    secret: 'example secret',
    addresses: [{ host: '127.0.0.1', port }],
    dht: testnet ? { bootstrap, host: '127.0.0.1' } : { bootstrap },
    // Your mesh as it is now: the tracker stops bootstrapping once this is non-empty.
    state: () => ({ neighbors: [...connected.keys()].map((id) => ({ id })) }),
  });
  // Candidates arrive as the DHT records are read.
  void (async () => {
    for await (const peer of discovery) {
      if (connected.has(peer.id)) continue;
      const a = peer.addresses[0]!;
      const socket = net.connect(a.port, a.host, () => socket.write(`hello from ${name}\n`));
      socket.on('error', () => connected.delete(peer.id));
      connected.set(peer.id, socket);
      discovery.notify(); // our neighbours changed
    }
  })();
  return {
    hello,
    async close() {
      for (const s of connected.values()) s.destroy();
      await discovery.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const [alice, bob] = await Promise.all([app('alice'), app('bob')]);
console.log(await Promise.race([alice.hello, bob.hello]));
await Promise.all([alice.close(), bob.close()]);
await testnet?.close();
