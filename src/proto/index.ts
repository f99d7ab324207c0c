/**
 * The gossip core: HyParView membership and PlumTree broadcast as one pure state machine per node
 * (ARCHITECTURE.md "Gossip core"), and the binary codec of its messages (PROTOCOL.md §8).
 */
export * from './config.js';
export type { NetGroupFn, ProtoStats } from './ctx.js';
export {
  GOSSIP_SIGNATURE_DOMAIN,
  MESSAGE_ID_DOMAIN,
  messageId,
  messageIdBytes,
  type SignFn,
  signedMessage,
  type VerifyFn,
} from './ids.js';
export { GossipNode, type GossipNodeOptions, type TopicSizes } from './node.js';
export type { PlumTreeSizes } from './plumtree.js';
export {
  below,
  createRng,
  createSecureRng,
  nextU64,
  pick,
  type Rng,
  SECURE_RNG_DOMAIN,
  sample,
} from './rng.js';
export * from './types.js';
export * from './wire.js';
