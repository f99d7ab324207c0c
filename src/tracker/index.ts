/** The tracker layer: today the record store; the bootstrap actor and workers follow. */
export {
  DEFAULT_CLOSEST_WINDOW,
  DEFAULT_MAX_RECORDS_PER_MINUTE,
  DEFAULT_PUT_RETRIES,
  DEFAULT_PUT_RETRY_DELAY_MS,
  DEFAULT_PUT_RETRY_JITTER_MS,
  DEFAULT_PUT_TIMEOUT_MS,
  DEFAULT_READ_TIMEOUT_MS,
  DEFAULT_REPLICAS,
  parseRecordStoreConfig,
  type RecordStoreConfig,
  type RecordStoreConfigInput,
  RecordStoreConfigSchema,
} from './config.js';
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
