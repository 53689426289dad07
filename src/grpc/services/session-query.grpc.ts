import type { Database } from '../../db/database';
import { getSession, getSessionStatus } from '../../query/session-query';
import { SessionQueryServiceService } from '../../../generated/catsyphon/ingest/v1/query';
import { type RpcDeps, unary } from '../rpc';
import type { ServiceRegistration } from '../server';

export const SESSION_QUERY = 'catsyphon.ingest.v1.SessionQueryService';

export interface SessionQueryDeps {
  readonly database: Database;
}

/** The gRPC binding of SessionQueryService: read-back of stored sessions, scoped to the caller's workspace. */
export function sessionQueryGrpc(deps: SessionQueryDeps, rpc: RpcDeps): ServiceRegistration {
  const db = deps.database.db;
  return {
    name: SESSION_QUERY,
    definition: SessionQueryServiceService,
    implementation: {
      getSession: unary('GetSession', (request, ctx) => getSession(db, request, ctx.caller), rpc),
      getSessionStatus: unary('GetSessionStatus', (request, ctx) => getSessionStatus(db, request, ctx.caller), rpc),
    },
  };
}
