/**
 * Record store configuration: one zod schema, every default a named constant with its source.
 * DHT timing (lookup and put budgets, put retries and their jitter) is the `Dht`'s own configuration
 * (`src/dht/config.ts`), so it lives in one place.
 */
import { z } from 'zod';
import { GttError } from '../errors.js';

/** Skip publishing when the minute already shows this many records of others (distributed-topic-tracker default). */
export const DEFAULT_MAX_RECORDS_PER_MINUTE = 5;
/**
 * Storing nodes one record is written to, chosen among the slot's closest free nodes. Guess, checked by
 * `npm run bench:dht`: five publishers × 5 replicas fill 25 of the 4 × 16 candidate nodes of a minute,
 * so concurrent publishers rarely collide, and 5 copies survive a few departures within the minute.
 */
export const DEFAULT_REPLICAS = 5;
/**
 * A slot's candidate storing nodes: this many responders closest to its target. Readers query the
 * k = 20 closest (bittorrent-dht's k), but two nodes' views of "the 20 closest" differ (each leaves
 * itself out; real walks miss a few), so writers stay 4 inside it. Guess, checked by `npm run bench:dht`.
 */
export const DEFAULT_CLOSEST_WINDOW = 16;
export const RecordStoreConfigSchema = z
  .object({
    maxRecordsPerMinute: z.number().int().min(1).max(100).default(DEFAULT_MAX_RECORDS_PER_MINUTE),
    replicas: z.number().int().min(1).max(64).default(DEFAULT_REPLICAS),
    closestWindow: z.number().int().min(1).max(256).default(DEFAULT_CLOSEST_WINDOW),
  })
  .strict();

export type RecordStoreConfig = z.infer<typeof RecordStoreConfigSchema>;
export type RecordStoreConfigInput = z.input<typeof RecordStoreConfigSchema>;

/**
 * Validates and fills in defaults.
 * @throws GttError `INVALID_CONFIG` naming every offending field.
 */
export function parseRecordStoreConfig(input: RecordStoreConfigInput | undefined): RecordStoreConfig {
  const parsed = RecordStoreConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw GttError.invalidConfig(`invalid record store config: ${fields}`, parsed.error);
  }
  return parsed.data;
}
