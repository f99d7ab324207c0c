/**
 * Run as a child process by test/dht/liveness.test.ts: a node with liveness intervals scaled down
 * refreshes its buckets and bootstraps again (its table of 3 is below the threshold), then everything is
 * closed and the script reports how many timers are still pending, then simply returns. The liveness
 * timer is unref'd, so the process would exit even with it left running: the count (from async_hooks,
 * which sees unref'd timers too) is what shows that close() cleared it; a ref'd leftover would also keep
 * the process alive and fail the test.
 */
import { createHook, executionAsyncId } from 'node:async_hooks';
import { createTestnet } from '../../src/dht/index.js';

/** Timers created and not yet fired for the last time or cleared, by async id. */
const pending = new Set<number>();
createHook({
  init(id, type) {
    if (type === 'Timeout') pending.add(id);
  },
  destroy(id) {
    pending.delete(id);
  },
}).enable();
/** Pending timers other than the one running the check (destroy hooks run a little after clearTimeout). */
const leftover = () =>
  new Promise<number>((resolve) =>
    setTimeout(() => resolve([...pending].filter((id) => id !== executionAsyncId()).length), 20),
  );

const testnet = await createTestnet({ nodes: 3 });
const node = await testnet.createNode({
  liveness: { checkMs: 50, bucketRefreshMs: 200, rebootstrapMinDelayMs: 50, rebootstrapMaxDelayMs: 200 },
});
const deadline = performance.now() + 20_000;
while (node.stats.liveness.bucketRefreshes === 0 || node.stats.liveness.rebootstraps === 0) {
  if (performance.now() > deadline) throw new Error('no bucket refresh and re-bootstrap within 20 s');
  await new Promise((resolve) => setTimeout(resolve, 20));
}
await testnet.close();
let timers = await leftover();
for (let i = 0; i < 100 && timers > 0; i++) timers = await leftover();
const { bucketRefreshes, rebootstraps } = node.stats.liveness;
console.log(JSON.stringify({ bucketRefreshes, rebootstraps, timers }));
