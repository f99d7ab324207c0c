/**
 * The smallest complete use: two peers join one topic, one broadcasts, the other prints what it got.
 *
 *   npx tsx examples/simple.ts                         # on a private DHT on this machine
 *   npx tsx examples/simple.ts --bootstrap host:port   # against a DHT you name
 *
 * The peers never learn each other's address from us: each publishes a sealed record in the DHT and
 * reads the others', exactly as two apps on two machines would.
 */
import { randomBytes } from 'node:crypto';
import { createNode, createTestnet } from '../src/index.js';

// A real app would leave `dht` at its default (the public mainline routers). An example must not
// depend on the internet, so unless told otherwise it starts a few DHT nodes on 127.0.0.1.
const flag = process.argv.indexOf('--bootstrap');
const testnet = flag === -1 ? await createTestnet({ nodes: 10 }) : undefined;
const bootstrap = testnet?.bootstrap ?? [process.argv[flag + 1]!];
const options = testnet
  ? { dht: { bootstrap, host: '127.0.0.1' }, listen: '127.0.0.1:0' }
  : { dht: { bootstrap } };

// A fresh name per run: on a long-lived DHT (`--bootstrap`) the records of an earlier run linger for
// a minute or two, and we want these two peers to find each other, not a ghost.
const name = `simple-example-${randomBytes(4).toString('hex')}`;

// One node per peer (a node holds one DHT node and one listener for as many topics as it joins).
// join() returns the topic at once; joined() resolves once it has a neighbour.
const [a, b] = await Promise.all([createNode(options), createNode(options)]);
const [alice, bob] = [a.join(name), b.join(name)];
await Promise.all([alice.joined(), bob.joined()]);

const received = new Promise<string>((resolve) =>
  bob.once('message', (m) => resolve(new TextDecoder().decode(m.content))),
);
alice.broadcast(new TextEncoder().encode('hello from alice'));
console.log(`bob received: ${await received}`);

// close() leaves every topic and stops the node's DHT node and listener; then nothing keeps the
// process alive.
await Promise.all([a.close(), b.close()]);
await testnet?.close();
