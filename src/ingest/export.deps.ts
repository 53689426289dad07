import type { CallAuditFactory } from '../audit/batch-audit';
import type { CollectorActivity } from '../auth/collector-info';
import type { Config } from '../config/config';
import type { TransactionRunner } from '../db/copy';
import type { IngestMetrics } from '../metrics/ingest-metrics';
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
