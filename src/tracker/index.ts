/**
 * The tracker layer (internal barrel; the package's entry points are src/index.ts and the subpath
 * files beside it): the record store, the tracker (bootstrap loop, publisher, merges), createNode,
 * joinTopic and discoverPeers.
 */
export {
  type Clock,
  type ClockTimer,
  type ManualClock,
  manualClock,
  scaledClock,
  systemClock,
} from './clock.js';
export {
  BootstrapConfigSchema,
  DEFAULT_CLOSEST_WINDOW,
  DEFAULT_MAX_RECORDS_PER_MINUTE,
  DEFAULT_REPLICAS,
  MergeConfigSchema,
  PublisherConfigSchema,
  parseRecordStoreConfig,
  parseTrackerConfig,
  type RecordStoreConfig,
  type RecordStoreConfigInput,
  RecordStoreConfigSchema,
  type TrackerConfig,
  type TrackerConfigInput,
  TrackerConfigSchema,
} from './config.js';
export {
  type DiscoveredPeer,
  type DiscoverPeersOptions,
  type DiscoveryState,
  discoverPeers,
  PeerDiscovery,
} from './discovery.js';
export {
  type JoinTopicOptions,
  joinTopic,
  TrackedTopic,
  type TrackedTopicEvents,
  type TrackedTopicStats,
} from './join.js';
export { type Mesh, meshComponents } from './mesh.js';
export {
  createNode,
  type NodeJoinOptions,
  TopicNode,
  type TopicNodeOptions,
  type TopicNodeStats,
} from './node.js';
export {
  type PublishResult,
  type ReadRejectReason,
  type ReadResult,
  type RecordContent,
  RecordStore,
  type RecordStoreOptions,
  type RecordStoreStats,
  type SlotView,
  type StoredRecord,
} from './record-store.js';
export { type PublishReason, Tracker, type TrackerEvent, type TrackerStats } from './tracker.js';
