export { IngestClient, CLIENT_TYPE, CLIENT_VERSION, DEFAULT_LIMITS } from './ingest.client';
export { planBatches, sessionWireBytes, type BatchLimits, type BatchPlan, type PlannedBatch } from './batching';
export {
  DEFAULT_RETRY,
  DEFAULT_RETRYABLE_CODES,
  backoffDelayMs,
  retryInfoDelayMs,
  type RetryEnv,
  type RetryEvent,
  type RetryOptions,
} from './retry';
export { retryServiceConfig } from './channel';
export type * from './types';
