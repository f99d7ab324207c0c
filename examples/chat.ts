/**
 * A terminal chat: every line you type goes to everyone in the topic; Ctrl-D or Ctrl-C leaves.
 *
 *   npx tsx examples/chat.ts [topic]                          # starts a private DHT on this machine
 *   npx tsx examples/chat.ts [topic] --bootstrap host:port    # joins through a DHT you name
 *   npx tsx examples/chat.ts --demo                           # two chats in one process say hi, then exit
 *
 * Without `--bootstrap`, the first chat prints the command that joins it from a second terminal;
 * `--bootstrap router.bittorrent.com:6881` meets people on the public mainline DHT instead. The topic
 * defaults to "example-chat"; add `--secret <s>` so that only people who know it can find you.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createNode, createTestnet, type TrackedTopic } from '../src/index.js';

const { values, positionals } = parseArgs({
  options: { bootstrap: { type: 'string' }, secret: { type: 'string' }, demo: { type: 'boolean' } },
  allowPositionals: true,
});
const name = positionals[0] ?? 'example-chat';

// A real chat would leave `dht` at its default: the public mainline routers. Here the first chat
// starts a few DHT nodes on 127.0.0.1 instead, and later ones join those. (The DHT lives in the first
// chat's process: once that one quits, the others keep their mesh but newcomers cannot find it.)
const testnet = values.bootstrap === undefined ? await createTestnet({ nodes: 10 }) : undefined;
const bootstrap = testnet?.bootstrap ?? [values.bootstrap!];
// When the DHT is on this machine, stay on loopback: listening on 0.0.0.0 would advertise this
// machine's network addresses in the records, which is right on a real network and pointless here.
const local = bootstrap.every((b) => b.startsWith('127.'));
const nodeOptions = {
  dht: local ? { bootstrap, host: '127.0.0.1' } : { bootstrap },
  listen: local ? '127.0.0.1:0' : '0.0.0.0:0',
};
const joinOptions = { secret: values.secret };

const encode = (text: string) => new TextEncoder().encode(text);
const short = (id: string) => id.slice(0, 8); // ids are 64 hex digits: 8 tell people apart here
const nextMessage = (topic: TrackedTopic) =>
  new Promise<void>((resolve) => topic.once('message', () => resolve()));

function printMessages(topic: TrackedTopic, prefix = '') {
  topic.on('message', (m) =>
    console.log(`${prefix}${short(m.origin)}: ${new TextDecoder().decode(m.content)}`),
  );
}

if (values.demo) {
  // Two chats in one process (two nodes), each printing what it hears the way the terminal chat does.
  const nodes = await Promise.all([createNode(nodeOptions), createNode(nodeOptions)]);
  const [alice, bob] = nodes.map((node) => node.join(name, joinOptions)) as [TrackedTopic, TrackedTopic];
  await Promise.all([alice.joined(), bob.joined()]);
  console.log(`alice is ${short(alice.id)}, bob is ${short(bob.id)}`);
  printMessages(alice, '[alice sees] ');
  printMessages(bob, '[bob sees] ');
  let heard = nextMessage(bob);
  alice.broadcast(encode('hi bob'));
  await heard;
  heard = nextMessage(alice);
  bob.broadcast(encode('hi alice, bye'));
  await heard;
  await Promise.all(nodes.map((node) => node.close()));
} else {
  if (testnet) {
    console.log(`DHT running on ${bootstrap[0]}. Join from another terminal with:`);
    console.log(`  npx tsx examples/chat.ts ${name} --bootstrap ${bootstrap[0]}`);
  }
  // `join` returns at once: the first chat in a topic has nobody to join, and should still take input.
  const node = await createNode(nodeOptions);
  const topic = node.join(name, joinOptions);
  console.log(`* you are ${short(topic.id)}, in topic "${name}"; looking for peers…`);
  topic.on('joined', () => console.log('* joined: your lines now reach the others'));
  topic.on('neighbor-up', (id) => console.log(`* ${short(id)} connected`));
  topic.on('neighbor-down', (id) => {
    if (!topic.closed) console.log(`* ${short(id)} left`); // (our own close() drops every neighbour)
  });
  printMessages(topic);

  const input = createInterface({ input: process.stdin });
  input.on('SIGINT', () => input.close()); // Ctrl-C leaves cleanly, like Ctrl-D
  input.on('line', (line) => {
    if (line.trim() === '') return;
    // A gossip mesh has no history: a line sent before anyone joined reaches nobody, ever.
    if (!topic.isJoined()) console.log('* nobody here yet; that line went nowhere');
    try {
      topic.broadcast(encode(line));
    } catch (e) {
      console.log(`* not sent: ${(e as Error).message}`); // too long for one message, say
    }
  });
  await once(input, 'close');
  await node.close(); // leaves the topic too
}
await testnet?.close();
