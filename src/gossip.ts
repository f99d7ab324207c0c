/**
 * `gossip-topic-tracker/gossip`: the gossip node (HyParView + PlumTree over Noise-encrypted
 * WebSockets, PROTOCOL.md §§7-9) without the DHT: one identity and listener, many topics, joined
 * through peers you name.
 */
export type { CloseInfo, CloseReason } from './net/close.js';
export type { TransportOptions } from './net/config.js';
export { Gossip, type GossipOptions, type GossipStats } from './net/gossip.js';
export { type Peer, type SentMessage, Topic, type TopicEvents, type TopicMessage } from './net/topic.js';
export type { Firewall, FirewallPeer, FirewallStats, TransportStats } from './net/transport.js';
export type { ProtoOptions } from './proto/index.js';
export type { NeighborDownCause } from './proto/types.js';
