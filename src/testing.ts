/**
 * `gossip-topic-tracker/testing`: what tests of an app need: a testnet of real DHT nodes on 127.0.0.1
 * (`createTestnet`) and the clocks a node's topics take (`join(topic, { clock })`): a manual one that
 * moves when told, and one that runs faster than the wall clock.
 */
export {
  createTestnet,
  type Testnet,
  type TestnetNodeOptions,
  type TestnetOptions,
} from './dht/testnet.js';
export {
  type Clock,
  type ClockTimer,
  type ManualClock,
  manualClock,
  scaledClock,
  systemClock,
} from './tracker/clock.js';
