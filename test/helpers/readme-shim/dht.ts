/** `gossip-topic-tracker/dht` for README.md's snippets (see index.ts): `Dht.create` on the testnet. */
import { Dht as RealDht } from '../../../src/dht.js';
import { testDht } from './index.js';

export * from '../../../src/dht.js';

/** The real class, with `create` defaulting to the testnet's bootstrap on loopback. */
export const Dht: typeof RealDht = Object.assign(Object.create(RealDht) as typeof RealDht, {
  create: (options: Parameters<typeof RealDht.create>[0] = {}) => RealDht.create({ ...testDht, ...options }),
});
