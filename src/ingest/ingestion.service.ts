import type { CollectorActivity } from '../auth/collector-info';
import type { Config } from '../config/config';
import type { Database } from '../db/database';
import { clientStream, type RpcDeps, unary } from '../grpc/rpc';
import type { ServiceRegistration } from '../grpc/server';
import {
  type ExportSessionsRequest,
  type ExportSessionsResponse,
  type SessionBatch,
  SessionIngestionService,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { DimensionCache } from './dimension.cache';
import { exportSessionsStreamHandler } from './export-sessions-stream.handler';
import { exportSessionsHandler } from './export-sessions.handler';
import { IdempotencyService } from './idempotency.service';
import type { ExportDeps } from './ingest.context';

export const SESSION_INGESTION = 'catsyphon.telemetry.v1.SessionIngestion';

export interface IngestionDeps {
  readonly database: Database;
  /** Records last_seen_at and friends of the calling collector. */
  readonly activity: CollectorActivity;
  /** Shared by the app so its purge timer and the handlers use one instance. */
  readonly idempotency: IdempotencyService;
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
    db: deps.database.db,
    settings: config.ingest,
    idempotency: deps.idempotency,
    activity: deps.activity,
    dimensions: new DimensionCache(),
  };
  return {
    name: SESSION_INGESTION,
    definition: SessionIngestionService,
    implementation: {
      exportSessions: unary<ExportSessionsRequest, ExportSessionsResponse | Buffer>(
        'ExportSessions',
        exportSessionsHandler(exportDeps),
        rpc,
      ),
      exportSessionsStream: clientStream<SessionBatch, ExportSessionsResponse | Buffer>(
        'ExportSessionsStream',
        exportSessionsStreamHandler(exportDeps),
        rpc,
      ),
    },
  };
}
