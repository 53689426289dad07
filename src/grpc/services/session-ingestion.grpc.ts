import type * as grpc from '@grpc/grpc-js';
import { type BatchAuditSink, callAuditFactory, noopCallAudits } from '../../audit/batch-audit';
import type { CollectorActivity } from '../../auth/collector-info';
import type { Config } from '../../config/config';
import type { Database } from '../../db/database';
import type { ClientStreamHandler, UnaryHandler } from '../../identity/call-context';
import { DimensionCache } from '../../ingest/dimension.cache';
import type { ExportDeps } from '../../ingest/export.deps';
import { lazyExportRequest, peekOf } from '../../ingest/export-request.peek';
import { exportSessionsStreamHandler } from '../../ingest/export-sessions-stream.handler';
import { exportSessionsHandler } from '../../ingest/export-sessions.handler';
import type { IdempotencyService } from '../../ingest/idempotency.service';
import { type IngestMetrics, noopIngestMetrics } from '../../metrics/ingest-metrics';
import { countMessages, type IngestionGuard } from '../../protect/ingestion-guard';
import {
  type ExportSessionsRequest,
  type ExportSessionsResponse,
  type SessionBatch,
  SessionIngestionService,
} from '../../../generated/catsyphon/telemetry/v1/sessions';
import { clientStream, type RpcDeps, unary } from '../rpc';
import type { ServiceRegistration } from '../server';
import { statusNameOf } from '../status';

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
  /** Where each authenticated call's audit record goes (src/audit/); none when absent. */
  readonly audit?: BatchAuditSink;
  /** Replace the real handlers (tests of the protection layer). */
  readonly handlers?: Partial<IngestionHandlers>;
}

/**
 * Makes ExportSessions decode lazily (src/ingest/export-request.peek.ts): a
 * replay of a cached batch is then answered without decoding its sessions.
 */
function withLazySessions(definition: grpc.ServiceDefinition, method: string): grpc.ServiceDefinition {
  return { ...definition, [method]: { ...definition[method], requestDeserialize: lazyExportRequest } };
}

/** The gRPC binding of SessionIngestion: the collectors' export RPCs, guarded by src/protect/. */
export function sessionIngestionGrpc(config: Config, deps: IngestionDeps, rpc: RpcDeps): ServiceRegistration {
  const exportDeps: ExportDeps = {
    transaction: deps.database.transaction,
    settings: config.ingest,
    idempotency: deps.idempotency,
    activity: deps.activity,
    dimensions: new DimensionCache(),
    metrics: deps.metrics ?? noopIngestMetrics,
    audits: deps.audit ? callAuditFactory(deps.audit, statusNameOf) : noopCallAudits,
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
