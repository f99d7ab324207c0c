/**
 * Run as a child process by test/dht/exit.test.ts: starts a testnet, does a put and a get, closes
 * everything, and then simply returns. The process must exit on its own: anything left open (a timer,
 * a socket) would keep it alive and fail the test.
 */
import { createTestnet } from '../../src/dht/index.js';
import { randomKeys, utf8 } from './dht.js';

const testnet = await createTestnet({ nodes: 8 });
const node = await testnet.createNode();
const keys = randomKeys();
const put = await node.put(keys, utf8('exit test'), { seq: 1, retries: 0 });
const got = await node.getAll({ publicKey: keys.publicKey });
// A lookup still in flight at close must not keep the process alive either.
const pending = node
  .getAll({ publicKey: randomKeys().publicKey })
  .catch((error: { code?: string }) => error.code);
await testnet.close();
console.log(JSON.stringify({ ok: put.ok, values: got.values.length, pending: await pending }));
