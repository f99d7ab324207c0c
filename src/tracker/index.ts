/** The tracker layer: today the record store; the bootstrap actor and workers follow. */
export {
  DEFAULT_CLOSEST_WINDOW,
  DEFAULT_MAX_RECORDS_PER_MINUTE,
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
