/**
 * Joining without waiting: `node.join(…)` returns at once and bootstraps in the background (as
 * `joinTopic(…, { wait: false })` does), so an app can show its window, subscribe to messages and watch the tracker work
 * (`status` events) before anyone else is there. `await topic.joined()` whenever it matters.
 *
 *   npx tsx examples/chat-no-wait.ts                         # on a private DHT on this machine
 *   npx tsx examples/chat-no-wait.ts --bootstrap host:port   # against a DHT you name
 *
 * Alice arrives first, in an empty topic, and keeps looking; Bob arrives a little later and joins her.
 */
import { randomBytes } from 'node:crypto';
import { createNode, createTestnet, type TrackerEvent } from '../src/index.js';

// Unless told otherwise, a few DHT nodes on 127.0.0.1 stand in for the public mainline DHT.
const flag = process.argv.indexOf('--bootstrap');
const testnet = flag === -1 ? await createTestnet({ nodes: 10 }) : undefined;
const bootstrap = testnet?.bootstrap ?? [process.argv[flag + 1]!];
const options = testnet
  ? { dht: { bootstrap, host: '127.0.0.1' }, listen: '127.0.0.1:0' }
  : { dht: { bootstrap } };
const name = `no-wait-example-${randomBytes(4).toString('hex')}`;
const t0 = performance.now();
const at = () => `${String(Math.round(performance.now() - t0)).padStart(5)} ms`;

/** One line per thing the tracker does: the bootstrap loop, then the publisher and merge workers. */
function describe(e: TrackerEvent): string {
  switch (e.type) {
    case 'read':
      return `reading the records of minutes ${e.minutes.join(', ')}`;
    case 'record':
      return `found the record of ${e.publisher.slice(0, 8)}`;
    case 'read-done':
      return `read minute ${e.minutes.join(', ')}: ${e.records} record(s) of others`;
    case 'publish':
      return `publishing our own record (${e.reason})`;
    case 'published':
      return `publish: ${e.result.status}`;
    case 'dial':
      return `asking ${e.peer.slice(0, 8)} to let us in`;
    case 'wait':
      return `waiting up to ${e.ms} ms (${e.why})`;
    case 'joined':
      return `joined after ${Math.round(e.elapsedMs)} ms with ${e.neighbors} neighbour(s)`;
    case 'merge':
      return `${e.kind} merge: joining ${e.peers.length} more peer(s)`;
    case 'error':
      return `${e.during} failed (retried later): ${String(e.error)}`;
  }
}

const aliceNode = await createNode(options);
const alice = aliceNode.join(name);
console.log(`${at()}  alice: join returned; joined yet? ${alice.isJoined()}`);
alice.on('status', (e) => console.log(`${at()}  alice: ${describe(e)}`));
// Taking the message iterator now means nothing sent after this point can slip past us, however long
// the join takes.
const inbox = alice.messages();

// Bob comes once Alice has found the topic empty and settled down to wait: the usual way a topic
// starts. (An app would not do this; it just makes the story of this example happen in order.)
await new Promise<void>((resolve) => {
  const onStatus = (e: TrackerEvent) => {
    if (e.type !== 'wait') return;
    alice.off('status', onStatus);
    resolve();
  };
  alice.on('status', onStatus);
});
const bobNode = await createNode(options);
const bob = bobNode.join(name);
await bob.joined();
console.log(`${at()}  bob: joined`);

await alice.joined();
console.log(`${at()}  alice: joined() resolved; neighbours: ${alice.neighbors().length}`);

bob.broadcast(new TextEncoder().encode('hi alice, I found you'));
const { value: message } = await inbox.next();
console.log(`${at()}  alice received: ${new TextDecoder().decode(message!.content)}`);

await Promise.all([aliceNode.close(), bobNode.close()]);
await testnet?.close();
