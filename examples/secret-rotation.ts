/**
 * A topic with a secret and a custom secret rotation. Alice and Bob share both and find each other;
 * Carol has the same rotation but another secret, and finds nobody.
 *
 *   npx tsx examples/secret-rotation.ts                         # on a private DHT on this machine
 *   npx tsx examples/secret-rotation.ts --bootstrap host:port   # against a DHT you name
 *
 * With a secret, every DHT key of the topic (where its records are, the key that seals them) is
 * derived from it, minute by minute: without it you cannot even tell where the records are.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createNode, createTestnet, GttError, type SecretRotation } from '../src/index.js';

/**
 * The rotation hook turns (topic, unix minute, hash of the secret) into that minute's secret. The
 * default one already gives every minute its own secret, derived from the one you passed; write your
 * own when the secrets themselves change over time. Say your app hands members a new secret every
 * day, and stops handing it to someone it removed: the hook would look up the day's secret. To stay
 * self-contained, this one derives each day's secret from the first one.
 *
 * Rules: every member must use the same hook, and it must be a pure function returning 32 bytes. It
 * is called for past minutes too (a newcomer reads the last minute's records), so just after midnight
 * it must still know yesterday's secret.
 */
const dailyRotation: SecretRotation = (topicHash, minute, initialSecretHash) => {
  const day = Math.floor(minute / (24 * 60));
  return createHmac('sha256', initialSecretHash).update(topicHash).update(`day ${day}`).digest();
};

// Unless told otherwise, a few DHT nodes on 127.0.0.1 stand in for the public mainline DHT.
const flag = process.argv.indexOf('--bootstrap');
const testnet = flag === -1 ? await createTestnet({ nodes: 10 }) : undefined;
const bootstrap = testnet?.bootstrap ?? [process.argv[flag + 1]!];
const options = testnet
  ? { dht: { bootstrap, host: '127.0.0.1' }, listen: '127.0.0.1:0' }
  : { dht: { bootstrap } };
const name = `rotation-example-${randomBytes(4).toString('hex')}`;

const members = { secret: 'correct horse battery staple', rotation: dailyRotation };
// Three nodes; Carol joins at the same time (`join` returns at once), so her wait overlaps theirs.
const nodes = await Promise.all([createNode(options), createNode(options), createNode(options)]);
const alice = nodes[0]!.join(name, members);
const bob = nodes[1]!.join(name, members);
const carol = nodes[2]!.join(name, { secret: 'a wrong guess', rotation: dailyRotation });
await Promise.all([alice.joined(), bob.joined()]);
const received = new Promise<string>((resolve) =>
  bob.once('message', (m) => resolve(new TextDecoder().decode(m.content))),
);
alice.broadcast(new TextEncoder().encode('for members only'));
console.log(`bob received: ${await received}`);

// Carol keeps looking until we stop her. A join has no deadline of its own: give it one with a signal.
try {
  await carol.joined({ signal: AbortSignal.timeout(3000) });
  console.log('carol joined?! (she should not have)');
} catch (e) {
  if (!(e instanceof GttError && e.code === 'ABORTED')) throw e;
  const { passes, recordsRead } = carol.stats.tracker;
  console.log(`carol (wrong secret): still alone after 3 s, ${passes} passes, ${recordsRead} records found`);
}

await Promise.all(nodes.map((node) => node.close()));
await testnet?.close();
