import { type CallAuditFactory, noopCallAudits } from '../audit/batch-audit';
import type { CollectorActivity } from '../auth/collector-info';
import type { Config } from '../config/config';
import type { Database } from '../db/database';
import { type ClientStreamHandler, clientStream, type RpcDeps, type UnaryHandler, unary } from '../grpc/rpc';
import type { ServiceRegistration } from '../grpc/server';
import { type IngestMetrics, noopIngestMetrics } from '../metrics/ingest-metrics';
import { countMessages, type IngestionGuard } from '../protect/ingestion-guard';
import {
  type ExportSessionsRequest,
  type ExportSessionsResponse,
  type SessionBatch,
  SessionIngestionService,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { DimensionCache } from './dimension.cache';
import { exportSessionsStreamHandler } from './export-sessions-stream.handler';
import { exportSessionsHandler } from './export-sessions.handler';
import { withLazySessions, peekOf } from './export-request.peek';
import { IdempotencyService } from './idempotency.service';
import type { ExportDeps } from './ingest.context';

export const SESSION_INGESTION = 'catsyphon.telemetry.v1.SessionIngestion';

/** The two export handlers; tests may replace them (the guard still applies). */
export interface IngestionHandlers {
  readonly exportSessions: UnaryHandler<ExportSessionsRequest, ExportSessionsResponse | Buffer>;
  readonly exportSessionsStream: ClientStreamHandler<SessionBatch, ExportSessionsResponse | Buffer>;
}

export interface IngestionDeps {
  readonly database: Database;
  /** Records last_seen_at and friends of the calling collector. */
  readonly activity: CollectorActivity;
  /** Shared by the app so its purge timer and the handlers use one instance. */
  readonly idempotency: IdempotencyService;
  /** Rate limits, buffer cap and database-outage checks run before the handlers. */
  readonly guard?: IngestionGuard;
  /** Session results, messages stored, replays; a no-op when absent. */
  readonly metrics?: IngestMetrics;
  /** One audit record per authenticated call (src/audit/); none when absent. */
  readonly audits?: CallAuditFactory;
  /** Replace the real handlers (tests of the protection layer). */
  readonly handlers?: Partial<IngestionHandlers>;
}

/** The idempotency store for a database, configured from Config.ingest. */
export function createIdempotencyService(config: Config, database: Database, rpc: Pick<RpcDeps, 'logger'>) {
  return new IdempotencyService(
    database.db,
    {
      ttlMs: config.ingest.idempotencyTtlMs,
      waitMs: config.ingest.idempotencyWaitMs,
      staleMs: config.ingest.idempotencyStaleMs,
    },
    rpc.logger,
  );
}

/** SessionIngestion: the collectors' export RPCs. */
export function ingestionService(config: Config, deps: IngestionDeps, rpc: RpcDeps): ServiceRegistration {
  const exportDeps: ExportDeps = {
    transaction: deps.database.transaction,
    settings: config.ingest,
    idempotency: deps.idempotency,
    activity: deps.activity,
    dimensions: new DimensionCache(),
    metrics: deps.metrics ?? noopIngestMetrics,
    audits: deps.audits ?? noopCallAudits,
  };
  let exportSessions = deps.handlers?.exportSessions ?? exportSessionsHandler(exportDeps);
  let exportSessionsStream = deps.handlers?.exportSessionsStream ?? exportSessionsStreamHandler(exportDeps);
  if (deps.guard) {
    exportSessions = deps.guard.unary(
      exportSessions,
      (request) => peekOf(request)?.messageCount ?? countMessages(request.sessions),
    );
    exportSessionsStream = deps.guard.stream(exportSessionsStream, (batch) => countMessages(batch.sessions));
  }
  return {
    name: SESSION_INGESTION,
    definition: withLazySessions(SessionIngestionService, 'exportSessions'),
    implementation: {
      exportSessions: unary('ExportSessions', exportSessions, rpc),
      exportSessionsStream: clientStream('ExportSessionsStream', exportSessionsStream, rpc),
    },
  };
}
