/**
 * `gossip-topic-tracker/records`: the record layer (PROTOCOL.md §§1-5): topic ids, keys and per-minute
 * key derivation, addresses, the signed and sealed record codec, the crypto suites, and the record
 * store that reads and publishes records through a DHT.
 */
export {
  type Address,
  formatAddress,
  MAX_HOST_LEN,
  parseAddress,
} from './crypto/address.js';
export {
  defaultSecretRotation,
  deriveMinuteKeys,
  type KeyPair,
  keyPairFromSeed,
  type MinuteKeys,
  type SecretRotation,
  SLOTS_PER_MINUTE,
  unixMinute,
} from './crypto/keys.js';
export {
  MAX_MESSAGE_IDS,
  MAX_PEER_ADDRESSES,
  MAX_PUBLISHER_ADDRESSES,
  MAX_RECORD_PEERS,
  MESSAGE_ID_BYTES,
  type PeerInfo,
  type RecordBody,
  type SignedRecord,
  signRecord,
} from './crypto/record.js';
export {
  MAX_SEALED_RECORD_BYTES,
  type OpenResult,
  openRecord,
  RECORD_REJECT_REASONS,
  type RecordRejectReason,
  sealRecord,
} from './crypto/seal.js';
export { type CryptoSuite, nobleSuite } from './crypto/suite.js';
export { hashSecret, TopicId } from './crypto/topic.js';
export { defaultSuite, nativeSuite } from './native/crypto.js';
export {
  DEFAULT_CLOSEST_WINDOW,
  DEFAULT_MAX_RECORDS_PER_MINUTE,
  DEFAULT_REPLICAS,
  type RecordStoreConfigInput,
} from './tracker/config.js';
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
} from './tracker/record-store.js';
