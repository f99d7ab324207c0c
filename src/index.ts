/**
 * gossip-topic-tracker: find the peers of a topic through the BitTorrent mainline DHT.
 *
 * The public surface, layer by layer: crypto (topic ids, keys, records, the crypto suites), the DHT
 * adapter and its testnet, the record store, the gossip node (`Gossip`, `Topic`), and the error class.
 */
export {
  type Address,
  type CryptoSuite,
  defaultSecretRotation,
  deriveMinuteKeys,
  formatAddress,
  hashSecret,
  type KeyPair,
  keyPairFromSeed,
  MAX_HOST_LEN,
  MAX_MESSAGE_IDS,
  MAX_PEER_ADDRESSES,
  MAX_PUBLISHER_ADDRESSES,
  MAX_RECORD_PEERS,
  MAX_SEALED_RECORD_BYTES,
  MESSAGE_ID_BYTES,
  type MinuteKeys,
  nobleSuite,
  type OpenResult,
  openRecord,
  type PeerInfo,
  parseAddress,
  RECORD_REJECT_REASONS,
  type RecordBody,
  type RecordRejectReason,
  type SecretRotation,
  type SignedRecord,
  SLOTS_PER_MINUTE,
  sealRecord,
  signRecord,
  TopicId,
  unixMinute,
} from './crypto/index.js';
export {
  createTestnet,
  DEFAULT_BOOTSTRAP,
  Dht,
  type DhtOptions,
  type DhtStats,
  type FoundValue,
  type GetAllResult,
  type LookupNode,
  type PutResult,
  type Testnet,
  type TestnetOptions,
} from './dht/index.js';
export { type ErrorCode, GttError } from './errors.js';
export { defaultSuite, nativeSuite } from './native/crypto.js';
export {
  type CloseInfo,
  type CloseReason,
  Gossip,
  type GossipOptions,
  type GossipStats,
  type Peer,
  Topic,
  type TopicEvents,
  type TopicMessage,
  type TransportOptions,
  type TransportStats,
} from './net/index.js';
export * from './tracker/index.js';
