import type { CallAuditFactory } from '../audit/batch-audit';
import { type CollectorActivity, reconcileCollectorInfo } from '../auth/collector-info';
import type { Config } from '../config/config';
import type { TransactionRunner } from '../db/copy';
import { DomainError, invalidArgument } from '../errors';
import type { Caller } from '../grpc/rpc';
import type { IngestMetrics } from '../metrics/ingest-metrics';
import {
  type CollectorInfo,
  ExportSessionsResponse,
  type SessionResult,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import type { DimensionCache } from './dimension.cache';
import type { IdempotencyService } from './idempotency.service';

/** What the export handlers share. */
export interface ExportDeps {
  /** The ingest transaction (with COPY on PostgreSQL). */
  readonly transaction: TransactionRunner;
  readonly settings: Config['ingest'];
  readonly idempotency: IdempotencyService;
  readonly activity: CollectorActivity;
  readonly dimensions: DimensionCache;
  readonly metrics: IngestMetrics;
  /** The audit trail: one record per call (src/audit/). */
  readonly audits: CallAuditFactory;
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

/** Counts the results of a committed transaction (sessions by status, messages stored). */
export function recordCommitted(metrics: IngestMetrics, results: readonly SessionResult[]): void {
  metrics.recordSessionResults(results.map((r) => r.status));
  metrics.addMessagesIngested(results.reduce((sum, r) => sum + r.messagesIngested, 0));
}

/** reconcileCollectorInfo, counting a refusal as the `workspace_mismatch` auth failure. */
export function reconcileCounted(
  metrics: IngestMetrics,
  caller: Caller,
  info: CollectorInfo | undefined,
): CollectorInfo {
  try {
    return reconcileCollectorInfo(caller, info);
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'permission_denied') metrics.authFailure('workspace_mismatch');
    throw err;
  }
}
