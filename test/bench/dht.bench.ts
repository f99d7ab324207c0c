/**
 * `npm run bench:dht [-- --json] [-- --trials N] [-- --nodes N]`
 *
 * On a local testnet (default 50 bittorrent-dht nodes on 127.0.0.1), per trial: 5 publishers publish
 * a record for a fresh topic, then a fresh reader reads the minute. Reports put latency (one
 * `Dht.put`: stores on the publish's read's responders, plus a lookup of its own only when those fall
 * short), publish latency (read + put), read latency (4 parallel slot lookups)
 * and how many of the 5 records the reader recovered. Targets on loopback: read median ≤ 100 ms,
 * put median ≤ 250 ms.
 */
import { parseArgs } from 'node:util';
import { bytesToHex } from '@noble/hashes/utils.js';
import { createTestnet, type Dht } from '../../src/dht/index.js';
import { contentFor, freshNodes, makeStore, TEST_MINUTE } from '../helpers/records.js';
import { median, p95, printTable, round } from './stats.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    trials: { type: 'string', default: '20' },
    nodes: { type: 'string', default: '50' },
    publishers: { type: 'string', default: '5' },
  },
});
const trials = Number(args.trials);
const nodes = Number(args.nodes);
const publisherCount = Number(args.publishers);

const testnet = await createTestnet({ nodes });
const publisherNodes = await freshNodes(testnet, publisherCount);

// Time every real Dht.put the publishers make.
const putMs: number[] = [];
for (const dht of publisherNodes) {
  const put = dht.put.bind(dht);
  dht.put = (async (...a: Parameters<Dht['put']>) => {
    const t0 = performance.now();
    try {
      return await put(...a);
    } finally {
      putMs.push(performance.now() - t0);
    }
  }) as Dht['put'];
}

const publishMs: number[] = [];
const readMs: number[] = [];
const distinctRecovered: number[] = [];
const lookupsPerRead: number[] = [];

for (let t = 0; t < trials; t++) {
  const topic = `bench-${t}-${Math.random()}`;
  const secret = 'bench-secret';
  const publishers = publisherNodes.map((dht) => makeStore(dht, topic, { secret }));
  // Half the trials publish one after another, half all at once.
  const publishOne = async (p: (typeof publishers)[number], i: number) => {
    const t0 = performance.now();
    await p.store.publish(contentFor(i));
    publishMs.push(performance.now() - t0);
  };
  if (t % 2 === 0) for (const [i, p] of publishers.entries()) await publishOne(p, i);
  else await Promise.all(publishers.map(publishOne));

  // Readers stay up until the end: a closed node would linger in routing tables and stall lookups.
  const readerDht = await testnet.createNode();
  const reader = makeStore(readerDht, topic, { secret });
  const t0 = performance.now();
  const result = await reader.store.read(TEST_MINUTE);
  readMs.push(performance.now() - t0);
  lookupsPerRead.push(result.lookups);
  const expected = new Set(publishers.map((p) => bytesToHex(p.keyPair.publicKey)));
  distinctRecovered.push(result.records.filter((r) => expected.has(bytesToHex(r.publisher))).length);
}
await testnet.close();

const figures = {
  nodes,
  trials,
  publishers: publisherCount,
  readMedianMs: round(median(readMs)),
  readP95Ms: round(p95(readMs)),
  putMedianMs: round(median(putMs)),
  putP95Ms: round(p95(putMs)),
  publishMedianMs: round(median(publishMs)),
  publishP95Ms: round(p95(publishMs)),
  lookupsPerRead: Math.max(...lookupsPerRead),
  distinctRecovered,
};

if (args.json) {
  console.log(JSON.stringify(figures));
} else {
  console.log(
    `DHT record store on a ${nodes}-node loopback testnet, ${trials} trials of ${publisherCount} publishers`,
  );
  console.log(`node ${process.version}, ${new Date().toISOString()}\n`);
  printTable(
    ['operation', 'median ms', 'p95 ms', 'target'],
    [
      ['read (4 lookups)', figures.readMedianMs, figures.readP95Ms, 'median ≤ 100'],
      ['put (Dht.put)', figures.putMedianMs, figures.putP95Ms, 'median ≤ 250'],
      ['publish (read + put)', figures.publishMedianMs, figures.publishP95Ms, ''],
    ],
  );
  console.log(
    `\ndistinct records recovered per trial (of ${publisherCount}): ${distinctRecovered.join(' ')}`,
  );
  console.log(`lookups per read: ${figures.lookupsPerRead}`);
}
