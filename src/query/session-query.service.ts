import type { Database } from '../db/database';
import { invalidArgument, notFound } from '../errors';
import { type RpcContext, type RpcDeps, unary } from '../grpc/rpc';
import type { ServiceRegistration } from '../grpc/server';
import {
  type GetSessionRequest,
  type GetSessionResponse,
  type GetSessionStatusRequest,
  type GetSessionStatusResponse,
  SessionQueryServiceService,
} from '../../generated/catsyphon/ingest/v1/query';
import { threadProgress } from '../sessions/message.repository';
import { findSession, type SessionKey } from '../sessions/session.repository';
import { readSession } from './session.reader';

export const SESSION_QUERY = 'catsyphon.ingest.v1.SessionQueryService';

export interface SessionQueryDeps {
  readonly database: Database;
}

/** The stored session of the caller's workspace, or NOT_FOUND (never another workspace's). */
function keyOf(request: { sessionId: string; assistant: number }, ctx: RpcContext): SessionKey {
  if (request.sessionId === '') throw invalidArgument('session_id must not be empty');
  return { workspaceId: ctx.caller.workspaceId, assistant: request.assistant, sourceSessionId: request.sessionId };
}

/** SessionQueryService: read-back of stored sessions, scoped to the caller's workspace. */
export function sessionQueryService(deps: SessionQueryDeps, rpc: RpcDeps): ServiceRegistration {
  const db = deps.database.db;
  const getSession = async (request: GetSessionRequest, ctx: RpcContext): Promise<GetSessionResponse> => {
    const row = await findSession(db, keyOf(request, ctx));
    if (!row) throw notFound(`session ${JSON.stringify(request.sessionId)} not found`);
    return { catsyphonId: row.id, session: await readSession(db, row) };
  };
  const getSessionStatus = async (
    request: GetSessionStatusRequest,
    ctx: RpcContext,
  ): Promise<GetSessionStatusResponse> => {
    const row = await findSession(db, keyOf(request, ctx));
    if (!row) throw notFound(`session ${JSON.stringify(request.sessionId)} not found`);
    const threads = await threadProgress(db, row.id);
    let total = 0n;
    const statuses = threads.map((t) => {
      total += BigInt(t.message_count);
      return { threadId: t.source_thread_id, lastSeq: Number(t.last_seq), messageCount: BigInt(t.message_count) };
    });
    return {
      catsyphonId: row.id,
      firstActivityAtNs: BigInt(row.started_at_ns),
      lastActivityAtNs: BigInt(row.last_activity_at_ns),
      threads: statuses,
      messageCount: total,
    };
  };
  return {
    name: SESSION_QUERY,
    definition: SessionQueryServiceService,
    implementation: {
      getSession: unary('GetSession', getSession, rpc),
      getSessionStatus: unary('GetSessionStatus', getSessionStatus, rpc),
    },
  };
}
