/**
 * The transport layer (PROTOCOL.md §9): the pure parts (Noise XX handshake with identity binding, the
 * encrypted frame codec) and the WebSocket actor that drives them and the gossip core (`Gossip`).
 */
export { type CryptoSuite, isCryptoSuite, nobleSuite } from '../crypto/suite.js';
export { defaultSuite, NATIVE_PUBLIC_KEY_CACHE_SIZE, nativeSuite } from '../native/crypto.js';
export { type DecodedAddressList, decodeAddressList, encodeAddressList } from './addresses.js';
export type { CloseInfo, CloseReason } from './close.js';
export * from './config.js';
export {
  DEFAULT_MAX_FRAME_PLAINTEXT_BYTES,
  decodeFramePlaintext,
  encodeFramePlaintext,
  FRAME_TYPE,
  type Frame,
  type FrameLimits,
  type FrameRejectReason,
  MAX_CLOSE_REASON_BYTES,
  MAX_FRAME_PLAINTEXT_LIMIT,
  MAX_PING_DATA_BYTES,
  MIN_FRAME_BYTES,
  type OpenFrameResult,
  openFrame,
  type SealFrameResult,
  sealFrame,
} from './frame.js';
export { Gossip, type GossipOptions, type GossipStats } from './gossip.js';
export {
  HANDSHAKE_MESSAGE_1_BYTES,
  Handshake,
  type HandshakeDone,
  type HandshakeFailReason,
  type HandshakeOptions,
  type HandshakeStateName,
  type HandshakeStep,
  MAX_HANDSHAKE_MESSAGE_BYTES,
} from './handshake.js';
export {
  createIdentityPayload,
  decodeIdentityPayload,
  IDENTITY_PAYLOAD_VERSION,
  type IdentityDecodeResult,
  type IdentityPayload,
  type IdentityRejectReason,
  identitySignedMessage,
  MAX_IDENTITY_EXTENSION_BYTES,
  MAX_IDENTITY_PAYLOAD_BYTES,
  MIN_IDENTITY_PAYLOAD_BYTES,
  NOISE_STATIC_KEY_DOMAIN,
  verifyIdentityPayload,
} from './identity.js';
export {
  type CipherFailReason,
  CipherState,
  type DecryptResult,
  type EncryptResult,
  MAX_NONCE,
  NOISE_MAX_MESSAGE_BYTES,
  NOISE_PROLOGUE,
  NOISE_PROTOCOL_NAME,
  type NoiseReadReason,
  type NoiseReadResult,
  type NoiseResult,
  type NoiseRole,
  NoiseStateError,
  NoiseXX,
  type NoiseXXOptions,
  x25519PublicKey,
} from './noise.js';
export { type Peer, Topic, type TopicEvents, type TopicMessage } from './topic.js';
export { Transport, type TransportEvents, type TransportStats } from './transport.js';
