import type { Kysely } from 'kysely';
import type { CollectorActivity } from '../auth/collector-info';
import type { Config } from '../config/config';
import type { DB } from '../db/schema';
import { invalidArgument } from '../errors';
import { ExportSessionsResponse } from '../../generated/catsyphon/telemetry/v1/sessions';
import type { DimensionCache } from './dimension.cache';
import type { IdempotencyService } from './idempotency.service';

/** What the export handlers share. */
export interface ExportDeps {
  readonly db: Kysely<DB>;
  readonly settings: Config['ingest'];
  readonly idempotency: IdempotencyService;
  readonly activity: CollectorActivity;
  readonly dimensions: DimensionCache;
}

export const MAX_BATCH_ID_LENGTH = 128;

export function checkBatchId(batchId: string, source: string): void {
  if (batchId.length === 0) throw invalidArgument(`${source} must not be empty`);
  if (batchId.length > MAX_BATCH_ID_LENGTH) {
    throw invalidArgument(`${source} must be at most ${MAX_BATCH_ID_LENGTH} characters`);
  }
  // Stored in a PostgreSQL text column, which cannot hold NUL (found by the fuzz test).
  if (batchId.includes('\u0000')) throw invalidArgument(`${source} must not contain NUL characters`);
}

export function checkSessionCount(count: number, max: number): void {
  if (count > max) throw invalidArgument(`a batch carries at most ${max} sessions (MAX_SESSIONS_PER_BATCH), got ${count}`);
}

/** The encoded response: stored for replays and sent as is. */
export function encodeResponse(response: ExportSessionsResponse): Buffer {
  const bytes = ExportSessionsResponse.encode(response).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
