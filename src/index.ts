/**
 * gossip-topic-tracker: find the peers of a topic through the BitTorrent mainline DHT and join them
 * into a gossip mesh.
 *
 * The root is the front door only: `createNode` (one DHT node and one gossip node for many topics),
 * `joinTopic` (one topic, its own node), `discoverPeers` (records without our mesh), `createTestnet`
 * and `GttError`, with the types their signatures name. The layers have their own entry points
 * (package.json "exports"): `gossip-topic-tracker/records` (topic ids, keys, the record codec, the
 * crypto suites, the record store), `/dht` (the DHT adapter and its testnet), `/gossip` (the gossip
 * node and its topics) and `/testing` (the testnet and clocks).
 */
export type { Address } from './crypto/address.js';
export type { KeyPair, SecretRotation } from './crypto/keys.js';
export { TopicId } from './crypto/topic.js';
export type { DhtOptions } from './dht/config.js';
export type { Dht } from './dht/dht.js';
export { createTestnet, type Testnet, type TestnetOptions } from './dht/testnet.js';
export { type ErrorCode, GttError } from './errors.js';
export type { Gossip, GossipOptions, GossipStats } from './net/gossip.js';
export type { Peer, SentMessage, Topic, TopicEvents, TopicMessage } from './net/topic.js';
export type { Firewall, FirewallPeer, FirewallStats } from './net/transport.js';
export type { NeighborDownCause } from './proto/types.js';
export type { Clock, ClockTimer } from './tracker/clock.js';
export type { TrackerConfigInput } from './tracker/config.js';
export {
  type DiscoveredPeer,
  type DiscoverPeersOptions,
  type DiscoveryState,
  discoverPeers,
  type PeerDiscovery,
} from './tracker/discovery.js';
export {
  type JoinTopicOptions,
  joinTopic,
  type TrackedTopic,
  type TrackedTopicEvents,
  type TrackedTopicStats,
} from './tracker/join.js';
export {
  createNode,
  type NodeJoinOptions,
  TopicNode,
  type TopicNodeOptions,
  type TopicNodeStats,
} from './tracker/node.js';
export type { PublishReason, TrackerEvent, TrackerStats } from './tracker/tracker.js';
