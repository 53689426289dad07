import type { Config } from '../config/config';
import type { Database } from '../db/database';
import { DomainError } from '../errors';
import { type ClientStreamHandler, clientStream, type RpcDeps, type UnaryHandler, unary } from '../grpc/rpc';
import type { ServiceRegistration } from '../grpc/server';
import { countMessages, type IngestionGuard } from '../protect/ingestion-guard';
import {
  type ExportSessionsRequest,
  type ExportSessionsResponse,
  type SessionBatch,
  SessionIngestionService,
} from '../../generated/catsyphon/telemetry/v1/sessions';

export const SESSION_INGESTION = 'catsyphon.telemetry.v1.SessionIngestion';

/** The two export handlers; tests may replace them (the guard still applies). */
export interface IngestionHandlers {
  readonly exportSessions: UnaryHandler<ExportSessionsRequest, ExportSessionsResponse | Buffer>;
  readonly exportSessionsStream: ClientStreamHandler<SessionBatch, ExportSessionsResponse | Buffer>;
}

export interface IngestionDeps {
  readonly database: Database;
  /** Rate limits, buffer cap and database-outage checks run before the handlers. */
  readonly guard?: IngestionGuard;
  readonly handlers?: Partial<IngestionHandlers>;
}

/** SessionIngestion: the collectors' export RPCs. */
export function ingestionService(_config: Config, deps: IngestionDeps, rpc: RpcDeps): ServiceRegistration {
  const notYet = async (): Promise<ExportSessionsResponse> => {
    throw new DomainError('unimplemented', 'ExportSessions is not implemented yet');
  };
  let exportSessions = deps.handlers?.exportSessions ?? notYet;
  let exportSessionsStream = deps.handlers?.exportSessionsStream ?? notYet;
  if (deps.guard) {
    exportSessions = deps.guard.unary(exportSessions, (request) => countMessages(request.sessions));
    exportSessionsStream = deps.guard.stream(exportSessionsStream, (batch) => countMessages(batch.sessions));
  }
  return {
    name: SESSION_INGESTION,
    definition: SessionIngestionService,
    implementation: {
      exportSessions: unary('ExportSessions', exportSessions, rpc),
      exportSessionsStream: clientStream('ExportSessionsStream', exportSessionsStream, rpc),
    },
  };
}
