/**
 * `gossip-topic-tracker/dht`: BEP 44 mutable items on the BitTorrent mainline DHT (the `Dht` adapter
 * over bittorrent-dht) and a loopback testnet of real DHT nodes for tests.
 */
export { DEFAULT_BOOTSTRAP, type DhtOptions, type HostPort } from './dht/config.js';
export { Dht } from './dht/dht.js';
export {
  createTestnet,
  type Testnet,
  type TestnetNodeOptions,
  type TestnetOptions,
} from './dht/testnet.js';
export type {
  DhtStats,
  FoundValue,
  GetAllOptions,
  GetAllResult,
  LookupNode,
  PutOptions,
  PutResult,
  SigningSlot,
  Slot,
} from './dht/types.js';
