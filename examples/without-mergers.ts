/**
 * A topic whose members use the DHT to get in, and (almost) never again: both merges off.
 *
 *   npx tsx examples/without-mergers.ts                         # on a private DHT on this machine
 *   npx tsx examples/without-mergers.ts --bootstrap host:port   # against a DHT you name
 *
 * The trade-off, in short: the DHT is slow, public and shared, so every lookup you skip is welcome; but
 * the merges are what repairs the mesh from the DHT when gossip alone cannot.
 */
import { randomBytes } from 'node:crypto';
import { createNode, createTestnet, type TrackerConfigInput } from '../src/index.js';

const config: TrackerConfigInput = {
  merge: {
    // Bubble merge: a member with fewer than 4 neighbours reads the records and joins more peers.
    // Without it, the bootstrap loop stops for good at the first neighbour, and from then on only the
    // gossip layer's own repair (HyParView's passive view of spare peers) keeps a member connected: a
    // member whose neighbours and spare peers all went away (a long network outage) stays alone.
    bubble: false,
    // Overlap merge: a record whose recent messages we never saw means the mesh split in two (two
    // groups started at the same instant in an empty topic, or a network partition); joining its
    // publisher heals the split. Without it, a split stays split.
    overlap: false,
  },
  publisher: {
    // With the publisher on, members keep a fresh record in the DHT (one read and one write every
    // 10–60 s each, backing off as the topic grows), so a newcomer can find the topic at any time.
    // Off, only members still bootstrapping publish. Records are read for the current and the last
    // minute, so about two minutes after the last member joined, nobody can find the topic any more:
    // fine for a group that meets once and closes the door, and then nothing touches the DHT at all.
    enabled: true,
  },
};

// Unless told otherwise, a few DHT nodes on 127.0.0.1 stand in for the public mainline DHT.
const flag = process.argv.indexOf('--bootstrap');
const testnet = flag === -1 ? await createTestnet({ nodes: 10 }) : undefined;
const bootstrap = testnet?.bootstrap ?? [process.argv[flag + 1]!];
const options = testnet
  ? { dht: { bootstrap, host: '127.0.0.1' }, listen: '127.0.0.1:0' }
  : { dht: { bootstrap } };
const name = `no-merge-example-${randomBytes(4).toString('hex')}`;

// Three members: joining needs only the bootstrap loop, which the merges do not touch.
// (The merges are per topic: `config` goes to `node.join`.)
const nodes = await Promise.all([createNode(options), createNode(options), createNode(options)]);
const [alice, bob, carol] = nodes.map((node) => node.join(name, { config }));
await Promise.all([alice!.joined(), bob!.joined(), carol!.joined()]);
console.log('alice, bob and carol joined');

const received = [bob!, carol!].map(
  (p) =>
    new Promise<string>((resolve) => p.once('message', (m) => resolve(new TextDecoder().decode(m.content)))),
);
alice!.broadcast(new TextEncoder().encode('no merges needed to hear this'));
console.log(`bob and carol received: ${(await Promise.all(received)).join(' | ')}`);

await Promise.all(nodes.map((node) => node.close()));
await testnet?.close();
