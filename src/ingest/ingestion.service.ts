import type { Config } from '../config/config';
import type { Database } from '../db/database';
import { DomainError } from '../errors';
import { clientStream, type RpcDeps, unary } from '../grpc/rpc';
import type { ServiceRegistration } from '../grpc/server';
import {
  type ExportSessionsRequest,
  type ExportSessionsResponse,
  type SessionBatch,
  SessionIngestionService,
} from '../../generated/catsyphon/telemetry/v1/sessions';

export const SESSION_INGESTION = 'catsyphon.telemetry.v1.SessionIngestion';

export interface IngestionDeps {
  readonly database: Database;
}

/** SessionIngestion: the collectors' export RPCs. */
export function ingestionService(_config: Config, _deps: IngestionDeps, rpc: RpcDeps): ServiceRegistration {
  const notYet = async (): Promise<ExportSessionsResponse> => {
    throw new DomainError('unimplemented', 'ExportSessions is not implemented yet');
  };
  return {
    name: SESSION_INGESTION,
    definition: SessionIngestionService,
    implementation: {
      exportSessions: unary<ExportSessionsRequest, ExportSessionsResponse>('ExportSessions', notYet, rpc),
      exportSessionsStream: clientStream<SessionBatch, ExportSessionsResponse>('ExportSessionsStream', notYet, rpc),
    },
  };
}
