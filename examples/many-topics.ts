/**
 * The front door: one node, many topics. `createNode` starts one DHT node and one gossip listener;
 * `node.join(name)` returns each topic at once, and all of them share that one identity, DHT socket
 * and listener. A firewall keeps an unwanted peer out of every topic.
 *
 *   npx tsx examples/many-topics.ts                         # on a private DHT on this machine
 *   npx tsx examples/many-topics.ts --bootstrap host:port   # against a DHT you name
 */
import { randomBytes } from 'node:crypto';
import { createNode, createTestnet, type TopicNodeOptions } from '../src/index.js';

// Unless told otherwise, a few DHT nodes on 127.0.0.1 stand in for the public mainline DHT.
const flag = process.argv.indexOf('--bootstrap');
const testnet = flag === -1 ? await createTestnet({ nodes: 10 }) : undefined;
const bootstrap = testnet?.bootstrap ?? [process.argv[flag + 1]!];
const options: TopicNodeOptions = testnet
  ? { dht: { bootstrap, host: '127.0.0.1' }, listen: '127.0.0.1:0' }
  : { dht: { bootstrap } };

const mallory = await createNode(options);
const alice = await createNode(options);
// `firewall` returns true to refuse a peer: asked once a handshake proved the peer's id (both ways)
// and before every dial. Here bob refuses mallory on every topic.
const bob = await createNode({ ...options, firewall: (peer) => peer.id === mallory.id });

const run = randomBytes(4).toString('hex');
const rooms = ['news', 'sports', 'weather'];
const aliceRooms = rooms.map((room) => alice.join(`${room}-${run}`));
const bobRooms = rooms.map((room) => bob.join(`${room}-${run}`));
// join() returned at once; joined() waits for a neighbour.
await Promise.all([...aliceRooms, ...bobRooms].map((t) => t.joined()));

for (const [i, room] of rooms.entries()) {
  const heard = new Promise<string>((resolve) =>
    bobRooms[i]!.once('message', (m) => resolve(new TextDecoder().decode(m.content))),
  );
  aliceRooms[i]!.broadcast(new TextEncoder().encode(`the ${room} from alice`));
  console.log(`bob heard on ${room}: ${await heard}`);
}
const [listening] = bob.addresses();
console.log(`bob's node: ${bob.topics().length} topics on one listener (port ${listening!.port})`);

// mallory dials bob directly: bob's firewall closes the connection once the handshake names mallory.
mallory.join(`news-${run}`, { peers: [{ id: bob.id, addresses: bob.addresses() }] });
while (bob.stats.gossip.transport.firewall.inbound === 0) await new Promise((r) => setTimeout(r, 20));
console.log(`bob refused mallory: ${!bobRooms[0]!.neighbors().includes(mallory.id)}`);

// leave() leaves one topic; the node and its other topics go on. close() leaves the rest and stops
// the DHT node and the listener; then nothing keeps the process alive.
await bobRooms[1]!.leave();
console.log(`bob left sports: ${bob.topics().length} topics left`);
await Promise.all([alice.close(), bob.close(), mallory.close()]);
await testnet?.close();
