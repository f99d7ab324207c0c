/**
 * Pure cryptography and wire formats of gossip-topic-tracker (PROTOCOL.md §§1-5): topic ids, per-minute
 * keys, addresses, signed records and their seal, and the `CryptoSuite` interface with its @noble
 * reference. No I/O, no clock, no randomness of its own: nonces and seeds come in as arguments.
 */
export {
  ADDRESS_TYPE_DNS,
  ADDRESS_TYPE_IP4,
  ADDRESS_TYPE_IP6,
  type Address,
  type AddressKind,
  addressKind,
  type DecodedAddress,
  decodeAddress,
  encodeAddress,
  formatAddress,
  MAX_ADDRESS_BODY_BYTES,
  MAX_ADDRESS_TLV_BYTES,
  MAX_HOST_LEN,
  normalizeAddress,
  parseAddress,
} from './address.js';
export {
  defaultSecretRotation,
  deriveMinuteKeys,
  type KeyPair,
  keyPairFromSeed,
  MAX_MINUTE,
  type MinuteKeyOptions,
  type MinuteKeys,
  type SecretRotation,
  SLOT_SALT_BYTES,
  SLOTS_PER_MINUTE,
  unixMinute,
} from './keys.js';
export {
  type DecodeRejectReason,
  type DecodeResult,
  decodeRecord,
  encodeRecordBody,
  encodeSignedRecord,
  MAX_MESSAGE_IDS,
  MAX_PEER_ADDRESSES,
  MAX_PUBLISHER_ADDRESSES,
  MAX_RECORD_PEERS,
  MESSAGE_ID_BYTES,
  MIN_RECORD_BYTES,
  maxRecordSize,
  type PeerInfo,
  RECORD_HEADER_BYTES,
  RECORD_SIGNATURE_DOMAIN,
  RECORD_VERSION,
  type RecordBody,
  type SignedRecord,
  signRecord,
  verifyRecordSignature,
} from './record.js';
export {
  MAX_SEALED_RECORD_BYTES,
  MIN_SEALED_RECORD_BYTES,
  maxSealedRecordSize,
  type OpenResult,
  openRecord,
  RECORD_REJECT_REASONS,
  type RecordRejectReason,
  SEAL_NONCE_BYTES,
  SEAL_OVERHEAD,
  sealRecord,
} from './seal.js';
export {
  AEAD_TAG_BYTES,
  type CryptoSuite,
  isCryptoSuite,
  KEY_BYTES,
  nobleSuite,
  SIGNATURE_BYTES,
} from './suite.js';
export { hashSecret, TOPIC_HASH_BYTES, TopicId } from './topic.js';
